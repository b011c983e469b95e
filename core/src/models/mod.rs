//! Gold: a dbt-compatible project runner on DataFusion.
//!
//! It reads a dbt project (`dbt_project.yml`, models with `ref`/`source`, YAML
//! properties, macros, singular tests), renders every model's Jinja with minijinja in
//! dbt's context, orders the nodes by their refs, selects them with dbt's syntax, and
//! runs them: views in the DataFusion session, tables and incremental models as Delta
//! tables `gold/<model>`, ephemerals inlined as `__dbt__cte__<model>` CTEs, data tests
//! as queries whose rows are failures. Every run writes dbt's artifacts under `target/`
//! in the store: the compiled SQL, `manifest.json` and `run_results.json`.
//!
//! - [`Project`]: the parsed project ([`Project::parse`], [`read_project_files`]).
//! - [`ModelRunner`]: `build`, `run`, `test`, `compile`, `ls` and `show`.

mod artifacts;
mod bundled;
mod config;
mod graph;
mod jinja;
mod project;
mod run;
mod seed;
mod snapshot;
mod synthetic;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
pub(crate) mod scenario;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use bundled::{bundled_project, BUNDLED};
pub use config::{HookKind, IncrementalStrategy, Materialization, NodeConfig, OnSchemaChange};
pub(crate) use graph::{adjacency, reach, select_over, topological_order};
pub use jinja::GOLD_SCHEMA;
pub use project::{
    read_project_files, ColumnDoc, GenericTest, Node, Project, ResourceType, SourceTable, TestKind,
};
pub use run::{Command, ModelRunner, NodeResult, NodeStatus, RunOptions, RunResults};
pub use snapshot::{HardDeletes, MetaNames, SnapshotConfig, Strategy};
pub use synthetic::synthetic_project;

use arrow::error::ArrowError;
use datafusion::error::DataFusionError;

use crate::delta::DeltaError;
use crate::storage::StorageError;

/// Where a run writes its artifacts in the store.
pub const TARGET: &str = "target";

