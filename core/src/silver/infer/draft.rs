//! A [`PipelineDraft`] as a pipeline file: the generated steps, in their fixed order
//! and with their fixed names, written as YAML, and the pipeline it declares.

use std::collections::BTreeSet;

use super::{ColumnType, PipelineDraft};
use crate::silver::{Pipeline, PipelineError};

/// A scalar as YAML writes it: plain where that reads back as the same text, else
/// single-quoted (also inside flow collections, where `,[]{}` would split it).
pub(super) fn scalar(text: &str) -> String {
    let plain = serde_yaml_ng::to_string(text)
        .map(|yaml| yaml.trim_end().to_owned())
        .unwrap_or_default();
    let flow_safe =
        !text.contains([',', '[', ']', '{', '}', '#', '\'', '"']) && !text.contains(": ");
    if plain == text && flow_safe && !text.is_empty() {
        plain
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn flow_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(scalar).collect();
    format!("[{}]", items.join(", "))
}

/// One generated step: its name, transform, what it is for, and its settings' lines.
struct GeneratedStep {
    name: String,
    transform: &'static str,
    description: String,
    settings: Vec<String>,
}

/// `base`, then `base_2`, `base_3`… for the `index`-th step of a kind.
fn numbered(base: &str, index: usize) -> String {
    match index {
        0 => base.to_owned(),
        n => format!("{base}_{}", n + 1),
    }
}

/// The type name `cast` takes for `column_type`, if `cast` types it.
fn cast_type(column_type: &ColumnType) -> Option<&'static str> {
    match column_type {
        ColumnType::Integer => Some("bigint"),
        ColumnType::Boolean => Some("boolean"),
        ColumnType::Date { format } if format == "%Y-%m-%d" => Some("date"),
        _ => None,
    }
}

/// Groups `(key, column)` pairs by key, keys in order of first appearance.
fn grouped<K: PartialEq>(pairs: Vec<(K, String)>) -> Vec<(K, Vec<String>)> {
    let mut groups: Vec<(K, Vec<String>)> = Vec::new();
    for (key, column) in pairs {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, columns)) => columns.push(column),
            None => groups.push((key, vec![column])),
        }
    }
    groups
}

impl PipelineDraft {
    /// The project path of the draft's pipeline file: `silver/<entity>.yml`.
    pub(super) fn file(&self) -> String {
        format!("silver/{}.yml", self.entity)
    }

