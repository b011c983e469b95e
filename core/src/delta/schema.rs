//! Delta's JSON schema (`metaData.schemaString`) and Arrow schemas, both ways.
//!
//! Timestamps are stored as Delta `timestamp`: microseconds, UTC. Arrow timestamps of
//! other units or without a time zone are cast to that on write.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde_json::{json, Map, Value};

/// The Arrow type a Delta table stores for `data_type`: what writes are cast to.
pub fn storage_type(data_type: &DataType) -> Result<DataType, String> {
    Ok(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Timestamp(_, _) => utc_micros(),
        DataType::Date64 => DataType::Date32,
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Date32
        | DataType::Decimal128(_, _) => data_type.clone(),
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::Null => DataType::Utf8,
        DataType::Struct(fields) => DataType::Struct(storage_fields(fields)?),
        DataType::List(item) | DataType::LargeList(item) => {
            DataType::List(Arc::new(storage_field(item)?))
        }
        other => return Err(format!("Delta tables cannot store {other}")),
    })
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn storage_field(field: &Field) -> Result<Field, String> {
    Ok(Field::new(
        field.name(),
        storage_type(field.data_type())?,
        true,
    ))
}

fn storage_fields(fields: &Fields) -> Result<Fields, String> {
    fields.iter().map(|field| storage_field(field)).collect()
}

/// The schema a Delta table stores for `schema`: storage types, every column nullable.
pub fn storage_schema(schema: &Schema) -> Result<SchemaRef, String> {
    Ok(Arc::new(Schema::new(storage_fields(schema.fields())?)))
}

fn type_to_json(data_type: &DataType) -> Result<Value, String> {
    Ok(match data_type {
        DataType::Utf8 => json!("string"),
        DataType::Binary => json!("binary"),
        DataType::Boolean => json!("boolean"),
        DataType::Int8 => json!("byte"),
        DataType::Int16 => json!("short"),
        DataType::Int32 => json!("integer"),
        DataType::Int64 => json!("long"),
        DataType::Float32 => json!("float"),
        DataType::Float64 => json!("double"),
        DataType::Date32 => json!("date"),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => json!("timestamp"),
        DataType::Timestamp(TimeUnit::Microsecond, None) => json!("timestamp_ntz"),
        DataType::Decimal128(precision, scale) => json!(format!("decimal({precision},{scale})")),
        DataType::Struct(fields) => struct_to_json(fields)?,
        DataType::List(item) => json!({
            "type": "array",
            "elementType": type_to_json(item.data_type())?,
            "containsNull": item.is_nullable(),
        }),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => json!({
                "type": "map",
                "keyType": type_to_json(kv[0].data_type())?,
                "valueType": type_to_json(kv[1].data_type())?,
                "valueContainsNull": kv[1].is_nullable(),
            }),
            other => return Err(format!("unsupported map entries {other}")),
        },
        other => return Err(format!("no Delta type for {other}")),
    })
}

