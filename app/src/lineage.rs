//! The lineage view: every node from landing to marts as a layered graph (or a
//! list), filtered by a dbt selector, with the selected node's details and the
//! lineage of its columns. Core computes the graph, the selection and the layout; this
//! draws them.

mod details;
mod graph;

use leptos::prelude::*;
use medallion_core::lakehouse::{LineageView, RunProgress};
use medallion_core::lineage::{ColumnLineage, LineageNode, NodeDetails, NodeRun};
use medallion_core::models::NodeStatus;

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{navigate, LineageMode, Route};
use details::Details;
use graph::{Camera, Graph};

/// What the lineage view shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct LineageState {
    /// The graph, the nodes shown and their layout.
    pub view: RwSignal<Option<LineageView>>,
    /// The selected node's details.
    pub details: RwSignal<Option<NodeDetails>>,
    /// The lineage of the selected column.
    pub column: RwSignal<Option<ColumnLineage>>,
    /// The graph's pan and zoom; `None` fits the whole graph in its box.
    camera: RwSignal<Option<Camera>>,
}

impl LineageState {
    /// Nothing shown yet.
    pub fn new() -> Self {
        Self {
            view: RwSignal::new(None),
            details: RwSignal::new(None),
            column: RwSignal::new(None),
            camera: RwSignal::new(None),
        }
    }

    /// The node with this id, as the graph changes.
    fn node(self, id: String) -> Memo<Option<LineageNode>> {
        Memo::new(move |_| {
            self.view
                .with(|view| view.as_ref().and_then(|view| view.graph.node(&id).cloned()))
        })
    }

    /// Shows the graph the worker sent; another set of nodes is fitted to the box.
    pub fn show(self, view: LineageView) {
        let same = self.view.with_untracked(|shown| {
            shown
                .as_ref()
                .is_some_and(|shown| shown.shown == view.shown)
        });
        if !same {
            self.camera.set(None);
        }
        self.view.set(Some(view));
    }

    /// Records a step of a running run on its node.
    pub fn apply(self, progress: &RunProgress) {
        self.view.update(|view| {
            if let Some(view) = view {
                view.graph.apply(progress);
            }
        });
    }
}

/// The parts of a lineage route that decide what the worker sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    select: String,
    focus: Option<String>,
    all: bool,
}

impl Query {
    /// The graph request of a lineage route.
    pub fn of(route: &Route) -> Option<Self> {
        match route {
            Route::Lineage {
                node, select, all, ..
            } => Some(Self {
                select: select.clone(),
                focus: node.clone(),
                all: *all,
            }),
            _ => None,
        }
    }

    /// Asks the worker for the graph.
    pub fn send(self, connection: Connection) {
        connection.post(&Request::Lineage {
            select: self.select,
            focus: self.focus,
            all: self.all,
        });
    }
}

/// `12 ms`, `1.4 s`.
fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn status_name(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Success => "success",
        NodeStatus::Error => "error",
        NodeStatus::Skipped => "skipped",
        NodeStatus::Pass => "pass",
        NodeStatus::Fail => "fail",
        NodeStatus::Warn => "warn",
    }
}

/// A node's last run in a few words: `success 12 ms`.
fn run_text(run: Option<&NodeRun>) -> String {
    run.map_or("not run".to_owned(), |run| {
        format!("{} {}", status_name(run.status), duration(run.duration_ms))
    })
}

fn rows_text(node: &LineageNode) -> String {
    node.state
        .rows
        .map_or(String::new(), |rows| format!("{rows} rows"))
}

/// The test badges of a node: passed, warned and failed counts.
fn tests_text(node: &LineageNode) -> String {
    if node.tests.is_empty() {
        return String::new();
    }
    let count = |wanted: &[NodeStatus]| {
        node.tests
            .iter()
            .filter(|test| {
                test.run
                    .as_ref()
                    .is_some_and(|run| wanted.contains(&run.status))
            })
            .count()
    };
    let failed = count(&[NodeStatus::Fail, NodeStatus::Error]);
    let warned = count(&[NodeStatus::Warn]);
    let passed = count(&[NodeStatus::Pass]);
    let plural = if node.tests.len() == 1 { "" } else { "s" };
    let mut text = format!("{} test{plural}", node.tests.len());
    if passed + warned + failed > 0 {
        text.push_str(&format!(": ✓{passed}"));
        if warned > 0 {
            text.push_str(&format!(" !{warned}"));
        }
        if failed > 0 {
            text.push_str(&format!(" ✗{failed}"));
        }
    }
    text
}

