//! Seeds: a CSV file of `seeds/` as the SQL that builds its table. Each column's type
//! is inferred as dbt infers it (agate's type tester, then the adapter's type names:
//! integer, double for numbers with decimals, date, timestamp, boolean, text), unless
//! `column_types` names it; the values are cast from text as DuckDB's `COPY` casts
//! them, an empty field being null.

use std::collections::BTreeMap;

use super::project::Node;
use super::ModelError;

/// The type of one column, as dbt's seed materialization names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inferred {
    Integer,
    Double,
    Date,
    Timestamp,
    Boolean,
    Text,
}

impl Inferred {
    fn sql(self) -> &'static str {
        match self {
            Inferred::Integer => "integer",
            Inferred::Double => "double",
            Inferred::Date => "date",
            Inferred::Timestamp => "timestamp",
            Inferred::Boolean => "boolean",
            Inferred::Text => "varchar",
        }
    }
}

/// Whether agate reads `value` as null: empty or `null`, any case, trimmed.
fn is_null(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value.eq_ignore_ascii_case("null")
}

/// A number as Python's `Decimal` reads it, with how many digits follow the point.
fn decimal_places(value: &str) -> Option<usize> {
    let value = value.trim().replace(',', "");
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(&value);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    Some((fraction.len() as i64 - exponent).max(0) as usize)
}

fn is_date(value: &str) -> bool {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").is_ok()
}

fn is_datetime(value: &str) -> bool {
    let value = value.trim();
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S").is_ok()
        || (value.contains('T')
            && (chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
                || chrono::DateTime::parse_from_rfc3339(value).is_ok()))
}

fn is_boolean(value: &str) -> bool {
    let value = value.trim();
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

/// The first of agate's types every value of a column passes (an all-null column is
/// an integer, as dbt's `Integer` type takes only nulls from text).
fn infer<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Inferred {
    let mut present = values.filter(|value| !is_null(value)).peekable();
    if present.peek().is_none() {
        return Inferred::Integer;
    }
    let present: Vec<&str> = present.collect();
    let places: Option<Vec<usize>> = present.iter().map(|v| decimal_places(v)).collect();
    if let Some(places) = places {
        return if places.iter().any(|p| *p > 0) {
            Inferred::Double
        } else {
            Inferred::Integer
        };
    }
    if present.iter().all(|v| is_date(v)) {
        Inferred::Date
    } else if present.iter().all(|v| is_datetime(v)) {
        Inferred::Timestamp
    } else if present.iter().all(|v| is_boolean(v)) {
        Inferred::Boolean
    } else {
        Inferred::Text
    }
}

/// A string as a SQL literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A column name as a quoted SQL identifier (seeds keep their headers' case).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The header and rows of a seed's CSV, split by its `delimiter` config.
fn read_csv(node: &Node) -> Result<(Vec<String>, Vec<Vec<String>>), ModelError> {
    let delimiter = node
        .config
        .get("delimiter")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(",");
    let bad = |detail: String| ModelError::Seed {
        node: node.name.clone(),
        path: node.original_file_path.clone(),
        detail,
    };
    let [delimiter] = delimiter.as_bytes() else {
        return Err(bad(format!(
            "delimiter {delimiter:?} must be one character"
        )));
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(*delimiter)
        .from_reader(node.raw_code.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|err| bad(format!("the header: {err}")))?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    if header.is_empty() || header.iter().any(String::is_empty) {
        return Err(bad("every column needs a name in the header".to_owned()));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| bad(err.to_string()))?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok((header, rows))
}

/// The SQL that selects a seed's rows with their types: every column cast from its
/// text, empty fields null, in the CSV's order.
pub(crate) fn seed_sql(node: &Node) -> Result<String, ModelError> {
    let (header, rows) = read_csv(node)?;
    let overrides: BTreeMap<String, String> = node.config.column_types();
    let types: Vec<(String, bool)> = (0..header.len())
        .map(|index| match overrides.get(&header[index]) {
            Some(declared) => (declared.clone(), false),
            None => {
                let inferred = infer(rows.iter().map(|row| row[index].as_str()));
                (inferred.sql().to_owned(), inferred != Inferred::Text)
            }
        })
        .collect();
    let columns = header
        .iter()
        .zip(&types)
        .enumerate()
        .map(|(index, (name, (sql_type, _)))| {
            let value = if rows.is_empty() {
                "NULL".to_owned()
            } else {
                format!("column{}", index + 1)
            };
            format!("CAST({value} AS {sql_type}) AS {}", quoted(name))
        })
        .collect::<Vec<_>>()
        .join(",\n    ");
    if rows.is_empty() {
        return Ok(format!("select\n    {columns}\nwhere false"));
    }
    let values = rows
        .iter()
        .map(|row| {
            let fields = row
                .iter()
                .zip(&types)
                .map(|(value, (_, typed))| {
                    // A typed column reads agate's nulls; text keeps `null` as DuckDB does.
                    if value.is_empty() || (*typed && is_null(value)) {
                        "NULL".to_owned()
                    } else if *typed {
                        literal(value.trim())
                    } else {
                        literal(value)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({fields})")
        })
        .collect::<Vec<_>>()
        .join(",\n    ");
    Ok(format!(
        "select\n    {columns}\nfrom (values\n    {values}\n) as seed_rows"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_typed_as_agate_types_them() {
        let infer_all = |values: &[&str]| infer(values.iter().copied());
        assert_eq!(infer_all(&["1", "2", ""]), Inferred::Integer);
        assert_eq!(infer_all(&["1", "2.50"]), Inferred::Double);
        assert_eq!(infer_all(&["1.0"]), Inferred::Double);
        assert_eq!(infer_all(&["", "null"]), Inferred::Integer);
        assert_eq!(infer_all(&["2026-01-05", ""]), Inferred::Date);
        assert_eq!(
            infer_all(&["2026-01-05 10:00:00", "2026-01-05T11:30:00"]),
            Inferred::Timestamp
        );
        assert_eq!(infer_all(&["true", "False"]), Inferred::Boolean);
        assert_eq!(infer_all(&["a", "1"]), Inferred::Text);
        assert_eq!(infer_all(&["yes", "no"]), Inferred::Text);
        assert_eq!(decimal_places("-1,000.25"), Some(2));
        assert_eq!(decimal_places("1e3"), Some(0));
        assert_eq!(decimal_places("."), None);
    }
}
