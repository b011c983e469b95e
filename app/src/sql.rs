//! The SQL view: an editor over every table of every layer and version, run in the
//! worker with a Cancel; the result in the shared grid, its plan, downloads; examples,
//! the table list and the history beside it.

mod editor;
mod examples;
mod history;
mod plan;
mod tables;

use leptos::html::Textarea;
use leptos::prelude::*;
use medallion_core::sql::{QuerySummary, ResultRows, SqlFailure, SqlTable, StatementKind};
use medallion_core::warehouse::ExportFormat;

use crate::chart::{ResultChart, ResultChartTab};
use crate::connection::Connection;
use crate::grid::{Grid, GridRows, GridSource};
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{self, Route};
use history::HistoryEntry;

/// The tabs under the editor. A new tab (a chart of the result) joins [`ResultTab::ALL`]
/// and the match in [`ResultPane`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultTab {
    /// The rows, in the grid.
    Results,
    /// The physical plan of an EXPLAIN.
    Plan,
    /// A chart of the result.
    Chart,
}

impl ResultTab {
    /// Every tab, in order.
    pub const ALL: [ResultTab; 3] = [ResultTab::Results, ResultTab::Plan, ResultTab::Chart];

    /// Its label, which is its accessible name.
    pub fn label(self) -> &'static str {
        match self {
            ResultTab::Results => "Results",
            ResultTab::Plan => "Plan",
            ResultTab::Chart => "Chart",
        }
    }
}

/// What the SQL view shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct SqlState {
    /// The editor's text.
    pub text: RwSignal<String>,
    /// The editor's textarea, to insert at its cursor.
    editor: NodeRef<Textarea>,
    /// A query is running in the worker.
    pub running: RwSignal<bool>,
    /// The last result's summary.
    pub summary: RwSignal<Option<QuerySummary>>,
    /// Results received so far, to tell the grid a new one is shown.
    results: RwSignal<u64>,
    /// The result's rows at hand.
    pub rows: GridRows,
    /// Why the last query failed.
    pub failure: RwSignal<Option<SqlFailure>>,
    /// The tab shown under the editor.
    pub tab: RwSignal<ResultTab>,
    /// Every table and view, for the table list.
    pub tables: RwSignal<Vec<SqlTable>>,
    /// The rows the Chart tab draws.
    chart: ResultChart,
    /// The queries run so far, newest first.
    history: RwSignal<Vec<HistoryEntry>>,
    /// Why the history cannot be read or written.
    history_error: RwSignal<Option<String>>,
}

impl SqlState {
    /// A console with an empty editor; the history is read from IndexedDB.
    pub fn new() -> Self {
        let state = Self {
            text: RwSignal::new(String::new()),
            editor: NodeRef::new(),
            running: RwSignal::new(false),
            summary: RwSignal::new(None),
            results: RwSignal::new(0),
            rows: GridRows::new(),
            failure: RwSignal::new(None),
            tab: RwSignal::new(ResultTab::Results),
            tables: RwSignal::new(Vec::new()),
            chart: ResultChart::new(),
            history: RwSignal::new(Vec::new()),
            history_error: RwSignal::new(None),
        };
        wasm_bindgen_futures::spawn_local(async move {
            match history::load().await {
                Ok(entries) => state.history.set(entries),
                Err(message) => state.history_error.set(Some(message)),
            }
        });
        state
    }

    /// Puts `sql` in the editor.
    pub fn put(self, sql: String) {
        self.text.set(sql);
        if let Some(area) = self.editor.get_untracked() {
            let _ = area.focus();
        }
    }

