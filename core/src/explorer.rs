//! What a user can look at in a warehouse: a table's schema and history, a window of
//! its rows at any version, a Delta commit's actions and a stream's checkpoint.
//!
//! Every answer is plain data (serde), shaped for a UI or a terminal: values are
//! display strings, JSON is pretty-printed, nothing holds Arrow types.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::{CheckpointResult, CheckpointStore};
use crate::delta::actions::Action;
use crate::delta::{DeltaError, DeltaResult, DeltaTable, FileStats};
use crate::storage::Storage;

/// The most rows one [`rows`] call returns.
pub const MAX_WINDOW_ROWS: usize = 10_000;

/// One column of a table's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its Arrow type, as Arrow prints it (`Int64`, `Timestamp(µs, "UTC")`, …).
    pub data_type: String,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

/// One commit of a table's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Its version.
    pub version: i64,
    /// When it was committed, in ms since the epoch.
    pub timestamp_ms: i64,
    /// `CREATE TABLE`, `WRITE`, `MERGE`, …
    pub operation: String,
    /// The operation's parameters, `name=value`.
    pub parameters: Vec<(String, String)>,
    /// The operation's metrics (rows and files written, updated, removed).
    pub metrics: Vec<(String, String)>,
}

/// A table as of one version: its schema, size and whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableView {
    /// `<layer>/<name>`.
    pub table: String,
    /// The version shown.
    pub version: i64,
    /// The newest version.
    pub latest_version: i64,
    /// Rows at this version.
    pub rows: u64,
    /// Data files at this version.
    pub files: usize,
    /// The schema at this version.
    pub columns: Vec<Column>,
    /// Every commit, newest first.
    pub history: Vec<Commit>,
}

/// Consecutive rows of a table at one version, as display strings (`None` is null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowWindow {
    /// `<layer>/<name>`.
    pub table: String,
    /// The version read.
    pub version: i64,
    /// The position of the first row.
    pub offset: u64,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<Option<String>>>,
}

/// One key of a checkpoint store and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// The key (`bronze/trips/offsets/00000000000000000000`, …).
    pub key: String,
    /// The value: pretty JSON when it is JSON, else its text, else its size.
    pub value: String,
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The columns of an Arrow schema.
pub(crate) fn columns(schema: &arrow::datatypes::Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|field| Column {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            nullable: field.is_nullable(),
        })
        .collect()
}

/// `table` (`<layer>/<name>`) as of `version`, or its latest version.
pub async fn view(
    storage: Arc<dyn Storage>,
    table: &str,
    version: Option<i64>,
) -> DeltaResult<TableView> {
    let delta = DeltaTable::new(storage, table);
    let history = delta.history().await?;
    let latest_version = history.first().map_or(0, |entry| entry.version);
    let snapshot = match version {
        Some(version) => delta.snapshot_at(version).await?,
        None => delta.snapshot().await?,
    };
    let columns = columns(snapshot.schema());
    let rows = match snapshot.num_records() {
        Some(rows) => rows.max(0) as u64,
        // A file written without statistics: count its rows.
        None => delta
            .read(&snapshot)
            .await?
            .iter()
            .map(|batch| batch.num_rows() as u64)
            .sum(),
    };
    let history = history
        .into_iter()
        .map(|entry| Commit {
            version: entry.version,
            timestamp_ms: entry.timestamp_ms,
            operation: entry.operation,
            parameters: entry
                .operation_parameters
                .iter()
                .map(|(key, value)| (key.clone(), display(value)))
                .collect(),
            metrics: entry
                .operation_metrics
                .iter()
                .map(|(key, value)| (key.clone(), display(value)))
                .collect(),
        })
        .collect();
    Ok(TableView {
        table: table.to_owned(),
        version: snapshot.version(),
        latest_version,
        rows,
        files: snapshot.files().len(),
        columns,
        history,
    })
}

/// Rows `offset..offset + limit` of `table` as of `version` (or the latest), at most
/// [`MAX_WINDOW_ROWS`] of them.
pub async fn rows(
    storage: Arc<dyn Storage>,
    table: &str,
    version: Option<i64>,
    offset: u64,
    limit: usize,
) -> DeltaResult<RowWindow> {
    let delta = DeltaTable::new(storage, table);
    let snapshot = match version {
        Some(version) => delta.snapshot_at(version).await?,
        None => delta.snapshot().await?,
    };
    let offset_rows = usize::try_from(offset).unwrap_or(usize::MAX);
    let batch = delta
        .read_rows(&snapshot, offset_rows, limit.min(MAX_WINDOW_ROWS))
        .await?;
    Ok(RowWindow {
        table: table.to_owned(),
        version: snapshot.version(),
        offset,
        rows: display_rows(&batch).map_err(|detail| DeltaError::Schema {
            table: table.to_owned(),
            detail,
        })?,
    })
}

