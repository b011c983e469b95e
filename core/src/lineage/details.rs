//! A lineage node's details, for the panel the playground opens on a selected node (and
//! the CLI prints): what it is, where it is declared, its configuration, its SQL raw
//! and compiled, its columns with types, docs and tests, its Delta table and version,
//! and what its stream's checkpoint or its pipeline says.
//!
//! [`node_details`] reads the store (Delta tables, landing files), the checkpoint store
//! (Bronze offsets and commits, Silver progress) and the parsed dbt project; it writes
//! nothing. Everything it returns is plain data that travels to the browser as JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::highlight::{highlight_sql, SqlToken};
use super::NodeKind;
use crate::bronze::{BronzeError, StreamState, METADATA_COLUMNS};
use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::delta::{DeltaError, DeltaTable};
use crate::models::{
    ColumnDoc, IncrementalStrategy, Materialization, ModelError, ModelRunner, Node, OnSchemaChange,
    Project, ResourceType, SourceTable, TestKind,
};
use crate::silver::{self, Pipeline, SilverError};
use crate::storage::{Storage, StorageError};
use crate::warehouse::{self, LANDING};

/// Everything the lineage panel shows about one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeDetails {
    /// The node's id: its relation name (`gold.fact_trips`, `source:silver.trips`).
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// Its description: from the YAML docs, the pipeline file, or what the layer does.
    pub description: String,
    /// The file that declares it (`models/marts/fact_trips.sql`,
    /// `models/silver/trips.yml`), if one does.
    pub file: Option<String>,
    /// A dbt node's materialization (`incremental`, `snapshot`).
    pub materialization: Option<String>,
    /// Every configuration key the node has, as display text (a list joined by `, `);
    /// an incremental model's strategy and schema-change mode also when they are the
    /// defaults, marked `(default)`.
    pub config: Vec<(String, String)>,
    /// A dbt node's file, Jinja included, highlighted.
    pub raw_sql: Option<Vec<SqlToken>>,
    /// Its SQL as it runs now (refs and sources resolved, ephemerals as
    /// `__dbt__cte__` CTEs), highlighted; `None` when it cannot compile.
    pub compiled_sql: Option<Vec<SqlToken>>,
    /// Why it cannot compile.
    pub compile_error: Option<String>,
    /// Its columns: the actual ones first, in their order, then documented columns the
    /// relation does not have.
    pub columns: Vec<ColumnDetail>,
    /// Its Delta table (`gold/fact_trips`), when it exists.
    pub table: Option<String>,
    /// That table's current Delta version.
    pub version: Option<i64>,
    /// Landing and Bronze: the stream's checkpoint summed up; Silver and quarantine: the
    /// Bronze version read up to and what the last run did. (label, value) pairs.
    pub checkpoint: Vec<(String, String)>,
    /// Silver and quarantine: the pipeline's steps, in order.
    pub pipeline: Vec<PipelineStepDetail>,
    /// Landing: the files under `landing/<entity>/` (store path, size in bytes).
    pub files: Vec<(String, u64)>,
}

/// One column of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDetail {
    /// Its name.
    pub name: String,
    /// Its Arrow type as Arrow prints it (`Int64`, `Decimal128(12, 2)`), when known:
    /// from the Delta table, or from the plan of the compiled SQL of a view or
    /// ephemeral; `None` for a documented column the relation lacks, or one whose
    /// relation does not exist yet.
    pub data_type: Option<String>,
    /// Its description from the YAML docs (or, for Bronze metadata, what it holds).
    pub description: String,
    /// The unique ids of the generic tests on this column.
    pub tests: Vec<String>,
}

/// One step of a Silver pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineStepDetail {
    /// The step's name.
    pub name: String,
    /// Its transform's kind (`cast`, `validate`, `enrich`).
    pub transform: String,
    /// What the step is for.
    pub description: Option<String>,
    /// Whether it runs.
    pub enabled: bool,
}

/// Why a node's details could not be read; each names the node.
#[derive(Debug, thiserror::Error)]
pub enum DetailsError {
    /// No node has this id.
    #[error("no lineage node is named {0}")]
    UnknownNode(String),
    /// The project's session could not be set up.
    #[error("{node}: {source}")]
    Models {
        /// The node's id.
        node: String,
        /// The model engine's error.
        source: ModelError,
    },
    /// A Delta table could not be read.
    #[error("{node}: {source}")]
    Delta {
        /// The node's id.
        node: String,
        /// The Delta error.
        source: DeltaError,
    },
    /// The store failed.
    #[error("{node}: {source}")]
    Storage {
        /// The node's id.
        node: String,
        /// The store's error.
        source: StorageError,
    },
    /// The checkpoint store failed.
    #[error("{node}: {source}")]
    Checkpoint {
        /// The node's id.
        node: String,
        /// The checkpoint store's error.
        source: CheckpointError,
    },
    /// A Bronze stream's checkpoint could not be read.
    #[error("{node}: {source}")]
    Bronze {
        /// The node's id.
        node: String,
        /// Bronze's error.
        source: BronzeError,
    },
    /// A Silver stream's progress could not be read.
    #[error("{node}: {source}")]
    Silver {
        /// The node's id.
        node: String,
        /// Silver's error.
        source: SilverError,
    },
}

