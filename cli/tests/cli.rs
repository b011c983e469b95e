//! The `medallion` binary, run as a user runs it.

use std::process::Command;

/// The stdout of a run that must have succeeded (its stderr shown if not).
fn succeeded(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn medallion(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_medallion"))
        .args(args)
        .output()
        .expect("run medallion")
}

#[test]
fn land_copies_batches_into_the_landing_zone_keeping_folders_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    for batch in ["batch_001", "batch_002"] {
        std::fs::create_dir_all(data.join(batch)).expect("mkdir");
        std::fs::write(
            data.join(batch).join("trips.csv"),
            format!("trip_id\n{batch}\n"),
        )
        .expect("write");
    }
    std::fs::write(
        data.join("batch_001").join("customers-part-2.ndjson"),
        "{}\n",
    )
    .expect("write");
    std::fs::write(data.join("README.md"), "# notes\n").expect("write");
    let warehouse = dir.path().join("wh");
    let warehouse = warehouse.to_str().expect("utf-8");

    let out = medallion(&[
        "land",
        data.to_str().expect("utf-8"),
        "--warehouse",
        warehouse,
    ]);
    let stdout = succeeded(&out);
    assert!(
        stdout.contains("landed  landing/trips/data/batch_001/trips.csv"),
        "{stdout}"
    );
    assert!(
        stdout.contains("landed  landing/trips/data/batch_002/trips.csv"),
        "{stdout}"
    );
    assert!(
        stdout.contains("landed  landing/customers/data/batch_001/customers-part-2.ndjson"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.trim_start().starts_with("skipped") && line.contains("README.md")),
        "{stdout}"
    );
    assert!(!stdout.contains("landing/readme"), "{stdout}");
    let landed = std::path::Path::new(warehouse).join("landing/trips/data/batch_002/trips.csv");
    assert_eq!(
        std::fs::read_to_string(landed).expect("read"),
        "trip_id\nbatch_002\n"
    );

    let single = data.join("batch_002").join("trips.csv");
    let out = medallion(&[
        "--warehouse",
        warehouse,
        "land",
        single.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("landed  landing/trips/batch_002/trips.csv")
    );
    let out = medallion(&[
        "--warehouse",
        warehouse,
        "land",
        single.to_str().expect("utf-8"),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("unchanged  landing/trips/batch_002/trips.csv"));
}

#[test]
fn errors_are_one_line_naming_the_file_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "x").expect("write");
    let warehouse = dir.path().join("wh");
    let out = medallion(&[
        "land",
        notes.to_str().expect("utf-8"),
        "--warehouse",
        warehouse.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("notes.txt: unsupported file type"),
        "{stderr}"
    );

    let missing = dir.path().join("missing.csv");
    let out = medallion(&[
        "land",
        missing.to_str().expect("utf-8"),
        "--warehouse",
        warehouse.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));
}

#[test]
fn bad_usage_exits_with_2() {
    assert_eq!(medallion(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(medallion(&["land"]).status.code(), Some(2));
    assert_eq!(medallion(&["--help"]).status.code(), Some(0));
}

#[test]
fn tables_lists_nothing_in_a_new_warehouse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = medallion(&["tables", "--warehouse", dir.path().to_str().expect("utf-8")]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn show_and_history_read_delta_tables_with_time_travel() {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use medallion_core::delta::{DeltaTable, TableOptions, WriteOptions};
    use medallion_core::storage::LocalFileSystem;

    let dir = tempfile::tempdir().expect("temp dir");
    let schema = Arc::new(Schema::new(vec![Field::new(
        "trip_id",
        DataType::Int64,
        true,
    )]));
    let table = DeltaTable::new(
        Arc::new(LocalFileSystem::new(dir.path()).expect("store")),
        "silver/trips",
    );
    futures::executor::block_on(async {
        table
            .create(&schema, TableOptions::default())
            .await
            .expect("create");
        for ids in [vec![1, 2], vec![3]] {
            let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(ids))])
                .expect("batch");
            table
                .append(&[batch], WriteOptions::default())
                .await
                .expect("append");
        }
    });
    let warehouse = dir.path().to_str().expect("utf-8");

    let out = medallion(&["--warehouse", warehouse, "show", "silver/trips"]);
    let stdout = succeeded(&out);
    assert!(
        stdout.contains("silver/trips at version 2: 3 of 3 rows shown"),
        "{stdout}"
    );

    let out = medallion(&[
        "--warehouse",
        warehouse,
        "show",
        "silver/trips",
        "--version",
        "1",
        "--limit",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("at version 1: 1 of 2 rows shown"),
        "{stdout}"
    );

    let out = medallion(&["--warehouse", warehouse, "history", "silver/trips"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let operations: Vec<&str> = stdout
        .lines()
        .map(|line| line.split_whitespace().nth(4).unwrap_or(""))
        .collect();
    assert_eq!(operations, ["WRITE", "WRITE", "CREATE"], "{stdout}");
    assert!(stdout.contains("numOutputRows=1"), "{stdout}");

    let out = medallion(&["--warehouse", warehouse, "show", "gold/missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gold/missing: not a Delta table"));
}

#[test]
fn gen_writes_the_same_batches_for_the_same_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |out: &str| {
        let out = dir.path().join(out);
        let result = medallion(&[
            "gen",
            "--trips",
            "400",
            "--seed",
            "9",
            "--batches",
            "2",
            "--format",
            "mixed",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            stdout.contains("batch 2  batch_002/trips.csv: Late-arriving trip (trip_id"),
            "{stdout}"
        );
        out
    };
    let (a, b) = (run("a"), run("b"));
    for batch in ["batch_001", "batch_002"] {
        let mut names: Vec<String> = std::fs::read_dir(a.join(batch))
            .expect("batch folder")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names.len(), 6, "{names:?}");
        for name in names {
            let left = std::fs::read(a.join(batch).join(&name)).expect("read");
            let right = std::fs::read(b.join(batch).join(&name)).expect("read");
            assert_eq!(left, right, "{batch}/{name}");
        }
    }
    let bad = medallion(&["gen", "--trips", "10", "--format", "xlsx", "--out", "x"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn ingest_loads_the_sample_batches_into_bronze_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let sample_data = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data");
    for batch in ["batch_001", "batch_002"] {
        let folder = format!("{sample_data}/{batch}");
        succeeded(&medallion(&["--warehouse", warehouse, "land", &folder]));
        let out = succeeded(&medallion(&["ingest", "--warehouse", warehouse]));
        assert!(out.contains("bronze/trips  batch "), "{out}");
        if batch == "batch_002" {
            assert!(
                out.contains("landing/trips/batch_002/trips.csv  674 rows, 1 malformed, 2 rescued"),
                "{out}"
            );
        }
    }
    let again = succeeded(&medallion(&["ingest", "--warehouse", warehouse]));
    assert_eq!(again.trim(), "nothing new to ingest");
    // The README's counts after batch 2.
    let history = succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "history",
        "bronze/trips",
    ]));
    assert!(history.contains("WRITE"), "{history}");
    let shown = succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "show",
        "bronze/customers",
        "--limit",
        "1000",
    ]));
    assert!(shown.contains("_batch_id"), "{shown}");
    let bad = medallion(&["ingest", "--warehouse", warehouse, "--trigger", "twice"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn silver_builds_incrementally_and_reports_each_entity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    let sample_data = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data");
    let silver = |extra: &[&str]| {
        let mut args = vec!["silver", "--warehouse", warehouse, "--project", project];
        args.extend_from_slice(extra);
        medallion(&args)
    };
    for batch in ["batch_001", "batch_002"] {
        let folder = format!("{sample_data}/{batch}");
        succeeded(&medallion(&["--warehouse", warehouse, "land", &folder]));
        succeeded(&medallion(&["--warehouse", warehouse, "ingest"]));
        let out = succeeded(&silver(&[]));
        if batch == "batch_001" {
            assert!(
                out.contains("silver/trips  bronze v0..v1 (full refresh)  1999 rows in  1999 written, 0 replaced  0 quarantined"),
                "{out}"
            );
        } else {
            assert!(
                out.contains("silver/trips  bronze v2  674 rows in  665 upserted (664 new, 1 updated)  0 deleted  0 unchanged  3 quarantined  6 duplicates  version 2"),
                "{out}"
            );
        }
    }
    let again = succeeded(&silver(&["--entity", "trips"]));
    assert_eq!(
        again.trim(),
        "silver/trips  up to date with bronze/trips version 2"
    );
    let rebuilt = succeeded(&silver(&["--full-refresh", "--entity", "customers"]));
    assert!(
        rebuilt.contains("(full refresh)  516 rows in  500 written, 500 replaced"),
        "{rebuilt}"
    );
    let quarantine = succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "show",
        "silver/trips_quarantine",
    ]));
    assert!(
        quarantine.contains("`fare_amount` is not a number: \"N/A\""),
        "{quarantine}"
    );

    let unknown = silver(&["--entity", "riders"]);
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.starts_with("error: no Silver pipeline for riders"),
        "{stderr}"
    );

    let bad_project = dir.path().join("project");
    std::fs::create_dir_all(bad_project.join("silver")).expect("mkdir");
    std::fs::write(
        bad_project.join("silver/trips.yml"),
        "key: trip_id\nsteps: [{transform: explode}]\n",
    )
    .expect("write");
    let bad = medallion(&[
        "silver",
        "--warehouse",
        warehouse,
        "--project",
        bad_project.to_str().expect("utf-8"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    let file = bad_project.join("silver/trips.yml");
    assert!(
        stderr.starts_with(&format!(
            "error: {}: step 1 (explode): unknown transform \"explode\"",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn silver_init_writes_an_inferred_pipeline_that_silver_then_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    let project = project.to_str().expect("utf-8");
    let notes = dir.path().join("notes.csv");
    std::fs::write(
        &notes,
        "note_id,written_at,body,score\n\
         1,2026-01-05T10:00:00+01:00, hello  world ,\"1,234.5\"\n\
         2,2026-01-06T10:00:00+01:00,NULL,2\n\
         3,2026-01-07T10:00:00+01:00,bye,3.25\n",
    )
    .expect("write");
    succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "land",
        notes.to_str().expect("utf-8"),
    ]));
    succeeded(&medallion(&["--warehouse", warehouse, "ingest"]));
    let init = |extra: &[&str]| {
        let mut args = vec![
            "silver",
            "init",
            "notes",
            "--warehouse",
            warehouse,
            "--project",
            project,
        ];
        args.extend_from_slice(extra);
        medallion(&args)
    };
    let out = succeeded(&init(&[]));
    let written = std::fs::read_to_string(format!("{project}/silver/notes.yml")).expect("written");
    assert!(out.starts_with(&written), "{out}");
    assert!(written.contains("key: note_id"), "{written}");
    assert!(
        written.contains("    transform: null_markers\n"),
        "{written}"
    );
    assert!(
        out.contains("wrote silver/notes.yml: read 3 of 3 rows of bronze/notes"),
        "{out}"
    );
    assert!(
        out.contains("  written_at  timestamp (ISO-8601 with offsets, in UTC): every value is an ISO-8601 timestamp with an offset: converted to UTC"),
        "{out}"
    );
    assert!(out.contains("  score       decimal(10,2): "), "{out}");
    assert!(
        out.contains("key: note_id is unique and never null in the 3 rows read"),
        "{out}"
    );

    let again = init(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        "error: notes already has a Silver pipeline (silver/notes.yml)"
    );
    succeeded(&init(&["--replace"]));
    let missing = medallion(&[
        "silver",
        "init",
        "riders",
        "--warehouse",
        warehouse,
        "--project",
        project,
    ]);
    assert_eq!(missing.status.code(), Some(1));

    let built = succeeded(&medallion(&[
        "silver",
        "--warehouse",
        warehouse,
        "--project",
        project,
    ]));
    assert!(built.contains("silver/notes"), "{built}");
    assert!(built.contains("3 rows in"), "{built}");
    let shown = succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "show",
        "silver/notes",
    ]));
    assert!(shown.contains("2026-01-05T09:00:00"), "{shown}");
    assert!(shown.contains("1234.50"), "{shown}");
    assert!(shown.contains("| hello world |"), "{shown}");
    assert!(
        !built.contains("joined the silver source"),
        "no dbt project: {built}"
    );
}

