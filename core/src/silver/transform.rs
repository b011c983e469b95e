//! The [`Transform`] trait every Silver step implements, and what a step returns.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::MaybeSendSync;

/// A named, configurable step from Arrow rows to Arrow rows.
///
/// A step sees one batch and returns the rows that go on, the rows it rejects with a
/// reason each (they go to quarantine), and how many duplicates it dropped. Steps keep
/// the columns they do not touch, including the Bronze metadata and the runner's row
/// id, so that a rejected row can be traced to its source file.
pub trait Transform: fmt::Debug + MaybeSendSync {
    /// The built-in's name, as written after `transform:` in a pipeline file.
    fn kind(&self) -> &'static str;

    /// The tables this step reads besides its input (`silver/locations`), with the
    /// columns it needs: the runner loads them into the [`StepContext`] before the
    /// pipeline runs.
    fn lookups(&self) -> Vec<Lookup> {
        Vec::new()
    }

    /// What the step does to the values of columns, for column lineage. The default,
    /// nothing, fits a step that only filters, dedupes or selects rows or columns.
    fn column_effects(&self) -> Vec<ColumnEffect> {
        Vec::new()
    }

    /// Applies the step to `input`.
    fn apply(
        &self,
        input: RecordBatch,
        context: &StepContext,
    ) -> Result<StepOutput, TransformError>;
}

/// What a step does to one column's values, as column lineage reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnEffect {
    /// The column keeps its name and its values are rewritten (cast, trimmed, parsed).
    Rewrites(String),
    /// The column is renamed.
    Renames {
        /// Its name before the step.
        from: String,
        /// Its name after.
        to: String,
    },
    /// The column is computed from columns of the same row.
    Derives {
        /// The column computed.
        column: String,
        /// The columns its expression reads.
        inputs: Vec<String>,
    },
    /// The column is copied from a lookup table's column, on the row whose key
    /// matches an input column.
    LooksUp {
        /// The column added.
        column: String,
        /// The lookup table, as `<layer>/<name>`.
        table: String,
        /// The lookup table's column copied.
        lookup_column: String,
        /// The input column matched.
        on: String,
        /// The lookup table's key column.
        key: String,
    },
}

impl ColumnEffect {
    /// The effects of a step that rewrites each of `columns` in place.
    pub fn rewrites<'a>(columns: impl IntoIterator<Item = &'a String>) -> Vec<ColumnEffect> {
        columns
            .into_iter()
            .cloned()
            .map(ColumnEffect::Rewrites)
            .collect()
    }
}

/// A table a step reads besides its input, and the columns it needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The table, as `<layer>/<name>`.
    pub table: String,
    /// The columns read; the others are not decoded.
    pub columns: Vec<String>,
    /// When set, the step needs only the lookup rows whose `key` matches a value of the
    /// input's `column`, so the runner may skip files that hold none.
    pub matching: Option<KeyMatch>,
}

/// An input column matched against a lookup table's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMatch {
    /// The input's column.
    pub column: String,
    /// The lookup table's key column.
    pub key: String,
}

/// What a step may read besides its input: lookup tables by path.
#[derive(Debug, Default, Clone)]
pub struct StepContext {
    lookups: HashMap<String, RecordBatch>,
}

impl StepContext {
    /// A context with no lookup tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the rows of lookup table `table`.
    pub fn with_lookup(mut self, table: impl Into<String>, rows: RecordBatch) -> Self {
        self.lookups.insert(table.into(), rows);
        self
    }

    /// The rows of lookup table `table`.
    pub fn lookup(&self, table: &str) -> Result<&RecordBatch, TransformError> {
        self.lookups
            .get(table)
            .ok_or_else(|| TransformError::MissingLookup {
                table: table.to_owned(),
            })
    }
}

/// The result of one step on one batch.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The rows that go on to the next step.
    pub rows: RecordBatch,
    /// The rows this step rejected, in the step's output shape.
    pub rejected: RecordBatch,
    /// Why each rejected row was rejected, in the same order.
    pub reasons: Vec<String>,
    /// Rows dropped as duplicates of another row.
    pub duplicates: usize,
    /// Findings that reject nothing (rules with `severity: warn`).
    pub warnings: Vec<String>,
}

impl StepOutput {
    /// Every row goes on.
    pub fn pass(rows: RecordBatch) -> Self {
        Self {
            rejected: rows.slice(0, 0),
            rows,
            reasons: Vec::new(),
            duplicates: 0,
            warnings: Vec::new(),
        }
    }

    /// Rows with an error are rejected with it; the others go on.
    pub fn split(rows: RecordBatch, errors: Vec<Option<String>>) -> Result<Self, TransformError> {
        if errors.iter().all(Option::is_none) {
            return Ok(Self::pass(rows));
        }
        let rejected_mask: BooleanArray = errors.iter().map(|e| Some(e.is_some())).collect();
        let kept_mask = arrow::compute::not(&rejected_mask)?;
        Ok(Self {
            rejected: filter_record_batch(&rows, &rejected_mask)?,
            rows: filter_record_batch(&rows, &kept_mask)?,
            reasons: errors.into_iter().flatten().collect(),
            duplicates: 0,
            warnings: Vec::new(),
        })
    }

    /// The same output with warnings attached.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }
}

