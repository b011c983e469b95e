//! Reading a dbt project: `dbt_project.yml`, the models, their YAML properties, the
//! sources, the macros and the tests, parsed into [`Node`]s with their dependencies and
//! configuration.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::config::{Materialization, NodeConfig};
use super::jinja::{Relations, RenderState, Renderer, GOLD_SCHEMA};
use super::snapshot::SnapshotConfig;
use super::ModelError;
use crate::storage::Storage;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    /// A SQL model.
    Model,
    /// A data test: generic (from YAML) or singular (from `tests/`).
    Test,
    /// An SCD2 snapshot.
    Snapshot,
}

impl ResourceType {
    /// dbt's name for it.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Test => "test",
            ResourceType::Snapshot => "snapshot",
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
    AcceptedValues { values: Vec<String>, quote: bool },
    /// Every value present in `field` of the relation `to` (a Jinja expression).
    Relationships { to: String, field: String },
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
        test: GenericTest,
        /// The tested node's unique id (a model or a source).
        attached_to: String,
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
    /// The file's text (for a generic test, empty).
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

/// `dbt_project.yml`.
#[derive(Debug, Deserialize)]
struct ProjectFile {
    name: String,
    #[serde(default, rename = "model-paths")]
    model_paths: Option<Vec<String>>,
    #[serde(default, rename = "macro-paths")]
    macro_paths: Option<Vec<String>>,
    #[serde(default, rename = "test-paths")]
    test_paths: Option<Vec<String>>,
    #[serde(default, rename = "snapshot-paths")]
    snapshot_paths: Option<Vec<String>>,
    #[serde(default)]
    vars: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    models: Option<Yaml>,
}

/// A parsed project: its nodes, sources and the environment that renders them.
#[derive(Debug)]
pub struct Project {
    /// The project's name.
    pub name: String,
    /// Folders of models.
    pub model_paths: Vec<String>,
    /// Folders of snapshots.
    pub snapshot_paths: Vec<String>,
    /// Every node, by unique id.
    pub nodes: BTreeMap<String, Node>,
    /// Every source table, by unique id.
    pub sources: BTreeMap<String, SourceTable>,
    /// The variables the models see (the project's, then the run's).
    pub vars: BTreeMap<String, serde_json::Value>,
    pub(crate) renderer: Renderer,
}

/// Keys of a folder level in `dbt_project.yml` that are configs even without a `+`.
const CONFIG_KEYS: [&str; 14] = [
    "materialized",
    "tags",
    "enabled",
    "schema",
    "alias",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "merge_update_columns",
    "merge_exclude_columns",
    "incremental_predicates",
    "meta",
    "docs",
    "persist_docs",
];

fn yaml_error(file: &str, err: impl std::fmt::Display) -> ModelError {
    ModelError::Yaml {
        file: file.to_owned(),
        detail: err.to_string(),
    }
}

fn to_json(value: &Yaml) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The folder configs of `models:` in `dbt_project.yml`: folder path (relative to a
/// model path, `""` for all) → keys.
fn folder_configs(
    tree: &Yaml,
    folder: &str,
    out: &mut Vec<(String, BTreeMap<String, serde_json::Value>)>,
) {
    let Yaml::Mapping(map) = tree else {
        return;
    };
    let mut level = BTreeMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            continue;
        };
        if let Some(config) = key.strip_prefix('+') {
            level.insert(config.to_owned(), to_json(value));
        } else if CONFIG_KEYS.contains(&key) && !value.is_mapping() || key == "meta" {
            level.insert(key.to_owned(), to_json(value));
        } else if value.is_mapping() {
            let child = if folder.is_empty() {
                key.to_owned()
            } else {
                format!("{folder}/{key}")
            };
            folder_configs(value, &child, out);
        }
    }
    out.push((folder.to_owned(), level));
}

