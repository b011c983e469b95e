//! Column lineage: a column of a node and the upstream columns it comes from, through
//! every model back to Silver, Bronze and landing.
//!
//! Each hop is read from what defines it, never from the SQL's text:
//!
//! - a dbt model's compiled SQL (a full refresh, so an incremental model does not read
//!   itself) is planned by DataFusion, unoptimized, and each output column traced down
//!   the logical plan to the columns of the tables it scans (`plan`); upstream models
//!   are registered as empty tables with their planned schema, so nothing needs to be
//!   built in Gold, but the Silver tables the sources name must exist;
//! - a snapshot's columns pass from its SELECT, and dbt's meta columns are computed
//!   from its `unique_key` and `updated_at` (or check) columns;
//! - a dbt source is its Silver table; a Silver column comes from Bronze through the
//!   pipeline's steps (`silver`); a Bronze column from the same landing column.
//!
//! Each edge says how the value travels ([`ColumnFlow`]): as it is, transformed, or
//! only shaping the rows through a filter or a join's keys. A path that only shapes
//! rows is followed for its values, not for its own filters and joins, which keeps the
//! tree to what a person asks about.

mod plan;
mod silver;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use super::{model_id, source_id, table_id};
use crate::engine;
use crate::models::{
    HardDeletes, Materialization, ModelError, ModelRunner, Node, Project, ResourceType,
    SnapshotConfig, Strategy, GOLD_SCHEMA,
};
use crate::silver::Pipeline;
use crate::warehouse;

/// One column of one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ColumnRef {
    /// The node's id (`gold.fact_trips`, `source:silver.trips`, `bronze.trips`).
    pub node: String,
    /// The column's name.
    pub column: String,
}

impl ColumnRef {
    /// Column `column` of node `node`.
    pub fn new(node: impl Into<String>, column: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            column: column.into(),
        }
    }

    /// Reads `<node>.<column>`: `gold.fact_trips.total_amount`,
    /// `source:silver.trips.trip_id`, or a model without its schema,
    /// `fact_trips.total_amount`. `None` without a dot or with an empty part.
    pub fn parse(text: &str) -> Option<Self> {
        let (node, column) = text.trim().rsplit_once('.')?;
        if node.is_empty() || column.is_empty() {
            return None;
        }
        let node = if node.contains('.') || node.contains(':') {
            node.to_owned()
        } else {
            model_id(node)
        };
        Some(Self::new(node, column))
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.node, self.column)
    }
}

/// How a column's value reaches the column downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnFlow {
    /// As it is: a plain column reference or an alias.
    Direct,
    /// Through an expression: a cast, a function, a case, an aggregate, a concatenation.
    Transformed,
    /// It only filters the rows (WHERE, HAVING, QUALIFY).
    Filter,
    /// It only matches the rows of a join (its keys, its ON condition).
    Join,
}

impl ColumnFlow {
    /// Its name: `direct`, `transformed`, `filter` or `join`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnFlow::Direct => "direct",
            ColumnFlow::Transformed => "transformed",
            ColumnFlow::Filter => "filter",
            ColumnFlow::Join => "join",
        }
    }

    /// The flow of a path that goes this way, then `next`: a filter or join anywhere
    /// makes it one (the first wins), else any transformation makes it transformed.
    pub fn then(self, next: ColumnFlow) -> ColumnFlow {
        match (self, next) {
            (ColumnFlow::Filter | ColumnFlow::Join, _) => self,
            (_, ColumnFlow::Filter | ColumnFlow::Join) => next,
            (ColumnFlow::Transformed, _) | (_, ColumnFlow::Transformed) => ColumnFlow::Transformed,
            (ColumnFlow::Direct, ColumnFlow::Direct) => ColumnFlow::Direct,
        }
    }

    /// Whether the value travels (direct or transformed), as opposed to shaping rows.
    pub fn carries_value(self) -> bool {
        matches!(self, ColumnFlow::Direct | ColumnFlow::Transformed)
    }
}

impl fmt::Display for ColumnFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column and the upstream columns it comes from, as a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLineage {
    /// The column.
    pub column: ColumnRef,
    /// The columns it comes from: direct, transformed, then filters and joins.
    pub upstream: Vec<UpstreamColumn>,
}

/// One upstream column of a [`ColumnLineage`], with its own upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamColumn {
    /// How its value reaches the column downstream.
    pub flow: ColumnFlow,
    /// The CTEs, subqueries and ephemerals it passed through on the way, outermost
    /// first, e.g. `["trips"]` or `["__dbt__cte__int_revenue_payments"]`.
    pub via: Vec<String>,
    /// The upstream column and where it comes from.
    pub lineage: ColumnLineage,
}

