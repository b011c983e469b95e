//! The browser stores inside a dedicated Web Worker, where the playground runs its
//! pipeline: OPFS, IndexedDB, Web Locks, a Delta table and DataFusion.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use medallion_core::browser::{IndexedDbCheckpointStore, OpfsStorage};
use medallion_core::checkpoint::{CheckpointError, CheckpointStore, WriteBatch};
use medallion_core::delta::{DeltaTable, DeltaTableProvider, TableOptions, WriteOptions};
use medallion_core::storage::{Storage, StorageError};
use medallion_core::{browser, engine};
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn unique(name: &str) -> String {
    format!("worker-{name}-{}", js_sys::Math::random().to_bits())
}

#[wasm_bindgen_test]
async fn opfs_and_web_locks_work_in_a_worker() {
    assert!(browser::web_lock::web_locks_available());
    let store = OpfsStorage::open(&unique("opfs")).await.expect("open");
    store
        .put("a/b.json", Bytes::from_static(b"{}"))
        .await
        .expect("put");
    let (first, second) = futures::join!(
        store.put_if_absent("log/0.json", Bytes::from_static(b"one")),
        store.put_if_absent("log/0.json", Bytes::from_static(b"two")),
    );
    assert!(
        matches!(
            (&first, &second),
            (Ok(()), Err(StorageError::AlreadyExists { .. }))
                | (Err(StorageError::AlreadyExists { .. }), Ok(()))
        ),
        "{first:?} {second:?}"
    );
    let listed: Vec<String> = store
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.path)
        .collect();
    assert_eq!(listed, ["a/b.json", "log/0.json"]);
}

#[wasm_bindgen_test]
async fn indexeddb_batches_work_in_a_worker() {
    let store = IndexedDbCheckpointStore::open(&unique("idb"))
        .await
        .expect("open");
    store
        .write(
            WriteBatch::new()
                .put("s/offsets/0", b"planned".to_vec())
                .put_if_absent("s/commits/0", b"done".to_vec()),
        )
        .await
        .expect("batch");
    assert_eq!(
        store.put_if_absent("s/commits/0", b"again".to_vec()).await,
        Err(CheckpointError::KeyExists {
            key: "s/commits/0".into()
        })
    );
    let keys: Vec<String> = store
        .scan("s/")
        .await
        .expect("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["s/commits/0", "s/offsets/0"]);
}

#[wasm_bindgen_test]
async fn a_delta_table_in_opfs_answers_sql_in_a_worker() {
    let storage: Arc<dyn Storage> =
        Arc::new(OpfsStorage::open(&unique("delta")).await.expect("open"));
    let schema = Arc::new(Schema::new(vec![Field::new(
        "trip_id",
        DataType::Int64,
        true,
    )]));
    let table = DeltaTable::new(storage, "bronze/trips");
    table
        .create(&schema, TableOptions::default())
        .await
        .expect("create");
    let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])
        .expect("batch");
    table
        .append(&[batch], WriteOptions::default())
        .await
        .expect("append");
    let snapshot = table.snapshot().await.expect("snapshot");
    let session = engine::new_session();
    engine::register_table(
        &session,
        "bronze",
        "trips",
        Arc::new(DeltaTableProvider::new(table, snapshot)),
    )
    .expect("register");
    let batches = engine::query(&session, "SELECT sum(trip_id) AS total FROM bronze.trips")
        .await
        .expect("query");
    let total = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int64")
        .value(0);
    assert_eq!(total, 6);
}

#[wasm_bindgen_test]
async fn the_project_workspace_lives_in_opfs_edits_revert_and_round_trips_a_zip() {
    use medallion_core::workspace::{FileStatus, Workspace};

    let path = "models/marts/fact_trips.sql";
    let storage: Arc<dyn Storage> =
        Arc::new(OpfsStorage::open(&unique("workspace")).await.expect("open"));
    let workspace = Workspace::in_store(storage.clone(), Workspace::bundled_files());
    assert_eq!(
        workspace.files().await.expect("first use copies"),
        Workspace::bundled_files()
    );
    workspace
        .write(path, "select 1 as one\n")
        .await
        .expect("save");
    workspace
        .create(
            "models/marts/my_model.sql",
            "select * from {{ ref('fact_trips') }}\n",
        )
        .await
        .expect("create");
    // A new handle (a reload) sees the edits: the copy is not made again.
    let reloaded = Workspace::in_store(storage.clone(), Workspace::bundled_files());
    let tree = reloaded.tree().await.expect("tree");
    let status = |file: &str| tree.iter().find(|f| f.path == file).map(|f| f.status);
    assert_eq!(status(path), Some(FileStatus::Modified));
    assert_eq!(status("models/marts/my_model.sql"), Some(FileStatus::Added));
    let diff = reloaded.diff(path).await.expect("diff");
    assert_eq!(diff.added, 1);

    let zip = reloaded.export_zip().await.expect("export");
    let other: Arc<dyn Storage> = Arc::new(
        OpfsStorage::open(&unique("workspace-import"))
            .await
            .expect("open"),
    );
    let imported = Workspace::in_store(other, Workspace::bundled_files());
    imported.import_zip(&zip).await.expect("import");
    assert_eq!(
        imported.files().await.expect("files"),
        reloaded.files().await.expect("files")
    );

    reloaded.revert_all().await.expect("revert all");
    assert_eq!(
        workspace.files().await.expect("files"),
        Workspace::bundled_files()
    );
}
