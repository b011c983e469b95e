//! The console over the sample warehouse after batches 1 and 2.

use std::sync::{Arc, OnceLock};

use super::*;
use crate::lakehouse::Lakehouse;
use crate::storage::MemoryStorage;
use crate::warehouse::ExportFormat;

/// The sample warehouse after both batches, and what `gold.dim_customer` was after
/// batch 1: its version and row count.
struct Sample {
    storage: Arc<dyn Storage>,
    lakehouse: Lakehouse,
    dim_customer_v1: (i64, i64),
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        // Built on its own thread so that a test's runtime is never nested.
        std::thread::spawn(|| runtime().block_on(build_sample()))
            .join()
            .expect("the sample builds")
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

async fn build_sample() -> Sample {
    let (storage, lakehouse) = crate::testing::memory_lakehouse();
    let mut dim_customer_v1 = (0, 0);
    for batch in 1..=2 {
        crate::testing::land_and_run_batch(&storage, &lakehouse, batch).await;
        if batch == 1 {
            let table = crate::delta::DeltaTable::new(storage.clone(), "gold/dim_customer");
            let snapshot = table.snapshot().await.expect("dim_customer");
            dim_customer_v1 = (snapshot.version(), snapshot.num_records().expect("count"));
        }
    }
    Sample {
        storage,
        lakehouse,
        dim_customer_v1,
    }
}

async fn console() -> SqlConsole {
    sample().lakehouse.sql_console().await.expect("console")
}

async fn run(console: &SqlConsole, sql: &str) -> Result<QueryOutput, SqlError> {
    console.run(sql, &mut || false).await
}

/// The only value of a one-row, one-column result.
fn single(output: &QueryOutput) -> String {
    let rows = output.rows(0, 2).rows;
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0][0].clone().expect("a value")
}

#[test]
fn time_travel_reads_batch_ones_version_after_batch_two() {
    runtime().block_on(async {
        let console = console().await;
        let (version, rows) = sample().dim_customer_v1;
        assert_eq!(version, 1, "batch 1 wrote version 1");
        // `@` is an identifier character for the generic dialect: no quotes needed.
        let then = run(&console, "SELECT count(*) FROM gold.dim_customer@v1")
            .await
            .expect("time travel");
        assert_eq!(single(&then), rows.to_string());
        let now = run(&console, "select count(*) from gold.dim_customer")
            .await
            .expect("latest");
        assert_ne!(single(&now), rows.to_string());
        let missing = run(&console, "select * from gold.dim_customer@v99")
            .await
            .expect_err("no version 99");
        match &missing {
            SqlError::UnknownVersion {
                table,
                version,
                versions,
            } => {
                assert_eq!((table.as_str(), *version), ("gold.dim_customer", 99));
                assert!(
                    versions.contains(&1) && versions.contains(&2),
                    "{versions:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            missing.to_string().contains("gold.dim_customer"),
            "{missing}"
        );
    });
}

#[test]
fn describe_history_has_one_row_per_version_newest_first() {
    runtime().block_on(async {
        let console = console().await;
        let output = run(&console, "describe history gold.dim_customer;")
            .await
            .expect("history");
        let summary = output.summary();
        assert_eq!(summary.kind, StatementKind::DescribeHistory);
        let names: Vec<&str> = summary.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "version",
                "timestamp",
                "operation",
                "operationParameters",
                "operationMetrics",
                "isBlindAppend"
            ]
        );
        let rows = output.rows(0, 100).rows;
        let versions: Vec<String> = rows.iter().map(|r| r[0].clone().unwrap()).collect();
        let table = crate::delta::DeltaTable::new(sample().storage.clone(), "gold/dim_customer");
        let latest = table.snapshot().await.unwrap().version();
        let expected: Vec<String> = (0..=latest).rev().map(|v| v.to_string()).collect();
        assert_eq!(versions, expected);
        assert_eq!(summary.total_rows, latest as u64 + 1);
        let unknown = run(&console, "DESCRIBE HISTORY gold.nope").await;
        assert!(matches!(unknown, Err(SqlError::UnknownTable { .. })));
    });
}

