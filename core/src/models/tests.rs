//! The model engine on the fixture project, natively: every materialization, strategy
//! and `on_schema_change` mode, ephemeral chains, macros, vars, selection, tests,
//! artifacts and errors, asserted row by row.

mod features;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fixtures::{files_with, write_sources, ORDERS_V1, ORDERS_V2};
use super::*;
use crate::silver::scenario::{table_rows, Row};
use crate::storage::{MemoryStorage, Storage};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn runner(storage: &Arc<dyn Storage>, vars: serde_json::Value) -> ModelRunner {
    let vars: BTreeMap<String, serde_json::Value> = serde_json::from_value(vars).expect("vars");
    let project = Project::parse(&files_with(&[]), &vars).expect("the fixture parses");
    ModelRunner::new(storage.clone(), project)
}

fn options(select: &[&str], exclude: &[&str]) -> RunOptions {
    RunOptions {
        select: select.iter().map(|s| (*s).to_owned()).collect(),
        exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
        full_refresh: false,
    }
}

/// The rows of `gold/<name>` as sorted tuples of the listed columns' text.
async fn rows(storage: &Arc<dyn Storage>, name: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = table_rows(storage, &format!("gold/{name}"))
        .await
        .iter()
        .map(|row: &Row| {
            columns
                .iter()
                .map(|c| {
                    row.get(*c)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| "null".to_owned())
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|v| (*v).to_owned()).collect())
        .collect()
}

fn status_of(results: &RunResults, name: &str) -> NodeStatus {
    results
        .result(name)
        .unwrap_or_else(|| {
            panic!(
                "{name} ran: {:?}",
                results.results.iter().map(|r| &r.name).collect::<Vec<_>>()
            )
        })
        .status
}

#[test]
fn build_materializes_every_model_and_tests_them() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let runner = runner(&storage, serde_json::json!({}));
        let run = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        super::fixtures::assert_every_node_passed(&run);
        assert!(run.success());
        // Ephemerals do not run; views and tables do, tests after their model.
        assert!(run.result("stg_customers").is_none());
        assert!(run.result("int_customer_orders").is_none());
        assert_eq!(run.result("stg_orders").unwrap().message, "CREATE VIEW");
        let names: Vec<&str> = run.results.iter().map(|r| r.name.as_str()).collect();
        let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert!(position("stg_orders") < position("customer_totals"));
        assert!(position("customer_totals") < position("unique_customer_totals_customer_id"));
        assert!(
            position("customer_totals")
                < position(
                    "relationships_stg_orders_customer_id__customer_id__ref_customer_totals_"
                )
        );
        assert!(position("source_not_null_raw_orders_order_id") < position("stg_orders"));

        // The ephemeral chain, the macros and the cross-database macro, row by row.
        assert_eq!(
            rows(
                &storage,
                "customer_totals",
                &["customer_id", "name", "orders", "total_cents", "first_day"]
            )
            .await,
            strings(&[
                &["1", "ADA", "2", "1550", "2026-01-01T00:00:00Z"],
                &["2", "BOB", "1", "100", "2026-01-03T00:00:00Z"],
                &["3", "CY", "1", "725", "2026-01-04T00:00:00Z"],
            ])
        );
        let keys = rows(&storage, "customer_totals", &["customer_sk"]).await;
        assert!(
            keys.iter().all(|k| k[0].len() == 32),
            "md5 hex surrogate keys: {keys:?}"
        );
        let compiled = &run.result("customer_totals").unwrap().compiled_code;
        assert!(
            compiled.starts_with("with __dbt__cte__stg_customers as ("),
            "{compiled}"
        );
        assert!(compiled.contains("__dbt__cte__int_customer_orders as ("));
        assert!(compiled.contains("cast(round(amount * 100) as bigint)"));
        // The view is a view: no Delta table, and it answers in the session.
        let view = crate::delta::DeltaTable::new(storage.clone(), "gold/stg_orders");
        assert!(!view.exists().await.unwrap());
        let shown = runner.show("stg_orders", 2).await.expect("show");
        assert_eq!(shown.iter().map(|b| b.num_rows()).sum::<usize>(), 2);

        // The incremental models' first run builds them whole.
        assert_eq!(
            rows(&storage, "orders_append", &["order_id"]).await.len(),
            4
        );
        assert_eq!(
            rows(&storage, "orders_merge", &["order_id", "status", "amount"]).await,
            strings(&[
                &["1", "placed", "10.0"],
                &["2", "shipped", "5.5"],
                &["3", "placed", "1.0"],
                &["4", "placed", "7.25"],
            ])
        );

        // Artifacts.
        let manifest: serde_json::Value =
            serde_json::from_slice(&storage.get("target/manifest.json").await.expect("manifest"))
                .unwrap();
        let node = &manifest["nodes"]["model.fixture.customer_totals"];
        assert_eq!(node["config"]["materialized"], "table");
        assert_eq!(node["config"]["tags"], serde_json::json!(["marts"]));
        assert_eq!(node["description"], "Orders and spend per customer.");
        assert_eq!(
            node["columns"]["customer_id"]["description"],
            "The customer."
        );
        assert_eq!(
            node["depends_on"]["nodes"],
            serde_json::json!(["model.fixture.int_customer_orders"])
        );
        assert!(manifest["child_map"]["source.fixture.raw.orders"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("model.fixture.stg_orders")));
        assert_eq!(
            manifest["metadata"]["dbt_schema_version"],
            "https://schemas.getdbt.com/dbt/manifest/v12.json"
        );
        let results: serde_json::Value = serde_json::from_slice(
            &storage
                .get("target/run_results.json")
                .await
                .expect("run results"),
        )
        .unwrap();
        let totals = results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["unique_id"] == "model.fixture.customer_totals")
            .unwrap();
        assert_eq!(totals["status"], "success");
        assert_eq!(totals["adapter_response"]["rows_affected"], 3);
        let compiled = storage
            .get("target/compiled/fixture/models/marts/customer_totals.sql")
            .await
            .expect("compiled SQL");
        assert!(std::str::from_utf8(&compiled)
            .unwrap()
            .contains("__dbt__cte__stg_customers"));
    });
}

