//! `parse_timestamp`: instants in several formats and offsets, into UTC; `parse_date`:
//! calendar dates in a strftime format.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use serde::Deserialize;

use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{
    column_index, quote, replace_column, OnError, StepContext, StepOutput, Transform,
    TransformError,
};

/// Parses instants into UTC timestamps (microseconds): `columns: [pickup_at]`.
///
/// `formats` are tried in order: `iso8601` (RFC 3339 with `T` or a space, optional
/// fraction, `Z` or an offset, or no offset), `epoch_seconds` or `epoch_millis`
/// (a whole number since 1970-01-01 UTC, as text or as an integer column), or a chrono
/// `strftime` pattern such as `%m/%d/%Y %H:%M:%S`. A value without an offset is read
/// in `timezone` (`UTC` or a fixed offset such as `-05:00`). Timestamps and dates
/// already typed are converted; an integer column needs an epoch format. A value no
/// format reads rejects the row (or is null with `on_error: null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseTimestamp {
    /// The columns to parse.
    pub columns: Vec<String>,
    /// The formats to try, in order.
    #[serde(default = "default_formats")]
    pub formats: Vec<String>,
    /// The zone of values without an offset.
    #[serde(default)]
    pub timezone: Zone,
    /// What a value that is not a timestamp does.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_formats() -> Vec<String> {
    vec!["iso8601".to_owned()]
}

/// A fixed UTC offset, written `UTC`, `Z` or `±HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub FixedOffset);

impl Default for Zone {
    fn default() -> Self {
        Zone(Utc.fix())
    }
}

impl Zone {
    /// Parses `UTC`, `Z` or `±HH:MM`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text == "Z" {
            return Ok(Self::default());
        }
        let parsed = (|| {
            let (sign, rest) = match text.as_bytes().first()? {
                b'+' => (1, &text[1..]),
                b'-' => (-1, &text[1..]),
                _ => return None,
            };
            let (hours, minutes) = rest.split_once(':')?;
            let seconds = hours.parse::<i32>().ok()? * 3600 + minutes.parse::<i32>().ok()? * 60;
            FixedOffset::east_opt(sign * seconds)
        })();
        parsed
            .map(Zone)
            .ok_or_else(|| format!("timezone {text:?} is not UTC or a fixed offset such as -05:00"))
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Zone::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The epoch formats: their name and the microseconds in one unit.
const EPOCHS: [(&str, i64); 2] = [("epoch_seconds", 1_000_000), ("epoch_millis", 1_000)];

/// Microseconds in one unit of `format`, if it is an epoch format.
fn epoch_unit(format: &str) -> Option<i64> {
    EPOCHS
        .iter()
        .find(|(name, _)| format.eq_ignore_ascii_case(name))
        .map(|(_, micros)| *micros)
}

/// Microseconds since the epoch of `text` read with `format` (`iso8601`, an epoch
/// format, or strftime).
pub(crate) fn parse_instant(text: &str, format: &str, zone: Zone) -> Option<i64> {
    let text = text.trim();
    if let Some(unit) = epoch_unit(format) {
        return text.parse::<i64>().ok()?.checked_mul(unit);
    }
    let local = |naive: NaiveDateTime| {
        zone.0
            .from_local_datetime(&naive)
            .single()
            .map(|instant| instant.timestamp_micros())
    };
    if format.eq_ignore_ascii_case("iso8601") || format.eq_ignore_ascii_case("rfc3339") {
        let normalized = match text.as_bytes().get(10) {
            Some(b' ') => format!("{}T{}", &text[..10], &text[11..]),
            _ => text.to_owned(),
        };
        if let Ok(instant) = DateTime::parse_from_rfc3339(&normalized) {
            return Some(instant.timestamp_micros());
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f") {
            return local(naive);
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M") {
            return local(naive);
        }
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|date| local(date.and_hms_opt(0, 0, 0)?));
    }
    if format.contains("%z") || format.contains("%:z") || format.contains("%#z") {
        return DateTime::parse_from_str(text, format)
            .ok()
            .map(|instant| instant.timestamp_micros());
    }
    match NaiveDateTime::parse_from_str(text, format) {
        Ok(naive) => local(naive),
        Err(_) => NaiveDate::parse_from_str(text, format)
            .ok()
            .and_then(|date| local(date.and_hms_opt(0, 0, 0)?)),
    }
}

/// Each non-blank value of the text column `source` read by `parse`, blank ones null. A
/// value `parse` cannot read is null, and with `on_error: quarantine` rejects its row in
/// `errors` as "`column` is not a `what`".
fn parse_text<T>(
    source: &ArrayRef,
    column: &str,
    what: &str,
    on_error: OnError,
    errors: &mut [Option<String>],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<Option<T>>, TransformError> {
    let strings = source
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| TransformError::UnsupportedType {
            column: column.to_owned(),
            data_type: source.data_type().clone(),
        })?;
    let mut values = Vec::with_capacity(strings.len());
    for (row, error) in errors.iter_mut().enumerate() {
        let text = strings.is_valid(row).then(|| strings.value(row));
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            values.push(None);
            continue;
        };
        let value = parse(text);
        if value.is_none() && on_error == OnError::Quarantine && error.is_none() {
            *error = Some(format!("`{column}` is not a {what}: {}", quote(text)));
        }
        values.push(value);
    }
    Ok(values)
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

