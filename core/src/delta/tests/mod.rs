//! Table operations on an in-memory store, natively.

use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::executor::block_on;

use super::commit::Isolation;
use super::*;
use crate::storage::{MemoryStorage, Storage, StorageError};

mod merge;

fn trips_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("trip_id", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("fare", DataType::Float64, true),
    ]))
}

fn trips(rows: &[(Option<i64>, &str, f64)]) -> RecordBatch {
    RecordBatch::try_new(
        trips_schema(),
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ],
    )
    .expect("batch")
}

fn new_table() -> (MemoryStorage, DeltaTable) {
    let storage = MemoryStorage::new();
    let table = DeltaTable::new(Arc::new(storage.clone()), "silver/trips");
    block_on(table.create(&trips_schema(), TableOptions::default())).expect("create");
    (storage, table)
}

/// All rows of a snapshot as (trip_id, city, fare), sorted.
fn rows(
    table: &DeltaTable,
    snapshot: &Snapshot,
) -> Vec<(Option<i64>, Option<String>, Option<f64>)> {
    let batches = block_on(table.read(snapshot)).expect("read");
    let all = concat_batches(snapshot.schema(), &batches).expect("concat");
    let ids = all
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("ids");
    let cities = all
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cities");
    let fares = all
        .column(2)
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("fares");
    let mut out: Vec<_> = (0..all.num_rows())
        .map(|i| {
            (
                (!ids.is_null(i)).then(|| ids.value(i)),
                (!cities.is_null(i)).then(|| cities.value(i).to_owned()),
                (!fares.is_null(i)).then(|| fares.value(i)),
            )
        })
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    out
}

fn latest(table: &DeltaTable) -> Snapshot {
    block_on(table.snapshot()).expect("snapshot")
}

#[test]
fn create_append_read_and_history() {
    let (storage, table) = new_table();
    let outcome = block_on(table.append(
        &[trips(&[(Some(1), "NYC", 10.0), (Some(2), "Boston", 7.5)])],
        WriteOptions::default(),
    ))
    .expect("append");
    assert_eq!(
        (
            outcome.version,
            outcome.metrics.rows_inserted,
            outcome.metrics.files_added
        ),
        (1, 2, 1)
    );
    let snapshot = latest(&table);
    assert_eq!(snapshot.version(), 1);
    assert_eq!(snapshot.num_records(), Some(2));
    assert_eq!(rows(&table, &snapshot).len(), 2);
    let history = block_on(table.history()).expect("history");
    assert_eq!(
        history
            .iter()
            .map(|h| h.operation.as_str())
            .collect::<Vec<_>>(),
        ["WRITE", "CREATE TABLE"]
    );
    assert_eq!(history[0].operation_metrics["numOutputRows"], "2");
    let log =
        block_on(storage.get("silver/trips/_delta_log/00000000000000000001.json")).expect("log");
    let text = String::from_utf8(log.to_vec()).expect("utf-8");
    assert!(text.contains("\"add\":{\"path\":\"part-00000-"), "{text}");
    assert!(text.contains("\\\"numRecords\\\":2"), "{text}");
    assert!(matches!(
        block_on(table.create(&trips_schema(), TableOptions::default())),
        Err(DeltaError::AlreadyExists { .. })
    ));
}

#[test]
fn overwrite_replaces_and_time_travel_sees_the_past() {
    let (_, table) = new_table();
    block_on(table.append(&[trips(&[(Some(1), "NYC", 10.0)])], WriteOptions::default()))
        .expect("append");
    let outcome =
        block_on(table.overwrite(&[trips(&[(Some(9), "LA", 1.0)])], WriteOptions::default()))
            .expect("overwrite");
    assert_eq!(
        (outcome.metrics.files_removed, outcome.metrics.rows_deleted),
        (1, 1)
    );
    assert_eq!(
        rows(&table, &latest(&table)),
        vec![(Some(9), Some("LA".into()), Some(1.0))]
    );
    let old = block_on(table.snapshot_at(1)).expect("version 1");
    assert_eq!(
        rows(&table, &old),
        vec![(Some(1), Some("NYC".into()), Some(10.0))]
    );
    let as_of = block_on(table.snapshot_as_of(old.timestamp_ms())).expect("as of");
    assert!(as_of.version() >= 1);
    assert!(matches!(
        block_on(table.snapshot_at(5)),
        Err(DeltaError::VersionNotFound { latest: 2, .. })
    ));
    assert!(matches!(
        block_on(table.snapshot_as_of(0)),
        Err(DeltaError::TimestampTooEarly { .. })
    ));
}

