//! The proposal editor of a new Silver pipeline: core's proposal for a Bronze table
//! without one, each column's type with the sample values that decided it and those
//! that do not fit, the key and `sequence_by`, the generated steps with their switches
//! and the YAML. Every edit asks the worker for the draft's preview (its YAML, steps
//! and error); core decides everything, this lays it out and sends the edits.

use leptos::prelude::*;
use medallion_core::lakehouse::PipelinePreview;
use medallion_core::silver::{ColumnEvidence, ColumnType, PipelineDraft, PipelineProposal};

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;

/// What the editor shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct DraftState {
    connection: Connection,
    /// Core's proposal: the evidence per column, the reasons.
    proposal: RwSignal<Option<PipelineProposal>>,
    /// The draft as the user edited it.
    draft: RwSignal<Option<PipelineDraft>>,
    /// The draft's YAML and steps, or why it is not a pipeline.
    preview: RwSignal<Option<PipelinePreview>>,
}

impl DraftState {
    /// Nothing proposed yet.
    pub fn new(connection: Connection) -> Self {
        Self {
            connection,
            proposal: RwSignal::new(None),
            draft: RwSignal::new(None),
            preview: RwSignal::new(None),
        }
    }

    /// The editor opens on `entity`: its proposal is asked for unless it is shown.
    pub fn open(self, entity: &str) {
        let shown = self
            .proposal
            .with_untracked(|proposal| proposal.as_ref().is_some_and(|p| p.entity == entity));
        if !shown {
            self.proposal.set(None);
            self.draft.set(None);
            self.preview.set(None);
            self.connection.post(&Request::ProposePipeline {
                entity: entity.to_owned(),
            });
        }
    }

    /// The proposal arrived: its draft is the one edited, previewed at once.
    pub fn proposed(self, proposal: PipelineProposal) {
        let draft = proposal.draft.clone();
        self.proposal.set(Some(proposal));
        self.preview.set(None);
        self.draft.set(Some(draft.clone()));
        self.connection.post(&Request::PreviewPipeline { draft });
    }

    /// A draft's preview arrived: shown if it is the edited entity's.
    pub fn previewed(self, entity: &str, preview: PipelinePreview) {
        let current = self
            .draft
            .with_untracked(|draft| draft.as_ref().is_some_and(|d| d.entity == entity));
        if current {
            self.preview.set(Some(preview));
        }
    }

    /// The draft of `entity` is saved: the next visit proposes afresh.
    pub fn saved(self, entity: &str) {
        if self
            .proposal
            .with_untracked(|proposal| proposal.as_ref().is_some_and(|p| p.entity == entity))
        {
            self.proposal.set(None);
            self.draft.set(None);
            self.preview.set(None);
        }
    }

    /// Edits the draft and asks for its preview.
    fn edit(self, change: impl FnOnce(&mut PipelineDraft)) {
        let mut edited = None;
        self.draft.update(|draft| {
            if let Some(draft) = draft {
                change(draft);
                edited = Some(draft.clone());
            }
        });
        if let Some(draft) = edited {
            self.connection.post(&Request::PreviewPipeline { draft });
        }
    }
}

/// The types a column can be given: the proposed one first, then the others that make
/// sense for it; no two with the same label.
fn type_options(proposed: &ColumnType) -> Vec<ColumnType> {
    let decimal = match proposed {
        ColumnType::Decimal { .. } => proposed.clone(),
        _ => ColumnType::Decimal {
            precision: 18,
            scale: 2,
            decimal_comma: false,
        },
    };
    let date = match proposed {
        ColumnType::Date { .. } => proposed.clone(),
        _ => ColumnType::Date {
            format: "%Y-%m-%d".to_owned(),
        },
    };
    let timestamp = |format: &str| ColumnType::Timestamp {
        format: format.to_owned(),
        timezone: "UTC".to_owned(),
    };
    let mut options = vec![
        proposed.clone(),
        ColumnType::Text,
        ColumnType::Integer,
        decimal,
        ColumnType::Boolean,
        date,
        timestamp("iso8601"),
    ];
    // Whole numbers may be times since the epoch.
    if *proposed == ColumnType::Integer {
        options.push(timestamp("epoch_seconds"));
        options.push(timestamp("epoch_millis"));
    }
    options.push(ColumnType::Json);
    let mut unique: Vec<ColumnType> = Vec::new();
    for option in options {
        if !unique
            .iter()
            .any(|seen| *seen == option || seen.label() == option.label())
        {
            unique.push(option);
        }
    }
    unique
}

