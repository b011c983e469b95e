//! A Bronze stream's checkpoint, laid out as Spark lays out its own, under the prefix
//! `bronze/<entity>/` of the checkpoint store:
//!
//! - `offsets/<batch>`: the files a batch will ingest and its ingest time, written
//!   before any data;
//! - `commits/<batch>`: written after the batch's Delta commit, with its version;
//! - `seen/<path>`: every file ingested or skipped: size, modification time, SHA-256;
//! - `content/<size>-<sha256>`: the first path that had these bytes.
//!
//! Batch numbers are zero-padded to 20 digits so that keys sort in batch order.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::{CheckpointError, CheckpointStore, WriteBatch};
use crate::landing::FileFormat;
use crate::storage::{now_ms, ObjectMeta, Storage, StorageError};

use super::{BronzeError, FileReport};

/// One file of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlannedFile {
    pub path: String,
    pub size: u64,
    pub modified_ms: i64,
    /// SHA-256, hex.
    pub hash: String,
}

/// `offsets/<batch>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Offset {
    pub batch_id: i64,
    pub ingested_at_ms: i64,
    pub files: Vec<PlannedFile>,
}

/// `commits/<batch>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Commit {
    batch_id: i64,
    version: i64,
}

/// `seen/<path>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    size: u64,
    modified_ms: i64,
    hash: String,
    /// The batch that ingested it, or none for a skipped copy.
    batch_id: Option<i64>,
}

/// The files a run will ingest, and the copies it skips.
pub(crate) struct Plan {
    pub pending: Vec<ObjectMeta>,
    pub skipped: Vec<FileReport>,
}

/// The SHA-256 of a file's bytes, in hex.
pub(crate) fn content_hash(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What one stream's checkpoint holds, summed up for a person: its batches, the files
/// it has ingested or skipped, and a batch planned but not committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StreamSummary {
    /// Batches planned (`offsets/`).
    pub batches_planned: usize,
    /// Batches committed (`commits/`).
    pub batches_committed: usize,
    /// The last committed batch and the Delta version it wrote.
    pub last_commit: Option<(i64, i64)>,
    /// The last planned batch (`offsets/`, the stream's last offset).
    pub last_offset: Option<i64>,
    /// When the last planned batch read its files, in ms since the epoch.
    pub last_ingested_at_ms: Option<i64>,
    /// The files of the last planned batch.
    pub last_files: Vec<String>,
    /// Files ingested by a batch (`seen/` with a batch).
    pub files_ingested: usize,
    /// Copies of files already ingested, skipped (`seen/` without a batch).
    pub copies_skipped: usize,
    /// The last planned batch, when it has no commit (an interrupted run).
    pub unfinished_batch: Option<i64>,
}

/// The checkpoint of one entity's stream.
pub(crate) struct StreamState<'a> {
    store: &'a dyn CheckpointStore,
    prefix: String,
}

