//! The Uber-like sample dataset: a deterministic generator for any scale.
//!
//! [`generate`] is pure: a [`SampleSpec`] in, files (path and bytes) out, the same
//! bytes for the same spec on every platform, so the CLI writes them to disk and the
//! browser lands them straight into OPFS. Entities: customers, drivers, vehicles,
//! locations (zones like NYC TLC's taxi zone lookup, plus Chicago and San Francisco),
//! payments and trips. Trip ids grow with pickup time, so Delta file statistics can
//! prune merges; every foreign key points at a row that exists, apart from one
//! deliberate orphan payment.
//!
//! With `batches`, the files go to folders `batch_001/` … `batch_00K/`, each with all
//! six entities. Batch 1 is the initial load (every dimension row, half the trips);
//! later batches split the other trips by time and carry the edge cases of BRIEF §5,
//! listed in [`Sample::edge_cases`]. [`Sample::expected`] says how many rows each
//! Bronze, Silver and Gold table must hold after each batch.

mod batches;
mod entities;
mod expected;
mod land;
mod reference;
pub(crate) mod rng;
mod table;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use batches::FilePlan;
pub use expected::{ExpectedCounts, DIM_DATE_DAYS};
pub use land::{land_batch, land_generated, SampleLandingError, GENERATED_SEED};

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
    Encode {
        /// The file, by its path.
        file: String,
        /// What went wrong.
        detail: String,
    },
}

/// The entities in the order they are written.
pub(crate) const ENTITIES: [&str; 6] = [
    "customers",
    "drivers",
    "vehicles",
    "locations",
    "payments",
    "trips",
];

/// The deliberate edge cases of the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeCaseKind {
    /// Customers change email, phone or city.
    CustomerUpdates,
    /// Drivers change rating or status.
    DriverUpdates,
    /// A file writes its instants as `MM/DD/YYYY HH:MM:SS`, in UTC without an offset.
    LegacyTimestamps,
    /// Vehicles are repainted.
    VehicleUpdates,
    /// A trip comes again with a new status and tip.
    TripCorrected,
    /// Rows repeated byte for byte.
    ExactDuplicates,
    /// A trip from an earlier batch's time range.
    LateTrip,
    /// A timestamp that is no date.
    BadTimestamp,
    /// A fare that is no number.
    NonNumericFare,
    /// A row with fewer fields than the header (cut short).
    WrongColumnCount,
    /// Trips gain a column.
    NewColumn,
    /// A file's columns come in another order.
    ReorderedColumns,
    /// A customer deleted at the source (`is_deleted = true`).
    CustomerDeleted,
    /// A payment for a trip that never exists.
    OrphanPayment,
    /// A file dropped again with the same bytes.
    RedroppedFile,
    /// The deleted customer comes back.
    CustomerRestored,
    /// A CSV with a byte-order mark and CRLF line ends.
    WindowsExport,
}

