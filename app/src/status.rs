//! What the browser offers: OPFS, IndexedDB and the SQL engine, each probed for real
//! inside the pipeline worker, where they run (so the page itself carries no engine).

use medallion_core::browser::{opfs_available, IndexedDbCheckpointStore, OpfsStorage};
use medallion_core::checkpoint::CheckpointStore;
use medallion_core::{engine, warehouse};

use serde::{Deserialize, Serialize};

use crate::WAREHOUSE_NAME;

/// One line of the environment panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// What is probed: "OPFS", "IndexedDB", "SQL engine".
    pub name: String,
    /// Whether it works here.
    pub available: bool,
    /// What a user should know: "available, 0 tables", or the error.
    pub detail: String,
}

/// The three probes together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    /// Table storage (OPFS).
    pub storage: StoreStatus,
    /// Checkpoint storage (IndexedDB).
    pub checkpoints: StoreStatus,
    /// DataFusion.
    pub engine: StoreStatus,
}

/// What the OPFS line says of a store holding `tables` tables.
pub fn tables_detail(tables: usize) -> String {
    format!("available, {}", plural(tables, "table", "tables"))
}

/// What the IndexedDB line says of a checkpoint store holding `entries` keys.
pub fn entries_detail(entries: usize) -> String {
    format!(
        "available, {}",
        plural(entries, "checkpoint entry", "checkpoint entries")
    )
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

async fn probe_storage() -> StoreStatus {
    let name = "OPFS".to_owned();
    if !opfs_available().await {
        return StoreStatus {
            name,
            available: false,
            detail: "not available in this browser".to_owned(),
        };
    }
    let tables = match OpfsStorage::open(WAREHOUSE_NAME).await {
        Ok(storage) => warehouse::list_tables(&storage).await,
        Err(err) => Err(err),
    };
    match tables {
        Ok(tables) => StoreStatus {
            name,
            available: true,
            detail: tables_detail(tables.len()),
        },
        Err(err) => StoreStatus {
            name,
            available: false,
            detail: err.to_string(),
        },
    }
}

async fn probe_checkpoints() -> StoreStatus {
    let name = "IndexedDB".to_owned();
    let streams = match IndexedDbCheckpointStore::open(WAREHOUSE_NAME).await {
        Ok(store) => store.scan("").await,
        Err(err) => Err(err),
    };
    match streams {
        Ok(entries) => StoreStatus {
            name,
            available: true,
            detail: entries_detail(entries.len()),
        },
        Err(err) => StoreStatus {
            name,
            available: false,
            detail: err.to_string(),
        },
    }
}

async fn probe_engine() -> StoreStatus {
    let name = "SQL engine".to_owned();
    let session = engine::new_session();
    let result = engine::query(
        &session,
        "SELECT count(*) AS n FROM (VALUES (1), (2), (3)) AS t(x) GROUP BY x % 2",
    )
    .await;
    match result {
        Ok(batches) => {
            let groups: usize = batches.iter().map(|batch| batch.num_rows()).sum();
            StoreStatus {
                name,
                available: groups == 2,
                detail: format!("Apache DataFusion ready ({groups} groups from a test query)"),
            }
        }
        Err(err) => StoreStatus {
            name,
            available: false,
            detail: format!("Apache DataFusion failed: {err}"),
        },
    }
}

/// Probes OPFS, IndexedDB and DataFusion.
pub async fn probe() -> EnvironmentStatus {
    EnvironmentStatus {
        storage: probe_storage().await,
        checkpoints: probe_checkpoints().await,
        engine: probe_engine().await,
    }
}