/// What an id names, resolved.
enum Target<'a> {
    Landing(String),
    Bronze(String),
    Silver(String, Option<&'a Pipeline>),
    Quarantine(String, Option<&'a Pipeline>),
    Source(&'a SourceTable),
    Node(&'a Node),
}

/// Reads what one call needs, naming its node in every error.
struct Reader<'a> {
    storage: Arc<dyn Storage>,
    checkpoint: &'a dyn CheckpointStore,
    project: &'a Project,
    id: &'a str,
}

/// A config value as display text: a string as it is, a list joined by `, `.
fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A time in ms since the epoch, as UTC text.
fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A schema's columns as (name, type as Arrow prints it).
fn schema_columns(schema: &Schema) -> Vec<(String, String)> {
    schema
        .fields()
        .iter()
        .map(|field| (field.name().clone(), field.data_type().to_string()))
        .collect()
}

/// What each Bronze metadata column holds.
fn bronze_column_description(name: &str) -> &'static str {
    match name {
        "_source_file" => "The landing file the row came from.",
        "_file_modified_at" => "When that file was last written.",
        "_ingested_at" => "When the batch that ingested the row read its files.",
        "_batch_id" => "The stream's batch that ingested the row.",
        "_rescued_data" => "Values that did not fit the table's columns, as JSON.",
        "_corrupt_record" => "The raw text of a record that could not be parsed.",
        _ => "",
    }
}

/// The actual columns (if the relation exists) then the documented ones it lacks, with
/// docs and the generic tests of `tests` (column → test ids).
fn merge_columns(
    actual: &[(String, String)],
    docs: &[ColumnDoc],
    tests: &BTreeMap<String, Vec<String>>,
) -> Vec<ColumnDetail> {
    let doc = |name: &str| {
        docs.iter()
            .find(|doc| doc.name.eq_ignore_ascii_case(name))
            .map(|doc| doc.description.clone())
            .unwrap_or_default()
    };
    let tests_of = |name: &str| {
        tests
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    };
    let mut columns: Vec<ColumnDetail> = actual
        .iter()
        .map(|(name, data_type)| ColumnDetail {
            name: name.clone(),
            data_type: Some(data_type.clone()),
            description: doc(name),
            tests: tests_of(name),
        })
        .collect();
    for documented in docs {
        if !actual
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(&documented.name))
        {
            columns.push(ColumnDetail {
                name: documented.name.clone(),
                data_type: None,
                description: documented.description.clone(),
                tests: tests_of(&documented.name),
            });
        }
    }
    columns
}

/// The generic tests on columns of the node or source `attached_to`, by lowercase
/// column name, each list sorted.
fn column_tests(project: &Project, attached_to: &str) -> BTreeMap<String, Vec<String>> {
    let mut tests: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in project.nodes.values() {
        if let Some(TestKind::Generic {
            attached_to: tested,
            column: Some(column),
            ..
        }) = &node.test
        {
            if tested == attached_to {
                tests
                    .entry(column.to_ascii_lowercase())
                    .or_default()
                    .push(node.unique_id.clone());
            }
        }
    }
    for list in tests.values_mut() {
        list.sort();
    }
    tests
}

/// The details every node starts from: nothing known yet.
fn empty(id: &str, kind: NodeKind) -> NodeDetails {
    NodeDetails {
        id: id.to_owned(),
        kind,
        description: String::new(),
        file: None,
        materialization: None,
        config: Vec::new(),
        raw_sql: None,
        compiled_sql: None,
        compile_error: None,
        columns: Vec::new(),
        table: None,
        version: None,
        checkpoint: Vec::new(),
        pipeline: Vec::new(),
        files: Vec::new(),
    }
}

/// The steps of a pipeline, in order.
fn steps(pipeline: &Pipeline) -> Vec<PipelineStepDetail> {
    pipeline
        .steps
        .iter()
        .map(|step| PipelineStepDetail {
            name: step.name.clone(),
            transform: step.transform.kind().to_owned(),
            description: step.description.clone(),
            enabled: step.enabled,
        })
        .collect()
}

/// A pipeline's settings as configuration.
fn pipeline_config(pipeline: &Pipeline) -> Vec<(String, String)> {
    let key = match pipeline.key.is_empty() {
        true => "none (every row is appended)".to_owned(),
        false => pipeline.key.join(", "),
    };
    let mut config = vec![("key".to_owned(), key)];
    if let Some(sequence_by) = &pipeline.sequence_by {
        config.push(("sequence_by".to_owned(), sequence_by.clone()));
    }
    if let Some(marker) = &pipeline.delete_marker {
        config.push(("delete_marker".to_owned(), marker.clone()));
    }
    if !pipeline.optional_columns.is_empty() {
        config.push((
            "optional_columns".to_owned(),
            pipeline.optional_columns.join(", "),
        ));
    }
    config
}

