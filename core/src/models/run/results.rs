//! What a run is asked and what it answers: the command, its options, and each node's
//! result.

use serde::{Deserialize, Serialize};

use crate::models::config::Materialization;
use crate::models::project::{Node, ResourceType};

/// A dbt command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Models and their tests, in DAG order; a failing test skips what depends on it.
    Build,
    /// Models only.
    Run,
    /// Tests only.
    Test,
    /// Compile the SQL of every selected node, run nothing.
    Compile,
    /// Snapshots only.
    Snapshot,
    /// Seeds only: each CSV of `seeds/` loaded as its table (`dbt seed`).
    Seed,
}

impl Command {
    /// The kinds of node the command selects.
    pub(super) fn resource_types(self) -> &'static [ResourceType] {
        match self {
            Command::Build => &[
                ResourceType::Seed,
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
            ],
            Command::Compile => &[
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
                ResourceType::Analysis,
            ],
            Command::Run => &[ResourceType::Model],
            Command::Test => &[ResourceType::Test],
            Command::Snapshot => &[ResourceType::Snapshot],
            Command::Seed => &[ResourceType::Seed],
        }
    }

    /// dbt's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Command::Build => "build",
            Command::Run => "run",
            Command::Test => "test",
            Command::Compile => "compile",
            Command::Snapshot => "snapshot",
            Command::Seed => "seed",
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--select`: selectors (each a union of space-separated terms).
    pub select: Vec<String>,
    /// `--exclude`.
    pub exclude: Vec<String>,
    /// `--full-refresh`: rebuild incremental models.
    pub full_refresh: bool,
}

/// How one node ended, with dbt's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// A model was built.
    Success,
    /// A model failed.
    Error,
    /// Not run: something upstream failed, or it waits for a source not built yet.
    Skipped,
    /// A test found no failing rows.
    Pass,
    /// A test with `severity: error` found failing rows.
    Fail,
    /// A test with `severity: warn` found failing rows.
    Warn,
}

/// The outcome of one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeResult {
    /// The node's unique id.
    pub unique_id: String,
    /// Its name.
    pub name: String,
    /// Model or test.
    #[serde(skip)]
    pub resource_type: ResourceType,
    /// For models, the materialization.
    #[serde(skip)]
    pub materialized: Option<Materialization>,
    /// How it ended.
    pub status: NodeStatus,
    /// What happened, in a line (the error for a failure).
    pub message: String,
    /// Rows the model wrote.
    pub rows_affected: Option<u64>,
    /// Rows the test found.
    pub failures: Option<u64>,
    /// A few of the failing rows, as `column=value` lines.
    pub failing_rows: Vec<String>,
    /// The SQL that ran.
    pub compiled_code: String,
    /// The relation it built or tested.
    pub relation_name: Option<String>,
    /// When it started and finished, in ms since the epoch.
    pub started_ms: i64,
    /// When it finished.
    pub completed_ms: i64,
}

impl NodeResult {
    /// A node's result before it runs: skipped, started now.
    pub(super) fn start(node: &Node, started_ms: i64) -> Self {
        Self {
            unique_id: node.unique_id.clone(),
            name: node.name.clone(),
            resource_type: node.resource_type,
            materialized: node.materialized,
            status: NodeStatus::Skipped,
            message: String::new(),
            rows_affected: None,
            failures: None,
            failing_rows: Vec::new(),
            compiled_code: String::new(),
            relation_name: None,
            started_ms,
            completed_ms: started_ms,
        }
    }

    /// Ends the result as an error with `err`'s message.
    pub(super) fn fail(&mut self, err: &crate::models::ModelError) {
        self.status = NodeStatus::Error;
        self.message = err.to_string();
    }

    /// Seconds it took.
    pub fn seconds(&self) -> f64 {
        (self.completed_ms - self.started_ms) as f64 / 1000.0
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct RunResults {
    /// The command.
    pub command: Command,
    /// Per node, in run order.
    pub results: Vec<NodeResult>,
    /// Wall time.
    pub elapsed_ms: i64,
    /// Lines the models passed to `log()`.
    pub logs: Vec<String>,
    /// Whether the run was stopped before its last node.
    pub cancelled: bool,
}

impl RunResults {
    /// Whether nothing failed (warnings are fine).
    pub fn success(&self) -> bool {
        !self
            .results
            .iter()
            .any(|r| matches!(r.status, NodeStatus::Error | NodeStatus::Fail))
    }

    /// How many results have `status`.
    pub fn count(&self, status: NodeStatus) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// The result of node `name`.
    pub fn result(&self, name: &str) -> Option<&NodeResult> {
        self.results.iter().find(|r| r.name == name)
    }
}
