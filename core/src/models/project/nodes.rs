//! The node phases: the models' SQL files and the snapshots, rendered once to learn
//! their configs and dependencies, as [`Node`]s.

use std::collections::{BTreeMap, BTreeSet};

use super::properties::{column_docs, under, yaml_error, Properties, Settings};
use super::{Node, ResourceType};
use crate::models::config::NodeConfig;
use crate::models::jinja::{Relations, RenderState, Renderer, GOLD_SCHEMA};
use crate::models::snapshot::SnapshotConfig;
use crate::models::ModelError;

/// A model's SQL file.
#[derive(Debug)]
pub(super) struct ModelFile {
    /// From the project root.
    pub(super) path: String,
    /// From its model folder.
    pub(super) relative: String,
    /// Its text.
    pub(super) text: String,
}

/// A project read as far as its nodes: the settings, the properties, the model files
/// and a renderer that knows every relation; each phase builds one kind of node.
#[derive(Debug)]
pub(super) struct Parser<'a> {
    /// Every file of the project.
    pub(super) files: &'a [(String, String)],
    /// `dbt_project.yml`.
    pub(super) settings: Settings,
    /// The YAML properties.
    pub(super) properties: Properties,
    /// Each model's file, by name.
    pub(super) model_files: BTreeMap<String, ModelFile>,
    /// Each seed's CSV file, by name.
    pub(super) seed_files: BTreeMap<String, ModelFile>,
    /// The relations the templates render to.
    pub(super) relations: Relations,
    /// The project's Jinja environment.
    pub(super) renderer: Renderer,
}

/// Each file ending in `extension` under `folders` (a model's SQL, a seed's CSV), by
/// name; two with one name are an error.
fn files_named(
    files: &[(String, String)],
    folders: &[String],
    extension: &str,
) -> Result<BTreeMap<String, ModelFile>, ModelError> {
    let mut model_files: BTreeMap<String, ModelFile> = BTreeMap::new();
    for (path, text) in files {
        let Some((_, relative)) = under(path, folders) else {
            continue;
        };
        let Some(name) = relative
            .rsplit('/')
            .next()
            .and_then(|file| file.strip_suffix(extension))
        else {
            continue;
        };
        if let Some(other) = model_files.get(name) {
            let kind = if extension == ".csv" { "seed" } else { "model" };
            return Err(ModelError::Project {
                path: path.clone(),
                detail: format!("another {kind} is named {name}: {}", other.path),
            });
        }
        model_files.insert(
            name.to_owned(),
            ModelFile {
                path: path.clone(),
                relative: relative.to_owned(),
                text: text.clone(),
            },
        );
    }
    Ok(model_files)
}

/// Whether a level of `dbt_project.yml`'s configs (a folder path, or a node's path
/// ending in its name) covers the node `name` in `folder`.
fn applies(level: &str, folder: &str, name: &str) -> bool {
    let path = if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    };
    level.is_empty() || path == level || path.starts_with(&format!("{level}/"))
}

/// The dotted name dbt gives a node: the project, a kind's prefix (`analysis`), the
/// folders from its resource folder, the name.
fn fqn(project: &str, prefix: Option<&str>, folder: &str, name: &str) -> Vec<String> {
    std::iter::once(project)
        .chain(prefix)
        .chain(folder.split('/').filter(|part| !part.is_empty()))
        .chain(std::iter::once(name))
        .map(str::to_owned)
        .collect()
}

