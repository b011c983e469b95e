//! Pipelines declared as data: `models/silver/<entity>.yml`, read into [`Pipeline`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use super::transform::{Columns, Lookup, StepContext, Transform};
use super::transforms;
use crate::storage::{Storage, StorageError};

/// A pipeline file that cannot be read, or a step that failed: names the file, the
/// step where there is one, and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{detail}", step.as_ref().map(|step| format!("step {step}: ")).unwrap_or_default())]
pub struct PipelineError {
    /// The pipeline file.
    pub file: String,
    /// The step, as `<position> (<name>)` or its name.
    pub step: Option<String>,
    /// What is wrong.
    pub detail: String,
}

/// One step of a pipeline: a configured transform that can be switched off.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name, unique in its pipeline (by default its transform's kind).
    pub name: String,
    /// What the step is for.
    pub description: Option<String>,
    /// Whether the step runs.
    pub enabled: bool,
    /// The transform.
    pub transform: Arc<dyn Transform>,
}

/// One entity's Silver pipeline: how its Bronze rows become typed, clean Silver rows.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it was read from.
    pub file: String,
    /// The entity: the file's name without `.yml`.
    pub entity: String,
    /// What the pipeline does.
    pub description: Option<String>,
    /// The business key the Silver table is merged on; empty: Silver appends every
    /// row (a full refresh overwrites).
    pub key: Vec<String>,
    /// The column whose latest value wins when a key arrives again (`updated_at`);
    /// without it, the last arrival wins.
    pub sequence_by: Option<String>,
    /// A boolean column marking a deletion at the source: the key leaves Silver.
    pub delete_marker: Option<String>,
    /// Source columns that may not have arrived yet: null until they do, so the
    /// Silver schema (and the models reading it) does not change when they appear.
    pub optional_columns: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The file's top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    key: Option<Columns>,
    #[serde(default)]
    sequence_by: Option<String>,
    #[serde(default)]
    delete_marker: Option<String>,
    #[serde(default)]
    optional_columns: Vec<String>,
    steps: Vec<Value>,
}

/// Rows a step rejected, with its name and the reasons.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The step's name.
    pub step: String,
    /// The rejected rows.
    pub rows: RecordBatch,
    /// One reason per row.
    pub reasons: Vec<String>,
}

/// Rows in and out of one step in one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepStats {
    /// The step's name.
    pub name: String,
    /// Rows the step received.
    pub rows_in: u64,
    /// Rows it passed on.
    pub rows_out: u64,
    /// Rows it rejected.
    pub rejected: u64,
    /// Rows it dropped as duplicates.
    pub duplicates: u64,
}

/// What a pipeline did to one batch.
#[derive(Debug, Clone)]
pub struct PipelineRun {
    /// The rows that came through every step.
    pub rows: RecordBatch,
    /// What each step rejected.
    pub rejections: Vec<Rejection>,
    /// Rows dropped as duplicates.
    pub duplicates: usize,
    /// Findings of `warn` rules, prefixed with their step.
    pub warnings: Vec<String>,
    /// Per-step counts, for the enabled steps.
    pub steps: Vec<StepStats>,
}

fn take_string(map: &mut Mapping, key: &str) -> Result<Option<String>, String> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("`{key}` must be text, not {other:?}")),
    }
}

