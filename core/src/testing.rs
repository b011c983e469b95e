//! Test doubles shared by the layers' tests: stores that fail their N-th write or read
//! (crash injection), and the bundled lakehouse over in-memory stores.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::checkpoint::{
    CheckpointError, CheckpointResult, CheckpointStore, MemoryCheckpointStore, WriteBatch,
};
use crate::lakehouse::Lakehouse;
use crate::storage::{MemoryStorage, ObjectMeta, Storage, StorageError, StorageResult};
use crate::workspace::Workspace;

/// The bundled project (copied into the store's `project/` on first use) over an empty
/// in-memory store and checkpoint.
pub(crate) fn memory_lakehouse() -> (Arc<dyn Storage>, Lakehouse) {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let lakehouse = Lakehouse::new(
        storage.clone(),
        Arc::new(MemoryCheckpointStore::new()),
        Workspace::in_store(storage.clone(), Workspace::bundled_files()),
    );
    (storage, lakehouse)
}

/// Lands the sample's batch `batch` and runs every stage; Gold must succeed.
pub(crate) async fn land_and_run_batch(
    storage: &Arc<dyn Storage>,
    lakehouse: &Lakehouse,
    batch: usize,
) {
    crate::sample::land_batch(storage.as_ref(), batch)
        .await
        .expect("land");
    let report = lakehouse
        .run(&crate::lakehouse::Stage::ALL, &mut |_| {
            crate::lakehouse::Flow::Continue
        })
        .await
        .expect("run all");
    assert!(report.gold.as_ref().expect("gold ran").success());
}

/// A store that fails its `fail_at`-th write (put, put-if-absent, delete) or read.
#[derive(Debug)]
pub(crate) struct FailingStorage {
    inner: Arc<dyn Storage>,
    pub(crate) writes: AtomicUsize,
    pub(crate) reads: AtomicUsize,
    fail_write: usize,
    fail_read: usize,
}

impl FailingStorage {
    pub(crate) fn new(inner: Arc<dyn Storage>, fail_write: usize, fail_read: usize) -> Self {
        Self {
            inner,
            writes: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
            fail_write,
            fail_read,
        }
    }

    fn write(&self, path: &str) -> StorageResult<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_write {
            return Err(StorageError::Io {
                path: path.to_owned(),
                operation: "write",
                detail: "injected failure".to_owned(),
            });
        }
        Ok(())
    }

    fn read(&self, path: &str) -> StorageResult<()> {
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_read {
            return Err(StorageError::Io {
                path: path.to_owned(),
                operation: "read",
                detail: "injected failure".to_owned(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Storage for FailingStorage {
    fn backend(&self) -> &'static str {
        "failing"
    }
    async fn get(&self, path: &str) -> StorageResult<Bytes> {
        self.read(path)?;
        self.inner.get(path).await
    }
    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes> {
        self.read(path)?;
        self.inner.get_range(path, range).await
    }
    async fn head(&self, path: &str) -> StorageResult<ObjectMeta> {
        self.read(path)?;
        self.inner.head(path).await
    }
    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()> {
        self.write(path)?;
        self.inner.put(path, data).await
    }
    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()> {
        self.write(path)?;
        self.inner.put_if_absent(path, data).await
    }
    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>> {
        self.read(prefix)?;
        self.inner.list(prefix).await
    }
    async fn delete(&self, path: &str) -> StorageResult<()> {
        self.write(path)?;
        self.inner.delete(path).await
    }
}

/// A checkpoint store that fails its `fail_at`-th write.
#[derive(Debug)]
pub(crate) struct FailingCheckpoint {
    pub(crate) inner: Arc<dyn CheckpointStore>,
    pub(crate) writes: AtomicUsize,
    pub(crate) fail_at: usize,
}

#[async_trait]
impl CheckpointStore for FailingCheckpoint {
    fn backend(&self) -> &'static str {
        "failing"
    }
    async fn get(&self, key: &str) -> CheckpointResult<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn scan(&self, prefix: &str) -> CheckpointResult<Vec<(String, Vec<u8>)>> {
        self.inner.scan(prefix).await
    }
    async fn write(&self, batch: WriteBatch) -> CheckpointResult<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(CheckpointError::Io {
                location: "injected".to_owned(),
                operation: "write",
                detail: "injected failure".to_owned(),
            });
        }
        self.inner.write(batch).await
    }
}
