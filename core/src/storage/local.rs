//! [`Storage`] on the native filesystem, under one root folder.
//!
//! `put` writes a temporary file beside the target and renames it over the target, so
//! a reader never sees a half-written object. `put_if_absent` writes the temporary file
//! and then hard-links it to the target: `link` fails if the target exists, atomically,
//! so it is never a check followed by a write. Temporary files start with `.tmp-` and
//! are invisible to `list`.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    check_range, validate_path, validate_prefix, ObjectMeta, Storage, StorageError, StorageResult,
    TEMP_PREFIX,
};

/// Objects as files below a root folder; `a/b/c.json` is the file `<root>/a/b/c.json`.
#[derive(Debug, Clone)]
pub struct LocalFileSystem {
    root: PathBuf,
}

impl LocalFileSystem {
    /// A store rooted at `root`, creating the folder if needed.
    pub fn new(root: impl Into<PathBuf>) -> StorageResult<Self> {
        let root = root.into();
        fs::create_dir_all(&root)
            .map_err(|err| io_error(&root.display().to_string(), "create the root folder", err))?;
        Ok(Self { root })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn resolve(&self, path: &str) -> StorageResult<PathBuf> {
        validate_path(path)?;
        Ok(self.root.join(path))
    }

    /// Writes `data` to a fresh temporary file in the target's folder and syncs it.
    fn write_temp(&self, path: &str, target: &Path, data: &[u8]) -> StorageResult<PathBuf> {
        let folder = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(folder).map_err(|err| io_error(path, "create the folder", err))?;
        let temp = folder.join(unique_temp_name());
        let written = fs::File::create_new(&temp).and_then(|mut file| {
            file.write_all(data)?;
            file.sync_all()
        });
        if let Err(err) = written {
            let _ = fs::remove_file(&temp);
            return Err(io_error(path, "write", err));
        }
        Ok(temp)
    }
}

fn unique_temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!(
        "{TEMP_PREFIX}{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Maps an IO error to the storage error a user can act on.
pub(crate) fn io_error(path: &str, operation: &'static str, err: io::Error) -> StorageError {
    let path = path.to_owned();
    match err.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound { path },
        io::ErrorKind::AlreadyExists => StorageError::AlreadyExists { path },
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            StorageError::PermissionDenied {
                path,
                detail: err.to_string(),
            }
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StorageError::QuotaExceeded {
            path,
            detail: err.to_string(),
        },
        _ => StorageError::Io {
            path,
            operation,
            detail: err.to_string(),
        },
    }
}

fn meta_of(path: String, metadata: &fs::Metadata) -> ObjectMeta {
    let last_modified_ms = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default();
    ObjectMeta {
        path,
        size: metadata.len(),
        last_modified_ms,
    }
}

/// Collects every file below `folder` whose store path starts with `prefix`.
fn walk(folder: &Path, relative: &str, prefix: &str, out: &mut Vec<ObjectMeta>) -> io::Result<()> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not a name this store could have written
        };
        if name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            // Descend only where the prefix can still match.
            let as_folder = format!("{path}/");
            if as_folder.starts_with(prefix) || prefix.starts_with(&as_folder) {
                walk(&entry.path(), &path, prefix, out)?;
            }
        } else if path.starts_with(prefix) {
            match entry.metadata() {
                Ok(metadata) => out.push(meta_of(path, &metadata)),
                // Deleted between the listing and the stat: not there any more.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Storage for LocalFileSystem {
    fn backend(&self) -> &'static str {
        "filesystem"
    }

    async fn get(&self, path: &str) -> StorageResult<Bytes> {
        let file = self.resolve(path)?;
        fs::read(&file)
            .map(Bytes::from)
            .map_err(|err| io_error(path, "read", err))
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes> {
        let file = self.resolve(path)?;
        let read = || -> Result<Vec<u8>, StorageError> {
            let mut file = fs::File::open(&file).map_err(|err| io_error(path, "open", err))?;
            let size = file
                .metadata()
                .map_err(|err| io_error(path, "stat", err))?
                .len();
            check_range(path, &range, size)?;
            let mut buffer = vec![0; (range.end - range.start) as usize];
            file.seek(SeekFrom::Start(range.start))
                .and_then(|_| file.read_exact(&mut buffer))
                .map_err(|err| io_error(path, "read", err))?;
            Ok(buffer)
        };
        read().map(Bytes::from)
    }

    async fn head(&self, path: &str) -> StorageResult<ObjectMeta> {
        let file = self.resolve(path)?;
        let metadata = fs::metadata(&file).map_err(|err| io_error(path, "stat", err))?;
        if metadata.is_dir() {
            return Err(StorageError::NotFound {
                path: path.to_owned(),
            });
        }
        Ok(meta_of(path.to_owned(), &metadata))
    }

    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()> {
        let target = self.resolve(path)?;
        let temp = self.write_temp(path, &target, &data)?;
        fs::rename(&temp, &target).map_err(|err| {
            let _ = fs::remove_file(&temp);
            io_error(path, "rename into place", err)
        })
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()> {
        let target = self.resolve(path)?;
        let temp = self.write_temp(path, &target, &data)?;
        let linked = fs::hard_link(&temp, &target);
        let _ = fs::remove_file(&temp);
        linked.map_err(|err| io_error(path, "link into place", err))
    }

    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>> {
        validate_prefix(prefix)?;
        let mut out = Vec::new();
        walk(&self.root, "", prefix, &mut out).map_err(|err| io_error(prefix, "list", err))?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &str) -> StorageResult<()> {
        let file = self.resolve(path)?;
        match fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io_error(path, "delete", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;

    #[test]
    fn conforms() {
        conformance::run_in_folders(|root| LocalFileSystem::new(root).expect("open"));
    }

    #[test]
    fn platform_errors_map_to_errors_a_user_can_act_on() {
        let cases = [
            (io::ErrorKind::PermissionDenied, "permission denied"),
            (io::ErrorKind::ReadOnlyFilesystem, "permission denied"),
            (io::ErrorKind::NotFound, "not found"),
        ];
        for (kind, expected) in cases {
            let err = io_error("gold/dim_date/x.parquet", "write", io::Error::from(kind));
            let message = err.to_string();
            assert!(
                message.starts_with("gold/dim_date/x.parquet: "),
                "{message}"
            );
            assert!(message.contains(expected), "{kind:?}: {message}");
        }
    }

    #[test]
    fn a_full_disk_is_a_quota_error_naming_the_path() {
        let err = io_error(
            "bronze/trips/part-0.parquet",
            "write",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(matches!(err, StorageError::QuotaExceeded { .. }));
        assert!(err.to_string().starts_with("bronze/trips/part-0.parquet: "));
    }
}
