//! An inferred Silver pipeline for an entity that has none: a type per column from a
//! bounded sample of its Bronze rows, the null markers and padding seen, a business
//! key, the column that orders versions, and the steps that follow from them, as a
//! [`PipelineDraft`] the user reviews and edits before it becomes
//! `silver/<entity>.yml`.

mod draft;
mod sample;
mod types;

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod shapes;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::collections::BTreeSet;

use arrow::array::StringArray;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

pub use sample::read_sample;

use super::{Pipeline, PipelineError};

/// How many Bronze rows the inference reads at most, from the newest data files first.
pub const SAMPLE_ROWS: usize = 10_000;

/// A column's Silver type as the user edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnType {
    /// Text as it is.
    Text,
    /// A whole number (bigint).
    Integer,
    /// A decimal number with `scale` digits after the point.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: i8,
        /// Whether the values write the decimal separator as a comma (`1.234,50`).
        decimal_comma: bool,
    },
    /// true or false.
    Boolean,
    /// A calendar date read with a strftime `format` (`%Y-%m-%d`, `%d.%m.%Y`).
    Date {
        /// The strftime pattern.
        format: String,
    },
    /// An instant, in UTC.
    Timestamp {
        /// `iso8601`, a strftime pattern, `epoch_seconds` or `epoch_millis`.
        format: String,
        /// The zone of values without an offset: `UTC` or a fixed offset (`+01:00`).
        timezone: String,
    },
    /// JSON kept as its text.
    Json,
    /// A JSON object flattened one level into `<column>_<field>` text columns.
    Flatten {
        /// The object's fields, in order.
        fields: Vec<String>,
    },
}

impl ColumnType {
    /// The type in plain words for the UI: `bigint`, `decimal(10,2) with decimal
    /// commas`, `date (%d.%m.%Y)`, `timestamp (%m/%d/%Y %H:%M:%S, read as UTC)`,
    /// `timestamp (ISO-8601 with offsets, in UTC)`, `JSON text`, `flattened: lat, lon`.
    pub fn label(&self) -> String {
        match self {
            ColumnType::Text => "text".to_owned(),
            ColumnType::Integer => "bigint".to_owned(),
            ColumnType::Decimal {
                precision,
                scale,
                decimal_comma,
            } => format!(
                "decimal({precision},{scale}){}",
                if *decimal_comma {
                    " with decimal commas"
                } else {
                    ""
                }
            ),
            ColumnType::Boolean => "boolean".to_owned(),
            ColumnType::Date { format } => format!("date ({format})"),
            ColumnType::Timestamp { format, timezone } => {
                let utc = timezone.eq_ignore_ascii_case("utc");
                match format.as_str() {
                    "iso8601" if utc => "timestamp (ISO-8601 with offsets, in UTC)".to_owned(),
                    "iso8601" => format!(
                        "timestamp (ISO-8601 with offsets, in UTC; without one read as {timezone})"
                    ),
                    "epoch_seconds" => "timestamp (epoch seconds, UTC)".to_owned(),
                    "epoch_millis" => "timestamp (epoch milliseconds, UTC)".to_owned(),
                    format => format!("timestamp ({format}, read as {timezone})"),
                }
            }
            ColumnType::Json => "JSON text".to_owned(),
            ColumnType::Flatten { fields } => format!("flattened: {}", fields.join(", ")),
        }
    }
}

/// One column of a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftColumn {
    /// The Bronze column.
    pub name: String,
    /// Its Silver type.
    pub column_type: ColumnType,
    /// Whether to trim (and collapse inner spaces) before typing; for text columns.
    pub trim: bool,
}

/// What the user reviews and edits, and what becomes `silver/<entity>.yml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineDraft {
    /// The entity.
    pub entity: String,
    /// The Bronze columns Silver keeps, in order, with their types.
    pub columns: Vec<DraftColumn>,
    /// The business key; `None`: Silver appends every row.
    pub key: Option<String>,
    /// The update timestamp whose latest value wins; needs a key and a timestamp column.
    pub sequence_by: Option<String>,
    /// Values that become null before typing (`NULL`, `N/A`), compared trimmed and
    /// ignoring case.
    pub null_markers: Vec<String>,
    /// The names of generated steps the user switched off.
    pub disabled_steps: Vec<String>,
}

