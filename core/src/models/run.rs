//! Running a project: compiling nodes, materializing models, checking tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat_batches;
use arrow::compute::interleave;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use arrow::util::display::ArrayFormatter;
use bytes::Bytes;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::artifacts;
use super::config::{IncrementalStrategy, Materialization, OnSchemaChange};
use super::graph;
use super::jinja::GOLD_SCHEMA;
use super::project::{GenericTest, Node, Project, ResourceType, TestKind};
use super::snapshot::{self, SnapshotConfig};
use super::{ModelError, TARGET};
use crate::delta::{DeltaError, DeltaTable, DeltaTableProvider, MergeOptions, WriteOptions};
use crate::engine;
use crate::storage::{now_ms, Storage};
use crate::warehouse;

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
}

impl Command {
    /// dbt's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Command::Build => "build",
            Command::Run => "run",
            Command::Test => "test",
            Command::Compile => "compile",
            Command::Snapshot => "snapshot",
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// A model was built.
    Success,
    /// A model failed.
    Error,
    /// Not run because something upstream failed.
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

/// Runs a [`Project`] against the tables of one store.
#[derive(Debug)]
pub struct ModelRunner {
    storage: Arc<dyn Storage>,
    project: Project,
}

/// The store path of a model's table.
fn gold_path(name: &str) -> String {
    format!("{GOLD_SCHEMA}/{name}")
}

/// Where a test's failing rows are stored with `store_failures`.
fn audit_path(name: &str) -> String {
    format!("{GOLD_SCHEMA}/dbt_test__audit/{name}")
}

/// `sql` with CTEs put first: into its own `WITH` if it has one.
fn inject_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_owned();
    }
    let definitions = ctes
        .iter()
        .map(|(name, body)| format!("{name} as (\n{}\n)", body.trim()))
        .collect::<Vec<_>>()
        .join(",\n");
    let trimmed = sql.trim_start();
    let starts_with_with = trimmed.len() > 4
        && trimmed[..4].eq_ignore_ascii_case("with")
        && trimmed[4..].starts_with(char::is_whitespace);
    if starts_with_with {
        format!("with {definitions},\n{}", trimmed[4..].trim_start())
    } else {
        format!("with {definitions}\n{trimmed}")
    }
}

fn sql_error(node: &Node, err: impl std::fmt::Display) -> String {
    format!("{}: {err}", node.original_file_path)
}

