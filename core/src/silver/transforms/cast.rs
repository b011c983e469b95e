//! `cast` and `parse_money`: typing text values, capturing the ones that do not fit.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Decimal128Array, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::Deserialize;

use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{
    column_index, replace_column, type_label, OnError, StepContext, StepOutput, Transform,
    TransformError, TypeName, ValueText,
};

/// Casts columns to types: `columns: {trip_id: bigint, signup_date: date}`. Text is
/// trimmed first and an empty value is null; a value that does not fit rejects the
/// row (or becomes null with `on_error: null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cast {
    /// Column → type.
    pub columns: BTreeMap<String, TypeName>,
    /// What a value that does not fit does.
    #[serde(default)]
    pub on_error: OnError,
}

/// Trimmed text with empty values as null; other arrays as they are.
pub(crate) fn blank_as_null(array: &ArrayRef) -> ArrayRef {
    match array.as_any().downcast_ref::<StringArray>() {
        Some(strings) => Arc::new(
            strings
                .iter()
                .map(|value| value.map(str::trim).filter(|value| !value.is_empty()))
                .collect::<StringArray>(),
        ),
        None => array.clone(),
    }
}

impl Transform for Cast {
    fn kind(&self) -> &'static str {
        "cast"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.keys())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for (column, TypeName(to)) in &self.columns {
            let index = column_index(&batch, column)?;
            let source = blank_as_null(batch.column(index));
            let cast = cast_with_options(
                &source,
                to,
                &CastOptions {
                    safe: true,
                    format_options: FormatOptions::default(),
                },
            )
            .map_err(|_| TransformError::UnsupportedType {
                column: column.clone(),
                data_type: source.data_type().clone(),
            })?;
            if self.on_error == OnError::Quarantine {
                let text = ValueText::new(batch.column(index).as_ref())?;
                for (row, error) in errors.iter_mut().enumerate() {
                    if source.is_valid(row) && cast.is_null(row) && error.is_none() {
                        *error = Some(format!(
                            "`{column}` is not a {}: {}",
                            type_label(to),
                            text.quoted(row)
                        ));
                    }
                }
            }
            batch = replace_column(&batch, index, cast)?;
        }
        StepOutput::split(batch, errors)
    }
}

/// Parses money into a decimal: `columns: [fare_amount]`, with `precision` (12) and
/// `scale` (2). Text may carry a currency sign, thousands separators or accounting
/// parentheses (`$1,234.50`, `(12.00)`); numbers are rounded half away from zero to
/// the scale. With `decimal_comma: true` the comma is the decimal separator and the
/// point (or a space) groups thousands, as in European exports (`1.234,50` is
/// 1234.50). Anything else rejects the row (or is null with `on_error: null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseMoney {
    /// The columns to parse.
    pub columns: Vec<String>,
    /// Total digits.
    #[serde(default = "default_precision")]
    pub precision: u8,
    /// Digits after the point.
    #[serde(default = "default_scale")]
    pub scale: i8,
    /// Whether text writes the decimal separator as a comma (`12,50`).
    #[serde(default)]
    pub decimal_comma: bool,
    /// What a value that is not money does.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_precision() -> u8 {
    12
}

fn default_scale() -> i8 {
    2
}

