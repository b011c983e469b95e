//! [`DeltaTable`]: every operation on one table, each one commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{make_comparator, Array, ArrayRef, BooleanArray, UInt32Array};
use arrow::compute::SortOptions;
use arrow::compute::{cast, concat_batches, filter_record_batch, prep_null_mask_filter, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, RowConverter, SortField};
use arrow::util::display::array_value_to_string;
use bytes::Bytes;
use serde_json::Value;

use super::actions::{Action, Add, CommitInfo, Metadata, Protocol, Remove, Txn};
use super::log::{
    commit_path, history, history_of, read_commit, HistoryEntry, LogListing, Snapshot,
};
use super::stats::{min_max, FileStats};
use super::{checkpoint, parquet_io, schema, DeltaError, DeltaResult};
use crate::storage::{now_ms, Storage, StorageError};

/// Rows per data file written: bounded, so a browser never builds a huge file.
const MAX_ROWS_PER_FILE: usize = 1 << 20;
/// How many lost commit races an append retries before giving up.
const MAX_COMMIT_ATTEMPTS: usize = 20;
/// Default `delta.checkpointInterval`.
const DEFAULT_CHECKPOINT_INTERVAL: i64 = 10;
/// Default retention of removed files before vacuum may delete them: 7 days.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Settings for a new table.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Columns to partition the data files by.
    pub partition_columns: Vec<String>,
    /// Table properties, such as `delta.checkpointInterval`.
    pub properties: BTreeMap<String, String>,
    /// A name shown by readers.
    pub name: Option<String>,
    /// A description shown by readers.
    pub description: Option<String>,
}

/// How a write treats the table's schema.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Record this application batch in a `txn` action (exactly-once streaming).
    pub txn: Option<(String, i64)>,
    /// Add columns the data has and the table lacks, as nullable columns.
    pub merge_schema: bool,
    /// On overwrite, replace the table's schema with the data's (`overwriteSchema`).
    pub overwrite_schema: bool,
}

/// What a write did, as counted in its `commitInfo.operationMetrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteMetrics {
    /// Rows written as new data.
    pub rows_inserted: u64,
    /// Existing rows replaced by a merge.
    pub rows_updated: u64,
    /// Rows removed.
    pub rows_deleted: u64,
    /// Unchanged rows rewritten because their file held changed rows.
    pub rows_copied: u64,
    /// Data files added.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
}

/// The outcome of a merge: its metrics.
pub type MergeMetrics = WriteMetrics;

/// The result of a committed (or skipped) operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The table version after the operation.
    pub version: i64,
    /// Whether a commit was written (a no-op writes none).
    pub committed: bool,
    /// What the operation did.
    pub metrics: WriteMetrics,
    /// Why the checkpoint due at this version could not be written; the commit stands.
    pub checkpoint_error: Option<String>,
}

/// How a merge matches and what it does with unmatched target rows.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The business key: one or more columns present in the source and the table.
    pub keys: Vec<String>,
    /// Delete target rows that no source row matches (`WHEN NOT MATCHED BY SOURCE DELETE`).
    pub delete_unmatched_target: bool,
    /// Add columns the source has and the table lacks.
    pub merge_schema: bool,
    /// Record this application batch in a `txn` action.
    pub txn: Option<(String, i64)>,
    /// A source column ordering the versions of a key (`SEQUENCE BY`): a matched source
    /// row replaces the target row only when its value is not older. Nulls are oldest;
    /// on a tie the source, the later arrival, wins.
    pub sequence_by: Option<String>,
    /// A boolean source column marking deletions: such a row deletes the target row it
    /// matches (when it wins by `sequence_by`) and is never inserted. The column itself
    /// is not written to the table.
    pub delete_marker: Option<String>,
    /// Leave a matched target row alone when the source row holds the same values, so
    /// replaying a source changes nothing.
    pub skip_unchanged: bool,
    /// Accept a source that holds a key more than once: every target row with the key
    /// is replaced by all of them (dbt's `delete+insert`).
    pub duplicate_source_keys: bool,
    /// A SQL predicate over the target's columns: target rows for which it does not
    /// hold are never matched (dbt's `incremental_predicates`).
    pub target_predicate: Option<String>,
}

/// What vacuum deleted, or would delete in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumOutcome {
    /// Store paths of the deleted (or deletable) files.
    pub files: Vec<String>,
}

/// What one source row of a merge does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceFate {
    /// Matches no target row: inserted.
    Inserted,
    /// Replaces the target row it matches.
    Updated,
    /// Deletes the target row it matches.
    Deleted,
    /// Written nowhere: it lost to a newer target row, changes nothing, or is a
    /// deletion with nothing to delete.
    Dropped,
}

/// Whether a commit may be retried on top of commits that won the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// Adds files only: commutes with other blind appends.
    BlindAppend,
    /// Reads the table: any concurrent commit may invalidate it.
    Serializable,
}

/// A Delta table at `root` in a store.
#[derive(Debug, Clone)]
pub struct DeltaTable {
    storage: Arc<dyn Storage>,
    root: String,
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'_' | b'-' | b'=') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Hive-style escaping of a partition value inside a folder name.
fn escape_partition_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control()
            || matches!(
                c,
                '"' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^' | '#'
            )
        {
            for byte in c.to_string().bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A data file's partition values, by column (`add.partitionValues`).
type PartitionValues = BTreeMap<String, Option<String>>;

const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn metrics_map(metrics: &WriteMetrics, operation: &str) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    let mut put = |key: &str, value: u64| {
        map.insert(key.to_owned(), Value::from(value.to_string()));
    };
    match operation {
        "MERGE" => {
            put("numTargetRowsInserted", metrics.rows_inserted);
            put("numTargetRowsUpdated", metrics.rows_updated);
            put("numTargetRowsDeleted", metrics.rows_deleted);
            put("numTargetRowsCopied", metrics.rows_copied);
            put("numTargetFilesAdded", metrics.files_added);
            put("numTargetFilesRemoved", metrics.files_removed);
        }
        "DELETE" => {
            put("numDeletedRows", metrics.rows_deleted);
            put("numCopiedRows", metrics.rows_copied);
            put("numAddedFiles", metrics.files_added);
            put("numRemovedFiles", metrics.files_removed);
        }
        _ => {
            put("numOutputRows", metrics.rows_inserted);
            put("numFiles", metrics.files_added);
            put("numRemovedFiles", metrics.files_removed);
        }
    }
    map
}

