//! An entity's quarantine: how many rows it holds, how many each step sent and why,
//! and the newest rows themselves.

use leptos::prelude::*;
use medallion_core::lakehouse::SilverView;

use crate::help::WhatIsThis;
use crate::route::Route;

/// The quarantine region of one entity.
#[component]
pub(super) fn Quarantine(view: SilverView) -> impl IntoView {
    let entity = view.entity;
    let quarantine = view.quarantine;
    let explore = Route::Explorer {
        table: Some(quarantine.table.clone()),
        version: None,
    }
    .to_hash();
    let plural = if quarantine.rows == 1 { "" } else { "s" };
    let groups = (!quarantine.by_step.is_empty()).then(|| {
        view! {
            <table class="plain quarantine-groups" aria-label="Quarantined by step">
                <thead>
                    <tr>
                        <th scope="col">"Step"</th>
                        <th scope="col" class="number">"Rows"</th>
                        <th scope="col">"Reason (an example)"</th>
                    </tr>
                </thead>
                <tbody>
                    {quarantine
                        .by_step
                        .iter()
                        .map(|group| view! {
                            <tr>
                                <th scope="row">{group.step.clone()}</th>
                                <td class="number">{group.rows.to_string()}</td>
                                <td>{group.example.clone()}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    });
    let shown = quarantine.sample.len();
    view! {
        <section class="panel silver-quarantine" aria-labelledby="silver-quarantine-heading">
            <WhatIsThis panel="Quarantine" section="quarantine" />
            <h2 id="silver-quarantine-heading">{format!("Quarantine of {entity}")}</h2>
            <p>
                <span class="quarantine-count" data-testid="quarantine-count">
                    {format!("{} row{plural}", quarantine.rows)}
                </span>
                {format!(" in {} ", quarantine.table)}
                <a href=explore>"Explore quarantine"</a>
            </p>
            {groups}
            {((shown as u64) < quarantine.rows).then(|| view! {
                <p class="muted">{format!("The newest {shown} rows:")}</p>
            })}
            <div class="quarantine-rows">
                <table class="plain" aria-label="Quarantined rows">
                    <thead>
                        <tr>
                            {quarantine
                                .columns
                                .iter()
                                .map(|column| view! { <th scope="col">{column.clone()}</th> })
                                .collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {quarantine
                            .sample
                            .into_iter()
                            .map(|row| view! {
                                <tr>{row.into_iter().map(|value| view! { <td>{value}</td> }).collect_view()}</tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
