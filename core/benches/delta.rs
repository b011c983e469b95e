//! Delta table benchmarks (criterion), natively on an in-memory store:
//! - append 1M rows;
//! - merge 10k rows into a 1M-row table whose keys hit only the newest file, against
//!   overwriting the whole table;
//! - load the snapshot of a 100-commit table, with and without checkpoints.
//!
//! Run: `cargo bench -p medallion-core --bench delta`. Figures go to docs/BENCHMARKS.md.

//! Benchmarks run natively only; on wasm32 this target is empty.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
    use arrow::record_batch::RecordBatch;
    use criterion::{criterion_group, BatchSize, Criterion};
    use medallion_core::delta::{DeltaTable, MergeOptions, TableOptions, WriteOptions};
    use medallion_core::storage::{LocalFileSystem, MemoryStorage, Storage};

    const CITIES: [&str; 4] = ["New York", "Boston", "Chicago", "San Francisco"];

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("trip_id", DataType::Int64, true),
            Field::new("city", DataType::Utf8, true),
            Field::new("fare", DataType::Float64, true),
            Field::new(
                "pickup_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]))
    }

    /// Trips `first..first + rows`, ids growing with time as in the sample data.
    fn trips(first: i64, rows: usize, fare: f64) -> RecordBatch {
        let ids: Vec<i64> = (first..first + rows as i64).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(StringArray::from_iter_values(
                    ids.iter().map(|id| CITIES[(*id % 4) as usize]),
                )),
                Arc::new(Float64Array::from_iter_values(
                    ids.iter().map(|id| fare + (*id % 50) as f64),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        ids.iter().map(|id| 1_767_225_600_000_000 + id * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
            ],
        )
        .expect("batch")
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        futures::executor::block_on(future)
    }

    fn new_table(properties: &[(&str, &str)]) -> DeltaTable {
        new_table_in(Arc::new(MemoryStorage::new()), properties)
    }

    fn new_table_in(storage: Arc<dyn Storage>, properties: &[(&str, &str)]) -> DeltaTable {
        let table = DeltaTable::new(storage, "bench/trips");
        let options = TableOptions {
            properties: properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        };
        run(table.create(&schema(), options)).expect("create");
        table
    }

    /// A 1M-row table in ten files of 100k rows, keys growing file by file.
    fn million_row_table() -> DeltaTable {
        let table = new_table(&[]);
        for file in 0..10 {
            run(table.append(
                &[trips(file * 100_000, 100_000, 10.0)],
                WriteOptions::default(),
            ))
            .expect("append");
        }
        table
    }

    fn append(c: &mut Criterion) {
        let mut group = c.benchmark_group("delta");
        group.sample_size(10);
        let batch = trips(0, 1_000_000, 10.0);
        group.bench_function("append 1M rows", |b| {
            b.iter_batched(
                || new_table(&[]),
                |table| {
                    run(table.append(std::slice::from_ref(&batch), WriteOptions::default()))
                        .expect("append")
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }

    fn merge(c: &mut Criterion) {
        let mut group = c.benchmark_group("delta");
        group.sample_size(10);
        let source = trips(990_000, 10_000, 99.0);
        let options = MergeOptions {
            keys: vec!["trip_id".to_owned()],
            ..Default::default()
        };
        let outcome =
            run(million_row_table().merge(std::slice::from_ref(&source), options.clone()))
                .expect("merge");
        eprintln!(
            "merge 10k into 1M: {} of 10 files rewritten, {} rows updated, {} copied",
            outcome.metrics.files_removed,
            outcome.metrics.rows_updated,
            outcome.metrics.rows_copied
        );
        group.bench_function("merge 10k rows into 1M (newest file)", |b| {
            b.iter_batched(
                million_row_table,
                |table| {
                    run(table.merge(std::slice::from_ref(&source), options.clone())).expect("merge")
                },
                BatchSize::PerIteration,
            )
        });
        let full = trips(0, 1_000_000, 99.0);
        group.bench_function("overwrite 1M rows (the alternative)", |b| {
            b.iter_batched(
                million_row_table,
                |table| {
                    run(table.overwrite(std::slice::from_ref(&full), WriteOptions::default()))
                        .expect("overwrite")
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }

    fn snapshot_load(c: &mut Criterion) {
        let mut group = c.benchmark_group("delta");
        let dir = tempfile::tempdir().expect("temp dir");
        for store in ["memory", "filesystem"] {
            for (label, interval) in [("with checkpoints", "10"), ("without checkpoints", "1000")] {
                let storage: Arc<dyn Storage> = match store {
                    "memory" => Arc::new(MemoryStorage::new()),
                    _ => Arc::new(LocalFileSystem::new(dir.path().join(interval)).expect("store")),
                };
                let table = new_table_in(storage, &[("delta.checkpointInterval", interval)]);
                for commit in 0..100 {
                    run(table.append(&[trips(commit * 10, 10, 1.0)], WriteOptions::default()))
                        .expect("append");
                }
                group.bench_function(
                    format!("load snapshot of 100 commits, {store}, {label}"),
                    |b| b.iter(|| run(table.snapshot()).expect("snapshot")),
                );
            }
        }
        group.finish();
    }

    criterion_group!(benches, append, merge, snapshot_load);
}
