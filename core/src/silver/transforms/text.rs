//! `trim` (with case normalisation), `null_markers` and `standardize_phone` (E.164).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, StringArray};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;

use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{
    column_index, quote, replace_column, OnError, StepContext, StepOutput, Transform,
    TransformError,
};

/// How `trim` sets a column's case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// As it is.
    #[default]
    Keep,
    /// `lower case`, for emails and codes.
    Lower,
    /// `UPPER CASE`, for plates and licence numbers.
    Upper,
    /// `Title Case`, for names and cities (`o'brien-smith` → `O'Brien-Smith`).
    Title,
}

/// Trims text, collapses inner runs of spaces, and sets the case:
/// `columns: {first_name: title, email: lower, zone: keep}`. A value left empty is
/// null.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trim {
    /// Column → case.
    pub columns: BTreeMap<String, Case>,
}

/// `word` in title case: a capital after every space, hyphen or apostrophe.
fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut capital = true;
    for c in text.chars() {
        if capital {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        capital = matches!(c, ' ' | '-' | '\'' | '’');
    }
    out
}

/// Trims, collapses whitespace runs to one space, and applies `case`.
pub(crate) fn normalize(text: &str, case: Case) -> Option<String> {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return None;
    }
    Some(match case {
        Case::Keep => collapsed,
        Case::Lower => collapsed.to_lowercase(),
        Case::Upper => collapsed.to_uppercase(),
        Case::Title => title_case(&collapsed),
    })
}

fn text_column<'a>(
    batch: &'a RecordBatch,
    column: &str,
) -> Result<(usize, &'a StringArray), TransformError> {
    let index = column_index(batch, column)?;
    let strings = batch
        .column(index)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| TransformError::UnsupportedType {
            column: column.to_owned(),
            data_type: batch.column(index).data_type().clone(),
        })?;
    Ok((index, strings))
}

impl Transform for Trim {
    fn kind(&self) -> &'static str {
        "trim"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.keys())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut batch = input;
        for (column, case) in &self.columns {
            let (index, strings) = text_column(&batch, column)?;
            let normalized: StringArray = strings
                .iter()
                .map(|value| value.and_then(|value| normalize(value, *case)))
                .collect();
            batch = replace_column(&batch, index, Arc::new(normalized))?;
        }
        Ok(StepOutput::pass(batch))
    }
}

/// Turns values that stand for a missing value into nulls before typing:
/// `markers: [NULL, N/A]`, compared trimmed and ignoring case; an empty value is null
/// too. `columns` lists the columns; without it every text column but Bronze's
/// metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullMarkers {
    /// The markers.
    pub markers: Vec<String>,
    /// The columns; `None`: every text column.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

/// Whether `value` is empty or one of `markers` (trimmed, ignoring case).
pub(crate) fn is_null_marker(value: &str, markers: &[String]) -> bool {
    let value = value.trim();
    value.is_empty() || markers.iter().any(|m| m.trim().eq_ignore_ascii_case(value))
}

impl NullMarkers {
    /// The columns the step rewrites in `batch`.
    fn targets(&self, batch: &RecordBatch) -> Vec<String> {
        match &self.columns {
            Some(columns) => columns.clone(),
            None => batch
                .schema()
                .fields()
                .iter()
                .filter(|f| {
                    f.data_type() == &arrow::datatypes::DataType::Utf8
                        && !crate::silver::is_runner_column(f.name())
                })
                .map(|f| f.name().clone())
                .collect(),
        }
    }
}

impl Transform for NullMarkers {
    fn kind(&self) -> &'static str {
        "null_markers"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.iter().flatten())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut batch = input;
        for column in self.targets(&batch) {
            let (index, strings) = text_column(&batch, &column)?;
            let cleaned: StringArray = strings
                .iter()
                .map(|value| value.filter(|value| !is_null_marker(value, &self.markers)))
                .collect();
            batch = replace_column(&batch, index, Arc::new(cleaned))?;
        }
        Ok(StepOutput::pass(batch))
    }
}

/// Standardises phone numbers to E.164 (`+13125550123`): `columns: [phone]`, with the
/// `default_country_code` (1) for national numbers. Spaces, dots, dashes and
/// parentheses are ignored; a number with a leading `+` or `00` is international.
/// Anything that is not a phone number rejects the row (or is null with
/// `on_error: null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardizePhone {
    /// The columns to standardise.
    pub columns: Vec<String>,
    /// The country calling code of national numbers.
    #[serde(default = "default_country_code")]
    pub default_country_code: String,
    /// What a value that is not a phone number does.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_country_code() -> String {
    "1".to_owned()
}

/// `text` in E.164, if it is a phone number. National numbers take `country`; with
/// country code 1 (the North American plan) they have ten digits, or eleven with the
/// leading 1.
pub(crate) fn to_e164(text: &str, country: &str) -> Option<String> {
    let text = text.trim();
    let mut digits = String::with_capacity(16);
    for (position, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if position == 0 => {}
            ' ' | '.' | '-' | '(' | ')' | '/' => {}
            _ => return None,
        }
    }
    let international = if text.starts_with('+') {
        Some(digits.clone())
    } else {
        digits.strip_prefix("00").map(str::to_owned)
    };
    let number = match international {
        Some(number) => number,
        None if country == "1" => match digits.len() {
            10 => format!("1{digits}"),
            11 if digits.starts_with('1') => digits,
            _ => return None,
        },
        None => format!("{country}{}", digits.trim_start_matches('0')),
    };
    (8..=15)
        .contains(&number.len())
        .then(|| format!("+{number}"))
}

