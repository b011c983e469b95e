//! Reading the log: listing `_delta_log/`, replaying it into a [`Snapshot`], history.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use serde_json::Value;

use super::actions::{parse_commit, Action, Add, CommitInfo, Metadata, Protocol, Remove};
use super::operation::{Operation, WriteMetrics};
use super::{checkpoint, schema, DeltaError, DeltaResult};
use crate::storage::{ObjectMeta, Storage, StorageError};

/// Reader features this implementation can read (reader version 3 tables).
const SUPPORTED_READER_FEATURES: [&str; 1] = ["timestampNtz"];

/// The files of one table's `_delta_log/`, by version.
#[derive(Debug, Default)]
pub(crate) struct LogListing {
    /// Commit files: version → object.
    pub commits: BTreeMap<i64, ObjectMeta>,
    /// Single-file checkpoints: version → object.
    pub checkpoints: BTreeMap<i64, ObjectMeta>,
}

impl LogListing {
    pub(crate) async fn read(storage: &dyn Storage, root: &str) -> DeltaResult<Self> {
        let prefix = log_prefix(root);
        let mut listing = Self::default();
        for object in storage.list(&prefix).await? {
            let name = &object.path[prefix.len()..];
            if let Some(version) = name.strip_suffix(".json").and_then(parse_version) {
                listing.commits.insert(version, object);
            } else if let Some(version) = name
                .strip_suffix(".checkpoint.parquet")
                .and_then(parse_version)
            {
                listing.checkpoints.insert(version, object);
            }
        }
        Ok(listing)
    }

    /// The newest version the log holds, if any.
    pub(crate) fn latest(&self) -> Option<i64> {
        let commit = self.commits.keys().next_back().copied();
        let checkpoint = self.checkpoints.keys().next_back().copied();
        commit.max(checkpoint)
    }
}

fn parse_version(name: &str) -> Option<i64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

/// `<root>/_delta_log/`.
pub(crate) fn log_prefix(root: &str) -> String {
    format!("{root}/_delta_log/")
}

/// The commit file of `version`.
pub(crate) fn commit_path(root: &str, version: i64) -> String {
    format!("{root}/_delta_log/{version:020}.json")
}

/// A table as of one version: its schema, settings and live data files.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) table: String,
    pub(crate) version: i64,
    pub(crate) timestamp_ms: i64,
    pub(crate) protocol: Protocol,
    pub(crate) metadata: Metadata,
    pub(crate) schema: SchemaRef,
    pub(crate) files: Vec<Add>,
    pub(crate) tombstones: Vec<Remove>,
    pub(crate) txns: HashMap<String, i64>,
}

impl Snapshot {
    /// The version this snapshot shows.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// When that version was committed, in milliseconds since the epoch.
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    /// The table's Arrow schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The table's metadata action.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The table's protocol action.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The live data files, oldest first.
    pub fn files(&self) -> &[Add] {
        &self.files
    }

    /// Rows in the table, from the files' statistics.
    pub fn num_records(&self) -> Option<i64> {
        self.files
            .iter()
            .map(|add| {
                add.stats
                    .as_deref()
                    .and_then(super::FileStats::parse)
                    .map(|stats| stats.num_records)
            })
            .sum()
    }

    /// The last version `app_id` committed through a `txn` action.
    pub fn txn_version(&self, app_id: &str) -> Option<i64> {
        self.txns.get(app_id).copied()
    }

    /// Every application's last committed version.
    pub fn txns(&self) -> &HashMap<String, i64> {
        &self.txns
    }

