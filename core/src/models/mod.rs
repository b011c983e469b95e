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
mod snapshot;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
pub(crate) mod scenario;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use bundled::{bundled_project, BUNDLED};
pub use config::{IncrementalStrategy, Materialization, NodeConfig, OnSchemaChange};
pub use jinja::GOLD_SCHEMA;
pub use project::{
    read_project_files, ColumnDoc, GenericTest, Node, Project, ResourceType, SourceTable, TestKind,
};
pub use run::{Command, ModelRunner, NodeResult, NodeStatus, RunOptions, RunResults};
pub use snapshot::{HardDeletes, MetaNames, SnapshotConfig, Strategy};

use crate::delta::DeltaError;
use crate::storage::StorageError;

/// Where a run writes its artifacts in the store.
pub const TARGET: &str = "target";

/// Why a project could not be read or a command could not run. Node failures during a
/// run are not errors: they are results ([`NodeStatus::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A YAML file is invalid.
    #[error("{file}: {detail}")]
    Yaml { file: String, detail: String },
    /// A template does not parse or render.
    #[error("{file}{}: {detail}", line.map(|line| format!(":{line}")).unwrap_or_default())]
    Jinja {
        file: String,
        line: Option<usize>,
        detail: String,
    },
    /// The project's files do not fit together (a duplicate model, a cycle, a bad config).
    #[error("{file}: {detail}")]
    Project { file: String, detail: String },
    /// A `--select` or `--exclude` cannot be read.
    #[error("selector {selector:?}: {detail}")]
    Selector { selector: String, detail: String },
    /// No model has this name.
    #[error("no model is named {0}")]
    UnknownModel(String),
    /// A query failed outside a node (in `show`).
    #[error("{node}: {detail}")]
    Sql { node: String, detail: String },
    /// A Delta table operation failed.
    #[error(transparent)]
    Delta(#[from] DeltaError),
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
            file: err.name().unwrap_or("<template>").to_owned(),
            line: err.line(),
            detail,
        }
    }
}
