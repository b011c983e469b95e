//! The guided tour: twelve steps over the sample batches, each pointing at the real
//! element (class `tour-target`), explaining its concept with the values on screen in a
//! non-modal popover, waiting for the user's action or doing it on request. Its
//! progress lives in `localStorage` (`medallion-tour`), so a reload resumes it.

mod place;
mod steps;

use leptos::prelude::*;
use medallion_core::lakehouse::{RunSummary, TableCard};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::connection::Connection;
use crate::explorer::ExplorerState;
use crate::help::WhatIsThis;
use crate::history::HistoryState;
use crate::inspector::InspectorState;
use crate::lineage::LineageState;
use crate::models::ModelsState;
use crate::protocol::Request;
use crate::route::Route;
use crate::silver::SilverState;
use steps::STEPS;

/// The `localStorage` key of the tour's progress.
const STORAGE_KEY: &str = "medallion-tour";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = localStorage, js_name = getItem, catch)]
    fn storage_get(key: &str) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(js_namespace = localStorage, js_name = setItem, catch)]
    fn storage_set(key: &str, value: &str) -> Result<(), JsValue>;
}

/// What the tour reads and drives of the page: the playground's state and two of its
/// controls' actions.
#[derive(Clone, Copy)]
pub struct Page {
    /// The pipeline worker.
    pub connection: Connection,
    /// The board.
    pub cards: RwSignal<Vec<TableCard>>,
    /// The files waiting in landing.
    pub waiting: RwSignal<Vec<(String, u64)>>,
    /// The last run's summary.
    pub summary: RwSignal<Option<RunSummary>>,
    /// A run is going.
    pub running: RwSignal<bool>,
    /// The worker takes requests.
    pub ready: RwSignal<bool>,
    /// The view shown.
    pub route: RwSignal<Route>,
    /// The table explorer.
    pub explorer: ExplorerState,
    /// The checkpoint inspector.
    pub inspector: InspectorState,
    /// The lineage view.
    pub lineage: LineageState,
    /// The Models view.
    pub models: ModelsState,
    /// The SCD2 history view.
    pub history: HistoryState,
    /// The Silver pipeline view.
    pub silver: SilverState,
    /// What the Run all button does.
    pub run_all: Callback<()>,
    /// What a Load sample batch button does.
    pub land: Callback<usize>,
}

/// The saved progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Progress {
    /// The step shown, from 0.
    step: usize,
    /// The steps whose action is done.
    done: Vec<bool>,
    /// The popover is shown (not skipped, not finished).
    active: bool,
    /// The last step was passed.
    finished: bool,
}

impl Progress {
    fn started() -> Self {
        Self {
            active: true,
            ..Self::default()
        }
    }

    fn is_done(&self, step: usize) -> bool {
        self.done.get(step).copied().unwrap_or(false)
    }

    /// Something to resume: a step passed or done, and not finished.
    fn resumable(&self) -> bool {
        !self.finished && (self.step > 0 || self.done.iter().any(|done| *done))
    }
}

/// The tour's state, shared by the header's button, the first-visit offer and the
/// popover.
#[derive(Clone, Copy)]
pub struct Tour {
    /// `None` on a first visit (nothing saved).
    progress: RwSignal<Option<Progress>>,
    /// A batch "Do it for me" landed, to run all once it is in landing.
    pending_run: RwSignal<Option<usize>>,
    /// A commit "Do it for me" shows once the explorer has opened its table.
    pending_commit: RwSignal<Option<(String, i64)>>,
}

impl Tour {
    /// Reads the saved progress, keeps it saved, and puts the tour in the context.
    pub fn provide() -> Self {
        let saved = storage_get(STORAGE_KEY)
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str::<Progress>(&json).ok());
        let tour = Self {
            progress: RwSignal::new(saved),
            pending_run: RwSignal::new(None),
            pending_commit: RwSignal::new(None),
        };
        Effect::new(move |_| {
            if let Some(progress) = tour.progress.get() {
                if let Ok(json) = serde_json::to_string(&progress) {
                    // Private browsing may refuse: the tour still works for this visit.
                    let _ = storage_set(STORAGE_KEY, &json);
                }
            }
        });
        provide_context(tour);
        tour
    }

    fn active(self) -> bool {
        self.progress
            .with(|progress| progress.as_ref().is_some_and(|progress| progress.active))
    }

    fn step(self) -> usize {
        self.progress
            .with(|progress| progress.as_ref().map_or(0, |progress| progress.step))
            .min(STEPS.len() - 1)
    }

    /// Starts the tour, or resumes it where it was left.
    fn start(self) {
        self.progress.update(|progress| match progress {
            Some(saved) if saved.resumable() => saved.active = true,
            _ => *progress = Some(Progress::started()),
        });
    }

    /// Hides the tour, keeping its progress.
    fn dismiss(self) {
        self.progress.update(|progress| {
            progress.get_or_insert_with(Progress::default).active = false;
        });
    }

    fn go(self, step: usize) {
        self.progress.update(|progress| {
            if let Some(progress) = progress {
                progress.step = step;
            }
        });
    }

    fn finish(self) {
        self.progress.update(|progress| {
            if let Some(progress) = progress {
                progress.active = false;
                progress.finished = true;
            }
        });
    }

    fn mark_done(self, step: usize) {
        self.progress.update(|progress| {
            if let Some(progress) = progress {
                if progress.done.len() < STEPS.len() {
                    progress.done.resize(STEPS.len(), false);
                }
                progress.done[step] = true;
            }
        });
    }
}

