//! The Plan tab: the physical plan of an `EXPLAIN` or `EXPLAIN ANALYZE` as nested
//! lists, each operator with its detail and metrics.

use leptos::prelude::*;
use medallion_core::sql::PlanNode;

/// One operator and, nested, its inputs.
fn plan_item(node: PlanNode) -> AnyView {
    let PlanNode {
        operator,
        detail,
        metrics,
        children,
    } = node;
    view! {
        <li class="plan-node">
            <span class="plan-operator">{operator}</span>
            {(!detail.is_empty()).then(|| view! { <code class="plan-detail">{detail}</code> })}
            {(!metrics.is_empty()).then(|| view! {
                <ul class="plan-metrics" aria-label="Metrics">
                    {metrics
                        .into_iter()
                        .map(|(name, value)| {
                            let class = format!("metric metric-{name}");
                            view! {
                                <li class=class>
                                    <span class="metric-name">{name}</span>
                                    " "
                                    <span class="metric-value">{value}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            })}
            {(!children.is_empty()).then(|| view! {
                <ul class="plan-children">{children.into_iter().map(plan_item).collect_view()}</ul>
            })}
        </li>
    }
    .into_any()
}

/// The plan of the last result, or what to run to get one.
#[component]
pub fn Plan(plan: Option<PlanNode>) -> impl IntoView {
    match plan {
        Some(plan) => view! {
            <ul class="plan" aria-label="Physical plan" data-testid="plan">{plan_item(plan)}</ul>
        }
        .into_any(),
        None => view! {
            <p>"Run EXPLAIN or EXPLAIN ANALYZE before a query to see its physical plan here."</p>
        }
        .into_any(),
    }
}
