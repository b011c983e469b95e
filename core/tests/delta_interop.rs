//! Interop with delta-rs: tables we write open in the `deltalake` Python package with
//! the same rows, columns and history at every version, and a table delta-rs writes
//! opens in ours.
//!
//! The test command points `MEDALLION_PYTHON` at a venv with deltalake and pyarrow
//! (`scripts/ensure-tools.sh` makes it). Without it this test says so and passes, so a
//! plain `cargo test` works on a machine without Python.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::json::WriterBuilder;
use arrow::record_batch::RecordBatch;
use medallion_core::delta::{DeltaTable, MergeOptions, TableOptions, WriteOptions};
use medallion_core::storage::LocalFileSystem;
use serde_json::{json, Map, Value};

fn python() -> Option<String> {
    std::env::var("MEDALLION_PYTHON")
        .ok()
        .filter(|path| !path.is_empty())
}

fn script() -> String {
    format!(
        "{}/../tests/interop/delta_rs.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn trips_schema(with_surge: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("trip_id", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("fare", DataType::Float64, true),
        Field::new(
            "pickup_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ];
    if with_surge {
        fields.push(Field::new("surge", DataType::Float64, true));
    }
    Arc::new(Schema::new(fields))
}

fn trips(ids: &[i64], city: &str, fare: f64, surge: Option<f64>) -> RecordBatch {
    let mut columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(vec![city; ids.len()])),
        Arc::new(Float64Array::from(vec![fare; ids.len()])),
        Arc::new(
            TimestampMicrosecondArray::from(
                ids.iter()
                    .map(|id| 1_767_225_600_000_000 + id * 60_000_123)
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
    ];
    if let Some(surge) = surge {
        columns.push(Arc::new(Float64Array::from(vec![surge; ids.len()])));
    }
    RecordBatch::try_new(trips_schema(surge.is_some()), columns).expect("batch")
}

/// Rows as JSON objects, timestamps as integer microseconds, nulls explicit.
async fn rows_at(table: &DeltaTable, version: i64) -> (Vec<String>, Vec<Value>) {
    let snapshot = table.snapshot_at(version).await.expect("snapshot");
    let batches = table.read(&snapshot).await.expect("read");
    let all = concat_batches(snapshot.schema(), &batches).expect("concat");
    let columns: Vec<String> = all
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let normalised: Vec<Arc<dyn Array>> = all
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Timestamp(_, _) => cast(column, &DataType::Int64).expect("cast"),
            _ => column.clone(),
        })
        .collect();
    let fields: Vec<Field> = normalised
        .iter()
        .zip(all.schema().fields())
        .map(|(column, field)| Field::new(field.name(), column.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), normalised).expect("batch");
    let mut buffer = Vec::new();
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(&mut buffer);
    writer.write(&batch).expect("json");
    writer.finish().expect("json");
    let rows: Value = if buffer.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&buffer).expect("rows")
    };
    (columns, rows.as_array().cloned().unwrap_or_default())
}

async fn expectations(name: &str, table: &DeltaTable, path: &Path) -> Value {
    let history = table.history().await.expect("history");
    let latest = history
        .first()
        .map(|entry| entry.version)
        .unwrap_or_default();
    let mut versions = Map::new();
    for version in 0..=latest {
        let (columns, rows) = rows_at(table, version).await;
        versions.insert(
            version.to_string(),
            json!({"columns": columns, "rows": rows}),
        );
    }
    let operations: Vec<String> = history.into_iter().map(|entry| entry.operation).collect();
    json!({
        "path": path.join(name).to_string_lossy(),
        "latest_version": latest,
        "history_operations": operations,
        "versions": versions,
    })
}

async fn write_our_tables(root: &Path) -> Value {
    let storage = Arc::new(LocalFileSystem::new(root).expect("store"));
    let table = DeltaTable::new(storage.clone(), "trips");
    table
        .create(&trips_schema(false), TableOptions::default())
        .await
        .expect("create");
    let plain = WriteOptions::default;
    table
        .append(&[trips(&[1, 2, 3], "NYC", 10.0, None)], plain())
        .await
        .expect("v1");
    table
        .append(&[trips(&[4, 5], "Boston", 5.5, None)], plain())
        .await
        .expect("v2");
    let merge = MergeOptions {
        keys: vec!["trip_id".into()],
        ..Default::default()
    };
    table
        .merge(&[trips(&[5, 6], "Boston", 7.25, None)], merge)
        .await
        .expect("v3 merge");
    table.delete_where("trip_id = 1").await.expect("v4 delete");
    let evolve = WriteOptions {
        merge_schema: true,
        ..Default::default()
    };
    table
        .append(&[trips(&[7], "NYC", 3.0, Some(1.5))], evolve)
        .await
        .expect("v5 evolve");
    for id in 8..=12 {
        table
            .append(&[trips(&[id], "LA", 1.0, Some(1.0))], plain())
            .await
            .expect("append");
    }
    table
        .overwrite(&[trips(&[100], "SF", 42.0, Some(2.0))], plain())
        .await
        .expect("v11 overwrite");
    assert!(root
        .join("trips/_delta_log/00000000000000000010.checkpoint.parquet")
        .exists());

    let partitioned = DeltaTable::new(storage, "trips_by_city");
    let options = TableOptions {
        partition_columns: vec!["city".into()],
        ..Default::default()
    };
    partitioned
        .create(&trips_schema(false), options)
        .await
        .expect("create");
    partitioned
        .append(
            &[
                trips(&[1, 2], "New York", 1.0, None),
                trips(&[3], "LA", 2.0, None),
            ],
            plain(),
        )
        .await
        .expect("append");

    json!({"tables": {
        "trips": expectations("trips", &table, root).await,
        "trips_by_city": expectations("trips_by_city", &partitioned, root).await,
    }})
}

#[tokio::test]
async fn delta_rs_reads_our_tables_and_we_read_theirs() {
    let Some(python) = python() else {
        eprintln!(
            "MEDALLION_PYTHON is not set: the delta-rs interop test needs `bash scripts/test.sh`"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = write_our_tables(dir.path()).await;
    let expected_path = dir.path().join("expected.json");
    std::fs::write(
        &expected_path,
        serde_json::to_vec_pretty(&expected).expect("json"),
    )
    .expect("write");
    let check = Command::new(&python)
        .args([
            script().as_str(),
            "check",
            expected_path.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run python");
    println!("{}", String::from_utf8_lossy(&check.stdout));
    assert!(
        check.status.success(),
        "delta-rs disagrees:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let theirs = dir.path().join("theirs");
    let write = Command::new(&python)
        .args([script().as_str(), "write", theirs.to_str().expect("utf-8")])
        .output()
        .expect("run python");
    assert!(
        write.status.success(),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    let storage = Arc::new(LocalFileSystem::new(dir.path()).expect("store"));
    let table = DeltaTable::new(storage, "theirs");
    let snapshot = table.snapshot().await.expect("delta-rs's table opens");
    assert_eq!(snapshot.version(), 1);
    let batches = table.read(&snapshot).await.expect("read");
    let all = concat_batches(snapshot.schema(), &batches).expect("concat");
    let ids = all.column_by_name("id").expect("id");
    let ids = ids.as_any().downcast_ref::<Int64Array>().expect("ids");
    let mut ids: Vec<i64> = ids.iter().flatten().collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3, 4]);
    let names = all.column_by_name("name").expect("name");
    assert_eq!(names.null_count(), 1);
    let history = table.history().await.expect("history");
    assert_eq!(history.len(), 2);
    let first = table.snapshot_at(0).await.expect("version 0");
    assert_eq!(first.num_records(), Some(3));
}