#[test]
fn incremental_strategies_apply_changes_and_equal_a_full_refresh() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let select = options(&["tag:incremental", "customer_totals"], &["osc_*"]);
        let run = runner(&storage, serde_json::json!({}))
            .run(Command::Run, &select)
            .await
            .unwrap();
        assert!(run.success(), "{:?}", run.results);
        write_sources(&storage, &ORDERS_V2).await;
        let run = runner(&storage, serde_json::json!({}))
            .run(Command::Run, &select)
            .await
            .unwrap();
        assert!(run.success(), "{:?}", run.results);

        // append: only the new order; order 2 keeps its first amount.
        assert_eq!(
            rows(&storage, "orders_append", &["order_id", "amount"]).await,
            strings(&[
                &["1", "10.0"],
                &["2", "5.5"],
                &["3", "1.0"],
                &["4", "7.25"],
                &["5", "3.0"]
            ])
        );
        assert_eq!(
            run.result("orders_append").unwrap().message,
            "APPEND (1 new, 0 updated)"
        );
        // merge with merge_update_columns: the status changes, the amount does not.
        assert_eq!(
            rows(&storage, "orders_merge", &["order_id", "status", "amount"]).await,
            strings(&[
                &["1", "placed", "10.0"],
                &["2", "returned", "5.5"],
                &["3", "placed", "1.0"],
                &["4", "placed", "7.25"],
                &["5", "shipped", "3.0"],
            ])
        );
        // delete+insert on customer_id: customers 2 and 3 replaced, customer 1 kept.
        assert_eq!(
            rows(
                &storage,
                "orders_delete_insert",
                &["customer_id", "order_id", "amount"]
            )
            .await,
            strings(&[
                &["1", "1", "10.0"],
                &["1", "2", "5.5"],
                &["2", "3", "1.0"],
                &["2", "5", "3.0"],
                &["3", "4", "7.25"],
            ])
        );
        // incremental_predicates: target rows 1 and 2 are out of the merge's reach, so
        // their new versions are inserted beside them.
        assert_eq!(
            rows(&storage, "orders_predicates", &["order_id", "status"]).await,
            strings(&[
                &["1", "placed"],
                &["1", "placed"],
                &["2", "returned"],
                &["2", "shipped"],
                &["3", "placed"],
                &["4", "placed"],
                &["5", "shipped"],
            ])
        );

        // A full refresh on the same final input gives the same rows.
        let incremental = rows(
            &storage,
            "orders_upsert",
            &["order_id", "customer_id", "status", "amount", "ordered_at"],
        )
        .await;
        assert_eq!(incremental.len(), 5);
        let totals = rows(&storage, "customer_totals", &["customer_id", "total_cents"]).await;
        let rebuilt = RunOptions {
            full_refresh: true,
            ..select.clone()
        };
        let run = runner(&storage, serde_json::json!({}))
            .run(Command::Run, &rebuilt)
            .await
            .unwrap();
        assert!(run.success());
        assert_eq!(
            run.result("orders_upsert").unwrap().message,
            "CREATE TABLE (5 rows)"
        );
        assert_eq!(
            rows(
                &storage,
                "orders_upsert",
                &["order_id", "customer_id", "status", "amount", "ordered_at"]
            )
            .await,
            incremental
        );
        assert_eq!(
            rows(&storage, "customer_totals", &["customer_id", "total_cents"]).await,
            totals
        );
        assert_eq!(
            rows(&storage, "orders_append", &["order_id", "amount"]).await[1],
            ["2", "6.0"],
            "the full refresh reads order 2's corrected amount"
        );
    });
}

