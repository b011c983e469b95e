//! The Silver pipeline view: an entity's declared steps in order with each step's rows
//! in, out, rejected and deduplicated in the last run, a switch per step, a rerun with
//! a full refresh, Restore, `Start a model` over its table, and the quarantine with its
//! reasons; and the editor of a new entity's proposed pipeline. Core's `SilverView` and
//! `PipelineProposal` say everything; this lays them out and sends the edits.

mod new_pipeline;
mod quarantine;
mod steps;

use leptos::prelude::*;
use medallion_core::lakehouse::SilverView;
use medallion_core::silver::PipelineDraft;
use medallion_core::workspace::{FileKind, FileStatus, ProjectFile};

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{self, Route};
pub use new_pipeline::DraftState;
use new_pipeline::NewPipeline;
use quarantine::Quarantine;
use steps::Steps;

/// What the Silver view shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct SilverState {
    connection: Connection,
    /// The entities with a pipeline file, `silver/<entity>.yml`.
    entities: RwSignal<Vec<String>>,
    /// The entity's pipeline, last run and quarantine.
    view: RwSignal<Option<SilverView>>,
    /// A switch or a restore is on its way.
    busy: RwSignal<bool>,
    /// Why the last request of the view failed.
    error: RwSignal<Option<String>>,
    /// The project's file paths (a staging model over an entity may exist already).
    paths: RwSignal<Vec<String>>,
    /// The new pipeline being reviewed.
    pub draft: DraftState,
}

impl SilverState {
    /// Nothing shown yet.
    pub fn new(connection: Connection) -> Self {
        Self {
            connection,
            entities: RwSignal::new(Vec::new()),
            view: RwSignal::new(None),
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            paths: RwSignal::new(Vec::new()),
            draft: DraftState::new(connection),
        }
    }

    /// The Silver route of the entity shown last (the view opens on it again).
    pub fn last_route(self) -> Route {
        Route::Silver {
            entity: self
                .view
                .with(|view| view.as_ref().map(|view| view.entity.clone())),
        }
    }

    /// The entity a route names.
    fn chosen(route: &Route) -> Option<String> {
        match route {
            Route::Silver { entity } => entity.clone(),
            _ => None,
        }
    }

    /// Asks for the entities when the view opens, and for an entity's view when the
    /// route names it.
    pub fn follow(self, route: RwSignal<Route>) {
        let opened = Memo::new(move |_| {
            matches!(
                route.get(),
                Route::Silver { .. } | Route::NewPipeline { .. }
            )
        });
        Effect::new(move |_| {
            if opened.get() {
                self.connection.post(&Request::ProjectTree);
            }
        });
        let entity = Memo::new(move |_| Self::chosen(&route.get()));
        Effect::new(move |_| {
            if let Some(entity) = entity.get() {
                self.error.set(None);
                self.connection.post(&Request::SilverView { entity });
            }
        });
        let new = Memo::new(move |_| match route.get() {
            Route::NewPipeline { entity } => Some(entity),
            _ => None,
        });
        Effect::new(move |_| {
            if let Some(entity) = new.get() {
                self.error.set(None);
                self.draft.open(&entity);
            }
        });
    }

    /// The worker is (again) ready, or a run ended: the entities and the view are asked
    /// again.
    pub fn refresh(self, route: &Route) {
        self.busy.set(false);
        self.connection.post(&Request::ProjectTree);
        if let Some(entity) = Self::chosen(route) {
            self.connection.post(&Request::SilverView { entity });
        }
        if let Route::NewPipeline { entity } = route {
            self.draft.open(entity);
        }
    }

    /// The project's files arrived: its pipelines are the entities; a route naming none
    /// shows the first.
    pub fn tree(self, files: &[ProjectFile], route: RwSignal<Route>) {
        let entities: Vec<String> = files
            .iter()
            .filter(|file| {
                file.kind == FileKind::SilverPipeline && file.status != FileStatus::Deleted
            })
            .filter_map(|file| {
                let name = file.path.strip_prefix("silver/")?;
                Some(
                    name.strip_suffix(".yml")
                        .or_else(|| name.strip_suffix(".yaml"))?
                        .to_owned(),
                )
            })
            .collect();
        let first = entities.first().cloned();
        self.entities.set(entities);
        self.paths
            .set(files.iter().map(|file| file.path.clone()).collect());
        if let (Route::Silver { entity: None }, Some(first)) = (route.get_untracked(), first) {
            let next = Route::Silver {
                entity: Some(first),
            };
            route::replace(&next);
            route.set(next);
        }
    }

