//! The SQL engine: one Apache DataFusion session, configured for where it runs.
//!
//! In the browser there is one thread and no tokio runtime, so the session plans for
//! a single partition and every operator runs inside the calling future, letting the
//! event loop run every few milliseconds (`browser::event_loop`). Natively the
//! session uses one partition per core and expects a tokio runtime.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::limit::GlobalLimitExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::{StreamExt, TryStreamExt};

/// A DataFusion session configured for the current platform.
pub fn new_session() -> SessionContext {
    session(cfg!(target_arch = "wasm32"))
}

/// A session; with `single_task`, every plan runs in the calling task (see
/// [`SequentialPartitions`]), as it must where nothing can be spawned.
fn session(single_task: bool) -> SessionContext {
    let partitions = if single_task { 1 } else { target_partitions() };
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(partitions);
    if !single_task {
        return SessionContext::new_with_config(config);
    }
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(SequentialPartitions));
    #[cfg(target_arch = "wasm32")]
    let state =
        state.with_physical_optimizer_rule(Arc::new(crate::browser::event_loop::YieldToEventLoop));
    SessionContext::new_with_state(state.build())
}

/// A physical optimizer rule for runtimes that cannot spawn tasks (the browser):
/// every `CoalescePartitionsExec`, which runs its input partitions in spawned tasks,
/// becomes a [`SequentialCoalesceExec`], and a plan with several output partitions
/// gets one on top. A `UNION ALL` (one partition per input) then runs in the browser.
#[derive(Debug, Default)]
pub struct SequentialPartitions;

impl PhysicalOptimizerRule for SequentialPartitions {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        let plan = plan
            .transform_up(|node| {
                let Some(coalesce) = node.downcast_ref::<CoalescePartitionsExec>() else {
                    return Ok(Transformed::no(node));
                };
                let sequential: Arc<dyn ExecutionPlan> =
                    Arc::new(SequentialCoalesceExec::new(coalesce.input().clone()));
                Ok(Transformed::yes(match coalesce.fetch() {
                    Some(fetch) => Arc::new(GlobalLimitExec::new(sequential, 0, Some(fetch))),
                    None => sequential,
                }))
            })?
            .data;
        Ok(if plan.output_partitioning().partition_count() > 1 {
            Arc::new(SequentialCoalesceExec::new(plan))
        } else {
            plan
        })
    }

    fn name(&self) -> &str {
        "sequential_partitions"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Merges the partitions of its input into one by running them one after the other,
/// in the calling task.
#[derive(Debug)]
pub struct SequentialCoalesceExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl SequentialCoalesceExec {
    /// Coalesces `input`'s partitions.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        let mut equivalences = input.equivalence_properties().clone();
        equivalences.clear_orderings();
        equivalences.clear_per_partition_constants();
        let properties = PlanProperties::new(
            equivalences,
            Partitioning::UnknownPartitioning(1),
            input.pipeline_behavior(),
            input.boundedness(),
        );
        Self {
            input,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for SequentialCoalesceExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "SequentialCoalesceExec")
    }
}

impl ExecutionPlan for SequentialCoalesceExec {
    fn name(&self) -> &str {
        "SequentialCoalesceExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DataFusionResult<TreeNodeRecursion>,
    ) -> DataFusionResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(child), true) => Ok(Arc::new(Self::new(child))),
            _ => Err(DataFusionError::Internal(
                "SequentialCoalesceExec has one child".to_owned(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DataFusionResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "SequentialCoalesceExec has one partition, not {partition}"
            )));
        }
        let input = self.input.clone();
        let partitions = input.output_partitioning().partition_count();
        let batches = futures::stream::iter(0..partitions)
            .map(move |index| input.execute(index, context.clone()))
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            batches,
        )))
    }
}

#[cfg(target_arch = "wasm32")]
fn target_partitions() -> usize {
    1
}

#[cfg(not(target_arch = "wasm32"))]
fn target_partitions() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// The schema `schema` of the default catalog, created if needed (so that views can be
/// created in it before any table is).
pub fn ensure_schema(
    session: &SessionContext,
    schema: &str,
) -> DataFusionResult<Arc<dyn SchemaProvider>> {
    let catalog = session
        .catalog("datafusion")
        .ok_or_else(|| DataFusionError::Internal("the default catalog is missing".to_owned()))?;
    Ok(match catalog.schema(schema) {
        Some(existing) => existing,
        None => {
            let created: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
            catalog.register_schema(schema, created.clone())?;
            created
        }
    })
}