#[test]
fn silver_joins_a_new_table_to_the_silver_source_and_a_model_over_it_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = dir.path().join("project");
    copy_folder(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")),
        &project,
    );
    let project = project.to_str().expect("utf-8");
    let notes = dir.path().join("notes.csv");
    std::fs::write(&notes, "note_id;body;score\n1;hi;1,5\n2;yo;2,25\n").expect("write");
    let at = |args: &[&str]| {
        let mut all = vec!["--warehouse", warehouse, "--project", project];
        all.extend_from_slice(args);
        medallion(&all)
    };
    succeeded(&at(&["land", notes.to_str().expect("utf-8")]));
    succeeded(&at(&["ingest"]));
    succeeded(&at(&["silver", "init", "notes"]));
    let built = succeeded(&at(&["silver", "--entity", "notes"]));
    assert!(
        built.contains("silver/notes joined the silver source"),
        "{built}"
    );
    let sources =
        std::fs::read_to_string(format!("{project}/models/staging/_sources.yml")).expect("sources");
    assert!(sources.contains("      - name: notes\n"), "{sources}");
    std::fs::write(
        format!("{project}/models/staging/stg_note_scores.sql"),
        "select sum(score) as total from {{ source('silver', 'notes') }}\n",
    )
    .expect("write");
    succeeded(&at(&["build", "--select", "stg_note_scores"]));
    let total = succeeded(&at(&[
        "sql",
        "select total from gold.stg_note_scores",
        "--format",
        "csv",
    ]));
    assert_eq!(total.trim(), "total\n3.75", "{total}");
    let again = succeeded(&at(&["silver", "--entity", "notes"]));
    assert!(!again.contains("joined"), "joined once: {again}");
}

