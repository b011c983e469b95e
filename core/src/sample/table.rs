//! Generated data in columns, and its encodings: CSV, newline-delimited JSON, Parquet.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
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
    /// Flags.
    Bool(Vec<Option<bool>>),
}

/// One value, to overwrite a cell with.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Int(Option<i64>),
    Decimal(Option<f64>),
    Text(Option<String>),
    /// An instant in microseconds; the cell keeps its UTC offset.
    Time(Option<i64>),
    Bool(Option<bool>),
}

/// How a file spells its values, beyond the format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TextStyle {
    /// Instants as `MM/DD/YYYY HH:MM:SS` in UTC, as a legacy export writes them.
    pub legacy_timestamps: bool,
    /// A byte-order mark and CRLF line ends, as a Windows spreadsheet export writes them.
    pub windows_export: bool,
}

/// A row written broken, in place of its good text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformation {
    /// The named instant column holds a date that does not exist.
    BadTimestamp(&'static str),
    /// The named number column holds text.
    NonNumeric(&'static str),
    /// The row is cut short: fewer fields than the header in CSV, invalid JSON in NDJSON.
    Truncated,
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Decimal(v, _) => v.len(),
            Values::Text(v) => v.len(),
            Values::Time(v, _) => v.len(),
            Values::Date(v) => v.len(),
            Values::Bool(v) => v.len(),
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
            Values::Bool(v) => Values::Bool(pick(v, rows)),
        }
    }

    /// Overwrites one cell; a value of another type than the column's is a bug.
    fn set(&mut self, row: usize, cell: Cell) {
        match (self, cell) {
            (Values::Int(v), Cell::Int(x)) => v[row] = x,
            (Values::Decimal(v, _), Cell::Decimal(x)) => v[row] = x,
            (Values::Text(v), Cell::Text(x)) => v[row] = x,
            (Values::Time(v, _), Cell::Time(x)) => v[row] = x,
            (Values::Bool(v), Cell::Bool(x)) => v[row] = x,
            (values, cell) => debug_assert!(false, "{cell:?} does not fit {values:?}"),
        }
    }

    /// The value of `row` as the text a CSV file holds (`None` for an empty field).
    fn text(&self, row: usize, style: TextStyle) -> Option<String> {
        match self {
            Values::Int(v) => v[row].map(|x| x.to_string()),
            Values::Decimal(v, places) => v[row].map(|x| format!("{x:.places$}")),
            Values::Text(v) => v[row].clone(),
            Values::Time(v, _) if style.legacy_timestamps => v[row].and_then(legacy_time),
            Values::Time(v, offsets) => v[row].and_then(|micros| iso_time(micros, offsets[row])),
            Values::Date(v) => v[row].and_then(iso_date),
            Values::Bool(v) => v[row].map(|x| x.to_string()),
        }
    }

    /// The value of `row` as JSON: numbers and flags stay JSON numbers and booleans.
    fn json(&self, row: usize, style: TextStyle) -> Value {
        match self {
            Values::Int(v) => v[row].map_or(Value::Null, Value::from),
            Values::Decimal(v, places) => v[row]
                .and_then(|x| {
                    let rounded: f64 = format!("{x:.places$}").parse().ok()?;
                    Number::from_f64(rounded).map(Value::Number)
                })
                .unwrap_or(Value::Null),
            Values::Bool(v) => v[row].map_or(Value::Null, Value::Bool),
            _ => self.text(row, style).map_or(Value::Null, Value::String),
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
            Values::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v.clone()))),
        }
    }
}

