//! Between Bronze and the steps: the rows the steps see, and the quarantine rows made
//! from what they reject.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, BooleanArray, StringArray, UInt64Array};
use arrow::compute::{cast, concat, filter_record_batch, take};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

use super::{is_runner_column, ROW_ID};
use crate::keys::encode_keys;
use crate::silver::pipeline::Rejection;

/// The columns of a quarantine row before the data: why, and which step.
pub const QUARANTINE_REASON_COLUMNS: [&str; 2] = ["_error", "_step"];

/// The Bronze lineage a quarantine row keeps after its data.
const LINEAGE: [&str; 3] = ["_corrupt_record", "_source_file", "_batch_id"];

/// The Bronze rows as Silver's steps see them: every value Bronze could not type (kept
/// as source text in `_rescued_data`) back in its column, which becomes text; the
/// optional columns not arrived yet as null text; and a row id, so that a rejected row
/// can be traced back here.
pub(crate) fn source_view(
    bronze: &RecordBatch,
    optional: &[String],
) -> Result<RecordBatch, String> {
    let rows = bronze.num_rows();
    let schema = bronze.schema();
    let mut rescued: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    if let Some(column) = bronze.column_by_name("_rescued_data") {
        let texts = column
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("_rescued_data is not text")?;
        for row in (0..rows).filter(|&row| texts.is_valid(row)) {
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(texts.value(row)) else {
                return Err(format!(
                    "row {row} has _rescued_data that is not a JSON object: {}",
                    texts.value(row)
                ));
            };
            for (name, value) in fields {
                if schema.index_of(&name).is_ok() && !is_runner_column(&name) {
                    let text = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    rescued.entry(name).or_default().push((row, text));
                }
            }
        }
    }
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len() + optional.len() + 1);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
    for (field, column) in schema.fields().iter().zip(bronze.columns()) {
        match rescued.get(field.name()) {
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
            Some(values) => {
                let text = cast(column, &DataType::Utf8).map_err(|err| err.to_string())?;
                let text = text
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or("a cast to text is text")?;
                let mut merged: Vec<Option<String>> =
                    text.iter().map(|v| v.map(str::to_owned)).collect();
                for (row, value) in values {
                    merged[*row] = Some(value.clone());
                }
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(Arc::new(StringArray::from(merged)));
            }
        }
    }
    for name in optional {
        if schema.index_of(name).is_err() {
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(new_null_array(&DataType::Utf8, rows));
        }
    }
    fields.push(Field::new(ROW_ID, DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from_iter_values(0..rows as u64)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|err| err.to_string())
}

/// The quarantine table's schema for a source view: the reason and step, every data
/// column as text, then the Bronze lineage.
pub(crate) fn quarantine_schema(view: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = QUARANTINE_REASON_COLUMNS
        .iter()
        .map(|name| Field::new(*name, DataType::Utf8, true))
        .collect();
    fields.extend(
        view.fields()
            .iter()
            .filter(|field| !is_runner_column(field.name()))
            .map(|field| Field::new(field.name(), DataType::Utf8, true)),
    );
    fields.push(Field::new("_corrupt_record", DataType::Utf8, true));
    fields.push(Field::new("_source_file", DataType::Utf8, true));
    fields.push(Field::new("_batch_id", DataType::Int64, true));
    Arc::new(Schema::new(fields))
}

/// `array` as display text, nulls kept.
fn as_text(array: &ArrayRef) -> Result<ArrayRef, String> {
    if array.data_type() == &DataType::Utf8 {
        return Ok(array.clone());
    }
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(
        (0..array.len())
            .map(|row| {
                array
                    .is_valid(row)
                    .then(|| formatter.value(row).to_string())
            })
            .collect::<StringArray>(),
    ))
}

