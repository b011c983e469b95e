//! The lineage graph: every node from landing to marts, its parents, its tests and its
//! last run.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{landing_id, model_id, source_id, table_id, NodeKind};
use crate::lakehouse::{RunProgress, TableCard};
use crate::models::{Materialization, ModelError, Project, ResourceType, TestKind};
use crate::models::{NodeResult, NodeStatus};
use crate::silver::Pipeline;
use crate::warehouse;

/// How a node's or a test's last run went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRun {
    /// dbt's status: success, error, skipped for a step; pass, warn, fail for a test.
    pub status: NodeStatus,
    /// How long it took, in ms.
    pub duration_ms: i64,
    /// When it finished, in ms since the epoch.
    pub completed_ms: i64,
    /// What happened, in a line (the error of a failure).
    pub message: String,
    /// Rows the step read (Bronze, Silver) or wrote (a model).
    pub rows: Option<u64>,
    /// Rows a test found.
    pub failures: Option<u64>,
    /// A few of a test's failing rows, as `column=value` lines.
    pub failing_rows: Vec<String>,
}

impl NodeRun {
    /// The run of a dbt node, from its result.
    pub fn from_result(result: &NodeResult) -> Self {
        Self {
            status: result.status,
            duration_ms: result.completed_ms - result.started_ms,
            completed_ms: result.completed_ms,
            message: result.message.clone(),
            rows: result.rows_affected,
            failures: result.failures,
            failing_rows: result.failing_rows.clone(),
        }
    }
}

/// A data test, shown as a badge on the node it tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestBadge {
    /// dbt's unique id: `test.medallion.unique_fact_trips_trip_id`.
    pub unique_id: String,
    /// The test node's name.
    pub name: String,
    /// The test: `unique`, `not_null`, `accepted_values`, `relationships` or
    /// `singular`.
    pub test: String,
    /// The column tested, if the test is on one.
    pub column: Option<String>,
    /// Its last run.
    pub run: Option<NodeRun>,
}

/// A node's table now and its last run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// Rows in its table.
    pub rows: Option<i64>,
    /// Its table's Delta version.
    pub version: Option<i64>,
    /// Rows its table's last commit inserted.
    pub inserted: u64,
    /// Rows that commit updated.
    pub updated: u64,
    /// Rows that commit deleted.
    pub deleted: u64,
    /// What that commit did, in plain words ([`TableCard::change`]); empty without a
    /// table.
    pub change: String,
    /// Its last run.
    pub run: Option<NodeRun>,
}

/// One node of the lineage graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageNode {
    /// Its relation name (see the module's docs): `gold.fact_trips`.
    pub id: String,
    /// Its short name: `fact_trips`, `trips`.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// dbt's unique id, for sources, models and snapshots.
    pub unique_id: Option<String>,
    /// The file that declares it: the model's SQL, the Silver pipeline's YAML.
    pub file: Option<String>,
    /// Its dbt tags.
    pub tags: Vec<String>,
    /// The ids of the nodes it reads.
    pub parents: Vec<String>,
    /// The tests on it.
    pub tests: Vec<TestBadge>,
    /// The store table it is (`gold/fact_trips`; a source's Silver table), if any.
    pub table: Option<String>,
    /// Its table now and its last run.
    pub state: NodeState,
}

impl LineageNode {
    fn new(id: String, name: &str, kind: NodeKind, table: Option<String>) -> Self {
        Self {
            id,
            name: name.to_owned(),
            kind,
            unique_id: None,
            file: None,
            tags: Vec::new(),
            parents: Vec::new(),
            tests: Vec::new(),
            table,
            state: NodeState::default(),
        }
    }
}

/// Every node from landing to marts, in an order where each comes after its parents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageGraph {
    /// The nodes: landing, Bronze, Silver and quarantine, sources, then the dbt project's
    /// models and snapshots in DAG order.
    pub nodes: Vec<LineageNode>,
}

