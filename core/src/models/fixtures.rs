//! A small dbt project for tests: every materialization, strategy and
//! `on_schema_change` mode, an ephemeral chain, macros, vars, sources with tests,
//! generic and singular tests. Its sources are two tiny Silver tables the tests write.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::delta::{DeltaTable, WriteOptions};
use crate::storage::Storage;

/// The fixture project's files: path from the project root, text.
pub(crate) const FILES: [(&str, &str); 19] = [
    (
        "dbt_project.yml",
        include_str!("fixtures/project/dbt_project.yml"),
    ),
    (
        "macros/cents.sql",
        include_str!("fixtures/project/macros/cents.sql"),
    ),
    (
        "macros/generate_surrogate_key.sql",
        include_str!("fixtures/project/macros/generate_surrogate_key.sql"),
    ),
    (
        "models/intermediate/int_customer_orders.sql",
        include_str!("fixtures/project/models/intermediate/int_customer_orders.sql"),
    ),
    (
        "models/marts/customer_totals.sql",
        include_str!("fixtures/project/models/marts/customer_totals.sql"),
    ),
    (
        "models/marts/incremental/orders_append.sql",
        include_str!("fixtures/project/models/marts/incremental/orders_append.sql"),
    ),
    (
        "models/marts/incremental/orders_delete_insert.sql",
        include_str!("fixtures/project/models/marts/incremental/orders_delete_insert.sql"),
    ),
    (
        "models/marts/incremental/orders_merge.sql",
        include_str!("fixtures/project/models/marts/incremental/orders_merge.sql"),
    ),
    (
        "models/marts/incremental/orders_predicates.sql",
        include_str!("fixtures/project/models/marts/incremental/orders_predicates.sql"),
    ),
    (
        "models/marts/incremental/orders_upsert.sql",
        include_str!("fixtures/project/models/marts/incremental/orders_upsert.sql"),
    ),
    (
        "models/marts/incremental/osc_append_new_columns.sql",
        include_str!("fixtures/project/models/marts/incremental/osc_append_new_columns.sql"),
    ),
    (
        "models/marts/incremental/osc_fail.sql",
        include_str!("fixtures/project/models/marts/incremental/osc_fail.sql"),
    ),
    (
        "models/marts/incremental/osc_ignore.sql",
        include_str!("fixtures/project/models/marts/incremental/osc_ignore.sql"),
    ),
    (
        "models/marts/incremental/osc_sync_all_columns.sql",
        include_str!("fixtures/project/models/marts/incremental/osc_sync_all_columns.sql"),
    ),
    (
        "models/marts/schema.yml",
        include_str!("fixtures/project/models/marts/schema.yml"),
    ),
    (
        "models/sources.yml",
        include_str!("fixtures/project/models/sources.yml"),
    ),
    (
        "models/staging/stg_customers.sql",
        include_str!("fixtures/project/models/staging/stg_customers.sql"),
    ),
    (
        "models/staging/stg_orders.sql",
        include_str!("fixtures/project/models/staging/stg_orders.sql"),
    ),
    (
        "tests/assert_no_negative_totals.sql",
        include_str!("fixtures/project/tests/assert_no_negative_totals.sql"),
    ),
];

/// The files as owned pairs, with `replace` swapping some texts (or adding files).
pub(crate) fn files_with(replace: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = FILES
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    for (path, text) in replace {
        match files.iter_mut().find(|(name, _)| name == path) {
            Some(file) => file.1 = (*text).to_owned(),
            None => files.push(((*path).to_owned(), (*text).to_owned())),
        }
    }
    files
}