/// The core's fixture dbt project, with its two Silver source tables written into
/// `warehouse` (orders 1 to 4, customers 1 to 3).
#[test]
fn lineage_prints_a_columns_upstream_tree_to_landing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    let batch = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data/batch_001");
    succeeded(&medallion(&["--warehouse", warehouse, "land", batch]));
    succeeded(&medallion(&["--warehouse", warehouse, "ingest"]));
    let lineage = |column: &str| {
        medallion(&[
            "lineage",
            column,
            "--warehouse",
            warehouse,
            "--project",
            project,
        ])
    };
    let before = lineage("fact_trips.total_amount");
    assert_eq!(before.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&before.stderr);
    assert!(stderr.contains("which is not built yet"), "{stderr}");

    succeeded(&medallion(&[
        "silver",
        "--warehouse",
        warehouse,
        "--project",
        project,
    ]));
    let tree = succeeded(&lineage("fact_trips.total_amount"));
    assert!(
        tree.starts_with(
            "gold.fact_trips.total_amount\n  <- direct gold.stg_trips.total_amount (via trips)\n    <- direct source:silver.trips.total_amount\n      <- direct silver.trips.total_amount\n        <- transformed bronze.trips.fare_amount\n          <- direct landing.trips.fare_amount\n"
        ),
        "{tree}"
    );
    assert!(
        tree.contains("<- transformed bronze.trips.tip_amount"),
        "{tree}"
    );
    let same = succeeded(&lineage("gold.fact_trips.total_amount"));
    assert_eq!(same, tree);
    let bad = lineage("fact_trips.nope");
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.starts_with("error: gold.fact_trips has no column nope (it has trip_id, "),
        "{stderr}"
    );
}

