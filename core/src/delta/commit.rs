//! Committing: one commit per operation, made atomic by `put_if_absent` on the next
//! version's file, retried over the winners of a lost race when they cannot conflict;
//! then the checkpoint due at the new version. Checkpoints on demand and vacuum too.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use serde_json::Value;

use super::actions::{self, Action, CommitInfo};
use super::checkpoint;
use super::log::{commit_path, read_commit, Snapshot};
use super::operation::{Operation, WriteMetrics};
use super::table::DeltaTable;
use super::{DeltaError, DeltaResult};
use crate::storage::{now_ms, StorageError};

/// How many lost commit races an append retries before giving up.
const MAX_COMMIT_ATTEMPTS: usize = 20;
/// Default `delta.checkpointInterval`.
const DEFAULT_CHECKPOINT_INTERVAL: i64 = 10;
/// Default retention of removed files before vacuum may delete them: 7 days.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// An application's batch, recorded with a commit as a `txn` action so that the batch,
/// retried, is known to be done: exactly-once writes (see [`Snapshot::txn_version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnId {
    /// The writing application or stream (`appId`).
    pub app_id: String,
    /// Its batch number (`version`).
    pub version: i64,
}

impl TxnId {
    /// Batch `version` of application `app_id`.
    pub fn new(app_id: impl Into<String>, version: i64) -> Self {
        Self {
            app_id: app_id.into(),
            version,
        }
    }

    /// Whether `snapshot` already holds this batch's commit (or a later batch's).
    pub fn is_committed_in(&self, snapshot: &Snapshot) -> bool {
        snapshot
            .txn_version(&self.app_id)
            .is_some_and(|version| version >= self.version)
    }

    /// The `txn` action recording the batch at `now`.
    fn action(&self, now: i64) -> actions::Txn {
        actions::Txn {
            app_id: self.app_id.clone(),
            version: self.version,
            last_updated: Some(now),
        }
    }
}

/// The result of a committed (or skipped) operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The table version after the operation.
    pub version: i64,
    /// Whether a commit was written (a no-op writes none).
    pub committed: bool,
    /// What the operation did.
    pub metrics: WriteMetrics,
    /// Why the checkpoint due at this version could not be written; the commit stands.
    pub checkpoint_error: Option<String>,
}

/// What vacuum deleted, or would delete in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumOutcome {
    /// Store paths of the deleted (or deletable) files.
    pub files: Vec<String>,
}

/// Whether a commit may be retried on top of commits that won the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// Adds files only: commutes with other blind appends.
    BlindAppend,
    /// Reads the table: any concurrent commit may invalidate it.
    Serializable,
}

/// Everything a commit records besides its data actions.
#[derive(Debug, Clone)]
pub(super) struct CommitRequest {
    /// What the commit does; a `WRITE` records its mode among the parameters.
    pub(super) operation: Operation,
    /// `commitInfo.operationParameters`, besides the mode.
    pub(super) parameters: BTreeMap<String, Value>,
    /// What the operation did.
    pub(super) metrics: WriteMetrics,
    /// The application batch to record, if any.
    pub(super) txn: Option<TxnId>,
    /// Which concurrent commits this one may be retried over.
    pub(super) isolation: Isolation,
}

/// Operation parameters from pairs of strings (Delta records every value as a string).
pub(super) fn string_parameters(pairs: &[(&str, String)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(value.clone())))
        .collect()
}

/// `commitInfo.engineInfo`.
pub(super) fn engine_info() -> String {
    format!("medallion/{}", env!("CARGO_PKG_VERSION"))
}

