//! The Gold dashboard: core's figures and charts over the marts, asked for again after
//! every run.

use leptos::prelude::*;
use medallion_core::sql::dashboard::Dashboard as DashboardData;

use crate::chart::Chart;
use crate::help::WhatIsThis;

/// The dashboard's figures and one chart per panel; a failed query shows its error.
#[component]
pub fn Dashboard(dashboard: RwSignal<Option<DashboardData>>) -> impl IntoView {
    view! {
        <section class="panel wide" aria-label="Gold dashboard">
            <WhatIsThis panel="Gold dashboard" section="the-gold-dashboard" />
            <h2>"Gold dashboard"</h2>
            {move || match dashboard.get() {
                None => view! { <p role="status">"Reading the Gold marts…"</p> }.into_any(),
                Some(dashboard) if dashboard.panels.is_empty() => view! {
                    <p>"The dashboard follows the Gold marts: run the pipeline to build them."</p>
                }
                .into_any(),
                Some(dashboard) => view! {
                    <dl class="figures">
                        {dashboard
                            .figures
                            .into_iter()
                            .map(|figure| {
                                let value = match (figure.value, figure.error) {
                                    (Some(value), _) => value,
                                    (None, Some(_)) => "unavailable".to_owned(),
                                    (None, None) => "none".to_owned(),
                                };
                                view! {
                                    <div class="figure">
                                        <dt>{figure.label.clone()}</dt>
                                        <dd>
                                            <output
                                                aria-label=figure.label
                                                data-testid=format!("figure-{}", figure.id)
                                            >
                                                {value}
                                            </output>
                                        </dd>
                                    </div>
                                }
                            })
                            .collect_view()}
                    </dl>
                    <div class="dashboard">
                        {dashboard
                            .panels
                            .into_iter()
                            .map(|panel| {
                                let body = match panel.error {
                                    Some(error) => view! { <p class="panel-error">{error}</p> }
                                        .into_any(),
                                    None => view! {
                                        <Chart spec=panel.chart columns=panel.columns rows=panel.rows />
                                    }
                                    .into_any(),
                                };
                                view! {
                                    <figure
                                        class="dashboard-panel"
                                        data-testid=format!("panel-{}", panel.id)
                                    >
                                        <figcaption>{panel.title}</figcaption>
                                        {body}
                                    </figure>
                                }
                            })
                            .collect_view()}
                    </div>
                }
                .into_any(),
            }}
        </section>
    }
}
