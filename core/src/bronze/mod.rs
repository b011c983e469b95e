//! Bronze: incremental, exactly-once ingest of landing files into Delta tables.
//!
//! One stream per entity reads `landing/<entity>/` and appends to the Delta table
//! `bronze/<entity>`, with the semantics of Spark Structured Streaming's file source
//! run with an available-now trigger, and of Auto Loader's schema evolution and
//! rescued-data column:
//!
//! - CSV and NDJSON values land as their exact source text and Parquet keeps its
//!   types; every row gets `_source_file`, `_file_modified_at`, `_ingested_at`,
//!   `_batch_id`, `_rescued_data` and `_corrupt_record`.
//! - The checkpoint, in a [`CheckpointStore`], holds per stream `offsets/<batch>` (the
//!   files planned, written before any data), `commits/<batch>` (written after the Delta
//!   commit) and a seen-files index keyed by path, size and content hash. Every Delta
//!   commit carries `txn {appId: <stream>, version: <batch>}`, so a batch interrupted
//!   between its Delta commit and its checkpoint commit is recognised on restart, and
//!   one interrupted before is redone with the same files.
//! - A file is ingested once: the same path with the same bytes is skipped, and so is a
//!   copy under another name (same size and SHA-256). A changed file under the same name
//!   is a new file.

mod decode;
mod state;

#[cfg(test)]
pub(crate) mod scenario;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::delta::{
    schema::storage_type, DeltaError, DeltaTable, TableOptions, TxnId, WriteOptions,
};
use crate::landing::FileFormat;
use crate::storage::{now_ms, ObjectMeta, Storage, StorageError};
use crate::warehouse::{self, LANDING};

use decode::{decode, Decoded};
use state::PlannedFile;
pub(crate) use state::StreamState;

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// Every pending file, in batches, then stop.
    #[default]
    AvailableNow,
    /// One batch.
    Once,
}

/// What a column the table does not have yet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaEvolution {
    /// It is added to the table (Auto Loader's `addNewColumns`).
    #[default]
    AddNewColumns,
    /// Its values go to `_rescued_data`; the schema stays.
    Rescue,
    /// The run fails, naming the file and the columns.
    FailOnNewColumns,
    /// It is ignored.
    None,
}

/// What a record that cannot be parsed does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadRecords {
    /// It is kept as a row with its raw text in `_corrupt_record`, and counted.
    #[default]
    Permissive,
    /// The run fails, naming the file and the record.
    FailFast,
}

/// What happens to a landing file once its batch is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cleanup {
    /// It stays where it is.
    #[default]
    Keep,
    /// It is deleted.
    Delete,
    /// It moves to `archive/<its landing path>`.
    Archive,
}

/// An option value that is not one of the names it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {option} {value:?} (expected {expected})")]
pub struct UnknownOption {
    option: &'static str,
    value: String,
    expected: &'static str,
}

macro_rules! parse_names {
    ($type:ty, $option:literal, $($name:literal => $value:expr),+ $(,)?) => {
        impl std::str::FromStr for $type {
            type Err = UnknownOption;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($name => Ok($value),)+
                    other => Err(UnknownOption {
                        option: $option,
                        value: other.to_owned(),
                        expected: concat!($($name, " "),+),
                    }),
                }
            }
        }
    };
}

parse_names!(Trigger, "trigger",
    "available-now" => Trigger::AvailableNow,
    "once" => Trigger::Once,
);
parse_names!(SchemaEvolution, "schema evolution",
    "add_new_columns" => SchemaEvolution::AddNewColumns,
    "rescue" => SchemaEvolution::Rescue,
    "fail_on_new_columns" => SchemaEvolution::FailOnNewColumns,
    "none" => SchemaEvolution::None,
);
parse_names!(BadRecords, "bad records mode",
    "permissive" => BadRecords::Permissive,
    "failfast" => BadRecords::FailFast,
);
parse_names!(Cleanup, "cleanup",
    "keep" => Cleanup::Keep,
    "delete" => Cleanup::Delete,
    "archive" => Cleanup::Archive,
);

/// How a run ingests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BronzeOptions {
    /// When to stop.
    pub trigger: Trigger,
    /// At most this many files per batch (at least one).
    pub max_files_per_trigger: usize,
    /// At most about this many bytes per batch (a larger file still makes a batch).
    pub max_bytes_per_trigger: Option<u64>,
    /// New columns.
    pub schema_evolution: SchemaEvolution,
    /// Malformed records.
    pub bad_records: BadRecords,
    /// Processed files.
    pub cleanup: Cleanup,
}

