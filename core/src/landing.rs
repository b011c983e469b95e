//! The landing zone: where dropped files wait for Bronze, at `landing/<entity>/…`.
//!
//! A file's entity comes from its name (`trips.csv`, `trips-part-2.ndjson` → `trips`)
//! unless the user names it. The folder a file came from is kept below the entity, so
//! `batch_001/trips.csv` and `batch_002/trips.csv` stay two files.

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaDataReader;

use crate::storage::{Storage, StorageError};
use crate::warehouse::LANDING;

/// The formats Bronze reads, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Newline-delimited JSON, one object per line.
    NdJson,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format a file name's extension says, if any.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" | "json" => Some(Self::NdJson),
            "parquet" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// Why a file cannot be landed.
#[derive(Debug, thiserror::Error)]
pub enum LandingError {
    /// The extension is not one Bronze reads.
    #[error("{file}: unsupported file type (expected .csv, .ndjson, .jsonl, .json or .parquet)")]
    UnsupportedFormat {
        /// The file, by its path.
        file: String,
    },
    /// No valid entity name could be taken from the file name, or the given one is invalid.
    #[error("{file}: {entity:?} is not a valid entity name (lowercase letters, digits and '_')")]
    InvalidEntity {
        /// The file, by its path.
        file: String,
        /// The entity.
        entity: String,
    },
    /// A Parquet file whose footer cannot be read (truncated, or not Parquet at all).
    #[error("{file}: not a readable Parquet file ({detail})")]
    UnreadableParquet {
        /// The file, by its path.
        file: String,
        /// What went wrong.
        detail: String,
    },
    /// The store refused the write.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What landing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LandOutcome {
    /// A new file in the landing zone.
    Landed {
        /// The object's path in the store.
        path: String,
    },
    /// The same bytes were already there; nothing changed.
    Unchanged {
        /// The object's path in the store.
        path: String,
    },
    /// Different bytes were there under this name; the new ones replace them, and
    /// Bronze will see a new file.
    Replaced {
        /// The object's path in the store.
        path: String,
    },
}

impl LandOutcome {
    /// The landing path of the file.
    pub fn path(&self) -> &str {
        match self {
            Self::Landed { path } | Self::Unchanged { path } | Self::Replaced { path } => path,
        }
    }
}

/// The entity a file name implies: the name up to its first `.` or `-`.
pub fn entity_from_file_name(file_name: &str) -> Result<String, LandingError> {
    let stem = file_name.split(['.', '-']).next().unwrap_or_default();
    let entity = stem.to_ascii_lowercase();
    validate_entity(file_name, &entity)?;
    Ok(entity)
}

/// Whether `name` can name an entity: lowercase letters, digits and `_`, not empty.
pub fn is_entity_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn validate_entity(file: &str, entity: &str) -> Result<(), LandingError> {
    if is_entity_name(entity) {
        Ok(())
    } else {
        Err(LandingError::InvalidEntity {
            file: file.to_owned(),
            entity: entity.to_owned(),
        })
    }
}