fn fixture_project(warehouse: &std::path::Path) -> String {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use arrow::record_batch::RecordBatch;
    use medallion_core::delta::{DeltaTable, WriteOptions};
    use medallion_core::storage::LocalFileSystem;

    let store = Arc::new(LocalFileSystem::new(warehouse).expect("store"));
    let write = |path: &str, batch: RecordBatch| {
        let table = DeltaTable::new(store.clone(), path);
        futures::executor::block_on(async {
            table.create(&batch.schema(), Default::default()).await?;
            table.append(&[batch], WriteOptions::default()).await
        })
        .expect("write a source table");
    };
    let orders = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("order_id", DataType::Int64, true),
            Field::new("customer_id", DataType::Int64, true),
            Field::new("status", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new(
                "ordered_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            Arc::new(Int64Array::from(vec![1, 1, 2, 3])),
            Arc::new(StringArray::from(vec![
                "placed", "shipped", "placed", "PLACED",
            ])),
            Arc::new(Float64Array::from(vec![10.0, 5.5, 1.0, 7.25])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    1_767_229_200_000_000,
                    1_767_315_600_000_000,
                    1_767_402_000_000_000,
                    1_767_488_400_000_000,
                ])
                .with_timezone("UTC"),
            ),
        ],
    )
    .expect("orders");
    write("silver/orders", orders);
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
    write("silver/customers", customers);
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/src/models/fixtures/project"
    )
    .to_owned()
}

