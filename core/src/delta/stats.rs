//! Per-file statistics (`add.stats`): row count, and per column the minimum, the
//! maximum and the number of nulls. Merge and scans use them to skip files.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// Strings longer than this keep only a prefix as their minimum and no maximum.
const MAX_STRING_STAT: usize = 32;

/// The statistics of one data file, as the protocol lays them out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStats {
    /// Rows in the file.
    pub num_records: i64,
    /// Per column, the smallest value.
    #[serde(default)]
    pub min_values: BTreeMap<String, Value>,
    /// Per column, the largest value.
    #[serde(default)]
    pub max_values: BTreeMap<String, Value>,
    /// Per column, how many nulls.
    #[serde(default)]
    pub null_count: BTreeMap<String, Value>,
}

impl FileStats {
    /// Computes the statistics of a file's rows.
    pub fn of(batch: &RecordBatch) -> Self {
        let mut stats = FileStats {
            num_records: batch.num_rows() as i64,
            ..Default::default()
        };
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let name = field.name().clone();
            if matches!(
                field.data_type(),
                DataType::Struct(_) | DataType::List(_) | DataType::Map(_, _)
            ) {
                continue;
            }
            stats
                .null_count
                .insert(name.clone(), Value::from(column.null_count() as i64));
            if let Some((min, max)) = min_max(column) {
                stats.min_values.insert(name.clone(), min);
                if let Some(max) = max {
                    stats.max_values.insert(name, max);
                }
            }
        }
        stats
    }

    /// Parses `add.stats`.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The JSON text for `add.stats`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether rows with `column` between `low` and `high` (inclusive) may be in the
    /// file. Without statistics for the column the answer is yes.
    pub fn may_contain_range(&self, column: &str, low: &Value, high: &Value) -> bool {
        let (Some(min), Some(max)) = (self.min_values.get(column), self.max_values.get(column))
        else {
            return true;
        };
        let below = matches!(compare_values(high, min), Some(Ordering::Less));
        let above = matches!(compare_values(low, max), Some(Ordering::Greater));
        !(below || above)
    }
}

/// Orders two statistics values of the same column: numbers by value, strings by bytes.
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    }
}

fn number(value: f64) -> Option<Value> {
    Number::from_f64(value).map(Value::Number)
}