impl Transform for StandardizePhone {
    fn kind(&self) -> &'static str {
        "standardize_phone"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        ColumnEffect::rewrites(self.columns.iter())
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for column in &self.columns {
            let (index, strings) = text_column(&batch, column)?;
            let mut out = Vec::with_capacity(strings.len());
            for (row, error) in errors.iter_mut().enumerate() {
                let value = strings.is_valid(row).then(|| strings.value(row));
                match value.filter(|v| !v.trim().is_empty()) {
                    None => out.push(None),
                    Some(value) => {
                        let standard = to_e164(value, &self.default_country_code);
                        if standard.is_none()
                            && self.on_error == OnError::Quarantine
                            && error.is_none()
                        {
                            *error = Some(format!(
                                "`{column}` is not a phone number: {}",
                                quote(value)
                            ));
                        }
                        out.push(standard);
                    }
                }
            }
            batch = replace_column(&batch, index, Arc::new(StringArray::from(out)))?;
        }
        StepOutput::split(batch, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};

    #[test]
    fn trim_sets_case_and_nulls_blanks() {
        let input = test_batch(&[
            (
                "name",
                &[Some("  mary   o'brien-SMITH "), Some("   "), None],
            ),
            (
                "email",
                &[Some(" Karen.Lopez1@YAHOO.com"), None, Some("a@b.c")],
            ),
        ]);
        let step = Trim {
            columns: [
                ("name".to_owned(), Case::Title),
                ("email".to_owned(), Case::Lower),
            ]
            .into(),
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "name"),
            [Some("Mary O'Brien-Smith".into()), None, None]
        );
        assert_eq!(
            strings(&out.rows, "email"),
            [
                Some("karen.lopez1@yahoo.com".into()),
                None,
                Some("a@b.c".into())
            ]
        );
        assert_eq!(
            normalize("new york", Case::Upper).as_deref(),
            Some("NEW YORK")
        );
        assert_eq!(normalize(" x  y ", Case::Keep).as_deref(), Some("x y"));
    }

    #[test]
    fn null_markers_become_null_in_every_text_column_or_the_listed_ones() {
        let input = test_batch(&[
            ("a", &[Some(" null "), Some("N/A"), Some("x"), Some("")]),
            ("b", &[Some("NULL"), None, Some("n/a "), Some("y")]),
            ("_source_file", &[Some("NULL"), None, None, None]),
        ]);
        let markers = vec!["NULL".to_owned(), "N/A".to_owned()];
        let every = NullMarkers {
            markers: markers.clone(),
            columns: None,
        };
        let out = every.apply(input.clone(), &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "a"),
            [None, None, Some("x".into()), None]
        );
        assert_eq!(
            strings(&out.rows, "b"),
            [None, None, None, Some("y".into())]
        );
        assert_eq!(
            strings(&out.rows, "_source_file")[0].as_deref(),
            Some("NULL"),
            "Bronze metadata is left alone"
        );
        let listed = NullMarkers {
            markers,
            columns: Some(vec!["a".to_owned()]),
        };
        let out = listed.apply(input, &StepContext::new()).unwrap();
        assert_eq!(strings(&out.rows, "b")[0].as_deref(), Some("NULL"));
        assert!(out.rows.column(0).is_null(1));
    }

    #[test]
    fn trim_of_a_number_column_is_a_step_error() {
        let input = crate::silver::transforms::int_batch("n", &[Some(1)]);
        let step = Trim {
            columns: [("n".to_owned(), Case::Lower)].into(),
        };
        let err = step.apply(input, &StepContext::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column n is Int64, which this step cannot take"
        );
    }

    #[test]
    fn phones_in_every_sample_shape_become_e164() {
        for (raw, want) in [
            ("+1 917-674-1386", "+19176741386"),
            ("(212) 274-1290", "+12122741290"),
            ("917.527.0681", "+19175270681"),
            ("17735379783", "+17735379783"),
            ("0044 20 7946 0958", "+442079460958"),
            ("+44 (20) 7946-0958", "+442079460958"),
        ] {
            assert_eq!(to_e164(raw, "1").as_deref(), Some(want), "{raw}");
        }
        assert_eq!(
            to_e164("020 7946 0958", "44").as_deref(),
            Some("+442079460958")
        );
        for bad in [
            "12345",
            "call me",
            "27735379783",
            "+1 555 12",
            "1-800-FLOWERS",
        ] {
            assert_eq!(to_e164(bad, "1"), None, "{bad}");
        }
    }

    #[test]
    fn standardize_phone_quarantines_or_nulls_bad_numbers() {
        let input = test_batch(&[("phone", &[Some("(212) 274-1290"), Some("n/a"), None])]);
        let step = StandardizePhone {
            columns: vec!["phone".to_owned()],
            default_country_code: "1".to_owned(),
            on_error: OnError::Quarantine,
        };
        let out = step.apply(input.clone(), &StepContext::new()).unwrap();
        assert_eq!(
            strings(&out.rows, "phone"),
            [Some("+12122741290".into()), None]
        );
        assert_eq!(out.reasons, ["`phone` is not a phone number: \"n/a\""]);

        let lenient = StandardizePhone {
            on_error: OnError::Null,
            ..step
        };
        let out = lenient.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.rows.num_rows(), 3);
        assert!(out.reasons.is_empty());
    }
}
