//! The Uber-like sample dataset: a deterministic generator for any scale.
//!
//! [`generate`] is pure: a [`SampleSpec`] in, files (path and bytes) out, the same
//! bytes for the same spec on every platform, so the CLI writes them to disk and the
//! browser lands them straight into OPFS. Entities: customers, drivers, vehicles,
//! locations (zones like NYC TLC's taxi zone lookup, plus Chicago and San Francisco),
//! payments and trips. Trip ids grow with pickup time, so Delta file statistics can
//! prune merges; every foreign key points at a row that exists.
//!
//! With `batches`, trips (and their payments) are split by time into folders
//! `batch_001/` … `batch_00K/`, each with all six entities; dimensions arrive in full
//! with the first batch.

mod entities;
mod reference;
mod rng;
mod table;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use table::Table;

/// The file format of the generated entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Every file CSV.
    Csv,
    /// Every file newline-delimited JSON.
    NdJson,
    /// Every file Parquet.
    Parquet,
    /// CSV, NDJSON and Parquet, rotating across entities and batches.
    Mixed,
}

impl FromStr for SampleFormat {
    type Err = SampleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "csv" => Ok(Self::Csv),
            "ndjson" | "json" => Ok(Self::NdJson),
            "parquet" => Ok(Self::Parquet),
            "mixed" => Ok(Self::Mixed),
            other => Err(SampleError::InvalidSpec(format!(
                "unknown format {other:?} (expected csv, ndjson, parquet or mixed)"
            ))),
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Csv => "csv",
            Self::NdJson => "ndjson",
            Self::Parquet => "parquet",
            Self::Mixed => "mixed",
        })
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSpec {
    /// How many trips.
    pub trips: usize,
    /// The seed: the same seed gives the same files.
    pub seed: u64,
    /// Split into this many batch folders; `None` writes one flat folder.
    pub batches: Option<usize>,
    /// The files' format.
    pub format: SampleFormat,
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFile {
    /// Its path relative to the output folder: `batch_001/trips.csv` or `trips.csv`.
    pub path: String,
    /// Its bytes.
    pub data: Bytes,
}

/// Why generation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    /// The spec asks for something impossible.
    #[error("invalid sample spec: {0}")]
    InvalidSpec(String),
    /// A file could not be encoded.
    #[error("{file}: cannot encode: {detail}")]
    Encode { file: String, detail: String },
}

/// The entities in the order they are written.
const ENTITIES: [&str; 6] = [
    "customers",
    "drivers",
    "vehicles",
    "locations",
    "payments",
    "trips",
];

fn format_for(spec: &SampleSpec, entity: usize, batch: usize) -> SampleFormat {
    match spec.format {
        SampleFormat::Mixed => [
            SampleFormat::Csv,
            SampleFormat::NdJson,
            SampleFormat::Parquet,
        ][(entity + batch) % 3],
        fixed => fixed,
    }
}

fn encode(table: &Table, path: &str, format: SampleFormat) -> Result<Bytes, SampleError> {
    match format {
        SampleFormat::Csv => Ok(table.to_csv()),
        SampleFormat::NdJson => Ok(table.to_ndjson()),
        SampleFormat::Parquet | SampleFormat::Mixed => table.to_parquet(path),
    }
}

fn extension(format: SampleFormat) -> &'static str {
    match format {
        SampleFormat::Csv => "csv",
        SampleFormat::NdJson => "ndjson",
        SampleFormat::Parquet | SampleFormat::Mixed => "parquet",
    }
}

/// Generates the dataset `spec` describes.
pub fn generate(spec: &SampleSpec) -> Result<Vec<SampleFile>, SampleError> {
    if spec.trips == 0 {
        return Err(SampleError::InvalidSpec(
            "trips must be at least 1".to_owned(),
        ));
    }
    let batches = spec.batches.unwrap_or(1);
    if batches == 0 || batches > spec.trips {
        return Err(SampleError::InvalidSpec(format!(
            "batches must be between 1 and the number of trips ({}), not {batches}",
            spec.trips
        )));
    }
    let data = entities::generate(spec.trips, spec.seed);
    let mut files = Vec::new();
    for batch in 0..batches {
        // Trips split by time into equal runs; payments follow their trip.
        let first = spec.trips * batch / batches;
        let end = spec.trips * (batch + 1) / batches;
        let trip_rows: Vec<usize> = (first..end).collect();
        let payment_rows: Vec<usize> = data
            .payment_trip
            .iter()
            .enumerate()
            .filter(|(_, trip)| (first..end).contains(*trip))
            .map(|(row, _)| row)
            .collect();
        let tables: [Table; 6] = if batch == 0 {
            [
                data.customers.clone(),
                data.drivers.clone(),
                data.vehicles.clone(),
                data.locations.clone(),
                data.payments.take(&payment_rows),
                data.trips.take(&trip_rows),
            ]
        } else {
            [
                data.customers.take(&[]),
                data.drivers.take(&[]),
                data.vehicles.take(&[]),
                data.locations.take(&[]),
                data.payments.take(&payment_rows),
                data.trips.take(&trip_rows),
            ]
        };
        for (entity, table) in tables.iter().enumerate() {
            let format = format_for(spec, entity, batch);
            let name = format!("{}.{}", ENTITIES[entity], extension(format));
            let path = match spec.batches {
                Some(_) => format!("batch_{:03}/{name}", batch + 1),
                None => name,
            };
            let data = encode(table, &path, format)?;
            files.push(SampleFile { path, data });
        }
    }
    Ok(files)
}