/// Values as one line: `a, b, c`.
fn values(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("{value:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One column's row: its type select and trim switch, and the evidence.
fn column_row(state: DraftState, name: String, evidence: Option<ColumnEvidence>) -> impl IntoView {
    let options = type_options(
        &evidence
            .as_ref()
            .map(|evidence| evidence.proposed.clone())
            .or_else(|| {
                state.draft.with_untracked(|draft| {
                    draft.as_ref().and_then(|draft| {
                        draft
                            .columns
                            .iter()
                            .find(|column| column.name == name)
                            .map(|column| column.column_type.clone())
                    })
                })
            })
            .unwrap_or(ColumnType::Text),
    );
    let current = {
        let name = name.clone();
        Memo::new(move |_| {
            state.draft.with(|draft| {
                draft.as_ref().and_then(|draft| {
                    draft
                        .columns
                        .iter()
                        .find(|column| column.name == name)
                        .map(|column| (column.column_type.clone(), column.trim))
                })
            })
        })
    };
    let choose = {
        let (name, options) = (name.clone(), options.clone());
        move |index: usize| {
            let Some(chosen) = options.get(index).cloned() else {
                return;
            };
            state.edit(|draft| {
                if let Some(column) = draft.columns.iter_mut().find(|column| column.name == name) {
                    column.column_type = chosen;
                }
            });
        }
    };
    let trim = {
        let name = name.clone();
        move |on: bool| {
            state.edit(|draft| {
                if let Some(column) = draft.columns.iter_mut().find(|column| column.name == name) {
                    column.trim = on;
                }
            });
        }
    };
    let option_views = options
        .iter()
        .enumerate()
        .map(|(index, option)| {
            let option = option.clone();
            let label = option.label();
            let selected =
                move || current.with(|current| current.as_ref().is_some_and(|(t, _)| *t == option));
            view! { <option value=index.to_string() prop:selected=selected>{label}</option> }
        })
        .collect_view();
    let misfit_class = if evidence.as_ref().is_some_and(|e| e.misfit_count > 0) {
        "values misfits some"
    } else {
        "values misfits"
    };
    let (examples, misfits, nulls, reason) = match &evidence {
        Some(evidence) => (
            values(&evidence.examples),
            if evidence.misfit_count == 0 {
                "none".to_owned()
            } else {
                format!("{}: {}", evidence.misfit_count, values(&evidence.misfits))
            },
            evidence.nulls.to_string(),
            evidence.reason.clone(),
        ),
        None => (String::new(), String::new(), String::new(), String::new()),
    };
    view! {
        <tr>
            <th scope="row"><code>{name.clone()}</code></th>
            <td>
                <select
                    aria-label=format!("Type of {name}")
                    on:change=move |event| {
                        if let Ok(index) = event_target_value(&event).parse() {
                            choose(index);
                        }
                    }
                >
                    {option_views}
                </select>
            </td>
            <td>
                <input
                    type="checkbox"
                    role="switch"
                    class="toggle"
                    aria-label=format!("Trim {name}")
                    prop:checked=move || current.with(|current| current.as_ref().is_some_and(|(_, trim)| *trim))
                    on:change=move |event| trim(event_target_checked(&event))
                />
            </td>
            <td class="values">{examples}</td>
            <td class=misfit_class>{misfits}</td>
            <td class="number">{nulls}</td>
            <td class="reason">{reason}</td>
        </tr>
    }
}

/// The columns table of a proposal.
fn columns_table(state: DraftState, proposal: &PipelineProposal) -> impl IntoView {
    let entity = proposal.entity.clone();
    let rows = proposal
        .draft
        .columns
        .iter()
        .map(|column| {
            let evidence = proposal
                .columns
                .iter()
                .find(|evidence| evidence.name == column.name)
                .cloned();
            column_row(state, column.name.clone(), evidence)
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="plain draft-columns" aria-label=format!("Columns of {entity}")>
                <thead>
                    <tr>
                        <th scope="col">"Column"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Trim"</th>
                        <th scope="col">"Examples"</th>
                        <th scope="col">"Not fitting"</th>
                        <th scope="col" class="number">"Empty"</th>
                        <th scope="col">"Why"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The key, `sequence_by` and null markers.
fn options_row(state: DraftState, proposal: &PipelineProposal) -> impl IntoView {
    let names: Vec<String> = proposal
        .draft
        .columns
        .iter()
        .map(|column| column.name.clone())
        .collect();
    let key = Memo::new(move |_| {
        state
            .draft
            .with(|draft| draft.as_ref().and_then(|draft| draft.key.clone()))
    });
    let key_options = names
        .iter()
        .map(|name| {
            let (name, value) = (name.clone(), name.clone());
            let selected = move || key.with(|key| key.as_deref() == Some(name.as_str()));
            view! { <option value=value.clone() prop:selected=selected>{value.clone()}</option> }
        })
        .collect_view();
    // Only a timestamp column can order a key's versions.
    let timestamps = Memo::new(move |_| {
        state.draft.with(|draft| {
            draft.as_ref().map_or(Vec::new(), |draft| {
                let mut names: Vec<String> = draft
                    .columns
                    .iter()
                    .filter(|column| matches!(column.column_type, ColumnType::Timestamp { .. }))
                    .map(|column| column.name.clone())
                    .collect();
                if let Some(chosen) = &draft.sequence_by {
                    if !names.contains(chosen) {
                        names.push(chosen.clone());
                    }
                }
                names
            })
        })
    });
    let sequence = Memo::new(move |_| {
        state
            .draft
            .with(|draft| draft.as_ref().and_then(|draft| draft.sequence_by.clone()))
    });
    let markers = move || {
        state.draft.with(|draft| {
            draft
                .as_ref()
                .map_or(String::new(), |draft| draft.null_markers.join(", "))
        })
    };
    view! {
        <div class="draft-options">
            <label for="draft-key">"Business key"</label>
            <select
                id="draft-key"
                on:change=move |event| {
                    let value = event_target_value(&event);
                    state.edit(|draft| draft.key = (!value.is_empty()).then_some(value));
                }
            >
                <option value="" prop:selected=move || key.with(Option::is_none)>
                    "none (append every row)"
                </option>
                {key_options}
            </select>
            <label for="draft-sequence">"Sequence by"</label>
            <select
                id="draft-sequence"
                on:change=move |event| {
                    let value = event_target_value(&event);
                    state.edit(|draft| draft.sequence_by = (!value.is_empty()).then_some(value));
                }
            >
                <option value="" prop:selected=move || sequence.with(Option::is_none)>"none"</option>
                {move || {
                    timestamps
                        .get()
                        .into_iter()
                        .map(|name| {
                            let chosen = sequence.with_untracked(|s| s.as_deref() == Some(name.as_str()));
                            view! { <option value=name.clone() selected=chosen>{name.clone()}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <label for="draft-null-markers">"Null markers"</label>
            <input
                id="draft-null-markers"
                type="text"
                placeholder="NULL, N/A"
                prop:value=markers
                on:change=move |event| {
                    let text = event_target_value(&event);
                    let markers: Vec<String> = text
                        .split(',')
                        .map(str::trim)
                        .filter(|marker| !marker.is_empty())
                        .map(str::to_owned)
                        .collect();
                    state.edit(|draft| draft.null_markers = markers);
                }
            />
        </div>
    }
}

/// The steps the draft generates, each with its switch.
fn steps_list(state: DraftState) -> impl IntoView {
    let steps = move || {
        state
            .preview
            .with(|preview| preview.as_ref().map_or(Vec::new(), |p| p.steps.clone()))
    };
    view! {
        <ol class="draft-steps" aria-label="Proposed steps">
            <For
                each=steps
                key=|step| (step.position, step.name.clone(), step.transform.clone(), step.config.clone())
                children=move |step| {
                    let name = step.name.clone();
                    let on = {
                        let name = name.clone();
                        Memo::new(move |_| {
                            state.draft.with(|draft| {
                                draft.as_ref().is_some_and(|draft| !draft.disabled_steps.contains(&name))
                            })
                        })
                    };
                    let switch = name.clone();
                    view! {
                        <li class=move || if on.get() { "step" } else { "step off" }>
                            <input
                                type="checkbox"
                                role="switch"
                                class="toggle"
                                aria-label=format!("Run step {name}")
                                prop:checked=on
                                on:change=move |event| {
                                    let enabled = event_target_checked(&event);
                                    let step = switch.clone();
                                    state.edit(|draft| {
                                        draft.disabled_steps.retain(|name| *name != step);
                                        if !enabled {
                                            draft.disabled_steps.push(step);
                                        }
                                    });
                                }
                            />
                            <span class="step-name">{name.clone()}</span>
                            {step.description.clone().map(|text| view! { <span class="step-description">{text}</span> })}
                            <details class="step-config">
                                <summary>{step.transform.clone()}</summary>
                                <pre>{step.config.clone()}</pre>
                            </details>
                        </li>
                    }
                }
            />
        </ol>
    }
}

/// The whole editor of `entity`'s new pipeline.
#[component]
pub fn NewPipeline(
    state: DraftState,
    entity: String,
    idle: Signal<bool>,
    save: impl Fn(PipelineDraft) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let heading = format!("New pipeline of {entity}");
    let body = move || {
        let Some(proposal) = state.proposal.get() else {
            return view! { <p class="loading">"Reading a sample of the Bronze table…"</p> }
                .into_any();
        };
        let mut reasons = vec![proposal.key_reason.clone()];
        reasons.extend(proposal.sequence_reason.clone());
        reasons.extend(proposal.notes.iter().cloned());
        view! {
            <p data-testid="draft-sample">
                {format!(
                    "Read {} of {} rows of {}. Check each column's type against its values; \
                     values that do not fit will go to quarantine.",
                    proposal.rows_read,
                    proposal.rows_total,
                    proposal.table,
                )}
            </p>
            <ul class="draft-notes">
                {reasons.into_iter().map(|text| view! { <li>{text}</li> }).collect_view()}
            </ul>
            {columns_table(state, &proposal)}
            {options_row(state, &proposal)}
        }
        .into_any()
    };
    let error = move || {
        state
            .preview
            .with(|preview| preview.as_ref().and_then(|p| p.error.clone()))
    };
    let yaml = move || {
        state
            .preview
            .with(|preview| preview.as_ref().map_or(String::new(), |p| p.yaml.clone()))
    };
    let savable = move || {
        idle.get()
            && state.draft.with(Option::is_some)
            && state
                .preview
                .with(|preview| preview.as_ref().is_some_and(|p| p.error.is_none()))
    };
    view! {
        <section class="panel new-pipeline" aria-labelledby="new-pipeline-heading">
            <WhatIsThis panel="New pipeline" section="the-new-pipeline-editor" />
            <h2 id="new-pipeline-heading">{heading}</h2>
            {body}
            {move || error().map(|message| view! { <p role="alert" class="error">{message}</p> })}
            <div class="draft-result">
                <div>
                    <h3>"Steps"</h3>
                    {steps_list(state)}
                </div>
                <section class="draft-yaml" aria-label="Pipeline YAML">
                    <h3>"YAML"</h3>
                    <pre><code>{yaml}</code></pre>
                </section>
            </div>
            <div class="buttons">
                <button
                    class="primary"
                    disabled=move || !savable()
                    on:click=move |_| {
                        if let Some(draft) = state.draft.get_untracked() {
                            save(draft);
                        }
                    }
                >
                    "Save pipeline"
                </button>
            </div>
        </section>
    }
}
