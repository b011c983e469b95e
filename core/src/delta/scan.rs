//! The physical scan of a Delta snapshot: the data files left after pruning by the
//! log's statistics, read one at a time as one partition, each with its row groups
//! pruned by the Parquet footer's statistics, with metrics for `EXPLAIN ANALYZE`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, Time,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use super::actions::Add;
use super::provider::Condition;
use super::{DeltaTable, FileStats, Snapshot};
use crate::send_bridge::boxed_send_stream;

/// Reads the chosen data files of one snapshot, in log order, as one partition.
pub(super) struct DeltaScanExec {
    table: DeltaTable,
    snapshot: Arc<Snapshot>,
    files: Arc<Vec<Add>>,
    schema: SchemaRef,
    conditions: Arc<Vec<Condition>>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

// SAFETY: see `send_bridge`: on wasm32 there is one thread, so the browser handles in
// the table's storage never cross threads. Natively every field is Send + Sync.
#[cfg(target_arch = "wasm32")]
unsafe impl Send for DeltaScanExec {}
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for DeltaScanExec {}

impl fmt::Debug for DeltaScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaScanExec")
            .field("table", &self.table.root())
            .field("version", &self.snapshot.version())
            .field("files", &self.files.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl DeltaScanExec {
    /// A scan of `files` of `snapshot`, decoding the columns of `schema`; row groups
    /// are pruned with `conditions`, and reading stops after `limit` rows.
    pub(super) fn new(
        table: DeltaTable,
        snapshot: Arc<Snapshot>,
        files: Vec<Add>,
        schema: SchemaRef,
        conditions: Vec<Condition>,
        limit: Option<usize>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            table,
            snapshot,
            files: Arc::new(files),
            schema,
            conditions: Arc::new(conditions),
            limit,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for DeltaScanExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "DeltaScanExec: table={}, version={}, files={}/{}, projection=[{}]",
            self.table.root(),
            self.snapshot.version(),
            self.files.len(),
            self.snapshot.files().len(),
            columns.join(", ")
        )?;
        if !self.conditions.is_empty() {
            let conditions: Vec<String> = self
                .conditions
                .iter()
                .map(|c| format!("{} {} {}", c.column, c.op, c.value))
                .collect();
            write!(f, ", pruning=[{}]", conditions.join(" AND "))?;
        }
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

/// The scan's metrics for one partition.
#[derive(Debug, Clone)]
struct ScanMetrics {
    output_rows: Count,
    elapsed_compute: Time,
    files_read: Count,
    files_skipped: Count,
    row_groups_read: Count,
    row_groups_skipped: Count,
}

impl ScanMetrics {
    fn new(set: &ExecutionPlanMetricsSet, partition: usize) -> Self {
        let counter = |name: &'static str| MetricBuilder::new(set).counter(name, partition);
        Self {
            output_rows: MetricBuilder::new(set).output_rows(partition),
            elapsed_compute: MetricBuilder::new(set).elapsed_compute(partition),
            files_read: counter("files_read"),
            files_skipped: counter("files_skipped"),
            row_groups_read: counter("row_groups_read"),
            row_groups_skipped: counter("row_groups_skipped"),
        }
    }
}

/// Where a scan's stream is: the files left, the rows read but not yet passed on,
/// and how many rows the limit still allows.
struct ScanState {
    table: DeltaTable,
    snapshot: Arc<Snapshot>,
    files: VecDeque<Add>,
    schema: SchemaRef,
    conditions: Arc<Vec<Condition>>,
    columns: Vec<String>,
    remaining: Option<usize>,
    metrics: ScanMetrics,
}

impl ScanState {
    /// The next batch: the next file's rows, cut to the limit.
    async fn next(mut self) -> Option<(DataFusionResult<RecordBatch>, Self)> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            let add = self.files.pop_front()?;
            let conditions = self.conditions.clone();
            let keep = move |stats: &FileStats| conditions.iter().all(|c| c.may_hold_in(stats));
            let timer = self.metrics.elapsed_compute.timer();
            let read = self
                .table
                .read_file_pruned(&self.snapshot, &add, &self.schema, &self.columns, &keep)
                .await;
            drop(timer);
            let (batch, groups_read, groups_skipped) = match read {
                Ok(read) => read,
                Err(err) => {
                    self.files.clear();
                    return Some((Err(DataFusionError::External(Box::new(err))), self));
                }
            };
            self.metrics.files_read.add(1);
            self.metrics.row_groups_read.add(groups_read);
            self.metrics.row_groups_skipped.add(groups_skipped);
            if batch.num_rows() == 0 {
                continue;
            }
            let batch = match self.remaining {
                Some(remaining) => {
                    let rows = batch.num_rows().min(remaining);
                    self.remaining = Some(remaining - rows);
                    batch.slice(0, rows)
                }
                None => batch,
            };
            self.metrics.output_rows.add(batch.num_rows());
            return Some((Ok(batch), self));
        }
    }
}

impl ExecutionPlan for DeltaScanExec {
    fn name(&self) -> &str {
        "DeltaScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DataFusionResult<TreeNodeRecursion>,
    ) -> DataFusionResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        match children.is_empty() {
            true => Ok(self),
            false => Err(DataFusionError::Internal(
                "DeltaScanExec has no children".to_owned(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DataFusionResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "DeltaScanExec has one partition, not {partition}"
            )));
        }
        let metrics = ScanMetrics::new(&self.metrics, partition);
        metrics
            .files_skipped
            .add(self.snapshot.files().len() - self.files.len());
        let mut columns: Vec<String> = self.conditions.iter().map(|c| c.column.clone()).collect();
        columns.sort();
        columns.dedup();
        let state = ScanState {
            table: self.table.clone(),
            snapshot: self.snapshot.clone(),
            files: self.files.iter().cloned().collect(),
            schema: self.schema.clone(),
            conditions: self.conditions.clone(),
            columns,
            remaining: self.limit,
            metrics,
        };
        let batches = futures::stream::unfold(state, ScanState::next);
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            boxed_send_stream(batches),
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn fetch(&self) -> Option<usize> {
        self.limit
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::collect;

    use super::*;
    use crate::delta::DeltaTableProvider;
    use crate::storage::{MemoryStorage, Storage};

    fn ids(range: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(range))]).unwrap()
    }

    /// The Delta scan under `plan`.
    fn scan(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
        if plan.name() == "DeltaScanExec" {
            return Some(plan.clone());
        }
        plan.children().into_iter().find_map(scan)
    }

    /// Runs `sql` over a table of ids: a 200 000-row file (four row groups), then
    /// files of 100 and 10 rows. Returns the rows and the scan's metrics.
    async fn run(sql: &str) -> (usize, Vec<(&'static str, usize)>) {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let table = DeltaTable::new(storage, "silver/ids");
        table
            .create(&ids(0..0).schema(), Default::default())
            .await
            .unwrap();
        for range in [0..200_000, 200_000..200_100, 300_000..300_010] {
            table
                .append(&[ids(range)], Default::default())
                .await
                .unwrap();
        }
        let snapshot = table.snapshot().await.unwrap();
        let session = crate::engine::new_session();
        crate::engine::register_table(
            &session,
            "silver",
            "ids",
            Arc::new(DeltaTableProvider::new(table, snapshot)),
        )
        .unwrap();
        let plan = session
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let batches = collect(plan.clone(), session.task_ctx()).await.unwrap();
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let metrics = scan(&plan)
            .expect("a Delta scan")
            .metrics()
            .expect("metrics");
        let names = [
            "output_rows",
            "files_read",
            "files_skipped",
            "row_groups_read",
            "row_groups_skipped",
        ];
        let values = names
            .iter()
            .map(|name| {
                let value = match *name {
                    "output_rows" => metrics.output_rows().unwrap_or(0),
                    _ => metrics.sum_by_name(name).map_or(0, |v| v.as_usize()),
                };
                (*name, value)
            })
            .collect();
        (rows, values)
    }

    #[tokio::test]
    async fn a_selective_filter_skips_files_by_the_log_and_row_groups_by_the_footer() {
        let (rows, metrics) =
            run("select id from silver.ids where id >= 150000 and id < 160000").await;
        assert_eq!(rows, 10_000);
        assert_eq!(
            metrics,
            [
                // Only the third row group (131 072..196 607) of the big file is read.
                ("output_rows", 65_536),
                ("files_read", 1),
                ("files_skipped", 2),
                ("row_groups_read", 1),
                ("row_groups_skipped", 3),
            ]
        );
    }

    #[tokio::test]
    async fn without_a_filter_everything_is_read_and_a_limit_stops_early() {
        let (rows, metrics) = run("select * from silver.ids").await;
        assert_eq!(rows, 200_110);
        assert_eq!(
            metrics,
            [
                ("output_rows", 200_110),
                ("files_read", 3),
                ("files_skipped", 0),
                ("row_groups_read", 6),
                ("row_groups_skipped", 0),
            ]
        );
        let (rows, metrics) = run("select * from silver.ids limit 5").await;
        assert_eq!(rows, 5);
        assert_eq!(metrics[1], ("files_read", 1));
    }
}
