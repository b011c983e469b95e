//! Generated data in columns, and its encodings: CSV, newline-delimited JSON, Parquet.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Number, Value};

use super::SampleError;

/// One column's values.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// Whole numbers.
    Int(Vec<Option<i64>>),
    /// Numbers written with a fixed number of decimals.
    Decimal(Vec<Option<f64>>, usize),
    /// Text.
    Text(Vec<Option<String>>),
    /// Instants in microseconds since the epoch, written in ISO-8601 at a UTC offset (hours).
    Time(Vec<Option<i64>>, Vec<i32>),
    /// Calendar dates, days since the epoch.
    Date(Vec<Option<i32>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Decimal(v, _) => v.len(),
            Values::Text(v) => v.len(),
            Values::Time(v, _) => v.len(),
            Values::Date(v) => v.len(),
        }
    }

    fn take(&self, rows: &[usize]) -> Values {
        fn pick<T: Clone>(values: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&row| values[row].clone()).collect()
        }
        match self {
            Values::Int(v) => Values::Int(pick(v, rows)),
            Values::Decimal(v, places) => Values::Decimal(pick(v, rows), *places),
            Values::Text(v) => Values::Text(pick(v, rows)),
            Values::Time(v, offsets) => Values::Time(pick(v, rows), pick(offsets, rows)),
            Values::Date(v) => Values::Date(pick(v, rows)),
        }
    }

    /// The value of `row` as the text a CSV file holds (`None` for an empty field).
    fn text(&self, row: usize) -> Option<String> {
        match self {
            Values::Int(v) => v[row].map(|x| x.to_string()),
            Values::Decimal(v, places) => v[row].map(|x| format!("{x:.places$}")),
            Values::Text(v) => v[row].clone(),
            Values::Time(v, offsets) => v[row].and_then(|micros| iso_time(micros, offsets[row])),
            Values::Date(v) => v[row].and_then(iso_date),
        }
    }

    /// The value of `row` as JSON: numbers stay numbers.
    fn json(&self, row: usize) -> Value {
        match self {
            Values::Int(v) => v[row].map_or(Value::Null, Value::from),
            Values::Decimal(v, places) => v[row]
                .and_then(|x| {
                    let rounded: f64 = format!("{x:.places$}").parse().ok()?;
                    Number::from_f64(rounded).map(Value::Number)
                })
                .unwrap_or(Value::Null),
            _ => self.text(row).map_or(Value::Null, Value::String),
        }
    }

    fn arrow(&self) -> (DataType, ArrayRef) {
        match self {
            Values::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            Values::Decimal(v, places) => {
                // Exact powers of ten: the same bits on every platform.
                let factor = [1.0, 10.0, 100.0, 1_000.0, 10_000.0][(*places).min(4)];
                let rounded: Vec<Option<f64>> = v
                    .iter()
                    .map(|x| x.map(|x| (x * factor).round() / factor))
                    .collect();
                (DataType::Float64, Arc::new(Float64Array::from(rounded)))
            }
            Values::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            Values::Time(v, _) => (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                Arc::new(TimestampMicrosecondArray::from(v.clone()).with_timezone("UTC")),
            ),
            Values::Date(v) => (DataType::Date32, Arc::new(Date32Array::from(v.clone()))),
        }
    }
}

fn iso_time(micros: i64, offset_hours: i32) -> Option<String> {
    let offset = FixedOffset::east_opt(offset_hours * 3600)?;
    let time = DateTime::from_timestamp_micros(micros)?.with_timezone(&offset);
    Some(time.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

fn iso_date(days: i32) -> Option<String> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(719_163)?)
        .map(|date| date.format("%Y-%m-%d").to_string())
}

/// One entity's rows, column by column.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub columns: Vec<(&'static str, Values)>,
}

impl Table {
    pub(crate) fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, values)| values.len())
    }

    /// The rows at `rows`, in that order.
    pub(crate) fn take(&self, rows: &[usize]) -> Table {
        Table {
            columns: self
                .columns
                .iter()
                .map(|(name, values)| (*name, values.take(rows)))
                .collect(),
        }
    }

    /// CSV with a header row, RFC 4180 quoting, `\n` line ends.
    pub(crate) fn to_csv(&self) -> Bytes {
        let mut out = String::new();
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|(name, _)| csv_field(name))
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in 0..self.rows() {
            let fields: Vec<String> = self
                .columns
                .iter()
                .map(|(_, values)| {
                    values
                        .text(row)
                        .map(|text| csv_field(&text))
                        .unwrap_or_default()
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        Bytes::from(out)
    }

    /// One JSON object per line; null fields are left out, as many producers do.
    pub(crate) fn to_ndjson(&self) -> Bytes {
        let mut out = Vec::new();
        for row in 0..self.rows() {
            let mut object = Map::new();
            for (name, values) in &self.columns {
                let value = values.json(row);
                if !value.is_null() {
                    object.insert((*name).to_owned(), value);
                }
            }
            // Serialising a map of plain values cannot fail.
            if let Ok(line) = serde_json::to_vec(&Value::Object(object)) {
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
        }
        Bytes::from(out)
    }

    /// A typed Parquet file.
    pub(crate) fn to_parquet(&self, file: &str) -> Result<Bytes, SampleError> {
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = self
            .columns
            .iter()
            .map(|(name, values)| {
                let (data_type, array) = values.arrow();
                (Field::new(*name, data_type, true), array)
            })
            .unzip();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|err| {
            SampleError::Encode {
                file: file.to_owned(),
                detail: err.to_string(),
            }
        })?;
        crate::delta::encode_parquet(&batch, file).map_err(|err| SampleError::Encode {
            file: file.to_owned(),
            detail: err.to_string(),
        })
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            columns: vec![
                ("id", Values::Int(vec![Some(1), Some(2)])),
                (
                    "name",
                    Values::Text(vec![Some("O'Brien, \"Jo\"".into()), None]),
                ),
                ("fare", Values::Decimal(vec![Some(12.345), Some(7.0)], 2)),
                (
                    "at",
                    Values::Time(vec![Some(1_767_600_000_000_000), None], vec![-5, 0]),
                ),
                ("day", Values::Date(vec![Some(20_000), Some(0)])),
            ],
        }
    }

    #[test]
    fn csv_quotes_and_formats_fields() {
        let csv = String::from_utf8(table().to_csv().to_vec()).unwrap();
        assert_eq!(
            csv,
            "id,name,fare,at,day\n\
             1,\"O'Brien, \"\"Jo\"\"\",12.35,2026-01-05T03:00:00-05:00,2024-10-04\n\
             2,,7.00,,1970-01-01\n"
        );
    }

    #[test]
    fn ndjson_keeps_numbers_and_leaves_out_nulls() {
        let text = String::from_utf8(table().to_ndjson().to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "{\"day\":\"1970-01-01\",\"fare\":7.0,\"id\":2}");
        assert!(lines[0].contains("\"fare\":12.35"), "{}", lines[0]);
    }

    #[test]
    fn parquet_keeps_types() {
        let bytes = table().to_parquet("t.parquet").unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        let schema = reader.schema().clone();
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(
            schema.field(3).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(schema.field(4).data_type(), &DataType::Date32);
    }
}