#[test]
fn on_schema_change_modes() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let select = options(&["osc_*"], &[]);
        let run = runner(&storage, serde_json::json!({}))
            .run(Command::Run, &select)
            .await
            .unwrap();
        assert!(run.success(), "{:?}", run.results);
        write_sources(&storage, &ORDERS_V2).await;
        let added = runner(&storage, serde_json::json!({"add_status": true}));
        let run = added
            .run(
                Command::Run,
                &options(&["osc_ignore", "osc_fail", "osc_append_new_columns"], &[]),
            )
            .await
            .unwrap();
        // ignore: the new column is left out.
        assert_eq!(status_of(&run, "osc_ignore"), NodeStatus::Success);
        let ignored = table_rows(&storage, "gold/osc_ignore").await;
        assert_eq!(ignored.len(), 5);
        assert!(ignored.iter().all(|row| !row.contains_key("status")));
        // fail: the model fails, naming the columns.
        assert_eq!(status_of(&run, "osc_fail"), NodeStatus::Error);
        let message = &run.result("osc_fail").unwrap().message;
        assert!(
            message.contains("out of sync: added [\"status\"], removed []"),
            "{message}"
        );
        assert_eq!(
            table_rows(&storage, "gold/osc_fail").await.len(),
            4,
            "nothing written"
        );
        // append_new_columns: the column joins, null on the old rows.
        assert_eq!(
            rows(
                &storage,
                "osc_append_new_columns",
                &["order_id", "amount", "status"]
            )
            .await,
            strings(&[
                &["1", "10.0", "null"],
                &["2", "5.5", "null"],
                &["3", "1.0", "null"],
                &["4", "7.25", "null"],
                &["5", "3.0", "shipped"],
            ])
        );
        // sync_all_columns: the new column joins and the dropped one goes.
        let synced = runner(
            &storage,
            serde_json::json!({"add_status": true, "drop_amount": true}),
        );
        let run = synced
            .run(Command::Run, &options(&["osc_sync_all_columns"], &[]))
            .await
            .unwrap();
        assert!(run.success(), "{:?}", run.results);
        let table = crate::delta::DeltaTable::new(storage.clone(), "gold/osc_sync_all_columns");
        let snapshot = table.snapshot().await.unwrap();
        let names: Vec<&str> = snapshot
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["order_id", "status"]);
        assert_eq!(
            rows(&storage, "osc_sync_all_columns", &["order_id", "status"]).await,
            strings(&[
                &["1", "null"],
                &["2", "null"],
                &["3", "null"],
                &["4", "null"],
                &["5", "shipped"]
            ])
        );
    });
}

#[test]
fn tests_warn_fail_store_failures_and_skip_downstream() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V2).await;
        let files = files_with(&[
            // A singular test that fails, and a model whose SQL is broken.
            (
                "tests/assert_few_orders.sql",
                "select * from {{ ref('stg_orders') }} where order_id > 3",
            ),
            (
                "models/marts/broken.sql",
                "select nope from {{ ref('stg_orders') }}",
            ),
            (
                "models/marts/after_broken.sql",
                "select * from {{ ref('broken') }}",
            ),
        ]);
        let project = Project::parse(&files, &BTreeMap::new()).unwrap();
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .unwrap();
        assert!(!run.success());
        // The warn test reports its rows and stores them.
        let accepted = run
            .result("accepted_values_stg_orders_status__placed__shipped")
            .unwrap();
        assert_eq!(accepted.status, NodeStatus::Warn);
        assert_eq!(accepted.failures, Some(1));
        assert_eq!(accepted.failing_rows, ["value_field=returned, n_records=1"]);
        assert_eq!(
            crate::silver::scenario::table_rows(
                &storage,
                "gold/dbt_test__audit/accepted_values_stg_orders_status__placed__shipped"
            )
            .await
            .len(),
            1
        );
        let singular = run.result("assert_few_orders").unwrap();
        assert_eq!(singular.status, NodeStatus::Fail);
        assert_eq!(singular.failures, Some(2));
        assert_eq!(singular.message, "Got 2 rows, configured to fail if != 0");
        // The broken model errors, naming its file; its child is skipped; the rest ran.
        let broken = run.result("broken").unwrap();
        assert_eq!(broken.status, NodeStatus::Error);
        assert!(
            broken.message.starts_with("models/marts/broken.sql: "),
            "{}",
            broken.message
        );
        assert_eq!(status_of(&run, "after_broken"), NodeStatus::Skipped);
        assert_eq!(status_of(&run, "customer_totals"), NodeStatus::Success);
        assert_eq!(run.count(NodeStatus::Error), 1);
        // `test` runs the tests alone.
        let tested = runner
            .run(Command::Test, &options(&["customer_totals"], &[]))
            .await
            .unwrap();
        assert!(tested
            .results
            .iter()
            .all(|r| r.resource_type == ResourceType::Test));
        assert_eq!(
            tested.results.len(),
            6,
            "{:?}",
            tested.results.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
    });
}

