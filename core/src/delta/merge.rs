//! Copy-on-write `MERGE`: an upsert on a key, in phases. The source is prepared
//! (aligned to the table's schema, its keys encoded and indexed); each target file that
//! may hold a match is matched row by row and, when rows change, rewritten without
//! them; the source rows that insert or update are written; one commit records it all.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{make_comparator, Array, ArrayRef, BooleanArray, DynComparator};
use arrow::compute::{cast, concat_batches, filter_record_batch, SortOptions};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::OwnedRow;
use arrow::util::display::array_value_to_string;
use datafusion::physical_expr::PhysicalExpr;
use serde_json::Value;

use super::actions::{Action, Add};
use super::commit::{string_parameters, CommitOutcome, CommitRequest, Isolation, TxnId};
use super::log::Snapshot;
use super::operation::{Operation, WriteMetrics};
use super::stats::{min_max, FileStats};
use super::table::DeltaTable;
use super::write::remove_of;
use super::{parquet_io, DeltaError, DeltaResult};
use crate::keys::{KeyEncoder, KeyRows};
use crate::storage::now_ms;

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
    pub txn: Option<TxnId>,
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

/// The source of a merge, prepared for matching.
struct PreparedSource {
    /// The schema the merge writes with: the table's, evolved by `merge_schema`.
    schema: SchemaRef,
    /// The `metaData` action recording an evolved schema.
    metadata: Option<Action>,
    /// Every source row in one batch, aligned to `schema`, without the delete marker.
    batch: RecordBatch,
    /// Whether each source row marks a deletion.
    deletes: Vec<bool>,
    /// The key columns' indices in `schema`.
    key_indices: Vec<usize>,
    /// Encodes the keys of target rows as the source's were.
    keys: KeyEncoder,
    /// The source row of every non-null key (the last one, if a key repeats).
    rows_by_key: HashMap<OwnedRow, usize>,
    /// Encodes whole rows, to tell an unchanged row from an update (`skip_unchanged`).
    values: Option<KeyEncoder>,
    /// The source's whole rows, encoded by `values`.
    source_values: Option<KeyRows>,
    /// Each key column's name and the source's least and greatest value in it, to
    /// skip files that cannot hold a match.
    ranges: Vec<(String, Value, Value)>,
    /// The index of the `sequence_by` column.
    sequence: Option<usize>,
    /// The compiled `target_predicate`.
    target_predicate: Option<Arc<dyn PhysicalExpr>>,
}

impl PreparedSource {
    /// Whether the statistics of `add` show that none of its rows can match a source
    /// key.
    fn cannot_match(&self, add: &Add) -> bool {
        let stats = add.stats.as_deref().and_then(FileStats::parse);
        stats.is_some_and(|stats| {
            self.ranges
                .iter()
                .any(|(column, low, high)| !stats.may_contain_range(column, low, high))
        })
    }

    /// The key columns of `batch` (aligned to `schema`).
    fn key_columns(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.key_indices
            .iter()
            .map(|&index| batch.column(index).clone())
            .collect()
    }
}

/// The target rows of one file that a merge replaces or deletes.
struct FileMatch {
    /// Whether each target row stays.
    keep: Vec<bool>,
    /// Rows replaced by a source row.
    updated: u64,
    /// Rows deleted.
    deleted: u64,
}