impl DeltaTable {
    /// Commits `actions` on top of `read` as the next version, retrying a lost race
    /// when the winners cannot conflict with this commit. Nothing to commit (no action,
    /// no txn) commits nothing.
    pub(super) async fn commit(
        &self,
        read: &Snapshot,
        mut actions: Vec<Action>,
        request: CommitRequest,
    ) -> DeltaResult<CommitOutcome> {
        let CommitRequest {
            operation,
            mut parameters,
            metrics,
            txn,
            isolation,
        } = request;
        if actions.is_empty() && txn.is_none() {
            return Ok(CommitOutcome {
                version: read.version,
                committed: false,
                metrics,
                checkpoint_error: None,
            });
        }
        let now = now_ms();
        if let Some(txn) = &txn {
            actions.push(Action::Txn(txn.action(now)));
        }
        if let Some((key, mode)) = operation.write_mode() {
            parameters.insert(key.to_owned(), Value::from(mode));
        }
        let info = CommitInfo {
            timestamp: Some(now),
            operation: Some(operation.name().to_owned()),
            operation_parameters: parameters,
            operation_metrics: metrics.to_operation_metrics(&operation),
            read_version: Some(read.version),
            is_blind_append: Some(isolation == Isolation::BlindAppend),
            engine_info: Some(engine_info()),
            other: BTreeMap::new(),
        };
        actions.insert(0, Action::CommitInfo(info));
        let body = Bytes::from(actions::serialize_commit(&actions));
        let mut version = read.version + 1;
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            match self
                .storage
                .put_if_absent(&commit_path(&self.root, version), body.clone())
                .await
            {
                Ok(()) => {
                    let checkpoint_error = self
                        .checkpoint_if_due(read, version)
                        .await
                        .err()
                        .map(|err| err.to_string());
                    return Ok(CommitOutcome {
                        version,
                        committed: true,
                        metrics,
                        checkpoint_error,
                    });
                }
                Err(StorageError::AlreadyExists { .. }) => {
                    let winner = read_commit(
                        self.storage.as_ref(),
                        &self.root,
                        version,
                        &commit_path(&self.root, version),
                    )
                    .await?;
                    self.check_no_conflict(version, &operation, isolation, txn.as_ref(), &winner)?;
                    version += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(DeltaError::Conflict {
            table: self.root.clone(),
            version,
            operation: operation.name().to_owned(),
            detail: format!("lost {MAX_COMMIT_ATTEMPTS} commit races in a row"),
        })
    }

    /// Whether this commit may go on top of `winner`, the commit that took `version`:
    /// only a blind append may, over commits that only add data for another
    /// application.
    fn check_no_conflict(
        &self,
        version: i64,
        operation: &Operation,
        isolation: Isolation,
        txn: Option<&TxnId>,
        winner: &[Action],
    ) -> DeltaResult<()> {
        let conflict = |detail: &str| DeltaError::Conflict {
            table: self.root.clone(),
            version,
            operation: operation.name().to_owned(),
            detail: detail.to_owned(),
        };
        if isolation == Isolation::Serializable {
            return Err(conflict("it changed the table this operation read"));
        }
        for action in winner {
            match action {
                Action::Metadata(_) => return Err(conflict("it changed the table's metadata")),
                Action::Protocol(_) => return Err(conflict("it changed the table's protocol")),
                Action::Remove(_) => return Err(conflict("it removed data files")),
                Action::Txn(other) if txn.is_some_and(|txn| txn.app_id == other.app_id) => {
                    return Err(conflict("it committed for the same application id"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn checkpoint_if_due(&self, read: &Snapshot, version: i64) -> DeltaResult<()> {
        let interval = read
            .property("delta.checkpointInterval")
            .and_then(|value| value.parse::<i64>().ok())
            .filter(|interval| *interval > 0)
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if version % interval != 0 {
            return Ok(());
        }
        let snapshot = self.snapshot_at(version).await?;
        checkpoint::write(
            self.storage.as_ref(),
            &snapshot,
            now_ms() - DEFAULT_RETENTION_MS,
        )
        .await
    }

    /// Writes a checkpoint of the latest version now.
    pub async fn checkpoint(&self) -> DeltaResult<i64> {
        let snapshot = self.snapshot().await?;
        checkpoint::write(
            self.storage.as_ref(),
            &snapshot,
            now_ms() - DEFAULT_RETENTION_MS,
        )
        .await?;
        Ok(snapshot.version)
    }

    /// Deletes data files the latest version no longer uses and that were removed (or,
    /// if never committed, written) more than `retention_ms` ago. With `dry_run`,
    /// only lists them.
    pub async fn vacuum(&self, retention_ms: i64, dry_run: bool) -> DeltaResult<VacuumOutcome> {
        let snapshot = self.snapshot().await?;
        let cutoff = now_ms() - retention_ms;
        let live: HashSet<String> = snapshot
            .files
            .iter()
            .map(|add| self.file_path(&add.path))
            .collect();
        let removed_at: HashMap<String, i64> = snapshot
            .tombstones
            .iter()
            .map(|remove| {
                (
                    self.file_path(&remove.path),
                    remove.deletion_timestamp.unwrap_or(0),
                )
            })
            .collect();
        let log = format!("{}/_delta_log/", self.root);
        let mut outcome = VacuumOutcome::default();
        for object in self.storage.list(&format!("{}/", self.root)).await? {
            if object.path.starts_with(&log) || live.contains(&object.path) {
                continue;
            }
            let since = removed_at
                .get(&object.path)
                .copied()
                .unwrap_or(object.last_modified_ms);
            if since <= cutoff {
                if !dry_run {
                    self.storage.delete(&object.path).await?;
                }
                outcome.files.push(object.path);
            }
        }
        Ok(outcome)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
impl DeltaTable {
    /// Commits `actions` as a blind append or a serialisable write read at `read`.
    pub(crate) async fn commit_for_test(
        &self,
        read: &Snapshot,
        actions: Vec<Action>,
        isolation: Isolation,
    ) -> DeltaResult<CommitOutcome> {
        let request = CommitRequest {
            operation: Operation::Append,
            parameters: BTreeMap::new(),
            metrics: WriteMetrics::default(),
            txn: Some(TxnId::new("test", read.version)),
            isolation,
        };
        self.commit(read, actions, request).await
    }
}