#[test]
fn build_run_test_compile_ls_and_show_like_dbt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let project = fixture_project(&warehouse);
    let warehouse = warehouse.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let mut all = vec!["--warehouse", warehouse, "--project", project.as_str()];
        all.extend_from_slice(args);
        medallion(&all)
    };

    let out = succeeded(&run(&["build"]));
    assert!(
        out.starts_with("Found 13 models, 0 snapshots, 9 data tests, 2 sources\n"),
        "{out}"
    );
    assert!(
        out.lines().any(
            |line| line.contains(" OK created sql table model gold.customer_totals ")
                && line.contains("[CREATE TABLE (3 rows) in ")
        ),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|line| line.contains(" PASS unique_customer_totals_customer_id ")),
        "{out}"
    );
    assert!(out.contains("\nCompleted successfully\n"), "{out}");
    assert!(
        out.trim_end()
            .ends_with("Done. PASS=20 WARN=0 ERROR=0 SKIP=0 TOTAL=20"),
        "{out}"
    );
    assert!(warehouse_has(&dir, "warehouse/target/run_results.json"));
    assert!(warehouse_has(&dir, "warehouse/target/manifest.json"));

    let again = succeeded(&run(&["run", "--select", "orders_append"]));
    assert!(again.contains("[APPEND (0 new, 0 updated) in "), "{again}");

    let listed = succeeded(&run(&[
        "ls",
        "--select",
        "+customer_totals",
        "--resource-type",
        "model",
    ]));
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "fixture.staging.stg_customers",
            "fixture.staging.stg_orders",
            "fixture.intermediate.int_customer_orders",
            "fixture.marts.customer_totals",
        ]
    );
    let compiled = succeeded(&run(&[
        "compile",
        "--select",
        "stg_orders",
        "--vars",
        "{min_amount: 5}",
    ]));
    assert!(compiled.contains("where amount >= 5"), "{compiled}");
    let shown = succeeded(&run(&[
        "show",
        "--select",
        "stg_orders",
        "--limit",
        "10",
        "--vars",
        "{min_amount: 5}",
    ]));
    assert_eq!(
        shown.matches("| placed").count() + shown.matches("| shipped").count(),
        3,
        "{shown}"
    );
    let tested = succeeded(&run(&["test", "--select", "tag:staging"]));
    assert!(
        tested.contains("PASS accepted_values_stg_orders_status__placed__shipped"),
        "{tested}"
    );

    let failed = run(&["run", "--select", "nope"]);
    assert!(failed.status.success(), "selecting nothing runs nothing");
    let bad = run(&["build", "--select", "colour:red"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: selector \"colour:red\": "));
}

