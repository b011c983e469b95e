//! SCD2 snapshots with dbt's semantics, and without its known bugs.
//!
//! A snapshot keeps every version of every record of a source. Each run compares the
//! source's rows with the snapshot's current versions (`dbt_valid_to` null, or
//! `dbt_valid_to_current`), closes the versions that changed and adds the new ones.
//! Where dbt goes wrong, this does not:
//!
//! - a new source column is added to the snapshot, null on older versions (dbt-core
//!   #1797, #3146, #11735);
//! - a key never gets two current versions: several source rows for one key become
//!   successive versions (timestamp strategy) or the last one (check strategy), and a
//!   NULL in a composite key compares equal to NULL (#2034, #4661, #11235, #11950);
//! - a record deleted and later restored reopens as a new current version
//!   (dbt-adapters #1240);
//! - `hard_deletes: new_record` adds one deletion row per deletion, not one per run
//!   (dbt-adapters #654);
//! - a run with no source change writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use arrow::util::display::ArrayFormatter;
use md5::Digest;

use super::config::NodeConfig;

/// How a change is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// A newer value in this column is a new version.
    Timestamp { updated_at: String },
    /// A different value in any of these columns (`None`: all but the key) is.
    Check { columns: Option<Vec<String>> },
}

/// What a key missing from the source does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    /// Nothing.
    Ignore,
    /// Its current version is closed.
    Invalidate,
    /// Its current version is closed and a deletion version (`dbt_is_deleted`) added.
    NewRecord,
}

/// The names of the meta columns (`snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaNames {
    /// `dbt_scd_id`.
    pub scd_id: String,
    /// `dbt_updated_at`.
    pub updated_at: String,
    /// `dbt_valid_from`.
    pub valid_from: String,
    /// `dbt_valid_to`.
    pub valid_to: String,
    /// `dbt_is_deleted`.
    pub is_deleted: String,
}

/// A snapshot's configuration, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// The record's key: one or more columns.
    pub unique_key: Vec<String>,
    /// How changes are detected.
    pub strategy: Strategy,
    /// What deletions do.
    pub hard_deletes: HardDeletes,
    /// The meta columns' names.
    pub meta: MetaNames,
    /// `dbt_valid_to_current`: the SQL expression current versions hold instead of null.
    pub valid_to_current: Option<String>,
}

