//! The built-in transforms, and the registry that builds them from pipeline files.

mod cast;
mod columns;
mod dedupe;
mod derive;
mod enrich;
mod flatten;
mod text;
mod timestamp;
mod validate;

use std::sync::Arc;

pub use cast::{Cast, ParseMoney};
pub use columns::{Rename, Select};
pub use dedupe::Dedupe;
pub use derive::{Derive, DerivedColumn};
pub use enrich::{Enrich, EnrichJoin};
pub use flatten::Flatten;
pub use text::{Case, NullMarkers, StandardizePhone, Trim};
pub(crate) use timestamp::parse_instant;
pub use timestamp::{ParseDate, ParseTimestamp, Zone};
pub use validate::{Check, Rule, Severity, Validate};

use super::transform::Transform;

/// Every built-in, by the name pipeline files use after `transform:`.
pub const KINDS: [&str; 14] = [
    "rename",
    "select",
    "cast",
    "trim",
    "null_markers",
    "standardize_phone",
    "parse_timestamp",
    "parse_date",
    "parse_money",
    "flatten",
    "dedupe",
    "derive",
    "enrich",
    "validate",
];

fn from_config<T>(config: serde_yaml_ng::Value) -> Result<Arc<dyn Transform>, String>
where
    T: Transform + serde::de::DeserializeOwned + 'static,
{
    serde_yaml_ng::from_value::<T>(config)
        .map(|transform| Arc::new(transform) as Arc<dyn Transform>)
        .map_err(|err| err.to_string())
}

/// Builds the built-in `kind` from its settings (the step's mapping without `name`,
/// `transform`, `enabled` and `description`).
pub fn build(kind: &str, config: serde_yaml_ng::Value) -> Result<Arc<dyn Transform>, String> {
    match kind {
        "rename" => from_config::<Rename>(config),
        "select" => from_config::<Select>(config),
        "cast" => from_config::<Cast>(config),
        "trim" => from_config::<Trim>(config),
        "null_markers" => from_config::<NullMarkers>(config),
        "standardize_phone" => from_config::<StandardizePhone>(config),
        "parse_timestamp" => from_config::<ParseTimestamp>(config),
        "parse_date" => from_config::<ParseDate>(config),
        "parse_money" => from_config::<ParseMoney>(config),
        "flatten" => from_config::<Flatten>(config),
        "dedupe" => from_config::<Dedupe>(config),
        "derive" => from_config::<Derive>(config),
        "enrich" => from_config::<Enrich>(config),
        "validate" => from_config::<Validate>(config),
        other => Err(format!(
            "unknown transform {other:?} (built-ins: {})",
            KINDS.join(", ")
        )),
    }
}

/// A batch of text columns, for unit tests.
#[cfg(test)]
pub(crate) fn test_batch(columns: &[(&str, &[Option<&str>])]) -> arrow::record_batch::RecordBatch {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, _)| Field::new(*name, DataType::Utf8, true))
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, values)| Arc::new(StringArray::from(values.to_vec())) as ArrayRef)
        .collect();
    arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .expect("equal lengths")
}

/// A batch of one bigint column, for unit tests.
#[cfg(test)]
pub(crate) fn int_batch(name: &str, values: &[Option<i64>]) -> arrow::record_batch::RecordBatch {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    arrow::record_batch::RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(name, DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from(values.to_vec()))],
    )
    .expect("one column")
}

/// A column's values as display text, for unit tests.
#[cfg(test)]
pub(crate) fn strings(
    batch: &arrow::record_batch::RecordBatch,
    column: &str,
) -> Vec<Option<String>> {
    use arrow::array::Array;
    let array = batch.column_by_name(column).expect("column");
    let formatter =
        arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &Default::default())
            .expect("formatter");
    (0..array.len())
        .map(|row| {
            array
                .is_valid(row)
                .then(|| formatter.value(row).to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_and_unknown_ones_are_named() {
        let configs = [
            ("rename", "columns: {a: b}"),
            ("select", "columns: [a]"),
            ("cast", "columns: {a: bigint}"),
            ("trim", "columns: {a: title}"),
            ("null_markers", "markers: ['NULL', N/A]"),
            ("standardize_phone", "columns: [a]"),
            ("parse_timestamp", "columns: [a]"),
            ("parse_date", "{columns: [a], formats: ['%d.%m.%Y']}"),
            ("parse_money", "{columns: [a], decimal_comma: true}"),
            ("flatten", "columns: {a: [x, y]}"),
            ("dedupe", "key: a"),
            ("derive", "columns: [{name: b, expr: a}]"),
            ("enrich", "{lookup: silver/x, key: k, joins: []}"),
            ("validate", "rules: []"),
        ];
        assert_eq!(configs.len(), KINDS.len());
        for (kind, yaml) in configs {
            let transform = build(kind, serde_yaml_ng::from_str(yaml).unwrap()).unwrap();
            assert_eq!(transform.kind(), kind);
        }
        let err = build("explode", serde_yaml_ng::Value::Null).unwrap_err();
        assert!(
            err.starts_with("unknown transform \"explode\" (built-ins: rename, "),
            "{err}"
        );
        let err = build(
            "cast",
            serde_yaml_ng::from_str("columns: {a: money}").unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("unknown type \"money\""), "{err}");
    }
}