fn warehouse_has(dir: &tempfile::TempDir, path: &str) -> bool {
    dir.path().join(path).exists()
}

/// The same statement through the CLI and through core's console, on one warehouse.
#[test]
fn sql_prints_a_table_csv_and_json_with_the_consoles_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    for batch in ["batch_001", "batch_002"] {
        let folder = format!("{}/../sample_data/{batch}", env!("CARGO_MANIFEST_DIR"));
        succeeded(&medallion(&["--warehouse", warehouse, "land", &folder]));
        succeeded(&medallion(&[
            "--warehouse",
            warehouse,
            "--project",
            project,
            "pipeline",
        ]));
    }
    let sql = |query: &str, format: &str| {
        medallion(&[
            "--warehouse",
            warehouse,
            "--project",
            project,
            "sql",
            query,
            "--format",
            format,
        ])
    };
    let query =
        "select status, count(*) as trips, cast(round(sum(distance_km), 2) as double) as km \
                 from gold.fact_trips group by status order by status";
    let expected = console_rows(warehouse, project, query);
    assert!(expected.len() > 1, "{expected:?}");

    let csv = succeeded(&sql(query, "csv"));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("status,trips,km"));
    let rows: Vec<Vec<Option<String>>> = lines
        .map(|line| line.split(',').map(|v| Some(v.to_owned())).collect())
        .collect();
    assert_eq!(rows, expected);

    let json: serde_json::Value =
        serde_json::from_str(&succeeded(&sql(query, "json"))).expect("JSON");
    let rows: Vec<Vec<Option<String>>> = json
        .as_array()
        .expect("an array")
        .iter()
        .map(|object| {
            ["status", "trips", "km"]
                .iter()
                .map(|key| {
                    object.get(*key).map(|value| match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                })
                .collect()
        })
        .collect();
    assert_eq!(rows, expected);

    let table = succeeded(&sql(query, "table"));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with('┌'), "{table}");
    assert!(
        lines[1].contains("status") && lines[1].contains("trips"),
        "{table}"
    );
    assert!(
        lines[2].contains("varchar") && lines[2].contains("int64"),
        "{table}"
    );
    let first = expected[0][0].as_deref().expect("a status");
    assert!(lines[4].contains(first), "{table}");
    assert_eq!(
        lines.last(),
        Some(&format!("{} rows", expected.len()).as_str())
    );

    // Time travel: batch 1's customers after batch 2.
    let travel = "select count(*) as n from gold.dim_customer@v1";
    let csv = succeeded(&sql(travel, "csv"));
    assert_eq!(
        csv,
        format!(
            "n\n{}\n",
            console_rows(warehouse, project, travel)[0][0]
                .as_deref()
                .expect("a count")
        )
    );

    let typo = sql(
        "select status\nfrom gold.fact_trips\nwher status = 'x'",
        "table",
    );
    assert_eq!(typo.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.starts_with("error: line 3, column 6: syntax error: "),
        "{stderr}"
    );
}

/// `query`'s rows through core's SQL console on `warehouse`.
fn console_rows(warehouse: &str, project: &str, query: &str) -> Vec<Vec<Option<String>>> {
    use std::sync::Arc;

    use medallion_core::checkpoint::MemoryCheckpointStore;
    use medallion_core::lakehouse::Lakehouse;
    use medallion_core::storage::LocalFileSystem;
    use medallion_core::workspace::Workspace;

    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let project = LocalFileSystem::new(project).expect("project");
            let lakehouse = Lakehouse::new(
                Arc::new(LocalFileSystem::new(warehouse).expect("warehouse")),
                Arc::new(MemoryCheckpointStore::new()),
                Workspace::folder(Arc::new(project)),
            );
            let console = lakehouse.sql_console().await.expect("console");
            let output = console.run(query, &mut || false).await.expect("query");
            output.rows(0, 1000).rows
        })
}

