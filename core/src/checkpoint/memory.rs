//! An in-memory [`CheckpointStore`], for tests and for a browser without IndexedDB.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{validate_key, CheckpointResult, CheckpointStore, WriteBatch};

/// An ordered map behind a lock. Clones share the same data, like two handles on one store.
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpointStore {
    entries: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // Batches are applied to the map only after every precondition passed, and
        // inserts cannot panic midway, so a poisoned lock still guards consistent data.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl CheckpointStore for MemoryCheckpointStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> CheckpointResult<Option<Vec<u8>>> {
        validate_key(key)?;
        Ok(self.entries().get(key).cloned())
    }

    async fn scan(&self, prefix: &str) -> CheckpointResult<Vec<(String, Vec<u8>)>> {
        let entries = self.entries();
        Ok(entries
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    async fn write(&self, batch: WriteBatch) -> CheckpointResult<()> {
        batch.apply_to(&mut self.entries())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::checkpoint::conformance;

    #[test]
    fn conforms() {
        futures::executor::block_on(conformance::run_all(|| async {
            let store = MemoryCheckpointStore::new();
            (store.clone(), store)
        }));
    }

    #[test]
    fn threads_racing_put_if_absent_have_one_winner() {
        conformance::threads_race_put_if_absent(vec![MemoryCheckpointStore::new(); 8]);
    }
}
