//! The playground's controls and board: the page side of the worker protocol.

use leptos::prelude::*;
use medallion_core::lakehouse::{Stage, TableCard};
use medallion_core::landing::FileFormat;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::protocol::{Reply, Request, RunSummary};

/// The worker's script, next to the page (trunk's loader shim).
const WORKER_SCRIPT: &str = "./medallion-worker_loader.js";

fn post(worker: &StoredValue<Option<Worker>, LocalStorage>, request: &Request) {
    worker.with_value(|worker| {
        if let Some(worker) = worker {
            let _ = worker.post_message(&JsValue::from_str(&request.to_json()));
        }
    });
}

/// Sends a dropped or picked file to the worker to land, or says why it cannot go.
fn send_file(
    worker: &StoredValue<Option<Worker>, LocalStorage>,
    file: web_sys::File,
    entity: Option<String>,
) -> Result<(), String> {
    let name = file.name();
    if FileFormat::from_file_name(&name).is_none() {
        return Err(format!(
            "{name}: not a CSV, NDJSON or Parquet file (.csv, .ndjson, .jsonl, .json, .parquet)"
        ));
    }
    let request = Request::LandFile { name, entity };
    worker.with_value(|worker| {
        if let Some(worker) = worker {
            let message = js_sys::Array::of2(&JsValue::from_str(&request.to_json()), &file);
            let _ = worker.post_message(&message);
        }
    });
    Ok(())
}

