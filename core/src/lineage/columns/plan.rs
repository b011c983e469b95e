//! Tracing a column down a DataFusion logical plan (unoptimized, as the SQL planner
//! builds it) to the columns of the tables it scans.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, JoinType};
use datafusion::logical_expr::{Distinct, Expr, LogicalPlan};

use super::ColumnFlow;

/// A column of a scanned table that a plan's output column comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScanEdge {
    /// How its value reaches the output column.
    pub(super) flow: ColumnFlow,
    /// The CTEs and subqueries it passed through, outermost first.
    pub(super) via: Vec<String>,
    /// The scanned table's schema, if the name has one (`gold`, `silver`).
    pub(super) schema: Option<String>,
    /// The scanned table's name.
    pub(super) table: String,
    /// The scanned column.
    pub(super) column: String,
}

/// What an expression reads: columns of the plan's input, and subqueries whose first
/// column it uses.
enum Read<'a> {
    Column(Column),
    Subquery(&'a LogicalPlan),
}

fn reads(expr: &Expr) -> Vec<Read<'_>> {
    let mut out = Vec::new();
    let _ = expr.apply(|expr| {
        match expr {
            Expr::Column(column) => out.push(Read::Column(column.clone())),
            Expr::ScalarSubquery(subquery) => out.push(Read::Subquery(&subquery.subquery)),
            Expr::InSubquery(in_subquery) => {
                out.push(Read::Subquery(&in_subquery.subquery.subquery))
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out
}

/// Whether an expression passes a value as it is: a column, perhaps aliased.
fn is_plain_column(expr: &Expr) -> bool {
    match expr {
        Expr::Column(_) => true,
        Expr::Alias(alias) => is_plain_column(&alias.expr),
        _ => false,
    }
}

/// The edges of output column `index` of `plan`, deduplicated, in the order found.
pub(super) fn trace(plan: &LogicalPlan, index: usize) -> Vec<ScanEdge> {
    let mut tracer = Tracer { edges: Vec::new() };
    tracer.column(plan, index, ColumnFlow::Direct, &[]);
    tracer.edges
}

struct Tracer {
    edges: Vec<ScanEdge>,
}

impl Tracer {
    fn push(&mut self, edge: ScanEdge) {
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }

    /// Every column `expr` reads from `input`, reached with `flow`.
    fn expr(&mut self, input: &LogicalPlan, expr: &Expr, flow: ColumnFlow, via: &[String]) {
        for read in reads(expr) {
            match read {
                Read::Column(column) => {
                    if let Some(index) = input.schema().maybe_index_of_column(&column) {
                        self.column(input, index, flow, via);
                    }
                }
                Read::Subquery(subquery) => {
                    self.column(subquery, 0, flow.then(ColumnFlow::Transformed), via)
                }
            }
        }
    }

    /// Output column `index` of `plan`, reached with `flow` through `via`.
    fn column(&mut self, plan: &LogicalPlan, index: usize, flow: ColumnFlow, via: &[String]) {
        if index >= plan.schema().fields().len() {
            return;
        }
        match plan {
            LogicalPlan::TableScan(scan) => {
                let column = scan.projected_schema.field(index).name().clone();
                self.push(ScanEdge {
                    flow,
                    via: via.to_vec(),
                    schema: scan.table_name.schema().map(str::to_owned),
                    table: scan.table_name.table().to_owned(),
                    column,
                });
            }
            LogicalPlan::Projection(projection) => {
                let expr = &projection.expr[index];
                let flow = if is_plain_column(expr) {
                    flow
                } else {
                    flow.then(ColumnFlow::Transformed)
                };
                self.expr(&projection.input, expr, flow, via);
            }
            LogicalPlan::SubqueryAlias(alias) => {
                // A table's alias (`from stg_trips t`) or a CTE's reference under
                // another name adds nothing; a CTE or a derived table is a step on
                // the way.
                let named_step = !matches!(
                    alias.input.as_ref(),
                    LogicalPlan::TableScan(_) | LogicalPlan::SubqueryAlias(_)
                );
                let mut via = via.to_vec();
                if named_step {
                    via.push(alias.alias.table().to_owned());
                }
                self.column(&alias.input, index, flow, &via);
            }
            LogicalPlan::Filter(filter) => {
                if flow.carries_value() {
                    self.expr(&filter.input, &filter.predicate, ColumnFlow::Filter, via);
                }
                self.column(&filter.input, index, flow, via);
            }
            LogicalPlan::Join(join) => {
                let (qualifier, field) = join.schema.qualified_field(index);
                let column = Column::new(qualifier.cloned(), field.name());
                let from_left = join.left.schema().maybe_index_of_column(&column);
                let from_right = join.right.schema().maybe_index_of_column(&column);
                // A left join keeps every left row: its keys decide only the right
                // side's values (and the other way round).
                let keyed = match join.join_type {
                    JoinType::Left => from_right.is_some(),
                    JoinType::Right => from_left.is_some(),
                    _ => true,
                };
                if keyed && flow.carries_value() {
                    for (left, right) in &join.on {
                        self.expr(&join.left, left, ColumnFlow::Join, via);
                        self.expr(&join.right, right, ColumnFlow::Join, via);
                    }
                    if let Some(filter) = &join.filter {
                        for read in reads(filter) {
                            if let Read::Column(column) = read {
                                for side in [&join.left, &join.right] {
                                    if let Some(i) = side.schema().maybe_index_of_column(&column) {
                                        self.column(side, i, ColumnFlow::Join, via);
                                    }
                                }
                            }
                        }
                    }
                }
                match (from_left, from_right) {
                    (Some(i), _) => self.column(&join.left, i, flow, via),
                    (None, Some(i)) => self.column(&join.right, i, flow, via),
                    // A mark join's flag: the join decides it.
                    (None, None) => {}
                }
            }
            LogicalPlan::Aggregate(aggregate) => {
                let groups = aggregate.group_expr_len().unwrap_or(0);
                let grouping_sets =
                    matches!(aggregate.group_expr.as_slice(), [Expr::GroupingSet(_)]);
                let group_exprs: Vec<&Expr> = match aggregate.group_expr.as_slice() {
                    [Expr::GroupingSet(set)] => set.distinct_expr(),
                    exprs => exprs.iter().collect(),
                };
                if index < groups {
                    let expr = group_exprs[index];
                    let flow = if is_plain_column(expr) {
                        flow
                    } else {
                        flow.then(ColumnFlow::Transformed)
                    };
                    self.expr(&aggregate.input, expr, flow, via);
                } else {
                    let offset = groups + usize::from(grouping_sets);
                    if let Some(expr) = index
                        .checked_sub(offset)
                        .and_then(|i| aggregate.aggr_expr.get(i))
                    {
                        let flow = flow.then(ColumnFlow::Transformed);
                        self.expr(&aggregate.input, expr, flow, via);
                    }
                }
            }
            LogicalPlan::Window(window) => {
                let inputs = window.input.schema().fields().len();
                match index.checked_sub(inputs) {
                    None => self.column(&window.input, index, flow, via),
                    Some(i) => {
                        if let Some(expr) = window.window_expr.get(i) {
                            let flow = flow.then(ColumnFlow::Transformed);
                            self.expr(&window.input, expr, flow, via);
                        }
                    }
                }
            }
            LogicalPlan::Union(union) => {
                for input in &union.inputs {
                    self.column(input, index, flow, via);
                }
            }
            LogicalPlan::Distinct(Distinct::On(distinct)) => {
                if let Some(expr) = distinct.select_expr.get(index) {
                    let flow = if is_plain_column(expr) {
                        flow
                    } else {
                        flow.then(ColumnFlow::Transformed)
                    };
                    self.expr(&distinct.input, expr, flow, via);
                }
            }
            // Values and empty relations hold constants: no column upstream.
            LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {}
            // Sort, limit, distinct, repartition, a subquery and the rest keep their
            // input's columns: the same column, found by its qualified name.
            other => {
                let (qualifier, field) = other.schema().qualified_field(index);
                let column = Column::new(qualifier.cloned(), field.name());
                for input in other.inputs() {
                    let found = input
                        .schema()
                        .maybe_index_of_column(&column)
                        .or_else(|| input.schema().index_of_column_by_name(None, field.name()));
                    if let Some(i) = found {
                        self.column(input, i, flow, via);
                        break;
                    }
                }
            }
        }
    }
}
