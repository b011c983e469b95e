//! Model engine benchmark (criterion): a generated project of 200 models (each refs two
//! earlier ones, calls a project macro and a cross-database macro, and has two data
//! tests in YAML), over a one-table source of 1,000 rows.
//!
//! - parse: read and render every model once (refs, sources, config), build the DAG;
//! - compile: `medallion compile`, every node's SQL with ephemeral CTEs, to `target/`;
//! - run: `medallion run` of the 200 models as tables, to give the cost per node;
//! - lay out: the lineage graph of the project and the bundled Silver pipelines, in
//!   layers (`lineage::layout`), as the playground's lineage view does.
//!
//! Run: `cargo bench -p medallion-core --bench models`. Figures go to docs/BENCHMARKS.md.

//! Benchmarks run natively only; on wasm32 this target is empty.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use criterion::{criterion_group, Criterion};
    use medallion_core::delta::{DeltaTable, WriteOptions};
    use medallion_core::lineage::layout::layout;
    use medallion_core::lineage::LineageGraph;
    use medallion_core::models::{synthetic_project, Command, ModelRunner, Project, RunOptions};
    use medallion_core::silver::bundled_pipelines;
    use medallion_core::storage::{MemoryStorage, Storage};

    const MODELS: usize = 200;

    /// The project's files: model `m{i}` reads `m{i/2}` and `m{i-1}` (the first reads
    /// the source), as tables.
    fn project_files() -> Vec<(String, String)> {
        synthetic_project(MODELS)
    }

    async fn source(storage: &Arc<dyn Storage>) {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("value", DataType::Float64, true),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values(0..1_000)),
                Arc::new(Float64Array::from_iter_values((0..1_000).map(f64::from))),
            ],
        )
        .expect("batch");
        let table = DeltaTable::new(storage.clone(), "silver/facts");
        table
            .create(&batch.schema(), Default::default())
            .await
            .expect("create");
        table
            .append(&[batch], WriteOptions::default())
            .await
            .expect("append");
    }

    fn engine(c: &mut Criterion) {
        let files = project_files();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut group = c.benchmark_group("models");
        group.sample_size(10);
        group.bench_function("parse a 200-model project", |b| {
            b.iter(|| Project::parse(&files, &BTreeMap::new()).expect("parse"))
        });
        let lineage = {
            let project = Project::parse(&files, &BTreeMap::new()).expect("parse");
            LineageGraph::new(&project, &bundled_pipelines(), &[]).expect("graph")
        };
        let every_node = lineage.nodes.iter().map(|node| node.id.clone()).collect();
        group.bench_function(
            "lay out the lineage of a 200-model project (225 nodes)",
            |b| {
                b.iter(|| {
                    let placed = layout(&lineage, &every_node);
                    assert_eq!(placed.nodes.len(), lineage.nodes.len());
                })
            },
        );
        group.bench_function("compile a 200-model project (600 nodes)", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
                    let project = Project::parse(&files, &BTreeMap::new()).expect("parse");
                    let run = ModelRunner::new(storage, project)
                        .run(Command::Compile, &RunOptions::default())
                        .await
                        .expect("compile");
                    assert_eq!(run.results.len(), 3 * MODELS);
                })
            })
        });
        group.bench_function("run 200 table models of 1,000 rows", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
                    source(&storage).await;
                    let project = Project::parse(&files, &BTreeMap::new()).expect("parse");
                    let run = ModelRunner::new(storage, project)
                        .run(Command::Run, &RunOptions::default())
                        .await
                        .expect("run");
                    assert!(run.success());
                    assert_eq!(run.results.len(), MODELS);
                })
            })
        });
        group.finish();
    }

    criterion_group!(benches, engine);
}