impl Default for BronzeOptions {
    fn default() -> Self {
        Self {
            trigger: Trigger::AvailableNow,
            max_files_per_trigger: 1000,
            max_bytes_per_trigger: None,
            schema_evolution: SchemaEvolution::AddNewColumns,
            bad_records: BadRecords::Permissive,
            cleanup: Cleanup::Keep,
        }
    }
}

/// Why ingest failed. Each variant names the file or key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum BronzeError {
    /// A file cannot be read as its format says.
    #[error("{file}: {detail}")]
    InvalidFile {
        /// The file, by its path.
        file: String,
        /// What went wrong.
        detail: String,
    },
    /// A file has columns the table lacks, and the stream fails on new columns.
    #[error("{file}: new columns {columns:?} (schema evolution: fail on new columns)")]
    NewColumns {
        /// The file, by its path.
        file: String,
        /// The columns.
        columns: Vec<String>,
    },
    /// A planned file changed or vanished before its batch could be redone.
    #[error("{file}: changed or removed before batch {batch} could be redone: {detail}")]
    PlannedFileChanged {
        /// The file, by its path.
        file: String,
        /// The Bronze batch.
        batch: i64,
        /// What went wrong.
        detail: String,
    },
    /// The checkpoint holds something this version cannot read.
    #[error("checkpoint {key}: {detail}")]
    CorruptCheckpoint {
        /// The checkpoint key.
        key: String,
        /// What went wrong.
        detail: String,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The checkpoint store failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The Delta table failed.
    #[error(transparent)]
    Delta(#[from] DeltaError),
}

/// What one file did in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Its landing path.
    pub path: String,
    /// Rows written.
    pub rows: usize,
    /// Of which records that could not be parsed (`_corrupt_record`).
    pub malformed: usize,
    /// Of which rows with values in `_rescued_data`.
    pub rescued: usize,
    /// Columns it added to the table.
    pub new_columns: Vec<String>,
    /// Set when the file was skipped: the earlier file with the same bytes.
    pub duplicate_of: Option<String>,
    /// The field separator detected in a CSV file (`,`, `;`, tab or `|`); `None` for
    /// the other formats and skipped files.
    pub separator: Option<char>,
}

/// What one batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReport {
    /// The entity (stream).
    pub entity: String,
    /// The batch, or `None` when the run only skipped duplicate files.
    pub batch_id: Option<i64>,
    /// Its files.
    pub files: Vec<FileReport>,
    /// The Delta version it committed.
    pub version: Option<i64>,
    /// True when the batch was recovered after an interrupted run.
    pub recovered: bool,
    /// Wall time, in milliseconds.
    pub duration_ms: i64,
}

