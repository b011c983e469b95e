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
mod common;

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
    use medallion_core::checkpoint::{CheckpointStore, MemoryCheckpointStore};
    use medallion_core::sample::SampleFormat;
    use medallion_core::silver::{bundled_pipelines, Silver, SilverOptions};
    use medallion_core::storage::{MemoryStorage, Storage};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;

    use crate::common::{copy_checkpoint, copy_store, file_bytes, land, sample_files};

    const TABLE_TRIPS: usize = 1_000_000;
    const BATCH_TRIPS: usize = 10_000;
    /// Added to the batch's trip ids so that every one is a new trip.
    const ID_OFFSET: i64 = 10_000_000;

    /// A Parquet file of the 10,000-trip sample, its ids moved past the table's.
    fn new_batch(name: &str, ids: &[&str]) -> Bytes {
        let data = file_bytes(&sample_files(BATCH_TRIPS, 8, SampleFormat::Parquet), name);
        let reader = ParquetRecordBatchReaderBuilder::try_new(data)
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
        for file in sample_files(TABLE_TRIPS, 7, SampleFormat::Parquet)
            .into_iter()
            .filter(|f| {
                ["trips", "locations", "payments"]
                    .iter()
                    .any(|e| f.path.starts_with(e))
            })
        {
            land(shared.as_ref(), &file.path, file.data);
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
            land(
                shared.as_ref(),
                &format!("batch_002/{file}"),
                new_batch(file, ids),
            );
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
