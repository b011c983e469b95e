//! `dedupe`: one row per key, the latest.

use std::cmp::Ordering;
use std::collections::HashMap;

use arrow::array::{make_comparator, ArrayRef, BooleanArray, DynComparator};
use arrow::compute::{filter_record_batch, SortOptions};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;

use crate::keys::encode_keys;
use crate::silver::transform::{
    column_index, Columns, StepContext, StepOutput, Transform, TransformError,
};

/// The Bronze column that orders arrivals: a later batch is a later arrival.
const ARRIVAL: &str = "_batch_id";

/// Keeps one row per `key`: the one with the greatest `order_by` (nulls count as
/// oldest). Ties go to the later arrival: the later Bronze `_batch_id`, then the later
/// row. Rows keep their order. The others are counted as duplicates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedupe {
    /// The business key: a column or a list.
    pub key: Columns,
    /// The column whose greatest value wins (`updated_at`); without it, the last
    /// arrival wins.
    #[serde(default)]
    pub order_by: Option<String>,
}

fn self_comparator(array: &ArrayRef) -> Result<DynComparator, TransformError> {
    Ok(make_comparator(
        array.as_ref(),
        array.as_ref(),
        SortOptions {
            descending: false,
            nulls_first: true,
        },
    )?)
}

impl Transform for Dedupe {
    fn kind(&self) -> &'static str {
        "dedupe"
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let key_columns = self
            .key
            .to_vec()
            .iter()
            .map(|column| Ok(input.column(column_index(&input, column)?).clone()))
            .collect::<Result<Vec<ArrayRef>, TransformError>>()?;
        let keys = encode_keys(&key_columns)?;
        let mut orderings: Vec<DynComparator> = Vec::new();
        if let Some(column) = &self.order_by {
            orderings.push(self_comparator(
                input.column(column_index(&input, column)?),
            )?);
        }
        if let Some(arrival) = input.column_by_name(ARRIVAL) {
            orderings.push(self_comparator(arrival)?);
        }
        // Greater is later; equal on every column falls back to the row order.
        let later = |a: usize, b: usize| -> bool {
            orderings
                .iter()
                .map(|order| order(a, b))
                .find(|ordering| *ordering != Ordering::Equal)
                .unwrap_or(a.cmp(&b))
                == Ordering::Greater
        };
        let mut winners: HashMap<arrow::row::Row<'_>, usize> =
            HashMap::with_capacity(input.num_rows());
        for row in 0..input.num_rows() {
            winners
                .entry(keys.row(row))
                .and_modify(|best| {
                    if later(row, *best) {
                        *best = row;
                    }
                })
                .or_insert(row);
        }
        let mut keep = vec![false; input.num_rows()];
        for &row in winners.values() {
            keep[row] = true;
        }
        let duplicates = input.num_rows() - winners.len();
        let rows = filter_record_batch(&input, &BooleanArray::from(keep))?;
        let mut output = StepOutput::pass(rows);
        output.duplicates = duplicates;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};

    #[test]
    fn the_latest_row_per_key_wins_and_ties_go_to_the_later_arrival() {
        let input = test_batch(&[
            (
                "id",
                &[
                    Some("1"),
                    Some("2"),
                    Some("1"),
                    Some("1"),
                    Some("2"),
                    None,
                    None,
                ],
            ),
            (
                "updated_at",
                &[
                    Some("b"),
                    Some("a"),
                    Some("c"),
                    Some("a"),
                    None,
                    Some("x"),
                    Some("y"),
                ],
            ),
            (
                "v",
                &[
                    Some("one"),
                    Some("two"),
                    Some("three"),
                    Some("four"),
                    Some("five"),
                    Some("n1"),
                    Some("n2"),
                ],
            ),
        ]);
        let step = Dedupe {
            key: Columns::One("id".to_owned()),
            order_by: Some("updated_at".to_owned()),
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(out.duplicates, 4);
        assert_eq!(
            strings(&out.rows, "v"),
            [Some("two".into()), Some("three".into()), Some("n2".into())],
            "null order values are oldest; null keys group together"
        );
    }

    #[test]
    fn without_order_by_the_later_batch_then_the_later_row_wins() {
        let input = test_batch(&[
            ("a", &[Some("1"), Some("1"), Some("1")]),
            ("b", &[Some("x"), Some("x"), Some("x")]),
            ("_batch_id", &[Some("5"), Some("3"), Some("3")]),
            ("v", &[Some("first"), Some("second"), Some("third")]),
        ]);
        let step = Dedupe {
            key: Columns::Many(vec!["a".to_owned(), "b".to_owned()]),
            order_by: None,
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(strings(&out.rows, "v"), [Some("first".into())]);
        assert_eq!(out.duplicates, 2);
    }

    #[test]
    fn a_missing_key_column_is_a_step_error() {
        let input = test_batch(&[("a", &[Some("1")])]);
        let step = Dedupe {
            key: Columns::One("id".to_owned()),
            order_by: None,
        };
        assert!(step.apply(input, &StepContext::new()).is_err());
    }
}