#[test]
fn delete_where_rewrites_only_files_with_matching_rows() {
    let (_, table) = new_table();
    block_on(table.append(
        &[trips(&[(Some(1), "NYC", 10.0), (Some(2), "NYC", 20.0)])],
        WriteOptions::default(),
    ))
    .expect("append");
    block_on(table.append(&[trips(&[(Some(3), "LA", 5.0)])], WriteOptions::default()))
        .expect("append");
    let outcome = block_on(table.delete_where("fare > 15")).expect("delete");
    assert_eq!(
        outcome.metrics,
        WriteMetrics {
            rows_deleted: 1,
            rows_copied: 1,
            files_removed: 1,
            files_added: 1,
            ..Default::default()
        }
    );
    let ids: Vec<_> = rows(&table, &latest(&table))
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, [Some(1), Some(3)]);
    let none = block_on(table.delete_where("city = 'Paris'")).expect("delete nothing");
    assert!(!none.committed);
    assert!(matches!(
        block_on(table.delete_where("no_such_column = 1")),
        Err(DeltaError::Predicate { .. })
    ));
}

#[test]
fn schema_evolution_adds_nullable_columns() {
    let (_, table) = new_table();
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], WriteOptions::default()))
        .expect("append");
    let wider = Arc::new(Schema::new(vec![
        Field::new("trip_id", DataType::Int64, true),
        Field::new("surge", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        wider,
        vec![
            Arc::new(Int64Array::from(vec![2])),
            Arc::new(Float64Array::from(vec![1.5])),
        ],
    )
    .expect("batch");
    assert!(matches!(
        block_on(table.append(std::slice::from_ref(&batch), WriteOptions::default())),
        Err(DeltaError::Schema { .. })
    ));
    // A new column in a later batch of the same write is caught too, not dropped.
    let mixed = [trips(&[(Some(3), "NYC", 1.0)]), batch.clone()];
    assert!(matches!(
        block_on(table.append(&mixed, WriteOptions::default())),
        Err(DeltaError::Schema { .. })
    ));
    block_on(table.append(
        std::slice::from_ref(&batch),
        WriteOptions {
            merge_schema: true,
            ..Default::default()
        },
    ))
    .expect("evolve");
    let snapshot = latest(&table);
    assert_eq!(snapshot.schema().fields().len(), 4);
    let all = concat_batches(
        snapshot.schema(),
        &block_on(table.read(&snapshot)).expect("read"),
    )
    .expect("concat");
    let surge = all
        .column(3)
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("surge");
    assert_eq!(surge.null_count(), 1, "the old file has no surge");
    // A merge that adds a column.
    let merged = block_on(table.merge(
        &[batch],
        MergeOptions {
            keys: vec!["trip_id".into()],
            merge_schema: true,
            ..Default::default()
        },
    ))
    .expect("merge");
    assert_eq!(merged.metrics.rows_updated, 1);
}

#[test]
fn txn_versions_make_streaming_writes_idempotent_to_check() {
    let (_, table) = new_table();
    let options = WriteOptions {
        txn: Some(TxnId::new("bronze-trips", 0)),
        ..Default::default()
    };
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], options)).expect("append");
    let options = WriteOptions {
        txn: Some(TxnId::new("bronze-trips", 1)),
        ..Default::default()
    };
    block_on(table.append(&[trips(&[(Some(2), "NYC", 1.0)])], options)).expect("append");
    let snapshot = latest(&table);
    assert_eq!(snapshot.txn_version("bronze-trips"), Some(1));
    assert_eq!(snapshot.txn_version("other"), None);
}

#[test]
fn concurrent_appends_retry_and_other_operations_conflict() {
    let (_, table) = new_table();
    let stale = latest(&table);
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], WriteOptions::default()))
        .expect("winner");
    let add_only = vec![];
    let appended =
        block_on(table.commit_for_test(&stale, add_only.clone(), Isolation::BlindAppend))
            .expect("retried");
    assert_eq!(appended.version, 2);
    let err =
        block_on(table.commit_for_test(&stale, add_only, Isolation::Serializable)).unwrap_err();
    assert!(
        matches!(err, DeltaError::Conflict { version: 1, .. }),
        "{err}"
    );
}

