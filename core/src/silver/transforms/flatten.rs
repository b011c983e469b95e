//! `flatten`: a JSON object column into one text column per field.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_json::Value;

use crate::silver::transform::{
    column_index, quote, ColumnEffect, StepContext, StepOutput, Transform, TransformError,
};

/// Flattens JSON objects one level: `columns: {pickup: [lat, lon]}` replaces `pickup`
/// by the text columns `pickup_lat` and `pickup_lon` (joined by `separator`, `_`), in
/// its place. A field's text is a string's content or any other value's JSON text
/// (nested objects and arrays stay JSON); a missing field or `null` is null, and so
/// are all the fields of a null or empty value. Fields not listed are dropped. A value
/// that is not a JSON object rejects the row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flatten {
    /// Column → the fields to keep, in order.
    pub columns: BTreeMap<String, Vec<String>>,
    /// What joins the column's and the field's names.
    #[serde(default = "default_separator")]
    pub separator: String,
}

fn default_separator() -> String {
    "_".to_owned()
}

/// A JSON value as a field's text: a string's content, null as null, anything else
/// as its JSON text.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

impl Flatten {
    fn name(&self, column: &str, field: &str) -> String {
        format!("{column}{}{field}", self.separator)
    }
}

impl Transform for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        self.columns
            .iter()
            .flat_map(|(column, fields)| {
                fields.iter().map(|field| ColumnEffect::Derives {
                    column: self.name(column, field),
                    inputs: vec![column.clone()],
                })
            })
            .collect()
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut errors: Vec<Option<String>> = vec![None; input.num_rows()];
        let mut batch = input;
        for (column, fields) in &self.columns {
            let index = column_index(&batch, column)?;
            let source = batch.column(index);
            let strings = source
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| TransformError::UnsupportedType {
                    column: column.clone(),
                    data_type: source.data_type().clone(),
                })?;
            let mut values: Vec<Vec<Option<String>>> =
                vec![Vec::with_capacity(strings.len()); fields.len()];
            for (row, error) in errors.iter_mut().enumerate() {
                let text = strings.is_valid(row).then(|| strings.value(row));
                let object = match text.filter(|text| !text.trim().is_empty()) {
                    None => None,
                    Some(text) => match serde_json::from_str::<Value>(text) {
                        Ok(Value::Object(object)) => Some(object),
                        _ => {
                            if error.is_none() {
                                *error = Some(format!(
                                    "`{column}` is not a JSON object: {}",
                                    quote(text)
                                ));
                            }
                            None
                        }
                    },
                };
                for (field, out) in fields.iter().zip(values.iter_mut()) {
                    out.push(
                        object
                            .as_ref()
                            .and_then(|object| object.get(field))
                            .and_then(field_text),
                    );
                }
            }
            let schema = batch.schema();
            let mut new_fields: Vec<Field> = Vec::new();
            let mut new_columns: Vec<ArrayRef> = Vec::new();
            for (position, field) in schema.fields().iter().enumerate() {
                if position != index {
                    new_fields.push(field.as_ref().clone());
                    new_columns.push(batch.column(position).clone());
                    continue;
                }
                for (name, out) in fields.iter().zip(values.drain(..)) {
                    new_fields.push(Field::new(self.name(column, name), DataType::Utf8, true));
                    new_columns.push(Arc::new(StringArray::from(out)));
                }
            }
            batch = RecordBatch::try_new(Arc::new(Schema::new(new_fields)), new_columns)?;
        }
        StepOutput::split(batch, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};

    #[test]
    fn flatten_replaces_an_object_by_its_fields_and_rejects_the_rest() {
        let input = test_batch(&[
            ("id", &[Some("1"), Some("2"), Some("3"), Some("4")]),
            (
                "pickup",
                &[
                    Some(r#"{"lat": 40.7, "lon": -73.9, "zone": {"id": 7}}"#),
                    Some(r#"{"lat": "40.8", "zone": null}"#),
                    Some("[1, 2]"),
                    None,
                ],
            ),
            ("fare", &[Some("1"), Some("2"), Some("3"), Some("4")]),
        ]);
        let step = Flatten {
            columns: [(
                "pickup".to_owned(),
                vec!["lat".to_owned(), "lon".to_owned(), "zone".to_owned()],
            )]
            .into(),
            separator: default_separator(),
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        let names: Vec<_> = out
            .rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["id", "pickup_lat", "pickup_lon", "pickup_zone", "fare"]
        );
        assert_eq!(
            strings(&out.rows, "pickup_lat"),
            [Some("40.7".into()), Some("40.8".into()), None]
        );
        assert_eq!(
            strings(&out.rows, "pickup_lon"),
            [Some("-73.9".into()), None, None]
        );
        assert_eq!(
            strings(&out.rows, "pickup_zone"),
            [Some(r#"{"id":7}"#.into()), None, None]
        );
        assert_eq!(out.reasons, ["`pickup` is not a JSON object: \"[1, 2]\""]);
        assert_eq!(
            step.column_effects()[0],
            ColumnEffect::Derives {
                column: "pickup_lat".to_owned(),
                inputs: vec!["pickup".to_owned()]
            }
        );
    }
}