impl<'a> Parser<'a> {
    /// Reads `dbt_project.yml`, the macros, the properties and the model files, and
    /// names every source, model and snapshot relation.
    pub(super) fn new(
        files: &'a [(String, String)],
        vars: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, ModelError> {
        let settings = Settings::read(files, vars)?;
        let macros: Vec<(String, String)> = files
            .iter()
            .filter(|(path, _)| {
                path.ends_with(".sql") && under(path, &settings.macro_paths).is_some()
            })
            .cloned()
            .collect();
        let renderer = Renderer::new(&macros, &settings.name, settings.vars.clone(), "dev")
            .map_err(ModelError::from_jinja)?;
        let properties = Properties::read(files, &settings)?;
        let model_files = files_named(files, &settings.model_paths, ".sql")?;
        let seed_files = files_named(files, &settings.seed_paths, ".csv")?;
        let mut relations = Relations::default();
        for source in properties.sources.values() {
            relations.sources.insert(
                (source.source.clone(), source.name.clone()),
                source.relation(),
            );
        }
        for name in model_files.keys() {
            relations
                .models
                .insert(name.clone(), format!("{GOLD_SCHEMA}.{name}"));
        }
        for (name, snapshot) in &properties.snapshots {
            if let Some(other) = model_files.get(name) {
                return Err(ModelError::Project {
                    path: snapshot.file.clone(),
                    detail: format!("snapshot {name} has the name of the model {}", other.path),
                });
            }
            relations
                .models
                .insert(name.clone(), format!("{GOLD_SCHEMA}.{name}"));
        }
        for (name, seed) in &seed_files {
            if let Some(other) = model_files.get(name) {
                return Err(ModelError::Project {
                    path: seed.path.clone(),
                    detail: format!("seed {name} has the name of the model {}", other.path),
                });
            }
            if let Some(other) = properties.snapshots.get(name) {
                return Err(ModelError::Project {
                    path: seed.path.clone(),
                    detail: format!("seed {name} has the name of the snapshot in {}", other.file),
                });
            }
            relations
                .models
                .insert(name.clone(), format!("{GOLD_SCHEMA}.{name}"));
        }
        renderer.set_relations(relations.clone());
        Ok(Self {
            files,
            settings,
            properties,
            model_files,
            seed_files,
            relations,
            renderer,
        })
    }

    /// The unique id of the node a `ref` names: a snapshot's, a seed's or a model's.
    pub(super) fn ref_id(&self, name: &str) -> String {
        let project = &self.settings.name;
        if self.properties.snapshots.contains_key(name) {
            format!("snapshot.{project}.{name}")
        } else if self.seed_files.contains_key(name) {
            format!("seed.{project}.{name}")
        } else {
            format!("model.{project}.{name}")
        }
    }

    /// The unique ids of the models, snapshots and sources a render read.
    pub(super) fn parents(&self, rendered: &RenderState) -> Vec<String> {
        let project = &self.settings.name;
        let mut ids: Vec<String> = rendered
            .refs
            .iter()
            .map(|model| self.ref_id(model))
            .collect();
        ids.extend(
            rendered
                .sources
                .iter()
                .map(|(source, table)| format!("source.{project}.{source}.{table}")),
        );
        ids
    }

    /// Renders a node's template as it is parsed (not incremental), for its config
    /// calls and dependencies.
    pub(super) fn render(
        &self,
        path: &str,
        text: &str,
        name: &str,
        this: &str,
    ) -> Result<RenderState, ModelError> {
        self.renderer
            .render(path, text, name, this, false)
            .map(|(_, rendered)| rendered)
            .map_err(ModelError::from_jinja)
    }

    /// The model phase: a node per SQL file, configured by the folder configs, then its
    /// YAML, then its `config()`; every described model has a file.
    pub(super) fn model_nodes(&self) -> Result<Vec<Node>, ModelError> {
        let project = &self.settings.name;
        let mut nodes = Vec::with_capacity(self.model_files.len());
        for (name, file) in &self.model_files {
            let rendered = self.render(
                &file.path,
                &file.text,
                name,
                &format!("{GOLD_SCHEMA}.{name}"),
            )?;
            let folder = file
                .relative
                .rsplit_once('/')
                .map_or("", |(folder, _)| folder);
            let mut config = NodeConfig::default();
            for (level, keys) in &self.settings.folders {
                if applies(level, folder, name) {
                    config.apply(keys);
                }
            }
            let spec = self.properties.models.get(name).map(|(_, spec)| spec);
            if let Some(spec) = spec {
                config.apply(&spec.config);
            }
            config.apply(&rendered.config);
            let materialized = config.materialized().map_err(|detail| ModelError::Config {
                node: name.clone(),
                path: file.path.clone(),
                detail,
            })?;
            let mut node = Node::new(
                ResourceType::Model,
                project,
                name,
                &file.path,
                file.text.clone(),
                config,
                self.parents(&rendered),
            );
            node.fqn = fqn(project, None, folder, name);
            node.materialized = Some(materialized);
            if let Some(spec) = spec {
                node.description = spec.description.clone().unwrap_or_default();
                node.columns = column_docs(&spec.columns);
            }
            nodes.push(node);
        }
        for (name, (file, _)) in &self.properties.models {
            if !self.model_files.contains_key(name) {
                return Err(yaml_error(file, format!("model {name} has no SQL file")));
            }
        }
        Ok(nodes)
    }

    /// The snapshot phase: a node per snapshot, configured by its YAML then its
    /// `config()`, whose snapshot config must be complete.
    pub(super) fn snapshot_nodes(&self) -> Result<Vec<Node>, ModelError> {
        let project = &self.settings.name;
        let mut nodes = Vec::with_capacity(self.properties.snapshots.len());
        for (name, snapshot) in &self.properties.snapshots {
            let path = &snapshot.file;
            let rendered = self.render(
                path,
                &snapshot.raw_code,
                name,
                &format!("{GOLD_SCHEMA}.{name}"),
            )?;
            let mut config = NodeConfig::default();
            if let Some(spec) = &snapshot.spec {
                config.apply(&spec.config);
            }
            config.apply(&rendered.config);
            SnapshotConfig::from_config(&config).map_err(|detail| ModelError::Config {
                node: name.clone(),
                path: path.clone(),
                detail: format!("snapshot {name}: {detail}"),
            })?;
            let mut node = Node::new(
                ResourceType::Snapshot,
                project,
                name,
                path,
                snapshot.raw_code.clone(),
                config,
                self.parents(&rendered),
            );
            if let Some(spec) = &snapshot.spec {
                node.description = spec.description.clone().unwrap_or_default();
                node.columns = column_docs(&spec.columns);
            }
            nodes.push(node);
        }
        Ok(nodes)
    }

    /// The seed phase: a node per CSV file, configured by the `seeds:` folder configs,
    /// then its YAML; every described seed has a file.
    pub(super) fn seed_nodes(&self) -> Result<Vec<Node>, ModelError> {
        let project = &self.settings.name;
        let mut nodes = Vec::with_capacity(self.seed_files.len());
        for (name, file) in &self.seed_files {
            let folder = file
                .relative
                .rsplit_once('/')
                .map_or("", |(folder, _)| folder);
            let mut config = NodeConfig::default();
            for (level, keys) in &self.settings.seed_folders {
                if applies(level, folder, name) {
                    config.apply(keys);
                }
            }
            let spec = self.properties.seeds.get(name).map(|(_, spec)| spec);
            if let Some(spec) = spec {
                config.apply(&spec.config);
            }
            let mut node = Node::new(
                ResourceType::Seed,
                project,
                name,
                &file.path,
                file.text.trim_start_matches('\u{feff}').to_owned(),
                config,
                Vec::new(),
            );
            node.fqn = fqn(project, None, folder, name);
            if let Some(spec) = spec {
                node.description = spec.description.clone().unwrap_or_default();
                node.columns = column_docs(&spec.columns);
            }
            nodes.push(node);
        }
        for (name, (file, _)) in &self.properties.seeds {
            if !self.seed_files.contains_key(name) {
                return Err(yaml_error(file, format!("seed {name} has no CSV file")));
            }
        }
        Ok(nodes)
    }

    /// The analysis phase: a node per SQL file under the analysis folders, rendered for
    /// its refs and `config()`; it is compiled, never run.
    pub(super) fn analysis_nodes(&self) -> Result<Vec<Node>, ModelError> {
        let project = &self.settings.name;
        let mut nodes = Vec::new();
        for (path, text) in self.files {
            let Some((_, relative)) = under(path, &self.settings.analysis_paths) else {
                continue;
            };
            let Some(stem) = relative.strip_suffix(".sql") else {
                continue;
            };
            let (folder, name) = stem.rsplit_once('/').unwrap_or(("", stem));
            let rendered = self.render(path, text, name, &format!("{GOLD_SCHEMA}.{name}"))?;
            let mut config = NodeConfig::default();
            config.apply(&rendered.config);
            let mut node = Node::new(
                ResourceType::Analysis,
                project,
                name,
                path,
                text.clone(),
                config,
                self.parents(&rendered),
            );
            node.fqn = fqn(project, Some("analysis"), folder, name);
            nodes.push(node);
        }
        Ok(nodes)
    }

    /// Every description (of the nodes, their columns and the sources) with its
    /// `doc()` calls replaced by the docs blocks, each error naming the YAML file.
    pub(super) fn resolve_descriptions(
        &mut self,
        nodes: &mut BTreeMap<String, Node>,
    ) -> Result<(), ModelError> {
        for node in nodes.values_mut() {
            let file = match node.resource_type {
                ResourceType::Model => self.properties.models.get(&node.name).map(|(f, _)| f),
                ResourceType::Seed => self.properties.seeds.get(&node.name).map(|(f, _)| f),
                ResourceType::Snapshot => self
                    .properties
                    .snapshots
                    .get(&node.name)
                    .map(|snapshot| &snapshot.file),
                ResourceType::Test | ResourceType::Analysis => None,
            }
            .cloned()
            .unwrap_or_else(|| node.original_file_path.clone());
            node.description = self.properties.resolve_docs(&node.description, &file)?;
            for column in &mut node.columns {
                column.description = self.properties.resolve_docs(&column.description, &file)?;
            }
        }
        let mut sources = std::mem::take(&mut self.properties.sources);
        for source in sources.values_mut() {
            source.description = self
                .properties
                .resolve_docs(&source.description, &source.file)?;
            for column in &mut source.columns {
                column.description = self
                    .properties
                    .resolve_docs(&column.description, &source.file)?;
            }
        }
        self.properties.sources = sources;
        Ok(())
    }

    /// The relations as the models will be compiled (ephemerals inline, disabled nodes
    /// gone), in the renderer; the names the project knows.
    pub(super) fn finish_relations(&mut self, nodes: &BTreeMap<String, Node>) {
        for node in nodes.values() {
            if node.materialized == Some(crate::models::Materialization::Ephemeral) {
                self.relations
                    .models
                    .insert(node.name.clone(), format!("__dbt__cte__{}", node.name));
            }
        }
        let known: BTreeSet<String> = self
            .relations
            .models
            .keys()
            .filter(|name| nodes.contains_key(&self.ref_id(name)))
            .cloned()
            .collect();
        self.relations.models.retain(|name, _| known.contains(name));
        self.renderer.set_relations(self.relations.clone());
    }
}