impl BatchReport {
    /// Rows written by the batch.
    pub fn rows(&self) -> usize {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// The metadata columns every Bronze row carries, after the data columns.
pub const METADATA_COLUMNS: [&str; 6] = [
    "_source_file",
    "_file_modified_at",
    "_ingested_at",
    "_batch_id",
    "_rescued_data",
    "_corrupt_record",
];

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn metadata_fields() -> Vec<Field> {
    vec![
        Field::new("_source_file", DataType::Utf8, true),
        Field::new("_file_modified_at", timestamp_type(), true),
        Field::new("_ingested_at", timestamp_type(), true),
        Field::new("_batch_id", DataType::Int64, true),
        Field::new("_rescued_data", DataType::Utf8, true),
        Field::new("_corrupt_record", DataType::Utf8, true),
    ]
}

/// The Bronze layer of one store.
#[derive(Debug, Clone)]
pub struct Bronze {
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
}

impl Bronze {
    /// Bronze over a store (landing files and tables) and a checkpoint store.
    pub fn new(storage: Arc<dyn Storage>, checkpoint: Arc<dyn CheckpointStore>) -> Self {
        Self {
            storage,
            checkpoint,
        }
    }

    /// The entities with a landing folder, sorted.
    pub async fn entities(&self) -> Result<Vec<String>, BronzeError> {
        let mut entities: Vec<String> = self
            .storage
            .list(LANDING)
            .await?
            .into_iter()
            .filter_map(|meta| {
                let rest = meta.path.strip_prefix(LANDING)?;
                let (entity, _) = rest.split_once('/')?;
                Some(entity.to_owned())
            })
            .collect();
        entities.dedup();
        Ok(entities)
    }

    /// The landing files no run has looked at yet, entity by entity, in path order.
    pub async fn waiting(&self) -> Result<Vec<ObjectMeta>, BronzeError> {
        let mut files = Vec::new();
        for entity in self.entities().await? {
            let listed = self.storage.list(&format!("{LANDING}{entity}/")).await?;
            files.extend(
                StreamState::new(self.checkpoint.as_ref(), &entity)
                    .unseen(listed)
                    .await?,
            );
        }
        Ok(files)
    }

    /// Runs every entity's stream.
    pub async fn ingest_all(
        &self,
        options: &BronzeOptions,
    ) -> Result<Vec<BatchReport>, BronzeError> {
        let mut reports = Vec::new();
        for entity in self.entities().await? {
            reports.extend(self.ingest(&entity, options).await?);
        }
        Ok(reports)
    }

    /// Runs one entity's stream: first finishes a batch an interrupted run left
    /// behind, then ingests pending files as the trigger says.
    pub async fn ingest(
        &self,
        entity: &str,
        options: &BronzeOptions,
    ) -> Result<Vec<BatchReport>, BronzeError> {
        let state = StreamState::new(self.checkpoint.as_ref(), entity);
        let table = DeltaTable::new(self.storage.clone(), warehouse::bronze_table(entity));
        let mut reports = Vec::new();
        if let Some(offset) = state.unfinished_batch().await? {
            let started = now_ms();
            let committed = match table.exists().await? {
                true => table
                    .snapshot()
                    .await?
                    .txn_version(&warehouse::txn_app_id("bronze", entity)),
                false => None,
            };
            let report = if committed.is_some_and(|version| version >= offset.batch_id) {
                // The data is in the table; only the checkpoint commit is missing.
                let version = table.snapshot().await?.version();
                state.commit(&offset, version).await?;
                BatchReport {
                    entity: entity.to_owned(),
                    batch_id: Some(offset.batch_id),
                    files: Vec::new(),
                    version: Some(version),
                    recovered: true,
                    duration_ms: 0,
                }
            } else {
                let mut files = Vec::with_capacity(offset.files.len());
                for planned in &offset.files {
                    let data = self.storage.get(&planned.path).await.map_err(|err| {
                        BronzeError::PlannedFileChanged {
                            file: planned.path.clone(),
                            batch: offset.batch_id,
                            detail: err.to_string(),
                        }
                    })?;
                    if state::content_hash(&data) != planned.hash {
                        return Err(BronzeError::PlannedFileChanged {
                            file: planned.path.clone(),
                            batch: offset.batch_id,
                            detail: "its bytes differ from those planned".to_owned(),
                        });
                    }
                    files.push((planned.clone(), data));
                }
                let mut report = self
                    .write_batch(&table, &state, entity, &offset, files, options)
                    .await?;
                report.recovered = true;
                report
            };
            self.clean_up(&offset.files, options.cleanup).await?;
            reports.push(BatchReport {
                duration_ms: now_ms() - started,
                ..report
            });
        }

        let listed = self.storage.list(&format!("{LANDING}{entity}/")).await?;
        let plan = state.plan(self.storage.as_ref(), listed).await?;
        let mut pending = plan.pending.into_iter().peekable();
        let mut skipped = plan.skipped;
        let mut next_batch = state.next_batch_id().await?;
        while pending.peek().is_some() {
            let started = now_ms();
            let mut metas = Vec::new();
            let mut bytes = 0u64;
            while let Some(meta) = pending.peek() {
                let over_bytes = options
                    .max_bytes_per_trigger
                    .is_some_and(|max| bytes + meta.size > max);
                if !metas.is_empty()
                    && (metas.len() >= options.max_files_per_trigger.max(1) || over_bytes)
                {
                    break;
                }
                bytes += meta.size;
                metas.extend(pending.next());
            }
            let (offset, files) = state
                .write_offset(self.storage.as_ref(), next_batch, &metas)
                .await?;
            let mut report = self
                .write_batch(&table, &state, entity, &offset, files, options)
                .await?;
            self.clean_up(&offset.files, options.cleanup).await?;
            report.files.append(&mut skipped);
            report.duration_ms = now_ms() - started;
            reports.push(report);
            next_batch += 1;
            if options.trigger == Trigger::Once {
                break;
            }
        }
        if !skipped.is_empty() {
            reports.push(BatchReport {
                entity: entity.to_owned(),
                batch_id: None,
                files: skipped,
                version: None,
                recovered: false,
                duration_ms: 0,
            });
        }
        Ok(reports)
    }

    async fn clean_up(&self, files: &[PlannedFile], cleanup: Cleanup) -> Result<(), BronzeError> {
        for file in files {
            match cleanup {
                Cleanup::Keep => {}
                Cleanup::Delete => self.storage.delete(&file.path).await?,
                Cleanup::Archive => {
                    match self.storage.get(&file.path).await {
                        Ok(data) => {
                            self.storage
                                .put(&format!("archive/{}", file.path), data)
                                .await?
                        }
                        // Archived by an earlier, interrupted run.
                        Err(StorageError::NotFound { .. }) => continue,
                        Err(err) => return Err(err.into()),
                    }
                    self.storage.delete(&file.path).await?;
                }
            }
        }
        Ok(())
    }

    /// Decodes the batch's files, writes them to the table with the batch's `txn`, then
    /// commits the batch in the checkpoint.
    async fn write_batch(
        &self,
        table: &DeltaTable,
        state: &StreamState<'_>,
        entity: &str,
        offset: &state::Offset,
        files: Vec<(PlannedFile, Bytes)>,
        options: &BronzeOptions,
    ) -> Result<BatchReport, BronzeError> {
        let mut decoded: Vec<(PlannedFile, Decoded)> = Vec::with_capacity(files.len());
        for (planned, data) in files {
            let format = FileFormat::from_file_name(&planned.path).ok_or_else(|| {
                BronzeError::InvalidFile {
                    file: planned.path.clone(),
                    detail: "unsupported file type".to_owned(),
                }
            })?;
            let fail = options.bad_records == BadRecords::FailFast;
            let file = decode(&planned.path, format, data, fail)?;
            decoded.push((planned, file));
        }

        let exists = table.exists().await?;
        let table_schema: SchemaRef = match exists {
            true => table.snapshot().await?.schema().clone(),
            false => Arc::new(Schema::empty()),
        };
        let mut data_fields: Vec<Field> = table_schema
            .fields()
            .iter()
            .filter(|f| !METADATA_COLUMNS.contains(&f.name().as_str()))
            .map(|f| f.as_ref().clone())
            .collect();
        let known = data_fields.len();
        let mut reports = Vec::with_capacity(decoded.len());
        for (planned, file) in &decoded {
            let mut new_columns = Vec::new();
            for field in file.schema.fields() {
                if data_fields.iter().any(|f| f.name() == field.name()) {
                    continue;
                }
                let first_batch = !exists;
                match options.schema_evolution {
                    _ if first_batch => {}
                    SchemaEvolution::AddNewColumns => {}
                    SchemaEvolution::FailOnNewColumns => {
                        let columns = file
                            .schema
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .filter(|name| !data_fields.iter().any(|f| f.name() == name))
                            .collect();
                        return Err(BronzeError::NewColumns {
                            file: planned.path.clone(),
                            columns,
                        });
                    }
                    SchemaEvolution::Rescue | SchemaEvolution::None => continue,
                }
                let stored =
                    storage_type(field.data_type()).map_err(|detail| BronzeError::InvalidFile {
                        file: planned.path.clone(),
                        detail: format!("column {}: {detail}", field.name()),
                    })?;
                data_fields.push(Field::new(field.name(), stored, true));
                new_columns.push(field.name().clone());
            }
            reports.push(FileReport {
                path: planned.path.clone(),
                rows: file.rows(),
                malformed: file.malformed(),
                rescued: 0,
                new_columns: if exists { new_columns } else { Vec::new() },
                duplicate_of: None,
                separator: file.separator,
            });
        }

        // The target: the table's columns in its order, new data columns after them.
        let mut fields: Vec<Field> = table_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        if !exists {
            fields = data_fields.clone();
            fields.extend(metadata_fields());
        } else {
            fields.extend(data_fields[known..].iter().cloned());
        }
        let target = Arc::new(Schema::new(fields));
        let rescue_new = options.schema_evolution == SchemaEvolution::Rescue;
        let mut batches = Vec::new();
        for ((planned, file), report) in decoded.iter().zip(&mut reports) {
            let (conformed, rescued) = conform(&target, planned, file, offset, rescue_new)
                .map_err(|detail| BronzeError::InvalidFile {
                    file: planned.path.clone(),
                    detail,
                })?;
            report.rescued = rescued;
            batches.extend(conformed);
        }

        if !exists {
            let created = table
                .create(
                    &target,
                    TableOptions {
                        name: Some(format!("bronze.{entity}")),
                        description: Some(format!(
                            "Landing files of {entity}, as-is, with ingest metadata"
                        )),
                        ..Default::default()
                    },
                )
                .await;
            match created {
                Ok(_) | Err(DeltaError::AlreadyExists { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        let outcome = table
            .append(
                &batches,
                WriteOptions {
                    txn: Some(TxnId::new(
                        warehouse::txn_app_id("bronze", entity),
                        offset.batch_id,
                    )),
                    merge_schema: true,
                    ..Default::default()
                },
            )
            .await?;
        state.commit(offset, outcome.version).await?;
        Ok(BatchReport {
            entity: entity.to_owned(),
            batch_id: Some(offset.batch_id),
            files: reports,
            version: Some(outcome.version),
            recovered: false,
            duration_ms: 0,
        })
    }
}

/// One file's rows in the target schema: its columns cast to the table's types, absent
/// columns null, values that do not fit (a failed cast, or a new column in rescue mode)
/// in `_rescued_data`, then the metadata. Returns the batches and the rows rescued.
fn conform(
    target: &SchemaRef,
    planned: &PlannedFile,
    file: &Decoded,
    offset: &state::Offset,
    rescue_new: bool,
) -> Result<(Vec<RecordBatch>, usize), String> {
    let format = FormatOptions::default();
    let mut out = Vec::with_capacity(file.batches.len());
    let mut rescued_rows = 0;
    let mut first_row = 0;
    for batch in &file.batches {
        let rows = batch.num_rows();
        let mut rescued: Vec<Map<String, Value>> = vec![Map::new(); rows];
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
        for field in target.fields() {
            let array: ArrayRef = match field.name().as_str() {
                "_source_file" => Arc::new(StringArray::from(vec![planned.path.as_str(); rows])),
                "_file_modified_at" => Arc::new(
                    TimestampMicrosecondArray::from(vec![planned.modified_ms * 1000; rows])
                        .with_timezone("UTC"),
                ),
                "_ingested_at" => Arc::new(
                    TimestampMicrosecondArray::from(vec![offset.ingested_at_ms * 1000; rows])
                        .with_timezone("UTC"),
                ),
                "_batch_id" => Arc::new(Int64Array::from(vec![offset.batch_id; rows])),
                "_rescued_data" | "_corrupt_record" => new_null_array(&DataType::Utf8, rows),
                name => match batch.column_by_name(name) {
                    None => new_null_array(field.data_type(), rows),
                    Some(source) if source.data_type() == field.data_type() => source.clone(),
                    Some(source) => {
                        let cast = cast_with_options(
                            source,
                            field.data_type(),
                            &CastOptions {
                                safe: true,
                                format_options: format.clone(),
                            },
                        )
                        .map_err(|err| format!("column {name}: {err}"))?;
                        let formatter = ArrayFormatter::try_new(source.as_ref(), &format)
                            .map_err(|err| err.to_string())?;
                        for (row, fields) in rescued.iter_mut().enumerate() {
                            if source.is_valid(row) && cast.is_null(row) {
                                let text = formatter.value(row).to_string();
                                fields.insert(name.to_owned(), Value::String(text));
                            }
                        }
                        cast
                    }
                },
            };
            columns.push(array);
        }
        if rescue_new {
            for field in batch.schema().fields() {
                if target.field_with_name(field.name()).is_ok() {
                    continue;
                }
                let source = batch
                    .column_by_name(field.name())
                    .ok_or("column vanished")?;
                let formatter = ArrayFormatter::try_new(source.as_ref(), &format)
                    .map_err(|err| err.to_string())?;
                for (row, fields) in rescued.iter_mut().enumerate() {
                    if source.is_valid(row) {
                        let text = formatter.value(row).to_string();
                        fields.insert(field.name().clone(), Value::String(text));
                    }
                }
            }
        }
        let rescued_text: Vec<Option<String>> = rescued
            .into_iter()
            .map(|fields| (!fields.is_empty()).then(|| Value::Object(fields).to_string()))
            .collect();
        rescued_rows += rescued_text.iter().filter(|r| r.is_some()).count();
        let corrupt = file
            .corrupt
            .get(first_row..first_row + rows)
            .ok_or("the decoded rows and their corrupt-record flags disagree")?;
        for (index, field) in target.fields().iter().enumerate() {
            match field.name().as_str() {
                "_rescued_data" => {
                    columns[index] = Arc::new(StringArray::from(rescued_text.clone()))
                }
                "_corrupt_record" => columns[index] = Arc::new(StringArray::from(corrupt.to_vec())),
                _ => {}
            }
        }
        first_row += rows;
        out.push(RecordBatch::try_new(target.clone(), columns).map_err(|err| err.to_string())?);
    }
    Ok((out, rescued_rows))
}
