//! The whole pipeline behind one API: Bronze, Silver and Gold over one store, with
//! progress, cancellation between steps, and the board of every table. The CLI's
//! `pipeline` and the playground's "Run all" both run through it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bronze::{BatchReport, Bronze, BronzeError, BronzeOptions};
use crate::checkpoint::{CheckpointError, CheckpointStore, WriteBatch};
use crate::delta::{DeltaError, DeltaTable, Operation, WriteMetrics};
use crate::lineage::layout::Layout;
use crate::lineage::{
    self, ColumnLineage, DetailsError, LineageError, LineageGraph, NodeDetails, NodeRun,
};
use crate::models::{
    Command, ModelError, ModelRunner, NodeStatus, Project, ResourceType, RunOptions, RunResults,
};
use crate::silver::{read_waiting, Pipeline, Silver, SilverError, SilverOptions, SilverReport};
use crate::sql::{dashboard, SqlConsole, SqlError};
use crate::storage::{now_ms, Storage, StorageError};
use crate::warehouse;
use crate::workspace::{Workspace, WorkspaceError};

mod editor;
mod history;
mod infer;
mod silver_view;
mod sources;

pub use infer::{InferError, PipelinePreview};

pub use silver_view::{
    apply_step_switches, QuarantineGroup, QuarantineView, SilverStepView, SilverView,
};
pub use sources::SourcesError;

/// A layer of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Landing files into `bronze/<entity>`.
    Bronze,
    /// Bronze into `silver/<entity>`.
    Silver,
    /// The models, snapshots and tests into `gold/`.
    Gold,
}

impl Stage {
    /// Every stage, in pipeline order: Run all.
    pub const ALL: [Stage; 3] = [Stage::Bronze, Stage::Silver, Stage::Gold];
}

/// Where a run is: the stage, the step just finished (an entity or a node) and how far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProgress {
    /// The stage.
    pub stage: Stage,
    /// The step just finished: a table, or a dbt node.
    pub step: String,
    /// The lineage node it ran (`bronze.trips`, `gold.fact_trips`), or a test's unique
    /// id.
    pub node: String,
    /// Rows the step read (Bronze, Silver) or wrote (a Gold model), when it has them.
    pub rows: Option<u64>,
    /// How the step went.
    pub run: Option<NodeRun>,
    /// Steps of the stage finished.
    pub done: usize,
    /// Steps in the stage.
    pub total: usize,
}

impl fmt::Display for RunProgress {
    /// `Bronze: bronze/trips, 1999 rows (5 of 6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.stage, self.step)?;
        if let Some(rows) = self.rows {
            write!(f, ", {rows} rows")?;
        }
        write!(f, " ({} of {})", self.done, self.total)
    }
}

impl RunProgress {
    /// The stage's progress in percent.
    pub fn percent(&self) -> u8 {
        (self.done * 100)
            .checked_div(self.total)
            .map_or(100, |percent| percent.min(100) as u8)
    }
}

/// A finished Bronze or Silver step, before it is told.
struct Step {
    stage: Stage,
    table: String,
    rows: Option<u64>,
    started_ms: i64,
}

impl Step {
    fn new(stage: Stage, table: String, rows: Option<u64>, started_ms: i64) -> Self {
        Self {
            stage,
            table,
            rows,
            started_ms,
        }
    }

    /// The step's run, ended now with `status`.
    fn run(&self, status: NodeStatus, message: String) -> NodeRun {
        let completed_ms = now_ms();
        NodeRun {
            status,
            duration_ms: completed_ms - self.started_ms,
            completed_ms,
            message,
            rows: self.rows,
            failures: None,
            failing_rows: Vec::new(),
        }
    }
}

/// The observer of a run, and every step's run so far.
struct Steps<'a> {
    observer: &'a mut dyn FnMut(&RunProgress) -> Flow,
    runs: Vec<(String, NodeRun)>,
}

impl Steps<'_> {
    /// Keeps a progress's run and tells the observer.
    fn report(&mut self, progress: &RunProgress) -> Flow {
        if let Some(run) = &progress.run {
            self.runs.push((progress.node.clone(), run.clone()));
        }
        (self.observer)(progress)
    }

    /// Keeps a step's successful run without telling the observer.
    fn record(&mut self, step: &Step) {
        let run = step.run(NodeStatus::Success, String::new());
        self.runs.push((lineage::table_id(&step.table), run));
    }

    /// Tells that `step` succeeded, as step `done` of `total`.
    fn finish(&mut self, step: Step, done: usize, total: usize) -> Flow {
        self.end(step, NodeStatus::Success, String::new(), (done, total))
    }

    /// Tells that `step` ended with `status` and `message`, as step `done` of `total`.
    fn end(
        &mut self,
        step: Step,
        status: NodeStatus,
        message: String,
        (done, total): (usize, usize),
    ) -> Flow {
        let progress = RunProgress {
            stage: step.stage,
            node: lineage::table_id(&step.table),
            rows: step.rows,
            run: Some(step.run(status, message)),
            step: step.table,
            done,
            total,
        };
        self.report(&progress)
    }

    /// Tells that the step on `table` failed with `err`, and gives the error back.
    fn failed<E: fmt::Display>(&mut self, stage: Stage, table: &str, started_ms: i64, err: E) -> E {
        let step = Step::new(stage, table.to_owned(), None, started_ms);
        let progress = RunProgress {
            stage,
            node: lineage::table_id(table),
            rows: None,
            run: Some(step.run(NodeStatus::Error, err.to_string())),
            step: table.to_owned(),
            done: 0,
            total: 0,
        };
        self.report(&progress);
        err
    }
}

/// Runs `entity`'s Silver as step `done` of `total`, telling `steps`; the quarantine
/// table, written by the same step, is recorded too. An entity waiting for a lookup
/// table is a skipped step (`waiting for silver/locations`). A cancel marks `report`
/// cancelled.
async fn silver_step(
    silver: &Silver,
    entity: &str,
    options: &SilverOptions,
    (done, total): (usize, usize),
    steps: &mut Steps<'_>,
    report: &mut RunReport,
) -> Result<Flow, LakehouseError> {
    let table = warehouse::silver_table(entity);
    let started = now_ms();
    let run = silver
        .run(entity, options)
        .await
        .map_err(|err| steps.failed(Stage::Silver, &table, started, err))?;
    if let Some(lookup) = &run.waiting_for {
        let message = format!("waiting for {lookup}");
        report.silver.push(run);
        let step = Step::new(Stage::Silver, table, None, started);
        let flow = steps.end(step, NodeStatus::Skipped, message, (done, total));
        if flow == Flow::Cancel {
            report.cancelled = true;
        }
        return Ok(flow);
    }
    let quarantine = Step::new(
        Stage::Silver,
        warehouse::quarantine_table(entity),
        Some(run.quarantined),
        started,
    );
    steps.record(&quarantine);
    let step = Step::new(Stage::Silver, table, Some(run.rows_in), started);
    report.silver.push(run);
    let flow = steps.finish(step, done, total);
    if flow == Flow::Cancel {
        report.cancelled = true;
    }
    Ok(flow)
}

