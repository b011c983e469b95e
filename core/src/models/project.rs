//! Reading a dbt project: `dbt_project.yml`, the models, their YAML properties, the
//! sources, the macros and the tests, parsed into [`Node`]s with their dependencies and
//! configuration.

//!
//! [`Project::parse`] runs in phases, each in its own module: the properties
//! (`dbt_project.yml` and the YAML files), the model nodes, the snapshot nodes, the
//! generic tests and the singular tests.

mod data_tests;
mod nodes;
mod properties;

use std::collections::{BTreeMap, BTreeSet};

use super::config::{Materialization, NodeConfig};
use super::jinja::Renderer;
use super::ModelError;
use crate::storage::Storage;
use nodes::Parser;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    /// A SQL model.
    Model,
    /// A data test: generic (from YAML) or singular (from `tests/`).
    Test,
    /// An SCD2 snapshot.
    Snapshot,
    /// A CSV file of `seeds/`, loaded as a table.
    Seed,
    /// A SQL file of `analyses/`: compiled, never run.
    Analysis,
}

impl ResourceType {
    /// dbt's name for it.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Test => "test",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Seed => "seed",
            ResourceType::Analysis => "analysis",
        }
    }
}

/// A documented column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDoc {
    /// The column's name.
    pub name: String,
    /// Its description.
    pub description: String,
}

/// A generic test from the YAML properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenericTest {
    /// No value twice (nulls aside).
    Unique,
    /// No nulls.
    NotNull,
    /// Every value in a list (nulls aside).
    AcceptedValues {
        /// The accepted values.
        values: Vec<String>,
        /// Whether the values are quoted as strings in SQL.
        quote: bool,
    },
    /// Every value present in `field` of the relation `to` (a Jinja expression).
    Relationships {
        /// The relation, as a Jinja expression (`ref(...)`).
        to: String,
        /// The column of `to`.
        field: String,
    },
}

impl GenericTest {
    /// dbt's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            GenericTest::Unique => "unique",
            GenericTest::NotNull => "not_null",
            GenericTest::AcceptedValues { .. } => "accepted_values",
            GenericTest::Relationships { .. } => "relationships",
        }
    }
}

/// What a test node checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestKind {
    /// A generic test on a model or source, and optionally a column.
    Generic {
        /// The test and its arguments.
        test: GenericTest,
        /// The tested node's unique id (a model or a source).
        attached_to: String,
        /// The tested column, if the test is on one.
        column: Option<String>,
    },
    /// A SQL file in `tests/` whose rows are failures.
    Singular,
}

/// A model or a test.
#[derive(Debug, Clone)]
pub struct Node {
    /// `model.<project>.<name>` or `test.<project>.<name>`.
    pub unique_id: String,
    /// Model or test.
    pub resource_type: ResourceType,
    /// The node's name.
    pub name: String,
    /// The file, from the project root (`models/marts/dim_date.sql`).
    pub original_file_path: String,
    /// The dotted name dbt uses: project, folders, name.
    pub fqn: Vec<String>,
    /// The file's text (for a generic test, empty; for a seed, the CSV).
    pub raw_code: String,
    /// The merged configuration.
    pub config: NodeConfig,
    /// For models, how they are materialized.
    pub materialized: Option<Materialization>,
    /// The unique ids of the models and sources it reads.
    pub depends_on: Vec<String>,
    /// Its description.
    pub description: String,
    /// Its documented columns.
    pub columns: Vec<ColumnDoc>,
    /// For tests, what they check.
    pub test: Option<TestKind>,
}

impl Node {
    /// A node of `resource_type` named `name` in `project`, read from `path`; its fqn
    /// is the project and the name, and it has no materialization, docs or test until
    /// its phase sets them.
    pub(crate) fn new(
        resource_type: ResourceType,
        project: &str,
        name: &str,
        path: &str,
        raw_code: String,
        config: NodeConfig,
        depends_on: Vec<String>,
    ) -> Self {
        Self {
            unique_id: format!("{}.{project}.{name}", resource_type.name()),
            resource_type,
            name: name.to_owned(),
            original_file_path: path.to_owned(),
            fqn: vec![project.to_owned(), name.to_owned()],
            raw_code,
            config,
            materialized: None,
            depends_on,
            description: String::new(),
            columns: Vec::new(),
            test: None,
        }
    }
}

/// A table declared under `sources:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTable {
    /// `source.<project>.<source>.<table>`.
    pub unique_id: String,
    /// The source's name.
    pub source: String,
    /// The table's name.
    pub name: String,
    /// The schema it lives in (the source's `schema`, else its name).
    pub schema: String,
    /// The table in that schema (`identifier`, else the name).
    pub identifier: String,
    /// Its description.
    pub description: String,
    /// Its documented columns.
    pub columns: Vec<ColumnDoc>,
    /// The YAML file that declares it.
    pub file: String,
}