    /// The table property `key`, if set.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.metadata
            .configuration
            .get(key)
            .and_then(|value| value.as_deref())
    }

    /// Whether this implementation may write the table.
    pub(crate) fn check_writable(&self) -> DeltaResult<()> {
        let writer_features = self.protocol.writer_features.clone().unwrap_or_default();
        let writable = self.protocol.min_writer_version <= 2
            || (self.protocol.min_writer_version == 7 && writer_features.is_empty());
        if writable {
            Ok(())
        } else {
            Err(self.unsupported(writer_features))
        }
    }

    fn unsupported(&self, features: Vec<String>) -> DeltaError {
        DeltaError::UnsupportedProtocol {
            table: self.table.clone(),
            min_reader_version: self.protocol.min_reader_version,
            min_writer_version: self.protocol.min_writer_version,
            features,
        }
    }

    /// An empty state to replay actions into.
    fn empty(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            version: -1,
            timestamp_ms: 0,
            protocol: Protocol::current(),
            metadata: Metadata {
                id: String::new(),
                name: None,
                description: None,
                format: Default::default(),
                schema_string: String::new(),
                partition_columns: Vec::new(),
                configuration: Default::default(),
                created_time: None,
            },
            schema: Arc::new(arrow::datatypes::Schema::empty()),
            files: Vec::new(),
            tombstones: Vec::new(),
            txns: HashMap::new(),
        }
    }

    /// Replays the log up to `target` (the latest version when `None`).
    pub(crate) async fn load(
        storage: &dyn Storage,
        root: &str,
        target: Option<i64>,
    ) -> DeltaResult<Self> {
        let listing = LogListing::read(storage, root).await?;
        Self::load_from(storage, root, &listing, target).await
    }

    pub(crate) async fn load_from(
        storage: &dyn Storage,
        root: &str,
        listing: &LogListing,
        target: Option<i64>,
    ) -> DeltaResult<Self> {
        let Some(latest) = listing.latest() else {
            return Err(DeltaError::NotATable {
                table: root.to_owned(),
            });
        };
        let target = target.unwrap_or(latest);
        if target < 0 || target > latest {
            return Err(DeltaError::VersionNotFound {
                table: root.to_owned(),
                version: target,
                latest,
            });
        }
        let mut snapshot = Self::empty(root);
        let mut replay = Replay::default();
        let checkpoint = listing.checkpoints.range(..=target).next_back();
        let start = match checkpoint {
            Some((&version, object)) => {
                let actions = checkpoint::read(storage, root, version, object).await?;
                snapshot.timestamp_ms = object.last_modified_ms;
                replay.apply(&mut snapshot, actions);
                version + 1
            }
            None => 0,
        };
        for version in start..=target {
            let Some(object) = listing.commits.get(&version) else {
                return Err(DeltaError::MissingCommit {
                    table: root.to_owned(),
                    version,
                });
            };
            let actions = read_commit(storage, root, version, &object.path).await?;
            snapshot.timestamp_ms = object.last_modified_ms;
            replay.apply(&mut snapshot, actions);
        }
        snapshot.version = target;
        if !replay.protocol {
            return Err(DeltaError::IncompleteLog {
                table: root.to_owned(),
                version: target,
                action: "protocol",
            });
        }
        if !replay.metadata {
            return Err(DeltaError::IncompleteLog {
                table: root.to_owned(),
                version: target,
                action: "metaData",
            });
        }
        replay.finish(&mut snapshot);
        let reader_features = snapshot
            .protocol
            .reader_features
            .clone()
            .unwrap_or_default();
        let readable = snapshot.protocol.min_reader_version <= 1
            || (snapshot.protocol.min_reader_version == 3
                && reader_features
                    .iter()
                    .all(|feature| SUPPORTED_READER_FEATURES.contains(&feature.as_str())));
        if !readable {
            return Err(snapshot.unsupported(reader_features));
        }
        snapshot.schema =
            schema::from_schema_string(&snapshot.metadata.schema_string).map_err(|detail| {
                DeltaError::CorruptCommit {
                    table: root.to_owned(),
                    version: target,
                    line: 0,
                    detail,
                }
            })?;
        Ok(snapshot)
    }
}

/// The state of a replay in progress: live files indexed by path, so that each action
/// costs O(1) however many files the table has.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    protocol: bool,
    metadata: bool,
    files: Vec<Option<Add>>,
    index: HashMap<String, usize>,
    tombstones: BTreeMap<String, Remove>,
}