impl Pipeline {
    /// Reads a pipeline from the text of `file` (`…/<entity>.yml`).
    pub fn parse(file: &str, text: &str) -> Result<Self, PipelineError> {
        let error = |step: Option<String>, detail: String| PipelineError {
            file: file.to_owned(),
            step,
            detail,
        };
        let name = file.rsplit('/').next().unwrap_or(file);
        let entity = name
            .strip_suffix(".yml")
            .or_else(|| name.strip_suffix(".yaml"))
            .filter(|entity| !entity.is_empty())
            .ok_or_else(|| error(None, "a pipeline file is named <entity>.yml".to_owned()))?
            .to_owned();
        let parsed: PipelineFile =
            serde_yaml_ng::from_str(text).map_err(|err| error(None, err.to_string()))?;
        let mut steps = Vec::with_capacity(parsed.steps.len());
        let mut names = BTreeSet::new();
        for (index, value) in parsed.steps.into_iter().enumerate() {
            let position = index + 1;
            let Value::Mapping(mut map) = value else {
                return Err(error(
                    Some(position.to_string()),
                    "a step is a mapping with `transform:` and its settings".to_owned(),
                ));
            };
            let label = |name: Option<&str>| match name {
                Some(name) => format!("{position} ({name})"),
                None => position.to_string(),
            };
            let kind = take_string(&mut map, "transform")
                .map_err(|detail| error(Some(label(None)), detail))?
                .ok_or_else(|| error(Some(label(None)), "`transform:` is missing".to_owned()))?;
            let step_name = take_string(&mut map, "name")
                .map_err(|detail| error(Some(label(None)), detail))?
                .unwrap_or_else(|| kind.clone());
            let at = Some(label(Some(&step_name)));
            let description =
                take_string(&mut map, "description").map_err(|detail| error(at.clone(), detail))?;
            let enabled = match map.remove("enabled") {
                None => true,
                Some(Value::Bool(enabled)) => enabled,
                Some(other) => {
                    return Err(error(
                        at,
                        format!("`enabled` must be true or false, not {other:?}"),
                    ))
                }
            };
            if !names.insert(step_name.clone()) {
                return Err(error(
                    at,
                    "another step has this name; give one a `name:`".to_owned(),
                ));
            }
            let transform = transforms::build(&kind, Value::Mapping(map))
                .map_err(|detail| error(at.clone(), detail))?;
            steps.push(Step {
                name: step_name,
                description,
                enabled,
                transform,
            });
        }
        let key = parsed.key.map(|key| key.to_vec()).unwrap_or_default();
        if key.is_empty() {
            let needs_key = [
                ("sequence_by", parsed.sequence_by.is_some()),
                ("delete_marker", parsed.delete_marker.is_some()),
            ];
            if let Some((name, _)) = needs_key.iter().find(|(_, set)| *set) {
                return Err(error(
                    None,
                    format!("`{name}` needs a `key` (without one Silver appends every row)"),
                ));
            }
        }
        Ok(Self {
            file: file.to_owned(),
            entity,
            description: parsed.description,
            key,
            sequence_by: parsed.sequence_by,
            delete_marker: parsed.delete_marker,
            optional_columns: parsed.optional_columns,
            steps,
        })
    }

    /// The tables the enabled steps look up, each once with every column they need.
    /// A table read by several lookups keeps a key match only if they all share it.
    pub fn lookups(&self) -> Vec<Lookup> {
        let mut tables: BTreeMap<String, Vec<Lookup>> = BTreeMap::new();
        for lookup in self
            .steps
            .iter()
            .filter(|step| step.enabled)
            .flat_map(|step| step.transform.lookups())
        {
            tables.entry(lookup.table.clone()).or_default().push(lookup);
        }
        tables
            .into_iter()
            .map(|(table, lookups)| {
                let columns: BTreeSet<String> = lookups
                    .iter()
                    .flat_map(|l| l.columns.iter().cloned())
                    .collect();
                let first = lookups[0].matching.clone();
                let shared = lookups.iter().all(|l| l.matching == first);
                Lookup {
                    table,
                    columns: columns.into_iter().collect(),
                    matching: if shared { first } else { None },
                }
            })
            .collect()
    }

    /// Switches a step on or off.
    pub fn set_enabled(&mut self, step: &str, enabled: bool) -> Result<(), PipelineError> {
        let found = self
            .steps
            .iter_mut()
            .find(|candidate| candidate.name == step)
            .ok_or_else(|| PipelineError {
                file: self.file.clone(),
                step: Some(step.to_owned()),
                detail: "no step has this name".to_owned(),
            })?;
        found.enabled = enabled;
        Ok(())
    }

