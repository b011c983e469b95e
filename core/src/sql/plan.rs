//! A physical plan as a tree of [`PlanNode`]s, and as a small table.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{displayable, ExecutionPlan};

use super::{PlanNode, SqlError};

/// The browser's pass-through operator that lets the event loop run
/// (`browser::event_loop`): not part of the query, so left out of the tree.
const YIELD_OPERATOR: &str = "EventLoopYieldExec";

/// `plan` and its inputs; with `metrics`, each operator's metrics summed over its
/// partitions (read them after the plan ran).
pub(super) fn plan_node(plan: &Arc<dyn ExecutionPlan>, with_metrics: bool) -> PlanNode {
    if let (YIELD_OPERATOR, [input]) = (plan.name(), plan.children().as_slice()) {
        return plan_node(input, with_metrics);
    }
    let operator = plan.name().to_owned();
    let line = displayable(plan.as_ref()).one_line().to_string();
    let line = line.trim();
    let detail = line
        .strip_prefix(operator.as_str())
        .map(|rest| rest.trim_start_matches(':').trim())
        .unwrap_or(line)
        .to_owned();
    let metrics = match (with_metrics, plan.metrics()) {
        (true, Some(set)) => set
            .aggregate_by_name()
            .sorted_for_display()
            .timestamps_removed()
            .iter()
            .map(|metric| {
                (
                    metric.value().name().to_owned(),
                    metric_text(metric.value()),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    PlanNode {
        operator,
        detail,
        metrics,
        children: plan
            .children()
            .into_iter()
            .map(|child| plan_node(child, with_metrics))
            .collect(),
    }
}

/// A metric's value: counts exactly (`2663`, not `2.66 K`), times as DataFusion
/// prints them (`1.25ms`).
fn metric_text(value: &MetricValue) -> String {
    match value {
        MetricValue::OutputRows(_)
        | MetricValue::SpillCount(_)
        | MetricValue::SpilledBytes(_)
        | MetricValue::OutputBytes(_)
        | MetricValue::OutputBatches(_)
        | MetricValue::SpilledRows(_)
        | MetricValue::CurrentMemoryUsage(_)
        | MetricValue::Count { .. }
        | MetricValue::Gauge { .. }
        | MetricValue::PeakMemoryUsage { .. } => value.as_usize().to_string(),
        other => other.to_string(),
    }
}

/// The tree as rows, depth first: the operator indented by its depth, its detail and
/// its metrics as `name=value, …`.
pub(super) fn plan_table(root: &PlanNode) -> Result<(SchemaRef, RecordBatch), SqlError> {
    fn walk(node: &PlanNode, depth: usize, rows: &mut Vec<[String; 3]>) {
        let metrics: Vec<String> = node
            .metrics
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        rows.push([
            format!("{}{}", "  ".repeat(depth), node.operator),
            node.detail.clone(),
            metrics.join(", "),
        ]);
        for child in &node.children {
            walk(child, depth + 1, rows);
        }
    }
    let mut rows = Vec::new();
    walk(root, 0, &mut rows);
    let schema = Arc::new(Schema::new(
        ["operator", "detail", "metrics"]
            .map(|name| Field::new(name, DataType::Utf8, false))
            .to_vec(),
    ));
    let column =
        |i: usize| Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r[i]))) as _;
    let batch = RecordBatch::try_new(schema.clone(), vec![column(0), column(1), column(2)])
        .map_err(|err| SqlError::Output(err.to_string()))?;
    Ok((schema, batch))
}
