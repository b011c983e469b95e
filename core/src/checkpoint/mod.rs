//! The checkpoint store: a small transactional key-value store for streaming state.
//!
//! Bronze keeps Spark's checkpoint layout in it (`<stream>/offsets/<batch>`,
//! `<stream>/commits/<batch>`, `<stream>/sources/<path>`), and Silver and Gold keep the
//! last table version they processed. Keys are ordered by their bytes, so a prefix scan
//! returns a stream's batches in order when batch numbers are zero-padded.
//!
//! Writes go through a [`WriteBatch`], applied atomically by
//! [`CheckpointStore::write`]: every operation or none. A batch may carry
//! `put_if_absent` preconditions; if any key is already present the whole batch fails
//! with [`CheckpointError::KeyExists`] and nothing is written. Two writers racing to
//! record the same batch therefore cannot both succeed.

mod memory;
pub use memory::MemoryCheckpointStore;

#[cfg(not(target_arch = "wasm32"))]
mod file;
#[cfg(not(target_arch = "wasm32"))]
pub use file::FileCheckpointStore;

#[cfg(test)]
pub(crate) mod conformance;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

use crate::MaybeSendSync;

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Set `key` to `value`, replacing any value.
    Put {
        /// The checkpoint key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Set `key` to `value`; the whole batch fails if `key` already has a value.
    PutIfAbsent {
        /// The checkpoint key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key`; removing a missing key is not an error.
    Delete {
        /// The checkpoint key.
        key: String,
    },
}

impl WriteOp {
    /// The key this operation touches.
    pub fn key(&self) -> &str {
        match self {
            WriteOp::Put { key, .. }
            | WriteOp::PutIfAbsent { key, .. }
            | WriteOp::Delete { key } => key,
        }
    }
}

/// Operations applied together or not at all, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.ops.push(WriteOp::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a put that requires the key to be absent.
    pub fn put_if_absent(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.ops.push(WriteOp::PutIfAbsent {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a delete.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(WriteOp::Delete { key: key.into() });
        self
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Whether the batch does nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Checks every key, so a bad key fails the batch before anything is written.
    pub fn validate(&self) -> CheckpointResult<()> {
        self.ops.iter().try_for_each(|op| validate_key(op.key()))
    }

    /// Applies the batch to an ordered map, all or nothing: the shared semantics that
    /// every store's `write` must match.
    pub(crate) fn apply_to(self, map: &mut BTreeMap<String, Vec<u8>>) -> CheckpointResult<()> {
        self.validate()?;
        self.check_preconditions(|key| map.contains_key(key))?;
        for op in self.ops {
            match op {
                WriteOp::Put { key, value } | WriteOp::PutIfAbsent { key, value } => {
                    map.insert(key, value);
                }
                WriteOp::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Fails with [`CheckpointError::KeyExists`] if a `put_if_absent` key is taken,
    /// either in the store (`exists`) or by an earlier operation of this batch.
    pub(crate) fn check_preconditions(
        &self,
        mut exists: impl FnMut(&str) -> bool,
    ) -> CheckpointResult<()> {
        let mut written: BTreeMap<&str, bool> = BTreeMap::new();
        for op in &self.ops {
            match op {
                WriteOp::PutIfAbsent { key, .. } => {
                    let present = written
                        .get(key.as_str())
                        .copied()
                        .unwrap_or_else(|| exists(key));
                    if present {
                        return Err(CheckpointError::KeyExists { key: key.clone() });
                    }
                    written.insert(key, true);
                }
                WriteOp::Put { key, .. } => {
                    written.insert(key, true);
                }
                WriteOp::Delete { key } => {
                    written.insert(key, false);
                }
            }
        }
        Ok(())
    }
}

/// Why a checkpoint operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A `put_if_absent` found the key taken; nothing in its batch was written.
    #[error("checkpoint key {key}: already exists")]
    KeyExists {
        /// The checkpoint key.
        key: String,
    },
    /// The key is not a valid checkpoint key.
    #[error("checkpoint key {key:?}: invalid: {reason}")]
    InvalidKey {
        /// The checkpoint key.
        key: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The browser's storage quota or the disk is full. Nothing was written.
    #[error("checkpoint store {location}: out of space or over the storage quota: {detail}")]
    QuotaExceeded {
        /// The database or folder the store lives in.
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// Stored state could not be read back (a damaged file, a foreign database).
    #[error("checkpoint store {location}: corrupt: {detail}")]
    Corrupt {
        /// The database or folder the store lives in.
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// Any other failure of the underlying platform.
    #[error("checkpoint store {location}: {operation} failed: {detail}")]
    Io {
        /// The database or folder the store lives in.
        location: String,
        /// The operation that failed.
        operation: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// Result of a checkpoint operation.
pub type CheckpointResult<T, E = CheckpointError> = Result<T, E>;

/// A transactional, ordered key-value store for checkpoints.
///
/// Contract, checked for every implementation by the conformance suite:
/// - [`write`](Self::write) applies a batch atomically, in order, or not at all.
/// - [`scan`](Self::scan) returns the pairs whose key starts with the prefix, in key order.
/// - A new handle on the same store sees every batch an earlier handle wrote.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait CheckpointStore: MaybeSendSync + fmt::Debug {
    /// The backend's name as users know it: "memory", "files", "IndexedDB".
    fn backend(&self) -> &'static str;

    /// The value of `key`, if any.
    async fn get(&self, key: &str) -> CheckpointResult<Option<Vec<u8>>>;

    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    async fn scan(&self, prefix: &str) -> CheckpointResult<Vec<(String, Vec<u8>)>>;

    /// Applies `batch` atomically.
    async fn write(&self, batch: WriteBatch) -> CheckpointResult<()>;

    /// Sets one key.
    async fn put(&self, key: &str, value: Vec<u8>) -> CheckpointResult<()> {
        self.write(WriteBatch::new().put(key, value)).await
    }

    /// Sets one key if it is absent, else [`CheckpointError::KeyExists`].
    async fn put_if_absent(&self, key: &str, value: Vec<u8>) -> CheckpointResult<()> {
        self.write(WriteBatch::new().put_if_absent(key, value))
            .await
    }

    /// Removes one key.
    async fn delete(&self, key: &str) -> CheckpointResult<()> {
        self.write(WriteBatch::new().delete(key)).await
    }
}

/// Checks that a key is non-empty, at most 1024 bytes, and free of control characters.
pub fn validate_key(key: &str) -> CheckpointResult<()> {
    let invalid = |reason| {
        Err(CheckpointError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("empty");
    }
    if key.len() > 1024 {
        return invalid("longer than 1024 bytes");
    }
    if key.chars().any(|c| c.is_control() || c == '\u{FFFF}') {
        return invalid("contains a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_apply_all_or_nothing() {
        let mut map = BTreeMap::new();
        map.insert("taken".to_owned(), b"x".to_vec());
        let batch = WriteBatch::new()
            .put("a", "1")
            .put_if_absent("taken", "2")
            .delete("b");
        assert_eq!(
            batch.apply_to(&mut map),
            Err(CheckpointError::KeyExists {
                key: "taken".into()
            })
        );
        assert_eq!(map.len(), 1, "nothing of a failed batch is applied");
    }

    #[test]
    fn preconditions_see_earlier_operations_of_the_same_batch() {
        let mut map = BTreeMap::new();
        let batch = WriteBatch::new().put("k", "1").put_if_absent("k", "2");
        assert!(matches!(
            batch.apply_to(&mut map),
            Err(CheckpointError::KeyExists { .. })
        ));
        let batch = WriteBatch::new()
            .put("k", "1")
            .delete("k")
            .put_if_absent("k", "2");
        batch
            .apply_to(&mut map)
            .expect("deleted earlier in the batch");
        assert_eq!(map.get("k"), Some(&b"2".to_vec()));
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("bronze/trips/offsets/00000000000000000001").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("a\u{0}b").is_err());
        assert!(validate_key(&"k".repeat(1025)).is_err());
    }
}