#[test]
fn project_export_then_import_into_a_fresh_folder_builds_the_same_gold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    let zip = dir.path().join("out/project.zip");
    let zip = zip.to_str().expect("utf-8");
    let stdout = succeeded(&medallion(&[
        "--project",
        project,
        "project",
        "export",
        zip,
    ]));
    assert!(stdout.contains("bytes to "), "{stdout}");

    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().expect("utf-8");
    let stdout = succeeded(&medallion(&["project", "import", zip, "--into", fresh]));
    assert!(stdout.contains(" files ("), "{stdout}");
    for file in [
        "dbt_project.yml",
        "models/marts/fact_trips.sql",
        "silver/trips.yml",
    ] {
        assert_eq!(
            std::fs::read_to_string(format!("{fresh}/{file}")).expect("imported"),
            std::fs::read_to_string(format!("{project}/{file}")).expect("original"),
            "{file}"
        );
    }

    let batch = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data/batch_001");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    succeeded(&medallion(&["--warehouse", warehouse, "land", batch]));
    let built = succeeded(&medallion(&[
        "--warehouse",
        warehouse,
        "--project",
        fresh,
        "pipeline",
    ]));
    assert!(built.contains("fact_trips"), "{built}");
    assert!(
        !built.contains("[ERROR]") && !built.contains("[FAIL"),
        "{built}"
    );
    let count = |project: &str| {
        console_rows(warehouse, project, "select count(*) from gold.fact_trips")[0][0].clone()
    };
    assert_eq!(count(fresh), Some("1999".to_owned()));

    // A zip with a path outside the project changes nothing and names the path.
    let evil = dir.path().join("evil.zip");
    {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&evil).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        writer
            .start_file("dbt_project.yml", options)
            .expect("start");
        writer.write_all(b"name: evil\n").expect("write");
        writer.start_file("../evil.sql", options).expect("start");
        writer.write_all(b"select 1").expect("write");
        writer.finish().expect("finish");
    }
    let refused = medallion(&[
        "project",
        "import",
        evil.to_str().expect("utf-8"),
        "--into",
        fresh,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("../evil.sql: '..' leads outside the project"),
        "{stderr}"
    );
    assert!(std::path::Path::new(&format!("{fresh}/models/marts/fact_trips.sql")).exists());
}

/// `medallion seed` loads the second sample project's CSVs as dbt does, and `compile`
/// writes its analysis.
#[test]
fn seed_loads_the_shop_projects_csvs_and_compile_writes_its_analysis() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop");
    let run = |args: &[&str]| {
        let mut all = vec!["--warehouse", warehouse, "--project", project];
        all.extend_from_slice(args);
        medallion(&all)
    };
    let out = succeeded(&run(&["seed"]));
    assert!(
        out.starts_with(
            "Found 3 models, 0 snapshots, 12 data tests, 3 seeds, 1 analyses, 0 sources\n"
        ),
        "{out}"
    );
    for (seed, rows) in [("customers", 5), ("orders", 7), ("products", 4)] {
        assert!(
            out.lines().any(
                |line| line.contains(&format!(" OK created seed file gold.{seed} "))
                    && line.contains(&format!("[INSERT {rows} in "))
            ),
            "{out}"
        );
    }
    assert!(out.contains("Finished running 3 nodes"), "{out}");
    succeeded(&run(&["compile"]));
    let analysis = std::fs::read_to_string(
        dir.path()
            .join("warehouse/target/compiled/shop/analyses/top_customers.sql"),
    )
    .expect("the analysis is compiled");
    assert!(
        analysis.contains("from gold.customer_revenue"),
        "{analysis}"
    );
    let listed = succeeded(&run(&["ls", "--resource-type", "seed"]));
    assert_eq!(listed, "shop.customers\nshop.orders\nshop.products\n");
}