#[test]
fn selection_follows_dbt() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let runner = runner(&storage, serde_json::json!({}));
    let names = |select: &[&str], exclude: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = runner
            .list(&options(select, exclude), &[ResourceType::Model])
            .unwrap()
            .iter()
            .map(|node| node.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&["customer_totals"], &[]), ["customer_totals"]);
    assert_eq!(
        names(&["+customer_totals"], &[]),
        [
            "customer_totals",
            "int_customer_orders",
            "stg_customers",
            "stg_orders"
        ]
    );
    assert_eq!(
        names(&["1+customer_totals"], &[]),
        ["customer_totals", "int_customer_orders"]
    );
    assert_eq!(
        names(&["stg_customers+"], &[]),
        ["customer_totals", "int_customer_orders", "stg_customers"]
    );
    assert_eq!(
        names(&["stg_customers+1"], &[]),
        ["int_customer_orders", "stg_customers"]
    );
    assert_eq!(
        names(&["tag:staging"], &[]),
        ["stg_customers", "stg_orders"]
    );
    assert_eq!(
        names(&["path:models/intermediate"], &[]),
        ["int_customer_orders"]
    );
    assert_eq!(names(&["path:marts/incremental"], &[]).len(), 9);
    assert_eq!(
        names(&["tag:orders stg_customers"], &[]),
        ["stg_customers", "stg_orders"]
    );
    assert_eq!(names(&["tag:marts,tag:incremental"], &[]).len(), 9);
    assert_eq!(
        names(&["tag:marts"], &["tag:incremental"]),
        ["customer_totals"]
    );
    assert_eq!(
        names(&["config.materialized:ephemeral"], &[]),
        ["int_customer_orders", "stg_customers"]
    );
    assert_eq!(names(&["stg_*"], &["stg_orders"]), ["stg_customers"]);
    // Tests come with the models they test.
    let tests = runner
        .list(&options(&["customer_totals"], &[]), &[ResourceType::Test])
        .unwrap();
    assert!(tests
        .iter()
        .any(|t| t.name == "unique_customer_totals_customer_id"));
    assert!(tests.iter().any(|t| t.name == "assert_no_negative_totals"));
    let err = runner
        .list(&options(&["colour:red"], &[]), &[ResourceType::Model])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("selector \"colour:red\": unknown method"),
        "{err}"
    );
}

#[test]
fn errors_name_the_file_and_line() {
    let parse = |replace: &[(&str, &str)]| {
        Project::parse(&files_with(replace), &BTreeMap::new())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        parse(&[("models/staging/stg_orders.sql", "select 1\nfrom {{ ref('nowhere') }}")]),
        "models/staging/stg_orders.sql:2: invalid operation: ref('nowhere'): no model is named nowhere"
    );
    let err = parse(&[("models/staging/stg_orders.sql", "select {{ 1 +  }}")]);
    assert!(
        err.starts_with("models/staging/stg_orders.sql:1: syntax error"),
        "{err}"
    );
    let err = parse(&[(
        "models/staging/stg_orders.sql",
        "select * from {{ ref('customer_totals') }}",
    )]);
    assert!(
        err.contains("the models depend on each other in a cycle"),
        "{err}"
    );
    let err = parse(&[("models/marts/schema.yml", "models: [name: x")]);
    assert!(err.starts_with("models/marts/schema.yml: "), "{err}");
    let err = parse(&[(
        "models/marts/customer_totals.sql",
        "{{ config(materialized='cube') }}select 1",
    )]);
    assert_eq!(
        err,
        "models/marts/customer_totals.sql: materialized \"cube\" is not one of view, table, ephemeral, incremental"
    );
    let err = parse(&[(
        "models/staging/stg_orders.sql",
        "select * from {{ source('raw', 'payments') }}",
    )]);
    assert!(
        err.contains("source('raw', 'payments'): no such source table"),
        "{err}"
    );
    let err = parse(&[("dbt_project.yml", "version: 1")]);
    assert!(
        err.starts_with("dbt_project.yml: missing field `name`"),
        "{err}"
    );
    let err = parse(&[(
        "models/marts/schema.yml",
        "version: 2\nmodels:\n  - name: customer_totals\n    columns:\n      - name: a\n        data_tests: [unique_ish]\n",
    )]);
    assert!(err.contains("unknown generic test \"unique_ish\""), "{err}");
}

#[test]
fn a_sql_error_at_run_time_names_the_model_file() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let project = Project::parse(
            &files_with(&[(
                "models/marts/customer_totals.sql",
                "select no_such_column from {{ ref('stg_orders') }}",
            )]),
            &BTreeMap::new(),
        )
        .unwrap();
        let run = ModelRunner::new(storage, project)
            .run(Command::Run, &options(&["+customer_totals"], &[]))
            .await
            .unwrap();
        let failed = run.result("customer_totals").unwrap();
        assert_eq!(failed.status, NodeStatus::Error);
        assert!(
            failed
                .message
                .starts_with("models/marts/customer_totals.sql: "),
            "{}",
            failed.message
        );
        assert!(
            failed.message.contains("no_such_column"),
            "{}",
            failed.message
        );
    });
}

#[test]
fn the_main_path_runs_on_the_filesystem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage: Arc<dyn Storage> =
        Arc::new(crate::storage::LocalFileSystem::new(dir.path()).expect("store"));
    runtime().block_on(super::fixtures::main_path(storage));
}

