//! The steps of a pipeline, in order: each with its switch, its transform and config,
//! and its rows in, out, rejected and deduplicated in the last run.

use leptos::prelude::*;
use medallion_core::lakehouse::{SilverStepView, SilverView};

use super::SilverState;

/// A count of the last run, or a dash when the step did not run.
fn count(step: &SilverStepView, pick: fn(&medallion_core::silver::StepStats) -> u64) -> String {
    step.last
        .as_ref()
        .map_or("–".to_owned(), |stats| pick(stats).to_string())
}

/// One step's row.
fn step_row(
    state: SilverState,
    entity: String,
    step: SilverStepView,
    idle: Signal<bool>,
) -> impl IntoView {
    let name = step.name.clone();
    let enabled = step.enabled;
    let switched = step.enabled != step.declared_enabled;
    let numbers = [
        count(&step, |stats| stats.rows_in),
        count(&step, |stats| stats.rows_out),
        count(&step, |stats| stats.rejected),
        count(&step, |stats| stats.duplicates),
    ];
    let class = match (enabled, switched) {
        (true, false) => "step",
        (true, true) => "step switched",
        (false, false) => "step off",
        (false, true) => "step off switched",
    };
    let switch_name = name.clone();
    view! {
        <tr class=class>
            <td>
                <input
                    type="checkbox"
                    role="switch"
                    class="toggle"
                    aria-label=format!("Run step {name}")
                    prop:checked=enabled
                    disabled=move || !idle.get()
                    on:change=move |event| {
                        state.switch(entity.clone(), switch_name.clone(), event_target_checked(&event))
                    }
                />
            </td>
            <td class="number">{step.position.to_string()}</td>
            <th scope="row">
                <span class="step-name">{name.clone()}</span>
                {switched.then(|| view! {
                    <span class="switched-note">
                        {if step.declared_enabled { " (off here; on in the file)" } else { " (on here; off in the file)" }}
                    </span>
                })}
                {step.description.clone().map(|text| view! { <span class="step-description">{text}</span> })}
            </th>
            <td>
                <details class="step-config">
                    <summary>{step.transform.clone()}</summary>
                    <pre>{step.config.clone()}</pre>
                </details>
            </td>
            {numbers
                .into_iter()
                .map(|number| view! { <td class="number">{number}</td> })
                .collect_view()}
        </tr>
    }
}

/// The steps table of one entity.
#[component]
pub(super) fn Steps(state: SilverState, view: SilverView, idle: Signal<bool>) -> impl IntoView {
    let entity = view.entity.clone();
    let rows = view
        .steps
        .into_iter()
        .map(|step| step_row(state, entity.clone(), step, idle))
        .collect_view();
    view! {
        <table class="plain silver-steps" aria-label=format!("Steps of {entity}")>
            <thead>
                <tr>
                    <th scope="col">"Run"</th>
                    <th scope="col">"#"</th>
                    <th scope="col">"Step"</th>
                    <th scope="col">"Transform"</th>
                    <th scope="col" class="number">"Rows in"</th>
                    <th scope="col" class="number">"Rows out"</th>
                    <th scope="col" class="number">"Rejected"</th>
                    <th scope="col" class="number">"Duplicates"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