impl ColumnLineage {
    /// Every upstream column in the tree, depth first, with the flow of its own edge.
    pub fn edges(&self) -> Vec<(ColumnFlow, &ColumnRef)> {
        let mut out = Vec::new();
        let mut stack: Vec<&UpstreamColumn> = self.upstream.iter().rev().collect();
        while let Some(upstream) = stack.pop() {
            out.push((upstream.flow, &upstream.lineage.column));
            stack.extend(upstream.lineage.upstream.iter().rev());
        }
        out
    }

    /// Whether column `column` of node `node` is anywhere upstream.
    pub fn reaches(&self, node: &str, column: &str) -> bool {
        self.edges()
            .iter()
            .any(|(_, found)| found.node == node && found.column == column)
    }

    fn write_tree(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        for upstream in &self.upstream {
            write!(
                f,
                "\n{:indent$}<- {} {}",
                "",
                upstream.flow,
                upstream.lineage.column,
                indent = 2 * (depth + 1)
            )?;
            if !upstream.via.is_empty() {
                write!(f, " (via {})", upstream.via.join(", "))?;
            }
            upstream.lineage.write_tree(f, depth + 1)?;
        }
        Ok(())
    }
}

/// An indented tree, one line per column: `gold.fact_trips.customer_sk`, then
/// `  <- direct gold.dim_customer.customer_sk`, its upstream two spaces further in.
impl fmt::Display for ColumnLineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.column)?;
        self.write_tree(f, 0)
    }
}

/// Why a column's lineage could not be traced.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    /// No node has this id.
    #[error(
        "no lineage node is named {0} (nodes are named like landing.trips, bronze.trips, silver.trips, source:silver.trips or gold.fact_trips)"
    )]
    UnknownNode(String),
    /// The node has no such column.
    #[error("{node} has no column {column} (it has {})", known.join(", "))]
    UnknownColumn {
        /// The node's id.
        node: String,
        /// The column asked for.
        column: String,
        /// The columns it has.
        known: Vec<String>,
    },
    /// The project could not be compiled or the store read.
    #[error(transparent)]
    Models(#[from] ModelError),
    /// A node's compiled SQL could not be planned, or its planned table registered.
    #[error("{node}: planning its compiled SQL: {source}")]
    Sql {
        /// The node's id.
        node: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// A model reads a Silver table that is not built yet: its columns are unknown.
    #[error(
        "{node} reads {table}, which is not built yet: run Bronze and Silver first, since column lineage plans the models against the Silver tables"
    )]
    NotBuilt {
        /// The model's id.
        node: String,
        /// The table as the model reads it (`silver.customers`).
        table: String,
    },
}

/// The lineage of column `column` of node `node` (a node id, see
/// [`lineage`](crate::lineage)): every upstream column, through every model, source
/// and pipeline, to landing. Models are compiled by `runner` (the Silver tables their
/// sources read must exist); Silver columns are traced through `pipelines`.
pub async fn column_lineage(
    runner: &ModelRunner,
    pipelines: &[Pipeline],
    node: &str,
    column: &str,
) -> Result<ColumnLineage, LineageError> {
    let tracer = Tracer {
        project: runner.project(),
        pipelines,
        gold: plan_models(runner, node).await?,
    };
    let asked = tracer.check(node, column)?;
    let mut path = Vec::new();
    Ok(tracer.expand(&asked, false, &mut path))
}

/// An upstream column of a node's column.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    flow: ColumnFlow,
    via: Vec<String>,
    upstream: ColumnRef,
}

/// A planned dbt node's columns, in order, each with its upstream columns.
type NodeColumns = Vec<(String, Vec<Edge>)>;

/// The dbt node (model, seed or snapshot) named `name`.
fn dbt_node<'a>(project: &'a Project, name: &str) -> Option<&'a Node> {
    project.nodes.values().find(|node| {
        node.name == name
            && !matches!(
                node.resource_type,
                ResourceType::Test | ResourceType::Analysis
            )
    })
}

/// The name of the dbt node whose id is `id` (`gold.fact_trips`), if one is.
fn gold_name<'a>(project: &Project, id: &'a str) -> Option<&'a str> {
    id.strip_prefix(GOLD_SCHEMA)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|name| dbt_node(project, name).is_some())
}

