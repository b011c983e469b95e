//! Key columns encoded as Arrow rows (arrow's [`RowConverter`]): every row's key
//! becomes one byte string, equal exactly when the keys are equal (a null equal to a
//! null) and hashable, whatever the number and types of the key columns. Merges,
//! duplicate checks and deduplication match rows on keys through it.

use arrow::array::{Array, ArrayRef};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::row::{Row, RowConverter, Rows, SortField};

/// Encodes keys of fixed column types, so keys of several batches compare.
#[derive(Debug)]
pub(crate) struct KeyEncoder {
    converter: RowConverter,
    types: Vec<DataType>,
}

impl KeyEncoder {
    /// An encoder for keys whose columns have `types`, in order.
    pub(crate) fn new(types: Vec<DataType>) -> Result<Self, ArrowError> {
        let converter = RowConverter::new(types.iter().cloned().map(SortField::new).collect())?;
        Ok(Self { converter, types })
    }

    /// An encoder for keys with the types of `columns`.
    pub(crate) fn for_columns(columns: &[ArrayRef]) -> Result<Self, ArrowError> {
        Self::new(
            columns
                .iter()
                .map(|column| column.data_type().clone())
                .collect(),
        )
    }

    /// The key of every row of `columns` (one array per key column, in the encoder's
    /// order). A column of another type is cast to the encoder's first (as arrow's
    /// `cast` does: a value it cannot convert becomes null), so an `Int32` key matches
    /// the same `Int64` key; a column of a type that cannot be cast is an error.
    pub(crate) fn encode(&self, columns: &[ArrayRef]) -> Result<KeyRows, ArrowError> {
        let columns = columns
            .iter()
            .zip(&self.types)
            .map(|(column, data_type)| {
                if column.data_type() == data_type {
                    Ok(column.clone())
                } else {
                    cast(column, data_type)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rows = self.converter.convert_columns(&columns)?;
        let rows_in_batch = columns.first().map_or(0, |column| column.len());
        let has_null = (0..rows_in_batch)
            .map(|row| columns.iter().any(|column| column.is_null(row)))
            .collect();
        Ok(KeyRows { rows, has_null })
    }
}

/// The encoded keys of a batch's rows.
#[derive(Debug)]
pub(crate) struct KeyRows {
    rows: Rows,
    has_null: Vec<bool>,
}

impl KeyRows {
    /// The key of `row`, comparable and hashable (`.owned()` to keep it).
    pub(crate) fn row(&self, row: usize) -> Row<'_> {
        self.rows.row(row)
    }

    /// Whether the key of `row` has a null in any column: in SQL such a key equals no
    /// other, so it matches nothing.
    pub(crate) fn has_null(&self, row: usize) -> bool {
        self.has_null[row]
    }
}

/// The keys of `columns`, encoded with an encoder of their own types: for matching rows
/// of one batch among themselves.
pub(crate) fn encode_keys(columns: &[ArrayRef]) -> Result<KeyRows, ArrowError> {
    KeyEncoder::for_columns(columns)?.encode(columns)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn equal_keys_encode_equal_and_nulls_are_flagged() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(1), None]));
        let cities: ArrayRef = Arc::new(StringArray::from(vec!["SF", "SF", "SF", "SF"]));
        let keys = encode_keys(&[ids, cities]).expect("encoded");
        assert_eq!(keys.row(0), keys.row(2));
        assert_ne!(keys.row(0), keys.row(1));
        assert_eq!(
            (0..4).map(|row| keys.has_null(row)).collect::<Vec<_>>(),
            [false, false, false, true]
        );
    }

    #[test]
    fn keys_of_another_type_are_cast_to_the_encoders() {
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![7, 8]));
        let narrow: ArrayRef = Arc::new(Int32Array::from(vec![8, 7]));
        let encoder = KeyEncoder::for_columns(std::slice::from_ref(&wide)).expect("encoder");
        let wide = encoder.encode(&[wide]).expect("wide");
        let narrow = encoder.encode(&[narrow]).expect("narrow");
        assert_eq!(wide.row(0), narrow.row(1));
        assert_eq!(wide.row(1).owned(), narrow.row(0).owned());
        // Text that is no number casts to a null key, which matches nothing.
        let text: ArrayRef = Arc::new(StringArray::from(vec!["not a number"]));
        assert!(encoder.encode(&[text]).expect("cast").has_null(0));
    }
}
