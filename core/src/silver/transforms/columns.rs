//! `rename` and `select`: shaping the columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;

use crate::silver::is_runner_column;
use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{column_index, StepContext, StepOutput, Transform, TransformError};

/// Renames columns: `columns: {old_name: new_name}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// Old name → new name.
    pub columns: BTreeMap<String, String>,
}

impl Transform for Rename {
    fn kind(&self) -> &'static str {
        "rename"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        self.columns
            .iter()
            .map(|(from, to)| ColumnEffect::Renames {
                from: from.clone(),
                to: to.clone(),
            })
            .collect()
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let schema = input.schema();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        for (old, new) in &self.columns {
            let index = column_index(&input, old)?;
            fields[index] = fields[index].clone().with_name(new);
        }
        let renamed =
            RecordBatch::try_new(Arc::new(Schema::new(fields)), input.columns().to_vec())?;
        Ok(StepOutput::pass(renamed))
    }
}

/// Keeps the listed columns, in this order (and the Bronze metadata, which the runner
/// drops at the end): `columns: [a, b, c]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// The columns to keep, in order.
    pub columns: Vec<String>,
}

impl Transform for Select {
    fn kind(&self) -> &'static str {
        "select"
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let mut indices = self
            .columns
            .iter()
            .map(|column| column_index(&input, column))
            .collect::<Result<Vec<_>, _>>()?;
        indices.extend(
            input
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, field)| is_runner_column(field.name()))
                .map(|(index, _)| index),
        );
        Ok(StepOutput::pass(input.project(&indices)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::test_batch;

    #[test]
    fn rename_renames_and_names_a_missing_column() {
        let input = test_batch(&[("a", &[Some("1"), None]), ("b", &[Some("x"), Some("y")])]);
        let step = Rename {
            columns: [("a".to_owned(), "id".to_owned())].into(),
        };
        let out = step.apply(input.clone(), &StepContext::new()).unwrap();
        assert_eq!(out.rows.schema().field(0).name(), "id");
        assert_eq!(out.rows.num_rows(), 2);

        let missing = Rename {
            columns: [("nope".to_owned(), "id".to_owned())].into(),
        };
        let err = missing.apply(input, &StepContext::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column nope is not in the data (it has a, b)"
        );
    }

    #[test]
    fn select_orders_columns_and_keeps_the_bronze_metadata() {
        let input = test_batch(&[
            ("a", &[Some("1")]),
            ("_source_file", &[Some("landing/x.csv")]),
            ("b", &[None]),
            ("c", &[Some("3")]),
        ]);
        let step = Select {
            columns: vec!["c".to_owned(), "a".to_owned()],
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        let names: Vec<_> = out
            .rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["c", "a", "_source_file"]);
    }
}
