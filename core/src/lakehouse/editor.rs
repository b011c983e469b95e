//! The model editor's [`Lakehouse`] methods: compile a file as typed, what autocomplete
//! offers, the SQL that previews a model, and the build of one saved file.

use datafusion::common::instant::Instant;

use super::{
    pipeline_entity, silver_step, Flow, Lakehouse, LakehouseError, RunProgress, RunReport, Stage,
    Steps,
};
use crate::editor::{
    self, CompiledFile, Completions, Diagnostic, EditorError, Severity, StepResult,
};
use crate::lineage;
use crate::models::{ModelRunner, Node, Project, ResourceType, RunOptions, TestKind, TARGET};
use crate::silver::{Pipeline, Silver, SilverOptions};

/// A file compiled: its SQL, what is wrong, and the kind of node it is, if one.
struct Compiled {
    sql: Option<String>,
    diagnostics: Vec<Diagnostic>,
    resource: Option<ResourceType>,
}

impl Compiled {
    fn only(diagnostics: Vec<Diagnostic>) -> Self {
        Self {
            sql: None,
            diagnostics,
            resource: None,
        }
    }
}

/// The node `path` defines in `project`: a model, snapshot, seed, singular test or
/// analysis from its own file (not a generic test declared in YAML).
fn node_of<'a>(project: &'a Project, path: &str) -> Option<&'a Node> {
    project.nodes.values().find(|node| {
        node.original_file_path == path && !matches!(node.test, Some(TestKind::Generic { .. }))
    })
}