fn struct_to_json(fields: &Fields) -> Result<Value, String> {
    let fields = fields
        .iter()
        .map(|field| {
            Ok(json!({
                "name": field.name(),
                "type": type_to_json(field.data_type())?,
                "nullable": field.is_nullable(),
                "metadata": {},
            }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(json!({"type": "struct", "fields": fields}))
}

/// Serialises an Arrow schema (already in storage types) as Delta's `schemaString`.
pub fn to_schema_string(schema: &Schema) -> Result<String, String> {
    Ok(struct_to_json(schema.fields())?.to_string())
}

fn type_from_json(value: &Value) -> Result<DataType, String> {
    if let Some(name) = value.as_str() {
        return Ok(match name {
            "string" => DataType::Utf8,
            "binary" => DataType::Binary,
            "boolean" => DataType::Boolean,
            "byte" => DataType::Int8,
            "short" => DataType::Int16,
            "integer" => DataType::Int32,
            "long" => DataType::Int64,
            "float" => DataType::Float32,
            "double" => DataType::Float64,
            "date" => DataType::Date32,
            "timestamp" => utc_micros(),
            "timestamp_ntz" => DataType::Timestamp(TimeUnit::Microsecond, None),
            decimal if decimal.starts_with("decimal(") => {
                let inner = decimal
                    .strip_prefix("decimal(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .ok_or_else(|| format!("bad decimal type {decimal}"))?;
                let (precision, scale) = inner
                    .split_once(',')
                    .ok_or_else(|| format!("bad decimal type {decimal}"))?;
                let precision: u8 = precision
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad decimal type {decimal}"))?;
                let scale: i8 = scale
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad decimal type {decimal}"))?;
                DataType::Decimal128(precision, scale)
            }
            other => return Err(format!("unknown Delta type {other:?}")),
        });
    }
    let object = value
        .as_object()
        .ok_or_else(|| format!("a type must be a string or an object, not {value}"))?;
    match object.get("type").and_then(Value::as_str) {
        Some("struct") => Ok(DataType::Struct(fields_from_json(object)?)),
        Some("array") => {
            let element = type_from_json(object.get("elementType").unwrap_or(&Value::Null))?;
            let nullable = object
                .get("containsNull")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            Ok(DataType::List(Arc::new(Field::new(
                "element", element, nullable,
            ))))
        }
        Some("map") => {
            let key = type_from_json(object.get("keyType").unwrap_or(&Value::Null))?;
            let value_type = type_from_json(object.get("valueType").unwrap_or(&Value::Null))?;
            let nullable = object
                .get("valueContainsNull")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let entries = Field::new(
                "key_value",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", key, false),
                    Field::new("value", value_type, nullable),
                ])),
                false,
            );
            Ok(DataType::Map(Arc::new(entries), false))
        }
        other => Err(format!("unknown Delta type {other:?}")),
    }
}

fn fields_from_json(object: &Map<String, Value>) -> Result<Fields, String> {
    let fields = object
        .get("fields")
        .and_then(Value::as_array)
        .ok_or("a struct type needs \"fields\"")?;
    fields
        .iter()
        .map(|field| {
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .ok_or("a field needs a \"name\"")?;
            let data_type = type_from_json(field.get("type").unwrap_or(&Value::Null))?;
            let nullable = field
                .get("nullable")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            Ok(Field::new(name, data_type, nullable))
        })
        .collect()
}

/// Parses Delta's `schemaString` into an Arrow schema.
pub fn from_schema_string(schema_string: &str) -> Result<SchemaRef, String> {
    let value: Value =
        serde_json::from_str(schema_string).map_err(|err| format!("schemaString: {err}"))?;
    let object = value.as_object().ok_or("schemaString must be an object")?;
    Ok(Arc::new(Schema::new(fields_from_json(object)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_round_trip_through_delta_json() {
        let schema = Schema::new(vec![
            Field::new("trip_id", DataType::Int64, true),
            Field::new("city", DataType::Utf8, true),
            Field::new("fare", DataType::Decimal128(10, 2), true),
            Field::new("pickup_at", utc_micros(), true),
            Field::new("day", DataType::Date32, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                true,
            ),
        ]);
        let text = to_schema_string(&schema).unwrap();
        assert!(text.contains("\"type\":\"decimal(10,2)\""), "{text}");
        assert!(text.contains("\"type\":\"timestamp\""), "{text}");
        assert_eq!(*from_schema_string(&text).unwrap(), schema);
    }

    #[test]
    fn writes_are_cast_to_storage_types() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            Field::new("b", DataType::LargeUtf8, false),
        ]);
        let stored = storage_schema(&schema).unwrap();
        assert_eq!(stored.field(0).data_type(), &utc_micros());
        assert_eq!(stored.field(1).data_type(), &DataType::Utf8);
        assert!(stored.field(0).is_nullable());
        assert!(from_schema_string(
            "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"variant\"}]}"
        )
        .is_err());
    }
}
