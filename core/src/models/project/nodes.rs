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
    /// The relations the templates render to.
    pub(super) relations: Relations,
    /// The project's Jinja environment.
    pub(super) renderer: Renderer,
}

/// Each model's SQL file under the model folders, by name; two with one name are an
/// error.
fn model_files(
    files: &[(String, String)],
    model_paths: &[String],
) -> Result<BTreeMap<String, ModelFile>, ModelError> {
    let mut model_files: BTreeMap<String, ModelFile> = BTreeMap::new();
    for (path, text) in files {
        let Some((_, relative)) = under(path, model_paths) else {
            continue;
        };
        let Some(name) = relative
            .rsplit('/')
            .next()
            .and_then(|file| file.strip_suffix(".sql"))
        else {
            continue;
        };
        if let Some(other) = model_files.get(name) {
            return Err(ModelError::Project {
                path: path.clone(),
                detail: format!("another model is named {name}: {}", other.path),
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
        let renderer =
            Renderer::new(&macros, settings.vars.clone(), "dev").map_err(ModelError::from_jinja)?;
        let properties = Properties::read(files, &settings)?;
        let model_files = model_files(files, &settings.model_paths)?;
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
        renderer.set_relations(relations.clone());
        Ok(Self {
            files,
            settings,
            properties,
            model_files,
            relations,
            renderer,
        })
    }

    /// The unique id of the node a `ref` names: a snapshot's or a model's.
    pub(super) fn ref_id(&self, name: &str) -> String {
        let project = &self.settings.name;
        if self.properties.snapshots.contains_key(name) {
            format!("snapshot.{project}.{name}")
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
                if level.is_empty() || folder == level || folder.starts_with(&format!("{level}/")) {
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
            node.fqn = std::iter::once(project.clone())
                .chain(
                    folder
                        .split('/')
                        .filter(|part| !part.is_empty())
                        .map(str::to_owned),
                )
                .chain(std::iter::once(name.clone()))
                .collect();
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