#[test]
fn cross_database_macros_and_two_argument_refs_run_on_datafusion() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let model = "select order_id,
    {{ dbt.date_trunc('month', 'ordered_at') }} as month,
    {{ dbt.datediff(\"timestamp '2026-01-01 00:00:00'\", 'ordered_at', 'day') }} as days,
    {{ dbt.datediff(\"timestamp '2025-11-15 00:00:00'\", 'ordered_at', 'month') }} as months,
    {{ dbt.dateadd('day', 2, 'ordered_at') }} as due,
    {{ dbt.safe_cast(\"'x'\", dbt.type_numeric()) }} as not_a_number,
    {{ dbt.safe_cast('amount', dbt.type_string()) }} as amount_text,
    {{ dbt.concat(['status', \"'-'\", 'cast(order_id as varchar)']) }} as label,
    {{ dbt.hash('order_id') }} as hashed,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) is not null as has_now
from {{ ref('fixture', 'stg_orders') }}
where order_id = 3";
        let project = Project::parse(
            &files_with(&[("models/marts/macros_used.sql", model)]),
            &BTreeMap::new(),
        )
        .unwrap();
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Run, &options(&["+macros_used"], &[]))
            .await
            .unwrap();
        assert!(run.success(), "{:?}", run.results);
        assert_eq!(
            rows(
                &storage,
                "macros_used",
                &[
                    "month",
                    "days",
                    "months",
                    "due",
                    "not_a_number",
                    "amount_text",
                    "label",
                    "has_now"
                ]
            )
            .await,
            strings(&[&[
                "2026-01-01T00:00:00Z",
                "2",
                "2",
                "2026-01-05T01:00:00Z",
                "null",
                "1.0",
                "placed-3",
                "true"
            ]])
        );
        let hashed = rows(&storage, "macros_used", &["hashed"]).await;
        assert_eq!(
            hashed,
            strings(&[&["eccbc87e4b5ce2fe28308fd9f2a7baf3"]]),
            "md5('3')"
        );
    });
}

#[test]
fn merge_exclude_columns_keeps_the_excluded_values() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let files = files_with(&[(
            "models/marts/incremental/orders_merge.sql",
            "{{ config(unique_key=['order_id'], merge_exclude_columns=['status']) }}\nselect order_id, status, amount from {{ ref('stg_orders') }}",
        )]);
        let select = options(&["orders_merge"], &[]);
        for orders in [&ORDERS_V1[..], &ORDERS_V2[..]] {
            write_sources(&storage, orders).await;
            let project = Project::parse(&files, &BTreeMap::new()).unwrap();
            let run = ModelRunner::new(storage.clone(), project)
                .run(Command::Run, &select)
                .await
                .unwrap();
            assert!(run.success(), "{:?}", run.results);
        }
        assert_eq!(
            rows(&storage, "orders_merge", &["order_id", "status", "amount"]).await,
            strings(&[
                &["1", "placed", "10.0"],
                &["2", "shipped", "6.0"],
                &["3", "placed", "1.0"],
                &["4", "placed", "7.25"],
                &["5", "shipped", "3.0"],
            ])
        );
    });
}

/// A person: id, part of a composite key (maybe null), name, city, updated_at (day).
type Person = (i64, Option<&'static str>, &'static str, &'static str, u32);

/// Overwrites `silver/people`; `extra` adds a column `nickname` (schema drift).
async fn write_people(storage: &Arc<dyn Storage>, people: &[Person], extra: bool) {
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use arrow::record_batch::RecordBatch;
    let mut fields = vec![
        Field::new("id", DataType::Int64, true),
        Field::new("part", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ];
    let day = |d: u32| 1_767_225_600_000_000i64 + i64::from(d) * 86_400_000_000;
    let mut columns: Vec<arrow::array::ArrayRef> = vec![
        Arc::new(Int64Array::from(
            people.iter().map(|p| p.0).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            people.iter().map(|p| p.1).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            people.iter().map(|p| p.2).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            people.iter().map(|p| p.3).collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(people.iter().map(|p| day(p.4)).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
    ];
    if extra {
        fields.push(Field::new("nickname", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(
            people
                .iter()
                .map(|p| format!("{}y", p.2))
                .collect::<Vec<_>>(),
        )));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let table = crate::delta::DeltaTable::new(storage.clone(), "silver/people");
    if !table.exists().await.unwrap() {
        table
            .create(&batch.schema(), Default::default())
            .await
            .unwrap();
    }
    table
        .overwrite(
            &[batch],
            crate::delta::WriteOptions {
                overwrite_schema: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

const SNAPSHOT_PROJECT: [(&str, &str); 4] = [
    ("dbt_project.yml", "name: snaps\n"),
    (
        "models/sources.yml",
        "version: 2\nsources:\n  - name: silver\n    tables:\n      - name: people\n",
    ),
    (
        "snapshots/people.yml",
        "snapshots:
  - name: people_new_record
    relation: source('silver', 'people')
    config: {unique_key: id, strategy: timestamp, updated_at: updated_at, hard_deletes: new_record}
    columns:
      - name: dbt_scd_id
        data_tests: [unique]
  - name: people_invalidate
    relation: source('silver', 'people')
    config: {unique_key: id, strategy: timestamp, updated_at: updated_at, hard_deletes: invalidate}
  - name: people_check_all
    relation: source('silver', 'people')
    config:
      unique_key: [id, part]
      strategy: check
      check_cols: all
      snapshot_meta_column_names: {dbt_valid_from: valid_from, dbt_valid_to: valid_to}
      dbt_valid_to_current: \"date '9999-12-31'\"
",
    ),
    (
        "snapshots/people_check_city.sql",
        "{% snapshot people_check_city %}
{{ config(unique_key='id', strategy='check', check_cols=['city']) }}
select id, name, city from {{ source('silver', 'people') }}
{% endsnapshot %}
",
    ),
];

/// Versions of `snapshot` as (id, name/city, valid_to set?, deleted flag), sorted.
async fn versions(
    storage: &Arc<dyn Storage>,
    snapshot: &str,
    value: &str,
    valid_to: &str,
) -> Vec<(String, String, bool, String)> {
    let mut out: Vec<_> = table_rows(storage, &format!("gold/{snapshot}"))
        .await
        .iter()
        .map(|row| {
            let text = |c: &str| {
                row.get(c)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| "null".to_owned())
            };
            let closed = row
                .get(valid_to)
                .cloned()
                .flatten()
                .is_some_and(|v| !v.starts_with("9999"));
            (text("id"), text(value), closed, text("dbt_is_deleted"))
        })
        .collect();
    out.sort();
    out
}

async fn current_count(
    storage: &Arc<dyn Storage>,
    snapshot: &str,
    valid_to: &str,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in table_rows(storage, &format!("gold/{snapshot}")).await {
        let open = row
            .get(valid_to)
            .cloned()
            .flatten()
            .is_none_or(|v| v.starts_with("9999"));
        if open {
            let key = format!(
                "{}|{}",
                row["id"].clone().unwrap_or_default(),
                row.get("part").cloned().flatten().unwrap_or_default()
            );
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

async fn snapshot_run(storage: &Arc<dyn Storage>) -> RunResults {
    let files: Vec<(String, String)> = SNAPSHOT_PROJECT
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    let project = Project::parse(&files, &BTreeMap::new()).expect("the snapshot project parses");
    let run = ModelRunner::new(storage.clone(), project)
        .run(Command::Build, &RunOptions::default())
        .await
        .expect("build");
    assert!(run.success(), "{:?}", run.results);
    run
}

#[test]
fn snapshots_keep_every_version_with_dbt_meta_columns() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Oslo", 1),
                (2, Some("b"), "bo", "Rome", 1),
            ],
            false,
        )
        .await;
        let first = snapshot_run(&storage).await;
        assert_eq!(
            first.result("people_new_record").unwrap().message,
            "SNAPSHOT (2 new, 0 closed)"
        );
        let table = crate::delta::DeltaTable::new(storage.clone(), "gold/people_new_record");
        let schema = table.snapshot().await.unwrap().schema().clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "part",
                "name",
                "city",
                "updated_at",
                "dbt_scd_id",
                "dbt_updated_at",
                "dbt_valid_from",
                "dbt_valid_to",
                "dbt_is_deleted"
            ]
        );
        let rows = table_rows(&storage, "gold/people_new_record").await;
        assert!(rows
            .iter()
            .all(|r| r["dbt_valid_to"].is_none() && r["dbt_valid_from"] == r["updated_at"]));
        // Custom meta names and dbt_valid_to_current.
        let custom = table_rows(&storage, "gold/people_check_all").await;
        assert!(
            custom
                .iter()
                .all(|r| r["valid_to"].as_deref() == Some("9999-12-31T00:00:00Z")),
            "{custom:?}"
        );

        // Ann moves; the legacy block snapshot checks only the city.
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Paris", 2),
                (2, Some("b"), "bob", "Rome", 2),
            ],
            false,
        )
        .await;
        snapshot_run(&storage).await;
        assert_eq!(
            versions(&storage, "people_new_record", "city", "dbt_valid_to").await,
            [
                ("1".into(), "Oslo".into(), true, "False".into()),
                ("1".into(), "Paris".into(), false, "False".into()),
                ("2".into(), "Rome".into(), false, "False".into()),
                ("2".into(), "Rome".into(), true, "False".into()),
            ]
        );
        assert_eq!(
            versions(&storage, "people_check_city", "city", "dbt_valid_to").await,
            [
                ("1".into(), "Oslo".into(), true, "null".into()),
                ("1".into(), "Paris".into(), false, "null".into()),
                ("2".into(), "Rome".into(), false, "null".into()),
            ],
            "bo's new name is not a checked column"
        );
        let closed = table_rows(&storage, "gold/people_new_record").await;
        let oslo = closed
            .iter()
            .find(|r| r["city"].as_deref() == Some("Oslo"))
            .unwrap();
        let paris = closed
            .iter()
            .find(|r| r["city"].as_deref() == Some("Paris"))
            .unwrap();
        assert_eq!(
            oslo["dbt_valid_to"], paris["dbt_valid_from"],
            "a version closes when the next begins"
        );
    });
}

#[test]
fn snapshot_rerun_without_change_writes_nothing() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 1)], false).await;
        snapshot_run(&storage).await;
        let table = crate::delta::DeltaTable::new(storage.clone(), "gold/people_new_record");
        let version = table.snapshot().await.unwrap().version();
        let again = snapshot_run(&storage).await;
        assert_eq!(
            again.result("people_new_record").unwrap().message,
            "SNAPSHOT (0 new, 0 closed)"
        );
        assert_eq!(
            table.snapshot().await.unwrap().version(),
            version,
            "no commit"
        );
        assert_eq!(table_rows(&storage, "gold/people_check_all").await.len(), 1);
    });
}

#[test]
fn snapshot_new_source_column_does_not_break_it_dbt_core_1797_3146_11735() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 1)], false).await;
        snapshot_run(&storage).await;
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 2)], true).await;
        snapshot_run(&storage).await;
        let rows = table_rows(&storage, "gold/people_new_record").await;
        let mut nicknames: Vec<Option<String>> =
            rows.iter().map(|r| r["nickname"].clone()).collect();
        nicknames.sort();
        assert_eq!(
            nicknames,
            [None, Some("anny".into())],
            "null on the old version"
        );
        assert_eq!(
            table_rows(&storage, "gold/people_check_all").await.len(),
            2,
            "check all sees the new column"
        );
    });
}