/// What a progress observer wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop before the next step; everything finished so far stays committed.
    Cancel,
}

/// What a run did, stage by stage.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Bronze batches written.
    pub bronze: Vec<BatchReport>,
    /// Silver runs.
    pub silver: Vec<SilverReport>,
    /// The Gold build, if it ran.
    pub gold: Option<RunResults>,
    /// Whether the run was cancelled.
    pub cancelled: bool,
}

impl RunReport {
    /// The report in the few numbers the playground shows after a run.
    pub fn summary(&self) -> RunSummary {
        let gold = self.gold.as_ref();
        let count = |status: NodeStatus| gold.map_or(0, |run| run.count(status));
        RunSummary {
            files: self.bronze.iter().map(|batch| batch.files.len()).sum(),
            rows: self.bronze.iter().map(BatchReport::rows).sum(),
            malformed: self
                .bronze
                .iter()
                .flat_map(|batch| &batch.files)
                .map(|file| file.malformed)
                .sum(),
            quarantined: self.silver.iter().map(|run| run.quarantined).sum(),
            tests_passed: count(NodeStatus::Pass),
            tests_warned: count(NodeStatus::Warn),
            failed: count(NodeStatus::Fail) + count(NodeStatus::Error),
            cancelled: self.cancelled,
        }
    }
}

/// A run's report in a few numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Files ingested into Bronze.
    pub files: usize,
    /// Rows ingested.
    pub rows: usize,
    /// Malformed rows kept in Bronze.
    pub malformed: usize,
    /// Rows Silver quarantined.
    pub quarantined: u64,
    /// Tests that passed.
    pub tests_passed: usize,
    /// Tests that warned.
    pub tests_warned: usize,
    /// Tests and models that failed or errored.
    pub failed: usize,
    /// Whether the run was cancelled.
    pub cancelled: bool,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files, {} rows ({} malformed); {} rows quarantined; tests: {} passed, {} \
             warned, {} failed",
            self.files,
            self.rows,
            self.malformed,
            self.quarantined,
            self.tests_passed,
            self.tests_warned,
            self.failed,
        )
    }
}

/// What [`Lakehouse::reset`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetReport {
    /// Objects deleted from the store: landing files, table data and logs.
    pub objects: usize,
    /// Checkpoint entries deleted.
    pub checkpoint_entries: usize,
}

/// Where the workspace keeps the Silver pipelines.
const SILVER_FOLDER: &str = "silver/";

/// Whether `path` is a pipeline file of the workspace: `silver/<entity>.yml`.
fn is_pipeline_path(path: &str) -> bool {
    path.strip_prefix(SILVER_FOLDER).is_some_and(|name| {
        (name.ends_with(".yml") || name.ends_with(".yaml")) && !name.contains('/')
    })
}

/// A pipeline file's entity: `silver/trips.yml` is `trips`.
fn pipeline_entity(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name)
}

/// The step that joins new Silver tables to the `silver` source, named by its file.
const SOURCES_FILE: &str = "models/staging/_sources.yml";

/// The Gold stage's step when the build itself fails (a node's failure is its result).
const GOLD_STEP: &str = "dbt build";

/// The checkpoint key that marks a reset begun and not finished.
const RESET_PENDING: &str = "_reset/pending";

