//! One entity's Silver pipeline as the playground shows it: its declared steps with
//! the user's switches and the last run's counts, and its quarantine; the switches
//! themselves, kept in the checkpoint store, and a rerun with a full refresh.

use serde::{Deserialize, Serialize};

use super::{Flow, Lakehouse, LakehouseError, RunProgress, RunReport};
use crate::silver::{SilverReport, StepStats};

/// One entity's Silver pipeline: what its file declares, how the user switched its
/// steps, what the last run did, and what it quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilverView {
    /// The entity: `customers`.
    pub entity: String,
    /// The pipeline file, as a project path: `silver/customers.yml`.
    pub file: String,
    /// What the pipeline does.
    pub description: Option<String>,
    /// The business key Silver merges on.
    pub key: Vec<String>,
    /// The column whose latest value wins.
    pub sequence_by: Option<String>,
    /// The column that marks a deletion at the source.
    pub delete_marker: Option<String>,
    /// The steps, in order.
    pub steps: Vec<SilverStepView>,
    /// Whether some step's switch differs from the declared pipeline.
    pub overridden: bool,
    /// The entity's last Silver run that read Bronze rows, with per-step counts.
    pub last_run: Option<SilverReport>,
    /// The quarantine table now.
    pub quarantine: QuarantineView,
}

/// One step of a [`SilverView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilverStepView {
    /// 1-based position in the pipeline.
    pub position: usize,
    /// The step's name: `trim`.
    pub name: String,
    /// Its transform: `trim`.
    pub transform: String,
    /// What the step is for.
    pub description: Option<String>,
    /// Whether the file switches it on.
    pub declared_enabled: bool,
    /// Whether it runs, after the user's switch.
    pub enabled: bool,
    /// The step's YAML, as declared.
    pub config: String,
    /// Its rows in, out, rejected and duplicates in the last run; `None` if it did not
    /// run then.
    pub last: Option<StepStats>,
}

/// An entity's quarantine table: its size, why rows are in it, and the newest rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineView {
    /// The table: `silver/customers_quarantine`.
    pub table: String,
    /// Rows in it now.
    pub rows: u64,
    /// Rows per step and reason (the reason with its quoted values left out), most
    /// first.
    pub by_step: Vec<QuarantineGroup>,
    /// The columns of `sample`: the key column(s), `_step`, `_error`, `_source_file`,
    /// `_batch_id`.
    pub columns: Vec<String>,
    /// Up to 200 rows as display strings (null as empty), newest batch first.
    pub sample: Vec<Vec<String>>,
}

/// Quarantined rows that one step rejected for one kind of reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineGroup {
    /// The step that rejected them.
    pub step: String,
    /// How many rows.
    pub rows: u64,
    /// One of their reasons, in full.
    pub example: String,
}

impl Lakehouse {
    /// `entity`'s Silver pipeline with the user's switches, its last run and its
    /// quarantine.
    pub async fn silver_view(&self, entity: &str) -> Result<SilverView, LakehouseError> {
        let _ = entity;
        todo!()
    }

    /// Switches `entity`'s `step` on or off for every later run (until
    /// [`Lakehouse::restore_pipeline`]), and gives the pipeline's view.
    pub async fn set_step_enabled(
        &self,
        entity: &str,
        step: &str,
        enabled: bool,
    ) -> Result<SilverView, LakehouseError> {
        let _ = (entity, step, enabled);
        todo!()
    }

    /// Drops the user's switches of `entity`'s steps: the pipeline runs as declared.
    pub async fn restore_pipeline(&self, entity: &str) -> Result<SilverView, LakehouseError> {
        let _ = entity;
        todo!()
    }

    /// Runs `entity`'s Silver with a full refresh, with progress and cancellation as
    /// [`Lakehouse::run`]; its run is kept for the lineage.
    pub async fn rerun_silver(
        &self,
        entity: &str,
        observer: &mut dyn FnMut(&RunProgress) -> Flow,
    ) -> Result<RunReport, LakehouseError> {
        let _ = (entity, observer);
        todo!()
    }
}
