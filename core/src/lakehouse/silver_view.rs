//! One entity's Silver pipeline as the playground shows it: its declared steps with
//! the user's switches and the last run's counts, and its quarantine; the switches
//! themselves, kept in the checkpoint store, and a rerun with a full refresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::StringArray;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use super::{silver_step, Flow, Lakehouse, LakehouseError, RunProgress, RunReport, Steps};
use crate::checkpoint::{CheckpointStore, WriteBatch};
use crate::delta::{DeltaError, DeltaTable};
use crate::silver::{
    self, Pipeline, PipelineError, Silver, SilverError, SilverOptions, SilverReport, StepStats,
};
use crate::storage::Storage;
use crate::{explorer, lineage, warehouse};

/// Where the checkpoint store keeps the user's step switches, one key per entity: a
/// JSON object of step names to `true`/`false`, only where they differ from the file.
const SWITCHES_PREFIX: &str = "_playground/silver_steps/";

/// The quarantine rows a view carries at most.
const SAMPLE_ROWS: usize = 200;

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
        let (declared, text) = self.declared_pipeline(entity).await?;
        let switches = read_switches(self.checkpoint.as_ref(), entity).await?;
        let last_run = silver::last_run(self.checkpoint.as_ref(), entity).await?;
        let configs = step_configs(&text);
        let steps: Vec<SilverStepView> = declared
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let enabled = switches.get(&step.name).copied().unwrap_or(step.enabled);
                let last = last_run.as_ref().and_then(|run| {
                    run.steps
                        .iter()
                        .find(|stats| stats.name == step.name)
                        .cloned()
                });
                SilverStepView {
                    position: index + 1,
                    name: step.name.clone(),
                    transform: step.transform.kind().to_owned(),
                    description: step.description.clone(),
                    declared_enabled: step.enabled,
                    enabled,
                    config: configs.get(index).cloned().unwrap_or_default(),
                    last,
                }
            })
            .collect();
        let quarantine = quarantine_view(self.storage.clone(), &declared).await?;
        Ok(SilverView {
            entity: declared.entity.clone(),
            file: declared.file.clone(),
            description: declared.description.clone(),
            key: declared.key.clone(),
            sequence_by: declared.sequence_by.clone(),
            delete_marker: declared.delete_marker.clone(),
            overridden: steps
                .iter()
                .any(|step| step.enabled != step.declared_enabled),
            steps,
            last_run,
            quarantine,
        })
    }

    /// Switches `entity`'s `step` on or off for every later run (Run all, a file's
    /// build, a rerun) until [`Lakehouse::restore_pipeline`], and gives the pipeline's
    /// view. The switch is kept in the checkpoint store under
    /// `_playground/silver_steps/<entity>`, so a reset drops it with the data.
    pub async fn set_step_enabled(
        &self,
        entity: &str,
        step: &str,
        enabled: bool,
    ) -> Result<SilverView, LakehouseError> {
        let (declared, _) = self.declared_pipeline(entity).await?;
        let declared_enabled = declared
            .steps
            .iter()
            .find(|candidate| candidate.name == step)
            .map(|found| found.enabled)
            .ok_or_else(|| {
                SilverError::from(PipelineError {
                    file: declared.file.clone(),
                    step: Some(step.to_owned()),
                    detail: "no step has this name".to_owned(),
                })
            })?;
        let mut switches = read_switches(self.checkpoint.as_ref(), entity).await?;
        switches.retain(|name, value| {
            declared
                .steps
                .iter()
                .any(|step| &step.name == name && step.enabled != *value)
        });
        if enabled == declared_enabled {
            switches.remove(step);
        } else {
            switches.insert(step.to_owned(), enabled);
        }
        let key = switches_key(entity);
        let batch = if switches.is_empty() {
            WriteBatch::new().delete(key)
        } else {
            // A map of names to booleans always serialises.
            WriteBatch::new().put(key, serde_json::to_vec(&switches).unwrap_or_default())
        };
        self.checkpoint.write(batch).await?;
        self.silver_view(entity).await
    }

    /// Drops the user's switches of `entity`'s steps: the pipeline runs as declared.
    pub async fn restore_pipeline(&self, entity: &str) -> Result<SilverView, LakehouseError> {
        self.declared_pipeline(entity).await?;
        self.checkpoint.delete(&switches_key(entity)).await?;
        self.silver_view(entity).await
    }

    /// Runs `entity`'s Silver (with the user's switches) with a full refresh, with
    /// progress and cancellation as [`Lakehouse::run`]; its run is kept for the
    /// lineage (`target/last_runs.json`), as a run's is.
    pub async fn rerun_silver(
        &self,
        entity: &str,
        observer: &mut dyn FnMut(&RunProgress) -> Flow,
    ) -> Result<RunReport, LakehouseError> {
        if self.reset_pending().await? {
            return Err(LakehouseError::ResetInterrupted);
        }
        // An unknown entity is an error before anything runs or is recorded.
        self.declared_pipeline(entity).await?;
        let silver = Silver::new(
            self.storage.clone(),
            self.checkpoint.clone(),
            self.pipelines().await?,
        )?;
        let mut steps = Steps {
            observer,
            runs: Vec::new(),
        };
        let mut report = RunReport::default();
        let options = SilverOptions { full_refresh: true };
        let outcome = silver_step(&silver, entity, &options, (1, 1), &mut steps, &mut report).await;
        lineage::record_runs(self.storage.as_ref(), &steps.runs).await?;
        outcome.map(|_| report)
    }

    /// `entity`'s pipeline as its file declares it, and the file's text.
    async fn declared_pipeline(&self, entity: &str) -> Result<(Pipeline, String), LakehouseError> {
        let files = self.pipeline_files().await?;
        let mut known = Vec::with_capacity(files.len());
        for (path, text) in files {
            let pipeline = Pipeline::parse(&path, &text).map_err(SilverError::from)?;
            if pipeline.entity == entity {
                return Ok((pipeline, text));
            }
            known.push(pipeline.entity);
        }
        Err(SilverError::UnknownEntity {
            entity: entity.to_owned(),
            known: known.join(", "),
        }
        .into())
    }
}