/// A node's configuration, with an incremental model's defaults spelled out.
fn node_config(node: &Node) -> Vec<(String, String)> {
    let mut config: Vec<(String, String)> = node
        .config
        .values()
        .iter()
        .map(|(key, value)| (key.clone(), display(value)))
        .collect();
    let has = |config: &[(String, String)], key: &str| config.iter().any(|(k, _)| k == key);
    if node.materialized == Some(Materialization::Incremental) {
        if !has(&config, "incremental_strategy") {
            let strategy = match node.config.incremental_strategy() {
                Ok(IncrementalStrategy::Append) => "append",
                Ok(IncrementalStrategy::Merge) => "merge",
                Ok(IncrementalStrategy::DeleteInsert) => "delete+insert",
                Err(_) => "append",
            };
            config.push((
                "incremental_strategy".to_owned(),
                format!("{strategy} (default)"),
            ));
        }
        if !has(&config, "on_schema_change") {
            let mode = match node.config.on_schema_change() {
                Ok(OnSchemaChange::Fail) => "fail",
                Ok(OnSchemaChange::AppendNewColumns) => "append_new_columns",
                Ok(OnSchemaChange::SyncAllColumns) => "sync_all_columns",
                Ok(OnSchemaChange::Ignore) | Err(_) => "ignore",
            };
            config.push(("on_schema_change".to_owned(), format!("{mode} (default)")));
        }
    }
    config.sort();
    config
}

impl Reader<'_> {
    fn delta(&self, source: DeltaError) -> DetailsError {
        DetailsError::Delta {
            node: self.id.to_owned(),
            source,
        }
    }

    fn bronze(&self, source: BronzeError) -> DetailsError {
        DetailsError::Bronze {
            node: self.id.to_owned(),
            source,
        }
    }

    fn silver(&self, source: SilverError) -> DetailsError {
        DetailsError::Silver {
            node: self.id.to_owned(),
            source,
        }
    }

    fn storage_error(&self, source: StorageError) -> DetailsError {
        DetailsError::Storage {
            node: self.id.to_owned(),
            source,
        }
    }

    /// The Delta table at `path`, if it exists: its columns and current version.
    async fn table(
        &self,
        path: &str,
    ) -> Result<Option<(Vec<(String, String)>, i64)>, DetailsError> {
        let table = DeltaTable::new(self.storage.clone(), path);
        if !table.exists().await.map_err(|err| self.delta(err))? {
            return Ok(None);
        }
        let snapshot = table.snapshot().await.map_err(|err| self.delta(err))?;
        Ok(Some((
            schema_columns(snapshot.schema()),
            snapshot.version(),
        )))
    }

    /// Fills in the table, version and columns of the Delta table at `path`.
    async fn with_table(
        &self,
        details: &mut NodeDetails,
        path: &str,
        docs: &[ColumnDoc],
        tests: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), DetailsError> {
        let actual = match self.table(path).await? {
            Some((columns, version)) => {
                details.table = Some(path.to_owned());
                details.version = Some(version);
                columns
            }
            None => Vec::new(),
        };
        details.columns = merge_columns(&actual, docs, tests);
        Ok(())
    }

    /// Whether the checkpoint holds any key under `prefix`.
    async fn has_state(&self, prefix: &str) -> Result<bool, DetailsError> {
        Ok(!self
            .checkpoint
            .scan(prefix)
            .await
            .map_err(|source| DetailsError::Checkpoint {
                node: self.id.to_owned(),
                source,
            })?
            .is_empty())
    }

    /// The files under `landing/<entity>/`, in path order.
    async fn landing_files(
        &self,
        entity: &str,
    ) -> Result<Vec<crate::storage::ObjectMeta>, DetailsError> {
        let mut files = self
            .storage
            .list(&format!("{LANDING}{entity}/"))
            .await
            .map_err(|err| self.storage_error(err))?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

/// What `id` names in `project` and `pipelines` (and the store), if anything.
async fn resolve<'p>(
    reader: &Reader<'_>,
    project: &'p Project,
    pipelines: &'p [Pipeline],
) -> Result<Option<Target<'p>>, DetailsError> {
    let id = reader.id;
    let pipeline = |entity: &str| pipelines.iter().find(|p| p.entity == entity);
    if let Some(rest) = id.strip_prefix("source:") {
        return Ok(project
            .sources
            .values()
            .find(|source| format!("{}.{}", source.source, source.name) == rest)
            .map(Target::Source));
    }
    let Some((layer, name)) = id.split_once('.') else {
        return Ok(None);
    };
    if name.is_empty() {
        return Ok(None);
    }
    let target = match layer {
        "landing" => {
            let known = pipeline(name).is_some() || !reader.landing_files(name).await?.is_empty();
            known.then(|| Target::Landing(name.to_owned()))
        }
        "bronze" => {
            let known = pipeline(name).is_some()
                || reader
                    .table(&warehouse::bronze_table(name))
                    .await?
                    .is_some()
                || reader.has_state(&format!("bronze/{name}/")).await?;
            known.then(|| Target::Bronze(name.to_owned()))
        }
        "silver" => {
            let quarantine = name
                .strip_suffix("_quarantine")
                .filter(|entity| !entity.is_empty() && pipeline(name).is_none());
            match quarantine {
                Some(entity) => {
                    let known = pipeline(entity).is_some()
                        || reader
                            .table(&warehouse::quarantine_table(entity))
                            .await?
                            .is_some();
                    known.then(|| Target::Quarantine(entity.to_owned(), pipeline(entity)))
                }
                None => {
                    let known = pipeline(name).is_some()
                        || reader
                            .table(&warehouse::silver_table(name))
                            .await?
                            .is_some();
                    known.then(|| Target::Silver(name.to_owned(), pipeline(name)))
                }
            }
        }
        "gold" => project
            .nodes
            .values()
            .find(|node| {
                node.name == name
                    && matches!(
                        node.resource_type,
                        ResourceType::Model | ResourceType::Snapshot | ResourceType::Seed
                    )
            })
            .map(Target::Node),
        _ => None,
    };
    Ok(target)
}