fn iso_time(micros: i64, offset_hours: i32) -> Option<String> {
    let offset = FixedOffset::east_opt(offset_hours * 3600)?;
    let time = DateTime::from_timestamp_micros(micros)?.with_timezone(&offset);
    Some(time.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

fn legacy_time(micros: i64) -> Option<String> {
    let time = DateTime::from_timestamp_micros(micros)?;
    Some(time.format("%m/%d/%Y %H:%M:%S").to_string())
}

/// An ISO-8601 instant made invalid: its day of the month becomes 32.
fn impossible_day(iso: &str) -> String {
    match (iso.get(..8), iso.get(10..)) {
        (Some(year_month), Some(rest)) => format!("{year_month}32{rest}"),
        _ => "2026-01-32T00:00:00Z".to_owned(),
    }
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

    /// The rows at `rows`, in that order (a row may repeat).
    pub(crate) fn take(&self, rows: &[usize]) -> Table {
        Table {
            columns: self
                .columns
                .iter()
                .map(|(name, values)| (*name, values.take(rows)))
                .collect(),
        }
    }

    /// The values of the named column.
    pub(crate) fn column(&self, name: &str) -> Option<&Values> {
        self.columns
            .iter()
            .find(|(column, _)| *column == name)
            .map(|(_, values)| values)
    }

    /// The whole number in `column` at `row`.
    pub(crate) fn int(&self, column: &str, row: usize) -> Option<i64> {
        match self.column(column)? {
            Values::Int(v) => v[row],
            _ => None,
        }
    }

    /// The number with decimals in `column` at `row`.
    pub(crate) fn decimal(&self, column: &str, row: usize) -> Option<f64> {
        match self.column(column)? {
            Values::Decimal(v, _) => v[row],
            _ => None,
        }
    }

    /// The instant (microseconds) in `column` at `row`.
    pub(crate) fn time(&self, column: &str, row: usize) -> Option<i64> {
        match self.column(column)? {
            Values::Time(v, _) => v[row],
            _ => None,
        }
    }

    /// The text in `column` at `row`.
    pub(crate) fn text(&self, column: &str, row: usize) -> Option<&str> {
        match self.column(column)? {
            Values::Text(v) => v[row].as_deref(),
            _ => None,
        }
    }

    /// The flag in `column` at `row`.
    pub(crate) fn flag(&self, column: &str, row: usize) -> Option<bool> {
        match self.column(column)? {
            Values::Bool(v) => v[row],
            _ => None,
        }
    }

    /// Overwrites the cell of `column` at `row`.
    pub(crate) fn set(&mut self, column: &str, row: usize, cell: Cell) {
        match self.columns.iter_mut().find(|(name, _)| *name == column) {
            Some((_, values)) => values.set(row, cell),
            None => debug_assert!(false, "no column {column}"),
        }
    }

    /// The same rows without the named column.
    pub(crate) fn without(mut self, column: &str) -> Table {
        self.columns.retain(|(name, _)| *name != column);
        self
    }

    /// The same rows with the named columns first, in that order.
    pub(crate) fn reordered(mut self, order: &[&str]) -> Table {
        self.columns.sort_by_key(|(name, _)| {
            order
                .iter()
                .position(|wanted| wanted == name)
                .unwrap_or(order.len())
        });
        self
    }

    /// CSV with a header row and RFC 4180 quoting; `malformed` rows are written broken.
    pub(crate) fn to_csv(&self, style: TextStyle, malformed: &[(usize, Malformation)]) -> Bytes {
        let line_end = if style.windows_export { "\r\n" } else { "\n" };
        let mut out = String::new();
        if style.windows_export {
            out.push('\u{feff}');
        }
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|(name, _)| csv_field(name))
            .collect();
        out.push_str(&header.join(","));
        out.push_str(line_end);
        for row in 0..self.rows() {
            let mut fields: Vec<String> = self
                .columns
                .iter()
                .map(|(_, values)| {
                    values
                        .text(row, style)
                        .map(|text| csv_field(&text))
                        .unwrap_or_default()
                })
                .collect();
            match malformation_of(malformed, row) {
                Some(Malformation::BadTimestamp(column)) => {
                    if let Some(index) = self.position(column) {
                        fields[index] = impossible_day(&fields[index]);
                    }
                }
                Some(Malformation::NonNumeric(column)) => {
                    if let Some(index) = self.position(column) {
                        fields[index] = "N/A".to_owned();
                    }
                }
                Some(Malformation::Truncated) => fields.truncate(fields.len().saturating_sub(2)),
                None => {}
            }
            out.push_str(&fields.join(","));
            out.push_str(line_end);
        }
        Bytes::from(out)
    }

    /// One JSON object per line; null fields are left out, as many producers do.
    /// `malformed` rows are written broken.
    pub(crate) fn to_ndjson(&self, style: TextStyle, malformed: &[(usize, Malformation)]) -> Bytes {
        let mut out = Vec::new();
        for row in 0..self.rows() {
            let mut object = Map::new();
            for (name, values) in &self.columns {
                let value = values.json(row, style);
                if !value.is_null() {
                    object.insert((*name).to_owned(), value);
                }
            }
            let malformation = malformation_of(malformed, row);
            match malformation {
                Some(Malformation::BadTimestamp(column)) => {
                    if let Some(Value::String(text)) = object.get(column) {
                        let broken = impossible_day(text);
                        object.insert(column.to_owned(), Value::String(broken));
                    }
                }
                Some(Malformation::NonNumeric(column)) => {
                    object.insert(column.to_owned(), Value::String("N/A".to_owned()));
                }
                Some(Malformation::Truncated) | None => {}
            }
            // Serialising a map of plain values cannot fail.
            if let Ok(mut line) = serde_json::to_vec(&Value::Object(object)) {
                if malformation == Some(Malformation::Truncated) {
                    line.truncate(line.len() / 2);
                }
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
        }
        Bytes::from(out)
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|(name, _)| *name == column)
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

fn malformation_of(malformed: &[(usize, Malformation)], row: usize) -> Option<Malformation> {
    malformed
        .iter()
        .find(|(at, _)| *at == row)
        .map(|(_, malformation)| *malformation)
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
        let csv = String::from_utf8(table().to_csv(TextStyle::default(), &[]).to_vec()).unwrap();
        assert_eq!(
            csv,
            "id,name,fare,at,day\n\
             1,\"O'Brien, \"\"Jo\"\"\",12.35,2026-01-05T03:00:00-05:00,2024-10-04\n\
             2,,7.00,,1970-01-01\n"
        );
    }

    #[test]
    fn ndjson_keeps_numbers_and_leaves_out_nulls() {
        let text =
            String::from_utf8(table().to_ndjson(TextStyle::default(), &[]).to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "{\"day\":\"1970-01-01\",\"fare\":7.0,\"id\":2}");
        assert!(lines[0].contains("\"fare\":12.35"), "{}", lines[0]);
    }

    #[test]
    fn malformed_rows_are_broken_the_way_the_edge_cases_need() {
        let malformed = [
            (0, Malformation::BadTimestamp("at")),
            (1, Malformation::Truncated),
        ];
        let csv =
            String::from_utf8(table().to_csv(TextStyle::default(), &malformed).to_vec()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[1],
            "1,\"O'Brien, \"\"Jo\"\"\",12.35,2026-01-32T03:00:00-05:00,2024-10-04"
        );
        assert_eq!(lines[2], "2,,7.00");
        let ndjson = table().to_ndjson(
            TextStyle::default(),
            &[
                (0, Malformation::NonNumeric("fare")),
                (1, Malformation::Truncated),
            ],
        );
        let text = String::from_utf8(ndjson.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["fare"], "N/A");
        assert!(
            serde_json::from_str::<Value>(lines[1]).is_err(),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn legacy_and_windows_styles() {
        let style = TextStyle {
            legacy_timestamps: true,
            windows_export: true,
        };
        let csv = table().to_csv(style, &[]);
        assert!(csv.starts_with("\u{feff}id,name".as_bytes()));
        let text = String::from_utf8(csv.to_vec()).unwrap();
        assert!(
            text.contains(",01/05/2026 08:00:00,2024-10-04\r\n"),
            "{text}"
        );
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