impl Lakehouse {
    /// Compiles `path` as if its text were `text` (unsaved), with the rest of the
    /// project as stored: a model, snapshot, test or analysis to its compiled SQL; a YAML
    /// file (properties, `dbt_project.yml`, a Silver pipeline) checked. Jinja, YAML and
    /// SQL errors (sqlparser on the compiled SQL, mapped back to the source line) are
    /// diagnostics at their source line; a user's mistake is never an `Err`.
    pub async fn compile_file(
        &self,
        path: &str,
        text: &str,
    ) -> Result<CompiledFile, LakehouseError> {
        let started = Instant::now();
        let compiled = self.compile_text(path, text).await?;
        Ok(CompiledFile {
            path: path.to_owned(),
            compiled: compiled.sql,
            diagnostics: compiled.diagnostics,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    async fn compile_text(&self, path: &str, text: &str) -> Result<Compiled, LakehouseError> {
        if editor::is_pipeline(path) {
            let error = Pipeline::parse(path, text).err();
            return Ok(Compiled::only(
                error
                    .map(|err| editor::pipeline_error(text, &err))
                    .into_iter()
                    .collect(),
            ));
        }
        if editor::is_yaml(path) {
            if let Some(diagnostic) = editor::yaml_syntax_error(text) {
                return Ok(Compiled::only(vec![diagnostic]));
            }
        }
        let mut files = self.project_files().await?;
        match files.binary_search_by(|(file, _)| file.as_str().cmp(path)) {
            Ok(index) => files[index].1 = text.to_owned(),
            Err(index) => files.insert(index, (path.to_owned(), text.to_owned())),
        }
        let project = match Project::parse(&files, &self.vars) {
            Ok(project) => project,
            Err(err) => return Ok(Compiled::only(vec![editor::model_error(path, text, &err)])),
        };
        let Some(node) = node_of(&project, path)
            .filter(|_| path.ends_with(".sql"))
            .cloned()
        else {
            return Ok(Compiled::only(Vec::new()));
        };
        let runner = ModelRunner::new(self.storage.clone(), project);
        Ok(match runner.compile(&node, false).await {
            Ok((sql, _)) => Compiled {
                diagnostics: editor::sql_errors(text, &sql),
                sql: Some(sql),
                resource: Some(node.resource_type),
            },
            Err(err) => Compiled {
                resource: Some(node.resource_type),
                ..Compiled::only(vec![editor::model_error(path, text, &err)])
            },
        })
    }

    /// What autocomplete offers: the names `ref()` and `source()` take, the macros with
    /// their arguments, and the columns of every relation the store's tables and
    /// `target/catalog.json` know.
    pub async fn completions(&self) -> Result<Completions, LakehouseError> {
        let files = self.project_files().await?;
        let project = Project::parse(&files, &self.vars)?;
        let tables = self.sql_console().await?.tables().await?;
        let catalog = match self.storage.get(&format!("{TARGET}/catalog.json")).await {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(crate::storage::StorageError::NotFound { .. }) => None,
            Err(err) => return Err(err.into()),
        };
        Ok(editor::completions(
            &project,
            &files,
            &tables,
            catalog.as_ref(),
        ))
    }

    /// The SQL that previews the model `path` (dbt's `show`): its compiled SELECT (of the
    /// unsaved `text`) with at most `limit` rows, to run in the SQL console
    /// ([`Lakehouse::sql_console`]); it materializes nothing.
    pub async fn preview_sql(
        &self,
        path: &str,
        text: &str,
        limit: usize,
    ) -> Result<String, LakehouseError> {
        let compiled = self.compile_text(path, text).await?;
        if let Some(error) = compiled
            .diagnostics
            .iter()
            .find(|diagnostic| diagnostic.severity == Severity::Error)
        {
            return Err(EditorError::DoesNotCompile {
                path: path.to_owned(),
                line: error.line,
                message: error.message.clone(),
            }
            .into());
        }
        let (Some(sql), Some(ResourceType::Model | ResourceType::Snapshot)) =
            (compiled.sql, compiled.resource)
        else {
            return Err(EditorError::NotAModel {
                path: path.to_owned(),
            }
            .into());
        };
        let select = sql.trim().trim_end_matches(';').trim_end();
        Ok(format!(
            "select * from (\n{select}\n) as preview limit {limit}"
        ))
    }

    /// Builds from one saved file: a model, snapshot or seed as Gold's `<name>+` (it,
    /// what depends on it, and their tests), a singular test alone; a Silver pipeline
    /// file as that entity's Silver with a full refresh, then Gold's
    /// `source:silver.<entity>+`. Progress and cancellation as [`Lakehouse::run`]; every
    /// step's run is kept for the lineage, and returned.
    pub async fn build_file(
        &self,
        path: &str,
        observer: &mut dyn FnMut(&RunProgress) -> Flow,
    ) -> Result<(RunReport, Vec<StepResult>), LakehouseError> {
        if self.reset_pending().await? {
            return Err(LakehouseError::ResetInterrupted);
        }
        let project = self.project().await?;
        let entity = editor::is_pipeline(path).then(|| pipeline_entity(path).to_owned());
        let select = match (&entity, node_of(&project, path)) {
            (Some(entity), _) => format!("source:silver.{entity}+"),
            (None, Some(node)) if node.resource_type == ResourceType::Test => node.name.clone(),
            (None, Some(node)) if editor::refable(node) => format!("{}+", node.name),
            _ => {
                return Err(EditorError::NotBuildable {
                    path: path.to_owned(),
                }
                .into())
            }
        };
        let mut results = Vec::new();
        let mut collect = |progress: &RunProgress| {
            if let Some(run) = &progress.run {
                let resource = match progress.stage {
                    Stage::Gold if progress.node.starts_with("test.") => "test",
                    Stage::Gold => project
                        .nodes
                        .values()
                        .find(|node| lineage::model_id(&node.name) == progress.node)
                        .map_or("model", |node| node.resource_type.name()),
                    _ => "silver",
                };
                results.push(StepResult {
                    node: progress.node.clone(),
                    name: progress.step.clone(),
                    resource: resource.to_owned(),
                    run: run.clone(),
                });
            }
            observer(progress)
        };
        let mut steps = Steps {
            observer: &mut collect,
            runs: Vec::new(),
        };
        let mut report = RunReport::default();
        let outcome = self
            .build_steps(entity.as_deref(), select, &mut steps, &mut report)
            .await;
        lineage::record_runs(self.storage.as_ref(), &steps.runs).await?;
        drop(steps);
        outcome.map(|()| (report, results))
    }

    /// A file's build: `entity`'s Silver with a full refresh if it is a pipeline, then
    /// Gold's `select`.
    async fn build_steps(
        &self,
        entity: Option<&str>,
        select: String,
        steps: &mut Steps<'_>,
        report: &mut RunReport,
    ) -> Result<(), LakehouseError> {
        if let Some(entity) = entity {
            let silver = Silver::new(
                self.storage.clone(),
                self.checkpoint.clone(),
                self.pipelines().await?,
            )?;
            let options = SilverOptions { full_refresh: true };
            if silver_step(&silver, entity, &options, (1, 1), steps, report).await? == Flow::Cancel
            {
                return Ok(());
            }
            // A new entity's table joins the `silver` source before Gold selects it.
            self.join_silver_sources().await?;
        }
        let options = RunOptions {
            select: vec![select],
            ..RunOptions::default()
        };
        self.run_gold(self.project().await?, &options, steps, report)
            .await
    }
}