#[test]
fn show_tables_lists_every_layer_and_the_views() {
    runtime().block_on(async {
        let console = console().await;
        let output = run(&console, "SHOW TABLES").await.expect("show tables");
        assert_eq!(output.summary().kind, StatementKind::ShowTables);
        let rows: Vec<(String, String, String)> = output
            .rows(0, 1000)
            .rows
            .into_iter()
            .map(|row| {
                let text = |i: usize| row[i].clone().unwrap_or_default();
                (text(0), text(1), text(2))
            })
            .collect();
        for (schema, name, kind) in [
            ("bronze", "trips", "delta"),
            ("silver", "trips", "delta"),
            ("silver", "trips_quarantine", "delta"),
            ("gold", "fact_trips", "delta"),
            ("gold", "dim_customer", "delta"),
            ("gold", "stg_trips", "view"),
        ] {
            let row = (schema.to_owned(), name.to_owned(), kind.to_owned());
            assert!(rows.contains(&row), "{row:?} in {rows:?}");
        }
        // Ephemeral models are not relations.
        assert!(!rows
            .iter()
            .any(|(_, name, _)| name == "int_revenue_payments"));
        // The table list has the columns too; a view can be queried.
        let tables = console.tables().await.expect("tables");
        let stg = tables
            .iter()
            .find(|t| t.name == "stg_trips")
            .expect("stg_trips");
        assert_eq!((stg.kind, stg.version), (SqlTableKind::View, None));
        assert!(stg.columns.iter().any(|c| c.name == "trip_id"), "{stg:?}");
        let trips = run(&console, "select count(*) from gold.stg_trips")
            .await
            .expect("the view runs");
        assert!(single(&trips).parse::<u64>().unwrap() > 0);
    });
}

#[test]
fn a_typo_is_a_parse_error_at_its_line_and_column() {
    runtime().block_on(async {
        let console = console().await;
        let err = run(
            &console,
            "select city,\n  count(*)\nfrom gold.fact_trips\ngroup bi city",
        )
        .await
        .expect_err("a typo");
        assert!(matches!(err, SqlError::Parse { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "syntax error: Expected: end of statement, found: group at Line: 4, Column: 1"
        );
        assert_eq!(
            err.position(),
            Some(SqlPosition { line: 4, column: 1 }),
            "{err}"
        );
        let failure = err.failure();
        assert!(!failure.cancelled);
        assert_eq!(failure.position, err.position());
        // The session goes on working.
        let ok = run(&console, "select 1 + 1").await.expect("next query");
        assert_eq!(single(&ok), "2");
    });
}

#[test]
fn an_unknown_column_is_a_plan_error_with_its_position() {
    runtime().block_on(async {
        let console = console().await;
        let err = run(
            &console,
            "select trip_id,\n       no_such_column\nfrom gold.fact_trips",
        )
        .await
        .expect_err("unknown column");
        assert!(matches!(err, SqlError::Plan { .. }), "{err:?}");
        assert!(err.to_string().contains("no_such_column"), "{err}");
        assert_eq!(
            err.position(),
            Some(SqlPosition { line: 2, column: 8 }),
            "{err}"
        );
        let missing = run(&console, "select * from gold.no_such_table")
            .await
            .expect_err("unknown table");
        assert!(missing.to_string().contains("no_such_table"), "{missing}");
    });
}

fn find<'a>(node: &'a PlanNode, operator: &str) -> Option<&'a PlanNode> {
    if node.operator == operator {
        return Some(node);
    }
    node.children.iter().find_map(|child| find(child, operator))
}

fn metric<'a>(node: &'a PlanNode, name: &str) -> &'a str {
    node.metrics
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("{name} in {:?}", node.metrics))
}

#[test]
fn explain_analyze_shows_the_delta_scan_with_its_files_row_groups_and_rows() {
    runtime().block_on(async {
        let console = console().await;
        let count = run(&console, "select count(*) from silver.trips")
            .await
            .expect("count");
        let count = single(&count);
        let output = run(
            &console,
            "EXPLAIN ANALYZE select status, count(*) from silver.trips group by 1",
        )
        .await
        .expect("explain analyze");
        assert_eq!(output.summary().kind, StatementKind::ExplainAnalyze);
        let plan = output.summary().plan.as_ref().expect("a plan");
        assert!(find(plan, "AggregateExec").is_some(), "{plan:#?}");
        let scan = find(plan, "DeltaScanExec").expect("a Delta scan");
        assert!(scan.detail.contains("silver/trips"), "{}", scan.detail);
        assert_eq!(metric(scan, "output_rows"), count);
        let files: u64 = metric(scan, "files_read").parse().unwrap();
        assert!(files > 0);
        assert_eq!(metric(scan, "files_skipped"), "0");
        assert!(metric(scan, "row_groups_read").parse::<u64>().unwrap() >= files);
        assert_eq!(metric(scan, "row_groups_skipped"), "0");
        // The table result has a row per operator.
        let rows = output.rows(0, 100).rows;
        assert!(rows
            .iter()
            .any(|r| r[0].as_deref().unwrap().trim() == "DeltaScanExec"));

        let explain = run(
            &console,
            "explain select * from gold.fact_trips where distance_km > 10",
        )
        .await
        .expect("explain");
        assert_eq!(explain.summary().kind, StatementKind::Explain);
        let plan = explain.summary().plan.as_ref().expect("a plan");
        let scan = find(plan, "DeltaScanExec").expect("a Delta scan");
        assert!(scan.metrics.is_empty(), "not run: {:?}", scan.metrics);
    });
}

