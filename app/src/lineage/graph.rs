//! The layered graph, drawn as SVG: pan, zoom, fit, and a button per node.

use leptos::html::Div;
use leptos::prelude::*;
use medallion_core::lineage::layout::{NODE_HEIGHT, NODE_WIDTH};
use medallion_core::lineage::LineageNode;

use super::{rows_text, run_text, select_node, status_name, tests_text, LineageState};

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

/// The pan and zoom of the graph: a translation and a scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Camera {
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
pub(super) fn Graph(state: LineageState, selected: Memo<Option<String>>) -> impl IntoView {
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

/// The characters of a node's change line that fit its width at the node's font size;
/// a longer line is fitted by `textLength`.
const CHANGE_FITS: usize = 32;

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
    let change = line(|node| {
        if node.state.version.is_some() {
            node.state.change.clone()
        } else {
            String::new()
        }
    });
    let long_change = move || change().chars().count() > CHANGE_FITS;
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
                {line(|node| {
                    let kind = format!("{} · {}", node.kind.layer(), node.kind.label());
                    let tests = tests_text(node);
                    if tests.is_empty() { kind } else { format!("{kind} · {tests}") }
                })}
            </text>
            <text x="10" y="53" class="node-state">
                {line(|node| {
                    let rows = rows_text(node);
                    let run = run_text(node.state.run.as_ref());
                    if rows.is_empty() { run } else { format!("{rows} · {run}") }
                })}
            </text>
            // A long change (a merge's three counts) is fitted into the node's width.
            <text
                x="10"
                y="69"
                class="node-change"
                textLength=move || long_change().then(|| (NODE_WIDTH - 20.0).to_string())
                lengthAdjust="spacingAndGlyphs"
            >
                {change}
            </text>
        </g>
    }
}