impl EdgeCaseKind {
    /// A short name.
    pub fn title(self) -> &'static str {
        match self {
            Self::CustomerUpdates => "Customer updates (SCD2)",
            Self::DriverUpdates => "Driver updates (SCD2)",
            Self::LegacyTimestamps => "Legacy timestamp format",
            Self::VehicleUpdates => "Vehicle repainted (type 1)",
            Self::TripCorrected => "Trip status and tip change (upsert)",
            Self::ExactDuplicates => "Exact duplicates",
            Self::LateTrip => "Late-arriving trip",
            Self::BadTimestamp => "Malformed: bad timestamp",
            Self::NonNumericFare => "Malformed: non-numeric fare",
            Self::WrongColumnCount => "Malformed: wrong column count",
            Self::NewColumn => "Schema drift: new column",
            Self::ReorderedColumns => "Schema drift: columns reordered",
            Self::CustomerDeleted => "Customer deleted at the source",
            Self::OrphanPayment => "Orphan payment",
            Self::RedroppedFile => "File re-dropped unchanged",
            Self::CustomerRestored => "Deleted customer comes back",
            Self::WindowsExport => "Windows CSV export",
        }
    }

    /// What Bronze must do with it.
    pub fn bronze(self) -> &'static str {
        match self {
            Self::LegacyTimestamps => "keeps the source text",
            Self::ExactDuplicates => "keeps every copy (Bronze is as-is)",
            Self::BadTimestamp | Self::NonNumericFare => {
                "keeps the row, the field as its source text"
            }
            Self::WrongColumnCount => {
                "keeps the row (permissive mode): its raw text in `_corrupt_record`; \
                 the run counts it as malformed"
            }
            Self::NewColumn => {
                "adds the column to the table schema (addNewColumns); null in earlier rows"
            }
            Self::ReorderedColumns => "matches columns by name, not position",
            Self::RedroppedFile => {
                "skips it: same size and content hash as a file already ingested; \
                 the run reports it, no rows are added"
            }
            Self::WindowsExport => {
                "drops the byte-order mark from the first header, reads CRLF as line ends"
            }
            _ => "appends the rows as they are",
        }
    }

    /// What Silver must do with it.
    pub fn silver(self) -> &'static str {
        match self {
            Self::CustomerUpdates | Self::DriverUpdates | Self::VehicleUpdates => {
                "merges on the key; the later `updated_at` wins"
            }
            Self::LegacyTimestamps => "parses it as UTC: the same instant an ISO-8601 value gives",
            Self::TripCorrected => "upserts on `trip_id`; the later `updated_at` wins",
            Self::ExactDuplicates => "keeps one row per key",
            Self::LateTrip => "inserts it",
            Self::BadTimestamp => {
                "quarantines it to `silver/trips_quarantine`: `pickup_at` is not a timestamp"
            }
            Self::NonNumericFare => {
                "quarantines it to `silver/trips_quarantine`: `fare_amount` is not a number"
            }
            Self::WrongColumnCount => {
                "quarantines it to `silver/trips_quarantine`: the record is corrupt"
            }
            Self::NewColumn => "adds the column; null for trips before it",
            Self::ReorderedColumns | Self::RedroppedFile | Self::WindowsExport => "nothing special",
            Self::CustomerDeleted => "removes the customer from `silver/customers` (merge delete)",
            Self::OrphanPayment => "keeps it: its trip could still arrive late",
            Self::CustomerRestored => "inserts the customer again",
        }
    }

    /// What Gold must do with it.
    pub fn gold(self) -> &'static str {
        match self {
            Self::CustomerUpdates => {
                "`dim_customer` gains a version per customer; the previous one closes \
                 (`valid_to` = the new `updated_at`, `is_current` false)"
            }
            Self::DriverUpdates => "`dim_driver` gains a version per driver; the previous one closes",
            Self::VehicleUpdates => "`dim_vehicle` is overwritten in place; no new rows",
            Self::TripCorrected => "`fact_trips` updates the trip in place (incremental merge): completed, with the new tip",
            Self::ExactDuplicates => "nothing is counted twice; the `unique` tests pass",
            Self::LateTrip => {
                "`fact_trips` gains it, joined to the customer version valid at pickup \
                 (the one before this batch's update)"
            }
            Self::BadTimestamp | Self::NonNumericFare | Self::WrongColumnCount => "never sees it",
            Self::NewColumn => "`fact_trips.surge` comes from it; null for earlier trips",
            Self::CustomerDeleted => {
                "the customers snapshot (`hard_deletes: new_record`) closes the current \
                 version and adds one deleted version (`dbt_is_deleted` true), once, \
                 not again on later runs"
            }
            Self::OrphanPayment => {
                "`fact_payments` keeps it; the `relationships` test on `trip_id` \
                 (severity warn) reports 1 row"
            }
            Self::CustomerRestored => "the snapshot reopens the customer: a new current version after the deleted one",
            Self::ReorderedColumns
            | Self::RedroppedFile
            | Self::WindowsExport
            | Self::LegacyTimestamps => "nothing special",
        }
    }
}

/// One deliberate edge case in the generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeCase {
    /// What it is.
    pub kind: EdgeCaseKind,
    /// The batch it arrives in, from 1.
    pub batch: usize,
    /// The file that holds it.
    pub file: String,
    /// Which rows: ids and details.
    pub detail: String,
}

/// A generated dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The files, batch by batch.
    pub files: Vec<SampleFile>,
    /// The deliberate edge cases, batch by batch.
    pub edge_cases: Vec<EdgeCase>,
    /// Every table's expected row count after each batch.
    pub expected: Vec<ExpectedCounts>,
}