/// An order: id, customer, status, amount, day of January 2026.
pub(crate) type Order = (i64, i64, &'static str, f64, u32);

/// The first state of `silver/orders`.
pub(crate) const ORDERS_V1: [Order; 4] = [
    (1, 1, "placed", 10.0, 1),
    (2, 1, "shipped", 5.5, 2),
    (3, 2, "placed", 1.0, 3),
    (4, 3, "PLACED", 7.25, 4),
];

/// The second: order 2 returned (and its amount corrected), order 5 new.
pub(crate) const ORDERS_V2: [Order; 5] = [
    (1, 1, "placed", 10.0, 1),
    (2, 1, "returned", 6.0, 2),
    (3, 2, "placed", 1.0, 3),
    (4, 3, "PLACED", 7.25, 4),
    (5, 2, "shipped", 3.0, 5),
];

/// Overwrites `silver/orders` with `orders` and `silver/customers` with three customers.
pub(crate) async fn write_sources(storage: &Arc<dyn Storage>, orders: &[Order]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Int64, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "ordered_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let day = |d: u32| 1_767_225_600_000_000i64 + i64::from(d - 1) * 86_400_000_000 + 3_600_000_000;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(
                orders.iter().map(|o| o.0).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                orders.iter().map(|o| o.1).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                orders.iter().map(|o| o.2).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                orders.iter().map(|o| o.3).collect::<Vec<_>>(),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    orders.iter().map(|o| day(o.4)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .expect("orders");
    overwrite(storage, "silver/orders", batch).await;
    let customers = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["ada", "bob", "cy"])),
        ],
    )
    .expect("customers");
    overwrite(storage, "silver/customers", customers).await;
}

async fn overwrite(storage: &Arc<dyn Storage>, path: &str, batch: RecordBatch) {
    let table = DeltaTable::new(storage.clone(), path);
    if !table.exists().await.expect("exists") {
        table
            .create(&batch.schema(), Default::default())
            .await
            .expect("create");
    }
    table
        .overwrite(&[batch], WriteOptions::default())
        .await
        .expect("overwrite");
}

/// The engine's main path, as an async check that runs on any store (natively and in
/// headless Chromium on OPFS): build the fixture, change the sources, build again.
pub(crate) async fn main_path(storage: Arc<dyn Storage>) {
    use std::collections::BTreeMap;

    use super::{Command, ModelRunner, NodeStatus, Project, RunOptions};
    use crate::silver::scenario::table_rows;

    write_sources(&storage, &ORDERS_V1).await;
    let project = Project::parse(&files_with(&[]), &BTreeMap::new()).expect("the fixture parses");
    let runner = ModelRunner::new(storage.clone(), project);
    let first = runner
        .run(Command::Build, &RunOptions::default())
        .await
        .expect("build");
    assert!(first.success(), "{:?}", first.results);
    assert_eq!(first.results.len(), 20);
    let totals = table_rows(&storage, "gold/customer_totals").await;
    let cents: Vec<Option<String>> = totals
        .iter()
        .map(|row| row["total_cents"].clone())
        .collect();
    assert_eq!(
        cents,
        [Some("1550".into()), Some("100".into()), Some("725".into())]
    );

    write_sources(&storage, &ORDERS_V2).await;
    let second = runner
        .run(Command::Build, &RunOptions::default())
        .await
        .expect("build again");
    let warned = second
        .result("accepted_values_stg_orders_status__placed__shipped")
        .expect("the status test ran");
    assert_eq!(warned.status, NodeStatus::Warn);
    assert_eq!(
        second.count(NodeStatus::Error) + second.count(NodeStatus::Fail),
        0
    );
    let merged = table_rows(&storage, "gold/orders_merge").await;
    let order_2 = merged
        .iter()
        .find(|row| row["order_id"].as_deref() == Some("2"))
        .expect("order 2");
    assert_eq!(order_2["status"].as_deref(), Some("returned"));
    assert_eq!(order_2["amount"].as_deref(), Some("5.5"));
    assert_eq!(table_rows(&storage, "gold/orders_append").await.len(), 5);
    assert!(storage.get("target/manifest.json").await.is_ok());
    assert!(storage.get("target/run_results.json").await.is_ok());
}

