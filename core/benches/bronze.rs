//! Bronze ingest benchmark (criterion): 1,000,000 generated trips in one CSV file,
//! landed in an in-memory store and ingested into `bronze/trips` (CSV parsing, the
//! metadata columns, one Delta commit of snappy Parquet).
//!
//! Run: `cargo bench -p medallion-core --bench bronze`. Figures go to docs/BENCHMARKS.md.

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

    use criterion::{criterion_group, BatchSize, Criterion, Throughput};
    use futures::executor::block_on;
    use medallion_core::bronze::{Bronze, BronzeOptions};
    use medallion_core::checkpoint::MemoryCheckpointStore;
    use medallion_core::sample::SampleFormat;

    use crate::common::{file_bytes, land, memory_store, sample_files};

    const TRIPS: usize = 1_000_000;

    fn ingest_million_csv(c: &mut Criterion) {
        let trips = file_bytes(&sample_files(TRIPS, 7, SampleFormat::Csv), "trips.csv");
        println!("trips.csv: {} bytes, {TRIPS} rows", trips.len());
        let mut group = c.benchmark_group("bronze");
        group.sample_size(10);
        group.throughput(Throughput::Bytes(trips.len() as u64));
        group.bench_function("ingest 1M trips, one CSV file", |b| {
            b.iter_batched(
                || {
                    let storage = memory_store();
                    land(storage.as_ref(), "trips.csv", trips.clone());
                    storage
                },
                |storage| {
                    let bronze = Bronze::new(storage, Arc::new(MemoryCheckpointStore::new()));
                    let reports = block_on(bronze.ingest("trips", &BronzeOptions::default()))
                        .expect("ingest");
                    assert_eq!(reports[0].rows(), TRIPS);
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }

    criterion_group!(benches, ingest_million_csv);
}
