//! The actions of a Delta commit, as the protocol spells them in `_delta_log/*.json`.
//!
//! Each line of a commit file is one JSON object with one key naming the action:
//! `{"add": {...}}`, `{"remove": {...}}`, `{"metaData": {...}}`, `{"protocol": {...}}`,
//! `{"txn": {...}}` or `{"commitInfo": {...}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reader and writer versions a table needs (`protocol`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Readers older than this must not read the table.
    pub min_reader_version: i32,
    /// Writers older than this must not write it.
    pub min_writer_version: i32,
    /// Table features readers must support (reader version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<String>>,
    /// Table features writers must support (writer version 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<String>>,
}

impl Protocol {
    /// What this implementation writes: reader version 1, writer version 2.
    pub fn current() -> Self {
        Self {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }
    }
}

/// The data files' format (`metaData.format`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Always `parquet`.
    pub provider: String,
    /// Format options; none are used.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl Default for Format {
    fn default() -> Self {
        Self {
            provider: "parquet".to_owned(),
            options: BTreeMap::new(),
        }
    }
}

/// The table's identity, schema and settings (`metaData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// A unique id, fixed at creation.
    pub id: String,
    /// An optional user-facing name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The data files' format.
    #[serde(default)]
    pub format: Format,
    /// The schema, as Delta's JSON schema serialised to a string.
    pub schema_string: String,
    /// Columns the table is partitioned by.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Table properties (`delta.checkpointInterval`, …).
    #[serde(default)]
    pub configuration: BTreeMap<String, Option<String>>,
    /// Creation time, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
}

/// A data file joining the table (`add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// The file's path relative to the table root (URL-encoded per the protocol).
    pub path: String,
    /// Partition column values of the file.
    #[serde(default)]
    pub partition_values: BTreeMap<String, Option<String>>,
    /// Size in bytes.
    pub size: i64,
    /// When the file was written, milliseconds since the epoch.
    pub modification_time: i64,
    /// False when the commit only rearranges existing data.
    pub data_change: bool,
    /// Per-file statistics, a JSON string (see [`crate::delta::FileStats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, Option<String>>>,
}

/// A data file leaving the table (`remove`); the file stays until vacuum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// The removed file's path.
    pub path: String,
    /// When it was removed, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// False when the commit only rearranges existing data.
    pub data_change: bool,
    /// Whether the fields below are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    /// Partition values of the removed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<BTreeMap<String, Option<String>>>,
    /// Size of the removed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// The last batch an application committed (`txn`), for exactly-once streaming writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    /// The writing application or stream.
    pub app_id: String,
    /// Its batch number.
    pub version: i64,
    /// When, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// What a commit did and why (`commitInfo`); free-form in the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// Commit time, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// `CREATE TABLE`, `WRITE`, `MERGE`, `DELETE`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The operation's parameters, as strings (Delta's convention).
    #[serde(default)]
    pub operation_parameters: BTreeMap<String, Value>,
    /// Counts: rows and files written, updated, removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_metrics: Option<BTreeMap<String, Value>>,
    /// The version this commit was based on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_version: Option<i64>,
    /// Whether the commit only added data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_blind_append: Option<bool>,
    /// The writing engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_info: Option<String>,
    /// Anything else a foreign writer recorded.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One line of a commit file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// See [`Protocol`].
    #[serde(rename = "protocol")]
    Protocol(Protocol),
    /// See [`Metadata`].
    #[serde(rename = "metaData")]
    Metadata(Metadata),
    /// See [`Add`].
    #[serde(rename = "add")]
    Add(Add),
    /// See [`Remove`].
    #[serde(rename = "remove")]
    Remove(Remove),
    /// See [`Txn`].
    #[serde(rename = "txn")]
    Txn(Txn),
    /// See [`CommitInfo`].
    #[serde(rename = "commitInfo")]
    CommitInfo(CommitInfo),
}

/// A line this implementation does not know (a newer action such as `cdc` or
/// `domainMetadata`); readers must skip it.
fn is_unknown_action(line: &str) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line) else {
        return false;
    };
    map.len() == 1
        && !map.keys().any(|key| {
            matches!(
                key.as_str(),
                "protocol" | "metaData" | "add" | "remove" | "txn" | "commitInfo"
            )
        })
}

/// Parses a commit file: one action per non-empty line, unknown actions skipped.
/// On failure returns the 1-based line number and the problem.
pub fn parse_commit(body: &[u8]) -> Result<Vec<Action>, (usize, String)> {
    let text = std::str::from_utf8(body).map_err(|err| (0, format!("not UTF-8: {err}")))?;
    let mut actions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Action>(line) {
            Ok(action) => actions.push(action),
            Err(_) if is_unknown_action(line) => {}
            Err(err) => return Err((index + 1, err.to_string())),
        }
    }
    Ok(actions)
}

/// Serialises actions as a commit file: one JSON object per line.
pub fn serialize_commit(actions: &[Action]) -> Vec<u8> {
    let mut body = Vec::new();
    for action in actions {
        // Serialising these plain structs cannot fail.
        if let Ok(line) = serde_json::to_vec(action) {
            body.extend_from_slice(&line);
            body.push(b'\n');
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_with_the_protocol_field_names() {
        let actions = vec![
            Action::Protocol(Protocol::current()),
            Action::Txn(Txn {
                app_id: "bronze/trips".into(),
                version: 3,
                last_updated: Some(1),
            }),
            Action::Add(Add {
                path: "part-1.snappy.parquet".into(),
                partition_values: BTreeMap::new(),
                size: 10,
                modification_time: 5,
                data_change: true,
                stats: Some("{\"numRecords\":1}".into()),
                tags: None,
            }),
        ];
        let body = serialize_commit(&actions);
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains("\"minReaderVersion\":1"), "{text}");
        assert!(
            text.contains("{\"txn\":{\"appId\":\"bronze/trips\",\"version\":3"),
            "{text}"
        );
        assert!(text.contains("\"modificationTime\":5"), "{text}");
        assert_eq!(parse_commit(&body).unwrap(), actions);
    }

    #[test]
    fn unknown_actions_are_skipped_and_bad_lines_are_located() {
        let body =
            b"{\"domainMetadata\":{\"domain\":\"x\"}}\n{\"txn\":{\"appId\":\"a\",\"version\":1}}\n";
        assert_eq!(parse_commit(body).unwrap().len(), 1);
        let truncated = b"{\"txn\":{\"appId\":\"a\",\"version\":1}}\n{\"add\":{\"path\":";
        let (line, _) = parse_commit(truncated).unwrap_err();
        assert_eq!(line, 2);
    }
}
