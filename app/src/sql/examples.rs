//! The Examples panel: questions a learner can ask of the sample data, each a button
//! that puts its SQL in the editor.

use leptos::prelude::*;

use super::SqlState;

/// One example: its title (the button's name) and its SQL.
pub struct Example {
    /// What it asks.
    pub title: &'static str,
    /// The query.
    pub sql: &'static str,
}

/// The examples, on the tables of the sample batches.
pub const EXAMPLES: [Example; 5] = [
    Example {
        title: "Revenue by city per day",
        sql: "-- Revenue per UTC day and pickup city, from the daily revenue mart.
SELECT revenue_date, city, sum(payments) AS payments, sum(revenue) AS revenue
FROM gold.agg_daily_revenue
GROUP BY revenue_date, city
ORDER BY revenue_date, city",
    },
    Example {
        title: "The versions of customer 36",
        sql: "-- SCD2: every version of customer 36, from the snapshot behind dim_customer.
SELECT customer_sk, customer_id, email, phone, city, valid_from, valid_to, is_current, is_deleted
FROM gold.dim_customer
WHERE customer_id = 36
ORDER BY valid_from",
    },
    Example {
        title: "Trips whose customer changed after pickup",
        sql: "-- Each fact points to the customer's version valid at pickup; these versions
-- have been closed since, so the customer looks different today.
SELECT t.trip_id, t.pickup_at, c.customer_id,
       c.city AS city_at_pickup, cur.city AS city_now, c.valid_to AS changed_at
FROM gold.fact_trips t
JOIN gold.dim_customer c ON c.customer_sk = t.customer_sk
JOIN gold.dim_customer cur ON cur.customer_id = c.customer_id AND cur.is_current
WHERE NOT c.is_current
ORDER BY t.pickup_at",
    },
    Example {
        title: "Quarantined rows and why",
        sql: "-- Rows Silver rejected: the step, the reason, and where each came from.
SELECT trip_id, _step, _error, pickup_at, fare_amount, _source_file, _batch_id
FROM silver.trips_quarantine
ORDER BY trip_id",
    },
    Example {
        title: "What batch 2 changed",
        sql: "-- Time travel: the latest fact_trips against version 1 (after batch 1).
SELECT CASE WHEN old.trip_id IS NULL THEN 'added' ELSE 'changed' END AS change,
       cur.trip_id, cur.status, old.status AS status_before,
       cur.tip_amount, old.tip_amount AS tip_before
FROM gold.fact_trips cur
LEFT JOIN gold.fact_trips@v1 old ON old.trip_id = cur.trip_id
WHERE old.trip_id IS NULL OR cur.updated_at <> old.updated_at
ORDER BY change DESC, cur.trip_id",
    },
];

/// A button per example.
#[component]
pub fn Examples(state: SqlState) -> impl IntoView {
    view! {
        <section class="panel side" aria-labelledby="sql-examples-heading">
            <h2 id="sql-examples-heading">"Examples"</h2>
            <ul class="sql-examples">
                {EXAMPLES
                    .iter()
                    .map(|example| {
                        view! {
                            <li>
                                <button class="link" on:click=move |_| state.put(example.sql.to_owned())>
                                    {example.title}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
