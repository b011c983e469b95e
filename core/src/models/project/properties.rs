//! The properties phase: `dbt_project.yml` (paths, vars, folder configs) and the YAML
//! files of the model and snapshot folders (sources, model docs and configs, snapshots
//! and their tests), with the legacy `{% snapshot %}` blocks.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::{ColumnDoc, SourceTable};
use crate::models::ModelError;

/// A `{% docs name %} … {% enddocs %}` block: its name and body.
static DOCS_BLOCK: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?s)\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}")
        .expect("a valid pattern")
});

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
    #[serde(default, rename = "seed-paths")]
    seed_paths: Option<Vec<String>>,
    #[serde(default, rename = "analysis-paths")]
    analysis_paths: Option<Vec<String>>,
    #[serde(default, rename = "docs-paths")]
    docs_paths: Option<Vec<String>>,
    #[serde(default, rename = "require-dbt-version")]
    require_dbt_version: Option<Yaml>,
    #[serde(default, rename = "clean-targets")]
    clean_targets: Option<Vec<String>>,
    #[serde(default)]
    vars: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    models: Option<Yaml>,
    #[serde(default)]
    seeds: Option<Yaml>,
}

/// The dbt version the engine matches, which `require-dbt-version` is checked against.
pub(crate) const DBT_VERSION: [u64; 3] = [1, 10, 0];

/// Whether `version` satisfies one `require-dbt-version` constraint (`>=1.5.0`, `<2`,
/// `1.10.0`, `>=1.0.0,<2.0.0`); missing minor and patch parts are zero.
fn satisfies(version: [u64; 3], constraint: &str) -> Result<bool, String> {
    let mut all = true;
    for part in constraint
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (op, number) = ["~=", ">=", "<=", "==", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|rest| (*op, rest.trim())))
            .unwrap_or(("=", part));
        let mut wanted = [0u64; 3];
        let pieces: Vec<&str> = number.trim_start_matches('v').split('.').collect();
        if pieces.is_empty() || pieces.len() > 3 {
            return Err(format!("{part:?} is not a version constraint"));
        }
        for (slot, piece) in wanted.iter_mut().zip(&pieces) {
            // A pre-release or build suffix (`1.10.0b1`) compares on its number.
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            *slot = digits
                .parse()
                .map_err(|_| format!("{part:?} is not a version constraint"))?;
        }
        let ok = match op {
            ">=" => version >= wanted,
            "<=" => version <= wanted,
            ">" => version > wanted,
            "<" => version < wanted,
            "!=" => version != wanted,
            // `~=1.9` means >=1.9, <2; `~=1.9.1` means >=1.9.1, <1.10.
            "~=" => {
                let fixed = pieces.len().saturating_sub(1).max(1);
                version >= wanted && version[..fixed] == wanted[..fixed]
            }
            _ => version == wanted,
        };
        all &= ok;
    }
    Ok(all)
}

/// Checks `require-dbt-version` (a constraint or a list, all of which must hold)
/// against [`DBT_VERSION`].
fn check_dbt_version(required: &Yaml) -> Result<(), ModelError> {
    let constraints: Vec<String> = match required {
        Yaml::String(text) => vec![text.clone()],
        Yaml::Sequence(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                yaml_error(
                    "dbt_project.yml",
                    "require-dbt-version: each constraint must be text",
                )
            })?,
        _ => {
            return Err(yaml_error(
                "dbt_project.yml",
                "require-dbt-version must be a version constraint or a list of them",
            ))
        }
    };
    let [major, minor, patch] = DBT_VERSION;
    for constraint in &constraints {
        let ok = satisfies(DBT_VERSION, constraint).map_err(|detail| {
            yaml_error("dbt_project.yml", format!("require-dbt-version: {detail}"))
        })?;
        if !ok {
            return Err(yaml_error(
                "dbt_project.yml",
                format!(
                    "require-dbt-version {constraint:?} is not satisfied: this engine has the behaviour of dbt {major}.{minor}.{patch}"
                ),
            ));
        }
    }
    Ok(())
}

/// Keys of a folder level in `dbt_project.yml` that are configs even without a `+`.
const CONFIG_KEYS: [&str; 20] = [
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
    "pre-hook",
    "post-hook",
    "column_types",
    "quote_columns",
    "delimiter",
    "grants",
];

/// A YAML error in `path`.
pub(super) fn yaml_error(path: &str, err: impl std::fmt::Display) -> ModelError {
    ModelError::Yaml {
        path: path.to_owned(),
        detail: err.to_string(),
    }
}

