//! The warehouse layout shared by the CLI and the browser.
//!
//! One store holds the whole lakehouse: `landing/<entity>/…` for dropped files, and a
//! Delta table at `<layer>/<name>/` for every table of the `bronze`, `silver` and
//! `gold` layers. A folder is a table when it has a `_delta_log/`.

use std::collections::BTreeSet;

use crate::storage::{Storage, StorageResult};

/// The layers that hold tables, in pipeline order.
pub const LAYERS: [&str; 3] = ["bronze", "silver", "gold"];

/// Where dropped files wait for ingest.
pub const LANDING: &str = "landing/";

/// Every table in the store, as `<layer>/<name>`, in layer order then by name.
pub async fn list_tables(storage: &dyn Storage) -> StorageResult<Vec<String>> {
    let mut tables = Vec::new();
    for layer in LAYERS {
        let mut names = BTreeSet::new();
        for object in storage.list(&format!("{layer}/")).await? {
            if let Some((table, _)) = object.path.split_once("/_delta_log/") {
                names.insert(table.to_owned());
            }
        }
        tables.extend(names);
    }
    Ok(tables)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn tables_are_folders_with_a_delta_log() {
        let store = MemoryStorage::new();
        futures::executor::block_on(async {
            for path in [
                "gold/fact_trips/_delta_log/00000000000000000000.json",
                "bronze/trips/_delta_log/00000000000000000000.json",
                "bronze/trips/_delta_log/00000000000000000001.json",
                "bronze/trips/part-00000.parquet",
                "silver/customers/part-00000.parquet",
                "landing/trips/trips.csv",
            ] {
                store.put(path, Bytes::new()).await.expect("put");
            }
            assert_eq!(
                list_tables(&store).await.expect("list"),
                ["bronze/trips", "gold/fact_trips"]
            );
        });
    }
}
