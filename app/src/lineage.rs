//! The lineage view: every node from landing to marts as a layered graph (or a
//! list), filtered by a dbt selector, with the selected node's details and the
//! lineage of its columns. Core computes the graph, the selection and the layout; this
//! draws them.

use leptos::html::Div;
use leptos::prelude::*;
use medallion_core::lakehouse::{LineageView, RunProgress};
use medallion_core::lineage::layout::{NODE_HEIGHT, NODE_WIDTH};
use medallion_core::lineage::{
    ColumnLineage, LineageNode, NodeDetails, NodeRun, SqlToken, TestBadge, UpstreamColumn,
};
use medallion_core::models::NodeStatus;

use crate::connection::Connection;
use crate::protocol::Request;
use crate::route::{navigate, LineageMode, Route};

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

/// The CSS classes of a node: its kind, its last status, and how it relates to the
/// selected node.
fn node_class(node: &LineageNode, relation: &str) -> String {
    let status = node
        .state
        .run
        .as_ref()
        .map_or("none", |run| status_name(run.status));
    format!(
        "lineage-node kind-{} status-{status} {relation}",
        node.kind.label()
    )
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

/// The pan and zoom of the graph: a translation and a scale.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Camera {
    x: f64,
    y: f64,
    scale: f64,
}

impl Camera {
    const HOME: Camera = Camera {
        x: 16.0,
        y: 16.0,
        scale: 1.0,
    };

    /// The camera that shows a `width` × `height` drawing whole in a `view_width` ×
    /// `view_height` box, at most at full size.
    fn fit(width: f64, height: f64, view_width: f64, view_height: f64) -> Self {
        let margin = 16.0;
        let scale = ((view_width - 2.0 * margin) / width.max(1.0))
            .min((view_height - 2.0 * margin) / height.max(1.0))
            .clamp(0.05, 1.0);
        Camera {
            x: (view_width - width * scale) / 2.0,
            y: margin.max((view_height - height * scale) / 2.0),
            scale,
        }
    }

    /// The camera zoomed by `factor` around the point (`px`, `py`) of the box.
    fn zoom(self, factor: f64, px: f64, py: f64) -> Self {
        let scale = (self.scale * factor).clamp(0.05, 3.0);
        let ratio = scale / self.scale;
        Camera {
            x: px - (px - self.x) * ratio,
            y: py - (py - self.y) * ratio,
            scale,
        }
    }

    fn transform(self) -> String {
        format!(
            "translate({:.1},{:.1}) scale({:.4})",
            self.x, self.y, self.scale
        )
    }
}

