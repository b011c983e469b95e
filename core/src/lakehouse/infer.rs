//! The inferred pipeline's [`Lakehouse`] methods: the Bronze entities without a
//! pipeline, a proposal from a sample of one's rows, a draft's preview as the Silver
//! view lists steps, and the draft saved as `silver/<entity>.yml`.

use serde::{Deserialize, Serialize};

use super::{Lakehouse, LakehouseError, SilverStepView};
use crate::silver::{PipelineDraft, PipelineProposal};

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

impl Lakehouse {
    /// The Bronze entities without a Silver pipeline, sorted: their proposals come from
    /// [`Lakehouse::propose_pipeline`].
    pub async fn entities_without_pipeline(&self) -> Result<Vec<String>, LakehouseError> {
        unimplemented!()
    }

    /// Reads up to [`crate::silver::SAMPLE_ROWS`] rows of `bronze/<entity>` and proposes
    /// a pipeline. Fails if the entity has a pipeline or its Bronze table does not exist.
    pub async fn propose_pipeline(&self, entity: &str) -> Result<PipelineProposal, LakehouseError> {
        let _ = entity;
        unimplemented!()
    }

    /// The draft's YAML and its steps as the Silver view lists them, or the error that
    /// names the problem. No IO.
    pub fn preview_pipeline(draft: &PipelineDraft) -> PipelinePreview {
        let _ = draft;
        unimplemented!()
    }

    /// Writes the draft as `silver/<entity>.yml` into the workspace (an existing file
    /// only with `replace`), and returns that project path.
    pub async fn save_pipeline(
        &self,
        draft: &PipelineDraft,
        replace: bool,
    ) -> Result<String, LakehouseError> {
        let _ = (draft, replace);
        unimplemented!()
    }
}
