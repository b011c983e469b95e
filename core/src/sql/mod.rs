//! The SQL console: one DataFusion session over a whole warehouse.
//!
//! Every Delta table is `<layer>.<name>` (`bronze.trips`, `silver.trips_quarantine`,
//! `gold.fact_trips`), resolved when a statement names it, so each statement reads
//! the newest version; `<layer>.<name>@v<N>` reads version N (Databricks' form: the
//! generic dialect reads `@` inside an identifier, so it needs no quoting). Every dbt
//! view model of the project is a view `gold.<name>`. Besides DataFusion's SQL the
//! console answers `DESCRIBE HISTORY <table>` and `SHOW TABLES`, and turns `EXPLAIN`
//! and `EXPLAIN ANALYZE` into a tree of the physical plan with each operator's metrics.
//! A result keeps at most [`MAX_KEPT_ROWS`] rows for paging and counts the rest.
//! [`chart`] reads a result for a chart; [`dashboard`] is the Gold dashboard's queries.

pub mod chart;
pub mod dashboard;

mod catalog;
mod error;
mod output;
mod plan;
mod statement;

#[cfg(test)]
pub(crate) mod scenario;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

pub use error::{SqlError, SqlFailure, SqlPosition};
pub use output::{QueryOutput, TextFormat};

use crate::engine;
use crate::explorer::Column;
use crate::models::{ModelRunner, Project};
use crate::storage::Storage;

/// Rows of a result kept in memory for paging; the rest are only counted.
pub const MAX_KEPT_ROWS: usize = 100_000;

/// What kind of statement ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementKind {
    /// A query: its rows are the result.
    Query,
    /// `EXPLAIN`: the physical plan, not run.
    Explain,
    /// `EXPLAIN ANALYZE`: the physical plan, run, with each operator's metrics.
    ExplainAnalyze,
    /// `DESCRIBE HISTORY <table>`: the Delta log, newest version first.
    DescribeHistory,
    /// `SHOW TABLES`: every table and view.
    ShowTables,
    /// Anything else DataFusion runs (`CREATE VIEW`, `SET`, …).
    Command,
}

/// What a statement gave: its kind, columns, size and time, and for a plan its tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuerySummary {
    /// The statement as written.
    pub sql: String,
    /// What kind of statement it was.
    pub kind: StatementKind,
    /// The result's columns.
    pub columns: Vec<Column>,
    /// Every row the statement produced.
    pub total_rows: u64,
    /// The rows kept for paging (at most [`MAX_KEPT_ROWS`]).
    pub kept_rows: u64,
    /// How long it took, in milliseconds.
    pub elapsed_ms: f64,
    /// For `EXPLAIN` and `EXPLAIN ANALYZE`: the physical plan.
    pub plan: Option<PlanNode>,
}

/// One operator of a physical plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    /// `AggregateExec`, `DeltaScanExec`, …
    pub operator: String,
    /// Its one-line description.
    pub detail: String,
    /// After `EXPLAIN ANALYZE`, its metrics summed over partitions (`output_rows`,
    /// `elapsed_compute`; a Delta scan adds `files_read`, `files_skipped`,
    /// `row_groups_read`, `row_groups_skipped`).
    pub metrics: Vec<(String, String)>,
    /// Its inputs.
    pub children: Vec<PlanNode>,
}

/// Consecutive rows of a result as display strings (`None` is null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRows {
    /// The position of the first row.
    pub offset: u64,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<Option<String>>>,
}

/// What a relation of the console is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlTableKind {
    /// A Delta table of the store.
    Delta,
    /// A view model of the dbt project.
    View,
}

/// A relation the console knows, with its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlTable {
    /// `bronze`, `silver` or `gold`.
    pub schema: String,
    /// The name within the schema.
    pub name: String,
    /// A Delta table or a view.
    pub kind: SqlTableKind,
    /// A Delta table's newest version.
    pub version: Option<i64>,
    /// Its columns.
    pub columns: Vec<Column>,
}

/// A SQL session over one warehouse: every Delta table as `<layer>.<name>` (bronze,
/// silver, gold, quarantine tables too), every dbt view model of the project as
/// `gold.<name>`, time travel as `gold.dim_customer@v1`, plus `DESCRIBE HISTORY
/// <table>` and `SHOW TABLES`.
pub struct SqlConsole {
    session: SessionContext,
    catalog: catalog::Catalog,
}

impl std::fmt::Debug for SqlConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConsole")
            .field("session", &self.session.session_id())
            .field("catalog", &self.catalog)
            .finish()
    }
}

impl SqlConsole {
    /// A console over the tables of `storage` and the view models of `project`.
    pub async fn open(storage: Arc<dyn Storage>, project: &Project) -> Result<Self, SqlError> {
        let session = engine::new_session();
        session
            .state_ref()
            .write()
            .config_mut()
            .options_mut()
            .sql_parser
            .collect_spans = true;
        let catalog = catalog::Catalog::register(&session, storage.clone()).await?;
        ModelRunner::new(storage, project.clone())
            .define_views(&session, &[])
            .await;
        Ok(Self { session, catalog })
    }

    /// Runs one statement. `stop` is asked after each batch; when it answers true the
    /// statement ends with [`SqlError::Cancelled`].
    pub async fn run(
        &self,
        sql: &str,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<QueryOutput, SqlError> {
        statement::run(self, sql, stop).await
    }

    /// Every table and view with its columns, for the table list.
    pub async fn tables(&self) -> Result<Vec<SqlTable>, SqlError> {
        self.catalog.tables().await
    }
}