/// The second sample project, examples/shop: path from its root, text.
pub(crate) const SHOP: [(&str, &str); 12] = [
    (
        "analyses/top_customers.sql",
        include_str!("../../../examples/shop/analyses/top_customers.sql"),
    ),
    (
        "dbt_project.yml",
        include_str!("../../../examples/shop/dbt_project.yml"),
    ),
    (
        "models/docs.md",
        include_str!("../../../examples/shop/models/docs.md"),
    ),
    (
        "models/marts/_marts.yml",
        include_str!("../../../examples/shop/models/marts/_marts.yml"),
    ),
    (
        "models/marts/customer_revenue.sql",
        include_str!("../../../examples/shop/models/marts/customer_revenue.sql"),
    ),
    (
        "models/marts/order_lines.sql",
        include_str!("../../../examples/shop/models/marts/order_lines.sql"),
    ),
    (
        "models/staging/stg_orders.sql",
        include_str!("../../../examples/shop/models/staging/stg_orders.sql"),
    ),
    (
        "seeds/_seeds.yml",
        include_str!("../../../examples/shop/seeds/_seeds.yml"),
    ),
    (
        "seeds/customers.csv",
        include_str!("../../../examples/shop/seeds/customers.csv"),
    ),
    (
        "seeds/orders.csv",
        include_str!("../../../examples/shop/seeds/orders.csv"),
    ),
    (
        "seeds/products.csv",
        include_str!("../../../examples/shop/seeds/products.csv"),
    ),
    (
        "tests/order_lines_audit_matches.sql",
        include_str!("../../../examples/shop/tests/order_lines_audit_matches.sql"),
    ),
];

/// The shop project end to end on any store: its files written under `project/` and
/// read back as the browser reads a project, then built (seeds, a docs block, a
/// post-hook the singular test reads, tests on seeds) and compiled (its analysis).
pub(crate) async fn shop_path(storage: Arc<dyn Storage>) {
    use std::collections::BTreeMap;

    use bytes::Bytes;

    use super::{read_project_files, Command, ModelRunner, Project, RunOptions};
    use crate::silver::scenario::table_rows;

    for (path, text) in SHOP {
        storage
            .put(
                &format!("project/{path}"),
                Bytes::from_static(text.as_bytes()),
            )
            .await
            .expect("write the project");
    }
    let files = read_project_files(storage.as_ref(), "project/")
        .await
        .expect("read the project");
    assert_eq!(files.len(), SHOP.len());
    let project = Project::parse(&files, &BTreeMap::new()).expect("the shop parses");
    let runner = ModelRunner::new(storage.clone(), project);
    let run = runner
        .run(Command::Build, &RunOptions::default())
        .await
        .expect("build");
    assert_every_node_passed(&run);
    assert_eq!(run.results.len(), 18);
    let revenue: Vec<(Option<String>, Option<String>)> =
        table_rows(&storage, "gold/customer_revenue")
            .await
            .iter()
            .map(|row| (row["name"].clone(), row["revenue"].clone()))
            .collect();
    let expected = [
        ("Ada Lovelace", "63.90"),
        ("Bob Stone", "12.00"),
        ("Chloé Martin", "48.90"),
        ("Dev Patel", "28.20"),
        ("Eun-ji Park", "0.00"),
    ];
    assert_eq!(
        revenue,
        expected.map(|(name, amount)| (Some(name.to_owned()), Some(amount.to_owned())))
    );
    let products = table_rows(&storage, "gold/products").await;
    assert_eq!(products[0]["sku"].as_deref(), Some("007"));
    assert_eq!(products[0]["price"].as_deref(), Some("24.90"));
    let compiled = runner
        .run(Command::Compile, &RunOptions::default())
        .await
        .expect("compile");
    assert!(compiled.success());
    assert!(storage
        .get("target/compiled/shop/analyses/top_customers.sql")
        .await
        .is_ok());
}

/// Fails naming the first node of `run` that neither succeeded nor passed.
pub(crate) fn assert_every_node_passed(run: &super::RunResults) {
    for result in &run.results {
        assert!(
            matches!(
                result.status,
                super::NodeStatus::Success | super::NodeStatus::Pass
            ),
            "{}: {:?} {}",
            result.name,
            result.status,
            result.message
        );
    }
}