    /// The Silver columns: every column, a flattened one as its fields.
    pub(super) fn silver_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|column| match &column.column_type {
                ColumnType::Flatten { fields } => fields
                    .iter()
                    .map(|field| format!("{}_{field}", column.name))
                    .collect(),
                _ => vec![column.name.clone()],
            })
            .collect()
    }

    /// The generated steps, in order; steps with nothing to do are left out.
    fn steps(&self) -> Vec<GeneratedStep> {
        let mut steps = vec![GeneratedStep {
            name: "reject_corrupt".to_owned(),
            transform: "validate",
            description: "rows Bronze could not parse go to quarantine".to_owned(),
            settings: vec![
                "rules:".to_owned(),
                "  - {rule: is_null, column: _corrupt_record, message: the record is corrupt}"
                    .to_owned(),
            ],
        }];
        if !self.null_markers.is_empty() {
            steps.push(GeneratedStep {
                name: "null_markers".to_owned(),
                transform: "null_markers",
                description: format!(
                    "{} become null in every text column",
                    self.null_markers.join(", ")
                ),
                settings: vec![format!(
                    "markers: {}",
                    flow_list(self.null_markers.iter().map(String::as_str))
                )],
            });
        }
        let trimmed: Vec<&str> = self
            .columns
            .iter()
            .filter(|column| column.trim)
            .map(|column| column.name.as_str())
            .collect();
        if !trimmed.is_empty() {
            let columns: Vec<String> = trimmed
                .iter()
                .map(|column| format!("{}: keep", scalar(column)))
                .collect();
            steps.push(GeneratedStep {
                name: "trim".to_owned(),
                transform: "trim",
                description: "spaces around values and runs of spaces go".to_owned(),
                settings: vec![format!("columns: {{{}}}", columns.join(", "))],
            });
        }
        let flattened: Vec<String> = self
            .columns
            .iter()
            .filter_map(|column| match &column.column_type {
                ColumnType::Flatten { fields } => Some(format!(
                    "{}: {}",
                    scalar(&column.name),
                    flow_list(fields.iter().map(String::as_str))
                )),
                _ => None,
            })
            .collect();
        if !flattened.is_empty() {
            steps.push(GeneratedStep {
                name: "flatten".to_owned(),
                transform: "flatten",
                description: "JSON objects become one text column per field".to_owned(),
                settings: vec![format!("columns: {{{}}}", flattened.join(", "))],
            });
        }
        let cast: Vec<String> = self
            .columns
            .iter()
            .filter_map(|column| {
                cast_type(&column.column_type).map(|to| format!("{}: {to}", scalar(&column.name)))
            })
            .collect();
        if !cast.is_empty() {
            steps.push(GeneratedStep {
                name: "cast".to_owned(),
                transform: "cast",
                description: "whole numbers, booleans and ISO dates typed".to_owned(),
                settings: vec![format!("columns: {{{}}}", cast.join(", "))],
            });
        }
        let money = grouped(
            self.columns
                .iter()
                .filter_map(|column| match column.column_type {
                    ColumnType::Decimal {
                        precision,
                        scale,
                        decimal_comma,
                    } => Some(((precision, scale, decimal_comma), column.name.clone())),
                    _ => None,
                })
                .collect(),
        );
        for (index, ((precision, scale, decimal_comma), columns)) in money.into_iter().enumerate() {
            let mut settings = vec![
                format!("columns: {}", flow_list(columns.iter().map(String::as_str))),
                format!("precision: {precision}"),
                format!("scale: {scale}"),
            ];
            if decimal_comma {
                settings.push("decimal_comma: true".to_owned());
            }
            steps.push(GeneratedStep {
                name: numbered("parse_money", index),
                transform: "parse_money",
                description: format!(
                    "decimal({precision},{scale}){}",
                    if decimal_comma {
                        " from decimal commas"
                    } else {
                        ""
                    }
                ),
                settings,
            });
        }
        let dates = grouped(
            self.columns
                .iter()
                .filter_map(|column| match &column.column_type {
                    ColumnType::Date { format } if cast_type(&column.column_type).is_none() => {
                        Some((format.clone(), column.name.clone()))
                    }
                    _ => None,
                })
                .collect(),
        );
        for (index, (format, columns)) in dates.into_iter().enumerate() {
            steps.push(GeneratedStep {
                name: numbered("parse_dates", index),
                transform: "parse_date",
                description: format!("dates written {format}"),
                settings: vec![
                    format!("columns: {}", flow_list(columns.iter().map(String::as_str))),
                    format!("formats: [{}]", scalar(&format)),
                ],
            });
        }
        let instants = grouped(
            self.columns
                .iter()
                .filter_map(|column| match &column.column_type {
                    ColumnType::Timestamp { format, timezone } => {
                        Some(((format.clone(), timezone.clone()), column.name.clone()))
                    }
                    _ => None,
                })
                .collect(),
        );
        for (index, ((format, timezone), columns)) in instants.into_iter().enumerate() {
            steps.push(GeneratedStep {
                name: numbered("parse_timestamp", index),
                transform: "parse_timestamp",
                description: match format.as_str() {
                    "iso8601" => "ISO-8601 instants, into UTC".to_owned(),
                    "epoch_seconds" => "seconds since 1970, into UTC".to_owned(),
                    "epoch_millis" => "milliseconds since 1970, into UTC".to_owned(),
                    format => format!("instants written {format}, read as {timezone}"),
                },
                settings: vec![
                    format!("columns: {}", flow_list(columns.iter().map(String::as_str))),
                    format!("formats: [{}]", scalar(&format)),
                    format!("timezone: {}", scalar(&timezone)),
                ],
            });
        }
        if let Some(key) = &self.key {
            steps.push(GeneratedStep {
                name: "check".to_owned(),
                transform: "validate",
                description: format!("a row without {key} goes to quarantine"),
                settings: vec![
                    "rules:".to_owned(),
                    format!("  - {{rule: not_null, column: {}}}", scalar(key)),
                ],
            });
            let mut settings = vec![format!("key: {}", scalar(key))];
            let description = match &self.sequence_by {
                Some(order) => {
                    settings.push(format!("order_by: {}", scalar(order)));
                    format!("one row per {key}: the greatest {order}")
                }
                None => format!("one row per {key}: the last arrival"),
            };
            steps.push(GeneratedStep {
                name: "dedupe".to_owned(),
                transform: "dedupe",
                description,
                settings,
            });
        }
        let columns = self.silver_columns();
        steps.push(GeneratedStep {
            name: "select".to_owned(),
            transform: "select",
            description: "the Silver columns, in order".to_owned(),
            settings: vec![format!(
                "columns: {}",
                flow_list(columns.iter().map(String::as_str))
            )],
        });
        steps
    }

    /// The pipeline file's text.
    pub(super) fn yaml(&self) -> String {
        let table = format!("bronze/{}", self.entity);
        let mut out = format!(
            "# Silver pipeline for {entity}, inferred by medallion from a sample of {table}.\n\
             # Review it and edit it freely: every run reads it afresh.\n\
             description: {description}\n",
            entity = self.entity,
            description = scalar(&format!(
                "{} from {table}, with the types inferred from its rows",
                self.entity
            )),
        );
        match &self.key {
            Some(key) => out.push_str(&format!("key: {}\n", scalar(key))),
            None => out.push_str("# No business key: Silver appends every row.\nkey: []\n"),
        }
        if let Some(order) = &self.sequence_by {
            out.push_str(&format!("sequence_by: {}\n", scalar(order)));
        }
        out.push_str("steps:\n");
        for step in self.steps() {
            out.push_str(&format!("  - name: {}\n", step.name));
            out.push_str(&format!("    transform: {}\n", step.transform));
            out.push_str(&format!("    description: {}\n", scalar(&step.description)));
            if self.disabled_steps.contains(&step.name) {
                out.push_str("    enabled: false\n");
            }
            for line in step.settings {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out
    }

    /// The draft's problems that a pipeline file would not catch, or parsing its YAML.
    pub(super) fn checked_pipeline(&self) -> Result<Pipeline, PipelineError> {
        let file = self.file();
        let error = |detail: String| PipelineError {
            file: file.clone(),
            step: None,
            detail,
        };
        let valid_entity = !self.entity.is_empty()
            && self
                .entity
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_entity {
            return Err(error(format!(
                "{:?} is not an entity name (lower-case letters, digits and _)",
                self.entity
            )));
        }
        if self.columns.is_empty() {
            return Err(error("the pipeline keeps no column".to_owned()));
        }
        let mut seen = BTreeSet::new();
        for column in self.silver_columns() {
            if !seen.insert(column.clone()) {
                return Err(error(format!("two Silver columns are named {column}")));
            }
        }
        let column = |name: &str| self.columns.iter().find(|column| column.name == name);
        if let Some(key) = &self.key {
            match column(key).map(|column| &column.column_type) {
                None => {
                    return Err(error(format!(
                        "the key {key} is not a column of the pipeline"
                    )))
                }
                Some(ColumnType::Flatten { .. } | ColumnType::Json) => {
                    return Err(error(format!(
                        "the key {key} is JSON; a key is a value (text, a number, a date)"
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(order) = &self.sequence_by {
            if self.key.is_none() {
                return Err(error(format!(
                    "sequence_by {order} needs a business key (without one Silver appends \
                     every row)"
                )));
            }
            match column(order).map(|column| &column.column_type) {
                Some(ColumnType::Timestamp { .. }) => {}
                Some(other) => {
                    return Err(error(format!(
                        "sequence_by {order} is {}; it must be a timestamp",
                        other.label()
                    )))
                }
                None => {
                    return Err(error(format!(
                        "sequence_by {order} is not a column of the pipeline"
                    )))
                }
            }
        }
        Pipeline::parse(&file, &self.yaml())
    }
}
