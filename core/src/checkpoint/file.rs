//! A [`CheckpointStore`] in a native folder: one file per key, readable with `cat`.
//!
//! Layout under the root:
//! - `data/<key>`: one file per key, the key percent-encoded into a single file name
//!   (`bronze%2Ftrips%2Foffsets%2F00000000000000000001`).
//! - `txn`: the redo record of a batch that touches several keys, present only while
//!   the batch is being applied.
//! - `.lock`: locked for the length of every operation, across threads and processes.
//!
//! A one-key batch is a write to a temporary file and a rename over the key's file. A
//! batch of several keys first writes every new value to a temporary file, then
//! commits by renaming a complete `txn` record into place, then renames the values into
//! place and removes `txn`. Whoever next takes the lock after a crash finishes a
//! committed batch from its `txn` record and discards the temporary files of one that
//! never committed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    validate_key, CheckpointError, CheckpointResult, CheckpointStore, WriteBatch, WriteOp,
};

const TEMP_PREFIX: &str = ".tmp-";

/// Checkpoint state as files below a root folder.
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    root: PathBuf,
}

/// The commit record of a multi-key batch.
#[derive(Debug, Serialize, Deserialize)]
struct RedoRecord {
    /// `(key file name, temporary file name)` for every key the batch sets.
    puts: Vec<(String, String)>,
    /// Key file names the batch removes.
    deletes: Vec<String>,
}