    /// Runs the editor's query in the worker, and keeps it in the history.
    pub fn run(self, connection: Connection) {
        let sql = self.text.get_untracked();
        if sql.trim().is_empty() || self.running.get_untracked() {
            return;
        }
        self.begin();
        connection.post(&Request::Query { sql: sql.clone() });
        route::replace(&Route::Sql {
            query: Some(sql.clone()),
        });
        let entry = HistoryEntry {
            sql,
            at_ms: js_sys::Date::now(),
        };
        self.history
            .update(|history| history.insert(0, entry.clone()));
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(message) = history::add(&entry).await {
                self.history_error.set(Some(message));
            }
        });
    }

    /// A query (or a model's preview) is on its way: the last result is forgotten.
    pub fn begin(self) {
        self.running.set(true);
        self.failure.set(None);
        self.summary.set(None);
        self.rows.clear();
        self.rows.fetching.set(false);
    }

    /// Shows a result: its rows are fetched by the grid; a plan opens the Plan tab.
    pub fn show(self, summary: QuerySummary, connection: Connection) {
        self.running.set(false);
        let has_plan = summary.plan.is_some();
        if matches!(summary.kind, StatementKind::Command) {
            // CREATE VIEW and the like change what the table list shows.
            connection.post(&Request::SqlTables);
        }
        self.rows.clear();
        self.chart.clear();
        self.summary.set(Some(summary));
        self.results.update(|results| *results += 1);
        match (has_plan, self.tab.get_untracked()) {
            (true, _) => self.tab.set(ResultTab::Plan),
            (false, ResultTab::Plan) => self.tab.set(ResultTab::Results),
            _ => {}
        }
    }

    /// Takes rows of the result; none are expected while a query runs.
    pub fn receive_rows(self, rows: ResultRows) {
        if self.running.get_untracked() || self.summary.with_untracked(Option::is_none) {
            self.rows.fetching.set(false);
            return;
        }
        let kept = self
            .summary
            .with_untracked(|s| s.as_ref().map_or(0, |s| s.kept_rows));
        if let Some(rows) = self.chart.offer(rows, kept) {
            self.rows.receive(rows.offset, rows.rows);
        }
    }

    /// Shows why the query failed (or that it was cancelled).
    pub fn fail(self, failure: SqlFailure) {
        self.running.set(false);
        self.rows.fetching.set(false);
        self.failure.set(Some(failure));
    }

    /// The worker stopped (and a new one starts): a running query failed, and the
    /// result it kept is gone.
    pub fn lost(self, reason: &str) {
        if self.running.get_untracked() {
            self.fail(SqlFailure {
                message: format!("the worker stopped while the query ran: {reason}"),
                position: None,
                cancelled: false,
            });
        }
        self.summary.set(None);
        self.rows.clear();
        self.rows.fetching.set(false);
    }
}

/// `1234567` as `1,234,567`.
fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "N rows", or "showing the first 100,000 of N rows" when capped, and the time.
fn summary_text(summary: &QuerySummary) -> String {
    let rows = if summary.kept_rows < summary.total_rows {
        format!(
            "showing the first {} of {} rows",
            grouped(summary.kept_rows),
            grouped(summary.total_rows)
        )
    } else if summary.total_rows == 1 {
        "1 row".to_owned()
    } else {
        format!("{} rows", grouped(summary.total_rows))
    };
    let ms = summary.elapsed_ms;
    let time = if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    };
    format!("{rows} in {time}")
}

/// The status line: running, the result's rows and time, or the error and its place.
#[component]
pub(crate) fn QueryStatus(state: SqlState) -> impl IntoView {
    let text = move || {
        if state.running.get() {
            return ("running", "Running the query…".to_owned());
        }
        if let Some(failure) = state.failure.get() {
            if failure.cancelled {
                return ("cancelled", "Query cancelled.".to_owned());
            }
            let place = failure
                .position
                .map(|at| format!(" (line {}, column {})", at.line, at.column))
                .unwrap_or_default();
            return ("failed", format!("Error{place}: {}", failure.message));
        }
        match state.summary.get() {
            Some(summary) => ("done", summary_text(&summary)),
            None => ("idle", "Write a query and run it.".to_owned()),
        }
    };
    view! {
        <p
            role="status"
            data-testid="sql-status"
            class=move || format!("sql-status sql-{}", text().0)
        >
            {move || text().1}
        </p>
    }
}