/// Why a step could not run at all (as opposed to rejecting rows).
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The step names a column the data does not have.
    #[error("column {column} is not in the data (it has {available})")]
    MissingColumn {
        /// The column.
        column: String,
        /// The columns the data has.
        available: String,
    },
    /// The column's type is not one this step takes.
    #[error("column {column} is {data_type}, which this step cannot take")]
    UnsupportedType {
        /// The column.
        column: String,
        /// The column's type.
        data_type: DataType,
    },
    /// A lookup table the step needs was not loaded.
    #[error("lookup table {table} is not loaded")]
    MissingLookup {
        /// The table's path in the store.
        table: String,
    },
    /// A derived column's expression failed.
    #[error("expression {expr:?}: {detail}")]
    Expression {
        /// The expression, as SQL.
        expr: String,
        /// What went wrong.
        detail: String,
    },
    /// An Arrow kernel failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The index of `column` in `batch`, or [`TransformError::MissingColumn`].
pub(crate) fn column_index(batch: &RecordBatch, column: &str) -> Result<usize, TransformError> {
    batch
        .schema()
        .index_of(column)
        .map_err(|_| TransformError::MissingColumn {
            column: column.to_owned(),
            available: batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .filter(|name| !name.starts_with("__"))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// `batch` with column `index` replaced by `array` (its field retyped to match).
pub(crate) fn replace_column(
    batch: &RecordBatch,
    index: usize,
    array: ArrayRef,
) -> Result<RecordBatch, TransformError> {
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[index] = Field::new(fields[index].name(), array.data_type().clone(), true);
    let mut columns = batch.columns().to_vec();
    columns[index] = array;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// `batch` with `array` appended as column `name`, or replacing a column so named.
pub(crate) fn set_column(
    batch: &RecordBatch,
    name: &str,
    array: ArrayRef,
) -> Result<RecordBatch, TransformError> {
    if let Ok(index) = batch.schema().index_of(name) {
        return replace_column(batch, index, array);
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(name, array.data_type().clone(), true));
    let mut columns = batch.columns().to_vec();
    columns.push(array);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The longest value text an error message quotes.
const MAX_QUOTED: usize = 120;

/// Formats the values of one column for error messages.
pub(crate) struct ValueText<'a> {
    formatter: ArrayFormatter<'a>,
    numeric: bool,
}

impl<'a> ValueText<'a> {
    pub(crate) fn new(array: &'a dyn Array) -> Result<Self, TransformError> {
        Ok(Self {
            formatter: ArrayFormatter::try_new(array, &FormatOptions::default())?,
            numeric: array.data_type().is_numeric(),
        })
    }

    /// The value at `row`: a number as it is, anything else quoted and cut to a
    /// readable length.
    pub(crate) fn quoted(&self, row: usize) -> String {
        let text = self.formatter.value(row).to_string();
        if self.numeric {
            text
        } else {
            quote(&text)
        }
    }
}

/// `text` in double quotes, cut after [`MAX_QUOTED`] characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() > MAX_QUOTED {
        let cut: String = text.chars().take(MAX_QUOTED).collect();
        format!("{cut:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Parses a type name as pipeline files write it: `bigint`, `int`, `double`,
/// `decimal(12,2)`, `boolean`, `date`, `timestamp`, `string`…
pub fn parse_type(name: &str) -> Result<DataType, String> {
    let lower = name.trim().to_ascii_lowercase();
    let simple = match lower.as_str() {
        "string" | "text" | "varchar" | "utf8" => Some(DataType::Utf8),
        "bigint" | "long" | "int64" => Some(DataType::Int64),
        "int" | "integer" | "int32" => Some(DataType::Int32),
        "smallint" | "int16" => Some(DataType::Int16),
        "double" | "float64" => Some(DataType::Float64),
        "float" | "real" | "float32" => Some(DataType::Float32),
        "boolean" | "bool" => Some(DataType::Boolean),
        "date" => Some(DataType::Date32),
        "timestamp" => Some(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        )),
        _ => None,
    };
    if let Some(data_type) = simple {
        return Ok(data_type);
    }
    let decimal = lower
        .strip_prefix("decimal(")
        .or_else(|| lower.strip_prefix("numeric("))
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|args| args.split_once(','))
        .and_then(|(p, s)| Some((p.trim().parse::<u8>().ok()?, s.trim().parse::<i8>().ok()?)))
        .filter(|(p, s)| (1..=38).contains(p) && *s >= 0 && (*s as u8) <= *p);
    match decimal {
        Some((precision, scale)) => Ok(DataType::Decimal128(precision, scale)),
        None => Err(format!(
            "unknown type {name:?} (use string, bigint, int, smallint, double, float, boolean, \
             date, timestamp or decimal(p,s))"
        )),
    }
}

/// A readable name for a type in messages: `timestamp`, `decimal(12,2)`, `bigint`…
pub(crate) fn type_label(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Int32 => "int".to_owned(),
        DataType::Int16 => "smallint".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Float32 => "float".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Date32 => "date".to_owned(),
        DataType::Timestamp(_, _) => "timestamp".to_owned(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        other => other.to_string(),
    }
}

/// A type name in a pipeline file, parsed when the file is read.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeName(pub DataType);

impl<'de> serde::Deserialize<'de> for TypeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        parse_type(&name)
            .map(TypeName)
            .map_err(serde::de::Error::custom)
    }
}

/// What a parsing step does with a value it cannot parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Reject the row to quarantine, with the reason.
    #[default]
    Quarantine,
    /// Keep the row with a null in place of the value.
    Null,
}

/// One column name or a list of them (`key: trip_id` or `key: [a, b]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Columns {
    /// One column.
    One(String),
    /// Several columns.
    Many(Vec<String>),
}

impl Columns {
    /// The columns as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Columns::One(column) => vec![column.clone()],
            Columns::Many(columns) => columns.clone(),
        }
    }
}
