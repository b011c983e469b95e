//! Running a project: the DAG's nodes in order, each compiled (`compile`) then
//! materialized or checked (`materialize`), and the artifacts written.

mod catalog;
mod compile;
mod materialize;
mod results;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use arrow::util::display::ArrayFormatter;
use datafusion::prelude::SessionContext;

pub use results::{Command, NodeResult, NodeStatus, RunOptions, RunResults};

use super::artifacts;
use super::config::{HookKind, Materialization};
use super::graph;
use super::jinja::GOLD_SCHEMA;
use super::project::{Node, Project, ResourceType, TestKind};
use super::ModelError;
use crate::delta::{DeltaError, DeltaTable, DeltaTableProvider};
use crate::engine;
use crate::storage::{now_ms, Storage};
use crate::warehouse;

/// Runs a [`Project`] against the tables of one store.
#[derive(Debug)]
pub struct ModelRunner {
    storage: Arc<dyn Storage>,
    project: Project,
}

/// What a run has done so far, node by node.
#[derive(Debug, Default)]
struct Progress {
    /// Each node's result, in run order.
    results: Vec<NodeResult>,
    /// Lines the models passed to `log()`.
    logs: Vec<String>,
    /// Each compiled node's SQL, by unique id.
    compiled: BTreeMap<String, String>,
    /// Nodes that failed or are downstream of a failure.
    blocked: BTreeSet<String>,
    /// Nodes that wait for a source table not in the store yet, or are downstream of
    /// one: the table they wait for, by unique id.
    waiting: BTreeMap<String, String>,
    /// Whether each source table's store path holds a table, once asked.
    sources_present: BTreeMap<String, bool>,
}