fn corrupt(key: &str, err: impl std::fmt::Display) -> BronzeError {
    BronzeError::CorruptCheckpoint {
        key: key.to_owned(),
        detail: err.to_string(),
    }
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

impl<'a> StreamState<'a> {
    pub(crate) fn new(store: &'a dyn CheckpointStore, entity: &str) -> Self {
        Self {
            store,
            prefix: format!("bronze/{entity}/"),
        }
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}/{name}", self.prefix)
    }

    fn batch_key(&self, kind: &str, batch: i64) -> String {
        self.key(kind, &format!("{batch:020}"))
    }

    async fn last_offset(&self) -> Result<Option<Offset>, BronzeError> {
        let offsets = self.store.scan(&self.key("offsets", "")).await?;
        match offsets.last() {
            None => Ok(None),
            Some((key, value)) => serde_json::from_slice(value)
                .map(Some)
                .map_err(|err| corrupt(key, err)),
        }
    }

    /// What the checkpoint holds, summed up.
    pub(crate) async fn summary(&self) -> Result<StreamSummary, BronzeError> {
        let mut summary = StreamSummary::default();
        let offsets = self.store.scan(&self.key("offsets", "")).await?;
        summary.batches_planned = offsets.len();
        if let Some((key, value)) = offsets.last() {
            let offset: Offset = serde_json::from_slice(value).map_err(|err| corrupt(key, err))?;
            summary.last_offset = Some(offset.batch_id);
            summary.last_ingested_at_ms = Some(offset.ingested_at_ms);
            summary.last_files = offset.files.into_iter().map(|file| file.path).collect();
        }
        let commits = self.store.scan(&self.key("commits", "")).await?;
        summary.batches_committed = commits.len();
        if let Some((key, value)) = commits.last() {
            let commit: Commit = serde_json::from_slice(value).map_err(|err| corrupt(key, err))?;
            summary.last_commit = Some((commit.batch_id, commit.version));
        }
        for (key, value) in self.store.scan(&self.key("seen", "")).await? {
            let seen: Seen = serde_json::from_slice(&value).map_err(|err| corrupt(&key, err))?;
            match seen.batch_id {
                Some(_) => summary.files_ingested += 1,
                None => summary.copies_skipped += 1,
            }
        }
        summary.unfinished_batch = self.unfinished_batch().await?.map(|o| o.batch_id);
        Ok(summary)
    }

    /// The last planned batch, when it has no commit.
    pub(crate) async fn unfinished_batch(&self) -> Result<Option<Offset>, BronzeError> {
        let Some(offset) = self.last_offset().await? else {
            return Ok(None);
        };
        let committed = self
            .store
            .get(&self.batch_key("commits", offset.batch_id))
            .await?;
        Ok(committed.is_none().then_some(offset))
    }

    pub(crate) async fn next_batch_id(&self) -> Result<i64, BronzeError> {
        Ok(self.last_offset().await?.map_or(0, |o| o.batch_id + 1))
    }

    /// The supported files of `listed` that the seen-files index does not hold with
    /// the same size and modification time: what the next run will look at.
    pub(crate) async fn unseen(
        &self,
        listed: Vec<ObjectMeta>,
    ) -> Result<Vec<ObjectMeta>, BronzeError> {
        let seen_prefix = self.key("seen", "");
        let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
        for (key, value) in self.store.scan(&seen_prefix).await? {
            let record: Seen = serde_json::from_slice(&value).map_err(|err| corrupt(&key, err))?;
            seen.insert(key[seen_prefix.len()..].to_owned(), record);
        }
        Ok(listed
            .into_iter()
            .filter(|meta| FileFormat::from_file_name(&meta.path).is_some())
            .filter(|meta| {
                !seen
                    .get(&meta.path)
                    .is_some_and(|s| s.size == meta.size && s.modified_ms == meta.last_modified_ms)
            })
            .collect())
    }

    /// Picks the files not yet ingested, in path order, and records the copies of
    /// files already ingested as seen.
    pub(crate) async fn plan(
        &self,
        storage: &dyn Storage,
        listed: Vec<ObjectMeta>,
    ) -> Result<Plan, BronzeError> {
        let seen_prefix = self.key("seen", "");
        let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
        for (key, value) in self.store.scan(&seen_prefix).await? {
            let record = serde_json::from_slice(&value).map_err(|err| corrupt(&key, err))?;
            seen.insert(key[seen_prefix.len()..].to_owned(), record);
        }
        let content_prefix = self.key("content", "");
        let mut contents: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in self.store.scan(&content_prefix).await? {
            let path = String::from_utf8(value).map_err(|err| corrupt(&key, err))?;
            contents.insert(key[content_prefix.len()..].to_owned(), path);
        }
        let mut plan = Plan {
            pending: Vec::new(),
            skipped: Vec::new(),
        };
        let mut skipped_seen = WriteBatch::new();
        for meta in listed {
            if FileFormat::from_file_name(&meta.path).is_none() {
                continue;
            }
            let known = seen.get(&meta.path);
            if known.is_some_and(|s| s.size == meta.size && s.modified_ms == meta.last_modified_ms)
            {
                continue;
            }
            let data = match storage.get(&meta.path).await {
                Ok(data) => data,
                // Removed since the listing: nothing to ingest.
                Err(StorageError::NotFound { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            let hash = content_hash(&data);
            if known.is_some_and(|s| s.size == meta.size && s.hash == hash) {
                continue;
            }
            let content = format!("{}-{hash}", meta.size);
            match contents.get(&content) {
                Some(first) if *first != meta.path => {
                    let record = Seen {
                        size: meta.size,
                        modified_ms: meta.last_modified_ms,
                        hash,
                        batch_id: None,
                    };
                    skipped_seen = skipped_seen.put(self.key("seen", &meta.path), to_json(&record));
                    plan.skipped.push(FileReport {
                        path: meta.path.clone(),
                        rows: 0,
                        malformed: 0,
                        rescued: 0,
                        new_columns: Vec::new(),
                        duplicate_of: Some(first.clone()),
                        separator: None,
                    });
                }
                _ => {
                    contents.insert(content, meta.path.clone());
                    plan.pending.push(meta);
                }
            }
        }
        if !skipped_seen.is_empty() {
            self.store.write(skipped_seen).await?;
        }
        Ok(plan)
    }

    /// Reads the files of the next batch and records them in `offsets/<batch>`, before
    /// any data is written.
    pub(crate) async fn write_offset(
        &self,
        storage: &dyn Storage,
        batch_id: i64,
        metas: &[ObjectMeta],
    ) -> Result<(Offset, Vec<(PlannedFile, Bytes)>), BronzeError> {
        let mut files = Vec::with_capacity(metas.len());
        for meta in metas {
            let data = match storage.get(&meta.path).await {
                Ok(data) => data,
                Err(StorageError::NotFound { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            let planned = PlannedFile {
                path: meta.path.clone(),
                size: data.len() as u64,
                modified_ms: meta.last_modified_ms,
                hash: content_hash(&data),
            };
            files.push((planned, data));
        }
        let offset = Offset {
            batch_id,
            ingested_at_ms: now_ms(),
            files: files.iter().map(|(planned, _)| planned.clone()).collect(),
        };
        let key = self.batch_key("offsets", batch_id);
        match self.store.put_if_absent(&key, to_json(&offset)).await {
            Ok(()) => Ok((offset, files)),
            Err(CheckpointError::KeyExists { .. }) => Err(corrupt(
                &key,
                "already planned: another run of this stream is in progress",
            )),
            Err(err) => Err(err.into()),
        }
    }

    /// Records the batch as committed at `version`, and its files as seen, atomically.
    pub(crate) async fn commit(&self, offset: &Offset, version: i64) -> Result<(), BronzeError> {
        let commit = Commit {
            batch_id: offset.batch_id,
            version,
        };
        let mut batch =
            WriteBatch::new().put(self.batch_key("commits", offset.batch_id), to_json(&commit));
        for file in &offset.files {
            let seen = Seen {
                size: file.size,
                modified_ms: file.modified_ms,
                hash: file.hash.clone(),
                batch_id: Some(offset.batch_id),
            };
            batch = batch.put(self.key("seen", &file.path), to_json(&seen)).put(
                self.key("content", &format!("{}-{}", file.size, file.hash)),
                file.path.clone().into_bytes(),
            );
        }
        self.store.write(batch).await?;
        Ok(())
    }
}
