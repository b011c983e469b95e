//! Column lineage on the fixture project (CTEs, ephemerals, joins, aggregates, a case,
//! filters) and on the bundled project over sample batch 1, to landing.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::lakehouse::{Flow, Stage};
use crate::models::fixtures::{files_with, write_sources, ORDERS_V1};
use crate::models::{bundled_project, Project};
use crate::silver::bundled_pipelines;
use crate::storage::{MemoryStorage, Storage};

/// A model over a CTE with a filter, a `case` and a join to an ephemeral.
const ORDER_STATES: &str = "with big as (
    select order_id, customer_id, status from {{ ref('stg_orders') }} where amount > 2
)
select
    big.order_id,
    case when big.status = 'placed' then 'open' else 'done' end as state,
    c.name
from big
join {{ ref('stg_customers') }} c on c.customer_id = big.customer_id
";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// The fixture project with `order_states`, over its two Silver tables.
async fn fixture() -> ModelRunner {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    write_sources(&storage, &ORDERS_V1).await;
    let files = files_with(&[("models/marts/order_states.sql", ORDER_STATES)]);
    let project = Project::parse(&files, &BTreeMap::new()).expect("the fixture parses");
    ModelRunner::new(storage, project)
}

/// The upstream columns one hop up, as `(flow, node.column, via)`.
fn hop(lineage: &ColumnLineage) -> Vec<(ColumnFlow, String, Vec<String>)> {
    lineage
        .upstream
        .iter()
        .map(|up| (up.flow, up.lineage.column.to_string(), up.via.clone()))
        .collect()
}

fn via(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn a_group_key_passes_directly_and_an_aggregate_is_transformed_through_ephemerals() {
    block_on(async {
        let runner = fixture().await;
        let key = column_lineage(&runner, &[], "gold.customer_totals", "customer_id")
            .await
            .expect("lineage");
        let ephemerals = via(&[
            "__dbt__cte__int_customer_orders",
            "__dbt__cte__stg_customers",
        ]);
        let orders = via(&["__dbt__cte__int_customer_orders", "orders"]);
        assert_eq!(
            hop(&key),
            [
                (
                    ColumnFlow::Direct,
                    "source:raw.customers.customer_id".to_owned(),
                    ephemerals.clone()
                ),
                (
                    ColumnFlow::Join,
                    "gold.stg_orders.customer_id".to_owned(),
                    orders.clone()
                ),
                (
                    ColumnFlow::Join,
                    "source:raw.customers.customer_id".to_owned(),
                    ephemerals
                ),
            ],
            "{key}"
        );
        // The source is its Silver table, which no pipeline builds here.
        let source = &key.upstream[0].lineage;
        assert_eq!(
            hop(source),
            [(
                ColumnFlow::Direct,
                "silver.customers.customer_id".to_owned(),
                vec![]
            )]
        );
        assert!(source.upstream[0].lineage.upstream.is_empty());

        let total = column_lineage(&runner, &[], "gold.customer_totals", "total_cents")
            .await
            .expect("lineage");
        let first = &total.upstream[0];
        assert_eq!(
            (
                first.flow,
                first.lineage.column.to_string(),
                first.via.clone()
            ),
            (
                ColumnFlow::Transformed,
                "gold.stg_orders.amount".to_owned(),
                orders
            ),
            "{total}"
        );
        // stg_orders passes the amount as it is, and filters on it.
        assert_eq!(
            hop(&first.lineage),
            [
                (
                    ColumnFlow::Direct,
                    "source:raw.orders.amount".to_owned(),
                    vec![]
                ),
                (
                    ColumnFlow::Filter,
                    "source:raw.orders.amount".to_owned(),
                    vec![]
                ),
            ]
        );
        let name = column_lineage(&runner, &[], "gold.customer_totals", "name")
            .await
            .expect("lineage");
        // The group key passes as it is; upper(name) in the ephemeral stg_customers
        // transforms it, and the ephemerals are inlined: one hop to the source.
        assert_eq!(
            hop(&name)[0],
            (
                ColumnFlow::Transformed,
                "source:raw.customers.name".to_owned(),
                via(&[
                    "__dbt__cte__int_customer_orders",
                    "__dbt__cte__stg_customers"
                ])
            ),
            "{name}"
        );
    });
}

#[test]
fn a_case_is_transformed_and_filters_and_join_keys_shape_every_column() {
    block_on(async {
        let runner = fixture().await;
        let state = column_lineage(&runner, &[], "order_states", "state").await;
        assert!(
            matches!(state, Err(LineageError::UnknownNode(ref node)) if node == "order_states")
        );
        let state = column_lineage(&runner, &[], "gold.order_states", "state")
            .await
            .expect("lineage");
        let text = state.to_string();
        assert_eq!(
            hop(&state),
            [
                (
                    ColumnFlow::Transformed,
                    "gold.stg_orders.status".to_owned(),
                    via(&["big"])
                ),
                (
                    ColumnFlow::Filter,
                    "gold.stg_orders.amount".to_owned(),
                    via(&["big"])
                ),
                (
                    ColumnFlow::Join,
                    "source:raw.customers.customer_id".to_owned(),
                    via(&["__dbt__cte__stg_customers"])
                ),
                (
                    ColumnFlow::Join,
                    "gold.stg_orders.customer_id".to_owned(),
                    via(&["big"])
                ),
            ],
            "{text}"
        );
        assert!(text.starts_with(
            "gold.order_states.state\n  <- transformed gold.stg_orders.status (via big)\n    <- transformed source:raw.orders.status\n"
        ), "{text}");
        // A row-shaping path is followed for its values, not its own filters.
        let filter = &state.upstream[1].lineage;
        assert_eq!(
            hop(filter),
            [(
                ColumnFlow::Direct,
                "source:raw.orders.amount".to_owned(),
                vec![]
            )]
        );

        let err = column_lineage(&runner, &[], "gold.order_states", "nope")
            .await
            .expect_err("no such column");
        match &err {
            LineageError::UnknownColumn { node, known, .. } => {
                assert_eq!(node, "gold.order_states");
                assert_eq!(known, &["order_id", "state", "name"]);
            }
            other => panic!("{other}"),
        }
        assert_eq!(
            err.to_string(),
            "gold.order_states has no column nope (it has order_id, state, name)"
        );
    });
}

#[test]
fn a_model_over_a_missing_silver_table_says_to_build_it() {
    block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let project = Project::parse(&files_with(&[]), &BTreeMap::new()).expect("parses");
        let runner = ModelRunner::new(storage, project);
        let err = column_lineage(&runner, &[], "gold.customer_totals", "name")
            .await
            .expect_err("nothing is built");
        assert!(
            matches!(&err, LineageError::NotBuilt { table, .. } if table == "silver.orders" || table == "silver.customers"),
            "{err}"
        );
    });
}

