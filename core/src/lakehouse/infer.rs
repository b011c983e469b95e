//! The inferred pipeline's [`Lakehouse`] methods: the Bronze entities without a
//! pipeline, a proposal from a sample of one's rows, a draft's preview as the Silver
//! view lists steps, and the draft saved as `silver/<entity>.yml`.

use serde::{Deserialize, Serialize};

use super::silver_view::step_configs;
use super::{pipeline_entity, Lakehouse, LakehouseError, SilverStepView};
use crate::delta::DeltaTable;
use crate::silver::infer::read_sample;
use crate::silver::{propose, Pipeline, PipelineDraft, PipelineProposal, SilverError};
use crate::warehouse;

/// Why a proposal or a save cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    /// The entity has a pipeline already.
    #[error("{entity} already has a Silver pipeline ({file})")]
    HasPipeline {
        /// The entity.
        entity: String,
        /// Its pipeline file, as a project path.
        file: String,
    },
    /// The entity's Bronze table does not exist.
    #[error("{table} does not exist (land and ingest a file of the entity first)")]
    NoBronzeTable {
        /// The table: `bronze/<entity>`.
        table: String,
    },
    /// The name is not an entity's.
    #[error("{entity:?} is not a valid entity name (lower-case letters, digits and _)")]
    InvalidEntity {
        /// The name as given.
        entity: String,
    },
}

/// A draft as it would be saved: its YAML, its steps as the Silver view lists them,
/// or the problem that stops it being saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelinePreview {
    /// The pipeline file's text.
    pub yaml: String,
    /// The steps (their `last` is `None`).
    pub steps: Vec<SilverStepView>,
    /// Why the draft is not a valid pipeline, if it is not.
    pub error: Option<String>,
}

/// `entity`, if it is a valid entity name.
fn checked_entity(entity: &str) -> Result<&str, InferError> {
    match crate::landing::is_entity_name(entity) {
        true => Ok(entity),
        false => Err(InferError::InvalidEntity {
            entity: entity.to_owned(),
        }),
    }
}

impl Lakehouse {
    /// The Bronze entities without a Silver pipeline, sorted: their proposals come from
    /// [`Lakehouse::propose_pipeline`].
    pub async fn entities_without_pipeline(&self) -> Result<Vec<String>, LakehouseError> {
        let with_pipeline = self.pipeline_entities().await?;
        let mut entities: Vec<String> = warehouse::list_tables(self.storage.as_ref())
            .await?
            .iter()
            .filter_map(|table| table.strip_prefix("bronze/"))
            .filter(|entity| !with_pipeline.iter().any(|known| known == entity))
            .map(str::to_owned)
            .collect();
        entities.sort();
        Ok(entities)
    }

    /// The project path of `entity`'s pipeline file, if it has one.
    async fn pipeline_file_of(&self, entity: &str) -> Result<Option<String>, LakehouseError> {
        Ok(self
            .pipeline_paths()
            .await?
            .into_iter()
            .find(|path| pipeline_entity(path) == entity))
    }

    /// Reads up to [`crate::silver::SAMPLE_ROWS`] rows of `bronze/<entity>` (the newest
    /// files first) and proposes a pipeline. Fails if the entity has a pipeline or its
    /// Bronze table does not exist.
    pub async fn propose_pipeline(&self, entity: &str) -> Result<PipelineProposal, LakehouseError> {
        let entity = checked_entity(entity)?;
        if let Some(file) = self.pipeline_file_of(entity).await? {
            return Err(InferError::HasPipeline {
                entity: entity.to_owned(),
                file,
            }
            .into());
        }
        let table = DeltaTable::new(self.storage.clone(), warehouse::bronze_table(entity));
        if !table.exists().await? {
            return Err(InferError::NoBronzeTable {
                table: table.root().to_owned(),
            }
            .into());
        }
        let (sample, rows_total) = read_sample(&table).await?;
        Ok(propose(entity, &sample, rows_total))
    }

    /// The draft's YAML and its steps as the Silver view lists them, or the error that
    /// names the problem. No IO.
    pub fn preview_pipeline(draft: &PipelineDraft) -> PipelinePreview {
        let yaml = draft.to_yaml();
        let file = format!("silver/{}.yml", draft.entity);
        let configs = step_configs(&yaml);
        let steps = Pipeline::parse(&file, &yaml)
            .map(|pipeline| {
                pipeline
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(index, step)| SilverStepView {
                        position: index + 1,
                        name: step.name.clone(),
                        transform: step.transform.kind().to_owned(),
                        description: step.description.clone(),
                        declared_enabled: step.enabled,
                        enabled: step.enabled,
                        config: configs.get(index).cloned().unwrap_or_default(),
                        last: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        PipelinePreview {
            yaml,
            steps,
            error: draft.pipeline().err().map(|err| err.to_string()),
        }
    }

    /// Writes the draft as `silver/<entity>.yml` into the workspace (over an existing
    /// pipeline file only with `replace`), and returns that project path. A draft that
    /// is not a valid pipeline is refused with its problem.
    pub async fn save_pipeline(
        &self,
        draft: &PipelineDraft,
        replace: bool,
    ) -> Result<String, LakehouseError> {
        let entity = checked_entity(&draft.entity)?;
        draft.pipeline().map_err(SilverError::from)?;
        let path = format!("silver/{entity}.yml");
        match self.pipeline_file_of(entity).await? {
            Some(file) if !replace => {
                return Err(InferError::HasPipeline {
                    entity: entity.to_owned(),
                    file,
                }
                .into())
            }
            Some(file) if file != path => self.workspace.delete(&file).await?,
            _ => {}
        }
        self.workspace.write(&path, &draft.to_yaml()).await?;
        Ok(path)
    }
}