/// Run, Cancel and the downloads of the result.
#[component]
fn Toolbar(state: SqlState, connection: Connection, ready: RwSignal<bool>) -> impl IntoView {
    let download = move |format: ExportFormat| connection.post(&Request::QueryExport { format });
    let no_result = move || state.running.get() || state.summary.with(Option::is_none);
    view! {
        <div class="buttons sql-toolbar">
            <button
                class="primary"
                on:click=move |_| state.run(connection)
                disabled=move || state.running.get() || !ready.get()
            >
                "Run query"
            </button>
            <button on:click=move |_| connection.post(&Request::Cancel) disabled=move || !state.running.get()>
                "Cancel"
            </button>
            <button on:click=move |_| download(ExportFormat::Csv) disabled=no_result>"Download CSV"</button>
            <button on:click=move |_| download(ExportFormat::Parquet) disabled=no_result>
                "Download Parquet"
            </button>
        </div>
    }
}

/// The result's rows in the shared grid.
#[component]
pub(crate) fn ResultGrid(state: SqlState, connection: Connection) -> impl IntoView {
    let source = GridSource {
        label: Signal::derive(move || format!("Result {}", state.results.get())),
        columns: Signal::derive(move || {
            state
                .summary
                .with(|summary| summary.as_ref().map(|summary| summary.columns.clone()))
                .unwrap_or_default()
        }),
        total: Signal::derive(move || {
            state
                .summary
                .with(|summary| summary.as_ref().map_or(0, |summary| summary.kept_rows))
        }),
        rows: state.rows,
    };
    let fetch =
        move |offset: u64, limit: usize| connection.post(&Request::QueryRows { offset, limit });
    view! { <Grid source fetch /> }
}

/// The tabs under the editor and the one shown.
#[component]
fn ResultPane(state: SqlState, connection: Connection) -> impl IntoView {
    let tab_button = move |tab: ResultTab| {
        view! {
            <button
                role="tab"
                aria-selected=move || (state.tab.get() == tab).to_string()
                class=move || if state.tab.get() == tab { "tab selected" } else { "tab" }
                on:click=move |_| state.tab.set(tab)
            >
                {tab.label()}
            </button>
        }
    };
    view! {
        <div role="tablist" aria-label="Result views" class="buttons">
            {ResultTab::ALL.into_iter().map(tab_button).collect_view()}
        </div>
        <div role="tabpanel" class="sql-result">
            {move || match state.tab.get() {
                ResultTab::Results => state.summary.with(Option::is_some).then(|| {
                    view! { <ResultGrid state connection /> }
                }).into_any(),
                ResultTab::Plan => {
                    let plan = state.summary.with(|summary| summary.as_ref().and_then(|s| s.plan.clone()));
                    view! { <plan::Plan plan /> }.into_any()
                }
                ResultTab::Chart => {
                    let columns = Signal::derive(move || {
                        state.summary.with(|s| s.as_ref().map(|s| s.columns.clone())).unwrap_or_default()
                    });
                    view! { <ResultChartTab chart=state.chart connection columns /> }.into_any()
                }
            }}
        </div>
    }
}

/// The whole SQL view: editor and results in the main column, help beside them.
#[component]
pub fn Sql(state: SqlState, connection: Connection, ready: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="sql-view">
            <section class="panel sql-main" aria-labelledby="sql-heading">
                <WhatIsThis panel="SQL" section="the-sql-console" />
                <h2 id="sql-heading">"SQL"</h2>
                <editor::Editor state connection />
                <Toolbar state connection ready />
                <QueryStatus state />
                <ResultPane state connection />
            </section>
            <div class="sql-side">
                <examples::Examples state />
                <tables::Tables state />
                <history::History state connection />
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medallion_core::sql::MAX_KEPT_ROWS;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn summary(total_rows: u64, kept_rows: u64, elapsed_ms: f64) -> QuerySummary {
        QuerySummary {
            sql: "select 1".to_owned(),
            kind: StatementKind::Query,
            columns: Vec::new(),
            total_rows,
            kept_rows,
            elapsed_ms,
            plan: None,
        }
    }

    #[wasm_bindgen_test]
    fn the_summary_says_rows_and_cap() {
        assert_eq!(summary_text(&summary(1, 1, 3.2)), "1 row in 3 ms");
        assert_eq!(summary_text(&summary(4, 4, 1500.0)), "4 rows in 1.50 s");
        let capped = summary(1_234_567, MAX_KEPT_ROWS as u64, 20.0);
        assert_eq!(
            summary_text(&capped),
            "showing the first 100,000 of 1,234,567 rows in 20 ms"
        );
    }
}