/// A digest of generated files (FNV-1a over every path and byte, in order), to compare
/// two generations, for example native against the browser.
pub fn digest(files: &[SampleFile]) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for file in files {
        for byte in file
            .path
            .bytes()
            .chain([0])
            .chain(file.data.iter().copied())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01B3);
        }
    }
    hash
}

/// The spec whose digest the native and the browser tests both check.
#[cfg(test)]
pub(crate) fn cross_platform_spec() -> SampleSpec {
    SampleSpec {
        trips: 1_000,
        seed: 2026,
        batches: Some(3),
        format: SampleFormat::Mixed,
    }
}

/// Its digest, computed natively; the browser must produce the same bytes.
#[cfg(test)]
pub(crate) const CROSS_PLATFORM_DIGEST: u64 = 0x0552_2114_03fd_1256;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(trips: usize, seed: u64, batches: Option<usize>, format: SampleFormat) -> SampleSpec {
        SampleSpec {
            trips,
            seed,
            batches,
            format,
        }
    }

    fn csv_column(file: &SampleFile, column: &str) -> Vec<String> {
        let text = String::from_utf8(file.data.to_vec()).expect("utf-8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let index = header.iter().position(|h| *h == column).expect("column");
        lines
            .map(|line| line.split(',').nth(index).unwrap_or_default().to_owned())
            .collect()
    }

    fn find<'a>(files: &'a [SampleFile], path: &str) -> &'a SampleFile {
        files.iter().find(|f| f.path == path).expect(path)
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = generate(&spec(500, 7, Some(2), SampleFormat::Mixed)).expect("generate");
        let b = generate(&spec(500, 7, Some(2), SampleFormat::Mixed)).expect("generate");
        assert_eq!(a, b);
        let c = generate(&spec(500, 8, Some(2), SampleFormat::Mixed)).expect("generate");
        assert_ne!(a, c);
    }

    #[test]
    fn batches_hold_every_entity_in_folders_and_mixed_uses_every_format() {
        let files = generate(&spec(300, 1, Some(3), SampleFormat::Mixed)).expect("generate");
        assert_eq!(files.len(), 18);
        assert!(files.iter().all(|f| f.path.starts_with("batch_00")));
        for extension in [".csv", ".ndjson", ".parquet"] {
            assert!(
                files.iter().any(|f| f.path.ends_with(extension)),
                "{extension}"
            );
        }
        let flat = generate(&spec(50, 1, None, SampleFormat::Csv)).expect("generate");
        let names: Vec<&str> = flat.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "customers.csv",
                "drivers.csv",
                "vehicles.csv",
                "locations.csv",
                "payments.csv",
                "trips.csv"
            ]
        );
    }

    #[test]
    fn keys_are_consistent_and_trip_ids_grow_with_time() {
        let files = generate(&spec(2_000, 3, None, SampleFormat::Csv)).expect("generate");
        let customers = csv_column(find(&files, "customers.csv"), "customer_id").len();
        let drivers = csv_column(find(&files, "drivers.csv"), "driver_id").len();
        let trips = find(&files, "trips.csv");
        let ids: Vec<i64> = csv_column(trips, "trip_id")
            .iter()
            .map(|v| v.parse().expect("id"))
            .collect();
        assert_eq!(ids, (1..=2_000).collect::<Vec<_>>());
        for customer in csv_column(trips, "customer_id") {
            let customer: usize = customer.parse().expect("id");
            assert!((1..=customers).contains(&customer));
        }
        for driver in csv_column(trips, "driver_id") {
            let driver: usize = driver.parse().expect("id");
            assert!((1..=drivers).contains(&driver));
        }
        let pickups = csv_column(trips, "pickup_at");
        let instants: Vec<chrono::DateTime<chrono::FixedOffset>> = pickups
            .iter()
            .map(|p| chrono::DateTime::parse_from_rfc3339(p).expect("ISO-8601 with offset"))
            .collect();
        assert!(
            instants.windows(2).all(|w| w[0] <= w[1]),
            "pickups follow trip ids"
        );
        let payments = find(&files, "payments.csv");
        for trip in csv_column(payments, "trip_id") {
            let trip: i64 = trip.parse().expect("id");
            assert!((1..=2_000).contains(&trip));
        }
        let statuses = csv_column(payments, "status");
        assert!(statuses.iter().any(|s| s == "completed"));
    }

    #[test]
    fn the_cross_platform_digest_is_stable() {
        let files = generate(&cross_platform_spec()).expect("generate");
        assert_eq!(
            digest(&files),
            CROSS_PLATFORM_DIGEST,
            "{:#x}",
            digest(&files)
        );
    }

    #[test]
    fn impossible_specs_are_refused() {
        assert!(matches!(
            generate(&spec(0, 1, None, SampleFormat::Csv)),
            Err(SampleError::InvalidSpec(_))
        ));
        assert!(matches!(
            generate(&spec(5, 1, Some(6), SampleFormat::Csv)),
            Err(SampleError::InvalidSpec(_))
        ));
        assert!("xlsx".parse::<SampleFormat>().is_err());
        assert_eq!("mixed".parse::<SampleFormat>(), Ok(SampleFormat::Mixed));
    }
}