/// Why a run or the board failed.
#[derive(Debug, thiserror::Error)]
pub enum LakehouseError {
    /// Ingest failed.
    #[error(transparent)]
    Bronze(#[from] BronzeError),
    /// Silver failed.
    #[error(transparent)]
    Silver(#[from] SilverError),
    /// The dbt project could not be read or run.
    #[error(transparent)]
    Models(#[from] ModelError),
    /// A Delta table could not be read.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The checkpoint store failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A lineage node's details could not be read.
    #[error(transparent)]
    Details(#[from] DetailsError),
    /// A column's lineage could not be traced.
    #[error(transparent)]
    Lineage(#[from] LineageError),
    /// The SQL console could not be opened.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The project's files could not be read.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// A reset was interrupted; it must finish before anything else runs.
    #[error("a reset was interrupted before it finished: reset again to finish it")]
    ResetInterrupted,
    /// An editor action cannot be done on a file.
    #[error(transparent)]
    Editor(#[from] crate::editor::EditorError),
    /// A key's SCD2 history cannot be read.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// A pipeline cannot be proposed or saved.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The `silver` source or a staging model could not be written.
    #[error(transparent)]
    Sources(#[from] SourcesError),
    /// A step of a run failed; what the run committed before it stays committed.
    #[error("{} step {table} failed: {source}. {}", stage_name(*.stage), committed_text(.committed))]
    StepFailed {
        /// The stage the step belongs to.
        stage: Stage,
        /// The step: a table (`silver/trips`), the `silver` source's file, or
        /// `dbt build` for Gold (a Gold node's failure is its result, not an error).
        table: String,
        /// Why it failed.
        source: Box<LakehouseError>,
        /// The tables this run committed before it, with their versions:
        /// `bronze/trips v0`.
        committed: Vec<String>,
    },
}

/// A step of `stage` on `table` failed with `err`; [`Lakehouse::run`] adds what stayed
/// committed.
fn step_failed(stage: Stage, table: &str, err: impl Into<LakehouseError>) -> LakehouseError {
    LakehouseError::StepFailed {
        stage,
        table: table.to_owned(),
        source: Box::new(err.into()),
        committed: Vec::new(),
    }
}

/// A stage's name in a sentence: `Silver`.
fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Bronze => "Bronze",
        Stage::Silver => "Silver",
        Stage::Gold => "Gold",
    }
}

/// What a failed run left committed, in a sentence.
fn committed_text(committed: &[String]) -> String {
    match committed {
        [] => "Nothing of this run was committed.".to_owned(),
        tables => format!("Still committed from this run: {}.", tables.join(", ")),
    }
}

/// The lineage graph as the playground shows it ([`Lakehouse::lineage_view`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageView {
    /// Every node, with its state.
    pub graph: LineageGraph,
    /// The ids of the nodes shown, in the graph's order.
    pub shown: Vec<String>,
    /// Where they go.
    pub layout: Layout,
    /// Why the selector could not be read, if it could not.
    pub select_error: Option<String>,
}

/// One table on the board: its size, version and what its last commit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCard {
    /// `<layer>/<name>`.
    pub table: String,
    /// Rows now.
    pub rows: Option<i64>,
    /// The Delta version.
    pub version: i64,
    /// The last commit's operation (`WRITE`, `MERGE`, `CREATE TABLE`, …).
    pub operation: String,
    /// When it was committed, in ms since the epoch.
    pub committed_ms: i64,
    /// Rows the last commit added.
    pub inserted: u64,
    /// Rows it replaced.
    pub updated: u64,
    /// Rows it removed.
    pub deleted: u64,
    /// What the last commit did, in plain words: `rebuilt: 516 rows (was 500)`,
    /// `merged: 664 inserted, 1 updated, 0 deleted`, `appended 1999 rows`.
    pub change: String,
    /// Why the table is not built yet: the lookup table it waits for
    /// (`silver/locations`). A waiting card has version -1, no rows, operation `""` and
    /// change `waiting for silver/locations`.
    pub waiting_for: Option<String>,
    /// For a Bronze table: whether its entity has a Silver pipeline (false: the
    /// playground offers to create one). Always true for the other layers.
    pub has_pipeline: bool,
}

/// `rows` with its noun: `1 row`, `516 rows`.
fn rows_text(rows: u64) -> String {
    match rows {
        1 => "1 row".to_owned(),
        rows => format!("{rows} rows"),
    }
}

/// Whether another writer's operation replaces the whole table (Spark's
/// `CREATE OR REPLACE TABLE`, `REPLACE TABLE AS SELECT`).
fn replaces_table(operation: &str) -> bool {
    operation.contains("REPLACE")
}

/// What a commit of `operation` with `metrics` did, in plain words; `rows` is the
/// table's size after it (a table's first commit records no counts).
pub(crate) fn change_text(
    operation: &Operation,
    metrics: &WriteMetrics,
    rows: Option<i64>,
) -> String {
    let WriteMetrics {
        rows_inserted: inserted,
        rows_updated: updated,
        rows_deleted: deleted,
        ..
    } = *metrics;
    match operation {
        Operation::Overwrite => format!("rebuilt: {} (was {deleted})", rows_text(inserted)),
        Operation::Other(name) if replaces_table(name) => {
            format!("rebuilt: {} (was {deleted})", rows_text(inserted))
        }
        Operation::Merge => {
            format!("merged: {inserted} inserted, {updated} updated, {deleted} deleted")
        }
        Operation::Append => format!("appended {}", rows_text(inserted)),
        Operation::CreateTable => {
            let rows = rows
                .and_then(|rows| u64::try_from(rows).ok())
                .unwrap_or(inserted);
            format!("created with {}", rows_text(rows))
        }
        Operation::Delete => format!("deleted {}", rows_text(deleted)),
        Operation::Other(name) if inserted + updated + deleted == 0 => name.to_lowercase(),
        Operation::Other(name) => format!(
            "{}: {inserted} written, {updated} updated, {deleted} deleted",
            name.to_lowercase()
        ),
    }
}

/// A warehouse: one store, its checkpoint store, and the project (the dbt project and
/// the Silver pipelines) in a [`Workspace`], read afresh by every run.
#[derive(Debug)]
pub struct Lakehouse {
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
    workspace: Workspace,
    vars: BTreeMap<String, Value>,
}

impl Lakehouse {
    /// A lakehouse over `storage` and `checkpoint`, with the project in `workspace`.
    pub fn new(
        storage: Arc<dyn Storage>,
        checkpoint: Arc<dyn CheckpointStore>,
        workspace: Workspace,
    ) -> Self {
        Self {
            storage,
            checkpoint,
            workspace,
            vars: BTreeMap::new(),
        }
    }

    /// The project's files.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The same lakehouse with these dbt variables.
    pub fn with_vars(mut self, vars: BTreeMap<String, Value>) -> Self {
        self.vars = vars;
        self
    }

    /// Runs `stages` in pipeline order, telling `observer` after every step; a
    /// [`Flow::Cancel`] stops the run before the next step. Every step's run (and a
    /// failed step's error) is kept for the lineage graph ([`lineage::read_runs`]).
    pub async fn run(
        &self,
        stages: &[Stage],
        observer: &mut dyn FnMut(&RunProgress) -> Flow,
    ) -> Result<RunReport, LakehouseError> {
        if self.reset_pending().await? {
            return Err(LakehouseError::ResetInterrupted);
        }
        let mut steps = Steps {
            observer,
            runs: Vec::new(),
        };
        let mut report = RunReport::default();
        let outcome = self.run_stages(stages, &mut steps, &mut report).await;
        lineage::record_runs(self.storage.as_ref(), &steps.runs).await?;
        match outcome {
            Ok(()) => Ok(report),
            Err(LakehouseError::StepFailed {
                stage,
                table,
                source,
                ..
            }) => Err(LakehouseError::StepFailed {
                stage,
                table,
                source,
                committed: self.committed(&report, &steps.runs).await,
            }),
            Err(err) => Err(err),
        }
    }

    /// The tables `report` (and, for Gold, the nodes of `runs`) committed, with their
    /// versions now: `bronze/trips v0`. A Gold table that cannot be read is left out.
    async fn committed(&self, report: &RunReport, runs: &[(String, NodeRun)]) -> Vec<String> {
        let mut tables: Vec<(String, i64)> = Vec::new();
        let mut add = |table: String, version: i64| match tables
            .iter_mut()
            .find(|(known, _)| *known == table)
        {
            Some((_, known)) => *known = version.max(*known),
            None => tables.push((table, version)),
        };
        for batch in &report.bronze {
            if let Some(version) = batch.version {
                add(warehouse::bronze_table(&batch.entity), version);
            }
        }
        for run in report
            .silver
            .iter()
            .filter(|run| run.bronze_versions.is_some())
        {
            if let Some(version) = run.version {
                add(warehouse::silver_table(&run.entity), version);
            }
            if let Some(version) = run.quarantine_version {
                add(warehouse::quarantine_table(&run.entity), version);
            }
        }
        for (node, run) in runs {
            let Some(name) = node.strip_prefix("gold.") else {
                continue;
            };
            if run.status != NodeStatus::Success {
                continue;
            }
            let table = DeltaTable::new(self.storage.clone(), warehouse::gold_table(name));
            if let Ok(snapshot) = table.snapshot().await {
                add(table.root().to_owned(), snapshot.version());
            }
        }
        tables
            .into_iter()
            .map(|(table, version)| format!("{table} v{version}"))
            .collect()
    }

    /// Runs the stages into `report`, until the last step or a cancel.
    async fn run_stages(
        &self,
        stages: &[Stage],
        steps: &mut Steps<'_>,
        report: &mut RunReport,
    ) -> Result<(), LakehouseError> {
        if stages.contains(&Stage::Bronze) {
            let bronze = Bronze::new(self.storage.clone(), self.checkpoint.clone());
            let entities = bronze.entities().await?;
            for (index, entity) in entities.iter().enumerate() {
                let table = warehouse::bronze_table(entity);
                let started = now_ms();
                let batches = bronze
                    .ingest(entity, &BronzeOptions::default())
                    .await
                    .map_err(|err| steps.failed(Stage::Bronze, &table, started, err))
                    .map_err(|err| step_failed(Stage::Bronze, &table, err))?;
                let rows = batches.iter().map(|batch| batch.rows() as u64).sum();
                report.bronze.extend(batches);
                let step = Step::new(Stage::Bronze, table, Some(rows), started);
                if steps.finish(step, index + 1, entities.len()) == Flow::Cancel {
                    report.cancelled = true;
                    return Ok(());
                }
            }
        }
        if stages.contains(&Stage::Silver) {
            let silver = Silver::new(
                self.storage.clone(),
                self.checkpoint.clone(),
                self.pipelines().await?,
            )?;
            let entities: Vec<String> = silver
                .pipelines()
                .iter()
                .map(|pipeline| pipeline.entity.clone())
                .collect();
            for (index, entity) in entities.iter().enumerate() {
                let options = SilverOptions::default();
                let step = (index + 1, entities.len());
                let flow = silver_step(&silver, entity, &options, step, steps, report)
                    .await
                    .map_err(|err| {
                        step_failed(Stage::Silver, &warehouse::silver_table(entity), err)
                    })?;
                if flow == Flow::Cancel {
                    return Ok(());
                }
            }
        }
        if stages.contains(&Stage::Silver) || stages.contains(&Stage::Gold) {
            // New Silver tables are sources before Gold compiles. A project that does
            // not parse is Gold's error to report.
            if let Ok(project) = self.project().await {
                self.join_sources_of(&project)
                    .await
                    .map_err(|err| step_failed(Stage::Silver, SOURCES_FILE, err))?;
            }
        }
        if stages.contains(&Stage::Gold) {
            // Unwrapped: a project that does not parse names its file.
            let project = self.project().await?;
            self.run_gold(project, &RunOptions::default(), steps, report)
                .await
                .map_err(|err| step_failed(Stage::Gold, GOLD_STEP, err))?;
        }
        Ok(())
    }

    /// Runs Gold's nodes that `options` select, telling `steps` each node's result.
    async fn run_gold(
        &self,
        project: Project,
        options: &RunOptions,
        steps: &mut Steps<'_>,
        report: &mut RunReport,
    ) -> Result<(), LakehouseError> {
        let runner = ModelRunner::new(self.storage.clone(), project);
        let gold = runner
            .run_observed(Command::Build, options, &mut |result, done, total| {
                let node = match result.resource_type {
                    ResourceType::Test => result.unique_id.clone(),
                    _ => lineage::model_id(&result.name),
                };
                let progress = RunProgress {
                    stage: Stage::Gold,
                    step: result.name.clone(),
                    node,
                    rows: result.rows_affected,
                    run: Some(NodeRun::from_result(result)),
                    done,
                    total,
                };
                steps.report(&progress) == Flow::Continue
            })
            .await?;
        report.cancelled = gold.cancelled;
        report.gold = Some(gold);
        Ok(())
    }

    /// The dbt project's files (path from the project root, text): the workspace's,
    /// without the Silver pipelines of `silver/`.
    pub async fn project_files(&self) -> Result<Vec<(String, String)>, LakehouseError> {
        let mut files = self.workspace.files().await?;
        files.retain(|(path, _)| !path.starts_with(SILVER_FOLDER));
        Ok(files)
    }

    /// The parsed dbt project ([`Lakehouse::project_files`]).
    pub async fn project(&self) -> Result<Project, LakehouseError> {
        Ok(Project::parse(&self.project_files().await?, &self.vars)?)
    }

    /// A SQL console over the warehouse and the project as it is now.
    pub async fn sql_console(&self) -> Result<SqlConsole, LakehouseError> {
        let project = self.project().await?;
        Ok(SqlConsole::open(self.storage.clone(), &project).await?)
    }

    /// The Silver pipelines, parsed from the workspace's `silver/<entity>.yml` on every
    /// call, with the user's step switches ([`Lakehouse::set_step_enabled`]) applied:
    /// what every run, the lineage and the CLI use.
    pub async fn pipelines(&self) -> Result<Vec<Pipeline>, LakehouseError> {
        let mut pipelines = Vec::new();
        for (path, text) in self.pipeline_files().await? {
            pipelines.push(Pipeline::parse(&path, &text).map_err(SilverError::from)?);
        }
        silver_view::apply_step_switches(self.checkpoint.as_ref(), &mut pipelines).await?;
        Ok(pipelines)
    }

    /// The workspace's pipeline files, `silver/<entity>.yml`: path and text.
    async fn pipeline_files(&self) -> Result<Vec<(String, String)>, LakehouseError> {
        let mut files = Vec::new();
        for path in self.pipeline_paths().await? {
            let text = self.workspace.read(&path).await?;
            files.push((path, text));
        }
        Ok(files)
    }

    /// The workspace's pipeline files' paths, `silver/<entity>.yml`, without reading
    /// them.
    async fn pipeline_paths(&self) -> Result<Vec<String>, LakehouseError> {
        let mut paths = self.workspace.paths().await?;
        paths.retain(|path| is_pipeline_path(path));
        paths.sort();
        Ok(paths)
    }

    /// The lineage graph, each node with its table now and its last run.
    pub async fn lineage(&self) -> Result<LineageGraph, LakehouseError> {
        self.lineage_of(&self.project().await?).await
    }

    /// The lineage graph of `project` over this warehouse.
    async fn lineage_of(&self, project: &Project) -> Result<LineageGraph, LakehouseError> {
        let bronze = Bronze::new(self.storage.clone(), self.checkpoint.clone());
        let landed = bronze.entities().await?;
        let mut cards = self.board().await?;
        // A waiting entity has no table yet; its node shows its skipped run.
        cards.retain(|card| card.version >= 0);
        let runs = lineage::read_runs(self.storage.as_ref()).await?;
        let pipelines = self.pipelines().await?;
        Ok(LineageGraph::new(project, &pipelines, &landed)?.with_state(&cards, &runs))
    }

    /// A lineage node's details: its config, SQL, typed columns, checkpoint and steps.
    pub async fn node_details(&self, id: &str) -> Result<NodeDetails, LakehouseError> {
        let project = self.project().await?;
        Ok(lineage::node_details(
            self.storage.clone(),
            self.checkpoint.as_ref(),
            &project,
            &self.pipelines().await?,
            id,
        )
        .await?)
    }

    /// The upstream columns of `node`'s `column`, back to landing.
    pub async fn column_lineage(
        &self,
        node: &str,
        column: &str,
    ) -> Result<ColumnLineage, LakehouseError> {
        let runner = ModelRunner::new(self.storage.clone(), self.project().await?);
        let pipelines = self.pipelines().await?;
        Ok(lineage::column_lineage(&runner, &pipelines, node, column).await?)
    }

    /// What the lineage view shows: the graph, the nodes `select` picks (every node if
    /// empty) and, unless `all`, only those one hop around `focus`, laid out. A selector
    /// that cannot be read shows every node and says why.
    pub async fn lineage_view(
        &self,
        select: &str,
        focus: Option<&str>,
        all: bool,
    ) -> Result<LineageView, LakehouseError> {
        let project = self.project().await?;
        let graph = self.lineage_of(&project).await?;
        let (mut shown, select_error) = match graph.select(&project, select) {
            Ok(shown) => (shown, None),
            Err(err) => (graph.select(&project, "")?, Some(err.to_string())),
        };
        if let Some(focus) = focus.filter(|_| !all) {
            if graph.node(focus).is_some() {
                let around = graph.around(focus, 1);
                shown.retain(|id| around.contains(id));
                shown.insert(focus.to_owned());
            }
        }
        let layout = lineage::layout::layout(&graph, &shown);
        Ok(LineageView {
            graph,
            shown: layout.nodes.iter().map(|node| node.id.clone()).collect(),
            layout,
            select_error,
        })
    }

    /// Whether a reset began and did not finish (the tab closed, the process died):
    /// until [`Lakehouse::reset`] runs again, the store holds part of the old state.
    pub async fn reset_pending(&self) -> Result<bool, LakehouseError> {
        Ok(self.checkpoint.get(RESET_PENDING).await?.is_some())
    }

    /// Deletes every landing file, table and checkpoint entry (the Silver step switches
    /// too: they live in the checkpoint store); the project (the store's `project/`)
    /// stays as the user left it.
    ///
    /// A marker entry is written first and removed last, in the same checkpoint
    /// transaction as every other entry, so a reset that is interrupted leaves the
    /// marker behind: [`Lakehouse::run`] then refuses to run on the half-deleted state
    /// and a second reset finishes the job.
    pub async fn reset(&self) -> Result<ResetReport, LakehouseError> {
        self.checkpoint.put(RESET_PENDING, Vec::new()).await?;
        let mut objects = self.storage.list("").await?;
        objects.retain(|object| !object.path.starts_with(warehouse::PROJECT));
        for object in &objects {
            self.storage.delete(&object.path).await?;
        }
        let entries = self.checkpoint.scan("").await?;
        let checkpoint_entries = entries.len().saturating_sub(1);
        let batch = entries
            .into_iter()
            .fold(WriteBatch::new(), |batch, (key, _)| batch.delete(key));
        self.checkpoint.write(batch).await?;
        Ok(ResetReport {
            objects: objects.len(),
            checkpoint_entries,
        })
    }

    /// Every table of the store, layer by layer, with what its last commit did; a Bronze
    /// table says whether its entity has a Silver pipeline, and a Silver entity waiting
    /// for a lookup table has a card saying so (a card of its own until it is built).
    pub async fn board(&self) -> Result<Vec<TableCard>, LakehouseError> {
        let entities = self.pipeline_entities().await?;
        let mut cards = Vec::new();
        for table in warehouse::list_tables(self.storage.as_ref()).await? {
            let delta = DeltaTable::new(self.storage.clone(), table.clone());
            let snapshot = delta.snapshot().await?;
            let Some(last) = delta.last_commit().await? else {
                continue;
            };
            // What the commit recorded: a merge its inserts, updates and deletes, a
            // delete its deletes, an overwrite its new rows and the rows it replaced.
            let metrics = last.metrics();
            let rows = snapshot.num_records();
            cards.push(TableCard {
                change: change_text(&last.operation(), &metrics, rows),
                rows,
                version: snapshot.version(),
                operation: last.operation,
                committed_ms: last.timestamp_ms,
                inserted: metrics.rows_inserted,
                updated: metrics.rows_updated,
                deleted: metrics.rows_deleted,
                waiting_for: None,
                has_pipeline: table
                    .strip_prefix("bronze/")
                    .is_none_or(|entity| entities.iter().any(|known| known == entity)),
                table,
            });
        }
        for entity in &entities {
            let Some(waiting) = read_waiting(self.checkpoint.as_ref(), entity).await? else {
                continue;
            };
            let table = warehouse::silver_table(entity);
            let change = format!("waiting for {}", waiting.table);
            if let Some(card) = cards.iter_mut().find(|card| card.table == table) {
                card.change = change;
                card.waiting_for = Some(waiting.table);
                continue;
            }
            // After the Bronze and Silver cards, before Gold's.
            let at = cards
                .iter()
                .position(|card| {
                    card.table.starts_with("gold/")
                        || (card.table.starts_with("silver/") && card.table > table)
                })
                .unwrap_or(cards.len());
            cards.insert(
                at,
                TableCard {
                    table,
                    rows: None,
                    version: -1,
                    operation: String::new(),
                    committed_ms: waiting.since_ms,
                    inserted: 0,
                    updated: 0,
                    deleted: 0,
                    change,
                    waiting_for: Some(waiting.table),
                    has_pipeline: true,
                },
            );
        }
        Ok(cards)
    }

    /// The entities with a pipeline file, `silver/<entity>.yml`, by the file's name.
    async fn pipeline_entities(&self) -> Result<Vec<String>, LakehouseError> {
        Ok(self
            .pipeline_paths()
            .await?
            .iter()
            .map(|path| pipeline_entity(path).to_owned())
            .collect())
    }

    /// The Gold dashboard over the tables' latest versions; a chart or figure whose
    /// query fails carries its error. Empty until Gold's `fact_trips` exists.
    pub async fn dashboard(&self) -> Result<dashboard::Dashboard, LakehouseError> {
        // Before Gold is built every query would fail: the dashboard is empty instead.
        let facts = DeltaTable::new(self.storage.clone(), warehouse::gold_table("fact_trips"));
        if !facts.exists().await? {
            return Ok(dashboard::Dashboard::default());
        }
        let console = self.sql_console().await?;
        Ok(dashboard::run(&console, dashboard::FIGURES, dashboard::DASHBOARD).await)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::checkpoint::MemoryCheckpointStore;
    use crate::storage::MemoryStorage;
    use bytes::Bytes;

    fn lakehouse() -> (Arc<dyn Storage>, Lakehouse) {
        crate::testing::memory_lakehouse()
    }

    async fn land(storage: &Arc<dyn Storage>, batch: usize) {
        crate::sample::land_batch(storage.as_ref(), batch)
            .await
            .expect("land");
    }

    fn card<'a>(cards: &'a [TableCard], table: &str) -> &'a TableCard {
        cards
            .iter()
            .find(|card| card.table == table)
            .unwrap_or_else(|| panic!("{table} on the board"))
    }

    #[test]
    fn run_all_reports_progress_and_the_board_shows_each_tables_last_change() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                let all = Stage::ALL;
                for batch in 1..=2 {
                    land(&storage, batch).await;
                    let mut seen = Vec::new();
                    let report = lakehouse
                        .run(&all, &mut |progress| {
                            seen.push(progress.clone());
                            Flow::Continue
                        })
                        .await
                        .expect("run all");
                    assert!(!report.cancelled);
                    assert!(report.gold.as_ref().expect("gold ran").success());
                    let stages: Vec<Stage> = seen.iter().map(|p| p.stage).collect();
                    assert_eq!(stages.first(), Some(&Stage::Bronze));
                    assert_eq!(stages.last(), Some(&Stage::Gold));
                    assert!(stages.windows(2).all(|pair| pair[0] as u8 <= pair[1] as u8));
                    let last = seen.last().expect("progress");
                    assert_eq!(
                        (last.done, last.total, last.percent()),
                        (last.total, last.total, 100)
                    );
                    // Each step says how many rows it took in (Bronze, Silver) or wrote.
                    let rows = |step: &str| {
                        seen.iter()
                            .find(|progress| progress.step == step)
                            .and_then(|progress| progress.rows)
                    };
                    let (bronze, silver) = if batch == 1 { (1999, 1999) } else { (674, 674) };
                    assert_eq!(rows("bronze/trips"), Some(bronze));
                    assert_eq!(rows("silver/trips"), Some(silver));
                    assert!(rows("fact_trips").is_some_and(|rows| rows > 0));
                }
                let cards = lakehouse.board().await.expect("board");
                let trips = card(&cards, "silver/trips");
                assert_eq!(
                    (
                        trips.rows,
                        trips.operation.as_str(),
                        trips.inserted,
                        trips.updated
                    ),
                    (Some(2663), "MERGE", 664, 1)
                );
                let customers = card(&cards, "gold/customers_snapshot");
                assert_eq!(
                    (customers.rows, customers.inserted, customers.updated),
                    (Some(516), 16, 16)
                );
                let dim = card(&cards, "gold/dim_customer");
                assert_eq!(
                    (dim.operation.as_str(), dim.inserted, dim.deleted),
                    ("WRITE", 516, 500)
                );
                assert_eq!(card(&cards, "bronze/trips").inserted, 674);
                // What changed, in plain words, from the same metrics.
                assert_eq!(dim.change, "rebuilt: 516 rows (was 500)");
                assert_eq!(trips.change, "merged: 664 inserted, 1 updated, 0 deleted");
                assert_eq!(card(&cards, "bronze/trips").change, "appended 674 rows");
                let graph = lakehouse.lineage().await.expect("lineage");
                let node = graph.node("gold.dim_customer").expect("dim_customer");
                assert_eq!(node.state.change, "rebuilt: 516 rows (was 500)");
            });
    }

    /// Lands one file of the bundled sample, `batch_00N/<name>`.
    async fn land_sample_file(storage: &Arc<dyn Storage>, path: &str) {
        let sample = crate::sample::generate(&crate::sample::bundled_spec()).expect("sample");
        let file = sample
            .files
            .iter()
            .find(|file| file.path == path)
            .unwrap_or_else(|| panic!("{path} in the sample"));
        crate::landing::land_file(storage.as_ref(), path, None, file.data.clone())
            .await
            .expect("land");
    }

    #[test]
    fn trips_alone_wait_for_locations_while_the_rest_runs_and_run_once_it_lands() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                land_sample_file(&storage, "batch_002/trips.csv").await;
                let mut seen = Vec::new();
                let report = lakehouse
                    .run(&Stage::ALL, &mut |progress| {
                        seen.push(progress.clone());
                        Flow::Continue
                    })
                    .await
                    .expect("run all");
                let trips = report
                    .silver
                    .iter()
                    .find(|run| run.entity == "trips")
                    .expect("trips ran");
                assert_eq!(trips.waiting_for.as_deref(), Some("silver/locations"));
                assert_eq!(trips.note.as_deref(), Some("waiting for silver/locations"));
                let step = seen
                    .iter()
                    .find(|progress| progress.step == "silver/trips")
                    .and_then(|progress| progress.run.clone())
                    .expect("a progress for silver/trips");
                assert_eq!(
                    (step.status, step.message.as_str()),
                    (NodeStatus::Skipped, "waiting for silver/locations")
                );
                // Gold ran: what reads a missing source waits, and nothing failed.
                let gold = report.gold.as_ref().expect("gold ran");
                assert!(gold.success());
                assert_eq!(report.summary().failed, 0);
                let message = |name: &str| {
                    let result = gold.result(name).unwrap_or_else(|| panic!("{name}"));
                    (result.status, result.message.clone())
                };
                assert_eq!(
                    message("stg_customers"),
                    (
                        NodeStatus::Skipped,
                        "waiting for silver/customers".to_owned()
                    )
                );
                assert_eq!(
                    message("stg_trips"),
                    (NodeStatus::Skipped, "waiting for silver/trips".to_owned())
                );
                let (status, fact) = message("fact_trips");
                assert_eq!(status, NodeStatus::Skipped);
                assert!(
                    fact.starts_with("waiting for silver/") && fact.ends_with(" upstream"),
                    "{fact}"
                );
                // The board shows what is committed, and what waits.
                let cards = lakehouse.board().await.expect("board");
                let bronze = card(&cards, "bronze/trips");
                assert_eq!((bronze.rows, bronze.has_pipeline), (Some(674), true));
                let waiting = card(&cards, "silver/trips");
                assert_eq!(
                    (
                        waiting.waiting_for.as_deref(),
                        waiting.version,
                        waiting.rows,
                        waiting.operation.as_str(),
                        waiting.change.as_str()
                    ),
                    (
                        Some("silver/locations"),
                        -1,
                        None,
                        "",
                        "waiting for silver/locations"
                    )
                );
                let tables: Vec<&str> = cards.iter().map(|card| card.table.as_str()).collect();
                assert_eq!(tables, ["bronze/trips", "silver/trips"]);
                let graph = lakehouse.lineage().await.expect("lineage");
                let node = graph.node("silver.trips").expect("silver.trips");
                assert_eq!(node.state.version, None);
                assert_eq!(
                    node.state.run.as_ref().map(|run| run.message.as_str()),
                    Some("waiting for silver/locations")
                );

                // Locations land: the next run builds them, then trips.
                land_sample_file(&storage, "batch_001/locations.csv").await;
                let report = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("run again");
                let built: Vec<(&str, Option<i64>)> = report
                    .silver
                    .iter()
                    .filter(|run| run.waiting_for.is_none() && run.version.is_some())
                    .map(|run| (run.entity.as_str(), run.version))
                    .collect();
                assert_eq!(built, [("locations", Some(1)), ("trips", Some(1))]);
                let trips = report.silver.iter().find(|run| run.entity == "trips");
                assert_eq!(trips.map(|run| run.rows_in), Some(674));
                let cards = lakehouse.board().await.expect("board");
                assert!(cards.iter().all(|card| card.waiting_for.is_none()));
                assert_eq!(card(&cards, "silver/trips").version, 1);
                let gold = report.gold.as_ref().expect("gold");
                assert_eq!(
                    gold.result("stg_trips").map(|r| r.status),
                    Some(NodeStatus::Success)
                );
                assert_eq!(report.summary().failed, 0);
            });
    }

    #[test]
    fn a_failed_step_names_itself_and_what_stayed_committed() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                land_sample_file(&storage, "batch_001/locations.csv").await;
                land_sample_file(&storage, "batch_001/customers.csv").await;
                // A pipeline whose key is not in its output fails when it runs.
                lakehouse
                    .workspace()
                    .write("silver/locations.yml", "key: no_such_column\nsteps: []\n")
                    .await
                    .expect("write");
                let err = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect_err("the locations step fails");
                let LakehouseError::StepFailed {
                    stage,
                    table,
                    committed,
                    ..
                } = &err
                else {
                    panic!("{err:?}");
                };
                assert_eq!(
                    (*stage, table.as_str()),
                    (Stage::Silver, "silver/locations")
                );
                assert_eq!(
                    committed,
                    &[
                        "bronze/customers v1",
                        "bronze/locations v1",
                        "silver/customers v1",
                        "silver/customers_quarantine v1"
                    ]
                );
                assert_eq!(
                    err.to_string(),
                    "Silver step silver/locations failed: silver/locations.yml: \
                     no_such_column is not in the pipeline's output. Still committed from \
                     this run: bronze/customers v1, bronze/locations v1, silver/customers v1, \
                     silver/customers_quarantine v1."
                );
                // The board shows what is committed.
                let cards = lakehouse.board().await.expect("board");
                assert_eq!(card(&cards, "silver/customers").version, 1);
                // Again: nothing new is committed before the same step fails.
                let err = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect_err("fails again");
                assert!(
                    err.to_string().ends_with(
                        "is not in the pipeline's output. Nothing of this run was committed."
                    ),
                    "{err}"
                );
            });
    }

    #[test]
    fn a_new_silver_table_joins_the_silver_source_and_a_model_over_it_builds() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                let workspace = lakehouse.workspace();
                workspace
                    .write(
                        "silver/notes.yml",
                        "key: note_id\nsteps:\n  - transform: cast\n    columns:\n      \
                         note_id: bigint\n",
                    )
                    .await
                    .expect("pipeline");
                crate::landing::land_file(
                    storage.as_ref(),
                    "notes.csv",
                    None,
                    Bytes::from_static(b"note_id,Body Text\n1,hello\n2,world\n"),
                )
                .await
                .expect("land");
                let before = workspace
                    .read("models/staging/_sources.yml")
                    .await
                    .expect("sources");
                lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("run all");
                let after = workspace
                    .read("models/staging/_sources.yml")
                    .await
                    .expect("sources");
                assert!(after.starts_with(&before), "{after}");
                let added = &after[before.len()..];
                assert!(
                    added.starts_with("      - name: notes\n        description: "),
                    "{added}"
                );
                assert!(
                    added.contains(
                        "        columns:\n          - name: note_id\n            \
                         data_type: bigint\n          - name: 'Body Text'\n            \
                         data_type: varchar\n"
                    ),
                    "{added}"
                );
                let project = lakehouse.project().await.expect("project");
                assert!(project
                    .sources
                    .values()
                    .any(|source| source.source == "silver" && source.name == "notes"));
                // Joined once: the next run adds nothing.
                assert!(lakehouse.join_silver_sources().await.expect("join").is_empty());

                workspace
                    .write(
                        "models/marts/notes_report.sql",
                        "select * from {{ source('silver', 'notes') }}",
                    )
                    .await
                    .expect("model");
                let path = lakehouse.start_model("notes").await.expect("start");
                assert_eq!(path, "models/staging/stg_notes.sql");
                let text = workspace.read(&path).await.expect("staging model");
                assert!(
                    text.ends_with(
                        "select\n    note_id,\n    \"Body Text\"\nfrom {{ source('silver', 'notes') }}\n"
                    ),
                    "{text}"
                );
                let again = lakehouse.start_model("notes").await.expect_err("exists");
                assert!(again.to_string().contains("already in the project"), "{again}");
                let missing = lakehouse.start_model("nobody").await.expect_err("no table");
                assert_eq!(
                    missing.to_string(),
                    "silver/nobody does not exist yet: run Silver for it first"
                );
                let report = lakehouse
                    .run(&[Stage::Gold], &mut |_| Flow::Continue)
                    .await
                    .expect("gold");
                let gold = report.gold.expect("gold ran");
                for model in ["notes_report", "stg_notes"] {
                    let result = gold.result(model).expect(model);
                    assert_eq!(result.status, NodeStatus::Success, "{}", result.message);
                }
                let console = lakehouse.sql_console().await.expect("console");
                let output = console
                    .run(
                        "select count(*) from gold.notes_report join gold.stg_notes using (note_id)",
                        &mut || false,
                    )
                    .await
                    .expect("query");
                assert_eq!(output.rows(0, 2).rows, [[Some("2".to_owned())]]);
                // A board card for bronze/notes says it has a pipeline; one without does not.
                crate::landing::land_file(
                    storage.as_ref(),
                    "memos.csv",
                    None,
                    Bytes::from_static(b"a,b\n1,2\n"),
                )
                .await
                .expect("land");
                lakehouse
                    .run(&[Stage::Bronze], &mut |_| Flow::Continue)
                    .await
                    .expect("bronze");
                let cards = lakehouse.board().await.expect("board");
                assert!(card(&cards, "bronze/notes").has_pipeline);
                assert!(!card(&cards, "bronze/memos").has_pipeline);
            });
    }

    #[test]
    fn every_operation_says_what_it_did_in_plain_words() {
        let metrics = |inserted, updated, deleted| WriteMetrics {
            rows_inserted: inserted,
            rows_updated: updated,
            rows_deleted: deleted,
            ..WriteMetrics::default()
        };
        let other = |name: &str| Operation::Other(name.to_owned());
        for (operation, metrics, rows, want) in [
            (
                Operation::Overwrite,
                metrics(516, 0, 500),
                Some(516),
                "rebuilt: 516 rows (was 500)",
            ),
            (
                Operation::Overwrite,
                metrics(1, 0, 0),
                Some(1),
                "rebuilt: 1 row (was 0)",
            ),
            (
                other("CREATE OR REPLACE TABLE AS SELECT"),
                metrics(7, 0, 3),
                Some(7),
                "rebuilt: 7 rows (was 3)",
            ),
            (
                Operation::Merge,
                metrics(664, 1, 0),
                Some(2663),
                "merged: 664 inserted, 1 updated, 0 deleted",
            ),
            (
                Operation::Append,
                metrics(1999, 0, 0),
                Some(1999),
                "appended 1999 rows",
            ),
            (
                Operation::CreateTable,
                metrics(0, 0, 0),
                Some(500),
                "created with 500 rows",
            ),
            (
                Operation::CreateTable,
                metrics(0, 0, 0),
                None,
                "created with 0 rows",
            ),
            (
                Operation::Delete,
                metrics(0, 0, 3),
                Some(10),
                "deleted 3 rows",
            ),
            (other("OPTIMIZE"), metrics(0, 0, 0), Some(10), "optimize"),
            (
                other("UPDATE"),
                metrics(0, 2, 0),
                Some(10),
                "update: 0 written, 2 updated, 0 deleted",
            ),
        ] {
            assert_eq!(
                change_text(&operation, &metrics, rows),
                want,
                "{operation:?}"
            );
        }
    }

    #[test]
    fn a_cancelled_run_stops_between_steps_and_leaves_the_rest_untouched() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                land(&storage, 1).await;
                let all = Stage::ALL;
                let report = lakehouse
                    .run(&all, &mut |progress| {
                        if progress.stage == Stage::Silver && progress.done == 2 {
                            Flow::Cancel
                        } else {
                            Flow::Continue
                        }
                    })
                    .await
                    .expect("run");
                assert!(report.cancelled);
                assert_eq!(report.silver.len(), 2);
                assert!(report.gold.is_none());
                let tables = warehouse::list_tables(storage.as_ref())
                    .await
                    .expect("tables");
                assert!(!tables.iter().any(|t| t.starts_with("gold/")), "{tables:?}");
                // Running again finishes the work, as if nothing had stopped it.
                let report = lakehouse
                    .run(&all, &mut |_| Flow::Continue)
                    .await
                    .expect("run again");
                assert!(report.gold.expect("gold").success());
                let cards = lakehouse.board().await.expect("board");
                assert_eq!(card(&cards, "gold/fact_trips").rows, Some(1999));

                // Cancelling inside Gold stops between nodes.
                let (storage, lakehouse) = self::lakehouse();
                land(&storage, 1).await;
                let mut nodes = 0;
                let report = lakehouse
                    .run(&all, &mut |progress| {
                        if progress.stage == Stage::Gold {
                            nodes += 1;
                            if nodes == 3 {
                                return Flow::Cancel;
                            }
                        }
                        Flow::Continue
                    })
                    .await
                    .expect("run");
                assert!(report.cancelled);
                assert_eq!(report.gold.expect("gold").results.len(), 3);
            });
    }

    #[test]
    fn an_interrupted_reset_blocks_runs_until_a_second_reset_finishes_it() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
                let checkpoint: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpointStore::new());
                let over = |storage: Arc<dyn Storage>| {
                    let workspace =
                        Workspace::in_store(storage.clone(), Workspace::bundled_files());
                    Lakehouse::new(storage, checkpoint.clone(), workspace)
                };
                let lakehouse = over(storage.clone());
                land(&storage, 1).await;
                let first = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("run all");
                let board = lakehouse.board().await.expect("board");

                // The fifth delete fails: the store is half deleted.
                let failing: Arc<dyn Storage> =
                    Arc::new(crate::testing::FailingStorage::new(storage.clone(), 5, 0));
                let err = over(failing).reset().await.unwrap_err();
                assert!(err.to_string().contains("injected failure"), "{err}");
                assert!(lakehouse.reset_pending().await.expect("pending"));
                let refused = lakehouse.run(&Stage::ALL, &mut |_| Flow::Continue).await;
                assert!(
                    matches!(refused, Err(LakehouseError::ResetInterrupted)),
                    "{refused:?}"
                );

                let report = lakehouse.reset().await.expect("reset again");
                assert!(
                    report.objects > 0 && report.checkpoint_entries > 0,
                    "{report:?}"
                );
                // Only the project is left: the user's edits are not data.
                let left = storage.list("").await.expect("list");
                assert!(!left.is_empty());
                assert!(
                    left.iter()
                        .all(|object| object.path.starts_with(warehouse::PROJECT)),
                    "{left:?}"
                );
                assert!(checkpoint.scan("").await.expect("scan").is_empty());
                assert!(!lakehouse.reset_pending().await.expect("pending"));
                assert_eq!(
                    lakehouse.reset().await.expect("reset empty"),
                    ResetReport::default()
                );

                // The same batch gives the same lakehouse as before the reset.
                land(&storage, 1).await;
                let again = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("run after reset");
                assert_eq!(again.summary(), first.summary());
                let rows = |cards: Vec<TableCard>| {
                    cards
                        .into_iter()
                        .map(|card| (card.table, card.rows))
                        .collect::<Vec<_>>()
                };
                assert_eq!(rows(lakehouse.board().await.expect("board")), rows(board));
            });
    }

    #[test]
    fn the_summary_counts_files_rows_quarantine_and_tests() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                land(&storage, 1).await;
                land(&storage, 2).await;
                let report = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("run all");
                let summary = report.summary();
                let gold = report.gold.as_ref().expect("gold ran");
                assert_eq!(summary.files, 12);
                assert_eq!(summary.malformed, 1);
                assert_eq!(summary.quarantined, 3);
                assert_eq!(summary.failed, 0);
                assert_eq!(summary.tests_passed, gold.count(NodeStatus::Pass));
                assert!(summary.tests_passed > 0);
                assert_eq!(
                    summary.to_string(),
                    format!(
                        "12 files, {} rows (1 malformed); 3 rows quarantined; tests: {} passed, \
                         {} warned, 0 failed",
                        summary.rows, summary.tests_passed, summary.tests_warned
                    )
                );
            });
    }

    #[test]
    fn a_model_failing_is_an_error_node_in_the_lineage_and_its_children_are_skipped() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let (storage, lakehouse) = lakehouse();
                land(&storage, 1).await;
                let first = lakehouse
                    .run(&Stage::ALL, &mut |_| Flow::Continue)
                    .await
                    .expect("the first run");
                assert!(first.gold.as_ref().expect("gold").success());
                // An edited model in the store replaces the bundled one.
                storage
                    .put(
                        "project/models/marts/dim_location.sql",
                        Bytes::from_static(
                            b"select * from {{ ref('stg_locations') }} where no_such_column",
                        ),
                    )
                    .await
                    .expect("put");
                let mut seen = Vec::new();
                let report = lakehouse
                    .run(&Stage::ALL, &mut |progress| {
                        seen.push(progress.clone());
                        Flow::Continue
                    })
                    .await
                    .expect("run all");
                assert!(!report.gold.as_ref().expect("gold").success());
                let status = |graph: &LineageGraph, id: &str| {
                    graph
                        .node(id)
                        .and_then(|node| node.state.run.as_ref())
                        .map(|run| run.status)
                };
                let graph = lakehouse.lineage().await.expect("lineage");
                assert_eq!(status(&graph, "gold.dim_location"), Some(NodeStatus::Error));
                assert_eq!(status(&graph, "gold.fact_trips"), Some(NodeStatus::Skipped));
                assert_eq!(
                    status(&graph, "gold.dim_customer"),
                    Some(NodeStatus::Success)
                );
                assert_eq!(status(&graph, "bronze.trips"), Some(NodeStatus::Success));
                assert_eq!(
                    status(&graph, "silver.trips_quarantine"),
                    Some(NodeStatus::Success)
                );
                let message = &graph.node("gold.dim_location").expect("node").state.run;
                assert!(message
                    .as_ref()
                    .expect("run")
                    .message
                    .contains("models/marts/dim_location.sql"));
                let fact = graph.node("gold.fact_trips").expect("fact_trips");
                assert!(fact.state.rows.is_some(), "kept from the first run");
                // Its panel still shows its SQL, raw and compiled.
                let details = lakehouse
                    .node_details("gold.dim_location")
                    .await
                    .expect("details");
                assert!(details.raw_sql.is_some() && details.compiled_sql.is_some());
                // Progress named every node it ran, as the graph names them.
                assert!(seen.iter().any(|p| p.node == "gold.dim_location"));
                assert!(seen
                    .iter()
                    .all(|p| p.node.starts_with("test.") || graph.node(&p.node).is_some()));
                // The view shows one hop around a node, and every node with `all`.
                let view = lakehouse
                    .lineage_view("", Some("gold.dim_customer"), false)
                    .await
                    .expect("view");
                assert!(view.shown.contains(&"gold.fact_trips".to_owned()));
                assert!(!view.shown.contains(&"landing.trips".to_owned()));
                let all = lakehouse
                    .lineage_view("", Some("gold.dim_customer"), true)
                    .await
                    .expect("all");
                assert_eq!(all.shown.len(), all.graph.nodes.len());
                let bad = lakehouse
                    .lineage_view("nope:x", None, false)
                    .await
                    .expect("view");
                assert!(bad.select_error.is_some());
                assert_eq!(bad.shown.len(), bad.graph.nodes.len());
            });
    }
}