/// The header's button: "Tour", or "Resume tour" when progress is saved and the tour
/// is hidden; pressed while the tour shows, and a press then hides it.
#[component]
pub fn TourButton() -> impl IntoView {
    let tour = expect_context::<Tour>();
    let label = move || {
        let resumable = tour
            .progress
            .with(|progress| progress.as_ref().is_some_and(Progress::resumable));
        if resumable && !tour.active() {
            "Resume tour"
        } else {
            "Tour"
        }
    };
    view! {
        <button
            class="tour-button"
            aria-pressed=move || tour.active().to_string()
            on:click=move |_| {
                if tour.active() {
                    tour.dismiss();
                } else {
                    tour.start();
                }
            }
        >
            {label}
        </button>
    }
}

/// The small offer of a first visit: start the tour, or not now.
#[component]
pub fn TourOffer() -> impl IntoView {
    let tour = expect_context::<Tour>();
    view! {
        <Show when=move || tour.progress.with(Option::is_none)>
            <section class="tour-offer" aria-label="Tour offer">
                <p>
                    "New here? A 12-step tour lands the sample's four batches and shows, on "
                    "the real data, a checkpoint, a Delta commit, an upsert, an SCD2 version, a "
                    "point-in-time join and time travel."
                </p>
                <button class="primary" on:click=move |_| tour.start()>"Start tour"</button>
                <button on:click=move |_| tour.dismiss()>"Not now"</button>
            </section>
        </Show>
    }
}

/// The tour's popover, pointing at the current step's element.
#[component]
pub fn TourPopover(page: Page) -> impl IntoView {
    let tour = expect_context::<Tour>();
    let step = Memo::new(move |_| tour.step());
    let phase = Memo::new(move |_| (STEPS[step.get()].phase)(&page));
    let explanation = Memo::new(move |_| (STEPS[step.get()].explain)(&page));
    let done_now = Memo::new(move |_| (STEPS[step.get()].done)(&page));
    let done = Memo::new(move |_| {
        done_now.get()
            || tour.progress.with(|progress| {
                progress
                    .as_ref()
                    .is_some_and(|progress| progress.is_done(step.get()))
            })
    });
    // A step done while shown stays done (after a reload too).
    Effect::new(move |_| {
        if tour.active()
            && done_now.get()
            && !tour
                .progress
                .with_untracked(|p| p.as_ref().is_some_and(|p| p.is_done(step.get_untracked())))
        {
            tour.mark_done(step.get_untracked());
        }
    });
    // "Do it for me" on a batch step: Run all once the batch is in landing.
    Effect::new(move |_| {
        if let Some(batch) = tour.pending_run.get() {
            if steps::landed(&page, batch) && page.ready.get() && !page.running.get() {
                tour.pending_run.set(None);
                if !steps::ran(&page, batch) {
                    page.run_all.run(());
                }
            }
        }
    });
    Effect::new(move |_| {
        if let Some((table, version)) = tour.pending_commit.get() {
            let opened = page
                .explorer
                .view
                .with(|view| view.as_ref().is_some_and(|view| view.table == table));
            if opened {
                tour.pending_commit.set(None);
                page.connection.post(&Request::Commit { table, version });
            }
        }
    });
    let placement = place::follow(tour, phase);
    let last = STEPS.len() - 1;
    let next = move |_| {
        let current = step.get_untracked();
        if current == last {
            tour.finish();
        } else {
            tour.go(current + 1);
        }
    };
    let back = move |_| tour.go(step.get_untracked().saturating_sub(1));
    let act = move |_| (STEPS[step.get_untracked()].act)(&page, tour);
    view! {
        <Show when=move || tour.active()>
            <div
                id=place::POPOVER_ID
                class=move || if placement.get().is_some() { "tour-popover" } else { "tour-popover docked" }
                role="dialog"
                aria-labelledby="tour-title"
                style=move || placement.get().map(|(top, left)| format!("top: {top}px; left: {left}px")).unwrap_or_default()
            >
                <h2 id="tour-title">
                    {move || format!("Tour step {} of {}: {}", step.get() + 1, STEPS.len(), STEPS[step.get()].title)}
                </h2>
                {move || explanation.get().into_iter().map(|paragraph| view! { <p>{paragraph}</p> }).collect_view()}
                {move || {
                    let step = &STEPS[step.get()];
                    view! { <WhatIsThis panel=step.about section=step.concept /> }
                }}
                <p class=move || if done.get() { "tour-todo done" } else { "tour-todo" } aria-live="polite">
                    {move || if done.get() {
                        if step.get() == last { "Done: Next ends the tour.".to_owned() } else { "Done: press Next.".to_owned() }
                    } else {
                        phase.get().todo
                    }}
                </p>
                <div class="buttons">
                    <button on:click=back disabled=move || step.get() == 0>"Back"</button>
                    <button class="primary" on:click=next disabled=move || !done.get()>"Next"</button>
                    <button
                        on:click=act
                        disabled=move || done_now.get() || page.running.get() || !page.ready.get() || tour.pending_run.with(Option::is_some)
                    >
                        "Do it for me"
                    </button>
                    <button on:click=move |_| tour.dismiss()>"Skip tour"</button>
                </div>
            </div>
        </Show>
    }
}
