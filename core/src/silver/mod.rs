//! Silver: typed, clean, deduplicated tables, built incrementally from Bronze.
//!
//! A small library of reusable steps, and a runner that applies them per entity:
//!
//! - [`Transform`]: a named, configurable step from Arrow rows to Arrow rows that
//!   may reject rows with a reason. The built-ins are in [`transforms`]: rename,
//!   select, cast, trim (with case), null_markers, standardize_phone, parse_timestamp,
//!   parse_date, parse_money (with decimal commas), flatten,
//!   dedupe, derive, enrich and validate.
//! - [`Pipeline`]: one entity's steps, declared as data in `models/silver/<entity>.yml`
//!   with the business key, the column that orders versions (`sequence_by`), the
//!   source's deletion marker, and the columns that may arrive later. Steps can be
//!   switched off without recompiling.
//! - [`Silver`]: the runner. For each entity it reads only the files the Bronze log
//!   added since the last version it processed (kept in the checkpoint store under
//!   `silver/<entity>/`), runs the pipeline, appends rejected rows to
//!   `silver/<entity>_quarantine` with `_error`, `_step`, `_source_file` and
//!   `_batch_id`, and merges the rest into `silver/<entity>` on the key: a newer
//!   version replaces the row, an older or identical one changes nothing, a deletion
//!   removes it; a pipeline without a key appends its rows instead. Every commit
//!   carries `txn {appId: medallion-silver-<entity>, version: <Bronze version>}`, so a
//!   run interrupted after a commit is not applied twice. A full refresh rebuilds both tables from all of Bronze and gives the same
//!   rows. An entity whose lookup table does not exist yet waits: nothing runs, its
//!   report says `waiting for silver/locations`, the checkpoint keeps
//!   `silver/<entity>/waiting` until it runs, and the other entities go on.

pub mod infer;
mod pipeline;
mod source;
mod trace;
mod transform;
pub mod transforms;

#[cfg(test)]
pub(crate) mod scenario;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

pub use infer::{
    propose, ColumnEvidence, ColumnType, DraftColumn, PipelineDraft, PipelineProposal, SAMPLE_ROWS,
};
pub use pipeline::{
    bundled_pipelines, load_pipelines, Pipeline, PipelineError, PipelineRun, Rejection, Step,
    StepStats, BUNDLED,
};
pub use source::QUARANTINE_REASON_COLUMNS;
pub use transform::{
    parse_type, ColumnEffect, Columns, Lookup, OnError, StepContext, StepOutput, Transform,
    TransformError, TypeName,
};

use crate::bronze;
use crate::checkpoint::{CheckpointError, CheckpointStore, WriteBatch};
use crate::delta::{
    CommitOutcome, DeltaError, DeltaTable, MergeOptions, TableOptions, TxnId, WriteOptions,
};
use crate::storage::{now_ms, Storage, StorageError};
use crate::warehouse;

/// The runner's row id column, added before the steps and dropped after them.
pub(crate) const ROW_ID: &str = "__row_id";

/// Whether `name` is a column the runner manages (Bronze metadata or the row id)
/// rather than data: steps carry them through, and Silver does not keep them.
pub(crate) fn is_runner_column(name: &str) -> bool {
    name == ROW_ID || bronze::METADATA_COLUMNS.contains(&name)
}