impl Sample {
    /// The edge cases as the Markdown table of `sample_data/README.md`.
    pub fn edge_case_table(&self) -> String {
        let mut out = String::from(
            "| Batch | File | Edge case | Rows | Bronze | Silver | Gold |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for case in &self.edge_cases {
            let kind = case.kind;
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} | {} |\n",
                case.batch,
                case.file,
                kind.title(),
                case.detail,
                kind.bronze(),
                kind.silver(),
                kind.gold()
            ));
        }
        out
    }

    /// The expected row counts as the Markdown table of `sample_data/README.md`.
    pub fn expected_counts_table(&self) -> String {
        let batches = self
            .expected
            .first()
            .map_or(0, |counts| counts.after_batch.len());
        let mut out = String::from("| Table |");
        for batch in 1..=batches {
            out.push_str(&format!(" After batch {batch} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(batches));
        out.push('\n');
        for counts in &self.expected {
            out.push_str(&format!("| `{}` |", counts.table));
            for rows in &counts.after_batch {
                out.push_str(&format!(" {rows} |"));
            }
            out.push('\n');
        }
        out
    }
}

/// The spec of the committed `sample_data/` batches, which the app also generates.
pub fn bundled_spec() -> SampleSpec {
    SampleSpec {
        trips: 4_000,
        seed: 2026,
        batches: Some(4),
        format: SampleFormat::Mixed,
    }
}

fn encode(file: &FilePlan) -> Result<Bytes, SampleError> {
    match file.format {
        SampleFormat::Csv => Ok(file.table.to_csv(file.style, &file.malformed)),
        SampleFormat::NdJson => Ok(file.table.to_ndjson(file.style, &file.malformed)),
        SampleFormat::Parquet | SampleFormat::Mixed => file.table.to_parquet(&file.path),
    }
}

/// Generates the dataset `spec` describes.
pub fn generate(spec: &SampleSpec) -> Result<Sample, SampleError> {
    if spec.trips == 0 {
        return Err(SampleError::InvalidSpec(
            "trips must be at least 1".to_owned(),
        ));
    }
    if let Some(batches) = spec.batches {
        if batches == 0 || (batches > 1 && spec.trips < 2 * batches) {
            return Err(SampleError::InvalidSpec(format!(
                "{batches} batches need at least {} trips, not {}",
                (2 * batches).max(1),
                spec.trips
            )));
        }
    }
    let data = entities::generate(spec.trips, spec.seed);
    let plan = batches::plan(spec, &data);
    let expected = expected::expected_counts(&plan);
    let mut files = Vec::new();
    for file in plan.batches.iter().flatten() {
        files.push(SampleFile {
            path: file.path.clone(),
            data: encode(file)?,
        });
    }
    Ok(Sample {
        files,
        edge_cases: plan.edge_cases,
        expected,
    })
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

/// The digest of the [`bundled_spec`] files, computed natively; the browser must
/// produce the same bytes.
#[cfg(test)]
pub(crate) const BUNDLED_DIGEST: u64 = 0x1374_c4f1_1583_9739;

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
        let a = generate(&spec(500, 7, Some(2), SampleFormat::Mixed))
            .expect("generate")
            .files;
        let b = generate(&spec(500, 7, Some(2), SampleFormat::Mixed))
            .expect("generate")
            .files;
        assert_eq!(a, b);
        let c = generate(&spec(500, 8, Some(2), SampleFormat::Mixed))
            .expect("generate")
            .files;
        assert_ne!(a, c);
    }

    #[test]
    fn batches_hold_every_entity_in_folders_and_mixed_uses_every_format() {
        let files = generate(&spec(300, 1, Some(3), SampleFormat::Mixed))
            .expect("generate")
            .files;
        assert_eq!(files.len(), 18);
        assert!(files.iter().all(|f| f.path.starts_with("batch_00")));
        for extension in [".csv", ".ndjson", ".parquet"] {
            assert!(
                files.iter().any(|f| f.path.ends_with(extension)),
                "{extension}"
            );
        }
        let flat = generate(&spec(50, 1, None, SampleFormat::Csv))
            .expect("generate")
            .files;
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
        let files = generate(&spec(2_000, 3, None, SampleFormat::Csv))
            .expect("generate")
            .files;
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
    fn the_bundled_digest_is_stable() {
        let files = generate(&bundled_spec()).expect("generate").files;
        assert_eq!(digest(&files), BUNDLED_DIGEST, "{:#x}", digest(&files));
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

    fn text(files: &[SampleFile], path: &str) -> String {
        String::from_utf8(find(files, path).data.to_vec()).expect("utf-8")
    }

    fn count(sample: &Sample, table: &str) -> Vec<usize> {
        sample
            .expected
            .iter()
            .find(|counts| counts.table == table)
            .map(|counts| counts.after_batch.clone())
            .expect(table)
    }

    #[test]
    fn the_bundled_sample_has_every_edge_case_of_the_brief_in_its_batch() {
        let sample = generate(&bundled_spec()).expect("generate");
        let batch_of = |kind: EdgeCaseKind| -> Vec<usize> {
            sample
                .edge_cases
                .iter()
                .filter(|case| case.kind == kind)
                .map(|case| case.batch)
                .collect()
        };
        use EdgeCaseKind::*;
        for kind in [
            CustomerUpdates,
            DriverUpdates,
            LegacyTimestamps,
            VehicleUpdates,
            TripCorrected,
            ExactDuplicates,
            LateTrip,
            BadTimestamp,
            NonNumericFare,
            WrongColumnCount,
        ] {
            assert_eq!(batch_of(kind), [2], "{kind:?}");
        }
        for kind in [
            NewColumn,
            ReorderedColumns,
            CustomerDeleted,
            OrphanPayment,
            RedroppedFile,
        ] {
            assert_eq!(batch_of(kind), [3], "{kind:?}");
        }
        for kind in [CustomerRestored, WindowsExport] {
            assert_eq!(batch_of(kind), [4], "{kind:?}");
        }
        let bytes: usize = sample.files.iter().map(|f| f.data.len()).sum();
        assert!(bytes < 2 * 1024 * 1024, "{bytes} bytes");
        for extension in [".csv", ".ndjson", ".parquet"] {
            assert!(
                sample.files.iter().any(|f| f.path.ends_with(extension)),
                "{extension}"
            );
        }
        let customers = count(&sample, "silver/customers")[0];
        assert!((200..1_000).contains(&customers), "{customers} customers");
        let first_trips = count(&sample, "bronze/trips")[0];
        assert!(
            (1_900..=2_000).contains(&first_trips),
            "{first_trips} trips"
        );
    }

    #[test]
    fn malformed_and_duplicated_rows_are_in_the_file_as_documented() {
        let sample = generate(&bundled_spec()).expect("generate");
        let trips = text(&sample.files, "batch_002/trips.csv");
        let lines: Vec<&str> = trips.lines().collect();
        let columns = lines[0].split(',').count();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.split(',').count() < columns)
                .count(),
            1,
            "one row cut short"
        );
        assert_eq!(lines.iter().filter(|l| l.contains(",N/A,")).count(), 1);
        assert_eq!(lines.iter().filter(|l| l.contains("-32T")).count(), 1);
        let duplicated = lines
            .iter()
            .filter(|line| lines.iter().filter(|other| other == line).count() > 1)
            .count();
        assert!(duplicated >= 4, "{duplicated} lines have a twin");
        let drivers = text(&sample.files, "batch_002/drivers.csv");
        let legacy = drivers.lines().nth(1).expect("a driver").rsplit(',').next();
        let legacy = legacy.expect("updated_at");
        assert!(
            chrono::NaiveDateTime::parse_from_str(legacy, "%m/%d/%Y %H:%M:%S").is_ok(),
            "{legacy}"
        );
        let windows = &find(&sample.files, "batch_004/customers.csv").data;
        assert!(windows.starts_with("\u{feff}customer_id,".as_bytes()));
        assert!(windows.ends_with(b"\r\n"));
        let payments = text(&sample.files, "batch_003/payments.csv");
        assert!(
            payments.starts_with("paid_at,payment_id,status,"),
            "{payments:.80}"
        );
        assert_eq!(
            find(&sample.files, "batch_003/locations.csv").data,
            find(&sample.files, "batch_001/locations.csv").data
        );
    }

    #[test]
    fn every_trip_arrives_once_apart_from_documented_repeats() {
        let trips = 800;
        let sample = generate(&spec(trips, 5, Some(4), SampleFormat::Csv)).expect("generate");
        let mut seen: Vec<i64> = Vec::new();
        for batch in 1..=4 {
            let file = find(&sample.files, &format!("batch_00{batch}/trips.csv"));
            seen.extend(
                csv_column(file, "trip_id")
                    .iter()
                    .map(|id| id.parse::<i64>().expect("trip_id")),
            );
        }
        let rows = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (1..=trips as i64).collect::<Vec<_>>());
        let repeats = sample
            .edge_cases
            .iter()
            .find(|case| case.kind == EdgeCaseKind::ExactDuplicates)
            .map(|case| {
                case.detail
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .matches(',')
                    .count()
                    + 1
            })
            .expect("duplicates");
        // Each re-sent row once more, and the corrected trip's second version.
        assert_eq!(rows, trips + repeats + 1);
    }

    #[test]
    fn expected_counts_follow_the_edge_cases() {
        let sample = generate(&bundled_spec()).expect("generate");
        let rows_in = |path: &str| text(&sample.files, path).lines().count() - 1;
        let updated = |kind: EdgeCaseKind| {
            let case = sample
                .edge_cases
                .iter()
                .find(|c| c.kind == kind)
                .expect("case");
            case.detail.matches(',').count() + 1
        };
        let bronze_trips = count(&sample, "bronze/trips");
        assert_eq!(
            bronze_trips[1] - bronze_trips[0],
            rows_in("batch_002/trips.csv")
        );
        assert_eq!(count(&sample, "silver/trips_quarantine"), [0, 3, 3, 3]);
        let silver_trips = count(&sample, "silver/trips");
        assert_eq!(silver_trips[3], 4_000 - 3);
        assert_eq!(count(&sample, "gold/fact_trips"), silver_trips);
        let customers = count(&sample, "silver/customers");
        assert_eq!(customers[1], customers[0]);
        assert_eq!(customers[2], customers[1] - 1, "the deletion");
        assert_eq!(customers[3], customers[1], "the restoration");
        let dim_customer = count(&sample, "gold/dim_customer");
        assert_eq!(
            dim_customer,
            [
                customers[0],
                customers[0] + updated(EdgeCaseKind::CustomerUpdates),
                customers[0] + updated(EdgeCaseKind::CustomerUpdates) + 1,
                customers[0] + updated(EdgeCaseKind::CustomerUpdates) + 2,
            ]
        );
        let dim_driver = count(&sample, "gold/dim_driver");
        assert_eq!(
            dim_driver[1] - dim_driver[0],
            updated(EdgeCaseKind::DriverUpdates)
        );
        let locations = count(&sample, "bronze/locations");
        assert_eq!(locations, [locations[0]; 4], "the re-drop adds nothing");
        let vehicles = count(&sample, "gold/dim_vehicle");
        assert_eq!(vehicles, [vehicles[0]; 4], "type 1");
        let payments = count(&sample, "silver/payments");
        let bronze_payments = count(&sample, "bronze/payments");
        assert_eq!(
            bronze_payments[2] - bronze_payments[1],
            rows_in("batch_003/payments.csv")
        );
        assert_eq!(
            payments[2] - payments[1],
            rows_in("batch_003/payments.csv"),
            "with the orphan"
        );
        assert_eq!(count(&sample, "gold/dim_payment_method"), [3; 4]);
        assert_eq!(count(&sample, "gold/dim_date"), [DIM_DATE_DAYS; 4]);
    }

    /// The folder of the committed sample batches.
    #[cfg(not(target_arch = "wasm32"))]
    fn sample_data() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample_data")
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_committed_sample_is_what_the_generator_writes() {
        let regenerate = "regenerate with: cargo run -p medallion-cli -- gen --trips 4000 \
                          --seed 2026 --batches 4 --out sample_data";
        let sample = generate(&bundled_spec()).expect("generate");
        let mut committed: Vec<String> = Vec::new();
        for batch in std::fs::read_dir(sample_data()).expect("sample_data") {
            let batch = batch.expect("entry").path();
            if !batch.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&batch).expect("batch folder") {
                let file = file.expect("entry").path();
                let relative = file.strip_prefix(sample_data()).expect("inside");
                committed.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
        committed.sort();
        let mut generated: Vec<String> = sample.files.iter().map(|f| f.path.clone()).collect();
        generated.sort();
        assert_eq!(committed, generated, "{regenerate}");
        for file in &sample.files {
            let bytes = std::fs::read(sample_data().join(&file.path)).expect("read");
            assert!(bytes == file.data, "{} differs; {regenerate}", file.path);
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_sample_readme_tables_are_the_generators() {
        let readme = std::fs::read_to_string(sample_data().join("README.md")).expect("README");
        let sample = generate(&bundled_spec()).expect("generate");
        for table in [sample.edge_case_table(), sample.expected_counts_table()] {
            assert!(
                readme.contains(&table),
                "sample_data/README.md must hold this table:\n{table}"
            );
        }
    }
}