/// A YAML value as JSON (null if it has no JSON form).
pub(super) fn to_json(value: &Yaml) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Whether `path` is under one of `folders` (and which), with the rest of the path.
pub(super) fn under<'a>(path: &'a str, folders: &[String]) -> Option<(&'a str, &'a str)> {
    folders.iter().find_map(|folder| {
        let folder = folder.trim_end_matches('/');
        path.strip_prefix(folder)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| (&path[..folder.len()], rest))
    })
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
        } else if CONFIG_KEYS.contains(&key)
            && (!value.is_mapping()
                || ["meta", "column_types", "grants", "docs", "persist_docs"].contains(&key))
        {
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

/// `dbt_project.yml` read: the project's name, folders, variables and folder configs.
#[derive(Debug)]
pub(super) struct Settings {
    /// The project's name.
    pub(super) name: String,
    /// Folders of models.
    pub(super) model_paths: Vec<String>,
    /// Folders of macros.
    pub(super) macro_paths: Vec<String>,
    /// Folders of singular tests.
    pub(super) test_paths: Vec<String>,
    /// Folders of snapshots.
    pub(super) snapshot_paths: Vec<String>,
    /// Folders of seeds (CSV files).
    pub(super) seed_paths: Vec<String>,
    /// Folders of analyses (compiled, never run).
    pub(super) analysis_paths: Vec<String>,
    /// Folders searched for `{% docs %}` blocks in `.md` files.
    pub(super) docs_paths: Vec<String>,
    /// `clean-targets`: the folders `dbt clean` deletes.
    pub(super) clean_targets: Vec<String>,
    /// The project's variables, then the run's.
    pub(super) vars: BTreeMap<String, serde_json::Value>,
    /// Folder configs of `models:`, most general first.
    pub(super) folders: Vec<(String, BTreeMap<String, serde_json::Value>)>,
    /// Folder configs of `seeds:`, most general first.
    pub(super) seed_folders: Vec<(String, BTreeMap<String, serde_json::Value>)>,
}

/// The folder configs of one resource tree of `dbt_project.yml` (`models:`, `seeds:`),
/// most general first.
fn resource_folders(
    tree: Option<&Yaml>,
    project: &str,
) -> Vec<(String, BTreeMap<String, serde_json::Value>)> {
    let mut folders = Vec::new();
    if let Some(Yaml::Mapping(resources)) = tree {
        for (key, tree) in resources {
            if key.as_str() == Some(project) {
                folder_configs(tree, "", &mut folders);
            } else if let Some(key) = key.as_str().and_then(|k| k.strip_prefix('+')) {
                folders.push((
                    String::new(),
                    BTreeMap::from([(key.to_owned(), to_json(tree))]),
                ));
            }
        }
    }
    folders
        .sort_by_key(|(folder, _)| folder.matches('/').count() + usize::from(!folder.is_empty()));
    folders
}

impl Settings {
    /// Reads `dbt_project.yml` from `files`, with the run's `vars` over the project's.
    pub(super) fn read(
        files: &[(String, String)],
        vars: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, ModelError> {
        let project_text = files
            .iter()
            .find(|(name, _)| name == "dbt_project.yml")
            .map(|(_, text)| text.as_str())
            .ok_or_else(|| ModelError::Yaml {
                path: "dbt_project.yml".to_owned(),
                detail: "missing: a project needs a dbt_project.yml".to_owned(),
            })?;
        let project: ProjectFile = serde_yaml_ng::from_str(project_text)
            .map_err(|err| yaml_error("dbt_project.yml", err))?;
        if let Some(required) = &project.require_dbt_version {
            check_dbt_version(required)?;
        }
        let mut all_vars = project.vars.clone();
        all_vars.extend(vars.clone());
        let folders = resource_folders(project.models.as_ref(), &project.name);
        let seed_folders = resource_folders(project.seeds.as_ref(), &project.name);
        let model_paths = project.model_paths.unwrap_or_else(|| vec!["models".into()]);
        let macro_paths = project.macro_paths.unwrap_or_else(|| vec!["macros".into()]);
        let snapshot_paths = project
            .snapshot_paths
            .unwrap_or_else(|| vec!["snapshots".into()]);
        let seed_paths = project.seed_paths.unwrap_or_else(|| vec!["seeds".into()]);
        let analysis_paths = project
            .analysis_paths
            .unwrap_or_else(|| vec!["analyses".into()]);
        // dbt looks for docs blocks in every resource folder unless told where.
        let docs_paths = project.docs_paths.unwrap_or_else(|| {
            [
                &model_paths,
                &seed_paths,
                &analysis_paths,
                &macro_paths,
                &snapshot_paths,
            ]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
        });
        Ok(Self {
            name: project.name,
            model_paths,
            macro_paths,
            test_paths: project.test_paths.unwrap_or_else(|| vec!["tests".into()]),
            snapshot_paths,
            seed_paths,
            analysis_paths,
            docs_paths,
            clean_targets: project
                .clean_targets
                .unwrap_or_else(|| vec!["target".into(), "dbt_packages".into()]),
            vars: all_vars,
            folders,
            seed_folders,
        })
    }
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
    #[serde(default)]
    seeds: Vec<ModelSpec>,
}

/// A snapshot in YAML (dbt 1.9+): `relation: ref('x')` or `source('s', 't')`.
#[derive(Debug, Deserialize)]
pub(super) struct SnapshotSpec {
    pub(super) name: String,
    #[serde(default)]
    pub(super) relation: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub(super) columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    pub(super) data_tests: Vec<Yaml>,
}

/// A snapshot found in the project: its file, SQL template and YAML properties.
#[derive(Debug)]
pub(super) struct SnapshotSource {
    pub(super) file: String,
    pub(super) raw_code: String,
    pub(super) spec: Option<SnapshotSpec>,
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

/// A `sources:` entry: a schema and its tables.
#[derive(Debug, Deserialize)]
struct SourceSpec {
    name: String,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    tables: Vec<SourceTableSpec>,
}

/// A table of a source.
#[derive(Debug, Deserialize)]
pub(super) struct SourceTableSpec {
    pub(super) name: String,
    #[serde(default)]
    pub(super) identifier: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    pub(super) data_tests: Vec<Yaml>,
}

/// A `models:` entry.
#[derive(Debug, Deserialize)]
pub(super) struct ModelSpec {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub(super) columns: Vec<ColumnSpec>,
    #[serde(default, alias = "tests")]
    pub(super) data_tests: Vec<Yaml>,
}

/// A documented column, with its tests.
#[derive(Debug, Deserialize)]
pub(super) struct ColumnSpec {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default, alias = "tests")]
    pub(super) data_tests: Vec<Yaml>,
}

/// The documented columns of a YAML column list.
pub(super) fn column_docs(columns: &[ColumnSpec]) -> Vec<ColumnDoc> {
    columns
        .iter()
        .map(|column| ColumnDoc {
            name: column.name.clone(),
            description: column.description.clone().unwrap_or_default(),
        })
        .collect()
}

/// What the YAML properties declare.
#[derive(Debug, Default)]
pub(super) struct Properties {
    /// Every source table, by unique id.
    pub(super) sources: BTreeMap<String, SourceTable>,
    /// Each described model: its YAML file and properties.
    pub(super) models: BTreeMap<String, (String, ModelSpec)>,
    /// Each snapshot: its file, template and properties.
    pub(super) snapshots: BTreeMap<String, SnapshotSource>,
    /// Each source table's unique id, properties and YAML file, for its tests.
    pub(super) source_tests: Vec<(String, SourceTableSpec, String)>,
    /// Each described seed: its YAML file and properties.
    pub(super) seeds: BTreeMap<String, (String, ModelSpec)>,
    /// The `{% docs %}` blocks: name → (file, text).
    pub(super) docs: BTreeMap<String, (String, String)>,
}

impl Properties {
    /// Reads the YAML files under the model and snapshot folders, then the legacy
    /// snapshot blocks; every snapshot ends with a template.
    pub(super) fn read(
        files: &[(String, String)],
        settings: &Settings,
    ) -> Result<Self, ModelError> {
        let mut properties = Properties::default();
        for (path, text) in files {
            let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
            let in_project = under(path, &settings.model_paths).is_some()
                || under(path, &settings.snapshot_paths).is_some()
                || under(path, &settings.seed_paths).is_some()
                || under(path, &settings.analysis_paths).is_some();
            if yaml && in_project {
                properties.add_file(path, text, &settings.name)?;
            }
            if path.ends_with(".md") && under(path, &settings.docs_paths).is_some() {
                properties.add_docs(path, text)?;
            }
        }
        for (path, text) in files {
            if path.ends_with(".sql") && under(path, &settings.snapshot_paths).is_some() {
                properties.add_snapshot_blocks(path, text)?;
            }
        }
        for (name, snapshot) in &properties.snapshots {
            if snapshot.raw_code.is_empty() {
                return Err(yaml_error(
                    &snapshot.file,
                    format!("snapshot {name} needs a relation: ref('model') or source('s', 't')"),
                ));
            }
        }
        Ok(properties)
    }

    /// Adds the sources, models and snapshots of one properties file.
    fn add_file(&mut self, path: &str, text: &str, project: &str) -> Result<(), ModelError> {
        let file: PropertiesFile =
            serde_yaml_ng::from_str(text).map_err(|err| yaml_error(path, err))?;
        for source in file.sources {
            let schema = source.schema.clone().unwrap_or_else(|| source.name.clone());
            for table in source.tables {
                let unique_id = format!("source.{project}.{}.{}", source.name, table.name);
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
                    file: path.to_owned(),
                };
                self.sources.insert(unique_id.clone(), entry);
                self.source_tests.push((unique_id, table, path.to_owned()));
            }
        }
        for model in file.models {
            if let Some((other, _)) = self.models.get(&model.name) {
                return Err(yaml_error(
                    path,
                    format!("model {} is also described in {other}", model.name),
                ));
            }
            self.models
                .insert(model.name.clone(), (path.to_owned(), model));
        }
        for seed in file.seeds {
            if let Some((other, _)) = self.seeds.get(&seed.name) {
                return Err(yaml_error(
                    path,
                    format!("seed {} is also described in {other}", seed.name),
                ));
            }
            self.seeds
                .insert(seed.name.clone(), (path.to_owned(), seed));
        }
        for snapshot in file.snapshots {
            if self.snapshots.contains_key(&snapshot.name) {
                return Err(yaml_error(
                    path,
                    format!("snapshot {} is defined twice", snapshot.name),
                ));
            }
            let raw_code = match &snapshot.relation {
                Some(relation) => format!("select * from {{{{ {relation} }}}}"),
                None => String::new(),
            };
            self.snapshots.insert(
                snapshot.name.clone(),
                SnapshotSource {
                    file: path.to_owned(),
                    raw_code,
                    spec: Some(snapshot),
                },
            );
        }
        Ok(())
    }

    /// Adds the `{% docs name %} … {% enddocs %}` blocks of one Markdown file.
    fn add_docs(&mut self, path: &str, text: &str) -> Result<(), ModelError> {
        for captures in DOCS_BLOCK.captures_iter(text) {
            let (Some(name), Some(body)) = (captures.get(1), captures.get(2)) else {
                continue;
            };
            let name = name.as_str().to_owned();
            if let Some((other, _)) = self.docs.get(&name) {
                return Err(yaml_error(
                    path,
                    format!("docs block {name} is also defined in {other}"),
                ));
            }
            self.docs
                .insert(name, (path.to_owned(), body.as_str().trim().to_owned()));
        }
        Ok(())
    }

    /// `text` (a description) with every `doc('name')` replaced by its block's text;
    /// a description without Jinja is as it is. An unknown block is an error naming
    /// `file`.
    pub(super) fn resolve_docs(&self, text: &str, file: &str) -> Result<String, ModelError> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_owned());
        }
        let mut env = minijinja::Environment::new();
        let docs: BTreeMap<String, String> = self
            .docs
            .iter()
            .map(|(name, (_, body))| (name.clone(), body.clone()))
            .collect();
        env.add_function(
            "doc",
            move |first: String, second: Option<String>| -> Result<String, minijinja::Error> {
                let name = second.unwrap_or(first);
                docs.get(&name).cloned().ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("doc('{name}'): no docs block is named {name}"),
                    )
                })
            },
        );
        env.render_str(text, ())
            .map_err(|err| yaml_error(file, format!("a description: {err}")))
    }

    /// Adds the legacy snapshot blocks of one SQL file; a snapshot's YAML without a
    /// relation takes its block.
    fn add_snapshot_blocks(&mut self, path: &str, text: &str) -> Result<(), ModelError> {
        for (name, body) in snapshot_blocks(text) {
            match self.snapshots.get_mut(&name) {
                Some(existing) if existing.raw_code.is_empty() => {
                    existing.file = path.to_owned();
                    existing.raw_code = body;
                }
                Some(existing) => {
                    return Err(ModelError::Project {
                        path: path.to_owned(),
                        detail: format!("snapshot {name} is also defined in {}", existing.file),
                    })
                }
                None => {
                    self.snapshots.insert(
                        name,
                        SnapshotSource {
                            file: path.to_owned(),
                            raw_code: body,
                            spec: None,
                        },
                    );
                }
            }
        }
        Ok(())
    }
}