impl PipelineDraft {
    /// The pipeline file's text, with a header comment saying it was inferred and may
    /// be edited.
    pub fn to_yaml(&self) -> String {
        self.yaml()
    }

    /// The pipeline it declares (`to_yaml()` parsed as `silver/<entity>.yml`), or why
    /// not: a key or `sequence_by` that is not a column, a `sequence_by` that is not a
    /// timestamp or has no key.
    pub fn pipeline(&self) -> Result<Pipeline, PipelineError> {
        self.checked_pipeline()
    }
}

/// One Bronze column as the inference saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnEvidence {
    /// The Bronze column.
    pub name: String,
    /// The type proposed.
    pub proposed: ColumnType,
    /// Up to 5 distinct sample values that decided the type.
    pub examples: Vec<String>,
    /// Up to 5 distinct values that do not fit `proposed` (they will quarantine).
    pub misfits: Vec<String>,
    /// How many sample values do not fit.
    pub misfit_count: u64,
    /// Empty values and null markers.
    pub nulls: u64,
    /// The null markers seen in this column.
    pub null_markers: Vec<String>,
    /// Values with spaces around them (or runs of spaces inside).
    pub padded: u64,
    /// Distinct values (trimmed, nulls left out).
    pub distinct: u64,
    /// Why this type, in one sentence.
    pub reason: String,
}

impl ColumnEvidence {
    /// The types the user may pick for this column, the proposed one first: text,
    /// bigint, the decimal (with and without decimal commas), boolean, the dates and
    /// timestamps in every format the steps read, JSON text.
    pub fn choices(&self) -> Vec<ColumnType> {
        let (precision, scale) = match self.proposed {
            ColumnType::Decimal {
                precision, scale, ..
            } => (precision, scale),
            _ => (12, 2),
        };
        let mut choices = vec![
            self.proposed.clone(),
            ColumnType::Text,
            ColumnType::Integer,
            ColumnType::Decimal {
                precision,
                scale,
                decimal_comma: false,
            },
            ColumnType::Decimal {
                precision,
                scale,
                decimal_comma: true,
            },
            ColumnType::Boolean,
        ];
        for format in ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y"] {
            choices.push(ColumnType::Date {
                format: format.to_owned(),
            });
        }
        for format in [
            "iso8601",
            "%m/%d/%Y %H:%M:%S",
            "%d/%m/%Y %H:%M:%S",
            "%d.%m.%Y %H:%M",
            "epoch_seconds",
            "epoch_millis",
        ] {
            choices.push(ColumnType::Timestamp {
                format: format.to_owned(),
                timezone: "UTC".to_owned(),
            });
        }
        choices.push(ColumnType::Json);
        let mut unique: Vec<ColumnType> = Vec::with_capacity(choices.len());
        for choice in choices {
            if !unique.contains(&choice) {
                unique.push(choice);
            }
        }
        unique
    }
}

/// Core's proposal for an entity without a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineProposal {
    /// The entity.
    pub entity: String,
    /// Its Bronze table: `bronze/<entity>`.
    pub table: String,
    /// The sample's rows.
    pub rows_read: u64,
    /// Rows in the Bronze table.
    pub rows_total: u64,
    /// Every Bronze data column, in order.
    pub columns: Vec<ColumnEvidence>,
    /// Why this key, or why none.
    pub key_reason: String,
    /// Why this `sequence_by`, when there is one.
    pub sequence_reason: Option<String>,
    /// Other findings, one sentence each.
    pub notes: Vec<String>,
    /// The pipeline proposed.
    pub draft: PipelineDraft,
}

