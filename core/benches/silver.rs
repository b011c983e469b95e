//! Silver benchmark (criterion): `silver/trips` at 1,000,000 trips, rebuilt in full,
//! against an incremental run that merges a 10,000-trip batch on top; and the same for
//! payments, whose foreign-key check looks up the 1M trips. BRIEF §6 asks that the
//! batch cost at most 5% of the full refresh, because cost should follow the batch and
//! not the table.
//!
//! Run: `cargo bench -p medallion-core --bench silver`. Figures go to docs/BENCHMARKS.md.

//! Benchmarks run natively only; on wasm32 this target is empty.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use arrow::array::{Array, Int64Array};
    use arrow::record_batch::RecordBatch;
    use bytes::Bytes;
    use criterion::{criterion_group, Criterion};
    use futures::executor::block_on;
    use medallion_core::bronze::{Bronze, BronzeOptions};
    use medallion_core::checkpoint::{CheckpointStore, MemoryCheckpointStore, WriteBatch};
    use medallion_core::landing::land_file;
    use medallion_core::sample::{generate, SampleFormat, SampleSpec};
    use medallion_core::silver::{bundled_pipelines, Silver, SilverOptions};
    use medallion_core::storage::{MemoryStorage, Storage};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;

    const TABLE_TRIPS: usize = 1_000_000;
    const BATCH_TRIPS: usize = 10_000;
    /// Added to the batch's trip ids so that every one is a new trip.
    const ID_OFFSET: i64 = 10_000_000;

    /// Every object of one store copied into a new one (the bytes are shared).
    fn copy_store(from: &MemoryStorage) -> MemoryStorage {
        let to = MemoryStorage::new();
        for object in block_on(from.list("")).expect("list") {
            let data = block_on(from.get(&object.path)).expect("get");
            block_on(to.put(&object.path, data)).expect("put");
        }
        to
    }

    fn copy_checkpoint(from: &MemoryCheckpointStore) -> MemoryCheckpointStore {
        let to = MemoryCheckpointStore::new();
        let mut batch = WriteBatch::new();
        for (key, value) in block_on(from.scan("")).expect("scan") {
            batch = batch.put(key, value);
        }
        block_on(to.write(batch)).expect("write");
        to
    }

    /// A Parquet file of the 10,000-trip sample, its ids moved past the table's.
    fn new_batch(name: &str, ids: &[&str]) -> Bytes {
        let sample = generate(&SampleSpec {
            trips: BATCH_TRIPS,
            seed: 8,
            batches: None,
            format: SampleFormat::Parquet,
        })
        .expect("generate");
        let file = sample
            .files
            .into_iter()
            .find(|f| f.path == name)
            .expect("the file");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file.data)
            .expect("parquet")
            .build()
            .expect("reader");
        let mut moved_batches = Vec::new();
        for batch in reader {
            let batch = batch.expect("batch");
            let mut columns = batch.columns().to_vec();
            for id in ids {
                let index = batch.schema().index_of(id).expect("id column");
                let values = batch
                    .column(index)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("int64 ids");
                let moved: Int64Array = values
                    .iter()
                    .map(|id| id.map(|id| id + ID_OFFSET))
                    .collect();
                columns[index] = Arc::new(moved);
            }
            moved_batches.push(RecordBatch::try_new(batch.schema(), columns).expect("batch"));
        }
        let mut out = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut out, moved_batches[0].schema(), None).expect("writer");
        for batch in &moved_batches {
            writer.write(batch).expect("write");
        }
        writer.close().expect("close");
        Bytes::from(out)
    }

    /// Runs Silver for trips `iterations` times, each on a fresh copy of the stores;
    /// returns the time spent in the runs alone.
    fn timed_runs(
        storage: &MemoryStorage,
        checkpoint: &MemoryCheckpointStore,
        entity: &str,
        full_refresh: bool,
        iterations: u64,
    ) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iterations {
            let storage: Arc<dyn Storage> = Arc::new(copy_store(storage));
            let checkpoint: Arc<dyn CheckpointStore> = Arc::new(copy_checkpoint(checkpoint));
            let silver = Silver::new(storage, checkpoint, bundled_pipelines()).expect("pipelines");
            let started = Instant::now();
            let report =
                block_on(silver.run(entity, &SilverOptions { full_refresh })).expect("silver");
            total += started.elapsed();
            assert!(report.rows_in > 0, "{report:?}");
            assert_eq!(report.inserted, report.rows_in, "{report:?}");
        }
        total
    }

    fn trips_million(c: &mut Criterion) {
        let storage = MemoryStorage::new();
        let checkpoint = MemoryCheckpointStore::new();
        let shared: Arc<dyn Storage> = Arc::new(storage.clone());
        let shared_checkpoint: Arc<dyn CheckpointStore> = Arc::new(checkpoint.clone());
        let sample = generate(&SampleSpec {
            trips: TABLE_TRIPS,
            seed: 7,
            batches: None,
            format: SampleFormat::Parquet,
        })
        .expect("generate");
        for file in sample.files.iter().filter(|f| {
            ["trips", "locations", "payments"]
                .iter()
                .any(|e| f.path.starts_with(e))
        }) {
            block_on(land_file(
                shared.as_ref(),
                &file.path,
                None,
                file.data.clone(),
            ))
            .expect("land");
        }
        let bronze = Bronze::new(shared.clone(), shared_checkpoint.clone());
        block_on(bronze.ingest_all(&BronzeOptions::default())).expect("ingest");
        let silver = Silver::new(
            shared.clone(),
            shared_checkpoint.clone(),
            bundled_pipelines(),
        )
        .expect("pipelines");
        block_on(silver.run("locations", &SilverOptions::default())).expect("locations");
        for entity in ["trips", "payments"] {
            let started = Instant::now();
            let built = block_on(silver.run(entity, &SilverOptions::default())).expect("build");
            println!(
                "silver/{entity} built from {} Bronze rows in {:?}",
                built.rows_in,
                started.elapsed()
            );
        }
        for (file, ids) in [
            ("trips.parquet", &["trip_id"][..]),
            ("payments.parquet", &["payment_id", "trip_id"][..]),
        ] {
            let batch = new_batch(file, ids);
            block_on(land_file(
                shared.as_ref(),
                &format!("batch_002/{file}"),
                None,
                batch,
            ))
            .expect("land the batch");
        }
        block_on(bronze.ingest_all(&BronzeOptions::default())).expect("ingest the batch");
        // The trips benchmark starts here; the payments one after the batch's trips are
        // in Silver, as in a pipeline run.
        let before_trips = (copy_store(&storage), copy_checkpoint(&checkpoint));
        block_on(silver.run("trips", &SilverOptions::default())).expect("trips batch");

        let mut group = c.benchmark_group("silver");
        group.sample_size(10);
        group.bench_function("payments: full refresh of ~985k payments", |b| {
            b.iter_custom(|n| timed_runs(&storage, &checkpoint, "payments", true, n))
        });
        group.bench_function("payments: incremental, a 10k-trip batch on 1M trips", |b| {
            b.iter_custom(|n| timed_runs(&storage, &checkpoint, "payments", false, n))
        });
        let (trips_storage, trips_checkpoint) = &before_trips;
        group.bench_function("trips: full refresh of 1.01M trips", |b| {
            b.iter_custom(|n| timed_runs(trips_storage, trips_checkpoint, "trips", true, n))
        });
        group.bench_function("trips: incremental, 10k new trips on 1M", |b| {
            b.iter_custom(|n| timed_runs(trips_storage, trips_checkpoint, "trips", false, n))
        });
        group.finish();
    }

    criterion_group!(benches, trips_million);
}
