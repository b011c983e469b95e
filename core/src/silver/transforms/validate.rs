//! `validate`: data-quality rules; rows that fail go to quarantine with the reason.

use std::collections::BTreeSet;

use arrow::array::{Array, Float64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use regex::Regex;
use serde::Deserialize;

use super::enrich::match_rows;
use crate::silver::transform::{
    column_index, quote, KeyMatch, Lookup, StepContext, StepOutput, Transform, TransformError,
    ValueText,
};

/// What a failed rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row goes to quarantine.
    #[default]
    Error,
    /// The row goes on; the run reports how many rows failed.
    Warn,
}

/// What a rule checks.
#[derive(Debug, Clone)]
pub enum Check {
    /// The value is present.
    NotNull,
    /// The value is absent (`_corrupt_record` of a well-formed row).
    IsNull,
    /// A number within `[min, max]` (either bound may be left out).
    Range {
        /// The lowest value allowed.
        min: Option<f64>,
        /// The highest value allowed.
        max: Option<f64>,
    },
    /// Text matching a regular expression.
    Regex(Regex),
    /// One of a list of values, compared as text.
    AcceptedValues(Vec<String>),
    /// Present in `key` of the lookup table `table`.
    ForeignKey {
        /// The lookup table's path in the store.
        table: String,
        /// Its key column.
        key: String,
    },
}

/// One rule on one column. Nulls pass every check but `not_null`, as in SQL.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RuleSpec")]
pub struct Rule {
    /// The column checked.
    pub column: String,
    /// The check.
    pub check: Check,
    /// Quarantine (`error`) or report (`warn`).
    pub severity: Severity,
    /// A reason to show instead of the default one.
    pub message: Option<String>,
}

/// A scalar in a YAML list, compared as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Int(value) => value.to_string(),
            Scalar::Float(value) => value.to_string(),
            Scalar::Bool(value) => value.to_string(),
        }
    }
}

/// A rule as written: `{rule: range, column: rating, min: 1, max: 5}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    rule: String,
    column: String,
    #[serde(default)]
    severity: Severity,
    message: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    values: Option<Vec<Scalar>>,
    table: Option<String>,
    key: Option<String>,
}

impl TryFrom<RuleSpec> for Rule {
    type Error = String;

    fn try_from(spec: RuleSpec) -> Result<Self, String> {
        let given: Vec<&str> = [
            ("min", spec.min.is_some()),
            ("max", spec.max.is_some()),
            ("pattern", spec.pattern.is_some()),
            ("values", spec.values.is_some()),
            ("table", spec.table.is_some()),
            ("key", spec.key.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let allowed: &[&str] = match spec.rule.as_str() {
            "not_null" | "is_null" => &[],
            "range" => &["min", "max"],
            "regex" => &["pattern"],
            "accepted_values" => &["values"],
            "foreign_key" => &["table", "key"],
            other => {
                return Err(format!(
                    "unknown rule {other:?} (use not_null, is_null, range, regex, \
                     accepted_values or foreign_key)"
                ))
            }
        };
        if let Some(extra) = given.iter().find(|name| !allowed.contains(name)) {
            return Err(format!("rule {} does not take {extra}", spec.rule));
        }
        let check = match spec.rule.as_str() {
            "not_null" => Check::NotNull,
            "is_null" => Check::IsNull,
            "range" if spec.min.is_none() && spec.max.is_none() => {
                return Err("rule range needs min, max or both".to_owned())
            }
            "range" => Check::Range {
                min: spec.min,
                max: spec.max,
            },
            "regex" => {
                let pattern = spec.pattern.ok_or("rule regex needs a pattern")?;
                Check::Regex(
                    Regex::new(&pattern).map_err(|err| format!("pattern {pattern:?}: {err}"))?,
                )
            }
            "accepted_values" => Check::AcceptedValues(
                spec.values
                    .ok_or("rule accepted_values needs values")?
                    .into_iter()
                    .map(Scalar::into_text)
                    .collect(),
            ),
            _ => Check::ForeignKey {
                table: spec.table.ok_or("rule foreign_key needs a table")?,
                key: spec.key.ok_or("rule foreign_key needs a key")?,
            },
        };
        Ok(Rule {
            column: spec.column,
            check,
            severity: spec.severity,
            message: spec.message,
        })
    }
}

/// Checks rules, in order: `rules: [{rule: not_null, column: trip_id}, …]`. A row that
/// fails an `error` rule goes to quarantine with every reason; `warn` rules only count.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validate {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Rule {
    fn name(&self) -> &'static str {
        match self.check {
            Check::NotNull => "not_null",
            Check::IsNull => "is_null",
            Check::Range { .. } => "range",
            Check::Regex(_) => "regex",
            Check::AcceptedValues(_) => "accepted_values",
            Check::ForeignKey { .. } => "foreign_key",
        }
    }