/// A few rows of `batches` as `column=value, …` lines.
fn sample_rows(batches: &[RecordBatch], limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for batch in batches {
        let formatters: Vec<(String, ArrayFormatter<'_>, &dyn Array)> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter_map(|(field, column)| {
                ArrayFormatter::try_new(column.as_ref(), &Default::default())
                    .ok()
                    .map(|f| (field.name().clone(), f, column.as_ref()))
            })
            .collect();
        for row in 0..batch.num_rows() {
            if lines.len() >= limit {
                return lines;
            }
            lines.push(
                formatters
                    .iter()
                    .map(|(name, formatter, column)| {
                        let value = if column.is_valid(row) {
                            formatter.value(row).to_string()
                        } else {
                            "null".to_owned()
                        };
                        format!("{name}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }
    lines
}

/// The columns of `batch` in `schema`'s order: missing ones null, others dropped.
fn project_to(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => {
                arrow::compute::cast(column, field.data_type()).map_err(|e| e.to_string())
            }
            None => Ok(arrow::array::new_null_array(
                field.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// `source` with the target's values kept in every column that is not updated, for
/// rows whose key the target holds (`merge_update_columns` / `merge_exclude_columns`).
fn keep_target_columns(
    source: &RecordBatch,
    target: &RecordBatch,
    keys: &[String],
    updated: &BTreeSet<String>,
) -> Result<RecordBatch, String> {
    let key_columns = |batch: &RecordBatch| -> Result<Vec<ArrayRef>, String> {
        keys.iter()
            .map(|key| {
                batch
                    .column_by_name(key)
                    .cloned()
                    .ok_or_else(|| format!("unique_key {key} is not a column"))
            })
            .collect()
    };
    let source_keys = key_columns(source)?;
    let target_keys = key_columns(target)?;
    let converter = RowConverter::new(
        source_keys
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let target_rows = converter
        .convert_columns(
            &target_keys
                .iter()
                .zip(&source_keys)
                .map(|(t, s)| arrow::compute::cast(t, s.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
    let index: HashMap<arrow::row::Row<'_>, usize> = (0..target.num_rows())
        .map(|row| (target_rows.row(row), row))
        .collect();
    let source_rows = converter
        .convert_columns(&source_keys)
        .map_err(|e| e.to_string())?;
    let picks: Vec<Option<usize>> = (0..source.num_rows())
        .map(|row| index.get(&source_rows.row(row)).copied())
        .collect();
    let mut columns = Vec::with_capacity(source.num_columns());
    for (field, column) in source.schema().fields().iter().zip(source.columns()) {
        let kept = target.column_by_name(field.name());
        match kept {
            Some(old) if !updated.contains(field.name()) && !keys.contains(field.name()) => {
                let old =
                    arrow::compute::cast(old, field.data_type()).map_err(|e| e.to_string())?;
                let indices: Vec<(usize, usize)> = picks
                    .iter()
                    .enumerate()
                    .map(|(row, pick)| pick.map_or((0, row), |target_row| (1, target_row)))
                    .collect();
                columns.push(
                    interleave(&[column.as_ref(), old.as_ref()], &indices)
                        .map_err(|e| e.to_string())?,
                );
            }
            _ => columns.push(column.clone()),
        }
    }
    RecordBatch::try_new(source.schema(), columns).map_err(|e| e.to_string())
}

impl ModelRunner {
    /// A runner for `project` over the tables of `storage`.
    pub fn new(storage: Arc<dyn Storage>, project: Project) -> Self {
        Self { storage, project }
    }

    /// The project.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The nodes `options` select for `command`, in run order (`ls`).
    pub fn list(
        &self,
        options: &RunOptions,
        types: &[ResourceType],
    ) -> Result<Vec<&Node>, ModelError> {
        Ok(
            graph::select(&self.project, &options.select, &options.exclude, types)?
                .iter()
                .map(|id| &self.project.nodes[id])
                .collect(),
        )
    }

    /// A session with every table of the store registered as `<layer>.<name>`, and the
    /// project's sources as `<schema>.<identifier>`.
    pub async fn session(&self) -> Result<SessionContext, ModelError> {
        let session = engine::new_session();
        engine::ensure_schema(&session, GOLD_SCHEMA).map_err(|err| ModelError::Sql {
            node: GOLD_SCHEMA.to_owned(),
            detail: err.to_string(),
        })?;
        let mut paths: BTreeSet<String> = warehouse::list_tables(self.storage.as_ref())
            .await?
            .into_iter()
            .collect();
        paths.extend(self.project.source_paths());
        for path in paths {
            let Some((schema, name)) = path.split_once('/') else {
                continue;
            };
            if name.contains('/') {
                continue;
            }
            self.register(&session, schema, name).await?;
        }
        Ok(session)
    }

    /// Registers the Delta table `<schema>/<name>`, if it exists, as `<schema>.<name>`.
    async fn register(
        &self,
        session: &SessionContext,
        schema: &str,
        name: &str,
    ) -> Result<bool, ModelError> {
        let table = DeltaTable::new(self.storage.clone(), format!("{schema}/{name}"));
        if !table.exists().await? {
            return Ok(false);
        }
        let snapshot = table.snapshot().await?;
        let provider = Arc::new(DeltaTableProvider::new(table, snapshot));
        engine::register_table(session, schema, name, provider).map_err(|err| ModelError::Sql {
            node: format!("{schema}.{name}"),
            detail: err.to_string(),
        })?;
        Ok(true)
    }

    /// Whether model `name` runs incrementally now.
    async fn incremental_now(&self, node: &Node, full_refresh: bool) -> Result<bool, ModelError> {
        Ok(node.materialized == Some(Materialization::Incremental)
            && !full_refresh
            && DeltaTable::new(self.storage.clone(), gold_path(&node.name))
                .exists()
                .await?)
    }

    /// The ephemeral models `refs` reach, each once, upstream first, compiled.
    fn ephemeral_ctes(&self, refs: &BTreeSet<String>) -> Result<Vec<(String, String)>, ModelError> {
        let mut ctes: Vec<(String, String)> = Vec::new();
        let mut visit: Vec<(String, bool)> =
            refs.iter().rev().map(|r| (r.clone(), false)).collect();
        let mut seen = BTreeSet::new();
        while let Some((name, expanded)) = visit.pop() {
            let Some(node) = self.project.model(&name) else {
                continue;
            };
            if node.materialized != Some(Materialization::Ephemeral) {
                continue;
            }
            let (sql, state) = self
                .project
                .renderer
                .render(
                    &node.original_file_path,
                    &node.raw_code,
                    &name,
                    &format!("__dbt__cte__{name}"),
                    false,
                )
                .map_err(ModelError::from_jinja)?;
            if expanded {
                let cte = format!("__dbt__cte__{name}");
                if !ctes.iter().any(|(existing, _)| *existing == cte) {
                    ctes.push((cte, sql));
                }
                continue;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            visit.push((name.clone(), true));
            for upstream in state.refs.iter().rev() {
                visit.push((upstream.clone(), false));
            }
        }
        Ok(ctes)
    }

    /// The SQL of a node as it runs now, and what its render logged.
    pub async fn compile(
        &self,
        node: &Node,
        full_refresh: bool,
    ) -> Result<(String, Vec<String>), ModelError> {
        match &node.test {
            None | Some(TestKind::Singular) => {
                // A model renders with its relation and `is_incremental()`; a singular
                // test has neither.
                let (this, incremental) = match node.test {
                    None => (
                        format!("{GOLD_SCHEMA}.{}", node.name),
                        self.incremental_now(node, full_refresh).await?,
                    ),
                    Some(_) => (String::new(), false),
                };
                let (sql, state) = self
                    .project
                    .renderer
                    .render(
                        &node.original_file_path,
                        &node.raw_code,
                        &node.name,
                        &this,
                        incremental,
                    )
                    .map_err(ModelError::from_jinja)?;
                let ctes = self.ephemeral_ctes(&state.refs)?;
                Ok((inject_ctes(&sql, &ctes), state.logs))
            }
            Some(TestKind::Generic {
                test,
                attached_to,
                column,
            }) => {
                let mut refs = BTreeSet::new();
                let relation = match self.project.nodes.get(attached_to) {
                    Some(model) => {
                        refs.insert(model.name.clone());
                        if model.materialized == Some(Materialization::Ephemeral) {
                            format!("__dbt__cte__{}", model.name)
                        } else {
                            format!("{GOLD_SCHEMA}.{}", model.name)
                        }
                    }
                    None => self.project.sources[attached_to].relation(),
                };
                let model = match node.config.where_filter() {
                    Some(filter) => {
                        format!("(select * from {relation} where {filter}) dbt_subquery")
                    }
                    None => relation,
                };
                let column = column.clone().unwrap_or_default();
                let sql = match test {
                    GenericTest::Unique => format!(
                        "select {column} as unique_field, count(*) as n_records\nfrom {model}\nwhere {column} is not null\ngroup by {column}\nhaving count(*) > 1"
                    ),
                    GenericTest::NotNull => {
                        format!("select {column}\nfrom {model}\nwhere {column} is null")
                    }
                    GenericTest::AcceptedValues { values, quote } => {
                        let list = values
                            .iter()
                            .map(|value| {
                                if *quote {
                                    format!("'{}'", value.replace('\'', "''"))
                                } else {
                                    value.clone()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!(
                            "with all_values as (\n    select {column} as value_field, count(*) as n_records\n    from {model}\n    group by {column}\n)\nselect *\nfrom all_values\nwhere value_field not in ({list})"
                        )
                    }
                    GenericTest::Relationships { to, field } => {
                        let (parent, state) = self
                            .project
                            .renderer
                            .render(&node.original_file_path, &format!("{{{{ {to} }}}}"), &node.name, "", false)
                            .map_err(ModelError::from_jinja)?;
                        refs.extend(state.refs);
                        format!(
                            "with child as (\n    select {column} as from_field\n    from {model}\n    where {column} is not null\n),\nparent as (\n    select {field} as to_field\n    from {parent}\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null"
                        )
                    }
                };
                let ctes = self.ephemeral_ctes(&refs)?;
                Ok((inject_ctes(&sql, &ctes), Vec::new()))
            }
        }
    }

    /// Compiles `model` and runs its SQL, returning at most `limit` rows (`show`).
    pub async fn show(&self, model: &str, limit: usize) -> Result<Vec<RecordBatch>, ModelError> {
        let node = self
            .project
            .model(model)
            .ok_or_else(|| ModelError::UnknownModel(model.to_owned()))?;
        let (sql, _) = self.compile(node, false).await?;
        let session = self.session().await?;
        self.define_views(&session, &[]).await;
        let failed = |err: datafusion::error::DataFusionError| ModelError::Sql {
            node: node.original_file_path.clone(),
            detail: err.to_string(),
        };
        let frame = session.sql(&sql).await.map_err(failed)?;
        frame
            .limit(0, Some(limit))
            .map_err(failed)?
            .collect()
            .await
            .map_err(failed)
    }

    /// Runs `command` on the nodes `options` select, then writes the artifacts.
    pub async fn run(
        &self,
        command: Command,
        options: &RunOptions,
    ) -> Result<RunResults, ModelError> {
        self.run_observed(command, options, &mut |_, _, _| true)
            .await
    }

    /// Like [`run`](Self::run), telling `observer` each node's result with its position
    /// and the number of nodes; when the observer answers false the run stops before
    /// the next node (every node it ran is committed), and the results say so.
    pub async fn run_observed(
        &self,
        command: Command,
        options: &RunOptions,
        observer: &mut dyn FnMut(&NodeResult, usize, usize) -> bool,
    ) -> Result<RunResults, ModelError> {
        let started = now_ms();
        let types: &[ResourceType] = match command {
            Command::Build | Command::Compile => &[
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
            ],
            Command::Run => &[ResourceType::Model],
            Command::Test => &[ResourceType::Test],
            Command::Snapshot => &[ResourceType::Snapshot],
        };
        let selected = graph::select(&self.project, &options.select, &options.exclude, types)?;
        let order = self.run_order(&selected);
        let session = self.session().await?;
        // Views the selection does not rebuild are defined from their last compile.
        if command != Command::Compile {
            self.define_views(&session, &selected).await;
        }
        let mut results = Vec::new();
        let mut logs = Vec::new();
        let mut compiled = BTreeMap::new();
        let mut blocked: BTreeSet<String> = BTreeSet::new();
        let mut sources_present: BTreeMap<String, bool> = BTreeMap::new();
        let total = order
            .iter()
            .filter(|id| self.project.nodes[*id].materialized != Some(Materialization::Ephemeral))
            .count();
        let mut reported = 0;
        let mut cancelled = false;
        for id in order {
            // The previous node's result, before this node starts.
            if let Some(last) = results.get(reported) {
                reported += 1;
                if !observer(last, reported, total) {
                    cancelled = true;
                    break;
                }
            }
            let node = &self.project.nodes[&id];
            if node.materialized == Some(Materialization::Ephemeral) {
                if let Ok((sql, _)) = self.compile(node, options.full_refresh).await {
                    compiled.insert(id.clone(), sql);
                }
                continue;
            }
            let node_started = now_ms();
            let mut result = NodeResult {
                unique_id: id.clone(),
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
                started_ms: node_started,
                completed_ms: node_started,
            };
            if let Some(upstream) = node
                .depends_on
                .iter()
                .find(|parent| blocked.contains(*parent))
            {
                result.message = format!("skipped: {upstream} failed upstream");
                blocked.insert(id.clone());
                results.push(result);
                continue;
            }
            if command != Command::Compile {
                if let Some(missing) = self.missing_source(node, &mut sources_present).await? {
                    result.status = NodeStatus::Error;
                    result.message = missing;
                    result.completed_ms = now_ms();
                    blocked.insert(id.clone());
                    results.push(result);
                    continue;
                }
            }
            match self.compile(node, options.full_refresh).await {
                Err(err) => {
                    result.status = NodeStatus::Error;
                    result.message = err.to_string();
                }
                Ok((sql, node_logs)) => {
                    logs.extend(node_logs);
                    self.write_compiled(node, &sql).await?;
                    compiled.insert(id.clone(), sql.clone());
                    result.compiled_code = sql.clone();
                    if command == Command::Compile {
                        result.status = NodeStatus::Success;
                        result.message = "compiled".to_owned();
                    } else if node.resource_type == ResourceType::Snapshot {
                        result.relation_name = Some(format!("{GOLD_SCHEMA}.{}", node.name));
                        match self.snapshot(&session, node, &sql).await {
                            Ok((rows, message)) => {
                                result.status = NodeStatus::Success;
                                result.rows_affected = Some(rows);
                                result.message = message;
                            }
                            Err(message) => {
                                result.status = NodeStatus::Error;
                                result.message = sql_error(node, message);
                            }
                        }
                    } else if node.resource_type == ResourceType::Model {
                        result.relation_name = Some(format!("{GOLD_SCHEMA}.{}", node.name));
                        match self
                            .materialize(&session, node, &sql, options.full_refresh)
                            .await
                        {
                            Ok((rows, message)) => {
                                result.status = NodeStatus::Success;
                                result.rows_affected = rows;
                                result.message = message;
                            }
                            Err(message) => {
                                result.status = NodeStatus::Error;
                                result.message = message;
                            }
                        }
                    } else {
                        self.check(&session, node, &sql, &mut result).await;
                    }
                }
            }
            result.completed_ms = now_ms();
            match result.status {
                NodeStatus::Error => {
                    blocked.insert(id.clone());
                }
                // A failing test stops what depends on the node it tests.
                NodeStatus::Fail if command == Command::Build => {
                    blocked.insert(id.clone());
                    if let Some(TestKind::Generic { attached_to, .. }) = &node.test {
                        self.block_descendants(attached_to, &mut blocked);
                    }
                }
                _ => {}
            }
            results.push(result);
        }
        if let (Some(last), false) = (results.get(reported), cancelled) {
            observer(last, reported + 1, total);
        }
        let run = RunResults {
            command,
            results,
            elapsed_ms: now_ms() - started,
            logs,
            cancelled,
        };
        artifacts::write(
            self.storage.as_ref(),
            &self.project,
            &compiled,
            &run,
            options,
        )
        .await?;
        Ok(run)
    }

    /// Why `node` cannot run because a source table it reads is not in the store, if so.
    async fn missing_source(
        &self,
        node: &Node,
        present: &mut BTreeMap<String, bool>,
    ) -> Result<Option<String>, ModelError> {
        for id in &node.depends_on {
            let Some(source) = self.project.sources.get(id) else {
                continue;
            };
            let path = format!("{}/{}", source.schema, source.identifier);
            let exists = match present.get(&path) {
                Some(exists) => *exists,
                None => {
                    let exists = DeltaTable::new(self.storage.clone(), path.clone())
                        .exists()
                        .await?;
                    present.insert(path.clone(), exists);
                    exists
                }
            };
            if !exists {
                return Ok(Some(format!(
                    "{}: source {}.{} is the Delta table {path}, which does not exist yet",
                    node.original_file_path, source.source, source.name
                )));
            }
        }
        Ok(None)
    }

    /// Marks every model and test downstream of `id` (not `id` itself) as blocked.
    fn block_descendants(&self, id: &str, blocked: &mut BTreeSet<String>) {
        let mut frontier = vec![id.to_owned()];
        while let Some(parent) = frontier.pop() {
            for node in self.project.nodes.values() {
                let is_own_test = node.resource_type == ResourceType::Test && parent == id;
                if node.depends_on.contains(&parent)
                    && !is_own_test
                    && blocked.insert(node.unique_id.clone())
                {
                    frontier.push(node.unique_id.clone());
                }
            }
        }
    }

    /// The selected nodes with each model's tests right after it (as `dbt build` runs
    /// them), and tests of sources first.
    fn run_order(&self, selected: &[String]) -> Vec<String> {
        let chosen: BTreeSet<&String> = selected.iter().collect();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut pending: Vec<&String> = selected
            .iter()
            .filter(|id| self.project.nodes[*id].resource_type == ResourceType::Test)
            .collect();
        let mut order = Vec::with_capacity(selected.len());
        let flush =
            |done: &mut BTreeSet<String>, pending: &mut Vec<&String>, order: &mut Vec<String>| {
                pending.retain(|test| {
                    let ready = self.project.nodes[*test]
                        .depends_on
                        .iter()
                        .all(|parent| !chosen.contains(parent) || done.contains(parent));
                    if ready {
                        order.push((*test).clone());
                        done.insert((*test).clone());
                    }
                    !ready
                });
            };
        flush(&mut done, &mut pending, &mut order);
        for id in selected {
            if self.project.nodes[id].resource_type == ResourceType::Test {
                continue;
            }
            order.push(id.clone());
            done.insert(id.clone());
            flush(&mut done, &mut pending, &mut order);
        }
        order.extend(pending.into_iter().cloned());
        order
    }

    /// Defines in the session every view model not selected, from its compiled SQL,
    /// upstream first; one whose inputs are missing is left out.
    async fn define_views(&self, session: &SessionContext, selected: &[String]) {
        let Ok(order) = graph::topological_order(&self.project) else {
            return;
        };
        for id in order {
            let node = &self.project.nodes[&id];
            if node.materialized != Some(Materialization::View) || selected.contains(&id) {
                continue;
            }
            if let Ok((sql, _)) = self.compile(node, false).await {
                let statement = format!(
                    "CREATE OR REPLACE VIEW {GOLD_SCHEMA}.{} AS {sql}",
                    node.name
                );
                let _ = session.sql(&statement).await;
            }
        }
    }

    async fn write_compiled(&self, node: &Node, sql: &str) -> Result<(), ModelError> {
        let path = match &node.test {
            Some(TestKind::Generic { .. }) => format!(
                "{TARGET}/compiled/{}/{}/{}.sql",
                self.project.name, node.original_file_path, node.name
            ),
            _ => format!(
                "{TARGET}/compiled/{}/{}",
                self.project.name, node.original_file_path
            ),
        };
        self.storage.put(&path, Bytes::from(sql.to_owned())).await?;
        Ok(())
    }

    /// Runs a test's query: its rows are failures.
    async fn check(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
        result: &mut NodeResult,
    ) {
        let rows = match session.sql(sql).await {
            Ok(frame) => frame.collect().await,
            Err(err) => Err(err),
        };
        let batches = match rows {
            Ok(batches) => batches,
            Err(err) => {
                result.status = NodeStatus::Error;
                result.message = sql_error(node, err);
                return;
            }
        };
        let failures: usize = batches.iter().map(RecordBatch::num_rows).sum();
        result.failures = Some(failures as u64);
        result.failing_rows = sample_rows(&batches, 5);
        if node.config.store_failures() {
            if let Err(err) = self.store_failures(node, &batches).await {
                result.status = NodeStatus::Error;
                result.message = format!("storing the failures: {err}");
                return;
            }
            result.relation_name = Some(format!("{GOLD_SCHEMA}.dbt_test__audit.{}", node.name));
        }
        let rows = if failures == 1 { "row" } else { "rows" };
        (result.status, result.message) = match (failures, node.config.warn_only()) {
            (0, _) => (NodeStatus::Pass, "pass".to_owned()),
            (n, true) => (
                NodeStatus::Warn,
                format!("Got {n} {rows}, configured to warn if != 0"),
            ),
            (n, false) => (
                NodeStatus::Fail,
                format!("Got {n} {rows}, configured to fail if != 0"),
            ),
        };
    }

    async fn store_failures(&self, node: &Node, batches: &[RecordBatch]) -> Result<(), DeltaError> {
        let Some(first) = batches.first() else {
            return self
                .write_table(&audit_path(&node.name), &[], None)
                .await
                .map(|_| ());
        };
        let schema = first.schema();
        self.write_table(&audit_path(&node.name), batches, Some(schema))
            .await
            .map(|_| ())
    }

    /// Overwrites (or creates) the table at `path` with `batches`, its schema replaced.
    async fn write_table(
        &self,
        path: &str,
        batches: &[RecordBatch],
        schema: Option<SchemaRef>,
    ) -> Result<u64, DeltaError> {
        let table = DeltaTable::new(self.storage.clone(), path);
        let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
        if !table.exists().await? {
            table.create(&schema, Default::default()).await?;
        }
        let data = if batches.is_empty() {
            vec![RecordBatch::new_empty(schema)]
        } else {
            batches.to_vec()
        };
        let outcome = table
            .overwrite(
                &data,
                WriteOptions {
                    overwrite_schema: true,
                    ..Default::default()
                },
            )
            .await?;
        Ok(outcome.metrics.rows_inserted)
    }

    /// Runs a snapshot: compares the source's rows with the current versions and
    /// merges the changes on the scd id. Returns the versions written and a message.
    async fn snapshot(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
    ) -> Result<(u64, String), String> {
        let config = SnapshotConfig::from_config(&node.config)?;
        let frame = session.sql(sql).await.map_err(|err| err.to_string())?;
        let schema: SchemaRef = frame.schema().inner().clone();
        let batches = frame.collect().await.map_err(|err| err.to_string())?;
        let source = concat_batches(&schema, &batches).map_err(|e| e.to_string())?;
        let valid_to_current = match &config.valid_to_current {
            None => None,
            Some(expression) => {
                // Evaluated as written, then cast by Arrow: SQL's timestamp is in
                // nanoseconds and cannot hold the far-future dates this usually is.
                let query = format!("select {expression} as v");
                let rows = engine::query(session, &query)
                    .await
                    .map_err(|e| format!("dbt_valid_to_current: {e}"))?;
                let value = rows
                    .first()
                    .filter(|batch| batch.num_rows() == 1)
                    .map(|batch| {
                        arrow::compute::cast(
                            batch.column(0),
                            &arrow::datatypes::DataType::Timestamp(
                                arrow::datatypes::TimeUnit::Microsecond,
                                Some("UTC".into()),
                            ),
                        )
                    })
                    .transpose()
                    .map_err(|e| e.to_string())?
                    .and_then(|array| {
                        array
                            .as_any()
                            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                            .and_then(|values| values.is_valid(0).then(|| values.value(0)))
                    })
                    .ok_or("dbt_valid_to_current is not a timestamp")?;
                Some(value)
            }
        };
        let table = DeltaTable::new(self.storage.clone(), gold_path(&node.name));
        let exists = table.exists().await.map_err(|e| e.to_string())?;
        let existing = if exists {
            let snapshot = table.snapshot().await.map_err(|e| e.to_string())?;
            let columns: Vec<String> = snapshot
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            Some(
                table
                    .read_columns(&snapshot, &columns)
                    .await
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        let now = now_ms() * 1000;
        let changes = snapshot::plan(&config, existing.as_ref(), &source, now, valid_to_current)?;
        let written = (changes.inserted + changes.closed) as u64;
        if !exists {
            let schema = changes
                .batches
                .first()
                .map(|batch| batch.schema())
                .ok_or("the source returned no rows to snapshot")?;
            table
                .create(&schema, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            table
                .append(&changes.batches, WriteOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        } else if !changes.batches.is_empty() {
            table
                .merge(
                    &changes.batches,
                    MergeOptions {
                        keys: vec![config.meta.scd_id.clone()],
                        merge_schema: true,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        self.register(session, GOLD_SCHEMA, &node.name)
            .await
            .map_err(|err| err.to_string())?;
        Ok((
            written,
            format!(
                "SNAPSHOT ({} new, {} closed)",
                changes.inserted, changes.closed
            ),
        ))
    }

    /// Builds a model; returns the rows written and a message, or the error.
    async fn materialize(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
        full_refresh: bool,
    ) -> Result<(Option<u64>, String), String> {
        let materialized = node.materialized.unwrap_or(Materialization::View);
        if materialized == Materialization::View {
            let statement = format!(
                "CREATE OR REPLACE VIEW {GOLD_SCHEMA}.{} AS {sql}",
                node.name
            );
            session
                .sql(&statement)
                .await
                .map_err(|err| sql_error(node, err))?;
            return Ok((None, "CREATE VIEW".to_owned()));
        }
        let frame = session.sql(sql).await.map_err(|err| sql_error(node, err))?;
        let schema: SchemaRef = frame.schema().inner().clone();
        let batches = frame.collect().await.map_err(|err| sql_error(node, err))?;
        let incremental = materialized == Materialization::Incremental
            && self
                .incremental_now(node, full_refresh)
                .await
                .map_err(|err| err.to_string())?;
        let path = gold_path(&node.name);
        let message = if incremental {
            self.apply_increment(node, &path, schema, &batches)
                .await
                .map_err(|err| sql_error(node, err))?
        } else {
            let rows = self
                .write_table(&path, &batches, Some(schema))
                .await
                .map_err(|err| sql_error(node, err))?;
            (Some(rows), format!("CREATE TABLE ({rows} rows)"))
        };
        self.register(session, GOLD_SCHEMA, &node.name)
            .await
            .map_err(|err| err.to_string())?;
        Ok(message)
    }

    /// Adds an incremental model's new rows to its table, by its strategy and
    /// `on_schema_change`.
    async fn apply_increment(
        &self,
        node: &Node,
        path: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(Option<u64>, String), String> {
        let config = &node.config;
        let strategy = config.incremental_strategy()?;
        let on_schema_change = config.on_schema_change()?;
        let table = DeltaTable::new(self.storage.clone(), path);
        let snapshot = table.snapshot().await.map_err(|e| e.to_string())?;
        let target = snapshot.schema().clone();
        let new: BTreeSet<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let old: BTreeSet<&str> = target.fields().iter().map(|f| f.name().as_str()).collect();
        let added: Vec<&str> = new.difference(&old).copied().collect();
        let removed: Vec<&str> = old.difference(&new).copied().collect();
        let data = concat_batches(&schema, batches).map_err(|e| e.to_string())?;
        let (data, merge_schema) = match on_schema_change {
            OnSchemaChange::Ignore => (project_to(&data, &target)?, false),
            OnSchemaChange::Fail if !added.is_empty() || !removed.is_empty() => {
                return Err(format!(
                    "The source and target schemas on this incremental model are out of sync: added {added:?}, removed {removed:?} (on_schema_change: fail)"
                ))
            }
            OnSchemaChange::Fail | OnSchemaChange::AppendNewColumns => (data, true),
            OnSchemaChange::SyncAllColumns => {
                if !removed.is_empty() {
                    let kept: Vec<String> = target
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .filter(|name| !removed.contains(&name.as_str()))
                        .collect();
                    let rows = table
                        .read_columns(&snapshot, &kept)
                        .await
                        .map_err(|e| e.to_string())?;
                    table
                        .overwrite(
                            &[rows],
                            WriteOptions {
                                overwrite_schema: true,
                                ..Default::default()
                            },
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                }
                (data, true)
            }
        };
        let keys = config.unique_key();
        let predicate = {
            let predicates: Vec<String> = config
                .incremental_predicates()
                .iter()
                .map(|p| format!("({})", p.replace("DBT_INTERNAL_DEST.", "")))
                .collect();
            (!predicates.is_empty()).then(|| predicates.join(" AND "))
        };
        let outcome = match strategy {
            _ if keys.is_empty() || strategy == IncrementalStrategy::Append => table
                .append(
                    &[data],
                    WriteOptions {
                        merge_schema,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?,
            IncrementalStrategy::Merge => {
                let update = config.merge_update_columns();
                let exclude = config.merge_exclude_columns();
                let data = if update.is_empty() && exclude.is_empty() {
                    data
                } else {
                    let updated: BTreeSet<String> = data
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .filter(|name| update.is_empty() || update.contains(name))
                        .filter(|name| !exclude.contains(name))
                        .collect();
                    let snapshot = table.snapshot().await.map_err(|e| e.to_string())?;
                    let columns: Vec<String> = snapshot
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    let key = data
                        .column_by_name(&keys[0])
                        .cloned()
                        .ok_or_else(|| format!("unique_key {} is not a column", keys[0]))?;
                    let existing = table
                        .read_columns_for_keys(&snapshot, &columns, &keys[0], &key)
                        .await
                        .map_err(|e| e.to_string())?;
                    keep_target_columns(&data, &existing, &keys, &updated)?
                };
                table
                    .merge(
                        &[data],
                        MergeOptions {
                            keys,
                            merge_schema,
                            target_predicate: predicate,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?
            }
            IncrementalStrategy::DeleteInsert | IncrementalStrategy::Append => table
                .merge(
                    &[data],
                    MergeOptions {
                        keys,
                        merge_schema,
                        duplicate_source_keys: true,
                        target_predicate: predicate,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?,
        };
        let metrics = outcome.metrics;
        let rows = metrics.rows_inserted + metrics.rows_updated;
        Ok((
            Some(rows),
            format!(
                "{} ({} new, {} updated)",
                match strategy {
                    IncrementalStrategy::Append => "APPEND",
                    IncrementalStrategy::Merge => "MERGE",
                    IncrementalStrategy::DeleteInsert => "DELETE+INSERT",
                },
                metrics.rows_inserted,
                metrics.rows_updated
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctes_go_into_an_existing_with_or_before_the_select() {
        let ctes = vec![("__dbt__cte__a".to_owned(), "select 1 as x".to_owned())];
        assert_eq!(
            inject_ctes("select * from __dbt__cte__a", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n)\nselect * from __dbt__cte__a"
        );
        assert_eq!(
            inject_ctes("  WITH b as (select 2)\nselect * from b, __dbt__cte__a", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n),\nb as (select 2)\nselect * from b, __dbt__cte__a"
        );
        assert_eq!(inject_ctes("select 1", &[]), "select 1");
        assert_eq!(
            inject_ctes("without_with", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n)\nwithout_with"
        );
    }
}