#[test]
fn silver_columns_come_from_bronze_through_the_pipeline_steps() {
    block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let project = Project::parse(&bundled_project(), &BTreeMap::new()).expect("parses");
        let runner = ModelRunner::new(storage, project);
        let pipelines = bundled_pipelines();
        let lineage = |node: &'static str, column: &'static str| {
            let runner = &runner;
            let pipelines = &pipelines;
            async move {
                column_lineage(runner, pipelines, node, column)
                    .await
                    .expect("lineage")
            }
        };
        let total = lineage("silver.trips", "total_amount").await;
        assert_eq!(
            hop(&total),
            [
                (
                    ColumnFlow::Transformed,
                    "bronze.trips.fare_amount".to_owned(),
                    vec![]
                ),
                (
                    ColumnFlow::Transformed,
                    "bronze.trips.tip_amount".to_owned(),
                    vec![]
                ),
            ],
            "{total}"
        );
        assert_eq!(
            hop(&total.upstream[0].lineage),
            [(
                ColumnFlow::Direct,
                "landing.trips.fare_amount".to_owned(),
                vec![]
            )]
        );
        let city = lineage("silver.trips", "pickup_city").await;
        assert_eq!(
            hop(&city)[..3],
            [
                (
                    ColumnFlow::Direct,
                    "silver.locations.city".to_owned(),
                    vec![]
                ),
                (
                    ColumnFlow::Join,
                    "silver.locations.location_id".to_owned(),
                    vec![]
                ),
                (
                    ColumnFlow::Join,
                    "bronze.trips.pickup_location_id".to_owned(),
                    vec![]
                ),
            ],
            "{city}"
        );
        // The zone's city is title-cased in its own pipeline.
        assert_eq!(
            hop(&city.upstream[0].lineage),
            [(
                ColumnFlow::Transformed,
                "bronze.locations.city".to_owned(),
                vec![]
            )],
            "{city}"
        );
        let status = lineage("silver.customers", "updated_at").await;
        assert_eq!(status.upstream[0].flow, ColumnFlow::Transformed);
        let kept = lineage("silver.trips", "status").await;
        assert_eq!(kept.upstream[0].flow, ColumnFlow::Transformed);
        let rescued = lineage("bronze.trips", "_rescued_data").await;
        assert!(rescued.upstream.is_empty());
        assert!(matches!(
            column_lineage(&runner, &pipelines, "silver.nope", "x").await,
            Err(LineageError::UnknownNode(_))
        ));
    });
}