/// A `properties.yml`: the parts read here.
#[derive(Debug, Default, Deserialize)]
struct PropertiesFile {
    #[serde(default)]
    sources: Vec<SourceSpec>,
    #[serde(default)]
    models: Vec<ModelSpec>,
    #[serde(default)]
    snapshots: Vec<SnapshotSpec>,
}

/// A snapshot in YAML (dbt 1.9+): `relation: ref('x')` or `source('s', 't')`.
#[derive(Debug, Deserialize)]
struct SnapshotSpec {
    name: String,
    #[serde(default)]
    relation: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    data_tests: Vec<Yaml>,
}

/// A snapshot found in the project: its file, SQL template and YAML properties.
struct SnapshotSource {
    file: String,
    raw_code: String,
    spec: Option<SnapshotSpec>,
}

/// The legacy `{% snapshot name %} … {% endsnapshot %}` blocks of a file: each name
/// and its body, padded with the lines before it so that errors keep the file's line
/// numbers.
fn snapshot_blocks(text: &str) -> Vec<(String, String)> {
    let pattern =
        regex::Regex::new(r"(?s)\{%-?\s*snapshot\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}")
            .expect("a valid pattern");
    pattern
        .captures_iter(text)
        .filter_map(|captures| {
            let name = captures.get(1)?.as_str().to_owned();
            let body = captures.get(2)?;
            let lines_before = text[..body.start()].matches('\n').count();
            Some((name, "\n".repeat(lines_before) + body.as_str()))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct SourceSpec {
    name: String,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    tables: Vec<SourceTableSpec>,
}

#[derive(Debug, Deserialize)]
struct SourceTableSpec {
    name: String,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    data_tests: Vec<Yaml>,
}

#[derive(Debug, Deserialize)]
struct ModelSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    data_tests: Vec<Yaml>,
}

#[derive(Debug, Deserialize)]
struct ColumnSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, alias = "tests")]
    data_tests: Vec<Yaml>,
}

/// The documented columns of a YAML column list.
fn column_docs(columns: &[ColumnSpec]) -> Vec<ColumnDoc> {
    columns
        .iter()
        .map(|column| ColumnDoc {
            name: column.name.clone(),
            description: column.description.clone().unwrap_or_default(),
        })
        .collect()
}

/// A generic test as written, before it is a node.
struct TestSpec {
    test: GenericTest,
    attached_to: String,
    attached_name: String,
    column: Option<String>,
    config: BTreeMap<String, serde_json::Value>,
    file: String,
}