/// Every dbt node `id` reaches (itself included), upstream first, each planned: its
/// columns and their upstream columns. Nothing when `id` is not a dbt node.
async fn plan_models(
    runner: &ModelRunner,
    id: &str,
) -> Result<BTreeMap<String, NodeColumns>, LineageError> {
    let project = runner.project();
    let mut planned = BTreeMap::new();
    let Some(root) = gold_name(project, id).and_then(|name| dbt_node(project, name)) else {
        return Ok(planned);
    };
    // Upstream first, each once (the project has no cycles).
    let mut order: Vec<&Node> = Vec::new();
    let mut stack: Vec<(&Node, bool)> = vec![(root, false)];
    while let Some((node, expanded)) = stack.pop() {
        if order.iter().any(|done| done.unique_id == node.unique_id) {
            continue;
        }
        if expanded {
            order.push(node);
            continue;
        }
        stack.push((node, true));
        for parent in node.depends_on.iter().rev() {
            if let Some(parent) = project.nodes.get(parent) {
                stack.push((parent, false));
            }
        }
    }
    let session = runner.session().await?;
    for node in order {
        // An ephemeral is inlined into the models that ref it; its own plan is needed
        // only when it is the node asked about.
        let ephemeral = node.materialized == Some(Materialization::Ephemeral);
        if ephemeral && node.unique_id != root.unique_id {
            continue;
        }
        let (columns, schema) = plan_node(runner, &session, node).await?;
        if !ephemeral {
            register_empty(&session, &node.name, schema).map_err(|source| LineageError::Sql {
                node: model_id(&node.name),
                source,
            })?;
        }
        planned.insert(model_id(&node.name), columns);
    }
    Ok(planned)
}

/// A dbt node's columns, traced down its plan, and the schema of the table it makes.
async fn plan_node(
    runner: &ModelRunner,
    session: &SessionContext,
    node: &Node,
) -> Result<(NodeColumns, Schema), LineageError> {
    let project = runner.project();
    let id = model_id(&node.name);
    for parent in &node.depends_on {
        if let Some(source) = project.sources.get(parent) {
            let relation = source.relation();
            if !session.table_exist(relation.as_str()).unwrap_or(false) {
                return Err(LineageError::NotBuilt {
                    node: id,
                    table: relation,
                });
            }
        }
    }
    // A full refresh: an incremental model's first build, which does not read itself.
    let (sql, _) = runner.compile(node, true).await?;
    let plan = session
        .state()
        .create_logical_plan(&sql)
        .await
        .map_err(|source| LineageError::Sql {
            node: id.clone(),
            source,
        })?;
    let mut columns: NodeColumns = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    for (index, field) in plan.schema().fields().iter().enumerate() {
        let edges = plan::trace(&plan, index)
            .into_iter()
            .map(|edge| Edge {
                flow: edge.flow,
                via: edge.via,
                upstream: ColumnRef::new(
                    scan_node(project, edge.schema.as_deref(), &edge.table),
                    edge.column,
                ),
            })
            .collect();
        columns.push((field.name().clone(), edges));
        fields.push(field.as_ref().clone().with_nullable(true));
    }
    if node.resource_type == ResourceType::Snapshot {
        let config = SnapshotConfig::from_config(&node.config)
            .map_err(|detail| LineageError::Models(node.config_error(detail)))?;
        for (name, data_type, from) in snapshot_meta(&config, &columns) {
            let edges = from
                .iter()
                .filter_map(|source| columns.iter().find(|(column, _)| column == source))
                .flat_map(|(_, edges)| edges.iter().cloned())
                .map(|edge| Edge {
                    flow: edge.flow.then(ColumnFlow::Transformed),
                    ..edge
                })
                .fold(Vec::new(), |mut all: Vec<Edge>, edge| {
                    if !all.contains(&edge) {
                        all.push(edge);
                    }
                    all
                });
            fields.push(Field::new(&name, data_type, true));
            columns.push((name, edges));
        }
    }
    Ok((columns, Schema::new(fields)))
}

/// A snapshot's meta columns: name, type, and the columns of its SELECT each is
/// computed from.
fn snapshot_meta(
    config: &SnapshotConfig,
    columns: &NodeColumns,
) -> Vec<(String, DataType, Vec<String>)> {
    let changes: Vec<String> = match &config.strategy {
        Strategy::Timestamp { updated_at } => vec![updated_at.clone()],
        Strategy::Check {
            columns: Some(checked),
        } => checked.clone(),
        Strategy::Check { columns: None } => columns
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| !config.unique_key.contains(name))
            .collect(),
    };
    let timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let keyed: Vec<String> = config.unique_key.iter().chain(&changes).cloned().collect();
    let meta = &config.meta;
    let mut out = vec![
        (meta.scd_id.clone(), DataType::Utf8, keyed),
        (meta.updated_at.clone(), timestamp.clone(), changes.clone()),
        (meta.valid_from.clone(), timestamp.clone(), changes.clone()),
        (meta.valid_to.clone(), timestamp, changes),
    ];
    if config.hard_deletes == HardDeletes::NewRecord {
        out.push((
            meta.is_deleted.clone(),
            DataType::Utf8,
            config.unique_key.clone(),
        ));
    }
    out
}

/// Registers `gold.<name>` as an empty table of `schema`, for the models downstream
/// to plan against.
fn register_empty(
    session: &SessionContext,
    name: &str,
    schema: Schema,
) -> Result<(), DataFusionError> {
    let table = MemTable::try_new(Arc::new(schema), vec![Vec::new()])?;
    engine::register_table(session, GOLD_SCHEMA, name, Arc::new(table))
}