impl Transform for ParseTimestamp {
    fn kind(&self) -> &'static str {
        "parse_timestamp"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.iter())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for column in &self.columns {
            let index = column_index(&batch, column)?;
            let source = batch.column(index).clone();
            let parsed = match source.data_type() {
                DataType::Utf8 => {
                    let values = parse_text(
                        &source,
                        column,
                        "timestamp",
                        self.on_error,
                        &mut errors,
                        |text| {
                            self.formats
                                .iter()
                                .find_map(|format| parse_instant(text, format, self.timezone))
                        },
                    )?;
                    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
                }
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                    cast(&source, &utc_micros())?
                }
                DataType::Int64 | DataType::Int32 | DataType::Int16 => {
                    let unit = self
                        .formats
                        .iter()
                        .find_map(|format| epoch_unit(format))
                        .ok_or_else(|| TransformError::UnsupportedType {
                            column: column.clone(),
                            data_type: source.data_type().clone(),
                        })?;
                    let numbers = cast(&source, &DataType::Int64)?;
                    let Some(numbers) = numbers.as_any().downcast_ref::<Int64Array>() else {
                        return Err(TransformError::UnsupportedType {
                            column: column.clone(),
                            data_type: source.data_type().clone(),
                        });
                    };
                    let mut values = Vec::with_capacity(numbers.len());
                    for (row, error) in errors.iter_mut().enumerate() {
                        let number = numbers.is_valid(row).then(|| numbers.value(row));
                        let micros = number.and_then(|number| number.checked_mul(unit));
                        if number.is_some()
                            && micros.is_none()
                            && self.on_error == OnError::Quarantine
                            && error.is_none()
                        {
                            *error = Some(format!(
                                "`{column}` is not a timestamp: {}",
                                numbers.value(row)
                            ));
                        }
                        values.push(micros);
                    }
                    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
                }
                other => {
                    return Err(TransformError::UnsupportedType {
                        column: column.clone(),
                        data_type: other.clone(),
                    })
                }
            };
            batch = replace_column(&batch, index, parsed)?;
        }
        StepOutput::split(batch, errors)
    }
}

/// Parses calendar dates (`date`): `columns: [signup_date]`, with `formats` tried in
/// order (chrono `strftime` patterns; default `%Y-%m-%d`), such as `%d.%m.%Y` or
/// `%m/%d/%Y`. Text is trimmed and an empty value is null; dates and timestamps
/// already typed are converted. A value no format reads rejects the row (or is null
/// with `on_error: null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseDate {
    /// The columns to parse.
    pub columns: Vec<String>,
    /// The formats to try, in order.
    #[serde(default = "default_date_formats")]
    pub formats: Vec<String>,
    /// What a value that is not a date does.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_date_formats() -> Vec<String> {
    vec!["%Y-%m-%d".to_owned()]
}

/// Days since 1970-01-01 of `text` read with the strftime `format`.
pub(crate) fn parse_day(text: &str, format: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text.trim(), format).ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(date.signed_duration_since(epoch).num_days()).ok()
}