/// Registers `table` as `<schema>.<name>` (for example `silver.trips`), creating the
/// schema in the default catalog if needed.
pub fn register_table(
    session: &SessionContext,
    schema: &str,
    name: &str,
    table: Arc<dyn TableProvider>,
) -> DataFusionResult<()> {
    let provider = ensure_schema(session, schema)?;
    provider.deregister_table(name)?;
    provider.register_table(name.to_owned(), table)?;
    Ok(())
}

/// Runs one SQL statement and collects its result.
pub async fn query(session: &SessionContext, sql: &str) -> DataFusionResult<Vec<RecordBatch>> {
    session.sql(sql).await?.collect().await
}

#[cfg(test)]
pub(crate) mod smoke {
    //! A query shaped like the Gold models: a GROUP BY and a window function over a
    //! MemTable. It runs natively and in headless Chromium.

    use std::sync::Arc;

    use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;

    use super::{new_session, query};

    pub(crate) async fn group_by_and_window_function() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("city", DataType::Utf8, false),
            Field::new("trip_id", DataType::Int64, false),
            Field::new("fare", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    "New York", "Boston", "New York", "Boston", "New York",
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(Float64Array::from(vec![10.0, 7.5, 22.0, 12.5, 8.0])),
            ],
        )
        .expect("batch");
        let session = new_session();
        let table = MemTable::try_new(schema, vec![vec![batch]]).expect("table");
        session
            .register_table("trips", Arc::new(table))
            .expect("register");

        let sql = "WITH per_city AS ( \
                     SELECT city, count(*) AS trips, sum(fare) AS revenue \
                     FROM trips GROUP BY city) \
                   SELECT city, trips, revenue, \
                          rank() OVER (ORDER BY revenue DESC) AS revenue_rank \
                   FROM per_city ORDER BY revenue_rank";
        let batches = query(&session, sql).await.expect("query");
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 2);
        let column = |name: &str| {
            batch
                .column(batch.schema().index_of(name).expect(name))
                .clone()
        };
        let cities = column("city");
        let cities = cities.as_any().downcast_ref::<StringArray>().expect("city");
        let trips = column("trips");
        let trips = trips.as_any().downcast_ref::<Int64Array>().expect("trips");
        let revenue = column("revenue");
        let revenue = revenue
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("revenue");
        let rank = column("revenue_rank");
        let rank = rank
            .as_any()
            .downcast_ref::<datafusion::arrow::array::UInt64Array>()
            .expect("rank");
        assert_eq!(
            (
                cities.value(0),
                trips.value(0),
                revenue.value(0),
                rank.value(0)
            ),
            ("New York", 3, 40.0, 1)
        );
        assert_eq!(
            (
                cities.value(1),
                trips.value(1),
                revenue.value(1),
                rank.value(1)
            ),
            ("Boston", 2, 20.0, 2)
        );
        assert!(!rank.is_null(1));
    }

    /// A plan of several partitions (a UNION ALL, sorted and joined) in one task, with
    /// nothing spawned: how the browser runs it.
    pub(crate) async fn union_all_in_one_task(session: &datafusion::prelude::SessionContext) {
        let sql = "WITH digits AS (SELECT 1 AS d UNION ALL SELECT 2 UNION ALL SELECT 3), \
                   pairs AS (SELECT a.d AS a, b.d AS b FROM digits a CROSS JOIN digits b) \
                   SELECT a, count(*) AS n FROM pairs GROUP BY a ORDER BY a LIMIT 2";
        let batches = query(session, sql).await.expect("query");
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2);
        let counts = datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches)
            .expect("concat");
        let n = counts
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("n");
        assert_eq!((n.value(0), n.value(1)), (3, 3));
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[tokio::test]
    async fn group_by_and_window_function_natively() {
        group_by_and_window_function().await;
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_union_all_runs_without_a_runtime_in_a_single_task_session() {
        // No tokio here: a spawned task would panic.
        futures::executor::block_on(union_all_in_one_task(&super::session(true)));
    }
}