#[test]
fn column_refs_read_with_or_without_the_gold_schema() {
    assert_eq!(
        ColumnRef::parse("fact_trips.total_amount"),
        Some(ColumnRef::new("gold.fact_trips", "total_amount"))
    );
    assert_eq!(
        ColumnRef::parse("gold.fact_trips.total_amount"),
        Some(ColumnRef::new("gold.fact_trips", "total_amount"))
    );
    assert_eq!(
        ColumnRef::parse("source:silver.trips.trip_id"),
        Some(ColumnRef::new("source:silver.trips", "trip_id"))
    );
    assert_eq!(ColumnRef::parse("fact_trips"), None);
    assert_eq!(ColumnRef::parse(".x"), None);
    assert_eq!(
        ColumnFlow::then(ColumnFlow::Transformed, ColumnFlow::Join),
        ColumnFlow::Join
    );
    assert_eq!(
        serde_json::to_string(&ColumnFlow::Transformed).unwrap(),
        "\"transformed\""
    );
}

#[test]
fn fact_trips_customer_sk_reaches_the_silver_customer_and_on_to_landing() {
    block_on(async {
        let (storage, lakehouse) = crate::testing::memory_lakehouse();
        crate::sample::land_batch(storage.as_ref(), 1)
            .await
            .expect("land");
        lakehouse
            .run(&[Stage::Bronze, Stage::Silver], &mut |_| Flow::Continue)
            .await
            .expect("bronze and silver");
        let project = Project::parse(&bundled_project(), &BTreeMap::new()).expect("parses");
        let runner = ModelRunner::new(storage, project);
        let pipelines = bundled_pipelines();
        let sk = column_lineage(&runner, &pipelines, "gold.fact_trips", "customer_sk")
            .await
            .expect("lineage");
        let text = sk.to_string();
        assert_eq!(
            hop(&sk)[0],
            (
                ColumnFlow::Direct,
                "gold.dim_customer.customer_sk".to_owned(),
                vec![]
            ),
            "{text}"
        );
        let dim = &sk.upstream[0].lineage;
        assert_eq!(
            hop(dim)[..2],
            [
                (
                    ColumnFlow::Transformed,
                    "gold.customers_snapshot.customer_id".to_owned(),
                    vec![]
                ),
                (
                    ColumnFlow::Transformed,
                    "gold.customers_snapshot.dbt_valid_from".to_owned(),
                    vec![]
                ),
            ],
            "{text}"
        );
        for (node, column) in [
            ("gold.stg_customers", "customer_id"),
            ("gold.stg_customers", "updated_at"),
            ("source:silver.customers", "updated_at"),
            ("silver.customers", "customer_id"),
            ("silver.customers", "updated_at"),
            ("bronze.customers", "updated_at"),
            ("landing.customers", "customer_id"),
            ("landing.customers", "updated_at"),
        ] {
            assert!(sk.reaches(node, column), "{node}.{column} in\n{text}");
        }
        // The customer join's keys shape it; the other dimensions' left joins do not.
        assert!(sk.upstream.iter().any(|up| up.flow == ColumnFlow::Join
            && up.lineage.column == ColumnRef::new("gold.stg_trips", "customer_id")));
        assert!(!sk.reaches("gold.stg_trips", "driver_id"), "{text}");

        let total = column_lineage(&runner, &pipelines, "gold.fact_trips", "total_amount")
            .await
            .expect("lineage");
        assert_eq!(
            hop(&total),
            [(
                ColumnFlow::Direct,
                "gold.stg_trips.total_amount".to_owned(),
                via(&["trips"])
            )],
            "{total}"
        );
        assert!(total.reaches("silver.trips", "total_amount"), "{total}");
        assert!(total.reaches("landing.trips", "fare_amount"), "{total}");
        let json = serde_json::to_string(&total).expect("json");
        let back: ColumnLineage = serde_json::from_str(&json).expect("back");
        assert_eq!(back, total);
    });
}