#[test]
fn checkpoints_every_ten_commits_are_used_by_readers() {
    let (storage, table) = new_table();
    for id in 1..=12 {
        block_on(table.append(
            &[trips(&[(Some(id), "NYC", 1.0)])],
            WriteOptions {
                txn: Some(TxnId::new("app", id)),
                ..Default::default()
            },
        ))
        .expect("append");
    }
    block_on(table.delete_where("trip_id = 3")).expect("delete");
    let checkpoint = "silver/trips/_delta_log/00000000000000000010.checkpoint.parquet";
    assert!(block_on(storage.head(checkpoint)).is_ok());
    let last = block_on(storage.get("silver/trips/_delta_log/_last_checkpoint")).expect("last");
    assert!(String::from_utf8_lossy(&last).contains("\"version\":10"));
    let before = rows(&table, &latest(&table));
    // Readers start from the checkpoint: the commits before it are no longer needed.
    for version in 0..=10 {
        block_on(storage.delete(&format!("silver/trips/_delta_log/{version:020}.json")))
            .expect("delete");
    }
    let snapshot = latest(&table);
    assert_eq!(snapshot.version(), 13);
    assert_eq!(rows(&table, &snapshot), before);
    assert_eq!(snapshot.txn_version("app"), Some(12));
    assert_eq!(
        block_on(table.snapshot_at(10))
            .expect("at checkpoint")
            .num_records(),
        Some(10)
    );
    assert!(matches!(
        block_on(table.snapshot_at(9)),
        Err(DeltaError::MissingCommit { version: 0, .. })
    ));
    assert_eq!(block_on(table.checkpoint()).expect("manual checkpoint"), 13);
}

#[test]
fn vacuum_deletes_only_unreferenced_files_past_retention() {
    let (storage, table) = new_table();
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], WriteOptions::default()))
        .expect("append");
    block_on(table.overwrite(&[trips(&[(Some(2), "NYC", 1.0)])], WriteOptions::default()))
        .expect("overwrite");
    let kept = block_on(table.vacuum(DEFAULT_RETENTION_MS, false)).expect("vacuum");
    assert!(kept.files.is_empty(), "nothing is past a week's retention");
    let dry = block_on(table.vacuum(0, true)).expect("dry run");
    assert_eq!(dry.files.len(), 1);
    let done = block_on(table.vacuum(0, false)).expect("vacuum");
    assert_eq!(done.files, dry.files);
    assert_eq!(rows(&table, &latest(&table)).len(), 1);
    let old = block_on(table.snapshot_at(1)).expect("version 1");
    let err = block_on(table.read(&old)).unwrap_err();
    assert!(
        matches!(&err, DeltaError::Storage(StorageError::NotFound { path }) if path == &done.files[0]),
        "{err}"
    );
    assert!(
        block_on(storage.list("silver/trips/_delta_log/"))
            .expect("list")
            .len()
            >= 3,
        "vacuum leaves the log alone"
    );
}

#[test]
fn partitioned_tables_write_folders_and_read_partition_values_back() {
    let storage = MemoryStorage::new();
    let table = DeltaTable::new(Arc::new(storage.clone()), "gold/trips_by_city");
    let options = TableOptions {
        partition_columns: vec!["city".into()],
        ..Default::default()
    };
    block_on(table.create(&trips_schema(), options)).expect("create");
    block_on(table.append(
        &[trips(&[
            (Some(1), "New York", 1.0),
            (Some(2), "LA", 2.0),
            (Some(3), "New York", 3.0),
        ])],
        WriteOptions::default(),
    ))
    .expect("append");
    let snapshot = latest(&table);
    assert_eq!(snapshot.files().len(), 2);
    let paths: Vec<_> = snapshot
        .files()
        .iter()
        .map(|add| add.path.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.starts_with("city=New%20York/")),
        "{paths:?}"
    );
    let listed = block_on(storage.list("gold/trips_by_city/city=New York/")).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        rows(&table, &snapshot),
        vec![
            (Some(1), Some("New York".into()), Some(1.0)),
            (Some(2), Some("LA".into()), Some(2.0)),
            (Some(3), Some("New York".into()), Some(3.0)),
        ]
    );
}