/// Minimum and maximum of floats, NaN left out.
fn float_min_max(values: impl Iterator<Item = f64>) -> Option<(Value, Option<Value>)> {
    let (min, max) = values
        .filter(|value| !value.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if min > max {
        return None;
    }
    Some((number(min)?, number(max)))
}

/// The minimum and (if it can be stated exactly) the maximum of a column, or `None`
/// when the column has no non-null values or no statistics for its type.
pub(crate) fn min_max(column: &ArrayRef) -> Option<(Value, Option<Value>)> {
    if column.null_count() == column.len() {
        return None;
    }
    macro_rules! integers {
        ($array:ty) => {{
            let array = column.as_any().downcast_ref::<$array>()?;
            let min = arrow::compute::min(array)?;
            let max = arrow::compute::max(array)?;
            Some((Value::from(min as i64), Some(Value::from(max as i64))))
        }};
    }
    match column.data_type() {
        DataType::Int8 => integers!(Int8Array),
        DataType::Int16 => integers!(Int16Array),
        DataType::Int32 => integers!(Int32Array),
        DataType::Int64 => integers!(Int64Array),
        DataType::Float32 => {
            let array = column.as_any().downcast_ref::<Float32Array>()?;
            float_min_max(array.iter().flatten().map(f64::from))
        }
        DataType::Float64 => {
            let array = column.as_any().downcast_ref::<Float64Array>()?;
            float_min_max(array.iter().flatten())
        }
        DataType::Utf8 => {
            let array = column.as_any().downcast_ref::<StringArray>()?;
            let min = arrow::compute::min_string(array)?;
            let max = arrow::compute::max_string(array)?;
            let min: String = min.chars().take(MAX_STRING_STAT).collect();
            let max = (max.chars().count() <= MAX_STRING_STAT).then(|| Value::from(max));
            Some((Value::from(min), max))
        }
        DataType::Date32 => {
            let array = column.as_any().downcast_ref::<Date32Array>()?;
            let day = |days: i32| {
                NaiveDate::from_num_days_from_ce_opt(days.checked_add(719_163)?)
                    .map(|date| Value::from(date.format("%Y-%m-%d").to_string()))
            };
            Some((
                day(arrow::compute::min(array)?)?,
                day(arrow::compute::max(array)?),
            ))
        }
        DataType::Timestamp(_, _) => {
            let array = column
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()?;
            let min = arrow::compute::min(array)?;
            let max = arrow::compute::max(array)?;
            // Delta states timestamps to the millisecond: round the minimum down and
            // the maximum up, so the range still holds every value.
            let format = |micros: i64| {
                DateTime::from_timestamp_micros(micros)
                    .map(|time| Value::from(time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
            };
            let min_ms = min.div_euclid(1000) * 1000;
            let max_ms = max.saturating_add(999).div_euclid(1000) * 1000;
            Some((format(min_ms)?, format(max_ms)))
        }
        DataType::Decimal128(_, scale) => {
            let array = column.as_any().downcast_ref::<Decimal128Array>()?;
            let scale = *scale as i32;
            let to_value = |raw: i128| number(raw as f64 / 10f64.powi(scale));
            Some((
                to_value(arrow::compute::min(array)?)?,
                to_value(arrow::compute::max(array)?),
            ))
        }
        DataType::Boolean => {
            let array = column.as_boolean();
            let min = arrow::compute::min_boolean(array)?;
            let max = arrow::compute::max_boolean(array)?;
            Some((Value::from(min), Some(Value::from(max))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    #[test]
    fn stats_cover_numbers_strings_dates_and_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("city", DataType::Utf8, true),
            Field::new("fare", DataType::Float64, true),
            Field::new("day", DataType::Date32, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(5), None, Some(2)])),
                Arc::new(StringArray::from(vec![Some("Queens"), Some("Bronx"), None])),
                Arc::new(Float64Array::from(vec![
                    Some(1.5),
                    Some(f64::NAN),
                    Some(-2.0),
                ])),
                Arc::new(Date32Array::from(vec![Some(0), Some(20_000), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_500), Some(2_001), None])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let stats = FileStats::of(&batch);
        assert_eq!(stats.num_records, 3);
        assert_eq!(stats.min_values["id"], Value::from(2));
        assert_eq!(stats.max_values["id"], Value::from(5));
        assert_eq!(stats.null_count["id"], Value::from(1));
        assert_eq!(stats.min_values["city"], Value::from("Bronx"));
        assert_eq!(stats.max_values["fare"], Value::from(1.5));
        assert_eq!(stats.min_values["day"], Value::from("1970-01-01"));
        assert_eq!(
            stats.min_values["at"],
            Value::from("1970-01-01T00:00:00.001Z")
        );
        assert_eq!(
            stats.max_values["at"],
            Value::from("1970-01-01T00:00:00.003Z")
        );
        let parsed = FileStats::parse(&stats.to_json()).unwrap();
        assert_eq!(parsed, stats);
        assert!(stats.may_contain_range("id", &Value::from(5), &Value::from(9)));
        assert!(!stats.may_contain_range("id", &Value::from(6), &Value::from(9)));
        assert!(!stats.may_contain_range("id", &Value::from(0), &Value::from(1)));
        assert!(stats.may_contain_range("unknown", &Value::from(0), &Value::from(1)));
    }

    #[test]
    fn long_strings_keep_a_prefix_minimum_and_no_maximum() {
        let long = "x".repeat(40);
        let column: ArrayRef = Arc::new(StringArray::from(vec![long.as_str()]));
        let (min, max) = min_max(&column).unwrap();
        assert_eq!(min, Value::from("x".repeat(32)));
        assert_eq!(max, None);
    }
}