/// The rows the steps rejected, as quarantine rows: each taken from the source view
/// (the values as they came from Bronze), with its reason and step.
pub(crate) fn quarantine_rows(
    view: &RecordBatch,
    rejections: &[Rejection],
) -> Result<RecordBatch, String> {
    let schema = quarantine_schema(&view.schema());
    let mut ids: Vec<ArrayRef> = Vec::new();
    let mut errors: Vec<&str> = Vec::new();
    let mut steps: Vec<&str> = Vec::new();
    for rejection in rejections {
        let row_ids = rejection
            .rows
            .column_by_name(ROW_ID)
            .ok_or_else(|| format!("step {} dropped the row id column", rejection.step))?;
        ids.push(row_ids.clone());
        errors.extend(rejection.reasons.iter().map(String::as_str));
        steps.extend(std::iter::repeat_n(
            rejection.step.as_str(),
            rejection.reasons.len(),
        ));
    }
    let ids = if ids.is_empty() {
        Arc::new(UInt64Array::from(Vec::<u64>::new())) as ArrayRef
    } else {
        let parts: Vec<&dyn Array> = ids.iter().map(|a| a.as_ref()).collect();
        concat(&parts).map_err(|err| err.to_string())?
    };
    let picked = take_rows(view, &ids)?;
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(errors)),
        Arc::new(StringArray::from(steps)),
    ];
    for field in schema.fields().iter().skip(QUARANTINE_REASON_COLUMNS.len()) {
        let name = field.name();
        let column = match picked.column_by_name(name) {
            Some(column) if LINEAGE.contains(&name.as_str()) => {
                cast(column, field.data_type()).map_err(|err| err.to_string())?
            }
            Some(column) => as_text(column)?,
            None => new_null_array(field.data_type(), picked.num_rows()),
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema, columns).map_err(|err| err.to_string())
}

fn take_rows(batch: &RecordBatch, ids: &ArrayRef) -> Result<RecordBatch, String> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| take(column.as_ref(), ids.as_ref(), None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| err.to_string())?;
    RecordBatch::try_new(batch.schema(), columns).map_err(|err| err.to_string())
}

/// `batch` without the Bronze metadata and the row id.
pub(crate) fn without_runner_columns(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| !is_runner_column(field.name()))
        .map(|(index, _)| index)
        .collect();
    batch.project(&keep).map_err(|err| err.to_string())
}

