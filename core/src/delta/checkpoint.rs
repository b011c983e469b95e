//! Parquet checkpoints: the whole table state at one version, in one file.
//!
//! `_delta_log/%020d.checkpoint.parquet` holds one row per action (protocol, metaData,
//! txn, add, and the tombstones of recently removed files) in the protocol's column
//! layout, and `_delta_log/_last_checkpoint` points at the newest one. Rows go through
//! arrow-json both ways, so the columns are exactly the actions' JSON fields.

use std::io::Cursor;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::json::{LineDelimitedWriter, ReaderBuilder};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::actions::{parse_commit, serialize_commit, Action, Txn};
use super::log::Snapshot;
use super::{parquet_io, DeltaError, DeltaResult};
use crate::storage::{ObjectMeta, Storage};

/// The contents of `_delta_log/_last_checkpoint`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LastCheckpoint {
    pub version: i64,
    pub size: i64,
}

fn map_of_strings() -> DataType {
    let entries = Field::new(
        "key_value",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

fn list_of_strings() -> DataType {
    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true)))
}

fn structure(fields: Vec<Field>) -> DataType {
    DataType::Struct(Fields::from(fields))
}

/// The checkpoint columns, as the protocol lays them out.
fn checkpoint_schema() -> SchemaRef {
    use DataType::{Boolean, Int32, Int64, Utf8};
    Arc::new(Schema::new(vec![
        Field::new(
            "txn",
            structure(vec![
                Field::new("appId", Utf8, true),
                Field::new("version", Int64, true),
                Field::new("lastUpdated", Int64, true),
            ]),
            true,
        ),
        Field::new(
            "add",
            structure(vec![
                Field::new("path", Utf8, true),
                Field::new("partitionValues", map_of_strings(), true),
                Field::new("size", Int64, true),
                Field::new("modificationTime", Int64, true),
                Field::new("dataChange", Boolean, true),
                Field::new("stats", Utf8, true),
                Field::new("tags", map_of_strings(), true),
            ]),
            true,
        ),
        Field::new(
            "remove",
            structure(vec![
                Field::new("path", Utf8, true),
                Field::new("deletionTimestamp", Int64, true),
                Field::new("dataChange", Boolean, true),
                Field::new("extendedFileMetadata", Boolean, true),
                Field::new("partitionValues", map_of_strings(), true),
                Field::new("size", Int64, true),
            ]),
            true,
        ),
        Field::new(
            "metaData",
            structure(vec![
                Field::new("id", Utf8, true),
                Field::new("name", Utf8, true),
                Field::new("description", Utf8, true),
                Field::new(
                    "format",
                    structure(vec![
                        Field::new("provider", Utf8, true),
                        Field::new("options", map_of_strings(), true),
                    ]),
                    true,
                ),
                Field::new("schemaString", Utf8, true),
                Field::new("partitionColumns", list_of_strings(), true),
                Field::new("configuration", map_of_strings(), true),
                Field::new("createdTime", Int64, true),
            ]),
            true,
        ),
        Field::new(
            "protocol",
            structure(vec![
                Field::new("minReaderVersion", Int32, true),
                Field::new("minWriterVersion", Int32, true),
                Field::new("readerFeatures", list_of_strings(), true),
                Field::new("writerFeatures", list_of_strings(), true),
            ]),
            true,
        ),
    ]))
}

fn corrupt(root: &str, version: i64, detail: impl ToString) -> DeltaError {
    DeltaError::CorruptCheckpoint {
        table: root.to_owned(),
        version,
        detail: detail.to_string(),
    }
}

/// The actions a checkpoint of `snapshot` holds.
fn actions_of(snapshot: &Snapshot, tombstone_cutoff_ms: i64) -> Vec<Action> {
    let mut actions = vec![
        Action::Protocol(snapshot.protocol.clone()),
        Action::Metadata(snapshot.metadata.clone()),
    ];
    let mut txns: Vec<_> = snapshot.txns.iter().collect();
    txns.sort();
    actions.extend(txns.into_iter().map(|(app_id, version)| {
        Action::Txn(Txn {
            app_id: app_id.clone(),
            version: *version,
            last_updated: None,
        })
    }));
    actions.extend(snapshot.files.iter().cloned().map(Action::Add));
    actions.extend(
        snapshot
            .tombstones
            .iter()
            .filter(|remove| remove.deletion_timestamp.unwrap_or(0) >= tombstone_cutoff_ms)
            .cloned()
            .map(Action::Remove),
    );
    actions
}

/// Writes the checkpoint of `snapshot` and points `_last_checkpoint` at it. Tombstones
/// older than `tombstone_cutoff_ms` are dropped: vacuum may already have removed them.
pub(crate) async fn write(
    storage: &dyn Storage,
    snapshot: &Snapshot,
    tombstone_cutoff_ms: i64,
) -> DeltaResult<()> {
    let root = &snapshot.table;
    let version = snapshot.version;
    let actions = actions_of(snapshot, tombstone_cutoff_ms);
    let lines = serialize_commit(&actions);
    let schema = checkpoint_schema();
    let mut decoder = ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(|err| corrupt(root, version, err))?;
    decoder
        .decode(&lines)
        .map_err(|err| corrupt(root, version, err))?;
    let batch = decoder
        .flush()
        .map_err(|err| corrupt(root, version, err))?
        .unwrap_or_else(|| RecordBatch::new_empty(schema));
    let path = format!("{root}/_delta_log/{version:020}.checkpoint.parquet");
    let file = parquet_io::encode(&batch, &path)?;
    // A checkpoint of a version is always the same content, so replacing one is safe.
    storage.put(&path, file).await?;
    let last = LastCheckpoint {
        version,
        size: actions.len() as i64,
    };
    let last = serde_json::to_vec(&last).map_err(|err| corrupt(root, version, err))?;
    storage
        .put(
            &format!("{root}/_delta_log/_last_checkpoint"),
            Bytes::from(last),
        )
        .await?;
    Ok(())
}

/// Reads the actions of the checkpoint at `version`.
pub(crate) async fn read(
    storage: &dyn Storage,
    root: &str,
    version: i64,
    object: &ObjectMeta,
) -> DeltaResult<Vec<Action>> {
    // Checkpoints hold metadata only (one row per live file), so they are read whole.
    let file = storage.get(&object.path).await?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(|err| corrupt(root, version, err))?;
    let mut lines = Vec::new();
    {
        let mut writer = LineDelimitedWriter::new(Cursor::new(&mut lines));
        for batch in reader {
            let batch = batch.map_err(|err| corrupt(root, version, err))?;
            writer
                .write(&batch)
                .map_err(|err| corrupt(root, version, err))?;
        }
        writer.finish().map_err(|err| corrupt(root, version, err))?;
    }
    parse_commit(&lines)
        .map_err(|(line, detail)| corrupt(root, version, format!("row {line}: {detail}")))
}