    /// The reason for each failing row (`None` where the row passes).
    fn failures(
        &self,
        batch: &RecordBatch,
        context: &StepContext,
    ) -> Result<Vec<Option<String>>, TransformError> {
        let column = &self.column;
        let values = batch.column(column_index(batch, column)?);
        let text = ValueText::new(values.as_ref())?;
        let unsupported = || TransformError::UnsupportedType {
            column: column.clone(),
            data_type: values.data_type().clone(),
        };
        let rows = 0..batch.num_rows();
        let failed: Vec<bool> = match &self.check {
            Check::NotNull => rows.map(|row| values.is_null(row)).collect(),
            Check::IsNull => rows.map(|row| values.is_valid(row)).collect(),
            Check::Range { min, max } => {
                if !values.data_type().is_numeric() {
                    return Err(unsupported());
                }
                let numbers = cast(values, &DataType::Float64)?;
                let numbers = numbers
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(unsupported)?;
                rows.map(|row| {
                    numbers.is_valid(row) && {
                        let value = numbers.value(row);
                        min.is_some_and(|min| value < min) || max.is_some_and(|max| value > max)
                    }
                })
                .collect()
            }
            Check::Regex(pattern) => {
                let strings = values
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(unsupported)?;
                rows.map(|row| strings.is_valid(row) && !pattern.is_match(strings.value(row)))
                    .collect()
            }
            Check::AcceptedValues(accepted) => {
                let accepted: BTreeSet<&str> = accepted.iter().map(String::as_str).collect();
                let formatter = arrow::util::display::ArrayFormatter::try_new(
                    values.as_ref(),
                    &Default::default(),
                )?;
                rows.map(|row| {
                    values.is_valid(row)
                        && !accepted.contains(formatter.value(row).to_string().as_str())
                })
                .collect()
            }
            Check::ForeignKey { table, key } => {
                let lookup = context.lookup(table)?;
                let keys = lookup.column(column_index(lookup, key)?);
                let matches = match_rows(keys, values, column)?;
                rows.map(|row| values.is_valid(row) && matches.is_null(row))
                    .collect()
            }
        };
        Ok(failed
            .into_iter()
            .enumerate()
            .map(|(row, failed)| failed.then(|| self.reason(&text, row)))
            .collect())
    }

    fn reason(&self, text: &ValueText<'_>, row: usize) -> String {
        let column = &self.column;
        let value = text.quoted(row);
        if let Some(message) = &self.message {
            return match self.check {
                Check::NotNull => format!("{message} (not_null on {column})"),
                _ => format!("{message} ({} on {column}: {value})", self.name()),
            };
        }
        match &self.check {
            Check::NotNull => format!("`{column}` is null"),
            Check::IsNull => format!("`{column}` must be null, not {value}"),
            Check::Range { min, max } => {
                let bound = |b: &Option<f64>| b.map_or("…".to_owned(), |b| b.to_string());
                format!(
                    "`{column}` {value} is outside [{}, {}]",
                    bound(min),
                    bound(max)
                )
            }
            Check::Regex(pattern) => {
                format!(
                    "`{column}` {value} does not match {}",
                    quote(pattern.as_str())
                )
            }
            Check::AcceptedValues(accepted) => {
                format!("`{column}` {value} is not one of {}", accepted.join(", "))
            }
            Check::ForeignKey { table, key } => {
                format!("`{column}` {value} is not in {table}.{key}")
            }
        }
    }
}