/// Why a Silver run failed. Every variant names the entity, file or table.
#[derive(Debug, thiserror::Error)]
pub enum SilverError {
    /// A pipeline file is invalid, or one of its steps failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Pipelines look each other up in a cycle.
    #[error("the Silver pipelines of {entities} look each other up in a cycle")]
    Cycle {
        /// The entities in the cycle.
        entities: String,
    },
    /// No pipeline for the entity asked for.
    #[error("no Silver pipeline for {entity} (there are: {known})")]
    UnknownEntity {
        /// The entity.
        entity: String,
        /// The entities that have a pipeline.
        known: String,
    },
    /// The batch holds a key twice when it reaches the merge.
    #[error("{file}: the rows reaching the merge hold key {key} twice (is the dedupe step switched off?)")]
    DuplicateKey {
        /// The file, by its path.
        file: String,
        /// The key, as text.
        key: String,
    },
    /// Rows went missing between Bronze and Silver: a step lost rows it neither
    /// passed on, rejected nor counted as duplicates.
    #[error("{file}: {rows_in} rows in, but {rows_out} out + {quarantined} quarantined + {duplicates} duplicates")]
    Unbalanced {
        /// The file, by its path.
        file: String,
        /// Rows read from Bronze.
        rows_in: u64,
        /// Rows passed on.
        rows_out: u64,
        /// Rows rejected.
        quarantined: u64,
        /// Rows dropped as duplicates.
        duplicates: u64,
    },
    /// The Bronze rows could not be shaped for the steps.
    #[error("{table}: {detail}")]
    Source {
        /// The table's path in the store.
        table: String,
        /// What went wrong.
        detail: String,
    },
    /// The checkpoint holds something unreadable.
    #[error("checkpoint key {key} is corrupt: {detail}")]
    CorruptCheckpoint {
        /// The checkpoint key.
        key: String,
        /// What went wrong.
        detail: String,
    },
    /// A Delta table operation failed.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The checkpoint store failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a run treats what is already in Silver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SilverOptions {
    /// Rebuild from all of Bronze instead of the versions not yet processed.
    pub full_refresh: bool,
}

/// What one entity's Silver run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilverReport {
    /// The entity.
    pub entity: String,
    /// Whether it rebuilt from all of Bronze.
    pub full_refresh: bool,
    /// The Bronze versions read, first to last; none when there was nothing new.
    pub bronze_versions: Option<(i64, i64)>,
    /// Bronze rows read.
    pub rows_in: u64,
    /// Rows that reached the merge.
    pub rows_out: u64,
    /// Rows dropped as duplicates within the batch.
    pub duplicates: u64,
    /// Rows sent to quarantine.
    pub quarantined: u64,
    /// Rows added to Silver.
    pub inserted: u64,
    /// Rows replaced by a newer version.
    pub updated: u64,
    /// Rows removed (source deletions, or by the full refresh).
    pub deleted: u64,
    /// The Silver table's version after the run.
    pub version: Option<i64>,
    /// The quarantine table's version after the run.
    pub quarantine_version: Option<i64>,
    /// Findings of `warn` rules.
    pub warnings: Vec<String>,
    /// Rows in and out of each step.
    pub steps: Vec<StepStats>,
    /// Why nothing ran, when nothing did.
    pub note: Option<String>,
    /// The lookup table the entity waits for (`silver/locations`), when it does not
    /// exist yet: nothing ran and nothing was written; the entity runs once it exists.
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// Wall time.
    pub duration_ms: i64,
}

impl SilverReport {
    /// Rows inserted or updated.
    pub fn upserted(&self) -> u64 {
        self.inserted + self.updated
    }

    /// Rows that reached the merge and changed nothing: older than, or equal to, the
    /// row already there, or deletions of keys Silver does not hold.
    pub fn unchanged(&self) -> u64 {
        self.rows_out
            .saturating_sub(self.inserted + self.updated + self.deleted)
    }
}

/// What the checkpoint holds for an entity: `silver/<entity>/progress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilverProgress {
    /// The last Bronze version processed.
    pub bronze_version: i64,
    /// The Silver table's version after it.
    pub silver_version: Option<i64>,
    /// The quarantine table's version after it.
    pub quarantine_version: Option<i64>,
    /// Whether that run was a full refresh.
    pub full_refresh: bool,
    /// When it finished, in ms since the epoch.
    pub processed_at_ms: i64,
}

fn progress_key(entity: &str) -> String {
    format!("silver/{entity}/progress")
}

fn run_key(entity: &str, bronze_version: i64) -> String {
    format!("silver/{entity}/runs/{bronze_version:020}")
}

fn waiting_key(entity: &str) -> String {
    format!("silver/{entity}/waiting")
}

/// What the checkpoint holds for an entity that waits for a lookup table:
/// `silver/<entity>/waiting`, deleted when the entity runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SilverWaiting {
    /// The entity.
    pub(crate) entity: String,
    /// The lookup table it waits for (`silver/locations`).
    pub(crate) table: String,
    /// When a run first found it waiting, in ms since the epoch.
    pub(crate) since_ms: i64,
}

