//! Object storage: where landing files and every Delta table's data and log live.
//!
//! The [`Storage`] trait is deliberately small, in the spirit of delta-kernel-rs's
//! `StorageHandler`: whole-object get and put, ranged reads (Parquet is read by footer
//! and row group, never whole), listing by prefix, delete, and one atomic primitive,
//! [`Storage::put_if_absent`]. A Delta commit is exactly one `put_if_absent` of
//! `_delta_log/<version>.json`: of two writers racing for the same version, one wins
//! and the other gets [`StorageError::AlreadyExists`].
//!
//! Paths are relative, `/`-separated, with no empty, `.` or `..` segments (see
//! [`validate_path`]). Listing is by plain string prefix and returns paths in
//! ascending byte order, so `list("landing/trips/")` walks one folder and
//! `list("_delta_log/0000")` narrows to a range of versions.

mod memory;
pub use memory::MemoryStorage;

#[cfg(not(target_arch = "wasm32"))]
mod local;
#[cfg(not(target_arch = "wasm32"))]
pub use local::LocalFileSystem;

#[cfg(test)]
pub(crate) mod conformance;

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use crate::MaybeSendSync;

/// What a listing or [`Storage::head`] says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's full path in the store.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
}

/// Why a storage operation failed. Every variant names the path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// No object at this path.
    #[error("{path}: not found")]
    NotFound {
        /// The object's path in the store.
        path: String,
    },
    /// `put_if_absent` lost: an object is already there.
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The object's path in the store.
        path: String,
    },
    /// The disk is full or the browser's storage quota is used up. Nothing was written.
    #[error("{path}: out of space or over the storage quota: {detail}")]
    QuotaExceeded {
        /// The object's path in the store.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The platform refused access.
    #[error("{path}: permission denied: {detail}")]
    PermissionDenied {
        /// The object's path in the store.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The path is not a valid object path.
    #[error("{path:?}: invalid path: {reason}")]
    InvalidPath {
        /// The object's path in the store.
        path: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A ranged read asked for bytes past the end of the object.
    #[error("{path}: range {start}..{end} is outside the object's {size} bytes")]
    InvalidRange {
        /// The object's path in the store.
        path: String,
        /// The first byte asked for.
        start: u64,
        /// The byte after the last one asked for.
        end: u64,
        /// The object's size in bytes.
        size: u64,
    },
    /// Any other failure of the underlying platform.
    #[error("{path}: {operation} failed: {detail}")]
    Io {
        /// The object's path in the store.
        path: String,
        /// The operation that failed.
        operation: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// Result of a storage operation.
pub type StorageResult<T, E = StorageError> = Result<T, E>;

/// An object store: the only way core reads or writes table and landing files.
///
/// Contract, checked for every implementation by the conformance suite:
/// - `put` replaces an object atomically: a reader sees the old bytes or the new, never a mix.
/// - `put_if_absent` writes only if nothing is at the path, atomically: of any number of
///   concurrent calls for one path exactly one succeeds, the others get
///   [`StorageError::AlreadyExists`], and the object is never visible half-written.
/// - `list` returns every object whose path starts with the prefix, sorted by path.
/// - `delete` of a missing object succeeds, so cleanup can be retried.
/// - A new handle on the same root sees everything an earlier handle wrote.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait Storage: MaybeSendSync + fmt::Debug {
    /// The backend's name as users know it: "memory", "filesystem", "OPFS".
    fn backend(&self) -> &'static str;

    /// Reads a whole object.
    async fn get(&self, path: &str) -> StorageResult<Bytes>;

    /// Reads the bytes `range` of an object (Parquet footers and row groups).
    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes>;

    /// Size and modification time of one object.
    async fn head(&self, path: &str) -> StorageResult<ObjectMeta>;

    /// Writes an object, replacing any existing one atomically.
    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()>;

    /// Writes an object only if the path is free; otherwise [`StorageError::AlreadyExists`].
    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()>;

    /// Every object whose path starts with `prefix`, sorted by path.
    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>>;

    /// Removes an object; removing a missing one is not an error.
    async fn delete(&self, path: &str) -> StorageResult<()>;

    /// Size of one object in bytes.
    async fn size(&self, path: &str) -> StorageResult<u64> {
        Ok(self.head(path).await?.size)
    }
}

/// Names starting with this are a store's temporary files, invisible to `list`.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Checks that `path` is a relative, `/`-separated object path with no empty, `.` or
/// `..` segments, no control characters, and no segment starting with `.tmp-` (the
/// stores' temporary files).
pub fn validate_path(path: &str) -> StorageResult<()> {
    let invalid = |reason| {
        Err(StorageError::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return invalid("empty");
    }
    if path.starts_with('/') {
        return invalid("must be relative");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return invalid("contains a control character or a backslash");
    }
    for segment in path.split('/') {
        match segment {
            "" => return invalid("has an empty segment"),
            "." | ".." => return invalid("has a '.' or '..' segment"),
            reserved if reserved.starts_with(TEMP_PREFIX) => {
                return invalid("segments starting with '.tmp-' are reserved")
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a list prefix: empty, or a path prefix that could name objects.
pub(crate) fn validate_prefix(prefix: &str) -> StorageResult<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    validate_path(trimmed).map_err(|err| match err {
        StorageError::InvalidPath { reason, .. } => StorageError::InvalidPath {
            path: prefix.to_owned(),
            reason,
        },
        other => other,
    })
}

/// Checks `range` against an object of `size` bytes.
pub(crate) fn check_range(path: &str, range: &Range<u64>, size: u64) -> StorageResult<()> {
    if range.start > range.end || range.end > size {
        return Err(StorageError::InvalidRange {
            path: path.to_owned(),
            start: range.start,
            end: range.end,
            size,
        });
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, on every platform.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_relative_and_clean() {
        for good in [
            "a",
            "a/b",
            "bronze/trips/_delta_log/00000000000000000000.json",
        ] {
            assert_eq!(validate_path(good), Ok(()), "{good}");
        }
        for bad in [
            "", "/a", "a//b", "a/", "a/../b", "./a", "a\\b", "a\nb", "a/.tmp-1",
        ] {
            assert!(
                matches!(validate_path(bad), Err(StorageError::InvalidPath { .. })),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn prefixes_may_end_with_a_slash_or_be_empty() {
        assert_eq!(validate_prefix(""), Ok(()));
        assert_eq!(validate_prefix("landing/trips/"), Ok(()));
        assert_eq!(validate_prefix("landing/tr"), Ok(()));
        assert!(validate_prefix("../x").is_err());
    }

    #[test]
    fn ranges_are_checked_against_the_size() {
        assert_eq!(check_range("f", &(0..10), 10), Ok(()));
        assert_eq!(check_range("f", &(10..10), 10), Ok(()));
        assert!(matches!(
            check_range("f", &(5..11), 10),
            Err(StorageError::InvalidRange { size: 10, .. })
        ));
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 6..5;
        assert!(check_range("f", &reversed, 10).is_err());
    }
}