#[test]
fn corrupt_logs_give_clear_errors_and_nothing_is_overwritten() {
    let (storage, table) = new_table();
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], WriteOptions::default()))
        .expect("append");
    let commit1 = "silver/trips/_delta_log/00000000000000000001.json";
    let original = block_on(storage.get(commit1)).expect("get");

    // A truncated commit.
    block_on(storage.put(commit1, original.slice(..original.len() - 20))).expect("truncate");
    let err = block_on(table.snapshot()).unwrap_err();
    assert!(
        matches!(
            err,
            DeltaError::CorruptCommit {
                version: 1,
                line: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("silver/trips: commit 1 is corrupt at line 2"),
        "{err}"
    );
    let err = block_on(table.append(&[trips(&[(Some(2), "NYC", 1.0)])], WriteOptions::default()))
        .unwrap_err();
    assert!(matches!(err, DeltaError::CorruptCommit { .. }));
    assert!(
        block_on(storage.head("silver/trips/_delta_log/00000000000000000002.json")).is_err(),
        "no write on a corrupt log"
    );
    block_on(storage.put(commit1, original.clone())).expect("restore");

    // A missing data file.
    let add_path = latest(&table).files()[0].path.clone();
    let data_path = table.file_path(&add_path);
    let data = block_on(storage.get(&data_path)).expect("data");
    block_on(storage.delete(&data_path)).expect("delete");
    let err = block_on(table.read(&latest(&table))).unwrap_err();
    assert!(err.to_string().contains(&data_path), "{err}");
    block_on(storage.put(&data_path, data)).expect("restore");

    // A gap in the log.
    block_on(table.append(&[trips(&[(Some(2), "NYC", 1.0)])], WriteOptions::default()))
        .expect("append");
    block_on(storage.delete(commit1)).expect("delete");
    let err = block_on(table.snapshot()).unwrap_err();
    assert!(
        matches!(err, DeltaError::MissingCommit { version: 1, .. }),
        "{err}"
    );
    block_on(storage.put(commit1, original)).expect("restore");

    // A protocol this reader does not support.
    let other = DeltaTable::new(Arc::new(storage.clone()), "bronze/future");
    let body = "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}\n{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{}}}\n";
    block_on(storage.put(
        "bronze/future/_delta_log/00000000000000000000.json",
        Bytes::from(body),
    ))
    .expect("put");
    let err = block_on(other.snapshot()).unwrap_err();
    assert!(
        matches!(&err, DeltaError::UnsupportedProtocol { min_reader_version: 3, features, .. } if features == &["deletionVectors"]),
        "{err}"
    );
    assert!(matches!(
        block_on(DeltaTable::new(Arc::new(storage), "nothing/here").snapshot()),
        Err(DeltaError::NotATable { .. })
    ));
}

#[tokio::test]
async fn table_lifecycle_on_the_filesystem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = crate::storage::LocalFileSystem::new(dir.path()).expect("open");
    super::scenario::table_lifecycle(Arc::new(storage)).await;
}

#[test]
fn overwrite_schema_replaces_the_columns() {
    let (_, table) = new_table();
    block_on(table.append(&[trips(&[(Some(1), "NYC", 1.0)])], WriteOptions::default()))
        .expect("append");
    let narrow = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("ride", DataType::Utf8, true)])),
        vec![Arc::new(StringArray::from(vec!["one"]))],
    )
    .expect("batch");
    assert!(
        block_on(table.overwrite(std::slice::from_ref(&narrow), WriteOptions::default())).is_err()
    );
    // Nor does a value that does not fit the column's type become a null.
    let wrong = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "trip_id",
            DataType::Utf8,
            true,
        )])),
        vec![Arc::new(StringArray::from(vec!["one"]))],
    )
    .expect("batch");
    let err = block_on(table.append(&[wrong], WriteOptions::default())).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("silver/trips: schema mismatch: column trip_id: "),
        "{err}"
    );
    let outcome = block_on(table.overwrite(
        &[narrow],
        WriteOptions {
            overwrite_schema: true,
            ..Default::default()
        },
    ))
    .expect("overwrite schema");
    let snapshot = latest(&table);
    assert_eq!(snapshot.version(), outcome.version);
    assert_eq!(snapshot.schema().fields().len(), 1);
    assert_eq!(snapshot.schema().field(0).data_type(), &DataType::Utf8);
    assert_eq!(snapshot.num_records(), Some(1));
}

