//! The table explorer: a virtualised grid of one table at one version, its schema,
//! its Delta history with each commit's actions, time travel and downloads.

use leptos::html::Div;
use leptos::prelude::*;
use medallion_core::explorer::{RowWindow, TableView};
use medallion_core::warehouse::ExportFormat;

use crate::connection::Connection;
use crate::protocol::Request;
use crate::route::{navigate, Route};

/// Height of a grid row, in CSS pixels (the stylesheet's `.grid-row`).
const ROW_PX: f64 = 28.0;
/// Rows the grid shows at once.
const VISIBLE_ROWS: u64 = 16;
/// Rows fetched around the visible ones.
const FETCH_ROWS: usize = 240;
/// The tallest scroll area the grid makes; taller tables map scroll position to row.
const MAX_SCROLL_PX: f64 = 8_000_000.0;

/// Which part of a table the explorer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Data,
    Schema,
    History,
}

/// What the explorer shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct ExplorerState {
    /// The table and version shown.
    pub view: RwSignal<Option<TableView>>,
    /// The rows fetched around the visible ones.
    pub window: RwSignal<Option<RowWindow>>,
    /// A rows request is on its way.
    pub fetching: RwSignal<bool>,
    /// The commit whose actions are shown: table, version, JSON.
    pub commit: RwSignal<Option<(String, i64, String)>>,
    /// The tab shown.
    pub tab: RwSignal<Tab>,
}

impl ExplorerState {
    /// An explorer showing nothing.
    pub fn new() -> Self {
        Self {
            view: RwSignal::new(None),
            window: RwSignal::new(None),
            fetching: RwSignal::new(false),
            commit: RwSignal::new(None),
            tab: RwSignal::new(Tab::Data),
        }
    }

    /// Shows a new view of a table; rows are fetched again.
    pub fn show(self, view: TableView) {
        self.window.set(None);
        self.view.set(Some(view));
    }

    /// Takes rows the worker sent; ones for another table or version are dropped.
    pub fn receive_rows(self, window: RowWindow) {
        self.fetching.set(false);
        let current = self.view.with_untracked(|view| {
            view.as_ref()
                .is_some_and(|view| view.table == window.table && view.version == window.version)
        });
        if current {
            self.window.set(Some(window));
        }
    }

    /// Shows nothing (after a reset).
    pub fn clear(self) {
        self.view.set(None);
        self.window.set(None);
        self.commit.set(None);
    }
}

fn time(ms: i64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_iso_string()
        .as_string()
        .unwrap_or_default()
}