/// Every row of `batch` as display strings, nulls as `None`.
pub(crate) fn display_rows(batch: &RecordBatch) -> Result<Vec<Vec<Option<String>>>, String> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| err.to_string())?;
    Ok((0..batch.num_rows())
        .map(|row| {
            batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(column, formatter)| {
                    (!column.is_null(row)).then(|| formatter.value(row).to_string())
                })
                .collect()
        })
        .collect())
}

/// The actions of `table`'s commit `version` as pretty JSON, one action per object in
/// log order, with each file's statistics unpacked from their JSON string.
pub async fn commit_json(
    storage: Arc<dyn Storage>,
    table: &str,
    version: i64,
) -> DeltaResult<String> {
    let actions = DeltaTable::new(storage, table)
        .commit_actions(version)
        .await?;
    let readable: Vec<Value> = actions.iter().map(readable_action).collect();
    serde_json::to_string_pretty(&readable).map_err(|err| DeltaError::Schema {
        table: table.to_owned(),
        detail: err.to_string(),
    })
}

/// An action as the log holds it, but with an `add`'s `stats` as an object.
fn readable_action(action: &Action) -> Value {
    let mut value = serde_json::to_value(action).unwrap_or(Value::Null);
    if let Action::Add(add) = action {
        let stats = add.stats.as_deref().and_then(FileStats::parse);
        if let (Some(stats), Some(add)) = (stats, value.get_mut("add")) {
            add["stats"] = serde_json::to_value(stats).unwrap_or(Value::Null);
        }
    }
    value
}

/// Every entry of `checkpoint` whose key starts with `prefix`, in key order.
pub async fn checkpoint_entries(
    checkpoint: &dyn CheckpointStore,
    prefix: &str,
) -> CheckpointResult<Vec<CheckpointEntry>> {
    Ok(checkpoint
        .scan(prefix)
        .await?
        .into_iter()
        .map(|(key, value)| CheckpointEntry {
            key,
            value: readable_value(&value),
        })
        .collect())
}

fn readable_value(value: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(value) {
        return serde_json::to_string_pretty(&json).unwrap_or_default();
    }
    match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("({} bytes)", value.len()),
    }
}