/// Reads `unique`, `{not_null: {config: …}}`, `{accepted_values: {values: […]}}`,
/// `{relationships: {to: ref('x'), field: id}}` (arguments also under `arguments:`).
fn parse_test(
    spec: &Yaml,
    file: &str,
) -> Result<(GenericTest, BTreeMap<String, serde_json::Value>), ModelError> {
    let one_entry = match spec {
        Yaml::Mapping(map) if map.len() == 1 => map.iter().next(),
        _ => None,
    };
    let (name, body) = match (spec, one_entry) {
        (Yaml::String(name), _) => (name.clone(), Yaml::Null),
        (_, Some((key, value))) => {
            let name = key
                .as_str()
                .ok_or_else(|| yaml_error(file, "a test's name must be text"))?;
            (name.to_owned(), value.clone())
        }
        (other, None) => {
            return Err(yaml_error(
                file,
                format!("a data test is a name or a one-key mapping, not {other:?}"),
            ))
        }
    };
    let mut config: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut arguments = serde_yaml_ng::Mapping::new();
    if let Yaml::Mapping(map) = &body {
        for (key, value) in map {
            match key.as_str().unwrap_or_default() {
                "config" => {
                    if let Yaml::Mapping(settings) = value {
                        for (key, value) in settings {
                            if let Some(key) = key.as_str() {
                                config.insert(key.to_owned(), to_json(value));
                            }
                        }
                    }
                }
                "arguments" => {
                    if let Yaml::Mapping(args) = value {
                        arguments.extend(args.clone());
                    }
                }
                "severity" | "where" | "store_failures" | "tags" | "enabled" => {
                    config.insert(key.as_str().unwrap_or_default().to_owned(), to_json(value));
                }
                _ => {
                    arguments.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let argument = |key: &str| arguments.get(key);
    let test = match name.as_str() {
        "unique" => GenericTest::Unique,
        "not_null" => GenericTest::NotNull,
        "accepted_values" => {
            let values = argument("values")
                .and_then(Yaml::as_sequence)
                .ok_or_else(|| yaml_error(file, "accepted_values needs `values: [...]`"))?
                .iter()
                .map(|value| match value {
                    Yaml::String(text) => text.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                })
                .collect();
            let quote = argument("quote").and_then(Yaml::as_bool).unwrap_or(true);
            GenericTest::AcceptedValues { values, quote }
        }
        "relationships" => {
            let to = argument("to")
                .and_then(Yaml::as_str)
                .ok_or_else(|| yaml_error(file, "relationships needs `to: ref('model')`"))?;
            let field = argument("field")
                .and_then(Yaml::as_str)
                .ok_or_else(|| yaml_error(file, "relationships needs `field: column`"))?;
            GenericTest::Relationships {
                to: to.to_owned(),
                field: field.to_owned(),
            }
        }
        other => {
            return Err(yaml_error(
                file,
                format!(
                    "unknown generic test {other:?} (use unique, not_null, accepted_values or relationships)"
                ),
            ))
        }
    };
    Ok((test, config))
}

/// Whether `path` is under one of `folders` (and which), with the rest of the path.
fn under<'a>(path: &'a str, folders: &[String]) -> Option<(&'a str, &'a str)> {
    folders.iter().find_map(|folder| {
        let folder = folder.trim_end_matches('/');
        path.strip_prefix(folder)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| (&path[..folder.len()], rest))
    })
}

/// A test's name as dbt builds it: the test, the model, the column, the arguments, with
/// each run of characters other than letters, digits and `_` turned into one `_`.
fn test_name(spec: &TestSpec) -> String {
    let source = if spec.attached_to.starts_with("source.") {
        "source_"
    } else {
        ""
    };
    let mut name = format!("{source}{}_{}", spec.test.name(), spec.attached_name);
    if let Some(column) = &spec.column {
        name.push('_');
        name.push_str(column);
    }
    match &spec.test {
        GenericTest::AcceptedValues { values, .. } => {
            name.push_str("__");
            name.push_str(&values.join("__"));
        }
        GenericTest::Relationships { to, field } => {
            name.push_str(&format!("__{field}__{to}"));
        }
        _ => {}
    }
    let mut cleaned = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cleaned.push(c);
            in_run = false;
        } else if !in_run {
            cleaned.push('_');
            in_run = true;
        }
    }
    cleaned
}