impl Transform for Validate {
    fn kind(&self) -> &'static str {
        "validate"
    }

    fn lookups(&self) -> Vec<Lookup> {
        self.rules
            .iter()
            .filter_map(|rule| match &rule.check {
                Check::ForeignKey { table, key } => Some(Lookup {
                    table: table.clone(),
                    columns: vec![key.clone()],
                    matching: Some(KeyMatch {
                        column: rule.column.clone(),
                        key: key.clone(),
                    }),
                }),
                _ => None,
            })
            .collect()
    }

    fn apply(
        &self,
        input: RecordBatch,
        context: &StepContext,
    ) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut warnings = Vec::new();
        for rule in &self.rules {
            let failures = rule.failures(&input, context)?;
            match rule.severity {
                Severity::Error => {
                    for (error, failure) in errors.iter_mut().zip(failures) {
                        if let Some(failure) = failure {
                            match error {
                                Some(reasons) => {
                                    reasons.push_str("; ");
                                    reasons.push_str(&failure);
                                }
                                None => *error = Some(failure),
                            }
                        }
                    }
                }
                Severity::Warn => {
                    let mut failing = failures.into_iter().flatten();
                    if let Some(first) = failing.next() {
                        let count = 1 + failing.count();
                        let rows = if count == 1 { "row" } else { "rows" };
                        warnings.push(format!("{count} {rows} (warn): {first}"));
                    }
                }
            }
        }
        Ok(StepOutput::split(input, errors)?.with_warnings(warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{int_batch, test_batch};

    fn rules(yaml: &str) -> Validate {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn each_rule_quarantines_with_its_reason_and_nulls_pass() {
        let input = test_batch(&[
            ("id", &[Some("1"), None, Some("3"), Some("4"), Some("5")]),
            (
                "status",
                &[
                    Some("completed"),
                    Some("completed"),
                    Some("lost"),
                    None,
                    Some("cancelled"),
                ],
            ),
            (
                "email",
                &[
                    Some("a@b.io"),
                    Some("a@b.io"),
                    Some("a@b.io"),
                    Some("nope"),
                    None,
                ],
            ),
            ("_corrupt_record", &[None, None, None, None, Some("5,cut")]),
        ]);
        let step = rules(
            r#"
rules:
  - {rule: is_null, column: _corrupt_record, message: the record is corrupt}
  - {rule: not_null, column: id}
  - {rule: accepted_values, column: status, values: [completed, cancelled]}
  - {rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$'}
"#,
        );
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.rows.num_rows(), 1);
        assert_eq!(
            out.reasons,
            [
                "`id` is null",
                "`status` \"lost\" is not one of completed, cancelled",
                "`email` \"nope\" does not match \"^[^@\\\\s]+@[^@\\\\s]+\\\\.[a-z]+$\"",
                "the record is corrupt (is_null on _corrupt_record: \"5,cut\")",
            ]
        );
    }

    #[test]
    fn range_checks_numbers_and_reasons_join() {
        let input = int_batch("rating", &[Some(1), Some(0), Some(6), None]);
        let step = rules(
            "rules:\n  - {rule: range, column: rating, min: 1, max: 5}\n  - {rule: range, column: rating, max: 0}\n",
        );
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(
            out.reasons,
            [
                "`rating` 1 is outside […, 0]",
                "`rating` 0 is outside [1, 5]",
                "`rating` 6 is outside [1, 5]; `rating` 6 is outside […, 0]",
            ]
        );
        assert_eq!(out.rows.num_rows(), 1, "the null passes");
    }

    #[test]
    fn foreign_keys_quarantine_or_warn() {
        let trips = int_batch("trip_id", &[Some(1), Some(99999), None]);
        let known = int_batch("trip_id", &[Some(1), Some(2)]);
        let context = StepContext::new().with_lookup("silver/trips", known);
        let strict = rules(
            "rules:\n  - {rule: foreign_key, column: trip_id, table: silver/trips, key: trip_id}\n",
        );
        assert_eq!(
            strict.lookups(),
            [Lookup {
                table: "silver/trips".to_owned(),
                columns: vec!["trip_id".to_owned()],
                matching: Some(KeyMatch {
                    column: "trip_id".to_owned(),
                    key: "trip_id".to_owned()
                }),
            }]
        );
        let out = strict.apply(trips.clone(), &context).unwrap();
        assert_eq!(
            out.reasons,
            ["`trip_id` 99999 is not in silver/trips.trip_id"]
        );

        let warn = rules(
            "rules:\n  - {rule: foreign_key, column: trip_id, table: silver/trips, key: trip_id, severity: warn}\n",
        );
        let out = warn.apply(trips, &context).unwrap();
        assert_eq!(out.rows.num_rows(), 3);
        assert_eq!(
            out.warnings,
            ["1 row (warn): `trip_id` 99999 is not in silver/trips.trip_id"]
        );
    }

    #[test]
    fn bad_rules_are_refused_when_read() {
        for (yaml, want) in [
            ("{rule: nope, column: a}", "unknown rule \"nope\""),
            (
                "{rule: range, column: a}",
                "rule range needs min, max or both",
            ),
            (
                "{rule: not_null, column: a, pattern: x}",
                "rule not_null does not take pattern",
            ),
            ("{rule: regex, column: a, pattern: '('}", "pattern \"(\""),
            (
                "{rule: not_null, column: a, colour: red}",
                "unknown field `colour`",
            ),
        ] {
            let err = serde_yaml_ng::from_str::<Rule>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn range_on_text_is_a_step_error() {
        let input = test_batch(&[("a", &[Some("1")])]);
        let step = rules("rules:\n  - {rule: range, column: a, min: 0}\n");
        assert!(step.apply(input, &StepContext::new()).is_err());
    }
}