fn text(config: &NodeConfig, key: &str) -> Option<String> {
    config.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

impl SnapshotConfig {
    /// Reads and checks a snapshot's configuration.
    pub fn from_config(config: &NodeConfig) -> Result<Self, String> {
        let unique_key = config.unique_key();
        if unique_key.is_empty() {
            return Err("a snapshot needs a unique_key".to_owned());
        }
        let strategy = match text(config, "strategy").as_deref() {
            Some("timestamp") => Strategy::Timestamp {
                updated_at: text(config, "updated_at")
                    .ok_or("the timestamp strategy needs updated_at")?,
            },
            Some("check") => Strategy::Check {
                columns: match config.get("check_cols") {
                    Some(serde_json::Value::String(all)) if all == "all" => None,
                    Some(serde_json::Value::Array(columns)) => Some(
                        columns
                            .iter()
                            .filter_map(|c| c.as_str().map(str::to_owned))
                            .collect(),
                    ),
                    _ => {
                        return Err(
                            "the check strategy needs check_cols: a list or 'all'".to_owned()
                        )
                    }
                },
            },
            Some(other) => {
                return Err(format!("strategy {other:?} is not timestamp or check"));
            }
            None => return Err("a snapshot needs a strategy: timestamp or check".to_owned()),
        };
        let hard_deletes = match text(config, "hard_deletes").as_deref() {
            None | Some("ignore") => {
                if config
                    .get("invalidate_hard_deletes")
                    .and_then(|v| v.as_bool())
                    == Some(true)
                {
                    HardDeletes::Invalidate
                } else {
                    HardDeletes::Ignore
                }
            }
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            Some(other) => {
                return Err(format!(
                    "hard_deletes {other:?} is not ignore, invalidate or new_record"
                ))
            }
        };
        let names = config
            .get("snapshot_meta_column_names")
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default();
        let name = |key: &str| {
            names
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or(key)
                .to_owned()
        };
        Ok(Self {
            unique_key,
            strategy,
            hard_deletes,
            meta: MetaNames {
                scd_id: name("dbt_scd_id"),
                updated_at: name("dbt_updated_at"),
                valid_from: name("dbt_valid_from"),
                valid_to: name("dbt_valid_to"),
                is_deleted: name("dbt_is_deleted"),
            },
            valid_to_current: text(config, "dbt_valid_to_current"),
        })
    }
}

/// What a run writes: rows to merge into the snapshot on its scd id, and counts.
#[derive(Debug)]
pub struct SnapshotChanges {
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

/// The changes a run makes: `existing` is every row of the snapshot (none on the first
/// run), `source` the source's rows now, `now` the run's time in microseconds.
pub fn plan(
    config: &SnapshotConfig,
    existing: Option<&RecordBatch>,
    source: &RecordBatch,
    now: i64,
    valid_to_current: Option<i64>,
) -> Result<SnapshotChanges, String> {
    let meta = &config.meta;
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
    let key_text = {
        let formatters = config
            .unique_key
            .iter()
            .map(|key| {
                let array = column(source, key, "unique_key")?;
                ArrayFormatter::try_new(array.as_ref(), &Default::default())
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        move |row: usize| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect::<Vec<_>>()
                .join("|")
        }
    };
    // When each source row happened: its updated_at, or now for the check strategy.
    let source_times: Vec<Option<i64>> = match &config.strategy {
        // A row without an updated_at is dated now rather than left unversioned.
        Strategy::Timestamp { updated_at } => instants(column(source, updated_at, "updated_at")?)?
            .into_iter()
            .map(|time| time.or(Some(now)))
            .collect(),
        Strategy::Check { .. } => vec![Some(now); source.num_rows()],
    };
    // The source's rows per key, in version order (stable: ties keep arrival order).
    let mut versions: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    for row in 0..source.num_rows() {
        versions
            .entry(source_keys.row(row).as_ref().to_vec())
            .or_default()
            .push(row);
    }
    for rows in versions.values_mut() {
        rows.sort_by_key(|&row| source_times[row]);
        // Equal times: the later arrival is the version.
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
    let check_columns: Vec<String> = match &config.strategy {
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
    };

    // The current version of each key in the snapshot.
    let mut current: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut current_deleted: Vec<bool> = Vec::new();
    let mut current_updated: Vec<Option<i64>> = Vec::new();
    if let Some(existing) = existing {
        let valid_to = instants(column(existing, &meta.valid_to, "snapshot")?)?;
        current_updated = instants(column(existing, &meta.updated_at, "snapshot")?)?;
        current_deleted = match existing.column_by_name(&meta.is_deleted) {
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
        let existing_keys = rows_of(&converter, existing, &config.unique_key, &key_types)?;
        for (row, valid_to) in valid_to.iter().enumerate() {
            let is_current =
                valid_to.is_none() || (valid_to.is_some() && *valid_to == valid_to_current);
            if is_current {
                current.insert(existing_keys.row(row).as_ref().to_vec(), row);
            }
        }
    }
    let check_converter = (!check_columns.is_empty())
        .then(|| -> Result<(RowConverter, Rows, Option<Rows>), String> {
            let types: Vec<DataType> = check_columns
                .iter()
                .map(|c| column(source, c, "check").map(|a| a.data_type().clone()))
                .collect::<Result<_, _>>()?;
            let converter =
                RowConverter::new(types.iter().map(|t| SortField::new(t.clone())).collect())
                    .map_err(|e| e.to_string())?;
            let source_rows = rows_of(&converter, source, &check_columns, &types)?;
            let existing_rows = existing
                .map(|existing| {
                    // Columns the snapshot does not have yet compare as null.
                    let arrays = check_columns
                        .iter()
                        .zip(&types)
                        .map(|(name, data_type)| match existing.column_by_name(name) {
                            Some(array) => cast(array, data_type).map_err(|e| e.to_string()),
                            None => {
                                Ok(arrow::array::new_null_array(data_type, existing.num_rows()))
                            }
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    converter
                        .convert_columns(&arrays)
                        .map_err(|e| e.to_string())
                })
                .transpose()?;
            Ok((converter, source_rows, existing_rows))
        })
        .transpose()?;

    let mut inserted_rows: Vec<usize> = Vec::new();
    let mut inserted_from: Vec<Option<i64>> = Vec::new();
    let mut inserted_to: Vec<Option<i64>> = Vec::new();
    let mut closed_rows: Vec<usize> = Vec::new();
    let mut closed_at: Vec<Option<i64>> = Vec::new();
    let mut deleted_rows: Vec<usize> = Vec::new();
    for (key, rows) in &versions {
        let cur = current.get(key).copied();
        let mut open = cur.map(|row| (row, current_deleted[row], current_updated[row]));
        let mut pending: Vec<usize> = Vec::new();
        for &row in rows {
            let changed = match open {
                None => true,
                // A deletion version: the record is back.
                Some((_, true, _)) => true,
                Some((existing_row, false, updated)) => match &config.strategy {
                    Strategy::Timestamp { .. } => source_times[row] > updated,
                    Strategy::Check { .. } => {
                        let (_, source_rows, existing_rows) =
                            check_converter.as_ref().ok_or("check columns")?;
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
                    closed_rows.push(existing_row);
                    closed_at.push(source_times[row]);
                }
            }
            pending.push(row);
            open = Some((usize::MAX, false, source_times[row]));
        }
        for (index, &row) in pending.iter().enumerate() {
            inserted_rows.push(row);
            inserted_from.push(source_times[row]);
            inserted_to.push(
                pending
                    .get(index + 1)
                    .map(|&next| source_times[next])
                    .unwrap_or(valid_to_current),
            );
        }
    }
    // Keys the source no longer has.
    if config.hard_deletes != HardDeletes::Ignore {
        let mut gone: Vec<(&Vec<u8>, &usize)> = current
            .iter()
            .filter(|(key, _)| !versions.contains_key(*key))
            .collect();
        gone.sort_by_key(|(_, row)| **row);
        for (_, &row) in gone {
            if current_deleted[row] {
                continue; // already recorded as deleted
            }
            closed_rows.push(row);
            closed_at.push(Some(now));
            if config.hard_deletes == HardDeletes::NewRecord {
                deleted_rows.push(row);
            }
        }
    }

    let new_record = config.hard_deletes == HardDeletes::NewRecord;
    let mut batches = Vec::new();
    if !inserted_rows.is_empty() {
        let indices =
            UInt32Array::from(inserted_rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
        let columns = source
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &indices, None).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut batch =
            RecordBatch::try_new(source.schema(), columns).map_err(|e| e.to_string())?;
        let ids: Vec<String> = inserted_rows
            .iter()
            .zip(&inserted_from)
            .map(|(&row, from)| scd_id(&key_text(row), from.unwrap_or(now)))
            .collect();
        batch = with_column(&batch, &meta.scd_id, Arc::new(StringArray::from(ids)))?;
        batch = with_column(&batch, &meta.updated_at, micros(inserted_from.clone()))?;
        batch = with_column(&batch, &meta.valid_from, micros(inserted_from))?;
        batch = with_column(&batch, &meta.valid_to, micros(inserted_to))?;
        if new_record {
            batch = with_column(
                &batch,
                &meta.is_deleted,
                Arc::new(StringArray::from(vec!["False"; inserted_rows.len()])),
            )?;
        }
        batches.push(batch);
    }
    if let Some(existing) = existing {
        if !closed_rows.is_empty() {
            let indices =
                UInt32Array::from(closed_rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
            let batch =
                arrow::compute::take_record_batch(existing, &indices).map_err(|e| e.to_string())?;
            batches.push(with_column(&batch, &meta.valid_to, micros(closed_at))?);
        }
        if !deleted_rows.is_empty() {
            let indices =
                UInt32Array::from(deleted_rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
            let mut batch =
                arrow::compute::take_record_batch(existing, &indices).map_err(|e| e.to_string())?;
            let keys = config
                .unique_key
                .iter()
                .map(|key| column(&batch, key, "unique_key").cloned())
                .collect::<Result<Vec<ArrayRef>, String>>()?;
            let formatters = keys
                .iter()
                .map(|array| {
                    ArrayFormatter::try_new(array.as_ref(), &Default::default())
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, String>>()?;
            let ids: Vec<String> = (0..batch.num_rows())
                .map(|row| {
                    let text = formatters
                        .iter()
                        .map(|f| f.value(row).to_string())
                        .collect::<Vec<_>>()
                        .join("|");
                    scd_id(&format!("{text}|deleted"), now)
                })
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
            batches.push(batch);
        }
    }
    Ok(SnapshotChanges {
        inserted: inserted_rows.len() + deleted_rows.len(),
        closed: closed_rows.len(),
        batches,
    })
}