/// The streams that keep state in `checkpoint` (`bronze/trips`, `silver/trips`: a
/// key's first two `/`-separated parts), with how many keys each holds.
pub async fn streams(checkpoint: &dyn CheckpointStore) -> CheckpointResult<Vec<(String, usize)>> {
    let mut streams = BTreeMap::new();
    for (key, _) in checkpoint.scan("").await? {
        let stream = match key.match_indices('/').nth(1) {
            Some((end, _)) => &key[..end],
            None => &key,
        };
        *streams.entry(stream.to_owned()).or_insert(0) += 1;
    }
    Ok(streams.into_iter().collect())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::checkpoint::{MemoryCheckpointStore, WriteBatch};
    use crate::storage::MemoryStorage;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
        let names: Vec<Option<String>> = ids
            .clone()
            .map(|id| (id % 7 != 0).then(|| format!("name {id}")))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    /// Three appends of 100 000, 50 and 70 000 rows: a window can cross files and
    /// row groups (64Ki rows each).
    async fn table() -> Arc<dyn Storage> {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let delta = DeltaTable::new(storage.clone(), "silver/people");
        delta
            .create(&batch(0..0).schema(), Default::default())
            .await
            .unwrap();
        for ids in [0..100_000, 100_000..100_050, 100_050..170_050] {
            delta
                .append(&[batch(ids)], Default::default())
                .await
                .unwrap();
        }
        storage
    }

    #[test]
    fn windows_cross_files_and_row_groups_and_travel_in_time() {
        futures::executor::block_on(async {
            let storage = table().await;
            let ids = |window: &RowWindow| -> Vec<String> {
                window
                    .rows
                    .iter()
                    .map(|row| row[0].clone().unwrap())
                    .collect()
            };
            // Inside the second row group of the first file.
            let window = rows(storage.clone(), "silver/people", None, 70_000, 3)
                .await
                .unwrap();
            assert_eq!(ids(&window), ["70000", "70001", "70002"]);
            assert_eq!(window.version, 3);
            // Across the end of the first file, the whole second and into the third.
            let window = rows(storage.clone(), "silver/people", None, 99_998, 60)
                .await
                .unwrap();
            let expected: Vec<String> = (99_998..100_058).map(|id| id.to_string()).collect();
            assert_eq!(ids(&window), expected);
            // Nulls stay nulls; values print as Arrow prints them.
            let window = rows(storage.clone(), "silver/people", None, 6, 2)
                .await
                .unwrap();
            assert_eq!(window.rows[0], [Some("6".into()), Some("name 6".into())]);
            assert_eq!(window.rows[1], [Some("7".into()), None]);
            // Past the end: what there is.
            let window = rows(storage.clone(), "silver/people", None, 170_048, 10)
                .await
                .unwrap();
            assert_eq!(ids(&window), ["170048", "170049"]);
            // Time travel: version 2 ends at row 100 050.
            let window = rows(storage.clone(), "silver/people", Some(2), 100_040, 100)
                .await
                .unwrap();
            assert_eq!(window.rows.len(), 10);
            assert_eq!(window.version, 2);
            // At most MAX_WINDOW_ROWS.
            let window = rows(storage.clone(), "silver/people", None, 0, usize::MAX)
                .await
                .unwrap();
            assert_eq!(window.rows.len(), MAX_WINDOW_ROWS);
        });
    }

    #[test]
    fn a_view_has_the_schema_size_and_history_of_its_version() {
        futures::executor::block_on(async {
            let storage = table().await;
            let latest = view(storage.clone(), "silver/people", None).await.unwrap();
            assert_eq!((latest.version, latest.latest_version), (3, 3));
            assert_eq!(latest.rows, 170_050);
            assert_eq!(latest.files, 3);
            assert_eq!(
                latest.columns,
                [
                    Column {
                        name: "id".into(),
                        data_type: "Int64".into(),
                        nullable: true
                    },
                    Column {
                        name: "name".into(),
                        data_type: "Utf8".into(),
                        nullable: true
                    },
                ]
            );
            let versions: Vec<i64> = latest.history.iter().map(|c| c.version).collect();
            assert_eq!(versions, [3, 2, 1, 0]);
            assert_eq!(latest.history[0].operation, "WRITE");
            assert!(latest.history[0]
                .metrics
                .contains(&("numOutputRows".to_owned(), "70000".to_owned())));

            let first = view(storage.clone(), "silver/people", Some(1))
                .await
                .unwrap();
            assert_eq!((first.version, first.latest_version), (1, 3));
            assert_eq!((first.rows, first.files), (100_000, 1));

            let missing = view(storage, "silver/nobody", None).await.unwrap_err();
            assert!(missing.to_string().contains("silver/nobody"), "{missing}");
        });
    }

    #[test]
    fn a_commit_shows_its_actions_with_the_statistics_unpacked() {
        futures::executor::block_on(async {
            let storage = table().await;
            let json = commit_json(storage.clone(), "silver/people", 2)
                .await
                .unwrap();
            let actions: Vec<Value> = serde_json::from_str(&json).unwrap();
            let add = actions
                .iter()
                .find_map(|action| action.get("add"))
                .expect("an add action");
            assert_eq!(add["stats"]["numRecords"], 50);
            assert_eq!(add["stats"]["minValues"]["id"], 100_000);
            assert!(actions
                .iter()
                .any(|action| action.get("commitInfo").is_some()));
            let missing = commit_json(storage, "silver/people", 9).await.unwrap_err();
            assert!(matches!(
                missing,
                DeltaError::MissingCommit { version: 9, .. }
            ));
        });
    }

    #[test]
    fn checkpoint_entries_read_as_json_or_text() {
        futures::executor::block_on(async {
            let store = MemoryCheckpointStore::new();
            store
                .write(
                    WriteBatch::new()
                        .put("bronze/trips/offsets/0", br#"{"batch_id":0}"#.to_vec())
                        .put("bronze/trips/commits/0", b"done".to_vec())
                        .put("bronze/trips/seen/a.csv", vec![0xff, 0xfe])
                        .put("silver/trips/progress", b"{}".to_vec()),
                )
                .await
                .unwrap();
            let entries = checkpoint_entries(&store, "bronze/").await.unwrap();
            let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "bronze/trips/commits/0",
                    "bronze/trips/offsets/0",
                    "bronze/trips/seen/a.csv"
                ]
            );
            assert_eq!(entries[0].value, "done");
            assert_eq!(entries[1].value, "{\n  \"batch_id\": 0\n}");
            assert_eq!(entries[2].value, "(2 bytes)");
            assert_eq!(
                streams(&store).await.unwrap(),
                [
                    ("bronze/trips".to_owned(), 3),
                    ("silver/trips".to_owned(), 1)
                ]
            );
        });
    }
}