    /// Runs the enabled steps on `input`, in order.
    pub fn run(
        &self,
        input: RecordBatch,
        context: &StepContext,
    ) -> Result<PipelineRun, PipelineError> {
        let mut run = PipelineRun {
            rows: input,
            rejections: Vec::new(),
            duplicates: 0,
            warnings: Vec::new(),
            steps: Vec::new(),
        };
        for step in self.steps.iter().filter(|step| step.enabled) {
            let rows_in = run.rows.num_rows() as u64;
            let output = step
                .transform
                .apply(run.rows.clone(), context)
                .map_err(|err| PipelineError {
                    file: self.file.clone(),
                    step: Some(step.name.clone()),
                    detail: err.to_string(),
                })?;
            run.steps.push(StepStats {
                name: step.name.clone(),
                rows_in,
                rows_out: output.rows.num_rows() as u64,
                rejected: output.rejected.num_rows() as u64,
                duplicates: output.duplicates as u64,
            });
            run.duplicates += output.duplicates;
            run.warnings.extend(
                output
                    .warnings
                    .into_iter()
                    .map(|warning| format!("{}: {warning}", step.name)),
            );
            if output.rejected.num_rows() > 0 {
                run.rejections.push(Rejection {
                    step: step.name.clone(),
                    rows: output.rejected,
                    reasons: output.reasons,
                });
            }
            run.rows = output.rows;
        }
        Ok(run)
    }
}

/// The pipelines that ship with the project (`models/silver/`), as the browser uses
/// them before a user edits any.
pub fn bundled_pipelines() -> Vec<Pipeline> {
    BUNDLED
        .iter()
        .map(|(file, text)| Pipeline::parse(file, text).expect("the bundled pipelines parse"))
        .collect()
}

/// The bundled pipeline files: path and text.
pub const BUNDLED: [(&str, &str); 6] = [
    (
        "models/silver/customers.yml",
        include_str!("../../../models/silver/customers.yml"),
    ),
    (
        "models/silver/drivers.yml",
        include_str!("../../../models/silver/drivers.yml"),
    ),
    (
        "models/silver/vehicles.yml",
        include_str!("../../../models/silver/vehicles.yml"),
    ),
    (
        "models/silver/locations.yml",
        include_str!("../../../models/silver/locations.yml"),
    ),
    (
        "models/silver/payments.yml",
        include_str!("../../../models/silver/payments.yml"),
    ),
    (
        "models/silver/trips.yml",
        include_str!("../../../models/silver/trips.yml"),
    ),
];