/// The statements of a hook's SQL (none if it is blank): split where `;` ends one, as
/// sqlparser reads them, or the whole text if it does not parse (for DataFusion's
/// error).
fn statements(sql: &str) -> Vec<String> {
    use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Vec::new();
    }
    match Parser::parse_sql(&GenericDialect {}, sql) {
        Ok(parsed) => parsed.iter().map(ToString::to_string).collect(),
        Err(_) => vec![sql.to_owned()],
    }
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
        engine::ensure_schema(&session, GOLD_SCHEMA).map_err(|source| ModelError::Session {
            relation: GOLD_SCHEMA.to_owned(),
            source,
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
            self.register(&session, schema, name, None).await?;
        }
        Ok(session)
    }

    /// Registers the Delta table `<schema>/<name>`, if it exists, as `<schema>.<name>`;
    /// its errors name `node`, the node that built it, if one did.
    async fn register(
        &self,
        session: &SessionContext,
        schema: &str,
        name: &str,
        node: Option<&Node>,
    ) -> Result<bool, ModelError> {
        let delta_error = |err: DeltaError| match node {
            Some(node) => node.delta_error(err),
            None => ModelError::Table(err),
        };
        let table = DeltaTable::new(self.storage.clone(), format!("{schema}/{name}"));
        if !table.exists().await.map_err(delta_error)? {
            return Ok(false);
        }
        let snapshot = table.snapshot().await.map_err(delta_error)?;
        let provider = Arc::new(DeltaTableProvider::new(table, snapshot));
        engine::register_table(session, schema, name, provider).map_err(|source| match node {
            Some(node) => node.sql_error(source),
            None => ModelError::Session {
                relation: format!("{schema}.{name}"),
                source,
            },
        })?;
        Ok(true)
    }

    /// Whether model `name` runs incrementally now.
    pub(super) async fn incremental_now(
        &self,
        node: &Node,
        full_refresh: bool,
    ) -> Result<bool, ModelError> {
        Ok(node.materialized == Some(Materialization::Incremental)
            && !full_refresh
            && DeltaTable::new(self.storage.clone(), warehouse::gold_table(&node.name))
                .exists()
                .await
                .map_err(|err| node.delta_error(err))?)
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
        let selected = graph::select(
            &self.project,
            &options.select,
            &options.exclude,
            command.resource_types(),
        )?;
        let order = self.run_order(&selected);
        let session = self.session().await?;
        // Views the selection does not rebuild are defined from their last compile.
        if command != Command::Compile {
            self.define_views(&session, &selected).await;
        }
        let total = order
            .iter()
            .filter(|id| self.project.nodes[*id].materialized != Some(Materialization::Ephemeral))
            .count();
        let mut progress = Progress::default();
        let mut reported = 0;
        let mut cancelled = false;
        for id in order {
            // The previous node's result, before this node starts.
            if let Some(last) = progress.results.get(reported) {
                reported += 1;
                if !observer(last, reported, total) {
                    cancelled = true;
                    break;
                }
            }
            let node = &self.project.nodes[&id];
            self.run_node(command, options, &session, node, &mut progress)
                .await?;
        }
        if let (Some(last), false) = (progress.results.get(reported), cancelled) {
            observer(last, reported + 1, total);
        }
        let run = RunResults {
            command,
            results: progress.results,
            elapsed_ms: now_ms() - started,
            logs: progress.logs,
            cancelled,
        };
        // dbt's catalog describes the relations a run built or changed.
        let catalog = match command {
            Command::Build | Command::Run | Command::Snapshot | Command::Seed => {
                Some(self.catalog(&session).await)
            }
            Command::Test | Command::Compile => None,
        };
        artifacts::write(
            self.storage.as_ref(),
            &self.project,
            &progress.compiled,
            &run,
            options,
            catalog.as_ref(),
        )
        .await?;
        Ok(run)
    }

    /// Runs one node of the DAG: compiles it (an ephemeral only compiles), unless
    /// something upstream failed or a source it reads (or an upstream node reads) is not
    /// built yet (the node is skipped, `waiting for silver/customers`), then builds,
    /// snapshots or checks it, and records its result.
    async fn run_node(
        &self,
        command: Command,
        options: &RunOptions,
        session: &SessionContext,
        node: &Node,
        progress: &mut Progress,
    ) -> Result<(), ModelError> {
        let id = &node.unique_id;
        if node.materialized == Some(Materialization::Ephemeral) {
            // What reads an ephemeral reads its sources: it waits with it.
            if let Some((_, table)) = self.waiting(command, node, progress).await? {
                progress.waiting.insert(id.clone(), table);
            }
            if let Ok((sql, _)) = self.compile(node, options.full_refresh).await {
                progress.compiled.insert(id.clone(), sql);
            }
            return Ok(());
        }
        let mut result = NodeResult::start(node, now_ms());
        if let Some(upstream) = node
            .depends_on
            .iter()
            .find(|parent| progress.blocked.contains(*parent))
        {
            result.message = format!("skipped: {upstream} failed upstream");
            progress.blocked.insert(id.clone());
            progress.results.push(result);
            return Ok(());
        }
        let waiting = self.waiting(command, node, progress).await?;
        if let Some((message, table)) = waiting {
            progress.waiting.insert(id.clone(), table);
            result.message = message;
            result.completed_ms = now_ms();
            progress.results.push(result);
            return Ok(());
        }
        match self.compile(node, options.full_refresh).await {
            Err(err) => result.fail(&err),
            Ok((sql, node_logs)) => {
                progress.logs.extend(node_logs);
                // A seed's SQL is how the engine loads it; dbt compiles no seed.
                if node.resource_type != ResourceType::Seed {
                    self.write_compiled(node, &sql).await?;
                    progress.compiled.insert(id.clone(), sql.clone());
                }
                result.compiled_code = sql.clone();
                self.execute(
                    command,
                    session,
                    node,
                    &sql,
                    options.full_refresh,
                    &mut result,
                )
                .await;
            }
        }
        result.completed_ms = now_ms();
        match result.status {
            NodeStatus::Error => {
                progress.blocked.insert(id.clone());
            }
            // A failing test stops what depends on the node it tests.
            NodeStatus::Fail if command == Command::Build => {
                progress.blocked.insert(id.clone());
                if let Some(TestKind::Generic { attached_to, .. }) = &node.test {
                    self.block_descendants(attached_to, &mut progress.blocked);
                }
            }
            _ => {}
        }
        progress.results.push(result);
        Ok(())
    }

    /// Runs a compiled node as `command` asks: a snapshot versions its rows, a model
    /// is materialized, a test checked; `compile` only reports it.
    async fn execute(
        &self,
        command: Command,
        session: &SessionContext,
        node: &Node,
        sql: &str,
        full_refresh: bool,
        result: &mut NodeResult,
    ) {
        if command == Command::Compile {
            result.status = NodeStatus::Success;
            result.message = "compiled".to_owned();
            return;
        }
        if node.resource_type == ResourceType::Test {
            return self.check(session, node, sql, result).await;
        }
        let outcome = self.build_relation(session, node, sql, full_refresh).await;
        result.relation_name = Some(format!("{GOLD_SCHEMA}.{}", node.name));
        match outcome {
            Ok((rows, message)) => {
                result.status = NodeStatus::Success;
                result.rows_affected = rows;
                result.message = message;
            }
            Err(err) => result.fail(&err),
        }
    }

    /// Builds a model's, seed's or snapshot's relation between its pre-hooks and its
    /// post-hooks; returns the rows written and a message. An analysis builds nothing.
    async fn build_relation(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
        full_refresh: bool,
    ) -> Result<(Option<u64>, String), ModelError> {
        let incremental = self.incremental_now(node, full_refresh).await?;
        self.run_hooks(session, node, HookKind::Pre, incremental)
            .await?;
        let outcome = match node.resource_type {
            ResourceType::Snapshot => self
                .snapshot(session, node, sql)
                .await
                .map(|(rows, message)| (Some(rows), message))?,
            ResourceType::Model | ResourceType::Seed => {
                self.materialize(session, node, sql, full_refresh).await?
            }
            ResourceType::Test | ResourceType::Analysis => (None, "compiled".to_owned()),
        };
        self.run_hooks(session, node, HookKind::Post, incremental)
            .await?;
        Ok(outcome)
    }

    /// Renders and runs a node's hooks of `kind` in the session, in order; the first
    /// that fails is the error, naming the hook.
    async fn run_hooks(
        &self,
        session: &SessionContext,
        node: &Node,
        kind: HookKind,
        incremental: bool,
    ) -> Result<(), ModelError> {
        for (index, hook) in node.config.hooks(kind).iter().enumerate() {
            let failed = |detail: String| ModelError::Hook {
                node: node.name.clone(),
                path: node.original_file_path.clone(),
                kind,
                index: index + 1,
                sql: hook.clone(),
                detail,
            };
            let (sql, _) = self
                .project
                .renderer
                .render(
                    &node.original_file_path,
                    hook,
                    &node.name,
                    &format!("{GOLD_SCHEMA}.{}", node.name),
                    incremental,
                )
                .map_err(|err| failed(ModelError::from_jinja(err).to_string()))?;
            for statement in statements(&sql) {
                let rows = match session.sql(&statement).await {
                    Ok(frame) => frame.collect().await.map(|_| ()),
                    Err(err) => Err(err),
                };
                rows.map_err(|err| failed(err.to_string()))?;
            }
        }
        Ok(())
    }

    /// Why `node` waits, if it does: the message and the table it waits for. A node
    /// over a source not built yet waits for it (`waiting for silver/customers`), and so
    /// does what reads such a node (`waiting for silver/customers upstream`): skipped,
    /// not failed, so a later run builds them once the source exists. A compile waits
    /// for nothing.
    async fn waiting(
        &self,
        command: Command,
        node: &Node,
        progress: &mut Progress,
    ) -> Result<Option<(String, String)>, ModelError> {
        let upstream = node
            .depends_on
            .iter()
            .find_map(|parent| progress.waiting.get(parent))
            .cloned();
        Ok(match upstream {
            Some(table) => Some((format!("waiting for {table} upstream"), table)),
            None if command == Command::Compile => None,
            None => self
                .missing_source(node, &mut progress.sources_present)
                .await?
                .map(|table| (format!("waiting for {table}"), table)),
        })
    }

    /// The store path of the first source table `node` reads that is not in the store
    /// yet (`silver/customers`), if any.
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
                        .await
                        .map_err(|err| node.delta_error(err))?;
                    present.insert(path.clone(), exists);
                    exists
                }
            };
            if !exists {
                return Ok(Some(path));
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
                result.fail(&node.sql_error(err));
                return;
            }
        };
        let failures: usize = batches.iter().map(RecordBatch::num_rows).sum();
        result.failures = Some(failures as u64);
        result.failing_rows = sample_rows(&batches, 5);
        if node.config.store_failures() {
            if let Err(err) = self.store_failures(node, &batches).await {
                result.fail(&err);
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
}