/// The JSON value `checkpoint` holds at `key`, if any; an unreadable one is named by
/// its key.
async fn read_entry<T: serde::de::DeserializeOwned>(
    checkpoint: &dyn CheckpointStore,
    key: String,
) -> Result<Option<T>, SilverError> {
    match checkpoint.get(&key).await? {
        None => Ok(None),
        Some(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|err| SilverError::CorruptCheckpoint {
                    key,
                    detail: err.to_string(),
                })
        }
    }
}

/// What the checkpoint says `entity` waits for, if it waits.
pub(crate) async fn read_waiting(
    checkpoint: &dyn CheckpointStore,
    entity: &str,
) -> Result<Option<SilverWaiting>, SilverError> {
    read_entry(checkpoint, waiting_key(entity)).await
}

/// What `checkpoint` holds for `entity`'s Silver stream ([`Silver::progress`]).
pub(crate) async fn read_progress(
    checkpoint: &dyn CheckpointStore,
    entity: &str,
) -> Result<Option<SilverProgress>, SilverError> {
    read_entry(checkpoint, progress_key(entity)).await
}

/// The report of `entity`'s last Silver run that processed Bronze rows, as the
/// checkpoint records it (`silver/<entity>/runs/<bronze version>`).
pub(crate) async fn last_run(
    checkpoint: &dyn CheckpointStore,
    entity: &str,
) -> Result<Option<SilverReport>, SilverError> {
    let runs = checkpoint.scan(&format!("silver/{entity}/runs/")).await?;
    match runs.last() {
        None => Ok(None),
        Some((key, value)) => {
            serde_json::from_slice(value)
                .map(Some)
                .map_err(|err| SilverError::CorruptCheckpoint {
                    key: key.clone(),
                    detail: err.to_string(),
                })
        }
    }
}

