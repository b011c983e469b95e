//! The inspector: what each stream keeps in the checkpoint store (Bronze's offsets,
//! commits and seen files, Silver's progress), key by key.

use leptos::prelude::*;
use medallion_core::explorer::CheckpointEntry;

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;

/// What the inspector shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct InspectorState {
    /// Every stream with state, and how many keys it holds.
    pub streams: RwSignal<Vec<(String, usize)>>,
    /// The stream shown.
    pub stream: RwSignal<Option<String>>,
    /// Its keys and values.
    pub entries: RwSignal<Vec<CheckpointEntry>>,
}

impl InspectorState {
    /// An inspector showing nothing.
    pub fn new() -> Self {
        Self {
            streams: RwSignal::new(Vec::new()),
            stream: RwSignal::new(None),
            entries: RwSignal::new(Vec::new()),
        }
    }

    /// Asks the worker for the streams again, and for the shown stream's entries.
    pub fn refresh(self, connection: Connection) {
        connection.post(&Request::Checkpoints {
            stream: self.stream.get_untracked(),
        });
    }
}

/// The checkpoint store, stream by stream.
#[component]
pub fn Inspector(state: InspectorState, connection: Connection) -> impl IntoView {
    let open = move |stream: String| {
        connection.post(&Request::Checkpoints {
            stream: Some(stream),
        })
    };
    view! {
        <section class="panel wide" aria-labelledby="inspector-heading">
            <WhatIsThis panel="Checkpoint inspector" section="the-checkpoint-inspector" />
            <h2 id="inspector-heading">"Checkpoint inspector"</h2>
            <p>
                "Each stream's state in IndexedDB: Bronze's offsets (the files a batch plans), "
                "commits (its Delta version) and seen files (size and SHA-256); Silver's progress "
                "(the last Bronze version processed)."
            </p>
            <div class="buttons" role="group" aria-label="Streams">
                {move || {
                    let streams = state.streams.get();
                    if streams.is_empty() {
                        view! { <span>"No stream has run yet."</span> }.into_any()
                    } else {
                        streams
                            .into_iter()
                            .map(|(stream, keys)| {
                                let shown = state.stream.get().as_ref() == Some(&stream);
                                let label = format!("{stream} ({keys} keys)");
                                view! {
                                    <button
                                        data-stream=stream.clone()
                                        aria-pressed=shown.to_string()
                                        on:click=move |_| open(stream.clone())
                                    >
                                        {label}
                                    </button>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                }}
            </div>
            <dl class="entries" data-testid="checkpoint-entries">
                {move || {
                    state
                        .entries
                        .get()
                        .into_iter()
                        .map(|entry| {
                            view! {
                                <dt><code>{entry.key}</code></dt>
                                <dd><pre class="json">{entry.value}</pre></dd>
                            }
                        })
                        .collect_view()
                }}
            </dl>
        </section>
    }
}