impl FileCheckpointStore {
    /// Opens (creating if needed) the store in `root`, finishing any interrupted batch.
    pub fn open(root: impl Into<PathBuf>) -> CheckpointResult<Self> {
        let store = Self { root: root.into() };
        fs::create_dir_all(store.data_dir())
            .map_err(|err| store.error("create the folder", err))?;
        store.locked(|| Ok(()))?;
        Ok(store)
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn error(&self, operation: &'static str, err: io::Error) -> CheckpointError {
        let location = self.root.display().to_string();
        match err.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                CheckpointError::QuotaExceeded {
                    location,
                    detail: err.to_string(),
                }
            }
            _ => CheckpointError::Io {
                location,
                operation,
                detail: err.to_string(),
            },
        }
    }

    /// Runs `work` holding the store's lock, after finishing any interrupted batch.
    fn locked<T>(&self, work: impl FnOnce() -> CheckpointResult<T>) -> CheckpointResult<T> {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join(".lock"))
            .map_err(|err| self.error("open the lock file", err))?;
        lock.lock().map_err(|err| self.error("lock", err))?;
        let result = self.recover().and_then(|()| work());
        // Closing the file releases the lock, also when `work` failed.
        drop(lock);
        result
    }

    /// Finishes a committed batch and removes temporary files. Called with the lock held.
    fn recover(&self) -> CheckpointResult<()> {
        let data = self.data_dir();
        let txn = self.root.join("txn");
        match fs::read(&txn) {
            Ok(bytes) => {
                let record: RedoRecord =
                    serde_json::from_slice(&bytes).map_err(|err| CheckpointError::Corrupt {
                        location: txn.display().to_string(),
                        detail: err.to_string(),
                    })?;
                self.apply(&record)?;
                fs::remove_file(&txn).map_err(|err| self.error("finish a batch", err))?;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(self.error("read the redo record", err)),
        }
        for entry in fs::read_dir(&data).map_err(|err| self.error("list", err))? {
            let entry = entry.map_err(|err| self.error("list", err))?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Moves a committed batch's values into place; safe to repeat after a crash.
    fn apply(&self, record: &RedoRecord) -> CheckpointResult<()> {
        let data = self.data_dir();
        for (name, temp) in &record.puts {
            match fs::rename(data.join(temp), data.join(name)) {
                Ok(()) => {}
                // Already moved by an earlier, interrupted recovery.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(self.error("apply a batch", err)),
            }
        }
        for name in &record.deletes {
            remove_if_present(&data.join(name)).map_err(|err| self.error("apply a batch", err))?;
        }
        sync_dir(&data).map_err(|err| self.error("sync", err))
    }

    fn write_temp(&self, dir: &Path, serial: usize, value: &[u8]) -> CheckpointResult<String> {
        let name = format!("{TEMP_PREFIX}{}-{serial}", std::process::id());
        let written = fs::File::create(dir.join(&name)).and_then(|mut file| {
            file.write_all(value)?;
            file.sync_all()
        });
        written.map_err(|err| self.error("write", err))?;
        Ok(name)
    }

    fn write_locked(&self, batch: WriteBatch) -> CheckpointResult<()> {
        let data = self.data_dir();
        batch.check_preconditions(|key| data.join(encode_key(key)).exists())?;
        // The final state of every key the batch touches.
        let mut finals: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        for op in batch.ops {
            match op {
                WriteOp::Put { key, value } | WriteOp::PutIfAbsent { key, value } => {
                    finals.insert(encode_key(&key), Some(value));
                }
                WriteOp::Delete { key } => {
                    finals.insert(encode_key(&key), None);
                }
            }
        }
        let mut record = RedoRecord {
            puts: Vec::new(),
            deletes: Vec::new(),
        };
        for (serial, (name, value)) in finals.into_iter().enumerate() {
            match value {
                Some(value) => record
                    .puts
                    .push((name, self.write_temp(&data, serial, &value)?)),
                None => record.deletes.push(name),
            }
        }
        if record.puts.len() + record.deletes.len() > 1 {
            // Commit point: a complete record renamed into place.
            let bytes = serde_json::to_vec(&record).map_err(|err| CheckpointError::Io {
                location: self.root.display().to_string(),
                operation: "encode a batch",
                detail: err.to_string(),
            })?;
            let pending = self.root.join("txn.pending");
            fs::File::create(&pending)
                .and_then(|mut file| {
                    file.write_all(&bytes)?;
                    file.sync_all()
                })
                .and_then(|()| fs::rename(&pending, self.root.join("txn")))
                .and_then(|()| sync_dir(&self.root))
                .map_err(|err| self.error("commit a batch", err))?;
            self.apply(&record)?;
            fs::remove_file(self.root.join("txn")).map_err(|err| self.error("finish a batch", err))
        } else {
            self.apply(&record)
        }
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Percent-encodes a key into one file name (no `/`, no leading `.`).
fn encode_key(key: &str) -> String {
    let mut name = String::with_capacity(key.len());
    for (index, byte) in key.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'_' | b'-')
            || (byte == b'.' && index > 0);
        if plain {
            name.push(byte as char);
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

fn decode_key(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[async_trait]
impl CheckpointStore for FileCheckpointStore {
    fn backend(&self) -> &'static str {
        "files"
    }

    async fn get(&self, key: &str) -> CheckpointResult<Option<Vec<u8>>> {
        validate_key(key)?;
        self.locked(|| match fs::read(self.data_dir().join(encode_key(key))) {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(self.error("read", err)),
        })
    }

    async fn scan(&self, prefix: &str) -> CheckpointResult<Vec<(String, Vec<u8>)>> {
        self.locked(|| {
            let data = self.data_dir();
            let mut out = Vec::new();
            for entry in fs::read_dir(&data).map_err(|err| self.error("list", err))? {
                let entry = entry.map_err(|err| self.error("list", err))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let key = decode_key(&name).ok_or_else(|| CheckpointError::Corrupt {
                    location: entry.path().display().to_string(),
                    detail: "not a key this store wrote".to_owned(),
                })?;
                if key.starts_with(prefix) {
                    let value = fs::read(entry.path()).map_err(|err| self.error("read", err))?;
                    out.push((key, value));
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        })
    }

    async fn write(&self, batch: WriteBatch) -> CheckpointResult<()> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(());
        }
        self.locked(|| self.write_locked(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::conformance;

    #[test]
    fn conforms() {
        conformance::run_in_folders(|root| FileCheckpointStore::open(root).expect("open"));
    }

    #[test]
    fn keys_encode_to_single_file_names() {
        let keys = ["a", "a/b", "a%b", ".hidden", "ü/x", "b"];
        for key in keys {
            let name = encode_key(key);
            assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
            assert_eq!(decode_key(&name).as_deref(), Some(key));
        }
    }

    #[test]
    fn a_batch_interrupted_after_its_commit_point_is_finished_on_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileCheckpointStore::open(dir.path()).expect("open");
        futures::executor::block_on(store.put("old", b"1".to_vec())).expect("put");
        // Simulate a crash after the commit point: temporaries and the record exist,
        // nothing has been moved yet.
        let data = store.data_dir();
        fs::write(data.join(".tmp-crashed-0"), b"new value").expect("temp");
        let record = RedoRecord {
            puts: vec![(encode_key("stream/commits/1"), ".tmp-crashed-0".into())],
            deletes: vec![encode_key("old")],
        };
        fs::write(
            dir.path().join("txn"),
            serde_json::to_vec(&record).expect("json"),
        )
        .expect("record");
        let reopened = FileCheckpointStore::open(dir.path()).expect("reopen");
        let scanned = futures::executor::block_on(reopened.scan("")).expect("scan");
        assert_eq!(
            scanned,
            vec![("stream/commits/1".to_owned(), b"new value".to_vec())]
        );
        assert!(!dir.path().join("txn").exists());
    }

    #[test]
    fn a_batch_interrupted_before_its_commit_point_leaves_no_trace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileCheckpointStore::open(dir.path()).expect("open");
        fs::write(store.data_dir().join(".tmp-crashed-0"), b"half").expect("temp");
        fs::write(dir.path().join("txn.pending"), b"{\"puts\":[[").expect("pending");
        let reopened = FileCheckpointStore::open(dir.path()).expect("reopen");
        assert!(futures::executor::block_on(reopened.scan(""))
            .expect("scan")
            .is_empty());
    }

    #[test]
    fn a_corrupt_redo_record_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        FileCheckpointStore::open(dir.path()).expect("open");
        fs::write(dir.path().join("txn"), b"not json").expect("record");
        let err = FileCheckpointStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("txn"), "{err}");
    }
}
