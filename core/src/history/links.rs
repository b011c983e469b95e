//! What each version links to: the snapshot commit that added it, the Bronze row its
//! Silver row came from, and the facts pointing at it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, UInt32Array};
use arrow::compute::{cast, concat_batches, take};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::relations::{FactTable, Scd2Table};
use super::versions::{flags, micros, texts, VersionRow};
use super::{FactLink, HistoryError, RowOrigin};
use crate::delta::actions::{Action, Add};
use crate::delta::{DeltaError, DeltaTable, FileStats, Snapshot};
use crate::silver::{Pipeline, Silver};
use crate::storage::{Storage, StorageError};
use crate::warehouse;

/// The first 200 fact keys of a version are listed; the rest are counted.
pub(crate) const FACT_KEYS: usize = 200;

/// The files each commit of `delta` added (`dataChange` true), oldest commit first;
/// commits the log no longer holds are left out.
async fn added_files(
    delta: &DeltaTable,
    snapshot: &Snapshot,
) -> Result<Vec<(i64, Vec<Add>)>, HistoryError> {
    let mut commits = Vec::new();
    for version in 0..=snapshot.version() {
        let actions = match delta.commit_actions(version).await {
            Ok(actions) => actions,
            Err(DeltaError::MissingCommit { .. }) => continue,
            Err(err) => return Err(err.into()),
        };
        let adds: Vec<Add> = actions
            .into_iter()
            .filter_map(|action| match action {
                Action::Add(add) if add.data_change => Some(add),
                _ => None,
            })
            .collect();
        commits.push((version, adds));
    }
    Ok(commits)
}