#[test]
fn snapshot_never_has_two_current_rows_for_a_key_dbt_core_4661_11950() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 1)], false).await;
        snapshot_run(&storage).await;
        // One batch brings two changes for Ann, out of order, and one repeated.
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Rome", 3),
                (1, Some("a"), "ann", "Paris", 2),
                (1, Some("a"), "ann", "Rome", 3),
            ],
            false,
        )
        .await;
        snapshot_run(&storage).await;
        assert_eq!(
            versions(&storage, "people_new_record", "city", "dbt_valid_to").await,
            [
                ("1".into(), "Oslo".into(), true, "False".into()),
                ("1".into(), "Paris".into(), true, "False".into()),
                ("1".into(), "Rome".into(), false, "False".into()),
            ]
        );
        for snapshot in [
            "people_new_record",
            "people_invalidate",
            "people_check_city",
        ] {
            assert_eq!(
                current_count(&storage, snapshot, "dbt_valid_to")
                    .await
                    .values()
                    .max(),
                Some(&1),
                "{snapshot}"
            );
        }
        assert_eq!(
            current_count(&storage, "people_check_all", "valid_to")
                .await
                .values()
                .max(),
            Some(&1)
        );
    });
}

#[test]
fn snapshot_null_in_a_composite_key_keeps_one_current_row_dbt_core_2034_11235() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let people = [
            (1, None, "ann", "Oslo", 1),
            (1, Some("b"), "ann", "Oslo", 1),
        ];
        write_people(&storage, &people, false).await;
        snapshot_run(&storage).await;
        snapshot_run(&storage).await;
        snapshot_run(&storage).await;
        let counts = current_count(&storage, "people_check_all", "valid_to").await;
        assert_eq!(
            counts,
            BTreeMap::from([("1|".to_owned(), 1), ("1|b".to_owned(), 1)])
        );
        assert_eq!(
            table_rows(&storage, "gold/people_check_all").await.len(),
            2,
            "no new versions"
        );
    });
}