/// Orders pipelines so that each runs after the Silver tables it looks up.
fn dependency_order(pipelines: Vec<Pipeline>) -> Result<Vec<Pipeline>, SilverError> {
    let entities: BTreeSet<String> = pipelines.iter().map(|p| p.entity.clone()).collect();
    let mut pending: BTreeMap<String, (Pipeline, BTreeSet<String>)> = pipelines
        .into_iter()
        .map(|pipeline| {
            let needs = pipeline
                .lookups()
                .iter()
                .filter_map(|lookup| lookup.table.strip_prefix("silver/"))
                .filter(|entity| entities.contains(*entity) && *entity != pipeline.entity)
                .map(str::to_owned)
                .collect();
            (pipeline.entity.clone(), (pipeline, needs))
        })
        .collect();
    let mut ordered: Vec<Pipeline> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .iter()
            .filter(|(_, (_, needs))| needs.iter().all(|need| !pending.contains_key(need)))
            .map(|(entity, _)| entity.clone())
            .collect();
        if ready.is_empty() {
            return Err(SilverError::Cycle {
                entities: pending.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        for entity in ready {
            if let Some((pipeline, _)) = pending.remove(&entity) {
                ordered.push(pipeline);
            }
        }
    }
    Ok(ordered)
}

/// The Silver runner over one store and checkpoint store.
#[derive(Debug, Clone)]
pub struct Silver {
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
    pipelines: Vec<Pipeline>,
}

impl Silver {
    /// A runner for `pipelines`, which it orders so that lookups run first.
    pub fn new(
        storage: Arc<dyn Storage>,
        checkpoint: Arc<dyn CheckpointStore>,
        pipelines: Vec<Pipeline>,
    ) -> Result<Self, SilverError> {
        Ok(Self {
            storage,
            checkpoint,
            pipelines: dependency_order(pipelines)?,
        })
    }

    /// The pipelines, in the order they run.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// The pipeline of `entity`, to switch its steps on and off.
    pub fn pipeline_mut(&mut self, entity: &str) -> Result<&mut Pipeline, SilverError> {
        let known = self.known();
        self.pipelines
            .iter_mut()
            .find(|pipeline| pipeline.entity == entity)
            .ok_or_else(|| SilverError::UnknownEntity {
                entity: entity.to_owned(),
                known,
            })
    }

    /// The pipeline of `entity`.
    pub(crate) fn pipeline(&self, entity: &str) -> Result<&Pipeline, SilverError> {
        self.pipelines
            .iter()
            .find(|pipeline| pipeline.entity == entity)
            .ok_or_else(|| SilverError::UnknownEntity {
                entity: entity.to_owned(),
                known: self.known(),
            })
    }

    fn known(&self) -> String {
        self.pipelines
            .iter()
            .map(|p| p.entity.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the checkpoint holds for `entity`.
    pub async fn progress(&self, entity: &str) -> Result<Option<SilverProgress>, SilverError> {
        read_progress(self.checkpoint.as_ref(), entity).await
    }

    /// Runs every pipeline, lookups first; stops at the first failure. An entity whose
    /// lookup table does not exist yet waits (its report says for what) and the others
    /// go on.
    pub async fn run_all(&self, options: &SilverOptions) -> Result<Vec<SilverReport>, SilverError> {
        let mut reports = Vec::with_capacity(self.pipelines.len());
        for pipeline in &self.pipelines {
            reports.push(self.run_pipeline(pipeline, options).await?);
        }
        Ok(reports)
    }

    /// Runs the pipeline of `entity`; if a table it looks up does not exist yet, nothing
    /// runs and the report's `waiting_for` names the table.
    pub async fn run(
        &self,
        entity: &str,
        options: &SilverOptions,
    ) -> Result<SilverReport, SilverError> {
        self.run_pipeline(self.pipeline(entity)?, options).await
    }

    async fn run_pipeline(
        &self,
        pipeline: &Pipeline,
        options: &SilverOptions,
    ) -> Result<SilverReport, SilverError> {
        let started = now_ms();
        let entity = pipeline.entity.as_str();
        let mut report = SilverReport {
            entity: entity.to_owned(),
            full_refresh: options.full_refresh,
            ..Default::default()
        };
        let bronze = DeltaTable::new(self.storage.clone(), warehouse::bronze_table(entity));
        if !bronze.exists().await? {
            report.note = Some(format!("{} does not exist yet", bronze.root()));
            return Ok(report);
        }
        if let Some(table) = self.missing_lookup(pipeline).await? {
            self.save_waiting(entity, &table).await?;
            report.note = Some(format!("waiting for {table}"));
            report.waiting_for = Some(table);
            report.duration_ms = now_ms() - started;
            return Ok(report);
        }
        let snapshot = bronze.snapshot().await?;
        let latest = snapshot.version();
        let silver = DeltaTable::new(self.storage.clone(), warehouse::silver_table(entity));
        let quarantine = DeltaTable::new(self.storage.clone(), warehouse::quarantine_table(entity));
        let app = warehouse::txn_app_id("silver", entity);
        let progress = self.progress(entity).await?;
        let silver_done = match silver.exists().await? {
            true => Some(silver.snapshot().await?.txn_version(&app)),
            false => None,
        };
        // The last Bronze version in Silver: the checkpoint's, or the table's own txn
        // when a run committed and stopped before its checkpoint.
        let processed = progress
            .as_ref()
            .map(|p| p.bronze_version)
            .max(silver_done.flatten());
        let full_refresh = options.full_refresh || silver_done.is_none() || processed.is_none();
        report.full_refresh = full_refresh;
        if !full_refresh && processed >= Some(latest) {
            report.version = Some(silver.snapshot().await?.version());
            if progress.as_ref().map(|p| p.bronze_version) < Some(latest) {
                self.save_progress(&report, latest).await?;
            }
            report.note = Some(format!(
                "up to date with {} version {latest}",
                bronze.root()
            ));
            report.duration_ms = now_ms() - started;
            return Ok(report);
        }
        let (first, files) = match processed {
            Some(done) if !full_refresh => (done + 1, bronze.changes(done, latest).await?),
            _ => (0, snapshot.files().to_vec()),
        };
        report.bronze_versions = Some((first, latest));
        let mut batches = Vec::with_capacity(files.len());
        for add in &files {
            batches.push(bronze.read_file(&snapshot, add).await?);
        }
        let source_error = |detail: String| SilverError::Source {
            table: bronze.root().to_owned(),
            detail,
        };
        let input = concat_batches(snapshot.schema(), &batches)
            .map_err(|err| source_error(err.to_string()))?;
        report.rows_in = input.num_rows() as u64;
        let view = source::source_view(&input, &pipeline.optional_columns).map_err(source_error)?;
        let context = self.lookups(pipeline, &view).await?;
        let run = pipeline.run(view.clone(), &context)?;
        let rejected = source::quarantine_rows(&view, &run.rejections).map_err(source_error)?;
        let output = source::without_runner_columns(&run.rows).map_err(source_error)?;
        report.rows_out = output.num_rows() as u64;
        report.quarantined = rejected.num_rows() as u64;
        report.duplicates = run.duplicates as u64;
        report.warnings = run.warnings;
        report.steps = run.steps;
        if report.rows_in != report.rows_out + report.quarantined + report.duplicates {
            return Err(SilverError::Unbalanced {
                file: pipeline.file.clone(),
                rows_in: report.rows_in,
                rows_out: report.rows_out,
                quarantined: report.quarantined,
                duplicates: report.duplicates,
            });
        }
        for column in pipeline.key.iter().chain(&pipeline.delete_marker) {
            if output.schema().index_of(column).is_err() {
                return Err(PipelineError {
                    file: pipeline.file.clone(),
                    step: None,
                    detail: format!("{column} is not in the pipeline's output"),
                }
                .into());
            }
        }
        let duplicate = match pipeline.key.is_empty() {
            true => None,
            false => source::first_duplicate_key(&output, &pipeline.key).map_err(source_error)?,
        };
        if let Some(key) = duplicate {
            return Err(SilverError::DuplicateKey {
                file: pipeline.file.clone(),
                key,
            });
        }

        let txn = Some(TxnId::new(app, latest));
        report.quarantine_version = Some(
            self.write_quarantine(&quarantine, rejected, full_refresh, txn.clone(), pipeline)
                .await?,
        );
        let outcome = self
            .write_silver(&silver, output, full_refresh, txn, pipeline)
            .await?;
        report.version = Some(outcome.version);
        report.inserted = outcome.metrics.rows_inserted;
        report.updated = outcome.metrics.rows_updated;
        report.deleted = outcome.metrics.rows_deleted;
        report.duration_ms = now_ms() - started;
        self.save_progress(&report, latest).await?;
        Ok(report)
    }

    /// The first table the pipeline looks up that does not exist yet, if any.
    async fn missing_lookup(&self, pipeline: &Pipeline) -> Result<Option<String>, SilverError> {
        for lookup in pipeline.lookups() {
            if !DeltaTable::new(self.storage.clone(), lookup.table.clone())
                .exists()
                .await?
            {
                return Ok(Some(lookup.table));
            }
        }
        Ok(None)
    }

    /// Records that `entity` waits for `table`, unless the checkpoint already says so.
    async fn save_waiting(&self, entity: &str, table: &str) -> Result<(), SilverError> {
        let known = read_waiting(self.checkpoint.as_ref(), entity).await?;
        if known.is_some_and(|waiting| waiting.table == table) {
            return Ok(());
        }
        let waiting = SilverWaiting {
            entity: entity.to_owned(),
            table: table.to_owned(),
            since_ms: now_ms(),
        };
        // A plain struct of strings and numbers always serialises.
        let value = serde_json::to_vec(&waiting).unwrap_or_default();
        self.checkpoint.put(&waiting_key(entity), value).await?;
        Ok(())
    }

    /// Loads every table the pipeline looks up: for a key match, only the files that
    /// may hold the batch's values.
    async fn lookups(
        &self,
        pipeline: &Pipeline,
        view: &RecordBatch,
    ) -> Result<StepContext, SilverError> {
        let mut context = StepContext::new();
        for Lookup {
            table,
            columns,
            matching,
        } in pipeline.lookups()
        {
            let lookup = DeltaTable::new(self.storage.clone(), table.clone());
            let snapshot = lookup.snapshot().await?;
            let wanted = matching.and_then(|matching| {
                let key_type = snapshot
                    .schema()
                    .field_with_name(&matching.key)
                    .ok()?
                    .data_type();
                let values = view.column_by_name(&matching.column)?;
                let typed = arrow::compute::cast(values, key_type).ok()?;
                // A value the cast cannot read may still parse in a step: read everything.
                let lossless = typed.null_count() == values.null_count();
                lossless.then_some((matching.key, typed))
            });
            let rows = match wanted {
                Some((key, values)) => {
                    lookup
                        .read_columns_for_keys(&snapshot, &columns, &key, &values)
                        .await?
                }
                None => lookup.read_columns(&snapshot, &columns).await?,
            };
            context = context.with_lookup(table, rows);
        }
        Ok(context)
    }

    /// Creates `table` with `schema` unless it exists.
    async fn create_if_missing(
        table: &DeltaTable,
        schema: &arrow::datatypes::Schema,
        pipeline: &Pipeline,
        description: String,
    ) -> Result<(), SilverError> {
        if !table.exists().await? {
            let options = TableOptions {
                name: Some(pipeline.entity.clone()),
                description: Some(description),
                ..Default::default()
            };
            table.create(schema, options).await?;
        }
        Ok(())
    }

    /// Whether `table` already holds the commit of `txn`.
    async fn committed(table: &DeltaTable, txn: &Option<TxnId>) -> Result<bool, SilverError> {
        let snapshot = table.snapshot().await?;
        Ok(txn
            .as_ref()
            .is_some_and(|txn| txn.is_committed_in(&snapshot)))
    }

    async fn write_quarantine(
        &self,
        table: &DeltaTable,
        rows: RecordBatch,
        full_refresh: bool,
        txn: Option<TxnId>,
        pipeline: &Pipeline,
    ) -> Result<i64, SilverError> {
        let description = format!("rows of {} that a Silver step rejected", pipeline.entity);
        Self::create_if_missing(table, &rows.schema(), pipeline, description).await?;
        let done = Self::committed(table, &txn).await?;
        let outcome = if full_refresh {
            let options = WriteOptions {
                txn,
                overwrite_schema: true,
                ..Default::default()
            };
            table.overwrite(&[rows], options).await?
        } else if rows.num_rows() > 0 && !done {
            let options = WriteOptions {
                txn,
                merge_schema: true,
                ..Default::default()
            };
            table.append(&[rows], options).await?
        } else {
            return Ok(table.snapshot().await?.version());
        };
        Ok(outcome.version)
    }

    async fn write_silver(
        &self,
        table: &DeltaTable,
        rows: RecordBatch,
        full_refresh: bool,
        txn: Option<TxnId>,
        pipeline: &Pipeline,
    ) -> Result<CommitOutcome, SilverError> {
        let source_error = |detail: String| SilverError::Source {
            table: table.root().to_owned(),
            detail,
        };
        if full_refresh {
            let rows = match &pipeline.delete_marker {
                Some(marker) => source::without_deleted(&rows, marker).map_err(source_error)?,
                None => rows,
            };
            let description = pipeline
                .description
                .clone()
                .unwrap_or_else(|| format!("{} in Silver", pipeline.entity));
            Self::create_if_missing(table, &rows.schema(), pipeline, description).await?;
            let options = WriteOptions {
                txn,
                overwrite_schema: true,
                ..Default::default()
            };
            return Ok(table.overwrite(&[rows], options).await?);
        }
        if Self::committed(table, &txn).await? {
            let snapshot = table.snapshot().await?;
            return Ok(CommitOutcome {
                version: snapshot.version(),
                committed: false,
                metrics: Default::default(),
                checkpoint_error: None,
            });
        }
        if pipeline.key.is_empty() {
            // No key to merge on: every row is a new one.
            let options = WriteOptions {
                txn,
                merge_schema: true,
                ..Default::default()
            };
            return Ok(table.append(&[rows], options).await?);
        }
        let options = MergeOptions {
            keys: pipeline.key.clone(),
            sequence_by: pipeline.sequence_by.clone(),
            delete_marker: pipeline.delete_marker.clone(),
            skip_unchanged: true,
            merge_schema: true,
            txn,
            ..Default::default()
        };
        Ok(table.merge(&[rows], options).await?)
    }

    async fn save_progress(&self, report: &SilverReport, latest: i64) -> Result<(), SilverError> {
        let progress = SilverProgress {
            bronze_version: latest,
            silver_version: report.version,
            quarantine_version: report.quarantine_version,
            full_refresh: report.full_refresh,
            processed_at_ms: now_ms(),
        };
        // Plain structs of numbers, strings and lists always serialise.
        let progress = serde_json::to_vec(&progress).unwrap_or_default();
        let run = serde_json::to_vec(report).unwrap_or_default();
        self.checkpoint
            .write(
                WriteBatch::new()
                    .put(progress_key(&report.entity), progress)
                    .put(run_key(&report.entity, latest), run)
                    .delete(waiting_key(&report.entity)),
            )
            .await?;
        Ok(())
    }
}