/// `add`'s rows with only `columns`, shaped by `snapshot`; `None` if the file is gone
/// (vacuumed).
async fn read_added(
    delta: &DeltaTable,
    snapshot: &Snapshot,
    add: &Add,
    columns: &[&str],
) -> Result<Option<RecordBatch>, HistoryError> {
    let schema = snapshot.schema();
    let indices = columns
        .iter()
        .map(|column| schema.index_of(column))
        .collect::<Result<Vec<_>, _>>()?;
    let projected = Arc::new(schema.project(&indices)?);
    match delta.read_file_as(snapshot, add, &projected).await {
        Ok(batch) => Ok(Some(batch)),
        Err(DeltaError::Storage(StorageError::NotFound { .. })) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Whether `add`'s statistics allow a row with `key` equal to `value`.
fn may_hold(add: &Add, key: &str, value: &Value) -> bool {
    add.stats
        .as_deref()
        .and_then(FileStats::parse)
        .is_none_or(|stats| stats.may_contain_range(key, value, value))
}

/// A key's text as the statistics hold it: a number when it reads as one.
fn stats_value(key: &str) -> Value {
    key.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(key.to_owned()))
}

/// For each version (by valid_from), the first commit of the snapshot table whose
/// added files hold the key's row with that valid_from: the commit that wrote it.
pub(crate) async fn snapshot_versions(
    storage: &Arc<dyn Storage>,
    table: &Scd2Table,
    key: &str,
    versions: &[VersionRow],
) -> Result<Vec<Option<i64>>, HistoryError> {
    let link = &table.snapshot;
    let delta = DeltaTable::new(storage.clone(), link.table.clone());
    let snapshot = delta.snapshot().await?;
    let value = stats_value(key);
    let mut first: HashMap<i64, i64> = HashMap::new();
    for (version, adds) in added_files(&delta, &snapshot).await? {
        for add in adds.iter().filter(|add| may_hold(add, &link.key, &value)) {
            let columns = [link.key.as_str(), link.valid_from.as_str()];
            let Some(batch) = read_added(&delta, &snapshot, add, &columns).await? else {
                continue;
            };
            let keys = texts(batch.column(0)).map_err(|reason| unreadable(table, reason))?;
            let froms = micros(batch.column(1)).map_err(|reason| unreadable(table, reason))?;
            for (row_key, from) in keys.iter().zip(froms) {
                if let (Some(row_key), Some(from)) = (row_key, from) {
                    if row_key == key {
                        first.entry(from).or_insert(version);
                    }
                }
            }
        }
        if versions.iter().all(|v| first.contains_key(&v.from)) {
            break;
        }
    }
    Ok(versions
        .iter()
        .map(|v| first.get(&v.from).copied())
        .collect())
}

fn unreadable(table: &Scd2Table, reason: String) -> HistoryError {
    HistoryError::Unreadable {
        relation: table.relation.relation.clone(),
        reason,
    }
}

/// A row of the key as Silver's pipeline types it, with where it came from.
#[derive(Debug)]
struct TracedRow {
    bronze_version: i64,
    batch_id: Option<i64>,
    source_file: Option<String>,
    sequence: Option<i64>,
    deleted: bool,
}

/// Every Bronze row of `key`, each Bronze commit's files through the pipeline together
/// as a run takes them, in commit order.
async fn traced_rows(
    storage: &Arc<dyn Storage>,
    silver: &Silver,
    pipeline: &Pipeline,
    key: &str,
) -> Result<Vec<TracedRow>, HistoryError> {
    let (Some(sequence_by), [key_column]) = (&pipeline.sequence_by, pipeline.key.as_slice()) else {
        return Ok(Vec::new());
    };
    let bronze = DeltaTable::new(storage.clone(), warehouse::bronze_table(&pipeline.entity));
    if !bronze.exists().await? {
        return Ok(Vec::new());
    }
    let snapshot = bronze.snapshot().await?;
    let live: HashSet<&str> = snapshot.files().iter().map(|f| f.path.as_str()).collect();
    let source_error = |detail: String| HistoryError::Unreadable {
        relation: bronze.root().to_owned(),
        reason: detail,
    };
    let mut traced = Vec::new();
    for (version, adds) in added_files(&bronze, &snapshot).await? {
        let mut batches = Vec::new();
        for add in adds.iter().filter(|add| live.contains(add.path.as_str())) {
            batches.push(bronze.read_file(&snapshot, add).await?);
        }
        if batches.is_empty() {
            continue;
        }
        let input = concat_batches(snapshot.schema(), &batches)?;
        let rows = silver.trace(&pipeline.entity, &input).await?;
        let column = |name: &str| -> Result<ArrayRef, HistoryError> {
            rows.column_by_name(name)
                .cloned()
                .ok_or_else(|| source_error(format!("{name} is not in the pipeline's output")))
        };
        let keys = texts(&column(key_column)?).map_err(source_error)?;
        let sequences = micros(&column(sequence_by)?).map_err(source_error)?;
        let deleted = match &pipeline.delete_marker {
            Some(marker) => flags(&column(marker)?).map_err(source_error)?,
            None => vec![false; rows.num_rows()],
        };
        let files = texts(&column("_source_file")?).map_err(source_error)?;
        let batch_ids = cast(&column("_batch_id")?, &DataType::Int64)?;
        let batch_ids = batch_ids
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| source_error("_batch_id is not a number".to_owned()))?;
        for row in 0..rows.num_rows() {
            if keys[row].as_deref() == Some(key) {
                traced.push(TracedRow {
                    bronze_version: version,
                    batch_id: batch_ids.is_valid(row).then(|| batch_ids.value(row)),
                    source_file: files[row].clone(),
                    sequence: sequences[row],
                    deleted: deleted[row],
                });
            }
        }
    }
    Ok(traced)
}

/// For each version, the Bronze row its Silver row came from: the first row (in Bronze
/// order) that the pipeline types to this key with `sequence_by` equal to the version's
/// valid_from. A deletion version's is the first row carrying the deletion marker after
/// the version before it and before the one after it. `None` when the snapshot's
/// valid_from is not the Silver row's `sequence_by` (another strategy) or no row fits.
pub(crate) async fn origins(
    storage: &Arc<dyn Storage>,
    silver: &Silver,
    pipeline: &Pipeline,
    table: &Scd2Table,
    key: &str,
    versions: &[VersionRow],
) -> Result<Vec<Option<RowOrigin>>, HistoryError> {
    let sequenced =
        table.snapshot.updated_at.is_some() && table.snapshot.updated_at == pipeline.sequence_by;
    if !sequenced {
        return Ok(vec![None; versions.len()]);
    }
    let traced = traced_rows(storage, silver, pipeline, key).await?;
    let bronze_table = warehouse::bronze_table(&pipeline.entity);
    let origin = |row: &TracedRow| -> Option<RowOrigin> {
        Some(RowOrigin {
            bronze_table: bronze_table.clone(),
            batch_id: row.batch_id?,
            bronze_version: Some(row.bronze_version),
            source_file: row.source_file.clone()?,
        })
    };
    Ok(versions
        .iter()
        .enumerate()
        .map(|(index, version)| {
            let found = if version.deleted {
                let after = versions[..index]
                    .iter()
                    .rev()
                    .find(|v| !v.deleted)
                    .map(|v| v.from);
                let before = versions.get(index + 1).map(|v| v.from);
                traced.iter().find(|row| {
                    row.deleted
                        && row.sequence.is_some_and(|sequence| {
                            after.is_none_or(|after| sequence >= after)
                                && before.is_none_or(|before| sequence < before)
                        })
                })
            } else {
                traced
                    .iter()
                    .find(|row| !row.deleted && row.sequence == Some(version.from))
            };
            found.and_then(origin)
        })
        .collect())
}

