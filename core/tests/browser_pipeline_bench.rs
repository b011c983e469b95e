//! Browser benchmark of the playground's Run all on sample batch 1, in a dedicated Web
//! Worker: the same run on memory stores and on OPFS + IndexedDB, with every storage
//! call counted and timed, to show where a run's time goes. Ignored in CI; run by hand:
//!
//! ```sh
//! source scripts/env.sh
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON=$PWD/scripts/webdriver.json \
//!   WASM_BINDGEN_TEST_TIMEOUT=1200 cargo test --profile bench --target wasm32-unknown-unknown \
//!   -p medallion-core --test browser_pipeline_bench -- --include-ignored --nocapture
//! ```
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use medallion_core::browser::{IndexedDbCheckpointStore, OpfsStorage};
use medallion_core::checkpoint::{CheckpointStore, MemoryCheckpointStore};
use medallion_core::lakehouse::{Flow, Lakehouse, Stage};
use medallion_core::landing::land_file;
use medallion_core::sample::{bundled_spec, generate};
use medallion_core::storage::{MemoryStorage, ObjectMeta, Storage, StorageResult};
use medallion_core::workspace::Workspace;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// A store that counts and times every call to the one it wraps.
#[derive(Debug)]
struct Counted<S> {
    inner: S,
    /// Operation → (calls, milliseconds).
    calls: RefCell<BTreeMap<&'static str, (u32, f64)>>,
}

impl<S> Counted<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            calls: RefCell::new(BTreeMap::new()),
        }
    }

    fn record(&self, operation: &'static str, started: f64) {
        let mut calls = self.calls.borrow_mut();
        let entry = calls.entry(operation).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += js_sys::Date::now() - started;
    }

    fn report(&self) -> String {
        self.calls
            .borrow()
            .iter()
            .map(|(operation, (calls, ms))| format!("{operation}: {calls} calls, {ms:.0} ms"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[async_trait(?Send)]
impl<S: Storage> Storage for Counted<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn get(&self, path: &str) -> StorageResult<Bytes> {
        let started = js_sys::Date::now();
        let result = self.inner.get(path).await;
        self.record("get", started);
        result
    }
    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes> {
        let started = js_sys::Date::now();
        let result = self.inner.get_range(path, range).await;
        self.record("get_range", started);
        result
    }
    async fn head(&self, path: &str) -> StorageResult<ObjectMeta> {
        let started = js_sys::Date::now();
        let result = self.inner.head(path).await;
        self.record("head", started);
        result
    }
    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()> {
        let started = js_sys::Date::now();
        let result = self.inner.put(path, data).await;
        self.record("put", started);
        result
    }
    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()> {
        let started = js_sys::Date::now();
        let result = self.inner.put_if_absent(path, data).await;
        self.record("put_if_absent", started);
        result
    }
    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>> {
        let started = js_sys::Date::now();
        let result = self.inner.list(prefix).await;
        self.record("list", started);
        result
    }
    async fn delete(&self, path: &str) -> StorageResult<()> {
        let started = js_sys::Date::now();
        let result = self.inner.delete(path).await;
        self.record("delete", started);
        result
    }
}

async fn run_batch_one(
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
) -> Vec<(Stage, f64)> {
    let sample = generate(&bundled_spec()).expect("generate");
    for file in sample
        .files
        .iter()
        .filter(|f| f.path.starts_with("batch_001/"))
    {
        land_file(storage.as_ref(), &file.path, None, file.data.clone())
            .await
            .expect("land");
    }
    let workspace = Workspace::in_store(storage.clone(), Workspace::bundled_files());
    let lakehouse = Lakehouse::new(storage, checkpoint, workspace);
    let mut times = Vec::new();
    for stage in Stage::ALL {
        let started = js_sys::Date::now();
        lakehouse
            .run(&[stage], &mut |_| Flow::Continue)
            .await
            .expect("run");
        times.push((stage, js_sys::Date::now() - started));
    }
    times
}

fn describe(times: &[(Stage, f64)]) -> String {
    times
        .iter()
        .map(|(stage, ms)| format!("{stage:?} {ms:.0} ms"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[wasm_bindgen_test]
#[ignore]
// The worker has one thread: sharing the IndexedDB handle through an Arc is sound.
#[allow(clippy::arc_with_non_send_sync)]
async fn run_all_on_batch_one_in_memory_and_in_opfs() {
    let memory = Arc::new(Counted::new(MemoryStorage::new()));
    let times = run_batch_one(memory.clone(), Arc::new(MemoryCheckpointStore::new())).await;
    console_log!("memory: {}; storage: {}", describe(&times), memory.report());

    let name = format!("bench-{}", js_sys::Math::random().to_bits());
    let opfs = Arc::new(Counted::new(
        OpfsStorage::open(&name).await.expect("open OPFS"),
    ));
    let checkpoint = Arc::new(
        IndexedDbCheckpointStore::open(&name)
            .await
            .expect("open IndexedDB"),
    );
    let times = run_batch_one(opfs.clone(), checkpoint).await;
    console_log!("OPFS: {}; storage: {}", describe(&times), opfs.report());
}