/// The kind of a dbt model or snapshot.
fn dbt_kind(resource_type: ResourceType, materialized: Option<Materialization>) -> NodeKind {
    match (resource_type, materialized) {
        (ResourceType::Snapshot, _) => NodeKind::Snapshot,
        (ResourceType::Seed, _) => NodeKind::Seed,
        (_, Some(Materialization::Table)) => NodeKind::Table,
        (_, Some(Materialization::Incremental)) => NodeKind::Incremental,
        (_, Some(Materialization::Ephemeral)) => NodeKind::Ephemeral,
        (_, Some(Materialization::View) | None) => NodeKind::View,
    }
}

impl LineageGraph {
    /// The graph of a warehouse: the landing, Bronze and Silver nodes of every entity
    /// that has a Silver pipeline or has landed files (`landed`), and the project's
    /// sources, models and snapshots; tests become badges on the nodes they test. A
    /// project whose models form a cycle is an error.
    pub fn new(
        project: &Project,
        pipelines: &[Pipeline],
        landed: &[String],
    ) -> Result<Self, ModelError> {
        let entities: BTreeSet<&str> = pipelines
            .iter()
            .map(|pipeline| pipeline.entity.as_str())
            .chain(landed.iter().map(String::as_str))
            .collect();
        let mut nodes = Vec::new();
        for &entity in &entities {
            nodes.push(LineageNode::new(
                landing_id(entity),
                entity,
                NodeKind::Landing,
                None,
            ));
            let bronze = warehouse::bronze_table(entity);
            let mut node =
                LineageNode::new(table_id(&bronze), entity, NodeKind::Bronze, Some(bronze));
            node.parents.push(landing_id(entity));
            nodes.push(node);
        }
        nodes.extend(Self::silver_block(pipelines));
        for source in project.sources.values() {
            // A source's relation is the Silver table's id: `silver.trips`.
            let silver = source.relation();
            let known = nodes.iter().any(|node| node.id == silver);
            let mut node = LineageNode::new(
                source_id(&source.source, &source.name),
                &source.name,
                NodeKind::Source,
                known.then(|| silver.replacen('.', "/", 1)),
            );
            node.unique_id = Some(source.unique_id.clone());
            node.file = Some(source.file.clone());
            if known {
                node.parents.push(silver);
            }
            nodes.push(node);
        }
        nodes.extend(Self::dbt_nodes(project)?);
        let mut graph = Self { nodes };
        graph.attach_tests(project);
        Ok(graph)
    }

    /// The Silver and quarantine nodes, a table after the Silver tables it looks up
    /// (pipelines looking each other up in a cycle keep their order).
    fn silver_block(pipelines: &[Pipeline]) -> Vec<LineageNode> {
        let mut pending: Vec<[LineageNode; 2]> = pipelines.iter().map(Self::silver_nodes).collect();
        let mut nodes: Vec<LineageNode> = Vec::new();
        while !pending.is_empty() {
            let ready = |[silver, _]: &[LineageNode; 2]| {
                !silver.parents.iter().any(|parent| {
                    parent != &silver.id && pending.iter().any(|[other, _]| &other.id == parent)
                })
            };
            let next = pending.iter().position(ready).unwrap_or(0);
            nodes.extend(pending.remove(next));
        }
        nodes
    }

    /// An entity's Silver table, read from Bronze and the Silver tables its steps look
    /// up, and its quarantine table.
    fn silver_nodes(pipeline: &Pipeline) -> [LineageNode; 2] {
        let entity = &pipeline.entity;
        let bronze = table_id(&warehouse::bronze_table(entity));
        let silver = warehouse::silver_table(entity);
        let mut node = LineageNode::new(table_id(&silver), entity, NodeKind::Silver, Some(silver));
        node.file = Some(pipeline.file.clone());
        node.parents.push(bronze.clone());
        node.parents.extend(
            pipeline
                .lookups()
                .into_iter()
                .map(|lookup| table_id(&lookup.table)),
        );
        let quarantine_table = warehouse::quarantine_table(entity);
        let mut quarantine = LineageNode::new(
            table_id(&quarantine_table),
            &format!("{entity}_quarantine"),
            NodeKind::Quarantine,
            Some(quarantine_table),
        );
        quarantine.file = Some(pipeline.file.clone());
        quarantine.parents.push(bronze);
        [node, quarantine]
    }

