//! Sample generator benchmark (criterion): 1,000,000 trips with their customers,
//! drivers, vehicles, locations and payments, split into 4 batches with every edge case,
//! encoded as mixed CSV/NDJSON/Parquet, and as Parquet only.
//!
//! Run: `cargo bench -p medallion-core --bench sample`. Figures go to docs/BENCHMARKS.md.

//! Benchmarks run natively only; on wasm32 this target is empty.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{criterion_group, Criterion, Throughput};
    use medallion_core::sample::{generate, SampleFormat, SampleSpec};

    const TRIPS: usize = 1_000_000;

    fn generate_million(c: &mut Criterion) {
        let mut group = c.benchmark_group("generate");
        group.sample_size(10);
        group.throughput(Throughput::Elements(TRIPS as u64));
        for format in [SampleFormat::Mixed, SampleFormat::Parquet] {
            let spec = SampleSpec {
                trips: TRIPS,
                seed: 7,
                batches: Some(4),
                format,
            };
            group.bench_function(format!("1M trips, 4 batches, {format}"), |b| {
                b.iter(|| {
                    let sample = generate(&spec).expect("generate");
                    sample.files.iter().map(|f| f.data.len()).sum::<usize>()
                })
            });
        }
        group.finish();
    }

    criterion_group!(benches, generate_million);
}