/// `text` as a decimal with `scale` digits after the point (unscaled), if it is one;
/// with `decimal_comma` the comma separates the decimals and points group thousands.
pub(crate) fn parse_decimal(text: &str, scale: u32, decimal_comma: bool) -> Option<i128> {
    let mut text = text.trim();
    let mut negative = false;
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        negative = true;
        text = inner.trim();
    }
    let (grouping, decimal) = if decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '$' | '€' | '£' | '¥' | '_' | ' ' | '\u{a0}') && *c != grouping)
        .map(|c| if c == decimal { '.' } else { c })
        .collect();
    let mut digits = cleaned.as_str();
    if let Some(rest) = digits.strip_prefix('-') {
        negative = !negative;
        digits = rest;
    } else if let Some(rest) = digits.strip_prefix('+') {
        digits = rest;
    }
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let mut value: i128 = 0;
    for byte in whole.bytes() {
        value = value
            .checked_mul(10)?
            .checked_add(i128::from(byte - b'0'))?;
    }
    let fraction = fraction.as_bytes();
    for position in 0..scale as usize {
        let digit = fraction.get(position).map_or(0, |b| i128::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(digit)?;
    }
    if fraction.get(scale as usize).is_some_and(|b| *b >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(if negative { -value } else { value })
}

impl Transform for ParseMoney {
    fn kind(&self) -> &'static str {
        "parse_money"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.iter())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let limit = 10i128
            .checked_pow(u32::from(self.precision))
            .unwrap_or(i128::MAX);
        let scale = self.scale.max(0) as u32;
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for column in &self.columns {
            let index = column_index(&batch, column)?;
            let source = batch.column(index).clone();
            let numeric = source.data_type().is_numeric();
            if !numeric && !matches!(source.data_type(), DataType::Utf8) {
                return Err(TransformError::UnsupportedType {
                    column: column.clone(),
                    data_type: source.data_type().clone(),
                });
            }
            let formatter = ArrayFormatter::try_new(source.as_ref(), &FormatOptions::default())?;
            let mut values: Vec<Option<i128>> = Vec::with_capacity(source.len());
            for (row, error) in errors.iter_mut().enumerate() {
                if source.is_null(row) {
                    values.push(None);
                    continue;
                }
                let text = formatter.value(row).to_string();
                if text.trim().is_empty() {
                    values.push(None);
                    continue;
                }
                let parsed = parse_decimal(&text, scale, self.decimal_comma && !numeric)
                    .filter(|value| value.abs() < limit);
                if parsed.is_none() && self.on_error == OnError::Quarantine && error.is_none() {
                    *error = Some(format!(
                        "`{column}` is not a number: {}",
                        crate::silver::transform::quote(&text)
                    ));
                }
                values.push(parsed);
            }
            let array = Decimal128Array::from(values)
                .with_precision_and_scale(self.precision, self.scale)?;
            batch = replace_column(&batch, index, Arc::new(array))?;
        }
        StepOutput::split(batch, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};
    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{Field, Schema};

    #[test]
    fn cast_types_text_and_quarantines_what_does_not_fit() {
        let input = test_batch(&[
            ("id", &[Some(" 7 "), Some(""), None, Some("x1")]),
            ("ok", &[Some("true"), Some("false"), None, Some("true")]),
        ]);
        let step = Cast {
            columns: [
                ("id".to_owned(), TypeName(DataType::Int64)),
                ("ok".to_owned(), TypeName(DataType::Boolean)),
            ]
            .into(),
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input.clone(), &StepContext::new()).unwrap();
        assert_eq!(
            out.rows.num_rows(),
            3,
            "blank and null are null, not errors"
        );
        let ids = out
            .rows
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.iter().collect::<Vec<_>>(), [Some(7), None, None]);
        assert_eq!(out.reasons, ["`id` is not a bigint: \"x1\""]);
        assert_eq!(out.rejected.num_rows(), 1);

        let lenient = Cast {
            on_error: OnError::Null,
            ..step
        };
        let out = lenient.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.rows.num_rows(), 4);
        assert!(out.rows.column(0).is_null(3));
    }

    #[test]
    fn cast_of_a_type_arrow_cannot_convert_is_a_step_error() {
        let input = test_batch(&[("d", &[Some("2026-01-01")])]);
        let to_date = Cast {
            columns: [("d".to_owned(), TypeName(DataType::Date32))].into(),
            on_error: OnError::Quarantine,
        };
        let dates = to_date.apply(input, &StepContext::new()).unwrap().rows;
        let back = Cast {
            columns: [("d".to_owned(), TypeName(DataType::Decimal128(10, 2)))].into(),
            on_error: OnError::Quarantine,
        };
        let err = back.apply(dates, &StepContext::new()).unwrap_err();
        assert!(err.to_string().contains("column d is Date32"), "{err}");
    }

    #[test]
    fn parse_decimal_handles_signs_separators_and_rounding() {
        assert_eq!(parse_decimal("12.5", 2, false), Some(1250));
        assert_eq!(parse_decimal(" $1,234.567 ", 2, false), Some(123457));
        assert_eq!(parse_decimal("(3.10)", 2, false), Some(-310));
        assert_eq!(parse_decimal("-0.004", 2, false), Some(0));
        assert_eq!(parse_decimal("-0.005", 2, false), Some(-1));
        assert_eq!(parse_decimal("7", 2, false), Some(700));
        assert_eq!(parse_decimal(".5", 2, false), Some(50));
        for bad in ["N/A", "", ".", "1.2.3", "12a", "--1", "1e3"] {
            assert_eq!(parse_decimal(bad, 2, false), None, "{bad}");
        }
    }

    #[test]
    fn parse_money_takes_text_and_floats_and_rejects_the_rest() {
        let input = test_batch(&[("fare", &[Some("$10.255"), Some("N/A"), None, Some(" ")])]);
        let step = ParseMoney {
            columns: vec!["fare".to_owned()],
            precision: 12,
            scale: 2,
            decimal_comma: false,
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.reasons, ["`fare` is not a number: \"N/A\""]);
        assert_eq!(
            strings(&out.rows, "fare"),
            [Some("10.26".into()), None, None]
        );

        let floats = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "fare",
                DataType::Float64,
                true,
            )])),
            vec![Arc::new(Float64Array::from(vec![
                Some(49.44),
                Some(0.1 + 0.2),
                None,
            ]))],
        )
        .unwrap();
        let out = step.apply(floats, &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "fare"),
            [Some("49.44".into()), Some("0.30".into()), None]
        );

        let too_big = test_batch(&[("fare", &[Some("12345678901.00")])]);
        let out = step.apply(too_big, &StepContext::new()).unwrap();
        assert_eq!(out.rejected.num_rows(), 1, "over precision 12");
    }

    #[test]
    fn decimal_commas_read_european_amounts() {
        assert_eq!(parse_decimal("1.234,50", 2, true), Some(123450));
        assert_eq!(parse_decimal("12,5", 2, true), Some(1250));
        assert_eq!(parse_decimal("-0,99 €", 2, true), Some(-99));
        assert_eq!(parse_decimal("1 234,50", 2, true), Some(123450));
        assert_eq!(parse_decimal("12,50", 2, false), Some(125000));
        assert_eq!(parse_decimal("1,2,3", 2, true), None);
        let input = test_batch(&[("betrag", &[Some("1.234,50"), Some("7,25"), Some("x")])]);
        let step = ParseMoney {
            columns: vec!["betrag".to_owned()],
            precision: 10,
            scale: 2,
            decimal_comma: true,
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "betrag"),
            [Some("1234.50".into()), Some("7.25".into())]
        );
        assert_eq!(out.reasons, ["`betrag` is not a number: \"x\""]);
    }
}