impl Reader<'_> {
    /// A landing node: its files, and which the stream has not looked at yet.
    async fn landing(&self, entity: &str) -> Result<NodeDetails, DetailsError> {
        let mut details = empty(self.id, NodeKind::Landing);
        details.description = format!(
            "Files dropped in {LANDING}{entity}/, waiting for the Bronze stream of {entity} \
             to ingest them once each."
        );
        let listed = self.landing_files(entity).await?;
        let waiting = StreamState::new(self.checkpoint, entity)
            .unseen(listed.clone())
            .await
            .map_err(|err| self.bronze(err))?;
        details.checkpoint = vec![
            ("Files".to_owned(), listed.len().to_string()),
            ("Waiting".to_owned(), waiting.len().to_string()),
            (
                "Already seen".to_owned(),
                (listed.len() - waiting.len().min(listed.len())).to_string(),
            ),
        ];
        details.files = listed
            .into_iter()
            .map(|meta| (meta.path, meta.size))
            .collect();
        Ok(details)
    }

    /// A Bronze node: its table and its stream's checkpoint.
    async fn bronze_node(&self, entity: &str) -> Result<NodeDetails, DetailsError> {
        let mut details = empty(self.id, NodeKind::Bronze);
        details.description = format!(
            "Every file of {LANDING}{entity}/ ingested exactly once, its values as the source \
             wrote them, with where each row came from."
        );
        self.with_table(
            &mut details,
            &warehouse::bronze_table(entity),
            &[],
            &BTreeMap::new(),
        )
        .await?;
        for column in &mut details.columns {
            if METADATA_COLUMNS.contains(&column.name.as_str()) {
                column.description = bronze_column_description(&column.name).to_owned();
            }
        }
        let state = StreamState::new(self.checkpoint, entity);
        let summary = state.summary().await.map_err(|err| self.bronze(err))?;
        let listed = self.landing_files(entity).await?;
        let waiting = state.unseen(listed).await.map_err(|err| self.bronze(err))?;
        let checkpoint = &mut details.checkpoint;
        checkpoint.push((
            "Batches committed".to_owned(),
            summary.batches_committed.to_string(),
        ));
        if let Some((batch, version)) = summary.last_commit {
            checkpoint.push((
                "Last commit".to_owned(),
                format!("batch {batch} wrote version {version}"),
            ));
        }
        if let Some(batch) = summary.last_offset {
            let files = summary.last_files.len();
            let plural = if files == 1 { "file" } else { "files" };
            checkpoint.push((
                "Last offset".to_owned(),
                format!("batch {batch}: {files} {plural}"),
            ));
        }
        if let Some(ms) = summary.last_ingested_at_ms {
            checkpoint.push(("Last ingest".to_owned(), time(ms)));
        }
        checkpoint.push((
            "Files ingested".to_owned(),
            summary.files_ingested.to_string(),
        ));
        if summary.copies_skipped > 0 {
            checkpoint.push((
                "Copies skipped".to_owned(),
                summary.copies_skipped.to_string(),
            ));
        }
        checkpoint.push(("Files waiting".to_owned(), waiting.len().to_string()));
        if let Some(batch) = summary.unfinished_batch {
            checkpoint.push((
                "Unfinished batch".to_owned(),
                format!("batch {batch} was planned but not committed: the next run redoes it"),
            ));
        }
        Ok(details)
    }

    /// The docs and tests of the project's sources that read the table at `path`.
    fn source_docs(&self, path: &str) -> (Vec<ColumnDoc>, BTreeMap<String, Vec<String>>) {
        let mut docs = Vec::new();
        let mut tests: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for source in self.project.sources.values() {
            if format!("{}/{}", source.schema, source.identifier) != path {
                continue;
            }
            docs.extend(source.columns.iter().cloned());
            for (column, ids) in column_tests(self.project, &source.unique_id) {
                tests.entry(column).or_default().extend(ids);
            }
        }
        (docs, tests)
    }

    /// What the Silver stream of `entity` has read and what its last run did.
    async fn silver_checkpoint(&self, entity: &str) -> Result<Vec<(String, String)>, DetailsError> {
        let mut checkpoint = Vec::new();
        let progress = silver::read_progress(self.checkpoint, entity)
            .await
            .map_err(|err| self.silver(err))?;
        let bronze_now = self
            .table(&warehouse::bronze_table(entity))
            .await?
            .map(|(_, version)| version);
        let Some(progress) = progress else {
            checkpoint.push((
                "Bronze read".to_owned(),
                "nothing yet: Silver has not run".to_owned(),
            ));
            if let Some(version) = bronze_now {
                checkpoint.push(("Bronze version now".to_owned(), version.to_string()));
            }
            return Ok(checkpoint);
        };
        checkpoint.push((
            "Bronze read".to_owned(),
            format!("up to version {}", progress.bronze_version),
        ));
        if let Some(version) = bronze_now {
            let behind = version - progress.bronze_version;
            let state = if behind > 0 {
                format!("{version} ({behind} to read)")
            } else {
                format!("{version} (up to date)")
            };
            checkpoint.push(("Bronze version now".to_owned(), state));
        }
        if let Some(version) = progress.silver_version {
            checkpoint.push(("Silver version after it".to_owned(), version.to_string()));
        }
        if let Some(version) = progress.quarantine_version {
            checkpoint.push((
                "Quarantine version after it".to_owned(),
                version.to_string(),
            ));
        }
        checkpoint.push((
            "Last run".to_owned(),
            if progress.full_refresh {
                "full refresh".to_owned()
            } else {
                "incremental".to_owned()
            },
        ));
        checkpoint.push(("Processed at".to_owned(), time(progress.processed_at_ms)));
        if let Some(run) = silver::last_run(self.checkpoint, entity)
            .await
            .map_err(|err| self.silver(err))?
        {
            checkpoint.push(("Rows read".to_owned(), run.rows_in.to_string()));
            checkpoint.push((
                "Inserted, updated, deleted".to_owned(),
                format!("{}, {}, {}", run.inserted, run.updated, run.deleted),
            ));
            checkpoint.push(("Quarantined".to_owned(), run.quarantined.to_string()));
            checkpoint.push(("Duplicates dropped".to_owned(), run.duplicates.to_string()));
        }
        Ok(checkpoint)
    }

    /// A Silver node: its table, its pipeline and its progress.
    async fn silver_node(
        &self,
        entity: &str,
        pipeline: Option<&Pipeline>,
    ) -> Result<NodeDetails, DetailsError> {
        let mut details = empty(self.id, NodeKind::Silver);
        let path = warehouse::silver_table(entity);
        if let Some(pipeline) = pipeline {
            details.description = pipeline.description.clone().unwrap_or_default();
            details.file = Some(pipeline.file.clone());
            details.config = pipeline_config(pipeline);
            details.pipeline = steps(pipeline);
        }
        let (docs, tests) = self.source_docs(&path);
        self.with_table(&mut details, &path, &docs, &tests).await?;
        details.checkpoint = self.silver_checkpoint(entity).await?;
        Ok(details)
    }

    /// A quarantine node: its table and the pipeline whose rejected rows it holds.
    async fn quarantine_node(
        &self,
        entity: &str,
        pipeline: Option<&Pipeline>,
    ) -> Result<NodeDetails, DetailsError> {
        let mut details = empty(self.id, NodeKind::Quarantine);
        details.description = format!(
            "The rows the Silver pipeline of {entity} rejected, each with the step that \
             rejected it and why, and the Bronze file and batch it came from."
        );
        if let Some(pipeline) = pipeline {
            details.file = Some(pipeline.file.clone());
            details.pipeline = steps(pipeline);
        }
        self.with_table(
            &mut details,
            &warehouse::quarantine_table(entity),
            &[],
            &BTreeMap::new(),
        )
        .await?;
        details.checkpoint = self.silver_checkpoint(entity).await?;
        Ok(details)
    }

    /// A dbt source: the Silver table it reads, with its docs and tests.
    async fn source_node(&self, source: &SourceTable) -> Result<NodeDetails, DetailsError> {
        let mut details = empty(self.id, NodeKind::Source);
        details.description = source.description.clone();
        details.file = Some(source.file.clone());
        details.config = vec![
            ("schema".to_owned(), source.schema.clone()),
            ("identifier".to_owned(), source.identifier.clone()),
        ];
        let tests = column_tests(self.project, &source.unique_id);
        let path = format!("{}/{}", source.schema, source.identifier);
        self.with_table(&mut details, &path, &source.columns, &tests)
            .await?;
        Ok(details)
    }

    /// A model or snapshot: its config, SQL raw and compiled, columns and table.
    async fn dbt_node(&self, node: &Node) -> Result<NodeDetails, DetailsError> {
        let kind = match (node.resource_type, node.materialized) {
            (ResourceType::Snapshot, _) => NodeKind::Snapshot,
            (ResourceType::Seed, _) => NodeKind::Seed,
            (_, Some(Materialization::Table)) => NodeKind::Table,
            (_, Some(Materialization::Incremental)) => NodeKind::Incremental,
            (_, Some(Materialization::Ephemeral)) => NodeKind::Ephemeral,
            (_, Some(Materialization::View) | None) => NodeKind::View,
        };
        let mut details = empty(self.id, kind);
        details.description = node.description.clone();
        details.file = Some(node.original_file_path.clone());
        details.materialization = Some(match kind {
            NodeKind::Snapshot => "snapshot".to_owned(),
            NodeKind::Seed => "seed".to_owned(),
            _ => node
                .materialized
                .unwrap_or(Materialization::View)
                .name()
                .to_owned(),
        });
        details.config = node_config(node);
        details.raw_sql = Some(highlight_sql(&node.raw_code));
        let runner = ModelRunner::new(self.storage.clone(), self.project.clone());
        let compiled = match runner.compile(node, false).await {
            Ok((sql, _)) => {
                details.compiled_sql = Some(highlight_sql(&sql));
                Some(sql)
            }
            Err(err) => {
                details.compile_error = Some(err.to_string());
                None
            }
        };
        let tests = column_tests(self.project, &node.unique_id);
        // Views and ephemerals have no table: a table of that name is a leftover of
        // an earlier materialization.
        let stored = matches!(
            kind,
            NodeKind::Table | NodeKind::Incremental | NodeKind::Snapshot | NodeKind::Seed
        );
        if stored {
            self.with_table(
                &mut details,
                &warehouse::gold_table(&node.name),
                &node.columns,
                &tests,
            )
            .await?;
            return Ok(details);
        }
        let mut actual = Vec::new();
        if let Some(sql) = compiled {
            let session = runner
                .session()
                .await
                .map_err(|source| DetailsError::Models {
                    node: self.id.to_owned(),
                    source,
                })?;
            runner.define_views(&session, &[]).await;
            // A plan fails when an upstream table does not exist yet: no types then.
            if let Ok(frame) = session.sql(&sql).await {
                actual = schema_columns(frame.schema().as_arrow());
            }
        }
        details.columns = merge_columns(&actual, &node.columns, &tests);
        Ok(details)
    }
}

