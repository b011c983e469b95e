//! Running one statement: the console's own (`DESCRIBE HISTORY`, `SHOW TABLES`),
//! `EXPLAIN [ANALYZE]` as a plan tree, and everything else through DataFusion.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::instant::Instant;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use super::output::{collect, Collected, QueryOutput};
use super::plan::{plan_node, plan_table};
use super::{QuerySummary, SqlConsole, SqlError, SqlTableKind, StatementKind};
use crate::delta::DeltaTable;
use crate::explorer::columns;

/// A statement the console answers itself.
#[derive(Debug, PartialEq)]
enum Own {
    /// `DESCRIBE HISTORY <table>`.
    DescribeHistory(String),
    /// `SHOW TABLES`.
    ShowTables,
}

/// `sql` without its comments.
fn strip_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
            out.push(' ');
        } else {
            let next = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    out
}

/// The console's own statement `sql` is, if it is one: case-insensitive, comments and
/// a final `;` allowed.
fn own_statement(sql: &str) -> Option<Own> {
    let text = strip_comments(sql);
    let text = text.trim().trim_end_matches(';').trim_end();
    let words: Vec<&str> = text.split_whitespace().collect();
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    match words.as_slice() {
        [describe, history, table] if is(describe, "describe") && is(history, "history") => {
            Some(Own::DescribeHistory(table.replace(['`', '"'], "")))
        }
        [show, tables] if is(show, "show") && is(tables, "tables") => Some(Own::ShowTables),
        _ => None,
    }
}

/// What a statement produced, before it is summarised.
struct Produced {
    kind: StatementKind,
    schema: SchemaRef,
    rows: Collected,
    plan: Option<super::PlanNode>,
}

impl Produced {
    fn single(kind: StatementKind, schema: SchemaRef, batch: RecordBatch) -> Self {
        Produced {
            kind,
            schema,
            rows: Collected {
                total_rows: batch.num_rows() as u64,
                batches: vec![batch],
            },
            plan: None,
        }
    }
}

/// Runs `sql` in `console`, asking `stop` after each batch.
pub(super) async fn run(
    console: &SqlConsole,
    sql: &str,
    stop: &mut dyn FnMut() -> bool,
) -> Result<QueryOutput, SqlError> {
    let started = Instant::now();
    let produced = match own_statement(sql) {
        Some(Own::DescribeHistory(table)) => describe_history(console, &table).await?,
        Some(Own::ShowTables) => show_tables(console).await?,
        None => datafusion_statement(console, sql, stop).await?,
    };
    let kept_rows = produced
        .rows
        .batches
        .iter()
        .map(|b| b.num_rows() as u64)
        .sum();
    let summary = QuerySummary {
        sql: sql.to_owned(),
        kind: produced.kind,
        columns: columns(&produced.schema),
        total_rows: produced.rows.total_rows,
        kept_rows,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        plan: produced.plan,
    };
    Ok(QueryOutput::new(
        summary,
        produced.schema,
        produced.rows.batches,
    ))
}