/// For each version, the facts of each fact table whose surrogate key is the
/// version's: how many, and the first [`FACT_KEYS`] keys ascending.
pub(crate) async fn facts(
    storage: &Arc<dyn Storage>,
    table: &Scd2Table,
    versions: &[VersionRow],
) -> Result<Vec<Vec<FactLink>>, HistoryError> {
    let Some(surrogate_key) = &table.relation.surrogate_key else {
        return Ok(vec![Vec::new(); versions.len()]);
    };
    let wanted: HashSet<&str> = versions
        .iter()
        .filter_map(|v| v.surrogate.as_deref())
        .collect();
    let mut links = vec![Vec::new(); versions.len()];
    for fact in &table.facts {
        let keys = fact_keys(storage, fact, surrogate_key, &wanted).await?;
        for (index, version) in versions.iter().enumerate() {
            let Some(surrogate) = &version.surrogate else {
                continue;
            };
            let mut found = keys.get(surrogate.as_str()).cloned().unwrap_or_default();
            found.sort();
            links[index].push(FactLink {
                relation: fact.relation.clone(),
                key_column: fact.key_column.clone(),
                count: found.len() as u64,
                keys: found
                    .into_iter()
                    .take(FACT_KEYS)
                    .map(|key| key.text)
                    .collect(),
            });
        }
    }
    Ok(links)
}

/// A fact's key, ordered as a number when it is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FactKey {
    number: Option<i64>,
    text: String,
}

/// The keys of `fact`'s rows per wanted surrogate key, reading only the two columns of
/// each file.
async fn fact_keys(
    storage: &Arc<dyn Storage>,
    fact: &FactTable,
    surrogate_key: &str,
    wanted: &HashSet<&str>,
) -> Result<BTreeMap<String, Vec<FactKey>>, HistoryError> {
    let delta = DeltaTable::new(storage.clone(), fact.table.clone());
    let snapshot = delta.snapshot().await?;
    let schema: &Schema = snapshot.schema();
    let mut keys: BTreeMap<String, Vec<FactKey>> = BTreeMap::new();
    if schema.index_of(surrogate_key).is_err() || schema.index_of(&fact.key_column).is_err() {
        return Ok(keys);
    }
    let fact_error = |reason: String| HistoryError::Unreadable {
        relation: fact.relation.clone(),
        reason,
    };
    for add in snapshot.files() {
        let columns = [surrogate_key, fact.key_column.as_str()];
        let Some(batch) = read_added(&delta, &snapshot, add, &columns).await? else {
            continue;
        };
        let surrogates = cast(batch.column(0), &DataType::Utf8)?;
        let surrogates = surrogates
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| fact_error(format!("{surrogate_key} is not text")))?;
        let matching: Vec<usize> = (0..surrogates.len())
            .filter(|&row| surrogates.is_valid(row) && wanted.contains(surrogates.value(row)))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let indices = UInt32Array::from_iter_values(matching.iter().map(|&row| row as u32));
        let key_texts = texts(&take(batch.column(1), &indices, None)?).map_err(fact_error)?;
        for (row, text) in matching.into_iter().zip(key_texts) {
            let Some(text) = text else {
                continue;
            };
            let surrogate = surrogates.value(row).to_owned();
            keys.entry(surrogate).or_default().push(FactKey {
                number: text.parse().ok(),
                text,
            });
        }
    }
    Ok(keys)
}
