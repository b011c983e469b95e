//! The table explorer: a virtualised grid of one table at one version, its schema,
//! its Delta history with each commit's actions, time travel and downloads.

use leptos::prelude::*;
use medallion_core::explorer::{RowWindow, TableView};
use medallion_core::warehouse::ExportFormat;

use crate::connection::Connection;
use crate::grid::{Grid, GridRows, GridSource};
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{navigate, Route};

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
    pub rows: GridRows,
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
            rows: GridRows::new(),
            commit: RwSignal::new(None),
            tab: RwSignal::new(Tab::Data),
        }
    }

    /// Shows a new view of a table; rows are fetched again.
    pub fn show(self, view: TableView) {
        self.rows.clear();
        self.view.set(Some(view));
    }

    /// Takes rows the worker sent; ones for another table or version are dropped.
    pub fn receive_rows(self, window: RowWindow) {
        self.rows.fetching.set(false);
        let current = self.view.with_untracked(|view| {
            view.as_ref()
                .is_some_and(|view| view.table == window.table && view.version == window.version)
        });
        if current {
            self.rows.receive(window.offset, window.rows);
        }
    }

    /// Shows nothing (after a reset).
    pub fn clear(self) {
        self.view.set(None);
        self.rows.clear();
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
            <WhatIsThis panel="Table explorer" section="the-table-explorer" />
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
                        Tab::Data => view! { <TableGrid state connection /> }.into_any(),
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

/// The rows of the table shown, in the shared grid.
#[component]
fn TableGrid(state: ExplorerState, connection: Connection) -> impl IntoView {
    let source = GridSource {
        label: Signal::derive(move || {
            state.view.with(|view| {
                view.as_ref()
                    .map(|view| format!("Rows of {} at version {}", view.table, view.version))
                    .unwrap_or_default()
            })
        }),
        columns: Signal::derive(move || {
            state
                .view
                .with(|view| view.as_ref().map(|view| view.columns.clone()))
                .unwrap_or_default()
        }),
        total: Signal::derive(move || state.view.with(|view| view.as_ref().map_or(0, |v| v.rows))),
        rows: state.rows,
    };
    let fetch = move |offset: u64, limit: usize| {
        if let Some(view) = state.view.get_untracked() {
            connection.post(&Request::Rows {
                table: view.table,
                version: view.version,
                offset,
                limit,
            });
        }
    };
    view! { <Grid source fetch /> }
}