/// Proposes a pipeline for `entity` from a sample of its Bronze rows (text columns as
/// Bronze keeps them, or typed Parquet columns, with Bronze's metadata columns). Pure:
/// no IO. `rows_total` is the Bronze table's size, for the report.
pub fn propose(entity: &str, sample: &RecordBatch, rows_total: u64) -> PipelineProposal {
    let rows_read = sample.num_rows();
    let corrupt: Vec<bool> = match text_values(sample, "_corrupt_record") {
        Some(values) => values.iter().map(Option::is_some).collect(),
        None => vec![false; rows_read],
    };
    let rows = corrupt.iter().filter(|corrupt| !**corrupt).count();
    let mut notes = Vec::new();
    if rows < rows_read {
        notes.push(format!(
            "{} of the {rows_read} rows read are corrupt records: reject_corrupt quarantines \
             them, and the types come from the other {rows}",
            rows_read - rows
        ));
    }
    if (rows_read as u64) < rows_total {
        notes.push(format!(
            "read the {rows_read} newest of the {rows_total} rows of bronze/{entity}"
        ));
    }
    let mut columns = Vec::new();
    let mut draft_columns = Vec::new();
    let mut markers: Vec<String> = Vec::new();
    for field in sample.schema().fields() {
        let name = field.name();
        if crate::bronze::METADATA_COLUMNS.contains(&name.as_str()) || name.starts_with("__") {
            continue;
        }
        let column = column_evidence(name, sample, &corrupt, field.data_type());
        for marker in &column.null_markers {
            if !markers.iter().any(|m| m.eq_ignore_ascii_case(marker)) {
                markers.push(marker.clone());
            }
        }
        if matches!(
            column.proposed,
            ColumnType::Flatten { .. } | ColumnType::Json
        ) {
            notes.push(format!("{name}: {}", column.reason));
        }
        draft_columns.push(DraftColumn {
            name: name.clone(),
            column_type: column.proposed.clone(),
            trim: column.proposed == ColumnType::Text && column.padded > 0,
        });
        columns.push(column);
    }
    let (key, key_reason) = business_key(entity, &columns, rows as u64);
    let (sequence_by, sequence_reason) = match &key {
        Some(_) => sequence_column(&columns),
        None => (None, None),
    };
    PipelineProposal {
        entity: entity.to_owned(),
        table: format!("bronze/{entity}"),
        rows_read: rows_read as u64,
        rows_total,
        columns,
        key_reason,
        sequence_reason,
        notes,
        draft: PipelineDraft {
            entity: entity.to_owned(),
            columns: draft_columns,
            key,
            sequence_by,
            null_markers: markers,
            disabled_steps: Vec::new(),
        },
    }
}

/// Column `name` of `batch` as text (typed values in Arrow's display form), or `None`
/// when the batch has no such column or it cannot be shown as text.
fn text_values(batch: &RecordBatch, name: &str) -> Option<Vec<Option<String>>> {
    let array = batch.column_by_name(name)?;
    let text = arrow::compute::cast(array, &DataType::Utf8).ok()?;
    let strings = text.as_any().downcast_ref::<StringArray>()?;
    Some(strings.iter().map(|v| v.map(str::to_owned)).collect())
}

/// What the inference sees in column `name` of `sample`, corrupt rows left out.
fn column_evidence(
    name: &str,
    sample: &RecordBatch,
    corrupt: &[bool],
    data_type: &DataType,
) -> ColumnEvidence {
    let Some(values) = text_values(sample, name) else {
        return ColumnEvidence {
            name: name.to_owned(),
            proposed: ColumnType::Text,
            examples: Vec::new(),
            misfits: Vec::new(),
            misfit_count: 0,
            nulls: 0,
            null_markers: Vec::new(),
            padded: 0,
            distinct: 0,
            reason: format!("a {data_type} column: kept as Bronze typed it"),
        };
    };
    let mut nulls = 0u64;
    let mut padded = 0u64;
    let mut null_markers: Vec<String> = Vec::new();
    let mut present: Vec<&str> = Vec::new();
    for value in values
        .iter()
        .zip(corrupt)
        .filter(|(_, corrupt)| !**corrupt)
        .map(|(value, _)| value)
    {
        let Some(value) = value.as_deref() else {
            nulls += 1;
            continue;
        };
        let trimmed = value.trim();
        if trimmed != value || trimmed.contains("  ") {
            padded += 1;
        }
        if trimmed.is_empty() {
            nulls += 1;
            continue;
        }
        if let Some(marker) = types::NULL_MARKERS
            .iter()
            .find(|marker| marker.eq_ignore_ascii_case(trimmed))
        {
            nulls += 1;
            if !null_markers.iter().any(|m| m.eq_ignore_ascii_case(marker)) {
                null_markers.push((*marker).to_owned());
            }
            continue;
        }
        present.push(trimmed);
    }
    let distinct = present.iter().collect::<BTreeSet<_>>().len() as u64;
    let classified = types::classify(name, &present);
    ColumnEvidence {
        name: name.to_owned(),
        proposed: classified.column_type,
        examples: classified.examples,
        misfits: classified.misfits,
        misfit_count: classified.misfit_count,
        nulls,
        null_markers,
        padded,
        distinct,
        reason: classified.reason,
    }
}