/// Reads every file under `prefix` of `storage`, as (path without the prefix, text).
pub async fn read_project_files(
    storage: &dyn Storage,
    prefix: &str,
) -> Result<Vec<(String, String)>, ModelError> {
    let mut files = Vec::new();
    for object in storage.list(prefix).await? {
        let relative = object.path[prefix.len()..].to_owned();
        let wanted = [".sql", ".yml", ".yaml"]
            .iter()
            .any(|ext| relative.ends_with(ext));
        if !wanted || relative.starts_with("target/") || relative.starts_with("dbt_packages/") {
            continue;
        }
        let bytes = storage.get(&object.path).await?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|err| ModelError::Yaml {
            file: relative.clone(),
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
        let text_of = |path: &str| {
            files
                .iter()
                .find(|(name, _)| name == path)
                .map(|(_, text)| text.as_str())
        };
        let project_text = text_of("dbt_project.yml").ok_or_else(|| ModelError::Yaml {
            file: "dbt_project.yml".to_owned(),
            detail: "missing: a project needs a dbt_project.yml".to_owned(),
        })?;
        let project: ProjectFile = serde_yaml_ng::from_str(project_text)
            .map_err(|err| yaml_error("dbt_project.yml", err))?;
        let model_paths = project.model_paths.unwrap_or_else(|| vec!["models".into()]);
        let macro_paths = project.macro_paths.unwrap_or_else(|| vec!["macros".into()]);
        let test_paths = project.test_paths.unwrap_or_else(|| vec!["tests".into()]);
        let snapshot_paths = project
            .snapshot_paths
            .unwrap_or_else(|| vec!["snapshots".into()]);
        let mut all_vars = project.vars.clone();
        all_vars.extend(vars.clone());

        let macros: Vec<(String, String)> = files
            .iter()
            .filter(|(path, _)| path.ends_with(".sql") && under(path, &macro_paths).is_some())
            .cloned()
            .collect();
        let renderer =
            Renderer::new(&macros, all_vars.clone(), "dev").map_err(ModelError::from_jinja)?;

        // Folder configs from the project file, most general first.
        let mut folders = Vec::new();
        if let Some(Yaml::Mapping(models)) = &project.models {
            for (key, tree) in models {
                if key.as_str() == Some(project.name.as_str()) {
                    folder_configs(tree, "", &mut folders);
                } else if let Some(key) = key.as_str().and_then(|k| k.strip_prefix('+')) {
                    folders.push((
                        String::new(),
                        BTreeMap::from([(key.to_owned(), to_json(tree))]),
                    ));
                }
            }
        }
        folders.sort_by_key(|(folder, _)| {
            folder.matches('/').count() + usize::from(!folder.is_empty())
        });

        // Properties: sources, model docs and configs, generic tests.
        let mut sources: BTreeMap<String, SourceTable> = BTreeMap::new();
        let mut model_specs: BTreeMap<String, (String, ModelSpec)> = BTreeMap::new();
        let mut snapshot_sources: BTreeMap<String, SnapshotSource> = BTreeMap::new();
        let mut source_tests: Vec<(String, SourceTableSpec, String)> = Vec::new();
        for (path, text) in files {
            let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
            let in_project =
                under(path, &model_paths).is_some() || under(path, &snapshot_paths).is_some();
            if !yaml || !in_project {
                continue;
            }
            let properties: PropertiesFile =
                serde_yaml_ng::from_str(text).map_err(|err| yaml_error(path, err))?;
            for source in properties.sources {
                let schema = source.schema.clone().unwrap_or_else(|| source.name.clone());
                for table in source.tables {
                    let unique_id =
                        format!("source.{}.{}.{}", project.name, source.name, table.name);
                    let entry = SourceTable {
                        unique_id: unique_id.clone(),
                        source: source.name.clone(),
                        name: table.name.clone(),
                        schema: schema.clone(),
                        identifier: table
                            .identifier
                            .clone()
                            .unwrap_or_else(|| table.name.clone()),
                        description: table.description.clone().unwrap_or_default(),
                        columns: column_docs(&table.columns),
                        file: path.clone(),
                    };
                    sources.insert(unique_id.clone(), entry);
                    source_tests.push((unique_id, table, path.clone()));
                }
            }
            for model in properties.models {
                if let Some((other, _)) = model_specs.get(&model.name) {
                    return Err(yaml_error(
                        path,
                        format!("model {} is also described in {other}", model.name),
                    ));
                }
                model_specs.insert(model.name.clone(), (path.clone(), model));
            }
            for snapshot in properties.snapshots {
                if snapshot_sources.contains_key(&snapshot.name) {
                    return Err(yaml_error(
                        path,
                        format!("snapshot {} is defined twice", snapshot.name),
                    ));
                }
                let raw_code = match &snapshot.relation {
                    Some(relation) => format!("select * from {{{{ {relation} }}}}"),
                    None => String::new(),
                };
                snapshot_sources.insert(
                    snapshot.name.clone(),
                    SnapshotSource {
                        file: path.clone(),
                        raw_code,
                        spec: Some(snapshot),
                    },
                );
            }
        }
        // Legacy snapshot blocks; their YAML (if any) describes them.
        for (path, text) in files {
            if !path.ends_with(".sql") || under(path, &snapshot_paths).is_none() {
                continue;
            }
            for (name, body) in snapshot_blocks(text) {
                match snapshot_sources.get_mut(&name) {
                    Some(existing) if existing.raw_code.is_empty() => {
                        existing.file = path.clone();
                        existing.raw_code = body;
                    }
                    Some(existing) => {
                        return Err(ModelError::Project {
                            file: path.clone(),
                            detail: format!("snapshot {name} is also defined in {}", existing.file),
                        })
                    }
                    None => {
                        snapshot_sources.insert(
                            name,
                            SnapshotSource {
                                file: path.clone(),
                                raw_code: body,
                                spec: None,
                            },
                        );
                    }
                }
            }
        }
        for (name, snapshot) in &snapshot_sources {
            if snapshot.raw_code.is_empty() {
                return Err(yaml_error(
                    &snapshot.file,
                    format!("snapshot {name} needs a relation: ref('model') or source('s', 't')"),
                ));
            }
        }

        // Models.
        let mut relations = Relations::default();
        for source in sources.values() {
            relations.sources.insert(
                (source.source.clone(), source.name.clone()),
                source.relation(),
            );
        }
        let mut model_files: BTreeMap<String, (String, String, String)> = BTreeMap::new();
        for (path, text) in files {
            let Some((_, relative)) = under(path, &model_paths) else {
                continue;
            };
            let Some(name) = relative
                .rsplit('/')
                .next()
                .and_then(|file| file.strip_suffix(".sql"))
            else {
                continue;
            };
            if let Some((other, _, _)) = model_files.get(name) {
                return Err(ModelError::Project {
                    file: path.clone(),
                    detail: format!("another model is named {name}: {other}"),
                });
            }
            model_files.insert(
                name.to_owned(),
                (path.clone(), relative.to_owned(), text.clone()),
            );
            relations
                .models
                .insert(name.to_owned(), format!("{GOLD_SCHEMA}.{name}"));
        }
        for name in snapshot_sources.keys() {
            if let Some((other, _, _)) = model_files.get(name) {
                return Err(ModelError::Project {
                    file: snapshot_sources[name].file.clone(),
                    detail: format!("snapshot {name} has the name of the model {other}"),
                });
            }
            relations
                .models
                .insert(name.clone(), format!("{GOLD_SCHEMA}.{name}"));
        }
        renderer.set_relations(relations.clone());
        // The node a `ref` names: a snapshot's or a model's.
        let project_name = project.name.clone();
        let snapshot_names: BTreeSet<String> = snapshot_sources.keys().cloned().collect();
        let ref_id = |name: &str| {
            if snapshot_names.contains(name) {
                format!("snapshot.{project_name}.{name}")
            } else {
                format!("model.{project_name}.{name}")
            }
        };

        // The unique ids of the models, snapshots and sources a render read.
        let parents = |rendered: &RenderState| -> Vec<String> {
            let mut ids: Vec<String> = rendered.refs.iter().map(|model| ref_id(model)).collect();
            ids.extend(
                rendered
                    .sources
                    .iter()
                    .map(|(source, table)| format!("source.{project_name}.{source}.{table}")),
            );
            ids
        };
        let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
        for (name, (path, relative, text)) in &model_files {
            let (_, rendered) = renderer
                .render(path, text, name, &format!("{GOLD_SCHEMA}.{name}"), false)
                .map_err(ModelError::from_jinja)?;
            let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
            let mut config = NodeConfig::default();
            for (level, keys) in &folders {
                if level.is_empty() || folder == level || folder.starts_with(&format!("{level}/")) {
                    config.apply(keys);
                }
            }
            let spec = model_specs.get(name);
            if let Some((_, spec)) = spec {
                config.apply(&spec.config);
            }
            config.apply(&rendered.config);
            let materialized = config
                .materialized()
                .map_err(|detail| ModelError::Project {
                    file: path.clone(),
                    detail,
                })?;
            let depends_on = parents(&rendered);
            let mut fqn = vec![project.name.clone()];
            fqn.extend(
                folder
                    .split('/')
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned),
            );
            fqn.push(name.clone());
            let unique_id = format!("model.{}.{name}", project.name);
            nodes.insert(
                unique_id.clone(),
                Node {
                    unique_id,
                    resource_type: ResourceType::Model,
                    name: name.clone(),
                    original_file_path: path.clone(),
                    fqn,
                    raw_code: text.clone(),
                    config,
                    materialized: Some(materialized),
                    depends_on,
                    description: spec
                        .and_then(|(_, spec)| spec.description.clone())
                        .unwrap_or_default(),
                    columns: spec
                        .map(|(_, spec)| column_docs(&spec.columns))
                        .unwrap_or_default(),
                    test: None,
                },
            );
        }
        for (name, (file, _)) in &model_specs {
            if !model_files.contains_key(name) {
                return Err(yaml_error(file, format!("model {name} has no SQL file")));
            }
        }
        // Snapshots.
        for (name, snapshot) in &snapshot_sources {
            let path = &snapshot.file;
            let (_, rendered) = renderer
                .render(
                    path,
                    &snapshot.raw_code,
                    name,
                    &format!("{GOLD_SCHEMA}.{name}"),
                    false,
                )
                .map_err(ModelError::from_jinja)?;
            let mut config = NodeConfig::default();
            if let Some(spec) = &snapshot.spec {
                config.apply(&spec.config);
            }
            config.apply(&rendered.config);
            SnapshotConfig::from_config(&config).map_err(|detail| ModelError::Project {
                file: path.clone(),
                detail: format!("snapshot {name}: {detail}"),
            })?;
            let depends_on = parents(&rendered);
            let unique_id = format!("snapshot.{}.{name}", project.name);
            let spec = snapshot.spec.as_ref();
            nodes.insert(
                unique_id.clone(),
                Node {
                    unique_id,
                    resource_type: ResourceType::Snapshot,
                    name: name.clone(),
                    original_file_path: path.clone(),
                    fqn: vec![project.name.clone(), name.clone()],
                    raw_code: snapshot.raw_code.clone(),
                    config,
                    materialized: None,
                    depends_on,
                    description: spec
                        .and_then(|spec| spec.description.clone())
                        .unwrap_or_default(),
                    columns: spec
                        .map(|spec| column_docs(&spec.columns))
                        .unwrap_or_default(),
                    test: None,
                },
            );
        }
        nodes.retain(|_, node| node.config.enabled());

        // Generic tests.
        let mut specs: Vec<TestSpec> = Vec::new();
        for (name, snapshot) in &snapshot_sources {
            let Some(spec) = &snapshot.spec else {
                continue;
            };
            let attached_to = format!("snapshot.{}.{name}", project.name);
            let tests = spec.data_tests.iter().map(|test| (test, None)).chain(
                spec.columns.iter().flat_map(|column| {
                    column
                        .data_tests
                        .iter()
                        .map(move |test| (test, Some(column.name.clone())))
                }),
            );
            for (test, column) in tests {
                let (test, config) = parse_test(test, &snapshot.file)?;
                specs.push(TestSpec {
                    test,
                    attached_to: attached_to.clone(),
                    attached_name: name.clone(),
                    column,
                    config,
                    file: snapshot.file.clone(),
                });
            }
        }
        for (name, (file, spec)) in &model_specs {
            let attached_to = format!("model.{}.{name}", project.name);
            for test in &spec.data_tests {
                let (test, config) = parse_test(test, file)?;
                specs.push(TestSpec {
                    test,
                    attached_to: attached_to.clone(),
                    attached_name: name.clone(),
                    column: None,
                    config,
                    file: file.clone(),
                });
            }
            for column in &spec.columns {
                for test in &column.data_tests {
                    let (test, config) = parse_test(test, file)?;
                    specs.push(TestSpec {
                        test,
                        attached_to: attached_to.clone(),
                        attached_name: name.clone(),
                        column: Some(column.name.clone()),
                        config,
                        file: file.clone(),
                    });
                }
            }
        }
        for (unique_id, table, file) in &source_tests {
            let attached_name =
                format!("{}_{}", sources[unique_id].source, sources[unique_id].name);
            let mut push = |tests: &[Yaml], column: Option<&str>| -> Result<(), ModelError> {
                for test in tests {
                    let (test, config) = parse_test(test, file)?;
                    specs.push(TestSpec {
                        test,
                        attached_to: unique_id.clone(),
                        attached_name: attached_name.clone(),
                        column: column.map(str::to_owned),
                        config,
                        file: file.clone(),
                    });
                }
                Ok(())
            };
            push(&table.data_tests, None)?;
            for column in &table.columns {
                push(&column.data_tests, Some(&column.name))?;
            }
        }
        for spec in specs {
            if !nodes.contains_key(&spec.attached_to) && !sources.contains_key(&spec.attached_to) {
                continue; // its model is disabled
            }
            let mut name = test_name(&spec);
            let mut suffix = 2;
            while nodes.contains_key(&format!("test.{}.{name}", project.name)) {
                name = format!("{}_{suffix}", test_name(&spec));
                suffix += 1;
            }
            let mut depends_on = vec![spec.attached_to.clone()];
            if let GenericTest::Relationships { to, .. } = &spec.test {
                let (_, rendered) = renderer
                    .render(&spec.file, &format!("{{{{ {to} }}}}"), &name, "", false)
                    .map_err(ModelError::from_jinja)?;
                depends_on.extend(parents(&rendered));
            }
            let mut config = NodeConfig::default();
            config.apply(&spec.config);
            let unique_id = format!("test.{}.{name}", project.name);
            nodes.insert(
                unique_id.clone(),
                Node {
                    unique_id,
                    resource_type: ResourceType::Test,
                    name: name.clone(),
                    original_file_path: spec.file.clone(),
                    fqn: vec![project.name.clone(), name.clone()],
                    raw_code: String::new(),
                    config,
                    materialized: None,
                    depends_on,
                    description: String::new(),
                    columns: Vec::new(),
                    test: Some(TestKind::Generic {
                        test: spec.test,
                        attached_to: spec.attached_to,
                        column: spec.column,
                    }),
                },
            );
        }

        // Singular tests.
        for (path, text) in files {
            if !path.ends_with(".sql") || under(path, &test_paths).is_none() {
                continue;
            }
            let name = path
                .rsplit('/')
                .next()
                .and_then(|file| file.strip_suffix(".sql"))
                .unwrap_or_default()
                .to_owned();
            let (_, rendered) = renderer
                .render(path, text, &name, "", false)
                .map_err(ModelError::from_jinja)?;
            let mut config = NodeConfig::default();
            config.apply(&rendered.config);
            let depends_on = parents(&rendered);
            let unique_id = format!("test.{}.{name}", project.name);
            nodes.insert(
                unique_id.clone(),
                Node {
                    unique_id,
                    resource_type: ResourceType::Test,
                    name: name.clone(),
                    original_file_path: path.clone(),
                    fqn: vec![project.name.clone(), name],
                    raw_code: text.clone(),
                    config,
                    materialized: None,
                    depends_on,
                    description: String::new(),
                    columns: Vec::new(),
                    test: Some(TestKind::Singular),
                },
            );
        }

        // Relations as models will be compiled: ephemerals inline.
        for node in nodes.values() {
            if node.materialized == Some(Materialization::Ephemeral) {
                relations
                    .models
                    .insert(node.name.clone(), format!("__dbt__cte__{}", node.name));
            }
        }
        relations
            .models
            .retain(|name, _| nodes.contains_key(&ref_id(name)));
        renderer.set_relations(relations);

        let parsed = Self {
            name: project.name,
            model_paths,
            snapshot_paths,
            nodes,
            sources,
            vars: all_vars,
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
                        file: node.original_file_path.clone(),
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