#[test]
fn changes_list_the_files_appended_after_a_version() {
    let (_, table) = new_table();
    for id in 1..=3 {
        block_on(table.append(&[trips(&[(Some(id), "NYC", 1.0)])], WriteOptions::default()))
            .expect("append");
    }
    let all = block_on(table.changes(-1, 3)).expect("changes");
    assert_eq!(all.len(), 3);
    let later = block_on(table.changes(1, 3)).expect("changes");
    assert_eq!(later.len(), 2);
    assert_eq!(later, latest(&table).files()[1..].to_vec());
    assert!(block_on(table.changes(3, 3)).expect("none").is_empty());

    block_on(table.delete_where("trip_id = 1")).expect("delete");
    let err = block_on(table.changes(3, 4)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "silver/trips: commit 4 (DELETE) changes existing rows; a stream reads only appends (run a full refresh)"
    );
    let missing = block_on(table.changes(3, 9)).unwrap_err();
    assert!(matches!(
        missing,
        DeltaError::NotAppendOnly { .. } | DeltaError::MissingCommit { .. }
    ));
}

#[test]
fn read_columns_decodes_only_the_columns_asked_for() {
    let (_, table) = new_table();
    for id in 1..=2 {
        block_on(table.append(&[trips(&[(Some(id), "NYC", 1.5)])], WriteOptions::default()))
            .expect("append");
    }
    let snapshot = latest(&table);
    let ids =
        block_on(table.read_columns(&snapshot, &["fare".into(), "trip_id".into()])).expect("read");
    let names: Vec<_> = ids
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["fare", "trip_id"]);
    assert_eq!(ids.num_rows(), 2);
    let err = block_on(table.read_columns(&snapshot, &["nope".into()])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "silver/trips: schema mismatch: column nope is not in the table"
    );
    // Only the files whose trip_id range may hold 2 are read.
    let wanted: arrow::array::ArrayRef = Arc::new(Int64Array::from(vec![Some(2), None]));
    let found =
        block_on(table.read_columns_for_keys(&snapshot, &["city".into()], "trip_id", &wanted))
            .expect("read");
    assert_eq!(found.num_rows(), 1);
    let nulls: arrow::array::ArrayRef = Arc::new(Int64Array::from(vec![None::<i64>]));
    let none =
        block_on(table.read_columns_for_keys(&snapshot, &["city".into()], "trip_id", &nulls))
            .expect("read");
    assert_eq!(none.num_rows(), 0);
    let (_, empty) = new_table();
    let none = block_on(empty.read_columns(&latest(&empty), &["city".into()])).expect("empty");
    assert_eq!((none.num_rows(), none.num_columns()), (0, 1));
}

#[test]
fn overwrite_records_the_rows_it_deleted_and_history_reads_them_typed() {
    let (_, table) = new_table();
    let two = trips(&[(Some(1), "NYC", 10.0), (Some(2), "SF", 20.0)]);
    block_on(table.append(&[two], WriteOptions::default())).expect("append");
    block_on(table.overwrite(&[trips(&[(Some(9), "LA", 1.0)])], WriteOptions::default()))
        .expect("overwrite");
    let history = block_on(table.history()).expect("history");
    let (overwrite, append, create) = (&history[0], &history[1], &history[2]);
    assert_eq!(overwrite.operation(), Operation::Overwrite);
    assert_eq!(overwrite.operation_metrics["numDeletedRows"], "2");
    let metrics = overwrite.metrics();
    assert_eq!(
        (
            metrics.rows_inserted,
            metrics.rows_deleted,
            metrics.files_removed
        ),
        (1, 2, 1)
    );
    assert_eq!(append.operation(), Operation::Append);
    assert!(!append.operation_metrics.contains_key("numDeletedRows"));
    assert_eq!(append.metrics().rows_inserted, 2);
    assert_eq!(create.operation(), Operation::CreateTable);
    assert_eq!(create.metrics(), WriteMetrics::default());
}