impl DeltaTable {
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
        let mut prepared = self.prepare_merge_source(&snapshot, source, &options)?;
        let mut actions: Vec<Action> = prepared.metadata.take().into_iter().collect();
        // What each source row does; matches below may change it.
        let mut fates: Vec<SourceFate> = prepared
            .deletes
            .iter()
            .map(|&delete| {
                if delete {
                    SourceFate::Dropped
                } else {
                    SourceFate::Inserted
                }
            })
            .collect();
        let mut metrics = WriteMetrics::default();
        let now = now_ms();
        let partition_columns = &snapshot.metadata.partition_columns;
        for add in &snapshot.files {
            if !options.delete_unmatched_target {
                if prepared.rows_by_key.is_empty() {
                    break;
                }
                if prepared.cannot_match(add) {
                    continue;
                }
            }
            let Some(kept) = self
                .merge_file(
                    &snapshot,
                    add,
                    &prepared,
                    &options,
                    &mut fates,
                    &mut metrics,
                )
                .await?
            else {
                continue;
            };
            actions.push(Action::Remove(remove_of(add, now)));
            let (adds, _) = self
                .write_data(&prepared.schema, partition_columns, &[kept])
                .await?;
            metrics.files_added += adds.len() as u64;
            actions.extend(adds.into_iter().map(Action::Add));
        }
        let adds = self
            .write_merged_source(&prepared, partition_columns, &fates, &mut metrics)
            .await?;
        actions.extend(adds.into_iter().map(Action::Add));
        // A merge that changes nothing commits nothing, its txn included: running it
        // again is just as harmless.
        let txn = if actions.is_empty() {
            None
        } else {
            options.txn.clone()
        };
        let request = CommitRequest {
            operation: Operation::Merge,
            parameters: merge_parameters(&options),
            metrics,
            txn,
            isolation: Isolation::Serializable,
        };
        self.commit(&snapshot, actions, request).await
    }

    /// The merge's source, aligned to the table's schema (evolved with `merge_schema`),
    /// its keys checked, encoded and indexed.
    fn prepare_merge_source(
        &self,
        snapshot: &Snapshot,
        source: &[RecordBatch],
        options: &MergeOptions,
    ) -> DeltaResult<PreparedSource> {
        let (source, deletes) =
            self.split_delete_marker(source, options.delete_marker.as_deref())?;
        let (schema, metadata) = self.evolve(snapshot, &source, options.merge_schema)?;
        let key_indices = options
            .keys
            .iter()
            .map(|key| {
                schema
                    .index_of(key)
                    .map_err(|_| self.schema_error(format!("merge key {key} is not in the table")))
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        let batch = self.align_merge_source(&schema, &source, &options.keys)?;
        let sequence = match &options.sequence_by {
            Some(column) => Some(schema.index_of(column).map_err(|_| {
                self.schema_error(format!("sequence column {column} is not in the table"))
            })?),
            None => None,
        };
        let arrow_error = |err: arrow::error::ArrowError| self.schema_error(err.to_string());
        let keys = KeyEncoder::new(
            key_indices
                .iter()
                .map(|&index| schema.field(index).data_type().clone())
                .collect(),
        )
        .map_err(arrow_error)?;
        let values = options
            .skip_unchanged
            .then(|| {
                KeyEncoder::new(
                    schema
                        .fields()
                        .iter()
                        .map(|field| field.data_type().clone())
                        .collect(),
                )
            })
            .transpose()
            .map_err(arrow_error)?;
        let source_values = values
            .as_ref()
            .map(|values| values.encode(batch.columns()))
            .transpose()
            .map_err(arrow_error)?;
        let ranges = key_indices
            .iter()
            .filter_map(|&index| {
                let (low, high) = min_max(batch.column(index))?;
                Some((schema.field(index).name().clone(), low, high?))
            })
            .collect();
        let mut prepared = PreparedSource {
            schema,
            metadata,
            batch,
            deletes,
            key_indices,
            keys,
            rows_by_key: HashMap::new(),
            values,
            source_values,
            ranges,
            sequence,
            target_predicate: None,
        };
        prepared.rows_by_key = self.index_source_keys(&prepared, options.duplicate_source_keys)?;
        prepared.target_predicate = options
            .target_predicate
            .as_deref()
            .map(|predicate| self.compile_predicate(&prepared.schema, predicate))
            .transpose()?;
        Ok(prepared)
    }

    /// The source batches aligned to `schema` in one batch; each must hold every key.
    fn align_merge_source(
        &self,
        schema: &SchemaRef,
        source: &[RecordBatch],
        keys: &[String],
    ) -> DeltaResult<RecordBatch> {
        let aligned = source
            .iter()
            .map(|batch| {
                if let Some(key) = keys
                    .iter()
                    .find(|key| batch.schema().index_of(key).is_err())
                {
                    return Err(self.schema_error(format!("merge key {key} is not in the source")));
                }
                parquet_io::align(batch, schema, &self.root)
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        concat_batches(schema, &aligned).map_err(|err| self.schema_error(err.to_string()))
    }

    /// The source row of every non-null key; a key held twice is
    /// [`DeltaError::DuplicateMergeKey`] unless `duplicates_allowed`.
    fn index_source_keys(
        &self,
        prepared: &PreparedSource,
        duplicates_allowed: bool,
    ) -> DeltaResult<HashMap<OwnedRow, usize>> {
        let source = &prepared.batch;
        let keys = prepared
            .keys
            .encode(&prepared.key_columns(source))
            .map_err(|err| self.schema_error(err.to_string()))?;
        let mut rows_by_key = HashMap::with_capacity(source.num_rows());
        for row in 0..source.num_rows() {
            if keys.has_null(row) {
                continue;
            }
            if rows_by_key.insert(keys.row(row).owned(), row).is_some() && !duplicates_allowed {
                let key = prepared
                    .key_indices
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
        Ok(rows_by_key)
    }

    /// Matches the rows of one target file against the source, recording in `fates`
    /// what the matched source rows do and in `metrics` what changes in the file. The
    /// rows the file keeps, when any of its rows are replaced or deleted.
    async fn merge_file(
        &self,
        snapshot: &Snapshot,
        add: &Add,
        prepared: &PreparedSource,
        options: &MergeOptions,
        fates: &mut [SourceFate],
        metrics: &mut WriteMetrics,
    ) -> DeltaResult<Option<RecordBatch>> {
        let target = self.read_file(snapshot, add).await?;
        let target = parquet_io::align(&target, &prepared.schema, &self.root)?;
        let eligible = match (&prepared.target_predicate, &options.target_predicate) {
            (Some(compiled), Some(predicate)) => {
                Some(self.evaluate_predicate(compiled, predicate, &target)?)
            }
            _ => None,
        };
        let matched = self
            .match_target_rows(prepared, options, &target, eligible.as_ref(), fates)
            .map_err(|err| self.schema_error(err.to_string()))?;
        if matched.updated == 0 && matched.deleted == 0 {
            return Ok(None);
        }
        let kept = filter_record_batch(&target, &BooleanArray::from(matched.keep))
            .map_err(|err| self.schema_error(err.to_string()))?;
        metrics.rows_updated += matched.updated;
        metrics.rows_deleted += matched.deleted;
        metrics.rows_copied += kept.num_rows() as u64;
        metrics.files_removed += 1;
        Ok(Some(kept))
    }

    /// What the merge does with each row of `target`: a row whose key matches a source
    /// row is replaced or deleted by it, unless it is newer by `sequence_by` or equal
    /// under `skip_unchanged`; an unmatched row stays, or goes with
    /// `delete_unmatched_target`. Rows outside `eligible` never match.
    fn match_target_rows(
        &self,
        prepared: &PreparedSource,
        options: &MergeOptions,
        target: &RecordBatch,
        eligible: Option<&BooleanArray>,
        fates: &mut [SourceFate],
    ) -> Result<FileMatch, arrow::error::ArrowError> {
        let target_keys = prepared.keys.encode(&prepared.key_columns(target))?;
        let target_values = prepared
            .values
            .as_ref()
            .map(|values| values.encode(target.columns()))
            .transpose()?;
        let sequence_order: Option<DynComparator> = prepared
            .sequence
            .map(|index| {
                make_comparator(
                    target.column(index).as_ref(),
                    prepared.batch.column(index).as_ref(),
                    SortOptions {
                        descending: false,
                        nulls_first: true,
                    },
                )
            })
            .transpose()?;
        let mut matched = FileMatch {
            keep: Vec::with_capacity(target.num_rows()),
            updated: 0,
            deleted: 0,
        };
        for row in 0..target.num_rows() {
            let considered =
                !target_keys.has_null(row) && eligible.is_none_or(|eligible| eligible.value(row));
            let source_row = considered
                .then(|| prepared.rows_by_key.get(&target_keys.row(row).owned()))
                .flatten();
            let Some(&source_row) = source_row else {
                if options.delete_unmatched_target {
                    matched.deleted += 1;
                }
                matched.keep.push(!options.delete_unmatched_target);
                continue;
            };
            let source_wins = sequence_order
                .as_ref()
                .is_none_or(|order| order(row, source_row) != Ordering::Greater);
            let unchanged = match (&target_values, &prepared.source_values) {
                (Some(target_values), Some(source_values)) => {
                    target_values.row(row) == source_values.row(source_row)
                }
                _ => false,
            };
            let fate = if !source_wins {
                SourceFate::Dropped
            } else if prepared.deletes[source_row] {
                SourceFate::Deleted
            } else if unchanged {
                SourceFate::Dropped
            } else {
                SourceFate::Updated
            };
            match fate {
                SourceFate::Deleted => matched.deleted += 1,
                SourceFate::Updated => matched.updated += 1,
                SourceFate::Inserted | SourceFate::Dropped => {}
            }
            fates[source_row] = fate;
            matched.keep.push(fate == SourceFate::Dropped);
        }
        Ok(matched)
    }

    /// Writes the source rows that insert or update, and counts the inserted ones.
    async fn write_merged_source(
        &self,
        prepared: &PreparedSource,
        partition_columns: &[String],
        fates: &[SourceFate],
        metrics: &mut WriteMetrics,
    ) -> DeltaResult<Vec<Add>> {
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
        let written = filter_record_batch(&prepared.batch, &written)
            .map_err(|err| self.schema_error(err.to_string()))?;
        let (adds, _) = self
            .write_data(&prepared.schema, partition_columns, &[written])
            .await?;
        metrics.files_added += adds.len() as u64;
        Ok(adds)
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
            let flags = cast(batch.column(index), &DataType::Boolean)
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
}

/// The `operationParameters` of a merge.
fn merge_parameters(options: &MergeOptions) -> BTreeMap<String, Value> {
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
    string_parameters(&parameters)
}