fn strings(pairs: &[(&str, String)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(value.clone())))
        .collect()
}

impl DeltaTable {
    /// The table at `root` (for example `bronze/trips`) in `storage`.
    pub fn new(storage: Arc<dyn Storage>, root: impl Into<String>) -> Self {
        Self {
            storage,
            root: root.into().trim_end_matches('/').to_owned(),
        }
    }

    /// The table's root path in the store.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The store the table lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Whether a table exists at the root.
    pub async fn exists(&self) -> DeltaResult<bool> {
        Ok(LogListing::read(self.storage.as_ref(), &self.root)
            .await?
            .latest()
            .is_some())
    }

    /// Creates an empty table with `schema` (stored with Delta's types, all nullable).
    pub async fn create(
        &self,
        schema: &Schema,
        options: TableOptions,
    ) -> DeltaResult<CommitOutcome> {
        let stored = schema::storage_schema(schema).map_err(|detail| self.schema_error(detail))?;
        for column in &options.partition_columns {
            if stored.index_of(column).is_err() {
                return Err(
                    self.schema_error(format!("partition column {column} is not in the schema"))
                );
            }
        }
        let schema_string =
            schema::to_schema_string(&stored).map_err(|detail| self.schema_error(detail))?;
        let now = now_ms();
        let metadata = Metadata {
            id: uuid::Uuid::new_v4().to_string(),
            name: options.name,
            description: options.description,
            format: Default::default(),
            schema_string,
            partition_columns: options.partition_columns.clone(),
            configuration: options
                .properties
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect(),
            created_time: Some(now),
        };
        let info = CommitInfo {
            timestamp: Some(now),
            operation: Some("CREATE TABLE".to_owned()),
            operation_parameters: strings(&[
                ("mode", "ErrorIfExists".to_owned()),
                (
                    "partitionBy",
                    serde_json::to_string(&options.partition_columns).unwrap_or_default(),
                ),
            ]),
            operation_metrics: None,
            read_version: None,
            is_blind_append: None,
            engine_info: Some(engine_info()),
            other: BTreeMap::new(),
        };
        let actions = vec![
            Action::CommitInfo(info),
            Action::Protocol(Protocol::current()),
            Action::Metadata(metadata),
        ];
        let body = Bytes::from(super::actions::serialize_commit(&actions));
        match self
            .storage
            .put_if_absent(&commit_path(&self.root, 0), body)
            .await
        {
            Ok(()) => Ok(CommitOutcome {
                version: 0,
                committed: true,
                metrics: WriteMetrics::default(),
                checkpoint_error: None,
            }),
            Err(StorageError::AlreadyExists { .. }) => Err(DeltaError::AlreadyExists {
                table: self.root.clone(),
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// The latest snapshot.
    pub async fn snapshot(&self) -> DeltaResult<Snapshot> {
        Snapshot::load(self.storage.as_ref(), &self.root, None).await
    }

    /// The snapshot at `version` (time travel).
    pub async fn snapshot_at(&self, version: i64) -> DeltaResult<Snapshot> {
        Snapshot::load(self.storage.as_ref(), &self.root, Some(version)).await
    }

    /// The snapshot as of `timestamp_ms`: the newest version committed at or before it.
    pub async fn snapshot_as_of(&self, timestamp_ms: i64) -> DeltaResult<Snapshot> {
        let entries = self.history().await?;
        let version = entries
            .iter()
            .filter(|entry| entry.timestamp_ms <= timestamp_ms)
            .map(|entry| entry.version)
            .max()
            .ok_or_else(|| DeltaError::TimestampTooEarly {
                table: self.root.clone(),
                timestamp_ms,
            })?;
        self.snapshot_at(version).await
    }

    /// Every commit still in the log, newest first (`DESCRIBE HISTORY`).
    pub async fn history(&self) -> DeltaResult<Vec<HistoryEntry>> {
        history(self.storage.as_ref(), &self.root).await
    }

    /// The newest commit, read alone.
    pub async fn last_commit(&self) -> DeltaResult<Option<HistoryEntry>> {
        Ok(history_of(self.storage.as_ref(), &self.root, 1)
            .await?
            .into_iter()
            .next())
    }

    /// The store path of a data file named by an `add` or `remove`.
    pub fn file_path(&self, add_path: &str) -> String {
        format!("{}/{}", self.root, percent_decode_path(add_path))
    }

    /// Reads one data file of `snapshot`, shaped to the snapshot's schema.
    pub async fn read_file(&self, snapshot: &Snapshot, add: &Add) -> DeltaResult<RecordBatch> {
        self.read_file_as(snapshot, add, &snapshot.schema).await
    }

    /// Every row of `snapshot` in one batch, with only the named columns decoded.
    pub async fn read_columns(
        &self,
        snapshot: &Snapshot,
        columns: &[String],
    ) -> DeltaResult<RecordBatch> {
        self.read_projected(snapshot, columns, None).await
    }

    /// The rows of `snapshot` that may hold one of `values` in column `key`, in one
    /// batch with only the named columns decoded. Files whose statistics show no value
    /// between the least and the greatest of `values` are skipped; the others are read
    /// whole, so rows with other keys come too.
    pub async fn read_columns_for_keys(
        &self,
        snapshot: &Snapshot,
        columns: &[String],
        key: &str,
        values: &ArrayRef,
    ) -> DeltaResult<RecordBatch> {
        let range = match min_max(values) {
            Some((low, Some(high))) => Some((low, high)),
            // Only nulls: no row can match.
            None => {
                return self
                    .read_projected(snapshot, columns, Some(&|_: &Add| false))
                    .await
            }
            // No exact maximum (a long string): no file is skipped.
            Some((_, None)) => None,
        };
        let may_hold = |add: &Add| {
            let Some((low, high)) = &range else {
                return true;
            };
            add.stats
                .as_deref()
                .and_then(FileStats::parse)
                .is_none_or(|stats| stats.may_contain_range(key, low, high))
        };
        self.read_projected(snapshot, columns, Some(&may_hold))
            .await
    }

    async fn read_projected(
        &self,
        snapshot: &Snapshot,
        columns: &[String],
        keep_file: Option<&dyn Fn(&Add) -> bool>,
    ) -> DeltaResult<RecordBatch> {
        let indices = columns
            .iter()
            .map(|column| {
                snapshot
                    .schema
                    .index_of(column)
                    .map_err(|_| self.schema_error(format!("column {column} is not in the table")))
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        let projected = Arc::new(
            snapshot
                .schema
                .project(&indices)
                .map_err(|err| self.schema_error(err.to_string()))?,
        );
        let mut batches = Vec::with_capacity(snapshot.files.len());
        for add in &snapshot.files {
            if keep_file.is_none_or(|keep| keep(add)) {
                batches.push(self.read_file_as(snapshot, add, &projected).await?);
            }
        }
        concat_batches(&projected, &batches).map_err(|err| self.schema_error(err.to_string()))
    }

    /// Reads one data file of `snapshot`, shaped to `schema` (the snapshot's or some
    /// of its columns).
    pub(crate) async fn read_file_as(
        &self,
        snapshot: &Snapshot,
        add: &Add,
        schema: &SchemaRef,
    ) -> DeltaResult<RecordBatch> {
        self.read_file_window(snapshot, add, schema, None).await
    }

    /// Rows `offset..offset + limit` of `snapshot`, counting through its data files in
    /// log order: the files before the window are skipped by their statistics, and
    /// only the row groups of the window are decoded. A file without a row count in
    /// its statistics is read to count it.
    pub async fn read_rows(
        &self,
        snapshot: &Snapshot,
        offset: usize,
        limit: usize,
    ) -> DeltaResult<RecordBatch> {
        let schema = snapshot.schema.clone();
        let end = offset.saturating_add(limit);
        let mut start_of_file = 0usize;
        let mut parts = Vec::new();
        for add in &snapshot.files {
            if start_of_file >= end {
                break;
            }
            let counted = add
                .stats
                .as_deref()
                .and_then(FileStats::parse)
                .map(|stats| stats.num_records.max(0) as usize);
            let rows = match counted {
                Some(rows) => rows,
                None => self.read_file(snapshot, add).await?.num_rows(),
            };
            let file_end = start_of_file + rows;
            if file_end > offset {
                let window =
                    offset.saturating_sub(start_of_file)..end.min(file_end) - start_of_file;
                parts.push(
                    self.read_file_window(snapshot, add, &schema, Some(window))
                        .await?,
                );
            }
            start_of_file = file_end;
        }
        concat_batches(&schema, &parts).map_err(|err| self.schema_error(err.to_string()))
    }

    /// The actions of the commit at `version`, as the log holds them.
    pub async fn commit_actions(&self, version: i64) -> DeltaResult<Vec<Action>> {
        let listing = LogListing::read(self.storage.as_ref(), &self.root).await?;
        let object = listing
            .commits
            .get(&version)
            .ok_or_else(|| DeltaError::MissingCommit {
                table: self.root.clone(),
                version,
            })?;
        read_commit(self.storage.as_ref(), &self.root, version, &object.path).await
    }

    /// Reads rows `window` of one data file (all rows with `None`), shaped to `schema`.
    async fn read_file_window(
        &self,
        snapshot: &Snapshot,
        add: &Add,
        schema: &SchemaRef,
        window: Option<Range<usize>>,
    ) -> DeltaResult<RecordBatch> {
        let path = self.file_path(&add.path);
        let batches =
            parquet_io::read(self.storage.clone(), &path, add.size as u64, schema, window).await;
        let batches = match batches {
            Err(DeltaError::Storage(StorageError::NotFound { .. })) => {
                return Err(DeltaError::Storage(StorageError::NotFound { path }))
            }
            other => other?,
        };
        let batch =
            concat_batches(schema, &batches).map_err(|err| self.schema_error(err.to_string()))?;
        self.fill_partition_columns(snapshot, add, batch)
    }

    /// The data files added by the commits after version `after`, up to and including
    /// `up_to`, in log order: what a streaming reader of the table processes next.
    ///
    /// Like Spark's Delta streaming source, it reads append-only tables: a commit that
    /// removes data (an overwrite, delete or merge) is [`DeltaError::NotAppendOnly`].
    pub async fn changes(&self, after: i64, up_to: i64) -> DeltaResult<Vec<Add>> {
        let listing = LogListing::read(self.storage.as_ref(), &self.root).await?;
        let mut adds = Vec::new();
        for version in (after + 1).max(0)..=up_to {
            let Some(object) = listing.commits.get(&version) else {
                return Err(DeltaError::MissingCommit {
                    table: self.root.clone(),
                    version,
                });
            };
            let actions =
                read_commit(self.storage.as_ref(), &self.root, version, &object.path).await?;
            let operation = actions.iter().find_map(|action| match action {
                Action::CommitInfo(info) => info.operation.clone(),
                _ => None,
            });
            for action in actions {
                match action {
                    Action::Add(add) if add.data_change => adds.push(add),
                    Action::Remove(remove) if remove.data_change => {
                        return Err(DeltaError::NotAppendOnly {
                            table: self.root.clone(),
                            version,
                            operation: operation.unwrap_or_else(|| "unknown".to_owned()),
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(adds)
    }

    /// Every row of `snapshot`, one batch per data file.
    pub async fn read(&self, snapshot: &Snapshot) -> DeltaResult<Vec<RecordBatch>> {
        let mut batches = Vec::with_capacity(snapshot.files.len());
        for add in &snapshot.files {
            batches.push(self.read_file(snapshot, add).await?);
        }
        Ok(batches)
    }

    fn fill_partition_columns(
        &self,
        snapshot: &Snapshot,
        add: &Add,
        batch: RecordBatch,
    ) -> DeltaResult<RecordBatch> {
        if snapshot.metadata.partition_columns.is_empty() {
            return Ok(batch);
        }
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        for name in &snapshot.metadata.partition_columns {
            let Ok(index) = schema.index_of(name) else {
                continue;
            };
            let field = schema.field(index);
            let value = add.partition_values.get(name).cloned().flatten();
            let strings = arrow::array::StringArray::from(vec![value; batch.num_rows()]);
            columns[index] = cast(&strings, field.data_type())
                .map_err(|err| self.schema_error(format!("partition value of {name}: {err}")))?;
        }
        RecordBatch::try_new(schema, columns).map_err(|err| self.schema_error(err.to_string()))
    }

    fn schema_error(&self, detail: impl Into<String>) -> DeltaError {
        DeltaError::Schema {
            table: self.root.clone(),
            detail: detail.into(),
        }
    }

    /// The schema for writing `batches`: the table's, or with the batches' new columns
    /// appended (and the `metaData` action that records them) when `merge_schema`. A
    /// column the table cannot take is an error.
    fn evolve(
        &self,
        snapshot: &Snapshot,
        batches: &[RecordBatch],
        merge_schema: bool,
    ) -> DeltaResult<(SchemaRef, Option<Action>)> {
        let mut fields: Vec<Field> = snapshot
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let known = fields.len();
        for batch in batches {
            for field in batch.schema().fields() {
                let stored = schema::storage_type(field.data_type())
                    .map_err(|detail| self.schema_error(detail))?;
                match fields
                    .iter()
                    .find(|existing| existing.name() == field.name())
                {
                    Some(existing) => {
                        if !arrow::compute::can_cast_types(&stored, existing.data_type()) {
                            return Err(self.schema_error(format!(
                                "column {} is {} in the data but {} in the table",
                                field.name(),
                                stored,
                                existing.data_type()
                            )));
                        }
                    }
                    None if merge_schema => fields.push(Field::new(field.name(), stored, true)),
                    None => {
                        return Err(self.schema_error(format!(
                            "column {} is not in the table (write with merge_schema to add it)",
                            field.name()
                        )))
                    }
                }
            }
        }
        if fields.len() == known {
            return Ok((snapshot.schema.clone(), None));
        }
        let evolved = Arc::new(Schema::new(fields));
        let metadata = self.metadata_with_schema(snapshot, &evolved)?;
        Ok((evolved, Some(Action::Metadata(metadata))))
    }

    /// The data's schema in place of the table's (`overwriteSchema`), and the `metaData`
    /// action recording it when it differs. Partition columns must stay.
    fn replace_schema(
        &self,
        snapshot: &Snapshot,
        batches: &[RecordBatch],
    ) -> DeltaResult<(SchemaRef, Option<Action>)> {
        let Some(first) = batches.first() else {
            return Ok((snapshot.schema.clone(), None));
        };
        let fields = first
            .schema()
            .fields()
            .iter()
            .map(|field| {
                schema::storage_type(field.data_type())
                    .map(|stored| Field::new(field.name(), stored, true))
                    .map_err(|detail| self.schema_error(detail))
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        for column in &snapshot.metadata.partition_columns {
            if !fields.iter().any(|field| field.name() == column) {
                return Err(self.schema_error(format!(
                    "partition column {column} is not in the new schema"
                )));
            }
        }
        let replaced = Arc::new(Schema::new(fields));
        let same = replaced.fields().len() == snapshot.schema.fields().len()
            && replaced
                .fields()
                .iter()
                .zip(snapshot.schema.fields())
                .all(|(new, old)| new.name() == old.name() && new.data_type() == old.data_type());
        if same {
            return Ok((snapshot.schema.clone(), None));
        }
        let metadata = self.metadata_with_schema(snapshot, &replaced)?;
        Ok((replaced, Some(Action::Metadata(metadata))))
    }

    fn metadata_with_schema(&self, snapshot: &Snapshot, schema: &Schema) -> DeltaResult<Metadata> {
        let mut metadata = snapshot.metadata.clone();
        metadata.schema_string =
            schema::to_schema_string(schema).map_err(|detail| self.schema_error(detail))?;
        Ok(metadata)
    }

    /// Aligns `batches` to `schema` and writes them as data files, split by partition
    /// values and by [`MAX_ROWS_PER_FILE`]. Returns the `add` actions.
    async fn write_data(
        &self,
        schema: &SchemaRef,
        partition_columns: &[String],
        batches: &[RecordBatch],
    ) -> DeltaResult<(Vec<Add>, u64)> {
        let aligned = batches
            .iter()
            .map(|batch| parquet_io::align(batch, schema, &self.root))
            .collect::<DeltaResult<Vec<_>>>()?;
        let all =
            concat_batches(schema, &aligned).map_err(|err| self.schema_error(err.to_string()))?;
        let rows = all.num_rows() as u64;
        if rows == 0 {
            return Ok((Vec::new(), 0));
        }
        let mut adds = Vec::new();
        for (partition_values, batch) in self.split_by_partition(&all, partition_columns)? {
            let data_schema = Arc::new(Schema::new(
                schema
                    .fields()
                    .iter()
                    .filter(|field| !partition_columns.contains(field.name()))
                    .map(|field| field.as_ref().clone())
                    .collect::<Vec<_>>(),
            ));
            let data = parquet_io::align(&batch, &data_schema, &self.root)?;
            let folder: String = partition_columns
                .iter()
                .map(|column| {
                    let value = partition_values.get(column).cloned().flatten();
                    let value = value
                        .map(|value| escape_partition_value(&value))
                        .unwrap_or_else(|| NULL_PARTITION.to_owned());
                    format!("{column}={value}/")
                })
                .collect();
            let mut offset = 0;
            while offset < data.num_rows() {
                let length = MAX_ROWS_PER_FILE.min(data.num_rows() - offset);
                let chunk = data.slice(offset, length);
                offset += length;
                let name = format!(
                    "{folder}part-{:05}-{}-c000.snappy.parquet",
                    adds.len(),
                    uuid::Uuid::new_v4()
                );
                let path = format!("{}/{name}", self.root);
                let file = parquet_io::encode(&chunk, &path)?;
                let size = file.len() as i64;
                self.storage.put_if_absent(&path, file).await?;
                let stats = FileStats::of(&chunk);
                adds.push(Add {
                    path: percent_encode_path(&name),
                    partition_values: partition_values.clone(),
                    size,
                    modification_time: now_ms(),
                    data_change: true,
                    stats: Some(stats.to_json()),
                    tags: None,
                });
            }
        }
        Ok((adds, rows))
    }

    fn split_by_partition(
        &self,
        batch: &RecordBatch,
        partition_columns: &[String],
    ) -> DeltaResult<Vec<(PartitionValues, RecordBatch)>> {
        if partition_columns.is_empty() {
            return Ok(vec![(BTreeMap::new(), batch.clone())]);
        }
        let columns = partition_columns
            .iter()
            .map(|name| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| self.schema_error(format!("partition column {name} is missing")))
            })
            .collect::<DeltaResult<Vec<ArrayRef>>>()?;
        let mut groups: BTreeMap<Vec<Option<String>>, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let key = columns
                .iter()
                .map(|column| {
                    (!column.is_null(row))
                        .then(|| array_value_to_string(column, row).unwrap_or_default())
                })
                .collect();
            groups.entry(key).or_default().push(row as u32);
        }
        groups
            .into_iter()
            .map(|(key, rows)| {
                let indices = UInt32Array::from(rows);
                let columns = batch
                    .columns()
                    .iter()
                    .map(|column| take(column, &indices, None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| self.schema_error(err.to_string()))?;
                let part = RecordBatch::try_new(batch.schema(), columns)
                    .map_err(|err| self.schema_error(err.to_string()))?;
                let values = partition_columns.iter().cloned().zip(key).collect();
                Ok((values, part))
            })
            .collect()
    }

    /// Appends rows (`WRITE`, mode Append).
    pub async fn append(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
    ) -> DeltaResult<CommitOutcome> {
        self.write(batches, options, false).await
    }

    /// Replaces every row (`WRITE`, mode Overwrite).
    pub async fn overwrite(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
    ) -> DeltaResult<CommitOutcome> {
        self.write(batches, options, true).await
    }

    async fn write(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
        overwrite: bool,
    ) -> DeltaResult<CommitOutcome> {
        let snapshot = self.snapshot().await?;
        snapshot.check_writable()?;
        let (schema, metadata) = if overwrite && options.overwrite_schema {
            self.replace_schema(&snapshot, batches)?
        } else {
            self.evolve(&snapshot, batches, options.merge_schema)?
        };
        let mut actions: Vec<Action> = metadata.into_iter().collect();
        let (adds, rows) = self
            .write_data(&schema, &snapshot.metadata.partition_columns, batches)
            .await?;
        let mut metrics = WriteMetrics {
            rows_inserted: rows,
            files_added: adds.len() as u64,
            ..Default::default()
        };
        if overwrite {
            let now = now_ms();
            for add in &snapshot.files {
                actions.push(Action::Remove(remove_of(add, now)));
            }
            metrics.files_removed = snapshot.files.len() as u64;
            metrics.rows_deleted = snapshot.num_records().unwrap_or(0) as u64;
        }
        actions.extend(adds.into_iter().map(Action::Add));
        let mode = if overwrite { "Overwrite" } else { "Append" };
        let isolation = if overwrite || actions.iter().any(|a| matches!(a, Action::Metadata(_))) {
            Isolation::Serializable
        } else {
            Isolation::BlindAppend
        };
        self.commit(
            &snapshot,
            actions,
            "WRITE",
            strings(&[("mode", mode.to_owned())]),
            metrics,
            options.txn,
            isolation,
        )
        .await
    }

    /// A SQL predicate over `schema`'s columns, planned for evaluation on batches.
    fn compile_predicate(
        &self,
        schema: &Schema,
        predicate: &str,
    ) -> DeltaResult<Arc<dyn datafusion::physical_expr::PhysicalExpr>> {
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let session = datafusion::prelude::SessionContext::new();
        let df_schema = datafusion::common::DFSchema::try_from(schema.clone())
            .map_err(|err| predicate_error(err.to_string()))?;
        let expr = session
            .parse_sql_expr(predicate, &df_schema)
            .map_err(|err| predicate_error(err.to_string()))?;
        session
            .create_physical_expr(expr, &df_schema)
            .map_err(|err| predicate_error(err.to_string()))
    }

    /// Which rows of `batch` the predicate holds for (a null result does not hold, as
    /// in SQL's WHERE).
    fn evaluate_predicate(
        &self,
        compiled: &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        predicate: &str,
        batch: &RecordBatch,
    ) -> DeltaResult<BooleanArray> {
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let matches = compiled
            .evaluate(batch)
            .and_then(|value| value.into_array(batch.num_rows()))
            .map_err(|err| predicate_error(err.to_string()))?;
        let matches = matches
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| predicate_error("the predicate is not a boolean".to_owned()))?;
        Ok(if matches.null_count() > 0 {
            prep_null_mask_filter(matches)
        } else {
            matches.clone()
        })
    }

    /// Deletes the rows matching a SQL predicate (`DELETE WHERE`), rewriting only the
    /// files that hold such rows.
    pub async fn delete_where(&self, predicate: &str) -> DeltaResult<CommitOutcome> {
        let snapshot = self.snapshot().await?;
        snapshot.check_writable()?;
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let compiled = self.compile_predicate(&snapshot.schema, predicate)?;

        let mut actions = Vec::new();
        let mut metrics = WriteMetrics::default();
        let now = now_ms();
        for add in &snapshot.files {
            let batch = self.read_file(&snapshot, add).await?;
            let deleted = self.evaluate_predicate(&compiled, predicate, &batch)?;
            let deleted_rows = deleted.true_count();
            if deleted_rows == 0 {
                continue;
            }
            let keep =
                arrow::compute::not(&deleted).map_err(|err| predicate_error(err.to_string()))?;
            let kept = filter_record_batch(&batch, &keep)
                .map_err(|err| predicate_error(err.to_string()))?;
            metrics.rows_deleted += deleted_rows as u64;
            metrics.rows_copied += kept.num_rows() as u64;
            metrics.files_removed += 1;
            actions.push(Action::Remove(remove_of(add, now)));
            let (adds, _) = self
                .write_data(
                    &snapshot.schema,
                    &snapshot.metadata.partition_columns,
                    &[kept],
                )
                .await?;
            metrics.files_added += adds.len() as u64;
            actions.extend(adds.into_iter().map(Action::Add));
        }
        self.commit(
            &snapshot,
            actions,
            "DELETE",
            strings(&[(
                "predicate",
                serde_json::to_string(&[predicate]).unwrap_or_default(),
            )]),
            metrics,
            None,
            Isolation::Serializable,
        )
        .await
    }

    /// Upserts `source` on `options.keys` (copy-on-write `MERGE`).
    ///
    /// Source rows whose key matches a target row replace it, unless they lose to it by
    /// `sequence_by` or hold the same values under `skip_unchanged`; rows flagged by
    /// `delete_marker` delete the row they match; the others are inserted. Only files
    /// whose key statistics overlap the source's keys are read, and only files holding
    /// replaced or deleted rows are rewritten. A key that appears twice in the source is
    /// an error. A row with a null key never matches (SQL equality), so it is inserted.
    pub async fn merge(
        &self,
        source: &[RecordBatch],
        options: MergeOptions,
    ) -> DeltaResult<CommitOutcome> {
        let snapshot = self.snapshot().await?;
        snapshot.check_writable()?;
        if options.keys.is_empty() {
            return Err(self.schema_error("a merge needs at least one key column"));
        }
        let (source, deletes) =
            self.split_delete_marker(source, options.delete_marker.as_deref())?;
        let (schema, metadata) = self.evolve(&snapshot, &source, options.merge_schema)?;
        let mut actions: Vec<Action> = metadata.into_iter().collect();
        for key in &options.keys {
            if schema.index_of(key).is_err() {
                return Err(self.schema_error(format!("merge key {key} is not in the table")));
            }
        }
        let aligned = source
            .iter()
            .map(|batch| {
                for key in &options.keys {
                    if batch.schema().index_of(key).is_err() {
                        return Err(
                            self.schema_error(format!("merge key {key} is not in the source"))
                        );
                    }
                }
                parquet_io::align(batch, &schema, &self.root)
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        let source =
            concat_batches(&schema, &aligned).map_err(|err| self.schema_error(err.to_string()))?;
        let sequence = match &options.sequence_by {
            Some(column) => Some(schema.index_of(column).map_err(|_| {
                self.schema_error(format!("sequence column {column} is not in the table"))
            })?),
            None => None,
        };

        let key_indices: Vec<usize> = options
            .keys
            .iter()
            .map(|key| schema.index_of(key).unwrap_or_default())
            .collect();
        let converter = RowConverter::new(
            key_indices
                .iter()
                .map(|&index| SortField::new(schema.field(index).data_type().clone()))
                .collect(),
        )
        .map_err(|err| self.schema_error(err.to_string()))?;
        let key_rows = |batch: &RecordBatch| -> DeltaResult<(arrow::row::Rows, Vec<bool>)> {
            let columns: Vec<ArrayRef> = key_indices
                .iter()
                .map(|&i| batch.column(i).clone())
                .collect();
            let has_null = (0..batch.num_rows())
                .map(|row| columns.iter().any(|column| column.is_null(row)))
                .collect();
            let rows = converter
                .convert_columns(&columns)
                .map_err(|err| self.schema_error(err.to_string()))?;
            Ok((rows, has_null))
        };
        // Whole rows, to tell an unchanged row from an update.
        let value_converter = options
            .skip_unchanged
            .then(|| {
                RowConverter::new(
                    schema
                        .fields()
                        .iter()
                        .map(|field| SortField::new(field.data_type().clone()))
                        .collect(),
                )
            })
            .transpose()
            .map_err(|err| self.schema_error(err.to_string()))?;
        let value_rows = |batch: &RecordBatch| -> DeltaResult<Option<arrow::row::Rows>> {
            value_converter
                .as_ref()
                .map(|converter| converter.convert_columns(batch.columns()))
                .transpose()
                .map_err(|err| self.schema_error(err.to_string()))
        };

        // The source's keys, checked for duplicates.
        let (source_rows, source_null) = key_rows(&source)?;
        let source_values = value_rows(&source)?;
        let mut source_keys: HashMap<OwnedRow, usize> = HashMap::with_capacity(source.num_rows());
        for (row, &null_key) in source_null.iter().enumerate() {
            if null_key {
                continue;
            }
            if source_keys
                .insert(source_rows.row(row).owned(), row)
                .is_some()
                && !options.duplicate_source_keys
            {
                let key = key_indices
                    .iter()
                    .map(|&i| array_value_to_string(source.column(i), row).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(DeltaError::DuplicateMergeKey {
                    table: self.root.clone(),
                    key,
                });
            }
        }
        // What each source row does; matches below may change it.
        let mut fates: Vec<SourceFate> = deletes
            .iter()
            .map(|&delete| {
                if delete {
                    SourceFate::Dropped
                } else {
                    SourceFate::Inserted
                }
            })
            .collect();
        // The source's key ranges, to skip files that cannot hold a match.
        let ranges: Vec<Option<(String, Value, Value)>> = key_indices
            .iter()
            .map(|&index| {
                min_max(source.column(index)).and_then(|(low, high)| {
                    high.map(|high| (schema.field(index).name().clone(), low, high))
                })
            })
            .collect();

        let target_predicate = options
            .target_predicate
            .as_deref()
            .map(|predicate| self.compile_predicate(&schema, predicate))
            .transpose()?;
        let mut metrics = WriteMetrics::default();
        let now = now_ms();
        for add in &snapshot.files {
            if !options.delete_unmatched_target {
                if source_keys.is_empty() {
                    break;
                }
                let stats = add.stats.as_deref().and_then(FileStats::parse);
                let disjoint = stats.is_some_and(|stats| {
                    ranges
                        .iter()
                        .flatten()
                        .any(|(column, low, high)| !stats.may_contain_range(column, low, high))
                });
                if disjoint {
                    continue;
                }
            }
            let target = self.read_file(&snapshot, add).await?;
            let target = parquet_io::align(&target, &schema, &self.root)?;
            let eligible = match (&target_predicate, &options.target_predicate) {
                (Some(compiled), Some(predicate)) => {
                    Some(self.evaluate_predicate(compiled, predicate, &target)?)
                }
                _ => None,
            };
            let (target_rows, target_null) = key_rows(&target)?;
            let target_values = value_rows(&target)?;
            let sequence_order = sequence
                .map(|index| {
                    make_comparator(
                        target.column(index).as_ref(),
                        source.column(index).as_ref(),
                        SortOptions {
                            descending: false,
                            nulls_first: true,
                        },
                    )
                })
                .transpose()
                .map_err(|err| self.schema_error(err.to_string()))?;
            let mut keep = Vec::with_capacity(target.num_rows());
            let (mut updated, mut deleted) = (0u64, 0u64);
            for (row, &null_key) in target_null.iter().enumerate() {
                let considered = !null_key && eligible.as_ref().is_none_or(|e| e.value(row));
                let matched = considered
                    .then(|| source_keys.get(&target_rows.row(row).owned()))
                    .flatten();
                let Some(&source_row) = matched else {
                    if options.delete_unmatched_target {
                        deleted += 1;
                        keep.push(false);
                    } else {
                        keep.push(true);
                    }
                    continue;
                };
                let source_wins = sequence_order
                    .as_ref()
                    .is_none_or(|order| order(row, source_row) != std::cmp::Ordering::Greater);
                let unchanged = match (&target_values, &source_values) {
                    (Some(target_values), Some(source_values)) => {
                        target_values.row(row) == source_values.row(source_row)
                    }
                    _ => false,
                };
                if !source_wins {
                    fates[source_row] = SourceFate::Dropped;
                    keep.push(true);
                } else if deletes[source_row] {
                    fates[source_row] = SourceFate::Deleted;
                    deleted += 1;
                    keep.push(false);
                } else if unchanged {
                    fates[source_row] = SourceFate::Dropped;
                    keep.push(true);
                } else {
                    fates[source_row] = SourceFate::Updated;
                    updated += 1;
                    keep.push(false);
                }
            }
            if updated == 0 && deleted == 0 {
                continue;
            }
            let kept = filter_record_batch(&target, &BooleanArray::from(keep))
                .map_err(|err| self.schema_error(err.to_string()))?;
            metrics.rows_updated += updated;
            metrics.rows_deleted += deleted;
            metrics.rows_copied += kept.num_rows() as u64;
            metrics.files_removed += 1;
            actions.push(Action::Remove(remove_of(add, now)));
            let (adds, _) = self
                .write_data(&schema, &snapshot.metadata.partition_columns, &[kept])
                .await?;
            metrics.files_added += adds.len() as u64;
            actions.extend(adds.into_iter().map(Action::Add));
        }
        metrics.rows_inserted = fates
            .iter()
            .filter(|fate| **fate == SourceFate::Inserted)
            .count() as u64;
        let written = BooleanArray::from(
            fates
                .iter()
                .map(|fate| matches!(fate, SourceFate::Inserted | SourceFate::Updated))
                .collect::<Vec<_>>(),
        );
        let written = filter_record_batch(&source, &written)
            .map_err(|err| self.schema_error(err.to_string()))?;
        let (adds, _) = self
            .write_data(&schema, &snapshot.metadata.partition_columns, &[written])
            .await?;
        metrics.files_added += adds.len() as u64;
        actions.extend(adds.into_iter().map(Action::Add));
        let predicate = options
            .keys
            .iter()
            .map(|key| format!("target.{key} = source.{key}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut parameters = vec![
            ("predicate", predicate),
            (
                "notMatchedBySourceDelete",
                options.delete_unmatched_target.to_string(),
            ),
        ];
        if let Some(column) = &options.sequence_by {
            parameters.push(("sequenceBy", column.clone()));
        }
        if let Some(column) = &options.delete_marker {
            parameters.push(("matchedDeleteWhen", format!("source.{column}")));
        }
        // A merge that changes nothing commits nothing, its txn included: running it
        // again is just as harmless.
        let txn = if actions.is_empty() {
            None
        } else {
            options.txn
        };
        self.commit(
            &snapshot,
            actions,
            "MERGE",
            strings(&parameters),
            metrics,
            txn,
            Isolation::Serializable,
        )
        .await
    }

    /// Takes the boolean `marker` column out of `source`: the batches without it, and
    /// for every source row (in order) whether it marks a deletion (null: no).
    fn split_delete_marker(
        &self,
        source: &[RecordBatch],
        marker: Option<&str>,
    ) -> DeltaResult<(Vec<RecordBatch>, Vec<bool>)> {
        let Some(marker) = marker else {
            let rows = source.iter().map(RecordBatch::num_rows).sum();
            return Ok((source.to_vec(), vec![false; rows]));
        };
        let mut batches = Vec::with_capacity(source.len());
        let mut deletes = Vec::new();
        for batch in source {
            let index = batch.schema().index_of(marker).map_err(|_| {
                self.schema_error(format!("delete marker {marker} is not in the source"))
            })?;
            let flags = cast(batch.column(index), &arrow::datatypes::DataType::Boolean)
                .map_err(|err| self.schema_error(format!("delete marker {marker}: {err}")))?;
            let flags = flags
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| {
                    self.schema_error(format!("delete marker {marker} is not boolean"))
                })?;
            deletes.extend((0..flags.len()).map(|row| flags.is_valid(row) && flags.value(row)));
            let mut batch = batch.clone();
            batch.remove_column(index);
            batches.push(batch);
        }
        Ok((batches, deletes))
    }

    /// Commits `actions` on top of `read` as the next version, retrying a lost race
    /// when the winners cannot conflict with this commit.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        read: &Snapshot,
        mut actions: Vec<Action>,
        operation: &str,
        parameters: BTreeMap<String, Value>,
        metrics: WriteMetrics,
        txn: Option<(String, i64)>,
        isolation: Isolation,
    ) -> DeltaResult<CommitOutcome> {
        if actions.is_empty() && txn.is_none() {
            return Ok(CommitOutcome {
                version: read.version,
                committed: false,
                metrics,
                checkpoint_error: None,
            });
        }
        let now = now_ms();
        if let Some((app_id, version)) = &txn {
            actions.push(Action::Txn(Txn {
                app_id: app_id.clone(),
                version: *version,
                last_updated: Some(now),
            }));
        }
        let info = CommitInfo {
            timestamp: Some(now),
            operation: Some(operation.to_owned()),
            operation_parameters: parameters,
            operation_metrics: Some(metrics_map(&metrics, operation)),
            read_version: Some(read.version),
            is_blind_append: Some(isolation == Isolation::BlindAppend),
            engine_info: Some(engine_info()),
            other: BTreeMap::new(),
        };
        actions.insert(0, Action::CommitInfo(info));
        let body = Bytes::from(super::actions::serialize_commit(&actions));
        let mut version = read.version + 1;
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            match self
                .storage
                .put_if_absent(&commit_path(&self.root, version), body.clone())
                .await
            {
                Ok(()) => {
                    let checkpoint_error = self
                        .checkpoint_if_due(read, version)
                        .await
                        .err()
                        .map(|err| err.to_string());
                    return Ok(CommitOutcome {
                        version,
                        committed: true,
                        metrics,
                        checkpoint_error,
                    });
                }
                Err(StorageError::AlreadyExists { .. }) => {
                    let winner = read_commit(
                        self.storage.as_ref(),
                        &self.root,
                        version,
                        &commit_path(&self.root, version),
                    )
                    .await?;
                    self.check_no_conflict(version, operation, isolation, txn.as_ref(), &winner)?;
                    version += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(DeltaError::Conflict {
            table: self.root.clone(),
            version,
            operation: operation.to_owned(),
            detail: format!("lost {MAX_COMMIT_ATTEMPTS} commit races in a row"),
        })
    }

    fn check_no_conflict(
        &self,
        version: i64,
        operation: &str,
        isolation: Isolation,
        txn: Option<&(String, i64)>,
        winner: &[Action],
    ) -> DeltaResult<()> {
        let conflict = |detail: &str| DeltaError::Conflict {
            table: self.root.clone(),
            version,
            operation: operation.to_owned(),
            detail: detail.to_owned(),
        };
        if isolation == Isolation::Serializable {
            return Err(conflict("it changed the table this operation read"));
        }
        for action in winner {
            match action {
                Action::Metadata(_) => return Err(conflict("it changed the table's metadata")),
                Action::Protocol(_) => return Err(conflict("it changed the table's protocol")),
                Action::Remove(_) => return Err(conflict("it removed data files")),
                Action::Txn(other) if txn.is_some_and(|(app_id, _)| *app_id == other.app_id) => {
                    return Err(conflict("it committed for the same application id"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn checkpoint_if_due(&self, read: &Snapshot, version: i64) -> DeltaResult<()> {
        let interval = read
            .property("delta.checkpointInterval")
            .and_then(|value| value.parse::<i64>().ok())
            .filter(|interval| *interval > 0)
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if version % interval != 0 {
            return Ok(());
        }
        let snapshot = self.snapshot_at(version).await?;
        checkpoint::write(
            self.storage.as_ref(),
            &snapshot,
            now_ms() - DEFAULT_RETENTION_MS,
        )
        .await
    }

    /// Writes a checkpoint of the latest version now.
    pub async fn checkpoint(&self) -> DeltaResult<i64> {
        let snapshot = self.snapshot().await?;
        checkpoint::write(
            self.storage.as_ref(),
            &snapshot,
            now_ms() - DEFAULT_RETENTION_MS,
        )
        .await?;
        Ok(snapshot.version)
    }

    /// Deletes data files the latest version no longer uses and that were removed (or,
    /// if never committed, written) more than `retention_ms` ago. With `dry_run`,
    /// only lists them.
    pub async fn vacuum(&self, retention_ms: i64, dry_run: bool) -> DeltaResult<VacuumOutcome> {
        let snapshot = self.snapshot().await?;
        let cutoff = now_ms() - retention_ms;
        let live: HashSet<String> = snapshot
            .files
            .iter()
            .map(|add| self.file_path(&add.path))
            .collect();
        let removed_at: HashMap<String, i64> = snapshot
            .tombstones
            .iter()
            .map(|remove| {
                (
                    self.file_path(&remove.path),
                    remove.deletion_timestamp.unwrap_or(0),
                )
            })
            .collect();
        let log = format!("{}/_delta_log/", self.root);
        let mut outcome = VacuumOutcome::default();
        for object in self.storage.list(&format!("{}/", self.root)).await? {
            if object.path.starts_with(&log) || live.contains(&object.path) {
                continue;
            }
            let since = removed_at
                .get(&object.path)
                .copied()
                .unwrap_or(object.last_modified_ms);
            if since <= cutoff {
                if !dry_run {
                    self.storage.delete(&object.path).await?;
                }
                outcome.files.push(object.path);
            }
        }
        Ok(outcome)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
impl DeltaTable {
    /// Commits `actions` as a blind append or a serialisable write read at `read`.
    pub(crate) async fn commit_for_test(
        &self,
        read: &Snapshot,
        actions: Vec<Action>,
        isolation: Isolation,
    ) -> DeltaResult<CommitOutcome> {
        let txn = Some(("test".to_owned(), read.version));
        self.commit(
            read,
            actions,
            "WRITE",
            BTreeMap::new(),
            WriteMetrics::default(),
            txn,
            isolation,
        )
        .await
    }
}

fn remove_of(add: &Add, now: i64) -> Remove {
    Remove {
        path: add.path.clone(),
        deletion_timestamp: Some(now),
        data_change: true,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values.clone()),
        size: Some(add.size),
    }
}

fn engine_info() -> String {
    format!("medallion/{}", env!("CARGO_PKG_VERSION"))
}