/// The layered graph, drawn as SVG, with pan (drag), zoom (wheel, buttons) and fit.
#[component]
fn Graph(state: LineageState, selected: Memo<Option<String>>) -> impl IntoView {
    let frame = NodeRef::<Div>::new();
    let drag = StoredValue::new(None::<(f64, f64, Camera)>);
    // The box is measured once it is laid out; until then a laptop's guess.
    let measured = RwSignal::new(None::<(f64, f64)>);
    request_animation_frame(move || {
        if let Some(frame) = frame.get_untracked() {
            measured.set(Some((
                frame.client_width() as f64,
                frame.client_height() as f64,
            )));
        }
    });
    let size = move || {
        frame
            .get_untracked()
            .map(|frame| (frame.client_width() as f64, frame.client_height() as f64))
            .filter(|(width, height)| *width > 0.0 && *height > 0.0)
            .or(measured.get())
            .unwrap_or((1200.0, 640.0))
    };
    // The user's pan and zoom, or, until they move it, the whole graph fitted.
    let camera = move || {
        state.camera.get().unwrap_or_else(|| {
            state
                .view
                .with(|view| view.as_ref().map(|v| (v.layout.width, v.layout.height)))
                .map_or(Camera::HOME, |(width, height)| {
                    let (view_width, view_height) = size();
                    Camera::fit(width, height, view_width, view_height)
                })
        })
    };
    let camera_now = move || untrack(camera);
    let fit = move || state.camera.set(None);
    let zoom = move |factor: f64| {
        let (width, height) = size();
        state
            .camera
            .set(Some(camera_now().zoom(factor, width / 2.0, height / 2.0)));
    };
    // A run's progress changes nodes, not the layout: nodes are drawn again only when
    // the layout changes, and each follows its own state.
    let placed = Memo::new(move |_| {
        state
            .view
            .with(|view| view.as_ref().map(|view| view.layout.nodes.clone()))
            .unwrap_or_default()
    });
    let edges = Memo::new(move |_| {
        state
            .view
            .with(|view| view.as_ref().map(|view| view.layout.edges.clone()))
            .unwrap_or_default()
    });
    // Which nodes are upstream and downstream of the selected one.
    let related = Memo::new(move |_| {
        let id = selected.get()?;
        state.view.with(|view| {
            let graph = &view.as_ref()?.graph;
            Some((id.clone(), graph.ancestors(&id), graph.descendants(&id)))
        })
    });
    let relation = move |id: &str| {
        related.with(|related| match related {
            None => "",
            Some((selected, up, down)) => {
                if selected == id {
                    "selected"
                } else if up.contains(id) {
                    "upstream"
                } else if down.contains(id) {
                    "downstream"
                } else {
                    "unrelated"
                }
            }
        })
    };
    view! {
        <div class="graph-pane">
            <div class="buttons graph-controls">
                <button on:click=move |_| zoom(1.25)>"Zoom in"</button>
                <button on:click=move |_| zoom(0.8)>"Zoom out"</button>
                <button on:click=move |_| fit()>"Fit"</button>
            </div>
            <div
                class="graph-frame"
                node_ref=frame
                on:pointerdown=move |event: web_sys::PointerEvent| {
                    // Dragging starts on the background; a node is a button to press.
                    let on_node = event
                        .target()
                        .and_then(|target| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target).ok())
                        .and_then(|element| element.closest(".lineage-node").ok().flatten())
                        .is_some();
                    if !on_node {
                        drag.set_value(Some((event.client_x() as f64, event.client_y() as f64, camera_now())));
                    }
                }
                on:pointermove=move |event: web_sys::PointerEvent| {
                    if let Some((x, y, start)) = drag.get_value() {
                        state.camera.set(Some(Camera {
                            x: start.x + event.client_x() as f64 - x,
                            y: start.y + event.client_y() as f64 - y,
                            ..start
                        }));
                    }
                }
                on:pointerup=move |_| drag.set_value(None)
                on:pointerleave=move |_| drag.set_value(None)
                on:wheel=move |event: web_sys::WheelEvent| {
                    event.prevent_default();
                    let factor = if event.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 };
                    let (px, py) = (event.offset_x() as f64, event.offset_y() as f64);
                    state.camera.set(Some(camera_now().zoom(factor, px, py)));
                }
            >
                <svg class="graph" data-testid="lineage-graph" aria-label="Lineage graph" role="group">
                    <defs>
                        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z"></path>
                        </marker>
                    </defs>
                    <g transform=move || camera().transform()>
                        {move || {
                            edges.with(|edges| {
                                    edges
                                        .iter()
                                        .map(|edge| {
                                            let (from, to) = (edge.from.clone(), edge.to.clone());
                                            let class = move || {
                                                let (a, b) = (relation(&from), relation(&to));
                                                let lit = matches!(a, "selected" | "upstream") && matches!(b, "selected" | "upstream")
                                                    || matches!(a, "selected" | "downstream") && matches!(b, "selected" | "downstream");
                                                if lit { "edge lit" } else if a.is_empty() { "edge" } else { "edge faded" }
                                            };
                                            view! { <path class=class d=edge.svg_path() marker-end="url(#arrow)"></path> }
                                        })
                                        .collect_view()
                            })
                        }}
                        {move || {
                            placed
                                .get()
                                .into_iter()
                                .map(|place| {
                                    let id = place.id.clone();
                                    view! { <GraphNode state id x=place.x y=place.y relation /> }
                                })
                                .collect_view()
                        }}
                    </g>
                </svg>
            </div>
        </div>
    }
}