impl SourceTable {
    /// The SQL name of the table: `<schema>.<identifier>`.
    pub fn relation(&self) -> String {
        format!("{}.{}", self.schema, self.identifier)
    }
}

/// A parsed project: its nodes, sources and the environment that renders them (which a
/// clone shares).
#[derive(Debug, Clone)]
pub struct Project {
    /// The project's name.
    pub name: String,
    /// Folders of models.
    pub model_paths: Vec<String>,
    /// Folders of snapshots.
    pub snapshot_paths: Vec<String>,
    /// Folders of seeds.
    pub seed_paths: Vec<String>,
    /// `clean-targets`: the folders `dbt clean` deletes.
    pub clean_targets: Vec<String>,
    /// The `{% docs %}` blocks, by name: the file and the text.
    pub docs: BTreeMap<String, (String, String)>,
    /// Every node, by unique id.
    pub nodes: BTreeMap<String, Node>,
    /// Every source table, by unique id.
    pub sources: BTreeMap<String, SourceTable>,
    /// The variables the models see (the project's, then the run's).
    pub vars: BTreeMap<String, serde_json::Value>,
    pub(crate) renderer: Renderer,
}

/// Reads every file under `prefix` of `storage`, as (path without the prefix, text).
pub async fn read_project_files(
    storage: &dyn Storage,
    prefix: &str,
) -> Result<Vec<(String, String)>, ModelError> {
    let mut files = Vec::new();
    for object in storage.list(prefix).await? {
        let relative = object.path[prefix.len()..].to_owned();
        let wanted = [".sql", ".yml", ".yaml", ".csv", ".md"]
            .iter()
            .any(|ext| relative.ends_with(ext));
        if !wanted || relative.starts_with("target/") || relative.starts_with("dbt_packages/") {
            continue;
        }
        let bytes = storage.get(&object.path).await?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|err| ModelError::Yaml {
            path: relative.clone(),
            detail: format!("not UTF-8 text: {err}"),
        })?;
        files.push((relative, text));
    }
    files.sort();
    Ok(files)
}

impl Project {
    /// Parses a project from its files (path from the project root, text), with the
    /// run's `vars` over the project's.
    pub fn parse(
        files: &[(String, String)],
        vars: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, ModelError> {
        let mut parser = Parser::new(files, vars)?;
        let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
        let models = parser.model_nodes()?;
        let snapshots = parser.snapshot_nodes()?;
        let seeds = parser.seed_nodes()?;
        let analyses = parser.analysis_nodes()?;
        for node in models
            .into_iter()
            .chain(snapshots)
            .chain(seeds)
            .chain(analyses)
        {
            if node.config.enabled() {
                nodes.insert(node.unique_id.clone(), node);
            }
        }
        parser.add_generic_tests(&mut nodes)?;
        for node in parser.singular_tests()? {
            nodes.insert(node.unique_id.clone(), node);
        }
        parser.finish_relations(&nodes);
        parser.resolve_descriptions(&mut nodes)?;
        let Parser {
            settings,
            properties,
            renderer,
            ..
        } = parser;
        let parsed = Self {
            name: settings.name,
            model_paths: settings.model_paths,
            snapshot_paths: settings.snapshot_paths,
            seed_paths: settings.seed_paths,
            clean_targets: settings.clean_targets,
            docs: properties.docs,
            nodes,
            sources: properties.sources,
            vars: settings.vars,
            renderer,
        };
        parsed.check_dependencies()?;
        Ok(parsed)
    }

    /// Every dependency names a node or a source, and the models form no cycle.
    fn check_dependencies(&self) -> Result<(), ModelError> {
        for node in self.nodes.values() {
            for parent in &node.depends_on {
                if !self.nodes.contains_key(parent) && !self.sources.contains_key(parent) {
                    return Err(ModelError::Project {
                        path: node.original_file_path.clone(),
                        detail: format!("depends on {parent}, which is disabled or missing"),
                    });
                }
            }
        }
        super::graph::topological_order(self).map(|_| ())
    }

    /// The node of model `name`.
    pub fn model(&self, name: &str) -> Option<&Node> {
        self.nodes.get(&format!("model.{}.{name}", self.name))
    }

    /// Names of the models and their materializations, for listings.
    pub fn models(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .values()
            .filter(|node| node.resource_type == ResourceType::Model)
    }

    /// The tables this project reads as sources, by store path (`silver/trips`).
    pub fn source_paths(&self) -> BTreeSet<String> {
        self.sources
            .values()
            .map(|source| format!("{}/{}", source.schema, source.identifier))
            .collect()
    }
}

#[cfg(test)]
mod tests;