    /// An entity's view arrived (asked for, or after a switch or a restore).
    pub fn show(self, view: SilverView) {
        self.busy.set(false);
        self.error.set(None);
        self.view.set(Some(view));
    }

    /// A request of the view failed.
    pub fn fail(self, message: String) {
        self.busy.set(false);
        self.error.set(Some(message));
    }

    /// Switches `step` of `entity` on or off; the view comes back.
    fn switch(self, entity: String, step: String, enabled: bool) {
        self.busy.set(true);
        self.connection.post(&Request::SetStepEnabled {
            entity,
            step,
            enabled,
        });
    }

    /// Creates a staging model over the entity's Silver table; the editor opens on it.
    fn start_model(self, entity: String) {
        self.busy.set(true);
        self.connection.post(&Request::StartModel { entity });
    }

    /// Brings back the declared pipeline; the view comes back.
    fn restore(self, entity: String) {
        self.busy.set(true);
        self.connection.post(&Request::RestorePipeline { entity });
    }
}

/// The entities, each a link to its pipeline.
#[component]
fn Entities(state: SilverState, route: RwSignal<Route>) -> impl IntoView {
    let chosen = Memo::new(move |_| SilverState::chosen(&route.get()));
    view! {
        <section class="panel silver-entities" aria-labelledby="silver-entities-heading">
            <h2 id="silver-entities-heading">"Silver"</h2>
            <ul aria-label="Silver entities">
                {move || {
                    let chosen = chosen.get();
                    state
                        .entities
                        .get()
                        .into_iter()
                        .map(|entity| {
                            let href = Route::Silver {
                                entity: Some(entity.clone()),
                            }
                            .to_hash();
                            let current = (chosen.as_deref() == Some(entity.as_str())).then_some("page");
                            view! { <li><a href=href aria-current=current>{entity}</a></li> }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}

/// The last run in one line: what came in, what reached the merge, what it did.
fn last_run_text(view: &SilverView) -> String {
    let Some(run) = &view.last_run else {
        return "Silver has not run for this entity yet.".to_owned();
    };
    let mut text = format!(
        "Last run{}: {} Bronze rows in, {} reached the merge ({} quarantined, {} duplicates); \
         {} inserted, {} updated, {} deleted",
        if run.full_refresh {
            " (full refresh)"
        } else {
            ""
        },
        run.rows_in,
        run.rows_out,
        run.quarantined,
        run.duplicates,
        run.inserted,
        run.updated,
        run.deleted,
    );
    if let Some((first, last)) = run.bronze_versions {
        text.push_str(&format!("; Bronze versions {first} to {last}"));
    }
    if let Some(version) = run.version {
        text.push_str(&format!("; Silver version {version}"));
    }
    if let Some(note) = &run.note {
        text.push_str(&format!(" ({note})"));
    }
    text.push('.');
    text
}

/// The entity's pipeline: its file, key, steps, and the rerun, restore and model
/// buttons.
#[component]
fn Pipeline(
    state: SilverState,
    view: SilverView,
    running: RwSignal<bool>,
    ready: RwSignal<bool>,
    rerun: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let entity = view.entity.clone();
    let heading = format!("Pipeline of {entity}");
    let mut about = vec![if view.key.is_empty() {
        "no key: every row is appended".to_owned()
    } else {
        format!("key {}", view.key.join(", "))
    }];
    if let Some(sequence) = &view.sequence_by {
        about.push(format!("the latest {sequence} wins"));
    }
    if let Some(marker) = &view.delete_marker {
        about.push(format!("{marker} deletes"));
    }
    let overridden = view.overridden;
    let (rerun_entity, restore_entity) = (entity.clone(), entity.clone());
    let idle = move || !running.get() && ready.get() && !state.busy.get();
    // A staging model over the table: opened if it exists, else started.
    let staging = format!("models/staging/stg_{entity}.sql");
    let model = {
        let entity = entity.clone();
        move || {
            if state.paths.with(|paths| paths.contains(&staging)) {
                let href = Route::Models {
                    path: Some(staging.clone()),
                }
                .to_hash();
                view! { <a class="button" href=href>{format!("Open stg_{entity}")}</a> }.into_any()
            } else {
                let entity = entity.clone();
                view! {
                    <button disabled=move || !idle() on:click=move |_| state.start_model(entity.clone())>
                        "Start a model"
                    </button>
                }
                .into_any()
            }
        }
    };
    view! {
        <section class="panel silver-pipeline" aria-labelledby="silver-pipeline-heading">
            <WhatIsThis panel="Silver pipeline" section="the-silver-pipeline-view" />
            <h2 id="silver-pipeline-heading">{heading}</h2>
            <p>
                <code>{view.file.clone()}</code>
                {view.description.clone().map(|text| view! { <span class="description">{format!(" {text}")}</span> })}
            </p>
            <p class="muted">{about.join(" · ")}</p>
            {overridden.then(|| view! {
                <p class="overridden" role="note">
                    "Some steps are switched away from the pipeline file: Run all, the lineage and "
                    "the CLI run it as switched. Restore brings the file's pipeline back."
                </p>
            })}
            <Steps state view=view.clone() idle=Signal::derive(idle) />
            <p class="last-run" data-testid="silver-last-run">{last_run_text(&view)}</p>
            <div class="buttons">
                <button class="primary" disabled=move || !idle() on:click=move |_| rerun(rerun_entity.clone())>
                    "Rerun with full refresh"
                </button>
                <button
                    disabled=move || !overridden || !idle()
                    on:click=move |_| state.restore(restore_entity.clone())
                >
                    "Restore"
                </button>
                {model}
            </div>
        </section>
    }
}

/// The whole Silver view: the entities beside the chosen one's pipeline and quarantine.
#[component]
pub fn Silver(
    state: SilverState,
    route: RwSignal<Route>,
    running: RwSignal<bool>,
    ready: RwSignal<bool>,
    rerun: impl Fn(String) + Copy + Send + Sync + 'static,
    save: impl Fn(PipelineDraft) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let chosen = Memo::new(move |_| SilverState::chosen(&route.get()));
    let new = Memo::new(move |_| match route.get() {
        Route::NewPipeline { entity } => Some(entity),
        _ => None,
    });
    // Only the view of the entity the route names.
    let shown = Memo::new(move |_| {
        let chosen = chosen.get();
        state
            .view
            .get()
            .filter(|view| Some(view.entity.as_str()) == chosen.as_deref())
    });
    let main = move || {
        if let Some(message) = state.error.get() {
            return view! { <section class="panel"><p class="error">{message}</p></section> }
                .into_any();
        }
        if let Some(entity) = new.get() {
            let idle = Signal::derive(move || !running.get() && ready.get());
            return view! { <NewPipeline state=state.draft entity idle save /> }.into_any();
        }
        match (chosen.get(), shown.get()) {
            (None, _) => view! {
                <section class="panel"><p class="muted">"Choose an entity to see its pipeline."</p></section>
            }
            .into_any(),
            (Some(entity), None) => view! {
                <section class="panel">
                    <p class="loading">{format!("Reading the pipeline of {entity}…")}</p>
                </section>
            }
            .into_any(),
            (Some(_), Some(view)) => view! {
                <Pipeline state view=view.clone() running ready rerun />
                <Quarantine view />
            }
            .into_any(),
        }
    };
    view! {
        <div class="silver-view">
            <Entities state route />
            <div class="silver-main">{main}</div>
        </div>
    }
}

impl SilverState {
    /// The entity's pipeline shown last (the guided tour reads it).
    pub fn shown(self) -> RwSignal<Option<SilverView>> {
        self.view
    }
}