/// Puts one file into `landing/<entity>/<relative_path>`.
///
/// `relative_path` is `/`-separated and ends with the file name; `entity` defaults to
/// the one the file name implies.
pub async fn land_file(
    storage: &dyn Storage,
    relative_path: &str,
    entity: Option<&str>,
    data: Bytes,
) -> Result<LandOutcome, LandingError> {
    let file_name = relative_path.rsplit('/').next().unwrap_or(relative_path);
    match FileFormat::from_file_name(file_name) {
        None => {
            return Err(LandingError::UnsupportedFormat {
                file: relative_path.to_owned(),
            })
        }
        // A truncated upload is refused here, by name, rather than failing its stream.
        Some(FileFormat::Parquet) => {
            ParquetMetaDataReader::new()
                .parse_and_finish(&data)
                .map_err(|err| LandingError::UnreadableParquet {
                    file: relative_path.to_owned(),
                    detail: err.to_string(),
                })?;
        }
        Some(FileFormat::Csv | FileFormat::NdJson) => {}
    }
    let entity = match entity {
        Some(entity) => {
            validate_entity(relative_path, entity)?;
            entity.to_owned()
        }
        None => entity_from_file_name(file_name)?,
    };
    let path = format!("{LANDING}{entity}/{relative_path}");
    match storage.put_if_absent(&path, data.clone()).await {
        Ok(()) => Ok(LandOutcome::Landed { path }),
        Err(StorageError::AlreadyExists { .. }) => {
            if storage.get(&path).await? == data {
                Ok(LandOutcome::Unchanged { path })
            } else {
                storage.put(&path, data).await?;
                Ok(LandOutcome::Replaced { path })
            }
        }
        Err(err) => Err(err.into()),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn entities_come_from_file_names() {
        assert_eq!(entity_from_file_name("trips.csv").unwrap(), "trips");
        assert_eq!(
            entity_from_file_name("trips-part-2.ndjson").unwrap(),
            "trips"
        );
        assert_eq!(
            entity_from_file_name("Customers.parquet").unwrap(),
            "customers"
        );
        assert!(matches!(
            entity_from_file_name("-x.csv"),
            Err(LandingError::InvalidEntity { .. })
        ));
        assert!(matches!(
            entity_from_file_name("trip s.csv"),
            Err(LandingError::InvalidEntity { .. })
        ));
    }

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(FileFormat::from_file_name("a.CSV"), Some(FileFormat::Csv));
        assert_eq!(
            FileFormat::from_file_name("a.jsonl"),
            Some(FileFormat::NdJson)
        );
        assert_eq!(
            FileFormat::from_file_name("a.parquet"),
            Some(FileFormat::Parquet)
        );
        assert_eq!(FileFormat::from_file_name("a.xlsx"), None);
        assert_eq!(FileFormat::from_file_name("README"), None);
    }

    #[test]
    fn same_names_from_different_folders_stay_distinct() {
        let store = MemoryStorage::new();
        futures::executor::block_on(async {
            let first = land_file(&store, "batch_001/trips.csv", None, Bytes::from("a"))
                .await
                .unwrap();
            let second = land_file(&store, "batch_002/trips.csv", None, Bytes::from("b"))
                .await
                .unwrap();
            assert_eq!(first.path(), "landing/trips/batch_001/trips.csv");
            assert_eq!(second.path(), "landing/trips/batch_002/trips.csv");
            let again = land_file(&store, "batch_001/trips.csv", None, Bytes::from("a"))
                .await
                .unwrap();
            assert!(matches!(again, LandOutcome::Unchanged { .. }));
            let changed = land_file(&store, "batch_001/trips.csv", None, Bytes::from("c"))
                .await
                .unwrap();
            assert!(matches!(changed, LandOutcome::Replaced { .. }));
            assert_eq!(
                store
                    .get("landing/trips/batch_001/trips.csv")
                    .await
                    .unwrap(),
                Bytes::from("c")
            );
        });
    }

    #[test]
    fn bad_files_are_refused_with_their_name() {
        let store = MemoryStorage::new();
        futures::executor::block_on(async {
            let err = land_file(&store, "notes.txt", None, Bytes::new())
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "notes.txt: unsupported file type (expected .csv, .ndjson, .jsonl, .json or .parquet)"
            );
            let err = land_file(&store, "x.csv", Some("Trips!"), Bytes::new())
                .await
                .unwrap_err();
            assert!(matches!(err, LandingError::InvalidEntity { .. }));
            // A Parquet file cut short loses its footer.
            let sample = crate::sample::generate(&crate::sample::bundled_spec()).unwrap();
            let parquet = sample
                .files
                .iter()
                .find(|file| file.path.ends_with(".parquet"))
                .expect("the sample has a Parquet file");
            let cut = parquet.data.slice(..parquet.data.len() / 2);
            let err = land_file(&store, "drop/trips.parquet", None, cut)
                .await
                .unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("drop/trips.parquet: not a readable Parquet file ("),
                "{err}"
            );
            assert!(store.list("").await.unwrap().is_empty());
            land_file(&store, "drop/trips.parquet", None, parquet.data.clone())
                .await
                .unwrap();
        });
    }
}
