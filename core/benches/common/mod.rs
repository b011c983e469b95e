//! Set-up the benchmarks share: generated sample files, in-memory stores with files
//! landed in them, and copies of stores so that each iteration starts from the same
//! state. Each benchmark uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use futures::executor::block_on;
use medallion_core::checkpoint::{CheckpointStore, MemoryCheckpointStore, WriteBatch};
use medallion_core::landing::land_file;
use medallion_core::sample::{generate, SampleFile, SampleFormat, SampleSpec};
use medallion_core::storage::{MemoryStorage, Storage};

/// The files of `trips` generated trips (and their dimensions) in one folder.
pub fn sample_files(trips: usize, seed: u64, format: SampleFormat) -> Vec<SampleFile> {
    generate(&SampleSpec {
        trips,
        seed,
        batches: None,
        format,
    })
    .expect("generate")
    .files
}

/// The bytes of the generated file at `path`.
pub fn file_bytes(files: &[SampleFile], path: &str) -> Bytes {
    files
        .iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| panic!("{path} was generated"))
        .data
        .clone()
}

/// Lands `data` at `path` (the entity from the file name).
pub fn land(storage: &dyn Storage, path: &str, data: Bytes) {
    block_on(land_file(storage, path, None, data)).expect("land");
}

/// Every object of one store copied into a new one (the bytes are shared).
pub fn copy_store(from: &MemoryStorage) -> MemoryStorage {
    let to = MemoryStorage::new();
    for object in block_on(from.list("")).expect("list") {
        let data = block_on(from.get(&object.path)).expect("get");
        block_on(to.put(&object.path, data)).expect("put");
    }
    to
}

/// Every entry of one checkpoint store copied into a new one.
pub fn copy_checkpoint(from: &MemoryCheckpointStore) -> MemoryCheckpointStore {
    let to = MemoryCheckpointStore::new();
    let batch = block_on(from.scan(""))
        .expect("scan")
        .into_iter()
        .fold(WriteBatch::new(), |batch, (key, value)| {
            batch.put(key, value)
        });
    block_on(to.write(batch)).expect("write");
    to
}

/// An empty in-memory store behind the trait.
pub fn memory_store() -> Arc<dyn Storage> {
    Arc::new(MemoryStorage::new())
}