/// Why a project could not be read, a command could not run, or a node failed. A
/// node's failure during a run is not returned: it becomes its result's message
/// ([`NodeStatus::Error`]), and names the node's file first.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A YAML file is invalid.
    #[error("{path}: {detail}")]
    Yaml {
        /// The file, from the project root.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A template does not parse or render.
    #[error("{path}{}: {detail}", line.map(|line| format!(":{line}")).unwrap_or_default())]
    Jinja {
        /// The template's file.
        path: String,
        /// The line, where minijinja knows it.
        line: Option<usize>,
        /// minijinja's kind and detail.
        detail: String,
    },
    /// The project's files do not fit together (a duplicate model, a cycle, a missing
    /// dependency).
    #[error("{path}: {detail}")]
    Project {
        /// The file at fault.
        path: String,
        /// What does not fit.
        detail: String,
    },
    /// A node's configuration has a value it cannot have.
    #[error("{path}: {detail}")]
    Config {
        /// The node's name.
        node: String,
        /// Its file.
        path: String,
        /// The key and the value at fault.
        detail: String,
    },
    /// A `--select` or `--exclude` cannot be read.
    #[error("selector {selector:?}: {detail}")]
    Selector {
        /// The selector as given.
        selector: String,
        /// Why it cannot be read.
        detail: String,
    },
    /// No model has this name.
    #[error("no model is named {0}")]
    UnknownModel(String),
    /// A node's query failed to plan or run.
    #[error("{path}: {source}")]
    Sql {
        /// The node's name.
        node: String,
        /// Its file.
        path: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// The session could not be set up (a schema or a table not registered).
    #[error("{relation}: {source}")]
    Session {
        /// The schema or table.
        relation: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// A node's rows could not be reshaped (cast, concatenated, keyed).
    #[error("{path}: {source}")]
    Arrow {
        /// The node's name.
        node: String,
        /// Its file.
        path: String,
        /// Arrow's error.
        source: ArrowError,
    },
    /// An incremental model's new columns differ from its table's with
    /// `on_schema_change: fail`.
    #[error("{path}: The source and target schemas on this incremental model are out of sync: added {added:?}, removed {removed:?} (on_schema_change: fail)")]
    SchemaChange {
        /// The model's name.
        node: String,
        /// Its file.
        path: String,
        /// Columns the model has and its table does not.
        added: Vec<String>,
        /// Columns its table has and the model does not.
        removed: Vec<String>,
    },
    /// A model's rows do not fit its table (a `unique_key` that is not a column).
    #[error("{path}: {detail}")]
    Schema {
        /// The model's name.
        node: String,
        /// Its file.
        path: String,
        /// What does not fit.
        detail: String,
    },
    /// A snapshot's rows cannot be versioned (a missing or clashing column, an
    /// unreadable `dbt_valid_to_current`, no rows on the first run).
    #[error("{path}: {detail}")]
    Snapshot {
        /// The snapshot's name.
        node: String,
        /// Its file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A seed's CSV cannot be read (a bad header, a ragged row, a bad delimiter).
    #[error("{path}: {detail}")]
    Seed {
        /// The seed's name.
        node: String,
        /// Its CSV file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A `pre-hook` or `post-hook` failed to render or run; the node fails with it.
    #[error("{path}: {kind} {index} ({sql}) failed: {detail}", kind = kind.key())]
    Hook {
        /// The node's name.
        node: String,
        /// Its file.
        path: String,
        /// Before or after the node.
        kind: HookKind,
        /// Its position among the node's hooks of that kind, from 1.
        index: usize,
        /// The hook as configured.
        sql: String,
        /// The Jinja or SQL error.
        detail: String,
    },
    /// A node's Delta table operation failed.
    #[error("{path}: {source}")]
    Delta {
        /// The node's name.
        node: String,
        /// Its file.
        path: String,
        /// The Delta error.
        source: Box<DeltaError>,
    },
    /// A test's failing rows could not be stored (`store_failures`).
    #[error("{path}: storing the failures: {source}")]
    StoreFailures {
        /// The test's name.
        node: String,
        /// Its file.
        path: String,
        /// The Delta error.
        source: Box<DeltaError>,
    },
    /// A Delta table operation outside a node failed.
    #[error(transparent)]
    Table(#[from] DeltaError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ModelError {
    /// A minijinja error as one naming the file and line.
    pub(crate) fn from_jinja(err: minijinja::Error) -> Self {
        let detail = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        ModelError::Jinja {
            path: err.name().unwrap_or("<template>").to_owned(),
            line: err.line(),
            detail,
        }
    }
}

/// The errors that name one node and its file.
impl Node {
    /// A query of this node failed.
    pub(crate) fn sql_error(&self, source: DataFusionError) -> ModelError {
        ModelError::Sql {
            node: self.name.clone(),
            path: self.original_file_path.clone(),
            source,
        }
    }

    /// Reshaping this node's rows failed.
    pub(crate) fn arrow_error(&self, source: ArrowError) -> ModelError {
        ModelError::Arrow {
            node: self.name.clone(),
            path: self.original_file_path.clone(),
            source,
        }
    }

    /// A Delta operation of this node failed.
    pub(crate) fn delta_error(&self, source: DeltaError) -> ModelError {
        ModelError::Delta {
            node: self.name.clone(),
            path: self.original_file_path.clone(),
            source: Box::new(source),
        }
    }

    /// This node's configuration is invalid.
    pub(crate) fn config_error(&self, detail: String) -> ModelError {
        ModelError::Config {
            node: self.name.clone(),
            path: self.original_file_path.clone(),
            detail,
        }
    }

    /// This snapshot cannot version its rows.
    pub(crate) fn snapshot_error(&self, detail: impl Into<String>) -> ModelError {
        ModelError::Snapshot {
            node: self.name.clone(),
            path: self.original_file_path.clone(),
            detail: detail.into(),
        }
    }
}