/// A statement DataFusion parses: `EXPLAIN` becomes a plan tree, the rest runs.
async fn datafusion_statement(
    console: &SqlConsole,
    sql: &str,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Produced, SqlError> {
    let state = console.session.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state
        .sql_to_statement(sql, &dialect)
        .map_err(SqlError::from_datafusion)?;
    let (kind, statement) = match statement {
        DFStatement::Explain(explain) => {
            let kind = if explain.options.analyze {
                StatementKind::ExplainAnalyze
            } else {
                StatementKind::Explain
            };
            (kind, *explain.statement)
        }
        DFStatement::Statement(inner) if matches!(*inner, SqlStatement::Query(_)) => {
            (StatementKind::Query, DFStatement::Statement(inner))
        }
        other => (StatementKind::Command, other),
    };
    let plan = physical_plan(console, statement).await?;
    match kind {
        StatementKind::Explain | StatementKind::ExplainAnalyze => {
            let analyze = kind == StatementKind::ExplainAnalyze;
            if analyze {
                let stream = execute_stream(plan.clone(), console.session.task_ctx())
                    .map_err(SqlError::from_datafusion)?;
                collect(stream, stop).await?;
            }
            let tree = plan_node(&plan, analyze);
            let (schema, batch) = plan_table(&tree)?;
            let mut produced = Produced::single(kind, schema, batch);
            produced.plan = Some(tree);
            Ok(produced)
        }
        _ => {
            let stream = execute_stream(plan.clone(), console.session.task_ctx())
                .map_err(SqlError::from_datafusion)?;
            Ok(Produced {
                kind,
                schema: plan.schema(),
                rows: collect(stream, stop).await?,
                plan: None,
            })
        }
    }
}

/// Plans `statement` (running it if it is DDL, as DataFusion does) down to the
/// physical plan.
async fn physical_plan(
    console: &SqlConsole,
    statement: DFStatement,
) -> Result<Arc<dyn ExecutionPlan>, SqlError> {
    let state = console.session.state();
    let logical = state
        .statement_to_plan(statement)
        .await
        .map_err(SqlError::from_datafusion)?;
    let frame = console
        .session
        .execute_logical_plan(logical)
        .await
        .map_err(SqlError::from_datafusion)?;
    frame
        .create_physical_plan()
        .await
        .map_err(SqlError::from_datafusion)
}

/// `DESCRIBE HISTORY <layer>.<name>`: one row per version, newest first, with
/// Databricks' column names.
async fn describe_history(console: &SqlConsole, table: &str) -> Result<Produced, SqlError> {
    let path = console.catalog.table_path(table).await?;
    let storage = console.catalog.storage();
    let history = DeltaTable::new(storage, path).history().await?;
    let json = |map: &std::collections::BTreeMap<String, serde_json::Value>| {
        serde_json::to_string(map).unwrap_or_default()
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("operation", DataType::Utf8, false),
        Field::new("operationParameters", DataType::Utf8, false),
        Field::new("operationMetrics", DataType::Utf8, false),
        Field::new("isBlindAppend", DataType::Boolean, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            history.iter().map(|e| e.version),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(history.iter().map(|e| e.timestamp_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            history.iter().map(|e| e.operation.clone()),
        )),
        Arc::new(StringArray::from_iter_values(
            history.iter().map(|e| json(&e.operation_parameters)),
        )),
        Arc::new(StringArray::from_iter_values(
            history.iter().map(|e| json(&e.operation_metrics)),
        )),
        Arc::new(BooleanArray::from(
            history
                .iter()
                .map(|e| e.is_blind_append)
                .collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|err| SqlError::Output(err.to_string()))?;
    Ok(Produced::single(
        StatementKind::DescribeHistory,
        schema,
        batch,
    ))
}

/// `SHOW TABLES`: every table and view of the layers, with its kind and version.
async fn show_tables(console: &SqlConsole) -> Result<Produced, SqlError> {
    let tables = console.tables().await?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("schema", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("version", DataType::Int64, true),
    ]));
    let kind = |kind: SqlTableKind| match kind {
        SqlTableKind::Delta => "delta",
        SqlTableKind::View => "view",
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            tables.iter().map(|t| &t.schema),
        )),
        Arc::new(StringArray::from_iter_values(
            tables.iter().map(|t| &t.name),
        )),
        Arc::new(StringArray::from_iter_values(
            tables.iter().map(|t| kind(t.kind)),
        )),
        Arc::new(Int64Array::from(
            tables.iter().map(|t| t.version).collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|err| SqlError::Output(err.to_string()))?;
    Ok(Produced::single(StatementKind::ShowTables, schema, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_statements_are_read_loosely() {
        assert_eq!(
            own_statement("  describe HISTORY gold.dim_customer ;"),
            Some(Own::DescribeHistory("gold.dim_customer".into()))
        );
        assert_eq!(
            own_statement("-- the log\nDESCRIBE HISTORY `gold`.`fact_trips`"),
            Some(Own::DescribeHistory("gold.fact_trips".into()))
        );
        assert_eq!(
            own_statement("/* all */ show tables;"),
            Some(Own::ShowTables)
        );
        assert_eq!(own_statement("SHOW TABLES FROM gold"), None);
        assert_eq!(own_statement("select 'show tables'"), None);
    }
}