/// The node a scanned table is: the dbt source whose relation it is, a model or
/// snapshot in the Gold schema, else the table as named.
fn scan_node(project: &Project, schema: Option<&str>, table: &str) -> String {
    let relation = match schema {
        Some(schema) => format!("{schema}.{table}"),
        None => table.to_owned(),
    };
    if let Some(source) = project
        .sources
        .values()
        .find(|source| source.relation() == relation)
    {
        return source_id(&source.source, &source.name);
    }
    match schema {
        Some(GOLD_SCHEMA) => model_id(table),
        _ => relation,
    }
}

/// Builds the tree from each node's upstream columns.
struct Tracer<'a> {
    project: &'a Project,
    pipelines: &'a [Pipeline],
    /// The planned dbt nodes, by id.
    gold: BTreeMap<String, NodeColumns>,
}

impl Tracer<'_> {
    fn pipeline(&self, entity: &str) -> Option<&Pipeline> {
        self.pipelines
            .iter()
            .find(|pipeline| pipeline.entity == entity)
    }

    /// The column asked about, checked: its node exists, and a planned node has it
    /// (matched case-insensitively when not exactly).
    fn check(&self, node: &str, column: &str) -> Result<ColumnRef, LineageError> {
        let unknown = || LineageError::UnknownNode(node.to_owned());
        if let Some(columns) = self.gold.get(node) {
            let found = columns.iter().find(|(name, _)| name == column).or_else(|| {
                columns
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(column))
            });
            return match found {
                Some((name, _)) => Ok(ColumnRef::new(node, name.clone())),
                None => Err(LineageError::UnknownColumn {
                    node: node.to_owned(),
                    column: column.to_owned(),
                    known: columns.iter().map(|(name, _)| name.clone()).collect(),
                }),
            };
        }
        let known = if node.starts_with("source:") {
            self.project
                .sources
                .values()
                .any(|source| source_id(&source.source, &source.name) == node)
        } else {
            match node.split_once('.') {
                Some(("silver", name)) => {
                    self.pipeline(name).is_some()
                        || self
                            .project
                            .source_paths()
                            .contains(&warehouse::silver_table(name))
                }
                Some(("bronze" | "landing", entity)) => self.pipeline(entity).is_some(),
                _ => false,
            }
        };
        if known {
            Ok(ColumnRef::new(node, column))
        } else {
            Err(unknown())
        }
    }

    /// The columns `column` comes from, one hop up: direct, transformed, filters, joins.
    fn edges(&self, column: &ColumnRef) -> Vec<Edge> {
        let edge = |flow, upstream| Edge {
            flow,
            via: Vec::new(),
            upstream,
        };
        let node = column.node.as_str();
        let mut edges = if let Some(columns) = self.gold.get(node) {
            columns
                .iter()
                .find(|(name, _)| *name == column.column)
                .map(|(_, edges)| edges.clone())
                .unwrap_or_default()
        } else if node.starts_with("source:") {
            self.project
                .sources
                .values()
                .find(|source| source_id(&source.source, &source.name) == node)
                .map(|source| {
                    let table = table_id(&format!("{}/{}", source.schema, source.identifier));
                    vec![edge(
                        ColumnFlow::Direct,
                        ColumnRef::new(table, &column.column),
                    )]
                })
                .unwrap_or_default()
        } else {
            match node.split_once('.') {
                Some(("silver", entity)) => self
                    .pipeline(entity)
                    .map(|pipeline| silver::silver_upstream(pipeline, &column.column))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(flow, upstream)| edge(flow, upstream))
                    .collect(),
                Some(("bronze", entity)) => silver::bronze_upstream(entity, &column.column)
                    .map(|upstream| vec![edge(ColumnFlow::Direct, upstream)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            }
        };
        edges.sort_by_key(|edge| edge.flow);
        edges
    }

    /// The tree of `column`; inside a path that only shapes rows (`in_rows`), filters
    /// and joins are not followed; a column already on the path is not expanded again.
    fn expand(
        &self,
        column: &ColumnRef,
        in_rows: bool,
        path: &mut Vec<ColumnRef>,
    ) -> ColumnLineage {
        let mut lineage = ColumnLineage {
            column: column.clone(),
            upstream: Vec::new(),
        };
        if path.contains(column) {
            return lineage;
        }
        path.push(column.clone());
        for edge in self.edges(column) {
            if in_rows && !edge.flow.carries_value() {
                continue;
            }
            let child = self.expand(&edge.upstream, in_rows || !edge.flow.carries_value(), path);
            lineage.upstream.push(UpstreamColumn {
                flow: edge.flow,
                via: edge.via,
                lineage: child,
            });
        }
        path.pop();
        lineage
    }
}