/// The checkpoint key of `entity`'s step switches.
fn switches_key(entity: &str) -> String {
    format!("{SWITCHES_PREFIX}{entity}")
}

/// The user's switches of `entity`'s steps: step name to enabled.
async fn read_switches(
    checkpoint: &dyn CheckpointStore,
    entity: &str,
) -> Result<BTreeMap<String, bool>, LakehouseError> {
    let key = switches_key(entity);
    match checkpoint.get(&key).await? {
        None => Ok(BTreeMap::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
            SilverError::CorruptCheckpoint {
                key,
                detail: err.to_string(),
            }
            .into()
        }),
    }
}

/// Applies the user's step switches ([`Lakehouse::set_step_enabled`], kept in
/// `checkpoint`) to `pipelines`; a switch naming a step the pipeline no longer has is
/// ignored. [`Lakehouse::pipelines`] applies them; the CLI's `silver` does too.
pub async fn apply_step_switches(
    checkpoint: &dyn CheckpointStore,
    pipelines: &mut [Pipeline],
) -> Result<(), LakehouseError> {
    for pipeline in pipelines {
        for (name, enabled) in read_switches(checkpoint, &pipeline.entity).await? {
            if let Some(step) = pipeline.steps.iter_mut().find(|step| step.name == name) {
                step.enabled = enabled;
            }
        }
    }
    Ok(())
}

/// Each step's YAML, in order, from a pipeline file's text (which parsed already).
pub(super) fn step_configs(text: &str) -> Vec<String> {
    let Ok(serde_yaml_ng::Value::Mapping(file)) = serde_yaml_ng::from_str(text) else {
        return Vec::new();
    };
    let Some(serde_yaml_ng::Value::Sequence(steps)) = file.get("steps") else {
        return Vec::new();
    };
    steps
        .iter()
        .map(|step| serde_yaml_ng::to_string(step).unwrap_or_default())
        .collect()
}

/// `reason` with its quoted values left out, so that rows rejected for the same
/// kind of reason group together.
fn reason_pattern(reason: &str) -> String {
    let mut pattern = String::with_capacity(reason.len());
    let mut chars = reason.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            pattern.push(c);
            continue;
        }
        pattern.push_str("\"…\"");
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    pattern
}

/// The text column `name` of `batch`, as optional strings.
fn text_column(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let Some(column) = batch.column_by_name(name) else {
        return vec![None; batch.num_rows()];
    };
    match arrow::compute::cast(column, &DataType::Utf8) {
        Ok(text) => text
            .as_any()
            .downcast_ref::<StringArray>()
            .map(|text| text.iter().map(|v| v.map(str::to_owned)).collect())
            .unwrap_or_else(|| vec![None; batch.num_rows()]),
        Err(_) => vec![None; batch.num_rows()],
    }
}

/// `pipeline`'s quarantine table now: its rows, grouped by step and reason, and the
/// newest [`SAMPLE_ROWS`].
async fn quarantine_view(
    storage: Arc<dyn Storage>,
    pipeline: &Pipeline,
) -> Result<QuarantineView, LakehouseError> {
    let table = warehouse::quarantine_table(&pipeline.entity);
    let delta = DeltaTable::new(storage, table.clone());
    if !delta.exists().await? {
        return Ok(QuarantineView {
            table,
            ..QuarantineView::default()
        });
    }
    let snapshot = delta.snapshot().await?;
    let columns: Vec<String> = pipeline
        .key
        .iter()
        .map(String::as_str)
        .chain(["_step", "_error", "_source_file", "_batch_id"])
        .filter(|column| snapshot.schema().index_of(column).is_ok())
        .map(str::to_owned)
        .collect();
    let batch = delta.read_columns(&snapshot, &columns).await?;
    let steps = text_column(&batch, "_step");
    let errors = text_column(&batch, "_error");
    let mut groups: BTreeMap<(String, String), QuarantineGroup> = BTreeMap::new();
    for (step, error) in steps.iter().zip(&errors) {
        let step = step.clone().unwrap_or_default();
        let error = error.clone().unwrap_or_default();
        groups
            .entry((step.clone(), reason_pattern(&error)))
            .or_insert_with(|| QuarantineGroup {
                step,
                rows: 0,
                example: error,
            })
            .rows += 1;
    }
    let mut by_step: Vec<QuarantineGroup> = groups.into_values().collect();
    by_step.sort_by_key(|group| std::cmp::Reverse(group.rows));
    let detail = |detail: String| DeltaError::Schema {
        table: table.clone(),
        detail,
    };
    let rows = explorer::display_rows(&batch).map_err(detail)?;
    let batches: Vec<i64> = text_column(&batch, "_batch_id")
        .iter()
        .map(|id| id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(-1))
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&row| std::cmp::Reverse(batches[row]));
    let sample = order
        .into_iter()
        .take(SAMPLE_ROWS)
        .map(|row| {
            rows[row]
                .iter()
                .map(|value| value.clone().unwrap_or_default())
                .collect()
        })
        .collect();
    Ok(QuarantineView {
        table,
        rows: batch.num_rows() as u64,
        by_step,
        columns,
        sample,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
