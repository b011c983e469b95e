//! What a commit did, typed both ways: the [`Operation`] and its [`WriteMetrics`] are
//! written into `commitInfo` (`operation`, the `mode` parameter of a `WRITE`, and
//! `operationMetrics`) under the names and keys Delta's own writers use, and read back
//! from any writer's commits.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The kind of a commit, as `commitInfo.operation` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `CREATE TABLE`: the table's first commit.
    CreateTable,
    /// `WRITE` adding rows: mode `Append` (or any mode but `Overwrite`).
    Append,
    /// `WRITE` with mode `Overwrite`: replaces every row.
    Overwrite,
    /// `MERGE`: an upsert on a key.
    Merge,
    /// `DELETE`: the rows matching a predicate removed.
    Delete,
    /// Any other operation, as another writer spelt it (`OPTIMIZE`, `UPDATE`,
    /// `STREAMING UPDATE`, …; empty when the commit names none).
    Other(String),
}

/// `WRITE`, the operation of appends and overwrites.
const WRITE: &str = "WRITE";
/// The `operationParameters` key of a `WRITE`'s mode.
const MODE: &str = "mode";
/// The mode of an overwrite.
const OVERWRITE_MODE: &str = "Overwrite";

impl Operation {
    /// The operation's name in `commitInfo.operation`.
    pub fn name(&self) -> &str {
        match self {
            Operation::CreateTable => "CREATE TABLE",
            Operation::Append | Operation::Overwrite => WRITE,
            Operation::Merge => "MERGE",
            Operation::Delete => "DELETE",
            Operation::Other(name) => name,
        }
    }