/// The explorer of the table chosen on the board.
#[component]
pub fn Explorer(state: ExplorerState, connection: Connection) -> impl IntoView {
    let travel = move |version: i64| {
        if let Some(view) = state.view.get_untracked() {
            navigate(&Route::Explorer {
                table: Some(view.table),
                version: Some(version),
            });
        }
    };

    let download = move |format: ExportFormat| {
        if let Some(view) = state.view.get_untracked() {
            connection.post(&Request::Export {
                table: view.table,
                version: view.version,
                format,
            });
        }
    };
    let tab_button = move |tab: Tab, label: &'static str| {
        view! {
            <button
                role="tab"
                aria-selected=move || (state.tab.get() == tab).to_string()
                class=move || if state.tab.get() == tab { "tab selected" } else { "tab" }
                on:click=move |_| state.tab.set(tab)
            >
                {label}
            </button>
        }
    };
    view! {
        <section class="panel wide" aria-labelledby="explorer-heading">
            <h2 id="explorer-heading">"Table explorer"</h2>
            {move || match state.view.get() {
                None => {
                    view! { <p>"Choose a table on the board to see its rows, schema and history."</p> }
                        .into_any()
                }
                Some(view) => {
                    let table = view.table.clone();
                    let versions: Vec<i64> = view.history.iter().map(|c| c.version).collect();
                    let shown = view.version;
                    view! {
                        <div class="explorer-head">
                            <h3 data-testid="explorer-table">{table.clone()}</h3>
                            <span data-testid="explorer-summary">
                                {format!(
                                    "version {} (latest: {}) · {} rows · {} files",
                                    view.version,
                                    view.latest_version,
                                    view.rows,
                                    view.files,
                                )}
                            </span>
                            <label>
                                "Version "
                                <select on:change=move |event| {
                                    if let Ok(version) = event_target_value(&event).parse() {
                                        travel(version);
                                    }
                                }>
                                    {versions
                                        .into_iter()
                                        .map(|version| {
                                            view! {
                                                <option value=version.to_string() selected=version == shown>
                                                    {version.to_string()}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                            <button on:click=move |_| download(ExportFormat::Parquet)>
                                "Download Parquet"
                            </button>
                            <button on:click=move |_| download(ExportFormat::Csv)>"Download CSV"</button>
                        </div>
                        <div role="tablist" aria-label="Table views" class="buttons">
                            {tab_button(Tab::Data, "Data")}
                            {tab_button(Tab::Schema, "Schema")}
                            {tab_button(Tab::History, "History")}
                        </div>
                    }
                        .into_any()
                }
            }}
            {move || {
                state
                    .view
                    .with(Option::is_some)
                    .then(|| match state.tab.get() {
                        Tab::Data => view! { <Grid state connection /> }.into_any(),
                        Tab::Schema => view! { <Schema state /> }.into_any(),
                        Tab::History => view! { <History state connection travel /> }.into_any(),
                    })
            }}
        </section>
    }
}

#[component]
fn Schema(state: ExplorerState) -> impl IntoView {
    view! {
        <table class="plain" data-testid="schema">
            <thead>
                <tr>
                    <th scope="col">"Column"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Nullable"</th>
                </tr>
            </thead>
            <tbody>
                {move || {
                    state
                        .view
                        .get()
                        .map(|view| {
                            view.columns
                                .into_iter()
                                .map(|column| {
                                    view! {
                                        <tr>
                                            <td>{column.name}</td>
                                            <td><code>{column.data_type}</code></td>
                                            <td>{if column.nullable { "yes" } else { "no" }}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </tbody>
        </table>
    }
}

#[component]
fn History(
    state: ExplorerState,
    connection: Connection,
    travel: impl Fn(i64) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let show_actions = move |version: i64| {
        if let Some(view) = state.view.get_untracked() {
            connection.post(&Request::Commit {
                table: view.table,
                version,
            });
        }
    };
    view! {
        <table class="plain" data-testid="history">
            <thead>
                <tr>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Time (UTC)"</th>
                    <th scope="col">"Operation"</th>
                    <th scope="col">"Metrics"</th>
                    <th scope="col">"Open"</th>
                </tr>
            </thead>
            <tbody>
                {move || {
                    state
                        .view
                        .get()
                        .map(|view| {
                            view.history
                                .into_iter()
                                .map(|commit| {
                                    let version = commit.version;
                                    let metrics = commit
                                        .metrics
                                        .iter()
                                        .map(|(key, value)| format!("{key}={value}"))
                                        .collect::<Vec<_>>()
                                        .join(", ");
                                    view! {
                                        <tr>
                                            <td>{version.to_string()}</td>
                                            <td>{time(commit.timestamp_ms)}</td>
                                            <td>{commit.operation}</td>
                                            <td class="metrics">{metrics}</td>
                                            <td class="actions">
                                                <button on:click=move |_| travel(version)>
                                                    {format!("Data at v{version}")}
                                                </button>
                                                <button on:click=move |_| show_actions(version)>
                                                    {format!("Actions of v{version}")}
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </tbody>
        </table>
        {move || {
            state
                .commit
                .get()
                .map(|(table, version, json)| {
                    view! {
                        <h3>{format!("{table}: actions of commit {version}")}</h3>
                        <pre class="json" data-testid="commit-json" tabindex="0">{json}</pre>
                    }
                })
        }}
    }
}

/// Rows of the table, only the visible ones in the page.
#[component]
fn Grid(state: ExplorerState, connection: Connection) -> impl IntoView {
    let scroller = NodeRef::<Div>::new();
    let scroll_top = RwSignal::new(0.0f64);
    let total = move || state.view.with(|view| view.as_ref().map_or(0, |v| v.rows));
    let spacer_px = move || (total() as f64 * ROW_PX).min(MAX_SCROLL_PX);
    // The first visible row: scroll position mapped linearly onto the rows, which is
    // one row per ROW_PX while the table fits under MAX_SCROLL_PX.
    let first_row = Memo::new(move |_| {
        let hidden_rows = total().saturating_sub(VISIBLE_ROWS);
        let max_scroll = spacer_px() - VISIBLE_ROWS as f64 * ROW_PX;
        if max_scroll <= 0.0 {
            0
        } else {
            ((scroll_top.get() / max_scroll).clamp(0.0, 1.0) * hidden_rows as f64).round() as u64
        }
    });
    // Back to the top when another table or version is shown.
    Effect::new(move |_| {
        state.view.track();
        scroll_top.set(0.0);
        if let Some(element) = scroller.get_untracked() {
            element.set_scroll_top(0);
        }
    });
    // Fetch rows when the visible ones are not all at hand.
    Effect::new(move |_| {
        let Some((table, version, rows)) = state
            .view
            .with(|view| view.as_ref().map(|v| (v.table.clone(), v.version, v.rows)))
        else {
            return;
        };
        let first = first_row.get();
        let last = (first + VISIBLE_ROWS).min(rows);
        let at_hand = state.window.with(|window| {
            window.as_ref().is_some_and(|window| {
                window.offset <= first && last <= window.offset + window.rows.len() as u64
            })
        });
        if at_hand || rows == 0 || state.fetching.get() {
            return;
        }
        state.fetching.set(true);
        connection.post(&Request::Rows {
            table,
            version,
            offset: first.saturating_sub(FETCH_ROWS as u64 / 3),
            limit: FETCH_ROWS,
        });
    });
    let columns = move || {
        state
            .view
            .with(|view| view.as_ref().map_or(0, |view| view.columns.len()))
    };
    let template = move || format!("grid-template-columns: 5rem repeat({}, 11rem)", columns());
    view! {
        <div
            class="grid"
            role="grid"
            tabindex="0"
            data-testid="grid"
            aria-rowcount=move || (total() + 1).to_string()
            aria-colcount=move || (columns() + 1).to_string()
            aria-label=move || {
                state
                    .view
                    .with(|view| {
                        view.as_ref()
                            .map(|view| format!("Rows of {} at version {}", view.table, view.version))
                            .unwrap_or_default()
                    })
            }
            style=format!("height: {}px", (VISIBLE_ROWS as f64 + 1.0) * ROW_PX + 2.0)
            node_ref=scroller
            on:scroll=move |_| {
                if let Some(element) = scroller.get_untracked() {
                    scroll_top.set(element.scroll_top() as f64);
                }
            }
        >
            <div class="grid-row grid-head" role="row" aria-rowindex="1" style=template>
                <span role="columnheader">"#"</span>
                {move || {
                    state
                        .view
                        .get()
                        .map(|view| {
                            view.columns
                                .into_iter()
                                .map(|column| {
                                    view! {
                                        <span role="columnheader" title=column.data_type>
                                            {column.name}
                                        </span>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </div>
            <div class="grid-body" style=move || format!("height: {}px", spacer_px())>
                <div class="grid-rows" style=move || format!("top: {}px", scroll_top.get())>
                    {move || {
                        let first = first_row.get();
                        let last = (first + VISIBLE_ROWS + 1).min(total());
                        let width = columns();
                        state
                            .window
                            .with(|window| {
                                (first..last)
                                    .map(|row| {
                                        let values = window
                                            .as_ref()
                                            .and_then(|window| {
                                                let index = row.checked_sub(window.offset)?;
                                                window.rows.get(index as usize).cloned()
                                            });
                                        view! { <GridRow row values width style=template() /> }
                                    })
                                    .collect_view()
                            })
                    }}
                </div>
            </div>
        </div>
    }
}

#[component]
fn GridRow(
    row: u64,
    values: Option<Vec<Option<String>>>,
    width: usize,
    style: String,
) -> impl IntoView {
    let loaded = values.is_some();
    let cells = values.unwrap_or_else(|| vec![None; width]);
    view! {
        <div
            class=if loaded { "grid-row" } else { "grid-row loading" }
            role="row"
            aria-rowindex=(row + 2).to_string()
            style=style
        >
            <span role="rowheader">{(row + 1).to_string()}</span>
            {cells
                .into_iter()
                .map(|value| match value {
                    Some(text) => {
                        let title = text.clone();
                        view! { <span role="gridcell" title=title>{text}</span> }.into_any()
                    }
                    None if loaded => view! { <span role="gridcell" class="null">"null"</span> }.into_any(),
                    None => view! { <span role="gridcell">"…"</span> }.into_any(),
                })
                .collect_view()}
        </div>
    }
}
