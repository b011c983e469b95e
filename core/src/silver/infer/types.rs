//! Classifying a column's sample values into a [`super::ColumnType`].
