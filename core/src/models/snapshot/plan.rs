//! A snapshot run's plan: the source's rows compared with the snapshot's current
//! versions, step by step, into the rows to merge.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use arrow::util::display::ArrayFormatter;
use md5::Digest;

use super::{HardDeletes, MetaNames, SnapshotConfig, Strategy};

/// What a run writes: rows to merge into the snapshot on its scd id, and counts.
#[derive(Debug)]
pub(crate) struct SnapshotChanges {
    /// New versions (new scd ids) and closed versions (existing scd ids).
    pub batches: Vec<RecordBatch>,
    /// Versions added.
    pub inserted: usize,
    /// Versions closed.
    pub closed: usize,
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn micros(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

/// `batch` with column `name` set to `array` (replaced, or appended).
fn with_column(batch: &RecordBatch, name: &str, array: ArrayRef) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    let field = Field::new(name, array.data_type().clone(), true);
    match schema.index_of(name) {
        Ok(index) => {
            fields[index] = field;
            columns[index] = array;
        }
        Err(_) => {
            fields.push(field);
            columns.push(array);
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

fn column<'a>(batch: &'a RecordBatch, name: &str, what: &str) -> Result<&'a ArrayRef, String> {
    batch
        .column_by_name(name)
        .ok_or_else(|| format!("{what} column {name} is not in the data"))
}

/// Microsecond values of a timestamp (or date) column.
fn instants(array: &ArrayRef) -> Result<Vec<Option<i64>>, String> {
    let cast = cast(array, &timestamp_type()).map_err(|e| e.to_string())?;
    let values = cast
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or("not a timestamp")?;
    Ok(values.iter().collect())
}

/// Rows of `columns` in `batch` in comparable form (NULLs equal to each other).
fn rows_of(
    converter: &RowConverter,
    batch: &RecordBatch,
    columns: &[String],
    types: &[DataType],
) -> Result<Rows, String> {
    let arrays = columns
        .iter()
        .zip(types)
        .map(|(name, data_type)| {
            let array = column(batch, name, "key")?;
            cast(array, data_type).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    converter
        .convert_columns(&arrays)
        .map_err(|e| e.to_string())
}

/// The md5 hex of the key values and a time, as dbt builds `dbt_scd_id`.
fn scd_id(key_text: &str, at: i64) -> String {
    let time = chrono::DateTime::from_timestamp_micros(at)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default();
    md5::Md5::digest(format!("{key_text}|{time}").as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The text of each key as `dbt_scd_id` hashes it: the key columns' values joined
/// with `|`.
fn key_texts(batch: &RecordBatch, unique_key: &[String]) -> Result<Vec<String>, String> {
    let formatters = unique_key
        .iter()
        .map(|key| {
            let array = column(batch, key, "unique_key")?;
            ArrayFormatter::try_new(array.as_ref(), &Default::default()).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect())
}

/// The source must not have the snapshot's meta columns.
fn check_meta_columns(meta: &MetaNames, source: &RecordBatch) -> Result<(), String> {
    for name in [
        &meta.scd_id,
        &meta.updated_at,
        &meta.valid_from,
        &meta.valid_to,
        &meta.is_deleted,
    ] {
        if source.schema().index_of(name).is_ok() {
            return Err(format!(
                "the source has a column named {name}, which the snapshot uses"
            ));
        }
    }
    Ok(())
}

/// When each source row happened: its updated_at, or now for the check strategy. A
/// row without an updated_at is dated now rather than left unversioned.
fn source_times(
    config: &SnapshotConfig,
    source: &RecordBatch,
    now: i64,
) -> Result<Vec<Option<i64>>, String> {
    Ok(match &config.strategy {
        Strategy::Timestamp { updated_at } => instants(column(source, updated_at, "updated_at")?)?
            .into_iter()
            .map(|time| time.or(Some(now)))
            .collect(),
        Strategy::Check { .. } => vec![Some(now); source.num_rows()],
    })
}

/// The source's rows per key, in version order (stable: ties keep arrival order, and
/// of rows with equal times the later arrival is the version; the check strategy keeps
/// only the last).
fn versions_by_key(
    config: &SnapshotConfig,
    source_keys: &Rows,
    source_times: &[Option<i64>],
) -> BTreeMap<Vec<u8>, Vec<usize>> {
    let mut versions: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    for row in 0..source_keys.num_rows() {
        versions
            .entry(source_keys.row(row).as_ref().to_vec())
            .or_default()
            .push(row);
    }
    for rows in versions.values_mut() {
        rows.sort_by_key(|&row| source_times[row]);
        let mut kept: Vec<usize> = Vec::with_capacity(rows.len());
        for &row in rows.iter() {
            match kept.last_mut() {
                Some(last) if source_times[*last] == source_times[row] => *last = row,
                _ => kept.push(row),
            }
        }
        if matches!(config.strategy, Strategy::Check { .. }) {
            kept = kept.split_off(kept.len() - 1);
        }
        *rows = kept;
    }
    versions
}

/// The columns the check strategy compares: its `check_cols`, else every column but
/// the key; none for the timestamp strategy.
fn check_columns(config: &SnapshotConfig, source: &RecordBatch) -> Vec<String> {
    match &config.strategy {
        Strategy::Check {
            columns: Some(columns),
        } => columns.clone(),
        Strategy::Check { columns: None } => source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|name| !config.unique_key.contains(name))
            .collect(),
        Strategy::Timestamp { .. } => Vec::new(),
    }
}

/// The snapshot's current versions: the row of each key's, and per row whether it
/// records a deletion and its updated_at.
#[derive(Debug, Default)]
struct CurrentVersions {
    rows: HashMap<Vec<u8>, usize>,
    deleted: Vec<bool>,
    updated: Vec<Option<i64>>,
}

/// The current versions of `existing` (none on the first run).
fn current_versions(
    config: &SnapshotConfig,
    existing: Option<&RecordBatch>,
    converter: &RowConverter,
    key_types: &[DataType],
    valid_to_current: Option<i64>,
) -> Result<CurrentVersions, String> {
    let meta = &config.meta;
    let Some(existing) = existing else {
        return Ok(CurrentVersions::default());
    };
    let valid_to = instants(column(existing, &meta.valid_to, "snapshot")?)?;
    let updated = instants(column(existing, &meta.updated_at, "snapshot")?)?;
    let deleted = match existing.column_by_name(&meta.is_deleted) {
        Some(flags) => {
            let flags = cast(flags, &DataType::Utf8).map_err(|e| e.to_string())?;
            let flags = flags
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or("not text")?;
            flags
                .iter()
                .map(|f| f.is_some_and(|f| f.eq_ignore_ascii_case("true")))
                .collect()
        }
        None => vec![false; existing.num_rows()],
    };
    let existing_keys = rows_of(converter, existing, &config.unique_key, key_types)?;
    let mut rows = HashMap::new();
    for (row, valid_to) in valid_to.iter().enumerate() {
        let is_current =
            valid_to.is_none() || (valid_to.is_some() && *valid_to == valid_to_current);
        if is_current {
            rows.insert(existing_keys.row(row).as_ref().to_vec(), row);
        }
    }
    Ok(CurrentVersions {
        rows,
        deleted,
        updated,
    })
}

/// The check columns of the source and of the snapshot in comparable form; columns the
/// snapshot does not have yet compare as null.
fn check_rows(
    check_columns: &[String],
    source: &RecordBatch,
    existing: Option<&RecordBatch>,
) -> Result<(Rows, Option<Rows>), String> {
    let types: Vec<DataType> = check_columns
        .iter()
        .map(|c| column(source, c, "check").map(|a| a.data_type().clone()))
        .collect::<Result<_, _>>()?;
    let converter = RowConverter::new(types.iter().map(|t| SortField::new(t.clone())).collect())
        .map_err(|e| e.to_string())?;
    let source_rows = rows_of(&converter, source, check_columns, &types)?;
    let existing_rows = existing
        .map(|existing| {
            let arrays = check_columns
                .iter()
                .zip(&types)
                .map(|(name, data_type)| match existing.column_by_name(name) {
                    Some(array) => cast(array, data_type).map_err(|e| e.to_string()),
                    None => Ok(arrow::array::new_null_array(data_type, existing.num_rows())),
                })
                .collect::<Result<Vec<_>, String>>()?;
            converter
                .convert_columns(&arrays)
                .map_err(|e| e.to_string())
        })
        .transpose()?;
    Ok((source_rows, existing_rows))
}

/// What changes: source rows that become versions (with their validity), existing
/// versions closed (with when), and existing versions whose key was deleted.
#[derive(Debug, Default)]
struct Diff {
    inserted_rows: Vec<usize>,
    inserted_from: Vec<Option<i64>>,
    inserted_to: Vec<Option<i64>>,
    closed_rows: Vec<usize>,
    closed_at: Vec<Option<i64>>,
    deleted_rows: Vec<usize>,
}

impl Diff {
    /// Compares each key's source versions with its current version: a changed (or
    /// restored) record closes the current version and opens the new ones.
    fn versions(
        config: &SnapshotConfig,
        versions: &BTreeMap<Vec<u8>, Vec<usize>>,
        current: &CurrentVersions,
        source_times: &[Option<i64>],
        check_rows: Option<&(Rows, Option<Rows>)>,
        valid_to_current: Option<i64>,
    ) -> Result<Self, String> {
        let mut diff = Diff::default();
        for (key, rows) in versions {
            let cur = current.rows.get(key).copied();
            let mut open = cur.map(|row| (row, current.deleted[row], current.updated[row]));
            let mut pending: Vec<usize> = Vec::new();
            for &row in rows {
                let changed = match open {
                    None => true,
                    // A deletion version: the record is back.
                    Some((_, true, _)) => true,
                    Some((existing_row, false, updated)) => match &config.strategy {
                        Strategy::Timestamp { .. } => source_times[row] > updated,
                        Strategy::Check { .. } => {
                            let (source_rows, existing_rows) = check_rows.ok_or("check columns")?;
                            existing_rows.as_ref().is_none_or(|existing| {
                                existing.row(existing_row) != source_rows.row(row)
                            })
                        }
                    },
                };
                if !changed {
                    continue;
                }
                if pending.is_empty() {
                    if let Some((existing_row, _, _)) = open {
                        diff.closed_rows.push(existing_row);
                        diff.closed_at.push(source_times[row]);
                    }
                }
                pending.push(row);
                open = Some((usize::MAX, false, source_times[row]));
            }
            for (index, &row) in pending.iter().enumerate() {
                diff.inserted_rows.push(row);
                diff.inserted_from.push(source_times[row]);
                diff.inserted_to.push(
                    pending
                        .get(index + 1)
                        .map(|&next| source_times[next])
                        .unwrap_or(valid_to_current),
                );
            }
        }
        Ok(diff)
    }

    /// Closes the current versions of keys the source no longer has (unless
    /// `hard_deletes: ignore`), and with `new_record` records their deletion.
    fn close_deleted_keys(
        &mut self,
        config: &SnapshotConfig,
        versions: &BTreeMap<Vec<u8>, Vec<usize>>,
        current: &CurrentVersions,
        now: i64,
    ) {
        if config.hard_deletes == HardDeletes::Ignore {
            return;
        }
        let mut gone: Vec<(&Vec<u8>, &usize)> = current
            .rows
            .iter()
            .filter(|(key, _)| !versions.contains_key(*key))
            .collect();
        gone.sort_by_key(|(_, row)| **row);
        for (_, &row) in gone {
            if current.deleted[row] {
                continue; // already recorded as deleted
            }
            self.closed_rows.push(row);
            self.closed_at.push(Some(now));
            if config.hard_deletes == HardDeletes::NewRecord {
                self.deleted_rows.push(row);
            }
        }
    }
}

/// Row indices as `take`'s indices.
fn indices(rows: &[usize]) -> UInt32Array {
    UInt32Array::from(rows.iter().map(|&r| r as u32).collect::<Vec<_>>())
}

/// The new versions: the source's rows with their scd id and validity.
fn inserted_batch(
    config: &SnapshotConfig,
    source: &RecordBatch,
    diff: &Diff,
    now: i64,
) -> Result<RecordBatch, String> {
    let meta = &config.meta;
    let indices = indices(&diff.inserted_rows);
    let columns = source
        .columns()
        .iter()
        .map(|c| take(c.as_ref(), &indices, None).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut batch = RecordBatch::try_new(source.schema(), columns).map_err(|e| e.to_string())?;
    let key_text = key_texts(source, &config.unique_key)?;
    let ids: Vec<String> = diff
        .inserted_rows
        .iter()
        .zip(&diff.inserted_from)
        .map(|(&row, from)| scd_id(&key_text[row], from.unwrap_or(now)))
        .collect();
    batch = with_column(&batch, &meta.scd_id, Arc::new(StringArray::from(ids)))?;
    batch = with_column(&batch, &meta.updated_at, micros(diff.inserted_from.clone()))?;
    batch = with_column(&batch, &meta.valid_from, micros(diff.inserted_from.clone()))?;
    batch = with_column(&batch, &meta.valid_to, micros(diff.inserted_to.clone()))?;
    if config.hard_deletes == HardDeletes::NewRecord {
        batch = with_column(
            &batch,
            &meta.is_deleted,
            Arc::new(StringArray::from(vec!["False"; diff.inserted_rows.len()])),
        )?;
    }
    Ok(batch)
}

/// The deletion versions (`hard_deletes: new_record`): each deleted key's last
/// version, valid from now and flagged deleted.
fn deletion_batch(
    config: &SnapshotConfig,
    existing: &RecordBatch,
    deleted_rows: &[usize],
    now: i64,
    valid_to_current: Option<i64>,
) -> Result<RecordBatch, String> {
    let meta = &config.meta;
    let mut batch = arrow::compute::take_record_batch(existing, &indices(deleted_rows))
        .map_err(|e| e.to_string())?;
    let ids: Vec<String> = key_texts(&batch, &config.unique_key)?
        .iter()
        .map(|text| scd_id(&format!("{text}|deleted"), now))
        .collect();
    let rows = batch.num_rows();
    batch = with_column(&batch, &meta.scd_id, Arc::new(StringArray::from(ids)))?;
    batch = with_column(&batch, &meta.updated_at, micros(vec![Some(now); rows]))?;
    batch = with_column(&batch, &meta.valid_from, micros(vec![Some(now); rows]))?;
    batch = with_column(&batch, &meta.valid_to, micros(vec![valid_to_current; rows]))?;
    batch = with_column(
        &batch,
        &meta.is_deleted,
        Arc::new(StringArray::from(vec!["True"; rows])),
    )?;
    Ok(batch)
}

/// The changes a run makes: `existing` is every row of the snapshot (none on the first
/// run), `source` the source's rows now, `now` the run's time in microseconds.
pub(crate) fn plan(
    config: &SnapshotConfig,
    existing: Option<&RecordBatch>,
    source: &RecordBatch,
    now: i64,
    valid_to_current: Option<i64>,
) -> Result<SnapshotChanges, String> {
    check_meta_columns(&config.meta, source)?;
    let key_types: Vec<DataType> = config
        .unique_key
        .iter()
        .map(|key| column(source, key, "unique_key").map(|c| c.data_type().clone()))
        .collect::<Result<_, _>>()?;
    let converter = RowConverter::new(
        key_types
            .iter()
            .map(|t| SortField::new(t.clone()))
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let source_keys = rows_of(&converter, source, &config.unique_key, &key_types)?;
    let source_times = source_times(config, source, now)?;
    let versions = versions_by_key(config, &source_keys, &source_times);
    let check_columns = check_columns(config, source);
    let current = current_versions(config, existing, &converter, &key_types, valid_to_current)?;
    let check_rows = (!check_columns.is_empty())
        .then(|| check_rows(&check_columns, source, existing))
        .transpose()?;
    let mut diff = Diff::versions(
        config,
        &versions,
        &current,
        &source_times,
        check_rows.as_ref(),
        valid_to_current,
    )?;
    diff.close_deleted_keys(config, &versions, &current, now);

    let mut batches = Vec::new();
    if !diff.inserted_rows.is_empty() {
        batches.push(inserted_batch(config, source, &diff, now)?);
    }
    if let Some(existing) = existing {
        if !diff.closed_rows.is_empty() {
            let batch = arrow::compute::take_record_batch(existing, &indices(&diff.closed_rows))
                .map_err(|e| e.to_string())?;
            let closed_at = micros(diff.closed_at.clone());
            batches.push(with_column(&batch, &config.meta.valid_to, closed_at)?);
        }
        if !diff.deleted_rows.is_empty() {
            batches.push(deletion_batch(
                config,
                existing,
                &diff.deleted_rows,
                now,
                valid_to_current,
            )?);
        }
    }
    Ok(SnapshotChanges {
        inserted: diff.inserted_rows.len() + diff.deleted_rows.len(),
        closed: diff.closed_rows.len(),
        batches,
    })
}