#[test]
fn stop_cancels_a_query_and_the_cap_keeps_the_first_rows_and_counts_all() {
    runtime().block_on(async {
        let console = console().await;
        let sql = "select a.value * b.value as n from generate_series(1, 500) a \
                   cross join generate_series(1, 500) b";
        let mut asked = 0;
        let cancelled = console
            .run(sql, &mut || {
                asked += 1;
                true
            })
            .await
            .expect_err("cancelled");
        assert!(matches!(cancelled, SqlError::Cancelled));
        assert_eq!(asked, 1);
        assert!(cancelled.failure().cancelled);

        let output = run(&console, sql).await.expect("cross join");
        let summary = output.summary();
        assert_eq!(summary.total_rows, 250_000);
        assert_eq!(summary.kept_rows, MAX_KEPT_ROWS as u64);
        assert!(summary.elapsed_ms > 0.0);
        assert_eq!(output.rows(MAX_KEPT_ROWS as u64 - 1, 10).rows.len(), 1);
        assert!(output.rows(MAX_KEPT_ROWS as u64, 10).rows.is_empty());
        assert_eq!(
            output.rows(0, usize::MAX).rows.len(),
            crate::explorer::MAX_WINDOW_ROWS
        );
        let table = output.render(TextFormat::Table).expect("table");
        assert!(
            table.ends_with("250000 rows (100000 shown)\n"),
            "{}",
            &table[table.len() - 60..]
        );
    });
}

#[test]
fn results_render_as_a_table_csv_and_json_and_export() {
    runtime().block_on(async {
        let console = console().await;
        let output = run(
            &console,
            "select * from (values (1, 'Oslo', 2.5), (22, null, 10.0)) as t(id, city, fare)",
        )
        .await
        .expect("values");
        let table = output.render(TextFormat::Table).unwrap();
        assert_eq!(
            table,
            "┌───────┬─────────┬─────────┐\n\
             │ id    │ city    │ fare    │\n\
             │ int64 │ varchar │ float64 │\n\
             ├───────┼─────────┼─────────┤\n\
             │     1 │ Oslo    │     2.5 │\n\
             │    22 │ NULL    │    10.0 │\n\
             └───────┴─────────┴─────────┘\n\
             2 rows\n"
        );
        let csv = output.render(TextFormat::Csv).unwrap();
        assert_eq!(csv, "id,city,fare\n1,Oslo,2.5\n22,,10.0\n");
        let json: serde_json::Value =
            serde_json::from_str(&output.render(TextFormat::Json).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"id": 1, "city": "Oslo", "fare": 2.5}, {"id": 22, "fare": 10.0}])
        );
        assert_eq!(output.export(ExportFormat::Csv).unwrap(), csv.as_bytes());
        assert_eq!(&output.export(ExportFormat::Parquet).unwrap()[..4], b"PAR1");
        let empty = run(&console, "select 1 as one where false").await.unwrap();
        assert_eq!(empty.render(TextFormat::Json).unwrap(), "[]");
        assert!(empty
            .render(TextFormat::Table)
            .unwrap()
            .ends_with("┘\n0 rows\n"));
        assert_eq!(empty.render(TextFormat::Csv).unwrap(), "one\n");
        assert_eq!("json".parse::<TextFormat>(), Ok(TextFormat::Json));
        assert!("xml".parse::<TextFormat>().is_err());
        // A command runs through DataFusion and its view is queryable.
        let created = run(
            &console,
            "create view gold.big_fares as select * from gold.fact_trips where distance_km > 50",
        )
        .await
        .expect("create view");
        assert_eq!(created.summary().kind, StatementKind::Command);
        run(&console, "select count(*) from gold.big_fares")
            .await
            .expect("the new view");
    });
}

#[test]
fn a_small_table_travels_in_time_and_prunes_in_a_plan() {
    runtime().block_on(super::scenario::small_table(Arc::new(MemoryStorage::new())));
}
