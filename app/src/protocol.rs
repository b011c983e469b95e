//! The typed messages between the page and the pipeline's Web Worker, sent as JSON.

use medallion_core::editor::{CompiledFile, Completions, StepResult};
use medallion_core::explorer::{CheckpointEntry, RowWindow, TableView};
use medallion_core::history::{KeyHistory, KeyMatch, Scd2Relation};
use medallion_core::lakehouse::PipelinePreview;
use medallion_core::lakehouse::{
    LineageView, RunProgress, RunSummary, SilverView, Stage, TableCard,
};
use medallion_core::lineage::{ColumnLineage, NodeDetails};
use medallion_core::silver::{PipelineDraft, PipelineProposal};
use medallion_core::sql::dashboard::Dashboard;
use medallion_core::sql::{QuerySummary, ResultRows, SqlFailure, SqlTable};
use medallion_core::warehouse::ExportFormat;
use medallion_core::workspace::{FileDiff, FileStatus, ProjectFile};
use serde::{Deserialize, Serialize};

use crate::status::EnvironmentStatus;

/// What the page asks the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Land the bundled sample's batch `batch` (1 to 4).
    LoadSample { batch: usize },
    /// Generate `trips` trips (and their customers, drivers, …) and land them.
    Generate { trips: usize },
    /// Land a dropped file, as `entity` if given (else the file name's); its bytes
    /// travel beside this message (a `File`).
    LandFile {
        name: String,
        entity: Option<String>,
    },
    /// Send the files waiting in the landing zone.
    Landing,
    /// Run these stages.
    Run { stages: Vec<Stage> },
    /// Stop the running run before its next step.
    Cancel,
    /// Send the board.
    Board,
    /// Delete every table, landing file and checkpoint entry.
    Reset,
    /// Describe `table` as of `version` (the latest if none).
    Explore { table: String, version: Option<i64> },
    /// Send rows `offset..offset + limit` of `table` at `version`.
    Rows {
        table: String,
        version: i64,
        offset: u64,
        limit: usize,
    },
    /// Send the actions of `table`'s commit `version`.
    Commit { table: String, version: i64 },
    /// Send the checkpoint's streams, and the entries of `stream` if given.
    Checkpoints { stream: Option<String> },
    /// Probe OPFS, IndexedDB and the SQL engine.
    Environment,
    /// Export `table` at `version` as a file; its bytes travel beside the reply.
    Export {
        table: String,
        version: i64,
        format: ExportFormat,
    },
    /// Send a lineage node's details.
    NodeDetails { id: String },
    /// Send the upstream columns of `node`'s `column`.
    ColumnLineage { node: String, column: String },
    /// Send the lineage graph: the nodes `select` picks (all if empty), only those one
    /// hop around `focus` unless `all`, laid out.
    Lineage {
        select: String,
        focus: Option<String>,
        all: bool,
    },
    /// Run one SQL statement; the worker keeps its result for paging and export. A
    /// [`Request::Cancel`] stops it.
    Query { sql: String },
    /// Send rows `offset..offset + limit` of the last query's result.
    QueryRows { offset: u64, limit: usize },
    /// Export the last query's result as a file; its bytes travel beside the reply
    /// ([`Reply::Export`]).
    QueryExport { format: ExportFormat },
    /// Send every table and view the SQL console knows, with its columns.
    SqlTables,
    /// Send the Gold dashboard.
    Dashboard,
    /// Send the project's files ([`Reply::ProjectTree`]).
    ProjectTree,
    /// Send a project file's text ([`Reply::File`]).
    ReadFile { path: String },
    /// Write a project file (create or replace); the tree comes back.
    SaveFile { path: String, text: String },
    /// Create a project file, which must not exist yet; the tree comes back.
    CreateFile { path: String, text: String },
    /// Delete a project file; the tree comes back.
    DeleteFile { path: String },
    /// Rename a project file; the tree comes back.
    RenameFile { from: String, to: String },
    /// Put a bundled file back as it shipped, or delete an added one; the tree comes
    /// back.
    RevertFile { path: String },
    /// Put the whole project back as it shipped; the tree comes back.
    RevertProject,
    /// Send a file's diff against the bundled file ([`Reply::Diff`]).
    DiffFile { path: String },
    /// Compile `path` as if its text were `text` (unsaved) ([`Reply::Compiled`]).
    Compile { path: String, text: String },
    /// Send what autocomplete offers ([`Reply::Completions`]).
    Completions,
    /// Run model `path`'s SELECT (of the unsaved `text`) with at most `limit` rows, as
    /// a SQL query whose rows [`Request::QueryRows`] pages ([`Reply::Query`] or
    /// [`Reply::QueryFailed`]).
    Preview {
        path: String,
        text: String,
        limit: usize,
    },
    /// Build from the saved file `path` ([`Reply::Progress`]s, then
    /// [`Reply::BuildDone`]); a [`Request::Cancel`] stops it before its next step.
    Build { path: String },
    /// Export the project as a zip; its bytes travel beside the reply
    /// ([`Reply::Export`]).
    ExportProject,
    /// Replace the project by a zip, whose bytes travel beside this message (a
    /// `File`); the tree comes back.
    ImportZip { name: String },
    /// Replace the project by a picked folder's files: their paths from the folder, the
    /// `File`s beside this message in a JS `Array`, in the same order; the tree comes
    /// back.
    ImportFolder { paths: Vec<String> },
    /// Send the relations that keep versions of a key ([`Reply::Scd2Relations`]).
    Scd2Relations,
    /// Send the keys of `relation` matching `query`, an id or any attribute's text
    /// ([`Reply::Scd2Matches`]).
    Scd2Search { relation: String, query: String },
    /// Send every version of `relation`'s `key` ([`Reply::Scd2History`]).
    Scd2History { relation: String, key: String },
    /// Send an entity's Silver pipeline, last run and quarantine ([`Reply::SilverView`]).
    SilverView { entity: String },
    /// Switch a step of an entity's pipeline on or off; the view comes back.
    SetStepEnabled {
        entity: String,
        step: String,
        enabled: bool,
    },
    /// Bring back the entity's declared pipeline; the view comes back.
    RestorePipeline { entity: String },
    /// Rerun the entity's Silver with a full refresh ([`Reply::Progress`]es, then
    /// [`Reply::RunDone`]); a [`Request::Cancel`] stops it before its next step.
    RerunSilver { entity: String },
    /// Propose a Silver pipeline for an entity that has none
    /// ([`Reply::PipelineProposal`]).
    ProposePipeline { entity: String },
    /// Send the YAML and steps of an edited draft, or why it is not a pipeline
    /// ([`Reply::PipelinePreview`]).
    PreviewPipeline { draft: PipelineDraft },
    /// Save the draft as `silver/<entity>.yml`, then run Silver and Gold so the new
    /// table is built and joins the sources ([`Reply::Progress`]es, [`Reply::RunDone`],
    /// then [`Reply::PipelineSaved`]).
    SavePipeline { draft: PipelineDraft },
    /// Create a staging model over the entity's Silver table ([`Reply::ModelStarted`]).
    StartModel { entity: String },
}

