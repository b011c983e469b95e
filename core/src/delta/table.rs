//! [`DeltaTable`]: the handle on one table, and its reads (snapshots, history, rows,
//! changes). Writes live in `write.rs`, `merge.rs` and `delete.rs`; every one of them
//! ends in `commit.rs`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;

use super::actions::{Action, Add, CommitInfo, Metadata, Protocol};
use super::commit::{engine_info, string_parameters, CommitOutcome};
use super::log::{
    commit_path, history, history_of, read_commit, HistoryEntry, LogListing, Snapshot,
};
use super::operation::{Operation, WriteMetrics};
use super::stats::{min_max, FileStats};
use super::write::percent_decode_path;
use super::{parquet_io, schema, DeltaError, DeltaResult};
use crate::storage::{now_ms, Storage, StorageError};

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

/// A Delta table at `root` in a store.
#[derive(Debug, Clone)]
pub struct DeltaTable {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) root: String,
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
            operation: Some(Operation::CreateTable.name().to_owned()),
            operation_parameters: string_parameters(&[
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

    /// Reads the row groups of one data file whose statistics of `columns` `keep`
    /// accepts, shaped to `schema`: the rows, and how many row groups were read and
    /// skipped.
    pub(crate) async fn read_file_pruned(
        &self,
        snapshot: &Snapshot,
        add: &Add,
        schema: &SchemaRef,
        columns: &[String],
        keep: &(dyn Fn(&FileStats) -> bool + Send + Sync),
    ) -> DeltaResult<(RecordBatch, usize, usize)> {
        let path = self.file_path(&add.path);
        let read = parquet_io::read_pruned(
            self.storage.clone(),
            &path,
            add.size as u64,
            schema,
            columns,
            keep,
        )
        .await;
        let read = match read {
            Err(DeltaError::Storage(StorageError::NotFound { .. })) => {
                return Err(DeltaError::Storage(StorageError::NotFound { path }))
            }
            other => other?,
        };
        let batch = concat_batches(schema, &read.batches)
            .map_err(|err| self.schema_error(err.to_string()))?;
        let batch = self.fill_partition_columns(snapshot, add, batch)?;
        Ok((batch, read.row_groups_read, read.row_groups_skipped))
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

    /// A [`DeltaError::Schema`] about this table.
    pub(super) fn schema_error(&self, detail: impl Into<String>) -> DeltaError {
        DeltaError::Schema {
            table: self.root.clone(),
            detail: detail.into(),
        }
    }
}
