//! An inferred Silver pipeline for an entity that has none: a type per column from a
//! bounded sample of its Bronze rows, the null markers and padding seen, a business
//! key, the column that orders versions, and the steps that follow from them, as a
//! [`PipelineDraft`] the user reviews and edits before it becomes
//! `silver/<entity>.yml`.

mod draft;
mod sample;
mod types;

#[cfg(test)]
pub(crate) mod shapes;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

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
        unimplemented!()
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
        unimplemented!()
    }

    /// The pipeline it declares (`to_yaml()` parsed as `silver/<entity>.yml`), or why
    /// not: a key or `sequence_by` that is not a column, a `sequence_by` that is not a
    /// timestamp or has no key.
    pub fn pipeline(&self) -> Result<Pipeline, PipelineError> {
        unimplemented!()
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
    let _ = (entity, sample, rows_total);
    unimplemented!()
}
