//! The bundled sample batches through Bronze, as an async check that runs on any pair
//! of stores: natively on the filesystem, and in headless Chromium on OPFS and
//! IndexedDB. Each batch must give the row counts `sample_data/README.md` documents.

use std::sync::Arc;

use super::*;
use crate::checkpoint::CheckpointStore;
use crate::landing::land_file;
use crate::sample::{bundled_spec, generate};
use crate::storage::Storage;

/// Rows in `bronze/<entity>`.
pub(crate) async fn bronze_rows(storage: &Arc<dyn Storage>, entity: &str) -> usize {
    let table = DeltaTable::new(storage.clone(), crate::warehouse::bronze_table(entity));
    let snapshot = table.snapshot().await.expect("snapshot");
    snapshot.num_records().expect("numRecords in every add") as usize
}

pub(crate) async fn sample_batches(
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
) {
    let sample = generate(&bundled_spec()).expect("generate");
    let bronze = Bronze::new(storage.clone(), checkpoint);
    let options = BronzeOptions::default();
    for batch in 1..=4 {
        let folder = format!("batch_{batch:03}/");
        for file in sample.files.iter().filter(|f| f.path.starts_with(&folder)) {
            land_file(storage.as_ref(), &file.path, None, file.data.clone())
                .await
                .expect("land");
        }
        let reports = bronze.ingest_all(&options).await.expect("ingest");
        for counts in &sample.expected {
            if let Some(entity) = counts.table.strip_prefix("bronze/") {
                assert_eq!(
                    bronze_rows(&storage, entity).await,
                    counts.after_batch[batch - 1],
                    "{} after batch {batch}",
                    counts.table
                );
            }
        }
        let file = |path: &str| {
            reports
                .iter()
                .flat_map(|r| &r.files)
                .find(|f| f.path == format!("landing/{path}"))
                .cloned()
                .unwrap_or_else(|| panic!("{path} in the report"))
        };
        match batch {
            2 => {
                let trips = file("trips/batch_002/trips.csv");
                assert_eq!(trips.malformed, 1, "the row cut short");
                assert_eq!(trips.rescued, 2, "the bad timestamp and the N/A fare");
            }
            3 => {
                let trips = file("trips/batch_003/trips.ndjson");
                assert_eq!(trips.new_columns, ["surge_multiplier"]);
                let redropped = file("locations/batch_003/locations.csv");
                assert_eq!(
                    redropped.duplicate_of.as_deref(),
                    Some("landing/locations/batch_001/locations.csv")
                );
            }
            _ => {}
        }
    }
    // A second run finds nothing new.
    let again = bronze.ingest_all(&options).await.expect("ingest again");
    assert!(again.is_empty(), "{again:?}");
}