/// Reads every `*.yml` pipeline under `prefix` of `storage` (for example the
/// project's `silver/` folder), in path order.
pub async fn load_pipelines(
    storage: &dyn Storage,
    prefix: &str,
) -> Result<Vec<Pipeline>, PipelineError> {
    let read_error = |file: &str, err: StorageError| PipelineError {
        file: file.to_owned(),
        step: None,
        detail: err.to_string(),
    };
    let mut objects = storage
        .list(prefix)
        .await
        .map_err(|err| read_error(prefix, err))?;
    objects.sort_by(|a, b| a.path.cmp(&b.path));
    let mut pipelines = Vec::new();
    for object in objects {
        if !(object.path.ends_with(".yml") || object.path.ends_with(".yaml")) {
            continue;
        }
        let bytes = storage
            .get(&object.path)
            .await
            .map_err(|err| read_error(&object.path, err))?;
        let text = std::str::from_utf8(&bytes).map_err(|err| PipelineError {
            file: object.path.clone(),
            step: None,
            detail: format!("not UTF-8 text: {err}"),
        })?;
        pipelines.push(Pipeline::parse(&object.path, text)?);
    }
    Ok(pipelines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::test_batch;

    const TRIPS: &str = r#"
description: trips, typed
key: trip_id
sequence_by: updated_at
optional_columns: [surge_multiplier]
steps:
  - name: reject_corrupt
    transform: validate
    rules:
      - {rule: is_null, column: _corrupt_record, message: the record is corrupt}
  - transform: cast
    columns: {trip_id: bigint}
  - transform: dedupe
    key: trip_id
    enabled: false
"#;

    #[test]
    fn a_pipeline_file_reads_into_steps() {
        let mut pipeline = Pipeline::parse("models/silver/trips.yml", TRIPS).unwrap();
        assert_eq!(pipeline.entity, "trips");
        assert_eq!(pipeline.key, ["trip_id"]);
        assert_eq!(pipeline.optional_columns, ["surge_multiplier"]);
        let names: Vec<_> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["reject_corrupt", "cast", "dedupe"]);
        assert!(!pipeline.steps[2].enabled);
        pipeline.set_enabled("dedupe", true).unwrap();
        assert!(pipeline.steps[2].enabled);
        let err = pipeline.set_enabled("nope", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "models/silver/trips.yml: step nope: no step has this name"
        );
    }

    #[test]
    fn running_counts_each_step_and_keeps_the_rejections() {
        let pipeline = Pipeline::parse("models/silver/trips.yml", TRIPS).unwrap();
        let input = test_batch(&[
            ("trip_id", &[Some("1"), Some("x"), Some("3")]),
            ("_corrupt_record", &[None, None, Some("3,cut")]),
        ]);
        let run = pipeline.run(input, &StepContext::new()).unwrap();
        assert_eq!(run.rows.num_rows(), 1);
        let rejected: Vec<_> = run
            .rejections
            .iter()
            .map(|r| (r.step.as_str(), r.reasons.clone()))
            .collect();
        assert_eq!(
            rejected,
            [
                (
                    "reject_corrupt",
                    vec![
                        "the record is corrupt (is_null on _corrupt_record: \"3,cut\")".to_owned()
                    ]
                ),
                ("cast", vec!["`trip_id` is not a bigint: \"x\"".to_owned()]),
            ]
        );
        assert_eq!(run.steps.len(), 2, "the disabled step does not run");
        assert_eq!((run.steps[0].rows_in, run.steps[0].rows_out), (3, 2));

        let missing = test_batch(&[("id", &[Some("1")]), ("_corrupt_record", &[None])]);
        let err = pipeline.run(missing, &StepContext::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "models/silver/trips.yml: step cast: column trip_id is not in the data (it has id, _corrupt_record)"
        );
    }

    #[test]
    fn bad_files_name_the_file_the_step_and_the_problem() {
        let file = "models/silver/trips.yml";
        for (text, want) in [
            ("key: id\nsteps: [\n", "models/silver/trips.yml: "),
            ("key: id\n", "missing field `steps`"),
            ("key: id\nstep: []\n", "unknown field `step`"),
            ("key: id\nsteps:\n  - cast\n", "step 1: a step is a mapping"),
            ("key: id\nsteps:\n  - columns: [a]\n", "step 1: `transform:` is missing"),
            (
                "key: id\nsteps:\n  - transform: cast\n    colums: {a: int}\n",
                "step 1 (cast): unknown field `colums`",
            ),
            (
                "key: id\nsteps:\n  - transform: select\n    columns: [a]\n  - transform: select\n    columns: [b]\n",
                "step 2 (select): another step has this name",
            ),
            (
                "key: id\nsteps:\n  - {transform: explode, name: boom}\n",
                "step 1 (boom): unknown transform \"explode\"",
            ),
            (
                "key: id\nsteps:\n  - {transform: trim, enabled: maybe, columns: {}}\n",
                "step 1 (trim): `enabled` must be true or false",
            ),
        ] {
            let err = Pipeline::parse(file, text).unwrap_err().to_string();
            assert!(err.starts_with(file), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let err = Pipeline::parse("models/silver/.yml", "key: a\nsteps: []").unwrap_err();
        assert!(err.detail.contains("<entity>.yml"));
    }

    #[test]
    fn a_pipeline_without_a_key_appends_and_refuses_what_needs_one() {
        for text in ["steps: []", "key: []\nsteps: []"] {
            let pipeline = Pipeline::parse("silver/notes.yml", text).unwrap();
            assert!(pipeline.key.is_empty(), "{text}");
        }
        let err = Pipeline::parse("silver/notes.yml", "sequence_by: at\nsteps: []").unwrap_err();
        assert_eq!(
            err.to_string(),
            "silver/notes.yml: `sequence_by` needs a `key` (without one Silver appends every row)"
        );
    }

    #[test]
    fn the_bundled_pipelines_parse_with_one_per_entity() {
        let entities: Vec<_> = bundled_pipelines().into_iter().map(|p| p.entity).collect();
        assert_eq!(
            entities,
            [
                "customers",
                "drivers",
                "vehicles",
                "locations",
                "payments",
                "trips"
            ]
        );
    }
}