impl Replay {
    /// Applies one commit's actions, in order.
    pub(crate) fn apply(&mut self, snapshot: &mut Snapshot, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Add(add) => {
                    self.tombstones.remove(&add.path);
                    if let Some(old) = self.index.remove(&add.path) {
                        self.files[old] = None;
                    }
                    self.index.insert(add.path.clone(), self.files.len());
                    self.files.push(Some(add));
                }
                Action::Remove(remove) => {
                    if let Some(old) = self.index.remove(&remove.path) {
                        self.files[old] = None;
                    }
                    self.tombstones.insert(remove.path.clone(), remove);
                }
                Action::Metadata(metadata) => {
                    snapshot.metadata = metadata;
                    self.metadata = true;
                }
                Action::Protocol(protocol) => {
                    snapshot.protocol = protocol;
                    self.protocol = true;
                }
                Action::Txn(txn) => {
                    snapshot.txns.insert(txn.app_id, txn.version);
                }
                Action::CommitInfo(info) => {
                    if let Some(timestamp) = info.timestamp {
                        snapshot.timestamp_ms = timestamp;
                    }
                }
            }
        }
    }

    /// Moves the live files and tombstones into the snapshot.
    fn finish(self, snapshot: &mut Snapshot) {
        snapshot.files = self.files.into_iter().flatten().collect();
        snapshot.tombstones = self.tombstones.into_values().collect();
    }
}

/// Reads and parses one commit file.
pub(crate) async fn read_commit(
    storage: &dyn Storage,
    root: &str,
    version: i64,
    path: &str,
) -> DeltaResult<Vec<Action>> {
    let body = match storage.get(path).await {
        Ok(body) => body,
        Err(StorageError::NotFound { .. }) => {
            return Err(DeltaError::MissingCommit {
                table: root.to_owned(),
                version,
            })
        }
        Err(err) => return Err(err.into()),
    };
    parse_commit(&body).map_err(|(line, detail)| DeltaError::CorruptCommit {
        table: root.to_owned(),
        version,
        line,
        detail,
    })
}

/// One line of a table's history (`DESCRIBE HISTORY`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The commit's version.
    pub version: i64,
    /// When it was committed, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// `CREATE TABLE`, `WRITE`, `MERGE`, `DELETE`, … as the log spells it (empty if the
    /// writer gave none); [`HistoryEntry::operation`] types it.
    pub operation: String,
    /// The operation's parameters.
    pub operation_parameters: BTreeMap<String, Value>,
    /// Rows and files written, updated, removed, as the log holds them;
    /// [`HistoryEntry::metrics`] types them.
    pub operation_metrics: BTreeMap<String, Value>,
    /// Whether it only added data.
    pub is_blind_append: Option<bool>,
}

impl HistoryEntry {
    /// What the commit did, typed; a name this implementation does not write (another
    /// writer's `OPTIMIZE`, say) is [`Operation::Other`].
    pub fn operation(&self) -> Operation {
        Operation::parse(&self.operation, &self.operation_parameters)
    }

    /// The commit's counts, read from its `operationMetrics` by the keys Delta's
    /// writers use for its operation.
    pub fn metrics(&self) -> WriteMetrics {
        WriteMetrics::from_operation_metrics(&self.operation(), &self.operation_metrics)
    }
}

/// The history of every commit file still in the log, newest first.
pub(crate) async fn history(storage: &dyn Storage, root: &str) -> DeltaResult<Vec<HistoryEntry>> {
    history_of(storage, root, usize::MAX).await
}

/// The newest `limit` commits of the log, newest first.
pub(crate) async fn history_of(
    storage: &dyn Storage,
    root: &str,
    limit: usize,
) -> DeltaResult<Vec<HistoryEntry>> {
    let listing = LogListing::read(storage, root).await?;
    if listing.latest().is_none() {
        return Err(DeltaError::NotATable {
            table: root.to_owned(),
        });
    }
    let mut entries = Vec::with_capacity(listing.commits.len().min(limit));
    for (&version, object) in listing.commits.iter().rev().take(limit) {
        let actions = read_commit(storage, root, version, &object.path).await?;
        let info = actions.into_iter().find_map(|action| match action {
            Action::CommitInfo(info) => Some(info),
            _ => None,
        });
        let info = info.unwrap_or(CommitInfo {
            timestamp: None,
            operation: None,
            operation_parameters: BTreeMap::new(),
            operation_metrics: None,
            read_version: None,
            is_blind_append: None,
            engine_info: None,
            other: BTreeMap::new(),
        });
        entries.push(HistoryEntry {
            version,
            timestamp_ms: info.timestamp.unwrap_or(object.last_modified_ms),
            operation: info.operation.unwrap_or_default(),
            operation_parameters: info.operation_parameters,
            operation_metrics: info.operation_metrics.unwrap_or_default(),
            is_blind_append: info.is_blind_append,
        });
    }
    Ok(entries)
}