/// The lineage view.
#[component]
pub fn Lineage(state: LineageState, route: RwSignal<Route>) -> impl IntoView {
    let selected = Memo::new(move |_| match route.get() {
        Route::Lineage { node, .. } => node,
        _ => None,
    });
    let mode = Memo::new(move |_| match route.get() {
        Route::Lineage { mode, .. } => mode,
        _ => LineageMode::Graph,
    });
    let change = move |edit: &dyn Fn(&mut Route)| {
        let mut next = route.get_untracked();
        edit(&mut next);
        navigate(&next);
    };
    let select_text = RwSignal::new(match route.get_untracked() {
        Route::Lineage { select, .. } => select,
        _ => String::new(),
    });
    let apply_select = move || {
        let text = select_text.get_untracked().trim().to_owned();
        change(&|route| {
            if let Route::Lineage { select, .. } = route {
                select.clone_from(&text);
            }
        })
    };
    let all = Memo::new(move |_| matches!(route.get(), Route::Lineage { all: true, .. }));
    let mode_tab = move |tab: LineageMode, label: &'static str| {
        view! {
            <button
                role="tab"
                aria-selected=move || (mode.get() == tab).to_string()
                class=move || if mode.get() == tab { "tab selected" } else { "tab" }
                on:click=move |_| change(&|route| {
                    if let Route::Lineage { mode, .. } = route {
                        *mode = tab;
                    }
                })
            >
                {label}
            </button>
        }
    };
    view! {
        <section class="panel wide lineage" aria-labelledby="lineage-heading">
            <WhatIsThis panel="Lineage" section="the-lineage-view" />
            <h2 id="lineage-heading">"Lineage"</h2>
            <div class="lineage-toolbar">
                <form on:submit=move |event: web_sys::SubmitEvent| {
                    event.prevent_default();
                    apply_select();
                }>
                    <label>
                        "Select "
                        <input
                            type="search"
                            class="selector"
                            aria-label="Selector"
                            placeholder="+fact_trips, tag:marts, path:models/marts, source:silver.trips+, config.materialized:incremental"
                            prop:value=move || select_text.get()
                            on:input=move |event| select_text.set(event_target_value(&event))
                        />
                    </label>
                    <button type="submit">"Apply"</button>
                </form>
                <label>
                    <input
                        type="checkbox"
                        class="toggle"
                        prop:checked=move || all.get()
                        on:change=move |event| {
                            let checked = event_target_checked(&event);
                            change(&|route| {
                                if let Route::Lineage { all, .. } = route {
                                    *all = checked;
                                }
                            })
                        }
                    />
                    "All nodes"
                </label>
                <div role="tablist" aria-label="Lineage views" class="buttons">
                    {mode_tab(LineageMode::Graph, "Graph")}
                    {mode_tab(LineageMode::List, "List")}
                </div>
            </div>
            {move || {
                state
                    .view
                    .with(|view| view.as_ref().and_then(|view| view.select_error.clone()))
                    .map(|message| view! { <p role="alert" class="error">{message}</p> })
            }}
            <div class="lineage-body">
                {move || match mode.get() {
                    LineageMode::Graph => view! { <Graph state selected /> }.into_any(),
                    LineageMode::List => view! { <List state /> }.into_any(),
                }}
                {move || selected.get().map(|id| view! { <Details state id route /> })}
            </div>
        </section>
    }
}

/// Selects a node: the URL changes, the details follow.
fn select_node(id: &str) {
    if let Some(window) = web_sys::window() {
        let current = Route::parse(&window.location().hash().unwrap_or_default());
        let next = match current {
            Route::Lineage {
                select, all, mode, ..
            } => Route::Lineage {
                node: Some(id.to_owned()),
                column: None,
                select,
                all,
                mode,
            },
            _ => Route::lineage(Some(id.to_owned())),
        };
        navigate(&next);
    }
}

/// Every node shown, as a filterable table.
#[component]
fn List(state: LineageState) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let rows =
        move || {
            let wanted = filter.get().to_lowercase();
            state.view.with(|view| {
                view.as_ref()
                    .map(|view| {
                        view.graph
                            .nodes
                            .iter()
                            .filter(|node| view.shown.contains(&node.id))
                            .filter(|node| {
                                wanted.is_empty()
                                    || node.id.to_lowercase().contains(&wanted)
                                    || node.kind.label().contains(&wanted)
                                    || node.state.run.as_ref().is_some_and(|run| {
                                        status_name(run.status).contains(&wanted)
                                    })
                            })
                            .cloned()
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        };
    view! {
        <div class="graph-pane">
            <label>
                "Filter "
                <input
                    type="search"
                    aria-label="Filter nodes"
                    placeholder="name, type or status"
                    prop:value=move || filter.get()
                    on:input=move |event| filter.set(event_target_value(&event))
                />
            </label>
            <table class="plain lineage-list" data-testid="lineage-list">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Rows"</th>
                        <th scope="col">"Tests"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        rows()
                            .into_iter()
                            .map(|node| {
                                let id = node.id.clone();
                                view! {
                                    <tr>
                                        <td>
                                            <button class="link" on:click=move |_| select_node(&id)>
                                                {node.id.clone()}
                                            </button>
                                        </td>
                                        <td>{format!("{} · {}", node.kind.layer(), node.kind.label())}</td>
                                        <td>{run_text(node.state.run.as_ref())}</td>
                                        <td>{node.state.rows.map(|rows| rows.to_string()).unwrap_or_default()}</td>
                                        <td>{tests_text(&node)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
    }
}