/// Sends every file of a list (a picker's or a drop's).
fn send_files(
    worker: &StoredValue<Option<Worker>, LocalStorage>,
    files: Option<web_sys::FileList>,
    entity: Option<String>,
) -> Result<(), String> {
    let Some(files) = files else {
        return Ok(());
    };
    let mut problems = Vec::new();
    for index in 0..files.length() {
        if let Some(file) = files.get(index) {
            if let Err(problem) = send_file(worker, file, entity.clone()) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Landing, run controls, progress and the medallion board.
#[component]
pub fn Playground() -> impl IntoView {
    let (cards, set_cards) = signal(Vec::<TableCard>::new());
    let (status, set_status) = signal(String::from("Starting the pipeline worker…"));
    let (error, set_error) = signal(None::<String>);
    let (percent, set_percent) = signal(0u8);
    let (running, set_running) = signal(false);
    let (ready, set_ready) = signal(false);
    let (summary, set_summary) = signal(None::<RunSummary>);
    let worker = StoredValue::new_local(None::<Worker>);
    let (waiting, set_waiting) = signal(Vec::<(String, u64)>::new());
    // The entity dropped files land as; empty: the one each file name gives.
    let (entity, set_entity) = signal(String::new());
    let chosen_entity = move || {
        let entity = entity.get_untracked().trim().to_ascii_lowercase();
        (!entity.is_empty()).then_some(entity)
    };
    // Watch mode: every landing triggers Run all.
    let (watch, set_watch) = signal(false);
    // Tables whose version moved in the last board update: highlighted.
    let (changed, set_changed) = signal(std::collections::BTreeSet::<String>::new());

    match Worker::new(WORKER_SCRIPT) {
        Ok(started) => {
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let text = event.data().as_string().unwrap_or_default();
                let Ok(reply) = serde_json::from_str::<Reply>(&text) else {
                    set_error.set(Some(format!("unreadable reply from the worker: {text}")));
                    return;
                };
                match reply {
                    Reply::Ready => {
                        set_ready.set(true);
                        set_status.set("Ready.".to_owned());
                        post(&worker, &Request::Board);
                        post(&worker, &Request::Landing);
                    }
                    Reply::Landing { files } => set_waiting.set(files),
                    Reply::Progress { progress } => {
                        set_percent.set(progress.percent());
                        set_status.set(format!(
                            "{:?}: {} ({} of {})",
                            progress.stage, progress.step, progress.done, progress.total
                        ));
                    }
                    Reply::Landed { files } => {
                        let plural = if files.len() == 1 { "" } else { "s" };
                        set_status.set(format!("Landed {} file{plural}.", files.len()));
                        post(&worker, &Request::Landing);
                        if watch.get_untracked() && !running.get_untracked() {
                            set_running.set(true);
                            set_percent.set(0);
                            post(
                                &worker,
                                &Request::Run {
                                    stages: vec![Stage::Bronze, Stage::Silver, Stage::Gold],
                                },
                            );
                        }
                    }
                    Reply::RunDone { summary } => {
                        set_running.set(false);
                        set_percent.set(100);
                        set_status.set(if summary.cancelled {
                            "Run cancelled.".to_owned()
                        } else {
                            "Run finished.".to_owned()
                        });
                        set_summary.set(Some(summary));
                        post(&worker, &Request::Board);
                        post(&worker, &Request::Landing);
                    }
                    Reply::Board { cards: new } => {
                        let before = cards.get_untracked();
                        let moved = new
                            .iter()
                            .filter(|card| {
                                !before.iter().any(|old| {
                                    old.table == card.table && old.version == card.version
                                })
                            })
                            .map(|card| card.table.clone())
                            .collect();
                        // The first board of a page load highlights nothing.
                        if before.is_empty() {
                            set_changed.set(Default::default());
                        } else {
                            set_changed.set(moved);
                        }
                        set_cards.set(new);
                    }
                    Reply::Error { message } => {
                        set_running.set(false);
                        set_error.set(Some(message));
                    }
                }
            });
            started.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            worker.set_value(Some(started));
        }
        Err(err) => set_error.set(Some(format!("the pipeline worker cannot start: {err:?}"))),
    }

    let load = move |batch: usize| {
        set_error.set(None);
        set_status.set(format!("Landing sample batch {batch}…"));
        post(&worker, &Request::LoadSample { batch });
    };
    let run = move |stages: Vec<Stage>| {
        set_error.set(None);
        set_running.set(true);
        set_percent.set(0);
        post(&worker, &Request::Run { stages });
    };
    let (trips, set_trips) = signal(String::from("10000"));
    let generate = move |_| match trips.get().trim().parse::<usize>() {
        Ok(count) if count > 0 => {
            set_error.set(None);
            set_status.set(format!("Generating {count} trips…"));
            post(&worker, &Request::Generate { trips: count });
        }
        _ => set_error.set(Some(format!("{:?} is not a number of trips", trips.get()))),
    };
    let cancel = move |_| post(&worker, &Request::Cancel);
    let reset = move |_| {
        let confirmed = web_sys::window()
            .and_then(|window| {
                window
                    .confirm_with_message("Delete every table, file and checkpoint?")
                    .ok()
            })
            .unwrap_or(false);
        if confirmed {
            set_summary.set(None);
            post(&worker, &Request::Reset);
        }
    };

    view! {
        <section class="panel" aria-labelledby="landing-heading">
            <h2 id="landing-heading">"Landing"</h2>
            <div class="buttons">
                {(1..=4)
                    .map(|batch| {
                        view! {
                            <button on:click=move |_| load(batch) disabled=move || !ready.get()>
                                {format!("Load sample batch {batch}")}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <label class="dropzone"
                on:dragover=move |event: web_sys::DragEvent| event.prevent_default()
                on:drop=move |event: web_sys::DragEvent| {
                    event.prevent_default();
                    let files = event.data_transfer().and_then(|transfer| transfer.files());
                    if let Err(problem) = send_files(&worker, files, chosen_entity()) {
                        set_error.set(Some(problem));
                    }
                }
            >
                "Drop CSV, NDJSON or Parquet files here, or pick them: "
                <input
                    type="file"
                    multiple
                    accept=".csv,.ndjson,.jsonl,.json,.parquet"
                    aria-label="Files to land"
                    disabled=move || !ready.get()
                    on:change=move |event| {
                        let input: web_sys::HtmlInputElement = event_target(&event);
                        set_error.set(None);
                        if let Err(problem) = send_files(&worker, input.files(), chosen_entity()) {
                            set_error.set(Some(problem));
                        }
                        input.set_value("");
                    }
                />
            </label>
            <div class="buttons">
                <label>
                    "Land as entity "
                    <input
                        type="text"
                        placeholder="from the file name"
                        prop:value=move || entity.get()
                        on:input=move |event| set_entity.set(event_target_value(&event))
                    />
                </label>
                <label>
                    <input
                        type="checkbox"
                        class="toggle"
                        prop:checked=move || watch.get()
                        on:change=move |event| set_watch.set(event_target_checked(&event))
                    />
                    "Watch: run all when files land"
                </label>
            </div>
            <div class="buttons">
                <label>
                    "Trips "
                    <input
                        type="text"
                        inputmode="numeric"
                        prop:value=move || trips.get()
                        on:input=move |event| set_trips.set(event_target_value(&event))
                    />
                </label>
                <button on:click=generate disabled=move || !ready.get()>"Generate trips"</button>
            </div>
        </section>
        <section class="panel" aria-labelledby="waiting-heading">
            <h2 id="waiting-heading">"Waiting in landing"</h2>
            <ul class="waiting" data-testid="waiting">
                {move || {
                    let files = waiting.get();
                    if files.is_empty() {
                        view! { <li>"Nothing new: every landed file has been ingested."</li> }
                            .into_any()
                    } else {
                        files
                            .into_iter()
                            .map(|(path, size)| view! { <li>{format!("{path} ({size} bytes)")}</li> })
                            .collect_view()
                            .into_any()
                    }
                }}
            </ul>
        </section>
        <section class="panel" aria-labelledby="run-heading">
            <h2 id="run-heading">"Run"</h2>
            <div class="buttons">
                {[
                    ("Run all", vec![Stage::Bronze, Stage::Silver, Stage::Gold]),
                    ("Ingest (Bronze)", vec![Stage::Bronze]),
                    ("Silver", vec![Stage::Silver]),
                    ("Gold (build)", vec![Stage::Gold]),
                ]
                    .into_iter()
                    .map(|(label, stages)| {
                        view! {
                            <button
                                on:click=move |_| run(stages.clone())
                                disabled=move || running.get() || !ready.get()
                            >
                                {label}
                            </button>
                        }
                    })
                    .collect_view()}
                <button on:click=cancel disabled=move || !running.get()>"Cancel"</button>
                <button on:click=reset disabled=move || running.get() || !ready.get()>
                    "Reset"
                </button>
            </div>
            <progress max="100" value=move || percent.get().to_string() aria-label="Run progress"></progress>
            <p role="status" data-testid="run-status">{move || status.get()}</p>
            {move || {
                summary
                    .get()
                    .map(|s| {
                        view! {
                            <p data-testid="run-summary">
                                {format!(
                                    "{} files, {} rows ({} malformed); {} rows quarantined; tests: {} passed, {} warned, {} failed",
                                    s.files,
                                    s.rows,
                                    s.malformed,
                                    s.quarantined,
                                    s.tests_passed,
                                    s.tests_warned,
                                    s.failed,
                                )}
                            </p>
                        }
                    })
            }}
            {move || error.get().map(|message| view! { <p role="alert" class="error">{message}</p> })}
        </section>
        <section class="panel" aria-labelledby="board-heading">
            <h2 id="board-heading">"Medallion board"</h2>
            <div class="board">
                {["bronze", "silver", "gold"]
                    .into_iter()
                    .map(|layer| {
                        view! {
                            <div class="layer">
                                <h3>{layer}</h3>
                                <ul>
                                    {move || {
                                        cards
                                            .get()
                                            .into_iter()
                                            .filter(|card| card.table.starts_with(&format!("{layer}/")))
                                            .map(|card| {
                                                let highlighted = changed.get().contains(&card.table);
                                                view! { <Card card highlighted /> }
                                            })
                                            .collect_view()
                                    }}
                                </ul>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        </section>
    }
}

#[component]
fn Card(card: TableCard, highlighted: bool) -> impl IntoView {
    let name = card
        .table
        .split_once('/')
        .map_or(card.table.clone(), |(_, name)| name.to_owned());
    let rows = card.rows.map_or("?".to_owned(), |rows| rows.to_string());
    view! {
        <li
            class=if highlighted { "card changed" } else { "card" }
            data-testid=format!("card-{}", card.table)
            title=if highlighted { "changed by the last run" } else { "" }
        >
            <span class="card-name">{name}</span>
            <span class="card-rows">{format!("{rows} rows")}</span>
            <span class="card-version">{format!("v{} {}", card.version, card.operation)}</span>
            <span class="card-change">
                {format!("+{} ~{} −{}", card.inserted, card.updated, card.deleted)}
            </span>
        </li>
    }
}