/// `entity` in the singular: `trips` → `trip`, `categories` → `category`.
fn singular(entity: &str) -> String {
    if let Some(stem) = entity.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = entity
        .strip_suffix("sses")
        .map(|stem| format!("{stem}ss"))
        .or_else(|| entity.strip_suffix("xes").map(|stem| format!("{stem}x")))
    {
        stem
    } else {
        entity.strip_suffix('s').unwrap_or(entity).to_owned()
    }
}

/// How strongly a column's name says it is the entity's key: 2 for `<entity>_id` or
/// `id`, 1 for another `*_id`, `*ID`, `*_key` or `*uuid`, 0 otherwise.
fn key_rank(entity: &str, name: &str) -> u8 {
    let lower = name.to_ascii_lowercase();
    let own = format!("{}_id", singular(entity));
    if lower == "id" || lower == own || lower == format!("{entity}_id") {
        2
    } else if lower.ends_with("_id")
        || name.ends_with("ID")
        || name.ends_with("Id")
        || lower.ends_with("_key")
        || lower.ends_with("uuid")
    {
        1
    } else {
        0
    }
}

/// The business key: an id-like column, unique and never null in the sample, whose
/// values are text or whole numbers: the entity's own id (`<entity>_id`, `id`), or
/// else the only id-like column (several, like `PULocationID` and `DOLocationID`, are
/// references to other tables). Or none, and why.
fn business_key(entity: &str, columns: &[ColumnEvidence], rows: u64) -> (Option<String>, String) {
    let mut candidates: Vec<(&ColumnEvidence, u8)> = columns
        .iter()
        .map(|column| (column, key_rank(entity, &column.name)))
        .filter(|(column, rank)| {
            *rank > 0 && matches!(column.proposed, ColumnType::Integer | ColumnType::Text)
        })
        .collect();
    candidates.sort_by_key(|(_, rank)| std::cmp::Reverse(*rank));
    let mut references = String::new();
    if candidates.len() > 1 {
        let names: Vec<&str> = candidates.iter().map(|(c, _)| c.name.as_str()).collect();
        candidates.retain(|(_, rank)| *rank == 2);
        if candidates.is_empty() {
            references = format!(
                "{} look like references to other tables and none is named {}_id or id; ",
                names.join(", "),
                singular(entity)
            );
        }
    }
    let unique = candidates.iter().find(|(column, _)| {
        rows > 0 && column.nulls == 0 && column.misfit_count == 0 && column.distinct == rows
    });
    if let Some((column, _)) = unique {
        return (
            Some(column.name.clone()),
            format!(
                "{} is unique and never null in the {rows} rows read",
                column.name
            ),
        );
    }
    let why = candidates
        .first()
        .map(|(column, _)| {
            if column.nulls > 0 {
                format!("{} is null in {} rows, ", column.name, column.nulls)
            } else {
                format!(
                    "{} repeats ({} distinct values in {rows} rows), ",
                    column.name, column.distinct
                )
            }
        })
        .unwrap_or_default();
    (
        None,
        format!(
            "{references}{why}no id column is unique and never null: every row is kept \
             (append)"
        ),
    )
}

/// The update timestamp whose latest value wins, if a column is named like one.
fn sequence_column(columns: &[ColumnEvidence]) -> (Option<String>, Option<String>) {
    let named = |name: &str| {
        let lower = name.to_ascii_lowercase();
        matches!(
            lower.as_str(),
            "updated_at" | "modified_at" | "last_modified" | "update_time" | "last_updated"
        ) || lower.ends_with("_updated_at")
    };
    columns
        .iter()
        .find(|column| {
            named(&column.name) && matches!(column.proposed, ColumnType::Timestamp { .. })
        })
        .map(|column| {
            (
                Some(column.name.clone()),
                Some(format!(
                    "{} is a timestamp named like an update time: a key's latest version wins",
                    column.name
                )),
            )
        })
        .unwrap_or((None, None))
}