#[test]
fn snapshot_deleted_and_restored_record_reopens_dbt_adapters_1240() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Oslo", 1),
                (2, Some("b"), "bo", "Rome", 1),
            ],
            false,
        )
        .await;
        snapshot_run(&storage).await;
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 1)], false).await;
        snapshot_run(&storage).await;
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Oslo", 1),
                (2, Some("b"), "bo", "Milan", 5),
            ],
            false,
        )
        .await;
        snapshot_run(&storage).await;
        assert_eq!(
            versions(&storage, "people_invalidate", "city", "dbt_valid_to").await,
            [
                ("1".into(), "Oslo".into(), false, "null".into()),
                ("2".into(), "Milan".into(), false, "null".into()),
                ("2".into(), "Rome".into(), true, "null".into()),
            ]
        );
        assert_eq!(
            versions(&storage, "people_new_record", "city", "dbt_valid_to").await,
            [
                ("1".into(), "Oslo".into(), false, "False".into()),
                ("2".into(), "Milan".into(), false, "False".into()),
                ("2".into(), "Rome".into(), true, "False".into()),
                ("2".into(), "Rome".into(), true, "True".into()),
            ]
        );
    });
}

#[test]
fn snapshot_new_record_adds_one_deletion_row_not_one_per_run_dbt_adapters_654() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_people(
            &storage,
            &[
                (1, Some("a"), "ann", "Oslo", 1),
                (2, Some("b"), "bo", "Rome", 1),
            ],
            false,
        )
        .await;
        snapshot_run(&storage).await;
        write_people(&storage, &[(1, Some("a"), "ann", "Oslo", 1)], false).await;
        for _ in 0..3 {
            snapshot_run(&storage).await;
        }
        let rows = table_rows(&storage, "gold/people_new_record").await;
        let deletions = rows
            .iter()
            .filter(|r| r["dbt_is_deleted"].as_deref() == Some("True"))
            .count();
        assert_eq!((rows.len(), deletions), (3, 1));
        assert_eq!(
            current_count(&storage, "people_new_record", "dbt_valid_to").await["2|b"],
            1,
            "the deletion row is current"
        );
    });
}

#[test]
fn snapshot_configs_are_checked_when_read() {
    let parse = |config: &str| {
        let yaml = format!(
            "snapshots:\n  - name: s\n    relation: source('silver', 'people')\n    config: {config}\n"
        );
        let files = vec![
            ("dbt_project.yml".to_owned(), "name: snaps\n".to_owned()),
            (
                SNAPSHOT_PROJECT[1].0.to_owned(),
                SNAPSHOT_PROJECT[1].1.to_owned(),
            ),
            ("snapshots/s.yml".to_owned(), yaml),
        ];
        Project::parse(&files, &BTreeMap::new())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        parse("{strategy: timestamp, updated_at: u}"),
        "snapshots/s.yml: snapshot s: a snapshot needs a unique_key"
    );
    assert!(parse("{unique_key: id, strategy: timestamp}")
        .ends_with("the timestamp strategy needs updated_at"));
    assert!(parse("{unique_key: id, strategy: check}")
        .ends_with("the check strategy needs check_cols: a list or 'all'"));
    assert!(
        parse("{unique_key: id, strategy: check, check_cols: all, hard_deletes: forget}")
            .contains("hard_deletes \"forget\"")
    );
}