    /// The project's seeds, models and snapshots in DAG order.
    fn dbt_nodes(project: &Project) -> Result<Vec<LineageNode>, ModelError> {
        let ids = dbt_ids(project);
        let mut nodes = Vec::new();
        for unique_id in crate::models::topological_order(project)? {
            let dbt = &project.nodes[&unique_id];
            if matches!(
                dbt.resource_type,
                ResourceType::Test | ResourceType::Analysis
            ) {
                continue;
            }
            let kind = dbt_kind(dbt.resource_type, dbt.materialized);
            let table = (kind != NodeKind::Ephemeral && kind != NodeKind::View)
                .then(|| warehouse::gold_table(&dbt.name));
            let mut node = LineageNode::new(model_id(&dbt.name), &dbt.name, kind, table);
            node.unique_id = Some(unique_id.clone());
            node.file = Some(dbt.original_file_path.clone());
            node.tags = dbt.config.tags();
            node.parents = dbt
                .depends_on
                .iter()
                .filter_map(|parent| ids.get(parent).cloned())
                .collect();
            nodes.push(node);
        }
        Ok(nodes)
    }

    /// Puts every test's badge on the node it tests (a singular test on each node it
    /// reads).
    fn attach_tests(&mut self, project: &Project) {
        let ids = dbt_ids(project);
        for test in project
            .nodes
            .values()
            .filter(|node| node.resource_type == ResourceType::Test)
        {
            let (kind, column, targets) = match &test.test {
                Some(TestKind::Generic {
                    test: generic,
                    attached_to,
                    column,
                }) => (generic.name(), column.clone(), vec![attached_to.clone()]),
                _ => ("singular", None, test.depends_on.clone()),
            };
            for target in targets.iter().filter_map(|target| ids.get(target)) {
                if let Some(node) = self.nodes.iter_mut().find(|node| &node.id == target) {
                    node.tests.push(TestBadge {
                        unique_id: test.unique_id.clone(),
                        name: test.name.clone(),
                        test: kind.to_owned(),
                        column: column.clone(),
                        run: None,
                    });
                }
            }
        }
    }

    /// The graph with each node's table (rows, version, last change) from the board,
    /// and each node's and test's last run from `runs` (by node id or test unique id).
    pub fn with_state(mut self, cards: &[TableCard], runs: &BTreeMap<String, NodeRun>) -> Self {
        let cards: BTreeMap<&str, &TableCard> = cards
            .iter()
            .map(|card| (card.table.as_str(), card))
            .collect();
        for node in &mut self.nodes {
            if let Some(card) = node.table.as_deref().and_then(|table| cards.get(table)) {
                node.state.rows = card.rows;
                node.state.version = Some(card.version);
                node.state.inserted = card.inserted;
                node.state.updated = card.updated;
                node.state.deleted = card.deleted;
                node.state.change = card.change.clone();
            }
            node.state.run = runs.get(&node.id).cloned();
            for test in &mut node.tests {
                test.run = runs.get(&test.unique_id).cloned();
            }
        }
        self
    }