#[test]
fn versions_prints_a_customers_deletion_restore_origins_and_facts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = dir.path().join("warehouse");
    let warehouse = warehouse.to_str().expect("utf-8");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    let sample_data = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data");
    let at = |args: &[&str]| {
        let mut all = vec!["--warehouse", warehouse, "--project", project];
        all.extend_from_slice(args);
        medallion(&all)
    };
    for batch in ["batch_001", "batch_002", "batch_003", "batch_004"] {
        succeeded(&at(&["land", &format!("{sample_data}/{batch}")]));
        succeeded(&at(&["pipeline"]));
    }
    let out = succeeded(&at(&["versions", "gold.dim_customer", "392"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("gold.dim_customer  customer_id 392  3 versions"),
        "{out}"
    );
    let versions: Vec<&str> = lines
        .iter()
        .filter(|line| line.starts_with("version "))
        .copied()
        .collect();
    assert_eq!(versions.len(), 3, "{out}");
    assert!(versions[0].starts_with("version 1  created  2025-03-16 18:07:45 .. "));
    assert!(versions[1].starts_with("version 2  deleted  "), "{out}");
    assert!(
        versions[2].starts_with("version 3  restored  2026-01-11 09:33:57 .. current"),
        "{out}"
    );
    assert!(
        out.contains("  email: mary.jones4@yahoo.com → mary.jones34@icloud.com"),
        "{out}"
    );
    assert!(
        lines.iter().any(
            |line| line.starts_with("  from bronze/customers batch 2 (version ")
                && line.ends_with(")  landing/customers/batch_003/customers.parquet")
        ),
        "{out}"
    );
    assert!(out.contains("  gold.fact_trips: 0 rows\n"), "{out}");
    assert!(
        out.contains("  written by gold.customers_snapshot version "),
        "{out}"
    );
    assert!(out.contains("  gold.fact_trips: "), "{out}");

    let karen = succeeded(&at(&["versions", "gold.dim_customer", "325"]));
    let old = karen
        .split("version 2")
        .next()
        .expect("the first version's block");
    let trips = old
        .lines()
        .find(|line| line.starts_with("  gold.fact_trips: "))
        .expect("trips line");
    assert!(
        trips.contains(" trip_id ") && trips.contains("1983"),
        "{karen}"
    );

    let unknown = at(&["versions", "gold.dim_customer", "99999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "error: gold.dim_customer has no key 99999"
    );
    let not_scd2 = at(&["versions", "gold.fact_trips", "1983"]);
    assert_eq!(not_scd2.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_scd2.stderr)
        .contains("gold.fact_trips is not an SCD2 relation (there are: gold.dim_customer"));
}

/// Copies the folder `from` into `to`, recursively.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn pipeline_lets_trips_wait_for_locations_and_a_failed_step_says_what_stayed_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("project");
    copy_folder(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models")),
        &project,
    );
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample_data");
    let land = |name: &str, file: &str| {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).expect("mkdir");
        let file_name = file.rsplit('/').next().expect("name");
        std::fs::copy(format!("{sample}/{file}"), folder.join(file_name)).expect("copy");
        folder
    };
    let warehouse = dir.path().join("warehouse");
    let at = |args: &[&str]| {
        let mut all = vec![
            "--warehouse",
            warehouse.to_str().expect("utf-8"),
            "--project",
            project.to_str().expect("utf-8"),
        ];
        all.extend_from_slice(args);
        medallion(&all)
    };
    let trips = land("first", "batch_002/trips.csv");
    succeeded(&at(&["land", trips.to_str().expect("utf-8")]));
    let out = succeeded(&at(&["pipeline"]));
    assert!(
        out.contains("silver/trips  waiting for silver/locations\n"),
        "{out}"
    );

    // A pipeline that fails when it runs: the run stops there, exit 1.
    std::fs::write(
        project.join("silver/trips.yml"),
        "key: no_such_column\nsteps: []\n",
    )
    .expect("write");
    let locations = land("second", "batch_001/locations.csv");
    succeeded(&at(&["land", locations.to_str().expect("utf-8")]));
    let failed = at(&["pipeline"]);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains(
            "error: Silver step silver/trips failed: silver/trips.yml: no_such_column is not \
             in the pipeline's output. Still committed from this run: bronze/locations v"
        ),
        "{stderr}"
    );
    assert!(stderr.contains(", silver/locations v"), "{stderr}");
}