#[test]
fn the_sample_batches_reach_the_documented_gold_on_the_filesystem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage: Arc<dyn Storage> = Arc::new(
        crate::storage::LocalFileSystem::new(dir.path().join("warehouse")).expect("store"),
    );
    let checkpoint: Arc<dyn crate::checkpoint::CheckpointStore> = Arc::new(
        crate::checkpoint::FileCheckpointStore::open(dir.path().join("_checkpoint"))
            .expect("checkpoint"),
    );
    runtime().block_on(super::scenario::sample_batches(storage, checkpoint));
}

#[test]
fn build_writes_a_catalog_dbt_docs_can_read() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        write_sources(&storage, &ORDERS_V1).await;
        let runner = runner(&storage, serde_json::json!({}));
        runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        let catalog: serde_json::Value =
            serde_json::from_slice(&storage.get("target/catalog.json").await.expect("catalog"))
                .expect("catalog.json parses");
        assert_eq!(
            catalog["metadata"]["dbt_schema_version"],
            "https://schemas.getdbt.com/dbt/catalog/v1.json"
        );
        assert!(catalog["metadata"]["invocation_id"].is_string());
        assert!(catalog["errors"].is_null());
        let nodes = catalog["nodes"].as_object().expect("nodes");
        // Every relation that exists, and nothing that does not: no ephemeral, no test.
        assert!(nodes.contains_key("model.fixture.customer_totals"));
        assert!(nodes.contains_key("model.fixture.stg_orders"));
        assert!(!nodes.contains_key("model.fixture.int_customer_orders"));
        assert!(nodes.keys().all(|id| id.starts_with("model.")));
        for (id, node) in nodes.iter().chain(catalog["sources"].as_object().unwrap()) {
            assert_eq!(node["unique_id"], *id);
            let metadata = &node["metadata"];
            assert!(
                metadata["schema"].is_string() && metadata["name"].is_string(),
                "{id}"
            );
            let columns = node["columns"].as_object().expect("columns");
            assert!(!columns.is_empty(), "{id}");
            let mut indexes: Vec<u64> = columns
                .values()
                .map(|column| {
                    assert!(
                        column["type"].as_str().is_some_and(|t| !t.is_empty()),
                        "{id}"
                    );
                    column["index"].as_u64().expect("index")
                })
                .collect();
            indexes.sort();
            assert_eq!(
                indexes,
                (1..=columns.len() as u64).collect::<Vec<_>>(),
                "{id}"
            );
            assert!(node["stats"]["has_stats"]["value"].is_boolean(), "{id}");
            let name = metadata["name"].as_str().unwrap();
            let schema = metadata["schema"].as_str().unwrap();
            let table = crate::delta::DeltaTable::new(storage.clone(), format!("{schema}/{name}"));
            if metadata["type"] == "BASE TABLE" {
                let snapshot = table.snapshot().await.expect("a table");
                assert_eq!(
                    node["stats"]["row_count"]["value"].as_i64(),
                    snapshot.num_records(),
                    "{id}"
                );
                // Columns in the table's order, 1-based, typed as the table is.
                for (position, field) in snapshot.schema().fields().iter().enumerate() {
                    let column = &columns[field.name()];
                    assert_eq!(column["index"], position + 1, "{id}");
                    assert_eq!(column["type"], field.data_type().to_string(), "{id}");
                }
                assert_eq!(node["stats"]["row_count"]["include"], true, "{id}");
            } else {
                assert_eq!(metadata["type"], "VIEW", "{id}");
                assert!(node["stats"].get("row_count").is_none(), "{id}");
            }
        }
        let totals = &nodes["model.fixture.customer_totals"];
        assert_eq!(totals["metadata"]["type"], "BASE TABLE");
        assert_eq!(totals["metadata"]["schema"], "gold");
        assert_eq!(
            totals["metadata"]["comment"],
            "Orders and spend per customer."
        );
        let view = &nodes["model.fixture.stg_orders"];
        assert_eq!(view["metadata"]["type"], "VIEW");
        assert_eq!(view["columns"]["order_id"]["type"], "Int64");
        assert_eq!(view["columns"]["amount"]["index"], 4);
        let orders = &catalog["sources"]["source.fixture.raw.orders"];
        assert_eq!(orders["metadata"]["type"], "BASE TABLE");
        assert_eq!(orders["metadata"]["schema"], "silver");
        assert_eq!(orders["stats"]["row_count"]["value"], 4);
        // `test` does not rewrite it; `compile` neither.
        storage.delete("target/catalog.json").await.expect("delete");
        runner
            .run(Command::Test, &RunOptions::default())
            .await
            .expect("test");
        assert!(storage.get("target/catalog.json").await.is_err());
    });
}
