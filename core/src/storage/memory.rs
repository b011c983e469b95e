//! An in-memory [`Storage`]: for unit tests, and for a browser with no OPFS.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    check_range, now_ms, validate_path, validate_prefix, ObjectMeta, Storage, StorageError,
    StorageResult,
};

#[derive(Debug, Clone)]
struct Object {
    data: Bytes,
    last_modified_ms: i64,
}

/// Objects in a sorted map. Clones share the same objects, like two handles on one store.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    objects: Arc<Mutex<BTreeMap<String, Object>>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self) -> MutexGuard<'_, BTreeMap<String, Object>> {
        // A panic while holding this lock cannot leave the map half-updated (every
        // mutation is a single insert or remove), so a poisoned lock is safe to reuse.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn find(&self, path: &str) -> StorageResult<Object> {
        validate_path(path)?;
        self.objects()
            .get(path)
            .cloned()
            .ok_or_else(|| StorageError::NotFound {
                path: path.to_owned(),
            })
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Storage for MemoryStorage {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, path: &str) -> StorageResult<Bytes> {
        Ok(self.find(path)?.data)
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes> {
        let data = self.find(path)?.data;
        check_range(path, &range, data.len() as u64)?;
        Ok(data.slice(range.start as usize..range.end as usize))
    }

    async fn head(&self, path: &str) -> StorageResult<ObjectMeta> {
        let object = self.find(path)?;
        Ok(ObjectMeta {
            path: path.to_owned(),
            size: object.data.len() as u64,
            last_modified_ms: object.last_modified_ms,
        })
    }

    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()> {
        validate_path(path)?;
        let object = Object {
            data,
            last_modified_ms: now_ms(),
        };
        self.objects().insert(path.to_owned(), object);
        Ok(())
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()> {
        validate_path(path)?;
        let mut objects = self.objects();
        if objects.contains_key(path) {
            return Err(StorageError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let object = Object {
            data,
            last_modified_ms: now_ms(),
        };
        objects.insert(path.to_owned(), object);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>> {
        validate_prefix(prefix)?;
        let objects = self.objects();
        Ok(objects
            .range(prefix.to_owned()..)
            .take_while(|(path, _)| path.starts_with(prefix))
            .map(|(path, object)| ObjectMeta {
                path: path.clone(),
                size: object.data.len() as u64,
                last_modified_ms: object.last_modified_ms,
            })
            .collect())
    }

    async fn delete(&self, path: &str) -> StorageResult<()> {
        validate_path(path)?;
        self.objects().remove(path);
        Ok(())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::conformance;

    #[test]
    fn conforms() {
        futures::executor::block_on(conformance::run_all(|| async {
            let store = MemoryStorage::new();
            (store.clone(), store)
        }));
    }

    #[test]
    fn threads_racing_put_if_absent_have_one_winner() {
        conformance::threads_race_put_if_absent(vec![MemoryStorage::new(); 8]);
    }
}
