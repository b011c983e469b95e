//! Landing generated files straight into a store: the playground's "Load sample batch"
//! and "Generate trips", and anything else that wants the sample without a disk.

use crate::landing::{land_file, LandingError};
use crate::storage::Storage;

use super::{bundled_spec, generate, SampleError, SampleFormat, SampleSpec};

/// The seed of trips generated on request, so the same count gives the same files.
pub const GENERATED_SEED: u64 = 2026;

/// Why generated files could not be landed.
#[derive(Debug, thiserror::Error)]
pub enum SampleLandingError {
    /// The bundled sample has no such batch.
    #[error("sample batch {batch} does not exist (the sample has batches 1 to {batches})")]
    NoSuchBatch {
        /// The batch asked for.
        batch: usize,
        /// How many batches the sample has.
        batches: usize,
    },
    /// The files could not be generated.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// A file could not be landed.
    #[error(transparent)]
    Landing(#[from] LandingError),
}

/// Lands batch `batch` (1 to 4) of the bundled sample, the files of `sample_data/`,
/// and returns their landing paths.
pub async fn land_batch(
    storage: &dyn Storage,
    batch: usize,
) -> Result<Vec<String>, SampleLandingError> {
    let spec = bundled_spec();
    let batches = spec.batches.unwrap_or(1);
    if batch == 0 || batch > batches {
        return Err(SampleLandingError::NoSuchBatch { batch, batches });
    }
    let sample = generate(&spec)?;
    let folder = format!("batch_{batch:03}/");
    let mut landed = Vec::new();
    for file in sample.files.iter().filter(|f| f.path.starts_with(&folder)) {
        let outcome = land_file(storage, &file.path, None, file.data.clone()).await?;
        landed.push(outcome.path().to_owned());
    }
    Ok(landed)
}

/// Generates `trips` trips with their customers, drivers, vehicles, locations and
/// payments (one batch, mixed formats), lands them in a folder of their own,
/// `generated-<trips>/`, and returns their landing paths.
pub async fn land_generated(
    storage: &dyn Storage,
    trips: usize,
) -> Result<Vec<String>, SampleLandingError> {
    let spec = SampleSpec {
        trips,
        seed: GENERATED_SEED,
        batches: None,
        format: SampleFormat::Mixed,
    };
    let sample = generate(&spec)?;
    let mut landed = Vec::new();
    for file in &sample.files {
        // One folder per generated sample, so that files from two stay apart.
        let path = format!("generated-{trips}/{}", file.path);
        let outcome = land_file(storage, &path, None, file.data.clone()).await?;
        landed.push(outcome.path().to_owned());
    }
    Ok(landed)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use crate::warehouse::LANDING;

    #[tokio::test]
    async fn a_batch_lands_every_entity_of_its_folder_once() {
        let storage = MemoryStorage::new();
        let landed = land_batch(&storage, 2).await.unwrap();
        assert_eq!(landed.len(), 6, "{landed:?}");
        assert!(landed
            .iter()
            .all(|path| path.starts_with(LANDING) && path.contains("/batch_002/")));
        assert!(landed.contains(&"landing/trips/batch_002/trips.csv".to_owned()));
        // Landing the same batch again changes nothing.
        let again = land_batch(&storage, 2).await.unwrap();
        assert_eq!(again, landed);
        assert_eq!(storage.list(LANDING).await.unwrap().len(), 6);
    }

    #[tokio::test]
    async fn a_batch_outside_the_sample_is_refused_by_number() {
        let storage = MemoryStorage::new();
        let err = land_batch(&storage, 5).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "sample batch 5 does not exist (the sample has batches 1 to 4)"
        );
        assert!(matches!(
            land_batch(&storage, 0).await,
            Err(SampleLandingError::NoSuchBatch { batch: 0, .. })
        ));
    }

    #[tokio::test]
    async fn generated_trips_land_in_their_own_folder() {
        let storage = MemoryStorage::new();
        let landed = land_generated(&storage, 50).await.unwrap();
        assert_eq!(landed.len(), 6);
        assert!(landed.iter().all(|path| path.contains("/generated-50/")));
        let err = land_generated(&storage, 0).await.unwrap_err();
        assert!(
            err.to_string().contains("trips must be at least 1"),
            "{err}"
        );
    }
}