/// The first key that `batch` holds twice, as text (rows with a null in the key are
/// not compared, as in SQL).
pub(crate) fn first_duplicate_key(
    batch: &RecordBatch,
    keys: &[String],
) -> Result<Option<String>, String> {
    let columns = keys
        .iter()
        .map(|key| {
            batch
                .column_by_name(key)
                .cloned()
                .ok_or_else(|| format!("{key} is not in the pipeline's output"))
        })
        .collect::<Result<Vec<ArrayRef>, String>>()?;
    let rows = encode_keys(&columns).map_err(|err| err.to_string())?;
    let mut seen = HashSet::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if rows.has_null(row) {
            continue;
        }
        if !seen.insert(rows.row(row)) {
            let key = columns
                .iter()
                .map(|column| {
                    as_text(column).map(|text| {
                        text.as_any()
                            .downcast_ref::<StringArray>()
                            .map(|t| t.value(row).to_owned())
                            .unwrap_or_default()
                    })
                })
                .collect::<Result<Vec<_>, String>>()?
                .join(", ");
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// `batch` without the rows whose `marker` is true, and without the marker column.
pub(crate) fn without_deleted(batch: &RecordBatch, marker: &str) -> Result<RecordBatch, String> {
    let index = batch
        .schema()
        .index_of(marker)
        .map_err(|_| format!("delete_marker {marker} is not in the pipeline's output"))?;
    let flags = cast(batch.column(index), &DataType::Boolean).map_err(|err| err.to_string())?;
    let flags = flags
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or("a cast to boolean is boolean")?;
    let keep: BooleanArray = (0..flags.len())
        .map(|row| Some(!(flags.is_valid(row) && flags.value(row))))
        .collect();
    let mut kept = filter_record_batch(batch, &keep).map_err(|err| err.to_string())?;
    kept.remove_column(index);
    Ok(kept)
}

/// The `_batch_id` values of a quarantine batch, for tests and reports.
#[cfg(test)]
pub(crate) fn batch_ids(batch: &RecordBatch) -> Vec<Option<i64>> {
    batch
        .column_by_name("_batch_id")
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .cloned()
        })
        .map(|ids| ids.iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};
    use arrow::array::{Float64Array, Int64Array};

    fn bronze() -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("fare", DataType::Float64, true),
                Field::new("zone", DataType::Utf8, true),
                Field::new("_source_file", DataType::Utf8, true),
                Field::new("_batch_id", DataType::Int64, true),
                Field::new("_rescued_data", DataType::Utf8, true),
                Field::new("_corrupt_record", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Float64Array::from(vec![Some(12.5), None, None])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
                Arc::new(StringArray::from(vec!["f1", "f2", "f2"])),
                Arc::new(Int64Array::from(vec![0, 1, 1])),
                Arc::new(StringArray::from(vec![
                    None,
                    Some(r#"{"fare":"N/A","unknown":"x"}"#),
                    None,
                ])),
                Arc::new(StringArray::from(vec![None, None, Some("3,cut")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_view_puts_rescued_text_back_and_adds_optional_columns() {
        let view = source_view(&bronze(), &["surge".to_owned(), "zone".to_owned()]).unwrap();
        assert_eq!(
            strings(&view, "fare"),
            [Some("12.5".into()), Some("N/A".into()), None]
        );
        assert_eq!(
            view.schema().field_with_name("surge").unwrap().data_type(),
            &DataType::Utf8
        );
        assert_eq!(
            strings(&view, ROW_ID),
            [Some("0".into()), Some("1".into()), Some("2".into())]
        );
        assert!(
            view.column_by_name("unknown").is_none(),
            "unknown rescued fields stay rescued"
        );

        let bad = bronze();
        let mut columns = bad.columns().to_vec();
        columns[4] = Arc::new(StringArray::from(vec![Some("[1]"), None, None]));
        let bad = RecordBatch::try_new(bad.schema(), columns).unwrap();
        assert!(source_view(&bad, &[])
            .unwrap_err()
            .contains("not a JSON object"));
    }

    #[test]
    fn quarantine_rows_come_from_the_view_with_reason_step_and_lineage() {
        let view = source_view(&bronze(), &[]).unwrap();
        let rejected = |rows: &[usize]| {
            let ids: ArrayRef = Arc::new(UInt64Array::from(
                rows.iter().map(|&r| r as u64).collect::<Vec<_>>(),
            ));
            take_rows(&view, &ids).unwrap()
        };
        let rejections = vec![
            Rejection {
                step: "reject_corrupt".to_owned(),
                rows: rejected(&[2]),
                reasons: vec!["the record is corrupt".to_owned()],
            },
            Rejection {
                step: "parse_money".to_owned(),
                rows: rejected(&[1]),
                reasons: vec!["`fare` is not a number: \"N/A\"".to_owned()],
            },
        ];
        let rows = quarantine_rows(&view, &rejections).unwrap();
        let names: Vec<_> = rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "_error",
                "_step",
                "fare",
                "zone",
                "_corrupt_record",
                "_source_file",
                "_batch_id"
            ]
        );
        assert_eq!(
            strings(&rows, "_step"),
            [Some("reject_corrupt".into()), Some("parse_money".into())]
        );
        assert_eq!(strings(&rows, "fare"), [None, Some("N/A".into())]);
        assert_eq!(
            strings(&rows, "_corrupt_record"),
            [Some("3,cut".into()), None]
        );
        assert_eq!(batch_ids(&rows), [Some(1), Some(1)]);

        let none = quarantine_rows(&view, &[]).unwrap();
        assert_eq!(none.num_rows(), 0);
        assert_eq!(none.schema(), rows.schema());
    }

    #[test]
    fn deleted_rows_and_the_marker_go() {
        let batch = test_batch(&[
            ("id", &[Some("1"), Some("2"), Some("3")]),
            ("is_deleted", &[Some("true"), Some("false"), None]),
        ]);
        let kept = without_deleted(&batch, "is_deleted").unwrap();
        assert_eq!(strings(&kept, "id"), [Some("2".into()), Some("3".into())]);
        assert_eq!(kept.num_columns(), 1);
        assert!(without_deleted(&batch, "gone").is_err());
    }
}
