//! Delta tables in SQL: a DataFusion [`TableProvider`] over one [`Snapshot`].
//!
//! A scan reads only the data files whose statistics (or partition values) can satisfy
//! the query's simple filters (`column <op> literal`); DataFusion still applies every
//! filter to the rows, so pruning is an optimisation and never changes a result.
//! The scan ([`DeltaScanExec`]) reads the files one at a time through the table's
//! storage, and in each only the row groups whose statistics can satisfy the same
//! filters.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use chrono::DateTime;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::Result as DataFusionResult;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use serde_json::Value;

use super::actions::Add;
use super::scan::DeltaScanExec;
use super::{compare_values, DeltaTable, FileStats, Snapshot};

/// One version of a Delta table, queryable with SQL.
#[derive(Debug, Clone)]
pub struct DeltaTableProvider {
    table: DeltaTable,
    snapshot: Arc<Snapshot>,
}

// SAFETY: see `send_bridge`: on wasm32 there is one thread, so the browser handles in
// the table's storage never cross threads. Natively every field is Send + Sync.
#[cfg(target_arch = "wasm32")]
unsafe impl Send for DeltaTableProvider {}
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for DeltaTableProvider {}

impl DeltaTableProvider {
    /// Serves `snapshot` of `table`.
    pub fn new(table: DeltaTable, snapshot: Snapshot) -> Self {
        Self {
            table,
            snapshot: Arc::new(snapshot),
        }
    }

    /// The version served.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The data files a scan with `filters` must read.
    pub fn files_for(&self, filters: &[Expr]) -> Vec<Add> {
        let conditions: Vec<Condition> = filters.iter().flat_map(conditions_of).collect();
        self.files_matching(&conditions)
    }

    /// The data files whose statistics or partition values can satisfy `conditions`.
    fn files_matching(&self, conditions: &[Condition]) -> Vec<Add> {
        let partition_columns = &self.snapshot.metadata().partition_columns;
        self.snapshot
            .files()
            .iter()
            .filter(|add| {
                let stats = add.stats.as_deref().and_then(FileStats::parse);
                conditions.iter().all(|condition| {
                    if partition_columns.contains(&condition.column) {
                        let value = add
                            .partition_values
                            .get(&condition.column)
                            .cloned()
                            .flatten();
                        value.is_none_or(|value| {
                            let value = serde_json::from_str::<Value>(&value)
                                .ok()
                                .filter(Value::is_number)
                                .unwrap_or(Value::String(value));
                            condition.holds_for_range(&value, &value)
                        })
                    } else {
                        stats
                            .as_ref()
                            .is_none_or(|stats| condition.may_hold_in(stats))
                    }
                })
            })
            .cloned()
            .collect()
    }
}

/// `column <op> value`, with the value in statistics form.
#[derive(Debug)]
pub(super) struct Condition {
    pub(super) column: String,
    pub(super) op: Operator,
    pub(super) value: Value,
}

impl Condition {
    /// Whether some value in `[min, max]` can satisfy the condition.
    fn holds_for_range(&self, min: &Value, max: &Value) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        let (Some(to_min), Some(to_max)) = (
            compare_values(&self.value, min),
            compare_values(&self.value, max),
        ) else {
            return true;
        };
        match self.op {
            Operator::Eq => to_min != Less && to_max != Greater,
            Operator::Lt => to_min == Greater,
            Operator::LtEq => to_min != Less,
            Operator::Gt => to_max == Less,
            Operator::GtEq => to_max != Greater,
            _ => true,
        }
    }

    pub(super) fn may_hold_in(&self, stats: &FileStats) -> bool {
        if stats.num_records > 0
            && stats.null_count.get(&self.column).and_then(Value::as_i64) == Some(stats.num_records)
        {
            // Every value is null: no comparison can be true.
            return false;
        }
        match (
            stats.min_values.get(&self.column),
            stats.max_values.get(&self.column),
        ) {
            (Some(min), Some(max)) => self.holds_for_range(min, max),
            // Without a maximum (long strings) only the lower bound can prune.
            (Some(min), None) => {
                !matches!(self.op, Operator::Lt | Operator::LtEq)
                    || self.holds_for_range(min, &Value::String(char::MAX.to_string()))
            }
            _ => true,
        }
    }
}

/// The prunable conditions of a filter: conjunctions of `column <op> literal`.
fn conditions_of(expr: &Expr) -> Vec<Condition> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                let mut out = conditions_of(left);
                out.extend(conditions_of(right));
                out
            }
            Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(column), Expr::Literal(literal, _)) => {
                        condition(&column.name, *op, literal)
                    }
                    (Expr::Literal(literal, _), Expr::Column(column)) => op
                        .swap()
                        .and_then(|op| condition(&column.name, op, literal)),
                    _ => None,
                }
                .into_iter()
                .collect()
            }
            _ => Vec::new(),
        },
        Expr::Between(between) if !between.negated => match (
            between.expr.as_ref(),
            between.low.as_ref(),
            between.high.as_ref(),
        ) {
            (Expr::Column(column), Expr::Literal(low, _), Expr::Literal(high, _)) => [
                condition(&column.name, Operator::GtEq, low),
                condition(&column.name, Operator::LtEq, high),
            ]
            .into_iter()
            .flatten()
            .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn condition(column: &str, op: Operator, literal: &ScalarValue) -> Option<Condition> {
    let value = match literal {
        ScalarValue::Int8(Some(v)) => Value::from(*v),
        ScalarValue::Int16(Some(v)) => Value::from(*v),
        ScalarValue::Int32(Some(v)) => Value::from(*v),
        ScalarValue::Int64(Some(v)) => Value::from(*v),
        ScalarValue::UInt8(Some(v)) => Value::from(*v),
        ScalarValue::UInt16(Some(v)) => Value::from(*v),
        ScalarValue::UInt32(Some(v)) => Value::from(*v),
        ScalarValue::UInt64(Some(v)) => Value::from(*v),
        ScalarValue::Float32(Some(v)) => serde_json::Number::from_f64(f64::from(*v))?.into(),
        ScalarValue::Float64(Some(v)) => serde_json::Number::from_f64(*v)?.into(),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Value::from(v.clone()),
        ScalarValue::Date32(Some(days)) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days.checked_add(719_163)?)?;
            Value::from(date.format("%Y-%m-%d").to_string())
        }
        ScalarValue::TimestampMicrosecond(Some(micros), Some(_)) => {
            // Statistics are stated to the millisecond; compare at that precision.
            let millis = match op {
                Operator::Lt | Operator::LtEq | Operator::Eq => {
                    micros.saturating_add(999).div_euclid(1000)
                }
                _ => micros.div_euclid(1000),
            };
            let time = DateTime::from_timestamp_millis(millis)?;
            Value::from(time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        }
        _ => return None,
    };
    Some(Condition {
        column: column.to_owned(),
        op,
        value,
    })
}

#[async_trait]
impl TableProvider for DeltaTableProvider {
    fn schema(&self) -> SchemaRef {
        self.snapshot.schema().clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        // Only the projected columns are decoded from the Parquet files.
        let schema = match projection {
            Some(indices) => Arc::new(self.snapshot.schema().project(indices)?),
            None => self.snapshot.schema().clone(),
        };
        let conditions: Vec<Condition> = filters.iter().flat_map(conditions_of).collect();
        let files = self.files_matching(&conditions);
        let exec = DeltaScanExec::new(
            self.table.clone(),
            self.snapshot.clone(),
            files,
            schema,
            conditions,
            limit,
        );
        Ok(Arc::new(exec))
    }
}
