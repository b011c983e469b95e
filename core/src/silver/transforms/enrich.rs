//! `enrich`: columns from a lookup table, joined on a key.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::{cast, take};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use serde::Deserialize;

use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{
    column_index, set_column, Lookup, StepContext, StepOutput, Transform, TransformError,
};

/// One join of the input to the lookup table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichJoin {
    /// The input column matched against the lookup's key.
    pub on: String,
    /// Lookup column → the new column's name.
    pub columns: BTreeMap<String, String>,
}

/// Adds columns from a lookup table (a left join: no match gives nulls):
///
/// ```yaml
/// - transform: enrich
///   lookup: silver/locations
///   key: location_id
///   joins:
///     - on: pickup_location_id
///       columns: {zone: pickup_zone, city: pickup_city}
/// ```
///
/// The lookup's key should be unique; if it is not, the last row wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrich {
    /// The lookup table, as `<layer>/<name>`.
    pub lookup: String,
    /// The lookup's key column.
    pub key: String,
    /// The joins, each adding columns.
    pub joins: Vec<EnrichJoin>,
}

/// For each row of `values`, the index of the `keys` row holding the same value.
pub(crate) fn match_rows(
    keys: &ArrayRef,
    values: &ArrayRef,
    column: &str,
) -> Result<UInt32Array, TransformError> {
    let keys = cast(keys, values.data_type()).map_err(|_| TransformError::UnsupportedType {
        column: column.to_owned(),
        data_type: values.data_type().clone(),
    })?;
    let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
    let key_rows = converter.convert_columns(std::slice::from_ref(&keys))?;
    let mut index: HashMap<arrow::row::Row<'_>, u32> = HashMap::with_capacity(keys.len());
    for row in 0..keys.len() {
        if keys.is_valid(row) {
            index.insert(key_rows.row(row), row as u32);
        }
    }
    let value_rows = converter.convert_columns(std::slice::from_ref(values))?;
    Ok((0..values.len())
        .map(|row| {
            values
                .is_valid(row)
                .then(|| index.get(&value_rows.row(row)).copied())
                .flatten()
        })
        .collect())
}

impl Transform for Enrich {
    fn kind(&self) -> &'static str {
        "enrich"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        self.joins
            .iter()
            .flat_map(|join| {
                join.columns
                    .iter()
                    .map(|(lookup_column, column)| ColumnEffect::LooksUp {
                        column: column.clone(),
                        table: self.lookup.clone(),
                        lookup_column: lookup_column.clone(),
                        on: join.on.clone(),
                        key: self.key.clone(),
                    })
            })
            .collect()
    }

    fn lookups(&self) -> Vec<Lookup> {
        let mut columns = vec![self.key.clone()];
        for join in &self.joins {
            columns.extend(join.columns.keys().cloned());
        }
        columns.sort();
        columns.dedup();
        vec![Lookup {
            table: self.lookup.clone(),
            columns,
            matching: None,
        }]
    }

    fn apply(
        &self,
        input: RecordBatch,
        context: &StepContext,
    ) -> Result<StepOutput, TransformError> {
        let lookup = context.lookup(&self.lookup)?;
        let keys = lookup.column(column_index(lookup, &self.key)?).clone();
        let mut batch = input;
        for join in &self.joins {
            let values = batch.column(column_index(&batch, &join.on)?).clone();
            let matches = match_rows(&keys, &values, &join.on)?;
            for (from, to) in &join.columns {
                let source = lookup.column(column_index(lookup, from)?);
                batch = set_column(&batch, to, take(source.as_ref(), &matches, None)?)?;
            }
        }
        Ok(StepOutput::pass(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{int_batch, strings, test_batch};

    #[test]
    fn joins_add_columns_and_unmatched_rows_get_nulls() {
        let zones = test_batch(&[
            ("location_id", &[Some("1"), Some("2"), None]),
            (
                "zone",
                &[Some("JFK Airport"), Some("Midtown"), Some("nowhere")],
            ),
            ("city", &[Some("New York"), Some("New York"), None]),
        ]);
        let trips = int_batch("pickup", &[Some(2), Some(9), None]);
        let step = Enrich {
            lookup: "silver/locations".to_owned(),
            key: "location_id".to_owned(),
            joins: vec![EnrichJoin {
                on: "pickup".to_owned(),
                columns: [
                    ("zone".to_owned(), "pickup_zone".to_owned()),
                    ("city".to_owned(), "pickup_city".to_owned()),
                ]
                .into(),
            }],
        };
        let context = StepContext::new().with_lookup("silver/locations", zones);
        let out = step.apply(trips.clone(), &context).unwrap();
        assert_eq!(
            strings(&out.rows, "pickup_zone"),
            [Some("Midtown".into()), None, None]
        );
        assert_eq!(
            strings(&out.rows, "pickup_city"),
            [Some("New York".into()), None, None]
        );
        assert_eq!(
            step.lookups(),
            [Lookup {
                table: "silver/locations".to_owned(),
                columns: vec!["city".into(), "location_id".into(), "zone".into()],
                matching: None,
            }]
        );

        let err = step.apply(trips, &StepContext::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lookup table silver/locations is not loaded"
        );
    }
}