/// One node of the graph: a button named by its relation.
#[component]
fn GraphNode(
    state: LineageState,
    id: String,
    x: f64,
    y: f64,
    relation: impl Fn(&str) -> &'static str + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let node = state.node(id.clone());
    let press = {
        let id = id.clone();
        move || select_node(&id)
    };
    let class = {
        let id = id.clone();
        move || {
            node.with(|node| {
                node.as_ref()
                    .map_or(String::new(), |node| node_class(node, relation(&id)))
            })
        }
    };
    let line = move |text: fn(&LineageNode) -> String| {
        move || node.with(|node| node.as_ref().map_or(String::new(), text))
    };
    let press_key = press.clone();
    view! {
        <g
            role="button"
            tabindex="0"
            aria-label=id.clone()
            class=class
            transform=format!("translate({x:.1},{y:.1})")
            on:click=move |_| press()
            on:keydown=move |event: web_sys::KeyboardEvent| {
                if event.key() == "Enter" || event.key() == " " {
                    event.prevent_default();
                    press_key();
                }
            }
        >
            <title>{id.clone()}</title>
            <rect width=NODE_WIDTH height=NODE_HEIGHT rx="8"></rect>
            <text x="10" y="19" class="node-name">{line(|node| node.name.clone())}</text>
            <text x="10" y="36" class="node-kind">
                {line(|node| format!("{} · {}", node.kind.layer(), node.kind.label()))}
            </text>
            <text x="10" y="53" class="node-state">
                {line(|node| {
                    let rows = rows_text(node);
                    let run = run_text(node.state.run.as_ref());
                    if rows.is_empty() { run } else { format!("{rows} · {run}") }
                })}
            </text>
            <text x="10" y="69" class="node-change">
                {line(|node| {
                    let change = if node.state.version.is_some() {
                        format!("+{} ~{} −{}", node.state.inserted, node.state.updated, node.state.deleted)
                    } else {
                        String::new()
                    };
                    let tests = tests_text(node);
                    match (change.is_empty(), tests.is_empty()) {
                        (false, false) => format!("{change} · {tests}"),
                        _ => format!("{change}{tests}"),
                    }
                })}
            </text>
        </g>
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

/// Highlighted SQL.
fn sql_view(tokens: Vec<SqlToken>) -> impl IntoView {
    tokens
        .into_iter()
        .map(|token| view! { <span class=token.kind.css_class()>{token.text}</span> })
        .collect_view()
}

/// A test's last status: `pass`, `fail`, … or `not run`.
fn test_status(test: &TestBadge) -> &'static str {
    test.run
        .as_ref()
        .map_or("not run", |run| status_name(run.status))
}

/// Buttons that select each of `ids`.
fn node_links(ids: Vec<String>) -> impl IntoView {
    ids.into_iter()
        .map(|id| {
            let target = id.clone();
            view! {
                <li>
                    <button class="link" on:click=move |_| select_node(&target)>{id}</button>
                </li>
            }
        })
        .collect_view()
}

/// (label, value) rows.
fn pairs_table(rows: &[(String, String)], testid: &'static str) -> impl IntoView {
    view! {
        <table class="plain" data-testid=testid>
            <tbody>
                {rows
                    .iter()
                    .map(|(key, value)| view! {
                        <tr><th scope="row">{key.clone()}</th><td><code>{value.clone()}</code></td></tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The selected node's details: its run, description, config, SQL, columns and tests,
/// checkpoint and steps, parents and children.
#[component]
fn Details(state: LineageState, id: String, route: RwSignal<Route>) -> impl IntoView {
    let node = state.node(id.clone());
    let children = {
        let id = id.clone();
        Memo::new(move |_| {
            state.view.with(|view| {
                view.as_ref().map_or(Vec::new(), |view| {
                    view.graph
                        .children(&id)
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
            })
        })
    };
    let details = {
        let id = id.clone();
        Memo::new(move |_| state.details.get().filter(|details| details.id == id))
    };
    view! {
        <aside class="details" aria-labelledby="details-heading" data-testid="node-details">
            <h3 id="details-heading">{id.clone()}</h3>
            {move || node.get().map(|node| view! { <NodeSummary node /> })}
            {move || details.with(Option::is_none).then(|| view! {
                <p class="loading">"Reading its SQL, columns and checkpoint…"</p>
            })}
            {move || details.get().map(|details| {
                let tests = node.get().map(|node| node.tests).unwrap_or_default();
                view! {
                    {(!details.description.is_empty()).then(|| view! { <p class="description">{details.description.clone()}</p> })}
                    {details.file.clone().map(|file| view! { <p><code>{file}</code></p> })}
                    {(!details.config.is_empty()).then(|| view! {
                        <h4>"Config"</h4>
                        {pairs_table(&details.config, "node-config")}
                    })}
                    <SqlPair details=details.clone() />
                    <Columns state route details=details.clone() tests=tests.clone() />
                    <NodeTests tests />
                    {(!details.checkpoint.is_empty()).then(|| view! {
                        <h4>"Checkpoint"</h4>
                        {pairs_table(&details.checkpoint, "node-checkpoint")}
                    })}
                    <PipelineSteps details />
                }
            })}
            <h4>"Parents"</h4>
            <ul class="relatives" data-testid="node-parents">
                {move || node_links(node.get().map(|node| node.parents).unwrap_or_default())}
            </ul>
            <h4>"Children"</h4>
            <ul class="relatives" data-testid="node-children">{move || node_links(children.get())}</ul>
        </aside>
    }
}

/// A node's kind, rows and last run, its run's message, and a link to its table.
#[component]
fn NodeSummary(node: LineageNode) -> impl IntoView {
    let explore = node
        .table
        .clone()
        .zip(node.state.version)
        .map(|(table, version)| {
            let href = Route::Explorer {
                table: Some(table.clone()),
                version: Some(version),
            }
            .to_hash();
            view! { <a href=href>{format!("Explore {table} at version {version}")}</a> }
        });
    let rows = rows_text(&node);
    view! {
        <p class="node-summary">
            {format!("{} · {}", node.kind.layer(), node.kind.label())}
            {(!rows.is_empty()).then(|| format!(" · {rows}"))}
            {format!(" · last run: {}", run_text(node.state.run.as_ref()))}
        </p>
        {node.state.run.as_ref().filter(|run| !run.message.is_empty()).map(|run| {
            view! { <p class=format!("run-message status-{}", status_name(run.status))>{run.message.clone()}</p> }
        })}
        {explore}
    }
}

/// A model's Jinja and its compiled SQL, side by side.
#[component]
fn SqlPair(details: NodeDetails) -> impl IntoView {
    details.raw_sql.map(|raw| {
        let compiled = match (details.compiled_sql, details.compile_error) {
            (Some(compiled), _) => view! {
                <pre class="sql" data-testid="compiled-sql"><code>{sql_view(compiled)}</code></pre>
            }
            .into_any(),
            (None, error) => view! {
                <p class="error">{error.unwrap_or_else(|| "not compiled".to_owned())}</p>
            }
            .into_any(),
        };
        view! {
            <div class="sql-pair">
                <figure>
                    <figcaption>"SQL (Jinja)"</figcaption>
                    <pre class="sql" data-testid="raw-sql"><code>{sql_view(raw)}</code></pre>
                </figure>
                <figure>
                    <figcaption>"Compiled SQL"</figcaption>
                    {compiled}
                </figure>
            </div>
        }
    })
}

/// The columns with their types, descriptions and tests; a column's name traces its
/// lineage.
#[component]
fn Columns(
    state: LineageState,
    route: RwSignal<Route>,
    details: NodeDetails,
    tests: Vec<TestBadge>,
) -> impl IntoView {
    let trace = move |column: String| {
        let mut next = route.get_untracked();
        if let Route::Lineage { column: chosen, .. } = &mut next {
            *chosen = Some(column);
        }
        navigate(&next);
    };
    let rows = details
        .columns
        .iter()
        .map(|column| {
            let name = column.name.clone();
            let column_tests = tests
                .iter()
                .filter(|test| test.column.as_deref() == Some(column.name.as_str()))
                .map(|test| {
                    let status = test_status(test);
                    let run = test.run.as_ref();
                    let failing = run
                        .map(|run| run.failing_rows.join("\n"))
                        .unwrap_or_default();
                    let failures = run
                        .and_then(|run| run.failures)
                        .filter(|failures| *failures > 0)
                        .map(|failures| format!(" ({failures} failing)"));
                    view! {
                        <li class=format!("test status-{status}") title=failing>
                            {format!("{} {status}", test.test)}
                            {failures}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">
                        <button
                            class="link"
                            aria-label=format!("Lineage of {}", column.name)
                            on:click=move |_| trace(name.clone())
                        >
                            {column.name.clone()}
                        </button>
                    </th>
                    <td><code>{column.data_type.clone().unwrap_or_default()}</code></td>
                    <td>{column.description.clone()}</td>
                    <td><ul class="tests">{column_tests}</ul></td>
                </tr>
            }
        })
        .collect_view();
    (!details.columns.is_empty()).then(|| {
        view! {
            <h4>"Columns"</h4>
            <ColumnTree state />
            <table class="plain" data-testid="node-columns">
                <thead>
                    <tr>
                        <th scope="col">"Column"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Tests"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

/// The tests on no column, and every test's failing rows.
#[component]
fn NodeTests(tests: Vec<TestBadge>) -> impl IntoView {
    let whole = tests
        .iter()
        .filter(|test| test.column.is_none())
        .map(|test| {
            let status = test_status(test);
            view! { <p class=format!("test status-{status}")>{format!("{} {status}", test.name)}</p> }
        })
        .collect_view();
    let failing = tests
        .iter()
        .filter_map(|test| {
            let run = test.run.as_ref()?;
            (!run.failing_rows.is_empty()).then(|| {
                view! {
                    <details class="failing">
                        <summary>
                            {format!("{}: {} failing rows", test.name, run.failures.unwrap_or(0))}
                        </summary>
                        <pre>{run.failing_rows.join("\n")}</pre>
                    </details>
                }
            })
        })
        .collect_view();
    view! { {whole} {failing} }
}

/// A Silver node's pipeline steps, a landing node's files.
#[component]
fn PipelineSteps(details: NodeDetails) -> impl IntoView {
    let steps = (!details.pipeline.is_empty()).then(|| {
        view! {
            <h4>"Silver pipeline"</h4>
            <ol class="steps" data-testid="node-pipeline">
                {details
                    .pipeline
                    .iter()
                    .map(|step| view! {
                        <li class=if step.enabled { "step" } else { "step disabled" }>
                            <strong>{step.name.clone()}</strong>
                            {format!(" ({})", step.transform)}
                            {step.description.clone().map(|text| format!(": {text}"))}
                            {(!step.enabled).then_some(" (off)")}
                        </li>
                    })
                    .collect_view()}
            </ol>
        }
    });
    let files = (!details.files.is_empty()).then(|| {
        view! {
            <h4>"Files"</h4>
            <ul>
                {details
                    .files
                    .iter()
                    .map(|(path, size)| view! { <li>{format!("{path} ({size} bytes)")}</li> })
                    .collect_view()}
            </ul>
        }
    });
    view! { {steps} {files} }
}

/// The upstream columns of the chosen column, as a tree.
#[component]
fn ColumnTree(state: LineageState) -> impl IntoView {
    fn branch(upstream: UpstreamColumn) -> AnyView {
        let via = if upstream.via.is_empty() {
            String::new()
        } else {
            format!(" via {}", upstream.via.join(", "))
        };
        let lineage = upstream.lineage;
        view! {
            <li>
                <span class=format!("flow flow-{}", upstream.flow)>{upstream.flow.to_string()}</span>
                " "
                <code>{format!("{}.{}", lineage.column.node, lineage.column.column)}</code>
                {via}
                {(!lineage.upstream.is_empty()).then(|| view! {
                    <ul>{lineage.upstream.into_iter().map(branch).collect_view()}</ul>
                })}
            </li>
        }
        .into_any()
    }
    move || {
        state.column.get().map(|lineage| {
            view! {
                <div class="column-lineage" data-testid="column-lineage">
                    <h4>{format!("Lineage of {}.{}", lineage.column.node, lineage.column.column)}</h4>
                    <ul class="tree">{lineage.upstream.into_iter().map(branch).collect_view()}</ul>
                </div>
            }
        })
    }
}