/// The details of node `id` (`gold.fact_trips`, `silver.trips`, `landing.trips`,
/// `source:silver.trips`) of the lakehouse over `storage` and `checkpoint`, with
/// `project` parsed and `pipelines` the Silver pipelines; reads, never writes.
pub async fn node_details(
    storage: Arc<dyn Storage>,
    checkpoint: &dyn CheckpointStore,
    project: &Project,
    pipelines: &[Pipeline],
    id: &str,
) -> Result<NodeDetails, DetailsError> {
    let reader = Reader {
        storage,
        checkpoint,
        project,
        id,
    };
    let target = resolve(&reader, project, pipelines)
        .await?
        .ok_or_else(|| DetailsError::UnknownNode(id.to_owned()))?;
    match target {
        Target::Landing(entity) => reader.landing(&entity).await,
        Target::Bronze(entity) => reader.bronze_node(&entity).await,
        Target::Silver(entity, pipeline) => reader.silver_node(&entity, pipeline).await,
        Target::Quarantine(entity, pipeline) => reader.quarantine_node(&entity, pipeline).await,
        Target::Source(source) => reader.source_node(source).await,
        Target::Node(node) => reader.dbt_node(node).await,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::checkpoint::MemoryCheckpointStore;
    use crate::lakehouse::{Flow, Lakehouse, Stage};
    use crate::models::fixtures::{files_with, write_sources, ORDERS_V1};
    use crate::models::{bundled_project, Command, RunOptions};
    use crate::silver::bundled_pipelines;
    use crate::storage::MemoryStorage;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn text(tokens: &Option<Vec<SqlToken>>) -> String {
        tokens
            .iter()
            .flatten()
            .map(|token| token.text.as_str())
            .collect()
    }

    fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(label, _)| label == key)
            .map(|(_, value)| value.as_str())
    }

    fn column<'a>(details: &'a NodeDetails, name: &str) -> &'a ColumnDetail {
        details
            .columns
            .iter()
            .find(|column| column.name == name)
            .unwrap_or_else(|| panic!("{} has column {name}", details.id))
    }

    #[test]
    fn a_built_fixture_shows_config_sql_columns_and_tests() {
        runtime().block_on(async {
            let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
            let checkpoint = MemoryCheckpointStore::new();
            write_sources(&storage, &ORDERS_V1).await;
            let project = Project::parse(&files_with(&[]), &BTreeMap::new()).expect("parses");
            let runner = ModelRunner::new(storage.clone(), project.clone());
            let built = runner
                .run(Command::Build, &RunOptions::default())
                .await
                .expect("build");
            assert!(built.results.iter().any(|r| r.name == "orders_merge"));
            let details = |id: &'static str| {
                let storage = storage.clone();
                let checkpoint = &checkpoint;
                let project = &project;
                async move { node_details(storage, checkpoint, project, &[], id).await }
            };

            // An incremental model: its config, raw Jinja, compiled SQL, typed columns.
            let merge = details("gold.orders_merge").await.expect("details");
            assert_eq!(merge.kind, NodeKind::Incremental);
            assert_eq!(merge.materialization.as_deref(), Some("incremental"));
            assert_eq!(
                merge.file.as_deref(),
                Some("models/marts/incremental/orders_merge.sql")
            );
            assert_eq!(value(&merge.config, "unique_key"), Some("order_id"));
            assert_eq!(value(&merge.config, "incremental_strategy"), Some("merge"));
            assert_eq!(value(&merge.config, "merge_update_columns"), Some("status"));
            assert_eq!(
                value(&merge.config, "on_schema_change"),
                Some("ignore (default)")
            );
            assert_eq!(value(&merge.config, "tags"), Some("marts, incremental"));
            let raw = merge.raw_sql.as_ref().expect("raw sql");
            assert!(raw
                .iter()
                .any(|t| t.kind == super::super::TokenKind::Jinja && t.text.contains("ref(")));
            let compiled = text(&merge.compiled_sql);
            assert!(compiled.contains("gold.stg_orders"), "{compiled}");
            assert!(!compiled.contains("{{"), "{compiled}");
            assert_eq!(merge.compile_error, None);
            let names: Vec<&str> = merge.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["order_id", "status", "amount"]);
            assert_eq!(
                column(&merge, "order_id").data_type.as_deref(),
                Some("Int64")
            );
            assert_eq!(merge.table.as_deref(), Some("gold/orders_merge"));
            assert!(merge.version.is_some());
            assert!(merge.checkpoint.is_empty() && merge.pipeline.is_empty());

            // A table with docs and tests on its columns.
            let totals = details("gold.customer_totals").await.expect("details");
            assert_eq!(totals.kind, NodeKind::Table);
            assert_eq!(totals.description, "Orders and spend per customer.");
            let customer = column(&totals, "customer_id");
            assert_eq!(customer.description, "The customer.");
            assert_eq!(customer.tests.len(), 3, "{:?}", customer.tests);
            assert!(customer
                .tests
                .iter()
                .all(|id| id.starts_with("test.fixture.")));
            assert!(customer.tests.iter().any(|id| id.contains("unique")));
            assert!(customer.data_type.is_some());
            // The ephemeral it reads is inlined as a CTE.
            let compiled = text(&totals.compiled_sql);
            assert!(
                compiled.contains("__dbt__cte__int_customer_orders as ("),
                "{compiled}"
            );

            // A view and an ephemeral: no table, types from the plan.
            let view = details("gold.stg_orders").await.expect("details");
            assert_eq!((view.kind, view.table.as_ref()), (NodeKind::View, None));
            assert!(text(&view.compiled_sql).contains("silver.orders"));
            assert_eq!(
                column(&view, "amount").data_type.as_deref(),
                Some("Float64")
            );
            let status = column(&view, "status");
            assert_eq!(status.tests.len(), 1);
            let ephemeral = details("gold.int_customer_orders").await.expect("details");
            assert_eq!(ephemeral.kind, NodeKind::Ephemeral);
            assert_eq!(ephemeral.table, None);
            assert_eq!(
                column(&ephemeral, "name").data_type.as_deref(),
                Some("Utf8")
            );

            // A source: the Silver table's schema with the YAML's docs and tests.
            let source = details("source:raw.orders").await.expect("details");
            assert_eq!(source.kind, NodeKind::Source);
            assert_eq!(source.description, "One row per order.");
            assert_eq!(source.file.as_deref(), Some("models/sources.yml"));
            assert_eq!(source.table.as_deref(), Some("silver/orders"));
            assert_eq!(column(&source, "order_id").tests.len(), 2);
            assert_eq!(source.columns.len(), 5);

            // A Silver table without a pipeline is still a node.
            let orders = details("silver.orders").await.expect("details");
            assert_eq!(orders.kind, NodeKind::Silver);
            assert_eq!(column(&orders, "order_id").tests.len(), 2);

            for id in [
                "gold.nothing",
                "silver.nothing",
                "landing.nothing",
                "nonsense",
            ] {
                let err = details(id).await.expect_err(id);
                assert!(matches!(err, DetailsError::UnknownNode(_)), "{id}");
                assert!(err.to_string().contains(id));
            }
        });
    }

    #[test]
    fn the_bundled_sample_shows_streams_pipelines_and_marts() {
        runtime().block_on(async {
            let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
            let checkpoint: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpointStore::new());
            let lakehouse = Lakehouse::new(
                storage.clone(),
                checkpoint.clone(),
                crate::workspace::Workspace::in_store(
                    storage.clone(),
                    crate::workspace::Workspace::bundled_files(),
                ),
            );
            crate::sample::land_batch(storage.as_ref(), 1)
                .await
                .expect("land");
            // Before any run: landing files wait, Bronze has no batch.
            let project = Project::parse(&bundled_project(), &BTreeMap::new()).expect("parses");
            let pipelines = bundled_pipelines();
            let details = |id: &'static str| {
                let storage = storage.clone();
                let checkpoint = checkpoint.clone();
                let project = &project;
                let pipelines = &pipelines;
                async move {
                    node_details(storage, checkpoint.as_ref(), project, pipelines, id)
                        .await
                        .unwrap_or_else(|err| panic!("{id}: {err}"))
                }
            };
            let landing = details("landing.trips").await;
            assert!(!landing.files.is_empty());
            assert!(landing
                .files
                .iter()
                .all(|(path, size)| path.starts_with("landing/trips/") && *size > 0));
            let files = landing.files.len().to_string();
            assert_eq!(value(&landing.checkpoint, "Waiting"), Some(files.as_str()));
            let bronze = details("bronze.trips").await;
            assert_eq!(value(&bronze.checkpoint, "Batches committed"), Some("0"));
            assert_eq!(bronze.table, None);

            lakehouse
                .run(&Stage::ALL, &mut |_| Flow::Continue)
                .await
                .expect("run all");

            let landing = details("landing.trips").await;
            assert_eq!(value(&landing.checkpoint, "Waiting"), Some("0"));
            let bronze = details("bronze.trips").await;
            assert_eq!(bronze.kind, NodeKind::Bronze);
            assert_eq!(value(&bronze.checkpoint, "Batches committed"), Some("1"));
            let last = value(&bronze.checkpoint, "Last commit").expect("last commit");
            assert!(last.starts_with("batch 0 wrote version"), "{last}");
            assert_eq!(
                value(&bronze.checkpoint, "Files ingested"),
                Some(files.as_str())
            );
            assert_eq!(value(&bronze.checkpoint, "Files waiting"), Some("0"));
            assert!(value(&bronze.checkpoint, "Unfinished batch").is_none());
            assert_eq!(bronze.table.as_deref(), Some("bronze/trips"));
            assert!(column(&bronze, "_source_file")
                .description
                .contains("landing file"));

            let silver = details("silver.trips").await;
            assert_eq!(silver.kind, NodeKind::Silver);
            assert_eq!(silver.file.as_deref(), Some("models/silver/trips.yml"));
            assert_eq!(value(&silver.config, "key"), Some("trip_id"));
            assert_eq!(value(&silver.config, "sequence_by"), Some("updated_at"));
            let steps: Vec<(&str, &str)> = silver
                .pipeline
                .iter()
                .map(|step| (step.name.as_str(), step.transform.as_str()))
                .collect();
            assert_eq!(steps[0], ("reject_corrupt", "validate"));
            assert!(steps.contains(&("zones", "enrich")));
            assert!(silver.pipeline.iter().all(|step| step.enabled));
            assert!(silver.pipeline[0].description.is_some());
            let read = value(&silver.checkpoint, "Bronze read").expect("progress");
            assert!(read.starts_with("up to version"), "{read}");
            assert!(value(&silver.checkpoint, "Bronze version now")
                .is_some_and(|now| now.ends_with("(up to date)")));
            assert_eq!(value(&silver.checkpoint, "Rows read"), Some("1999"));
            let trip_id = column(&silver, "trip_id");
            assert_eq!(trip_id.data_type.as_deref(), Some("Int64"));
            assert_eq!(trip_id.description, "The trip's id.");

            let quarantine = details("silver.trips_quarantine").await;
            assert_eq!(quarantine.kind, NodeKind::Quarantine);
            assert_eq!(quarantine.pipeline, silver.pipeline);
            assert_eq!(quarantine.table.as_deref(), Some("silver/trips_quarantine"));

            let source = details("source:silver.trips").await;
            assert_eq!(source.table.as_deref(), Some("silver/trips"));
            assert!(column(&source, "trip_id").tests.len() >= 2);

            let fact = details("gold.fact_trips").await;
            assert_eq!(fact.kind, NodeKind::Incremental);
            assert_eq!(fact.file.as_deref(), Some("models/marts/fact_trips.sql"));
            assert_eq!(value(&fact.config, "unique_key"), Some("trip_id"));
            assert_eq!(value(&fact.config, "incremental_strategy"), Some("merge"));
            let compiled = text(&fact.compiled_sql);
            assert!(compiled.contains("gold."), "{compiled}");
            assert!(!compiled.contains("ref("), "{compiled}");
            assert_eq!(
                text(&fact.raw_sql),
                project.model("fact_trips").unwrap().raw_code
            );
            // The table's columns, typed, come first; documented ones it lacks after.
            let typed = fact
                .columns
                .iter()
                .filter(|c| c.data_type.is_some())
                .count();
            assert!(typed > 0);
            assert!(fact.columns[..typed].iter().all(|c| c.data_type.is_some()));
            assert_eq!(fact.columns[0].name, "trip_id");
            assert_eq!(fact.table.as_deref(), Some("gold/fact_trips"));

            let snapshot = details("gold.customers_snapshot").await;
            assert_eq!(snapshot.kind, NodeKind::Snapshot);
            assert_eq!(snapshot.materialization.as_deref(), Some("snapshot"));
            assert_eq!(value(&snapshot.config, "strategy"), Some("timestamp"));
            assert_eq!(value(&snapshot.config, "updated_at"), Some("updated_at"));
            assert_eq!(snapshot.table.as_deref(), Some("gold/customers_snapshot"));
            assert!(column(&snapshot, "dbt_valid_from").data_type.is_some());

            // Details travel as JSON.
            let json = serde_json::to_string(&fact).expect("serializes");
            let back: NodeDetails = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, fact);
        });
    }
}