/// What the worker tells the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The worker has opened the stores and takes requests.
    Ready,
    /// A step of a run finished.
    Progress { progress: RunProgress },
    /// Files landed.
    Landed { files: Vec<String> },
    /// The files waiting in the landing zone: path and size.
    Landing { files: Vec<(String, u64)> },
    /// A run ended.
    RunDone { summary: RunSummary },
    /// Every table with its last change.
    Board { cards: Vec<TableCard> },
    /// A table as of one version.
    Table { view: TableView },
    /// Some rows of a table.
    Rows { window: RowWindow },
    /// A commit's actions, pretty JSON.
    Commit {
        table: String,
        version: i64,
        json: String,
    },
    /// The checkpoint's streams (name, keys) and the entries of the stream asked for.
    Checkpoints {
        streams: Vec<(String, usize)>,
        stream: Option<String>,
        entries: Vec<CheckpointEntry>,
    },
    /// What the browser offers the worker.
    Environment { status: EnvironmentStatus },
    /// An exported file, to save as `file_name`; its bytes travel beside this message.
    Export { file_name: String },
    /// The lineage graph as asked for.
    Lineage { view: Box<LineageView> },
    /// A lineage node's details.
    NodeDetails { details: Box<NodeDetails> },
    /// A column's upstream columns.
    ColumnLineage { lineage: ColumnLineage },
    /// A query ran: its summary (rows, time, columns, plan).
    Query { summary: Box<QuerySummary> },
    /// Some rows of the last query's result.
    QueryRows { rows: ResultRows },
    /// A query failed or was cancelled.
    QueryFailed { failure: SqlFailure },
    /// Every table and view of the SQL console.
    SqlTables { tables: Vec<SqlTable> },
    /// The Gold dashboard's figures and charts.
    Dashboard { dashboard: Box<Dashboard> },
    /// The project's files, with their status against the bundled project.
    ProjectTree { files: Vec<ProjectFile> },
    /// A project file's text.
    File {
        path: String,
        text: String,
        status: FileStatus,
    },
    /// A file's diff against the bundled file.
    Diff { diff: FileDiff },
    /// A file compiled as typed: its SQL and diagnostics.
    Compiled { compiled: CompiledFile },
    /// What autocomplete offers.
    Completions { completions: Completions },
    /// A build ended: its summary and every step's result.
    BuildDone {
        summary: RunSummary,
        results: Vec<StepResult>,
    },
    /// Something failed; the worker keeps working.
    Error { message: String },
    /// The relations that keep versions of a key.
    Scd2Relations { relations: Vec<Scd2Relation> },
    /// The keys of `relation` matching `query`.
    Scd2Matches {
        relation: String,
        query: String,
        matches: Vec<KeyMatch>,
    },
    /// Every version of one key.
    Scd2History { history: Box<KeyHistory> },
    /// An entity's Silver pipeline, its last run and its quarantine.
    SilverView { view: Box<SilverView> },
    /// The proposed pipeline of an entity without one.
    PipelineProposal { proposal: Box<PipelineProposal> },
    /// An edited draft's YAML and steps, or why it is not a pipeline.
    PipelinePreview {
        entity: String,
        preview: Box<PipelinePreview>,
    },
    /// A draft was saved as the project file `path` (and its run ended).
    PipelineSaved { entity: String, path: String },
    /// A staging model was created at the project path `path`.
    ModelStarted { path: String },
}

impl Request {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Reply {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
