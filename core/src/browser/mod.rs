//! The browser's storage, compiled only for wasm32.
//!
//! - [`OpfsStorage`], a [`Storage`](crate::storage::Storage) in the Origin Private File
//!   System, one directory per path segment.
//! - [`IndexedDbCheckpointStore`], a [`CheckpointStore`](crate::checkpoint::CheckpointStore)
//!   in one IndexedDB object store, batches as readwrite transactions.
//! - [`web_lock`]: the Web Locks API, which serialises atomic steps across tabs.
//! - [`event_loop`]: SQL plans that let the event loop run while they compute.
//!
//! Everything here works on the main thread and in a dedicated worker.

pub mod event_loop;
mod indexeddb;
mod opfs;
pub mod web_lock;

pub use indexeddb::IndexedDbCheckpointStore;
pub use opfs::{opfs_available, OpfsStorage};

use wasm_bindgen::{JsCast, JsValue};

/// The `name` of a DOMException (`"NotFoundError"`, `"QuotaExceededError"`), if `value` is one.
pub(crate) fn dom_exception_name(value: &JsValue) -> Option<String> {
    value
        .dyn_ref::<web_sys::DomException>()
        .map(|exception| exception.name())
}

/// A readable message for any JS error value.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(exception) = value.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", exception.name(), exception.message());
    }
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// The global `navigator.storage`, from a window or a worker.
pub(crate) fn storage_manager() -> Result<web_sys::StorageManager, JsValue> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        return Ok(window.navigator().storage());
    }
    if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        return Ok(worker.navigator().storage());
    }
    Err(JsValue::from_str("no window or worker global scope"))
}

#[cfg(test)]
mod tests {
    //! The conformance suites and the SQL smoke test, in headless Chromium.

    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::checkpoint::{self, MemoryCheckpointStore};
    use crate::storage::{self, MemoryStorage};

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn unique(name: &str) -> String {
        format!("{name}-{}", js_sys::Math::random().to_bits())
    }

    #[wasm_bindgen_test]
    async fn memory_storage_conforms_in_the_browser() {
        storage::conformance::run_all(|| async {
            let store = MemoryStorage::new();
            (store.clone(), store)
        })
        .await;
    }

    #[wasm_bindgen_test]
    async fn opfs_storage_conforms() {
        assert!(opfs_available().await, "headless Chromium offers OPFS");
        storage::conformance::run_all(|| async {
            let root = unique("conformance");
            let first = OpfsStorage::open(&root).await.expect("open OPFS");
            let second = OpfsStorage::open(&root).await.expect("reopen OPFS");
            (first, second)
        })
        .await;
    }

    #[wasm_bindgen_test]
    async fn memory_checkpoint_store_conforms_in_the_browser() {
        checkpoint::conformance::run_all(|| async {
            let store = MemoryCheckpointStore::new();
            (store.clone(), store)
        })
        .await;
    }

    #[wasm_bindgen_test]
    async fn indexeddb_checkpoint_store_conforms() {
        checkpoint::conformance::run_all(|| async {
            let name = unique("conformance");
            let first = IndexedDbCheckpointStore::open(&name)
                .await
                .expect("open IndexedDB");
            let second = IndexedDbCheckpointStore::open(&name)
                .await
                .expect("reopen IndexedDB");
            (first, second)
        })
        .await;
    }

    #[wasm_bindgen_test]
    // The page has one thread: sharing the IndexedDB handle through an Arc is sound.
    #[allow(clippy::arc_with_non_send_sync)]
    async fn bronze_ingests_the_sample_batches_into_opfs_with_an_indexeddb_checkpoint() {
        let storage = OpfsStorage::open(&unique("bronze"))
            .await
            .expect("open OPFS");
        let checkpoint = IndexedDbCheckpointStore::open(&unique("bronze"))
            .await
            .expect("open IndexedDB");
        crate::bronze::scenario::sample_batches(
            std::sync::Arc::new(storage),
            std::sync::Arc::new(checkpoint),
        )
        .await;
    }

    #[wasm_bindgen_test]
    // The page has one thread: sharing the IndexedDB handle through an Arc is sound.
    #[allow(clippy::arc_with_non_send_sync)]
    async fn silver_builds_the_sample_batches_incrementally_in_opfs() {
        let storage = OpfsStorage::open(&unique("silver"))
            .await
            .expect("open OPFS");
        let checkpoint = IndexedDbCheckpointStore::open(&unique("silver"))
            .await
            .expect("open IndexedDB");
        crate::silver::scenario::sample_batches(
            std::sync::Arc::new(storage),
            std::sync::Arc::new(checkpoint),
        )
        .await;
    }

    #[wasm_bindgen_test]
    async fn the_model_engine_builds_the_fixture_project_in_opfs() {
        let storage = OpfsStorage::open(&unique("models"))
            .await
            .expect("open OPFS");
        crate::models::fixtures::main_path(std::sync::Arc::new(storage)).await;
    }

    #[wasm_bindgen_test]
    async fn the_shop_project_builds_its_seeds_docs_and_hooks_in_opfs() {
        let storage = OpfsStorage::open(&unique("shop")).await.expect("open OPFS");
        crate::models::fixtures::shop_path(std::sync::Arc::new(storage)).await;
    }

    #[wasm_bindgen_test]
    // The page has one thread: sharing the IndexedDB handle through an Arc is sound.
    #[allow(clippy::arc_with_non_send_sync)]
    async fn the_sample_batches_reach_the_documented_gold_in_opfs() {
        let storage = OpfsStorage::open(&unique("gold")).await.expect("open OPFS");
        let checkpoint = IndexedDbCheckpointStore::open(&unique("gold"))
            .await
            .expect("open IndexedDB");
        crate::models::scenario::sample_batches(
            std::sync::Arc::new(storage),
            std::sync::Arc::new(checkpoint),
        )
        .await;
    }

    #[wasm_bindgen_test]
    async fn delta_tables_live_in_opfs() {
        let storage = OpfsStorage::open(&unique("delta"))
            .await
            .expect("open OPFS");
        crate::delta::scenario::table_lifecycle(std::sync::Arc::new(storage)).await;
    }

    #[wasm_bindgen_test]
    async fn the_sql_console_reads_opfs_tables_at_any_version_with_plans() {
        let storage = OpfsStorage::open(&unique("sql")).await.expect("open OPFS");
        crate::sql::scenario::small_table(std::sync::Arc::new(storage)).await;
    }

    #[wasm_bindgen_test]
    fn the_sample_generator_writes_the_same_bytes_as_natively() {
        let files = crate::sample::generate(&crate::sample::bundled_spec())
            .expect("generate")
            .files;
        assert_eq!(crate::sample::digest(&files), crate::sample::BUNDLED_DIGEST);
    }

    #[wasm_bindgen_test]
    async fn datafusion_runs_group_by_and_window_functions() {
        crate::engine::smoke::group_by_and_window_function().await;
        crate::engine::smoke::union_all_in_one_task(&crate::engine::new_session()).await;
    }
}
