//! Lineage: how every table connects, from `landing/<entity>` through Bronze, Silver
//! and the dbt project's sources to its marts, with each node's last run.
//!
//! A node's id is its relation name, the name a person reads in SQL:
//! `landing.trips`, `bronze.trips`, `silver.trips`, `silver.trips_quarantine`,
//! `source:silver.trips` (a dbt source, named as dbt's `source:` selector names it, since
//! its relation is the Silver table's) and `gold.fact_trips` (a model or snapshot).

mod columns;

pub use columns::{
    column_lineage, ColumnFlow, ColumnLineage, ColumnRef, LineageError, UpstreamColumn,
};

use crate::warehouse;

/// What a lineage node is: a pipeline table, a dbt source, or a dbt node with its
/// materialization.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// Files waiting in `landing/<entity>/`.
    Landing,
    /// The Bronze table `bronze/<entity>`.
    Bronze,
    /// The Silver table `silver/<entity>`.
    Silver,
    /// The Silver pipeline's rejected rows, `silver/<entity>_quarantine`.
    Quarantine,
    /// A dbt source (a Silver table as the project reads it).
    Source,
    /// A dbt model materialized as a view.
    View,
    /// A dbt model materialized as a table.
    Table,
    /// A dbt model materialized incrementally.
    Incremental,
    /// A dbt model inlined as a CTE into the models that ref it.
    Ephemeral,
    /// A dbt SCD2 snapshot.
    Snapshot,
}

impl NodeKind {
    /// The layer it belongs to: `landing`, `bronze`, `silver` or `gold`.
    pub fn layer(self) -> &'static str {
        match self {
            NodeKind::Landing => "landing",
            NodeKind::Bronze => "bronze",
            NodeKind::Silver | NodeKind::Quarantine | NodeKind::Source => "silver",
            NodeKind::View
            | NodeKind::Table
            | NodeKind::Incremental
            | NodeKind::Ephemeral
            | NodeKind::Snapshot => "gold",
        }
    }

    /// Its label: the materialization for a dbt node (`incremental`), else the kind
    /// (`bronze`, `quarantine`, `source`).
    pub fn label(self) -> &'static str {
        match self {
            NodeKind::Landing => "landing",
            NodeKind::Bronze => "bronze",
            NodeKind::Silver => "silver",
            NodeKind::Quarantine => "quarantine",
            NodeKind::Source => "source",
            NodeKind::View => "view",
            NodeKind::Table => "table",
            NodeKind::Incremental => "incremental",
            NodeKind::Ephemeral => "ephemeral",
            NodeKind::Snapshot => "snapshot",
        }
    }
}

/// The id of an entity's landing node: `landing.trips`.
pub fn landing_id(entity: &str) -> String {
    format!("landing.{entity}")
}

/// The id of the node of a store table `<layer>/<name>`: `bronze.trips`,
/// `gold.fact_trips`.
pub fn table_id(table: &str) -> String {
    table.replacen('/', ".", 1)
}

/// The id of a dbt source: `source:silver.trips`.
pub fn source_id(source: &str, table: &str) -> String {
    format!("source:{source}.{table}")
}

/// The id of a dbt model or snapshot: `gold.fact_trips`.
pub fn model_id(name: &str) -> String {
    table_id(&warehouse::gold_table(name))
}