    /// The `mode` parameter a `WRITE` records.
    pub(crate) fn write_mode(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Operation::Append => Some((MODE, "Append")),
            Operation::Overwrite => Some((MODE, OVERWRITE_MODE)),
            _ => None,
        }
    }

    /// The operation of a commit, from its `operation` and `operationParameters`.
    pub fn parse(name: &str, parameters: &BTreeMap<String, Value>) -> Self {
        match name {
            "CREATE TABLE" => Operation::CreateTable,
            WRITE if parameters.get(MODE).and_then(Value::as_str) == Some(OVERWRITE_MODE) => {
                Operation::Overwrite
            }
            WRITE => Operation::Append,
            "MERGE" => Operation::Merge,
            "DELETE" => Operation::Delete,
            other => Operation::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
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

/// The `operationMetrics` key each count is recorded under by one operation; `None`
/// where the operation records no such count.
struct MetricKeys {
    rows_inserted: Option<&'static str>,
    rows_updated: Option<&'static str>,
    rows_deleted: Option<&'static str>,
    rows_copied: Option<&'static str>,
    files_added: Option<&'static str>,
    files_removed: Option<&'static str>,
}

impl MetricKeys {
    /// The keys of Delta's writers (Spark's `DeltaOperationMetrics`): `MERGE` counts
    /// target rows and files, `DELETE` deleted and copied rows, a `WRITE` its output
    /// rows and files, and an overwrite also the rows it deleted (`numDeletedRows`, as a
    /// `replaceWhere` overwrite records them).
    fn of(operation: &Operation) -> Self {
        match operation {
            Operation::CreateTable => Self {
                rows_inserted: None,
                rows_updated: None,
                rows_deleted: None,
                rows_copied: None,
                files_added: None,
                files_removed: None,
            },
            Operation::Merge => Self {
                rows_inserted: Some("numTargetRowsInserted"),
                rows_updated: Some("numTargetRowsUpdated"),
                rows_deleted: Some("numTargetRowsDeleted"),
                rows_copied: Some("numTargetRowsCopied"),
                files_added: Some("numTargetFilesAdded"),
                files_removed: Some("numTargetFilesRemoved"),
            },
            Operation::Delete => Self {
                rows_inserted: None,
                rows_updated: None,
                rows_deleted: Some("numDeletedRows"),
                rows_copied: Some("numCopiedRows"),
                files_added: Some("numAddedFiles"),
                files_removed: Some("numRemovedFiles"),
            },
            Operation::Append => Self {
                rows_inserted: Some("numOutputRows"),
                rows_updated: None,
                rows_deleted: None,
                rows_copied: None,
                files_added: Some("numFiles"),
                files_removed: Some("numRemovedFiles"),
            },
            Operation::Overwrite => Self {
                rows_deleted: Some("numDeletedRows"),
                ..Self::of(&Operation::Append)
            },
            // Another writer's operation: the keys Spark's writers share.
            Operation::Other(_) => Self {
                rows_inserted: Some("numOutputRows"),
                rows_updated: Some("numUpdatedRows"),
                rows_deleted: Some("numDeletedRows"),
                rows_copied: Some("numCopiedRows"),
                files_added: Some("numAddedFiles"),
                files_removed: Some("numRemovedFiles"),
            },
        }
    }
}

impl WriteMetrics {
    /// The `operationMetrics` a commit of `operation` records: Delta's keys, values as
    /// strings (Delta's convention). `None` for an operation that records none.
    pub(crate) fn to_operation_metrics(
        &self,
        operation: &Operation,
    ) -> Option<BTreeMap<String, Value>> {
        let keys = MetricKeys::of(operation);
        let map: BTreeMap<String, Value> = [
            (keys.rows_inserted, self.rows_inserted),
            (keys.rows_updated, self.rows_updated),
            (keys.rows_deleted, self.rows_deleted),
            (keys.rows_copied, self.rows_copied),
            (keys.files_added, self.files_added),
            (keys.files_removed, self.files_removed),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key?.to_owned(), Value::from(value.to_string()))))
        .collect();
        (!map.is_empty()).then_some(map)
    }

    /// The counts a commit of `operation` recorded in its `operationMetrics`. A count
    /// missing, or not a whole number (as a string or a number), is 0.
    pub fn from_operation_metrics(
        operation: &Operation,
        metrics: &BTreeMap<String, Value>,
    ) -> Self {
        let keys = MetricKeys::of(operation);
        let count = |key: Option<&str>| {
            key.and_then(|key| metrics.get(key))
                .and_then(|value| {
                    value
                        .as_str()
                        .map_or_else(|| value.as_u64(), |text| text.parse().ok())
                })
                .unwrap_or(0)
        };
        Self {
            rows_inserted: count(keys.rows_inserted),
            rows_updated: count(keys.rows_updated),
            rows_deleted: count(keys.rows_deleted),
            rows_copied: count(keys.rows_copied),
            files_added: count(keys.files_added),
            files_removed: count(keys.files_removed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> WriteMetrics {
        WriteMetrics {
            rows_inserted: 1,
            rows_updated: 2,
            rows_deleted: 3,
            rows_copied: 4,
            files_added: 5,
            files_removed: 6,
        }
    }

    #[test]
    fn operations_round_trip_through_their_name_and_mode() {
        for operation in [
            Operation::CreateTable,
            Operation::Append,
            Operation::Overwrite,
            Operation::Merge,
            Operation::Delete,
            Operation::Other("OPTIMIZE".to_owned()),
        ] {
            let parameters: BTreeMap<String, Value> = operation
                .write_mode()
                .map(|(key, mode)| (key.to_owned(), Value::from(mode)))
                .into_iter()
                .collect();
            assert_eq!(Operation::parse(operation.name(), &parameters), operation);
        }
        // delta-rs and Spark write other modes; none of them replaces rows.
        let mode = BTreeMap::from([(MODE.to_owned(), Value::from("ErrorIfExists"))]);
        assert_eq!(Operation::parse("WRITE", &mode), Operation::Append);
        assert_eq!(Operation::parse("", &BTreeMap::new()).to_string(), "");
    }

    #[test]
    fn metrics_are_written_under_delta_keys_as_strings() {
        let written = metrics()
            .to_operation_metrics(&Operation::Overwrite)
            .expect("a write records metrics");
        let expected = [
            ("numOutputRows", "1"),
            ("numDeletedRows", "3"),
            ("numFiles", "5"),
            ("numRemovedFiles", "6"),
        ]
        .map(|(key, value)| (key.to_owned(), Value::from(value)));
        assert_eq!(written, BTreeMap::from(expected));
        let merge = metrics()
            .to_operation_metrics(&Operation::Merge)
            .expect("a merge records metrics");
        assert_eq!(merge["numTargetRowsUpdated"], "2");
        assert_eq!(
            metrics().to_operation_metrics(&Operation::CreateTable),
            None
        );
    }

    #[test]
    fn metrics_read_back_what_each_operation_records() {
        for operation in [Operation::Merge, Operation::Delete, Operation::Overwrite] {
            let written = metrics()
                .to_operation_metrics(&operation)
                .unwrap_or_default();
            let read = WriteMetrics::from_operation_metrics(&operation, &written);
            let keys = MetricKeys::of(&operation);
            let expected = |key: Option<&str>, value: u64| if key.is_some() { value } else { 0 };
            assert_eq!(read.rows_inserted, expected(keys.rows_inserted, 1));
            assert_eq!(read.rows_updated, expected(keys.rows_updated, 2));
            assert_eq!(read.rows_deleted, expected(keys.rows_deleted, 3));
            assert_eq!(read.rows_copied, expected(keys.rows_copied, 4));
            assert_eq!(read.files_added, expected(keys.files_added, 5));
            assert_eq!(read.files_removed, expected(keys.files_removed, 6));
        }
        // Another writer's numbers, as numbers, and an unknown operation.
        let foreign = BTreeMap::from([
            ("numOutputRows".to_owned(), Value::from(7)),
            ("numUpdatedRows".to_owned(), Value::from("8")),
            ("numDeletedRows".to_owned(), Value::from("not a number")),
        ]);
        let read =
            WriteMetrics::from_operation_metrics(&Operation::Other("UPDATE".into()), &foreign);
        assert_eq!(
            (read.rows_inserted, read.rows_updated, read.rows_deleted),
            (7, 8, 0)
        );
    }
}