impl Transform for ParseDate {
    fn kind(&self) -> &'static str {
        "parse_date"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.iter())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for column in &self.columns {
            let index = column_index(&batch, column)?;
            let source = batch.column(index).clone();
            let parsed: Arc<dyn Array> = match source.data_type() {
                DataType::Utf8 => {
                    let values = parse_text(
                        &source,
                        column,
                        "date",
                        self.on_error,
                        &mut errors,
                        |text| {
                            self.formats
                                .iter()
                                .find_map(|format| parse_day(text, format))
                        },
                    )?;
                    Arc::new(Date32Array::from(values))
                }
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                    cast(&source, &DataType::Date32)?
                }
                other => {
                    return Err(TransformError::UnsupportedType {
                        column: column.clone(),
                        data_type: other.clone(),
                    })
                }
            };
            batch = replace_column(&batch, index, parsed)?;
        }
        StepOutput::split(batch, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};

    fn micros(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn iso8601_takes_offsets_fractions_spaces_and_naive_values() {
        let utc = Zone::default();
        let want = micros("2026-01-05T05:01:00Z");
        for text in [
            "2026-01-05T00:01:00-05:00",
            "2026-01-05 05:01:00Z",
            "2026-01-05T05:01:00.000+00:00",
            "2026-01-05T05:01:00",
            "2026-01-05T05:01",
        ] {
            assert_eq!(parse_instant(text, "iso8601", utc), Some(want), "{text}");
        }
        assert_eq!(
            parse_instant("2026-01-05", "iso8601", utc),
            Some(micros("2026-01-05T00:00:00Z"))
        );
        let new_york = Zone::parse("-05:00").unwrap();
        assert_eq!(
            parse_instant("2026-01-05 00:01:00", "iso8601", new_york),
            Some(want)
        );
        for bad in ["2026-02-32T10:00:00-05:00", "yesterday", "2026-13-01"] {
            assert_eq!(parse_instant(bad, "iso8601", utc), None, "{bad}");
        }
    }

    #[test]
    fn strftime_formats_read_legacy_and_offset_values() {
        let utc = Zone::default();
        assert_eq!(
            parse_instant("09/30/2025 19:00:00", "%m/%d/%Y %H:%M:%S", utc),
            Some(micros("2025-09-30T19:00:00Z"))
        );
        assert_eq!(
            parse_instant("30.09.2025 19:00 +0200", "%d.%m.%Y %H:%M %z", utc),
            Some(micros("2025-09-30T17:00:00Z"))
        );
        assert_eq!(
            parse_instant("20250930", "%Y%m%d", utc),
            Some(micros("2025-09-30T00:00:00Z"))
        );
        assert!(Zone::parse("Europe/Paris").is_err());
    }

    #[test]
    fn parse_timestamp_tries_formats_in_order_and_quarantines_the_rest() {
        let input = test_batch(&[(
            "at",
            &[
                Some("2025-09-30T19:00:00-05:00"),
                Some("09/30/2025 19:00:00"),
                Some("2026-02-32T10:00:00-05:00"),
                None,
                Some(""),
            ],
        )]);
        let step = ParseTimestamp {
            columns: vec!["at".to_owned()],
            formats: vec!["iso8601".to_owned(), "%m/%d/%Y %H:%M:%S".to_owned()],
            timezone: Zone::default(),
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(
            out.reasons,
            ["`at` is not a timestamp: \"2026-02-32T10:00:00-05:00\""]
        );
        assert_eq!(
            strings(&out.rows, "at"),
            [
                Some("2025-10-01T00:00:00Z".into()),
                Some("2025-09-30T19:00:00Z".into()),
                None,
                None
            ]
        );
        assert_eq!(out.rows.schema().field(0).data_type(), &utc_micros());
    }

    #[test]
    fn typed_timestamps_are_converted_and_numbers_refused() {
        let typed = RecordBatch::try_new(
            Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new(
                    "at",
                    DataType::Timestamp(TimeUnit::Millisecond, None),
                    true,
                ),
            ])),
            vec![Arc::new(arrow::array::TimestampMillisecondArray::from(
                vec![Some(1_000)],
            ))],
        )
        .unwrap();
        let step = ParseTimestamp {
            columns: vec!["at".to_owned()],
            formats: default_formats(),
            timezone: Zone::default(),
            on_error: OnError::Quarantine,
        };
        let out = step.apply(typed, &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "at"),
            [Some("1970-01-01T00:00:01Z".into())]
        );

        let numbers = crate::silver::transforms::int_batch("at", &[Some(1)]);
        assert!(step.apply(numbers, &StepContext::new()).is_err());
    }

    #[test]
    fn epoch_seconds_and_millis_read_text_and_integer_columns() {
        let utc = Zone::default();
        let want = micros("2024-01-01T00:57:55Z");
        assert_eq!(
            parse_instant("1704070675", "epoch_seconds", utc),
            Some(want)
        );
        assert_eq!(
            parse_instant(" 1704070675000 ", "epoch_millis", utc),
            Some(want)
        );
        assert_eq!(parse_instant("17040706.5", "epoch_seconds", utc), None);

        let step = ParseTimestamp {
            columns: vec!["at".to_owned()],
            formats: vec!["epoch_millis".to_owned()],
            timezone: Zone::default(),
            on_error: OnError::Quarantine,
        };
        let numbers = crate::silver::transforms::int_batch("at", &[Some(1_704_070_675_000), None]);
        let out = step.apply(numbers, &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "at"),
            [Some("2024-01-01T00:57:55Z".into()), None]
        );
        let text = test_batch(&[("at", &[Some("1704070675000"), Some("soon")])]);
        let out = step.apply(text, &StepContext::new()).unwrap();
        assert_eq!(out.reasons, ["`at` is not a timestamp: \"soon\""]);
    }

    #[test]
    fn parse_date_reads_each_format_and_quarantines_the_rest() {
        let input = test_batch(&[(
            "day",
            &[
                Some("31.12.2025"),
                Some(" 2026-01-02 "),
                Some("32.01.2026"),
                Some(""),
                None,
            ],
        )]);
        let step = ParseDate {
            columns: vec!["day".to_owned()],
            formats: vec!["%d.%m.%Y".to_owned(), "%Y-%m-%d".to_owned()],
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.reasons, ["`day` is not a date: \"32.01.2026\""]);
        assert_eq!(
            strings(&out.rows, "day"),
            [
                Some("2025-12-31".into()),
                Some("2026-01-02".into()),
                None,
                None
            ]
        );
        assert_eq!(out.rows.schema().field(0).data_type(), &DataType::Date32);
        assert_eq!(
            parse_day("01/02/2026", "%m/%d/%Y"),
            parse_day("2026-01-02", "%Y-%m-%d")
        );
    }
}