    /// Records a finished step of a running run on its node or test badge.
    pub fn apply(&mut self, progress: &RunProgress) {
        let Some(run) = &progress.run else {
            return;
        };
        for node in &mut self.nodes {
            if node.id == progress.node {
                node.state.run = Some(run.clone());
            }
            for test in &mut node.tests {
                if test.unique_id == progress.node {
                    test.run = Some(run.clone());
                }
            }
        }
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&LineageNode> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The ids of the nodes that read `id`.
    pub fn children(&self, id: &str) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|node| node.parents.iter().any(|parent| parent == id))
            .map(|node| node.id.as_str())
            .collect()
    }

    /// Every node `id` reads from, directly or not.
    pub fn ancestors(&self, id: &str) -> BTreeSet<String> {
        let [parents, _] = self.edges();
        reach(id, &parents, None)
    }

    /// Every node that reads `id`, directly or not.
    pub fn descendants(&self, id: &str) -> BTreeSet<String> {
        let [_, children] = self.edges();
        reach(id, &children, None)
    }

    /// `id` and the nodes up to `hops` edges upstream or downstream of it.
    pub fn around(&self, id: &str, hops: usize) -> BTreeSet<String> {
        let [parents, children] = self.edges();
        let mut nodes = reach(id, &parents, Some(hops));
        nodes.extend(reach(id, &children, Some(hops)));
        nodes.insert(id.to_owned());
        nodes
    }

    /// The nodes a dbt selector picks (`+fact_trips`, `tag:finance`,
    /// `path:models/marts`, `config.materialized:incremental`), with the same code as
    /// `--select`; graph operators go on through sources to Silver, Bronze and landing.
    /// An empty selector picks every node.
    pub fn select(
        &self,
        project: &Project,
        selector: &str,
    ) -> Result<BTreeSet<String>, ModelError> {
        if selector.trim().is_empty() {
            return Ok(self.nodes.iter().map(|node| node.id.clone()).collect());
        }
        // The selector speaks dbt's unique ids; the other nodes keep their ids.
        let to_key = |node: &LineageNode| node.unique_id.clone().unwrap_or(node.id.clone());
        let keys: BTreeMap<String, String> = self
            .nodes
            .iter()
            .map(|node| (node.id.clone(), to_key(node)))
            .collect();
        // A parent outside the graph (a lookup of a table no pipeline writes) keeps its id.
        let key = |id: &str| keys.get(id).cloned().unwrap_or_else(|| id.to_owned());
        let [parents, children] = self.edges_by(key);
        let chosen = crate::models::select_over(project, selector, &parents, &children)?;
        Ok(self
            .nodes
            .iter()
            .filter(|node| chosen.contains(&key(&node.id)))
            .map(|node| node.id.clone())
            .collect())
    }

    /// Parents and children of every node, by id.
    fn edges(&self) -> [BTreeMap<String, BTreeSet<String>>; 2] {
        self.edges_by(|id| id.to_owned())
    }

    /// Parents and children of every node, each named by `key` of its id.
    fn edges_by(&self, key: impl Fn(&str) -> String) -> [BTreeMap<String, BTreeSet<String>>; 2] {
        crate::models::adjacency(self.nodes.iter().flat_map(|node| {
            node.parents
                .iter()
                .map(|parent| (key(&node.id), key(parent)))
                .collect::<Vec<_>>()
        }))
    }
}

/// The lineage id of every dbt unique id of the project's sources, models and
/// snapshots.
fn dbt_ids(project: &Project) -> BTreeMap<String, String> {
    let sources = project.sources.values().map(|source| {
        (
            source.unique_id.clone(),
            source_id(&source.source, &source.name),
        )
    });
    let nodes = project
        .nodes
        .values()
        .filter(|node| {
            !matches!(
                node.resource_type,
                ResourceType::Test | ResourceType::Analysis
            )
        })
        .map(|node| (node.unique_id.clone(), model_id(&node.name)));
    sources.chain(nodes).collect()
}

/// The nodes reachable from `start` along `edges` (not `start` itself), up to `depth`
/// steps.
fn reach(
    start: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    depth: Option<usize>,
) -> BTreeSet<String> {
    let mut reached = crate::models::reach(&BTreeSet::from([start.to_owned()]), edges, depth);
    reached.remove(start);
    reached
}
