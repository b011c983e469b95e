//! Lineage: how every table connects, from `landing/<entity>` through Bronze, Silver
//! and the dbt project's sources to its marts, with each node's last run.
//!
//! A node's id is its relation name, the name a person reads in SQL:
//! `landing.trips`, `bronze.trips`, `silver.trips`, `silver.trips_quarantine`,
//! `source:silver.trips` (a dbt source, named as dbt's `source:` selector names it, since
//! its relation is the Silver table's) and `gold.fact_trips` (a model or snapshot).

mod columns;
mod details;
mod graph;
mod highlight;
pub mod layout;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::collections::BTreeMap;

use bytes::Bytes;

pub use columns::{
    column_lineage, ColumnFlow, ColumnLineage, ColumnRef, LineageError, UpstreamColumn,
};
pub use details::{node_details, ColumnDetail, DetailsError, NodeDetails, PipelineStepDetail};
pub use graph::{LineageGraph, LineageNode, NodeRun, NodeState, TestBadge};
pub use highlight::{highlight_sql, SqlToken, TokenKind};

use crate::storage::{Storage, StorageError};
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
    /// A dbt seed: a CSV file of the project loaded as a table.
    Seed,
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
            | NodeKind::Snapshot
            | NodeKind::Seed => "gold",
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
            NodeKind::Seed => "seed",
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

/// Where the last run of every node and test is kept in the store.
pub const LAST_RUNS: &str = "target/last_runs.json";

/// The last run of every node (by id) and test (by unique id). A store without the
/// file has none; a file that cannot be read counts as none too, since the next run
/// writes it anew and nothing else depends on it.
pub async fn read_runs(storage: &dyn Storage) -> Result<BTreeMap<String, NodeRun>, StorageError> {
    match storage.get(LAST_RUNS).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
        Err(StorageError::NotFound { .. }) => Ok(BTreeMap::new()),
        Err(err) => Err(err),
    }
}

/// Adds `runs` to the last runs kept, each replacing the one before of its node.
pub(crate) async fn record_runs(
    storage: &dyn Storage,
    runs: &[(String, NodeRun)],
) -> Result<(), StorageError> {
    if runs.is_empty() {
        return Ok(());
    }
    let mut kept = read_runs(storage).await?;
    kept.extend(runs.iter().cloned());
    let json = serde_json::to_vec(&kept).unwrap_or_default();
    storage.put(LAST_RUNS, Bytes::from(json)).await
}
