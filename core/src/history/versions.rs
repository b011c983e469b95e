//! A relation's rows as versions of keys: read, ordered along their validity chain,
//! compared, and searched.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::relations::Scd2Table;
use super::{AttributeChange, AttributeValue, HistoryError, KeyMatch, VersionKind};
use crate::delta::DeltaTable;
use crate::explorer::display_rows;
use crate::storage::Storage;

/// One row of an SCD2 relation: a version of a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VersionRow {
    /// The key, as display text.
    pub(crate) key: String,
    /// valid_from, in microseconds since the epoch.
    pub(crate) from: i64,
    /// valid_to, in microseconds; `None` while current.
    pub(crate) to: Option<i64>,
    /// Whether it records a deletion.
    pub(crate) deleted: bool,
    /// The surrogate key's value.
    pub(crate) surrogate: Option<String>,
    /// Every attribute's value, in the relation's attribute order (empty for null).
    pub(crate) values: Vec<String>,
}

/// Microseconds since the epoch of a timestamp (or date) column.
pub(crate) fn micros(array: &ArrayRef) -> Result<Vec<Option<i64>>, String> {
    let typed = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .map_err(|err| err.to_string())?;
    let values = typed
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or("a cast to a timestamp is a timestamp")?;
    Ok(values.iter().collect())
}

/// A deletion flag column: `'True'` text (dbt's `dbt_is_deleted`) or a boolean.
pub(crate) fn flags(array: &ArrayRef) -> Result<Vec<bool>, String> {
    let text = cast(array, &DataType::Utf8).map_err(|err| err.to_string())?;
    let text = text
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or("a cast to text is text")?;
    Ok(text
        .iter()
        .map(|flag| flag.is_some_and(|flag| flag.eq_ignore_ascii_case("true")))
        .collect())
}

/// Every value of `array` as display text (null as `None`).
pub(crate) fn texts(array: &ArrayRef) -> Result<Vec<Option<String>>, String> {
    let batch =
        RecordBatch::try_from_iter([("value", array.clone())]).map_err(|e| e.to_string())?;
    Ok(display_rows(&batch)?
        .into_iter()
        .map(|mut row| row.pop().flatten())
        .collect())
}

/// The rows of `table` (only those of `key` when given), as versions.
pub(crate) async fn read_versions(
    storage: &Arc<dyn Storage>,
    table: &Scd2Table,
    key: Option<&str>,
) -> Result<Vec<VersionRow>, HistoryError> {
    let unreadable = |reason: String| HistoryError::Unreadable {
        relation: table.relation.relation.clone(),
        reason,
    };
    let delta = DeltaTable::new(storage.clone(), table.table.clone());
    let snapshot = delta.snapshot().await?;
    let relation = &table.relation;
    let mut columns = vec![
        relation.key.clone(),
        table.valid_from.clone(),
        table.valid_to.clone(),
    ];
    columns.extend(table.deleted.clone());
    columns.extend(relation.surrogate_key.clone());
    columns.extend(relation.attributes.iter().cloned());
    let batch = match key {
        Some(key) => {
            let key_type = snapshot
                .schema()
                .field_with_name(&relation.key)
                .map_err(|err| unreadable(err.to_string()))?
                .data_type()
                .clone();
            let wanted: ArrayRef = Arc::new(StringArray::from(vec![key]));
            let values = cast(&wanted, &key_type).map_err(|err| unreadable(err.to_string()))?;
            delta
                .read_columns_for_keys(&snapshot, &columns, &relation.key, &values)
                .await?
        }
        None => delta.read_columns(&snapshot, &columns).await?,
    };
    let keys = texts(batch.column(0)).map_err(unreadable)?;
    let from = micros(batch.column(1)).map_err(unreadable)?;
    let to = micros(batch.column(2)).map_err(unreadable)?;
    let mut next = 3;
    let deleted = match &table.deleted {
        Some(_) => {
            next += 1;
            flags(batch.column(next - 1)).map_err(unreadable)?
        }
        None => vec![false; batch.num_rows()],
    };
    let surrogates = match &relation.surrogate_key {
        Some(_) => {
            next += 1;
            texts(batch.column(next - 1)).map_err(unreadable)?
        }
        None => vec![None; batch.num_rows()],
    };
    let attributes = batch.project(&(next..batch.num_columns()).collect::<Vec<_>>())?;
    let values = display_rows(&attributes).map_err(unreadable)?;
    let mut rows = Vec::new();
    for (row, values) in values.into_iter().enumerate() {
        let Some(row_key) = &keys[row] else {
            continue;
        };
        if key.is_some_and(|key| key != row_key) {
            continue;
        }
        let from = from[row].ok_or_else(|| {
            unreadable(format!(
                "key {row_key} has a version without {}",
                table.valid_from
            ))
        })?;
        rows.push(VersionRow {
            key: row_key.clone(),
            from,
            to: to[row],
            deleted: deleted[row],
            surrogate: surrogates[row].clone(),
            values: values.into_iter().map(Option::unwrap_or_default).collect(),
        });
    }
    Ok(rows)
}

/// One key's versions in the order they happened: along the chain from each version's
/// valid_to to the next one's valid_from, starting at the earliest version no other
/// version ends at. (A deletion version is dated when the snapshot ran, which may be
/// after the later restore's valid_from, so sorting by valid_from alone would misplace
/// it.) Versions off the chain follow by valid_from.
pub(crate) fn in_order(mut versions: Vec<VersionRow>) -> Vec<VersionRow> {
    versions.sort_by_key(|v| (v.from, v.to.is_none(), v.to));
    let mut ordered = Vec::with_capacity(versions.len());
    let mut left: Vec<Option<VersionRow>> = versions.into_iter().map(Some).collect();
    while let Some(start) = {
        let ends: Vec<i64> = left.iter().flatten().filter_map(|v| v.to).collect();
        left.iter()
            .position(|v| v.as_ref().is_some_and(|v| !ends.contains(&v.from)))
            .or_else(|| left.iter().position(Option::is_some))
    } {
        let mut current = left[start].take();
        while let Some(version) = current {
            let to = version.to;
            ordered.push(version);
            current = to
                .and_then(|to| {
                    left.iter()
                        .position(|v| v.as_ref().is_some_and(|v| v.from == to))
                })
                .and_then(|next| left[next].take());
        }
    }
    ordered
}

/// Each key's versions, in order, keys ascending (as numbers when they all are).
pub(crate) fn by_key(rows: Vec<VersionRow>) -> Vec<(String, Vec<VersionRow>)> {
    let mut keys: BTreeMap<String, Vec<VersionRow>> = BTreeMap::new();
    for row in rows {
        keys.entry(row.key.clone()).or_default().push(row);
    }
    let mut keys: Vec<(String, Vec<VersionRow>)> = keys
        .into_iter()
        .map(|(key, versions)| (key, in_order(versions)))
        .collect();
    if keys.iter().all(|(key, _)| key.parse::<i64>().is_ok()) {
        keys.sort_by_key(|(key, _)| key.parse::<i64>().unwrap_or_default());
    }
    keys
}

/// How each version came to be: the first is created, a deletion deleted, the version
/// after a deletion restored, any other changed.
pub(crate) fn kinds(versions: &[VersionRow]) -> Vec<VersionKind> {
    versions
        .iter()
        .enumerate()
        .map(|(index, version)| match index {
            0 => VersionKind::Created,
            _ if version.deleted => VersionKind::Deleted,
            _ if versions[index - 1].deleted => VersionKind::Restored,
            _ => VersionKind::Changed,
        })
        .collect()
}

/// The attributes of `version` that differ from `previous`.
pub(crate) fn changes(
    attributes: &[String],
    previous: &VersionRow,
    version: &VersionRow,
) -> Vec<AttributeChange> {
    attributes
        .iter()
        .zip(previous.values.iter().zip(&version.values))
        .filter(|(_, (old, new))| old != new)
        .map(|(column, (old, new))| AttributeChange {
            column: column.clone(),
            old: old.clone(),
            new: new.clone(),
        })
        .collect()
}

/// A version's values, short: its non-empty attributes (a first and last name
/// together), the first three joined by ` · `.
fn label(attributes: &[String], version: &VersionRow) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (index, (column, value)) in attributes.iter().zip(&version.values).enumerate() {
        if value.is_empty() {
            continue;
        }
        let after_first_name = index > 0
            && attributes[index - 1].ends_with("first_name")
            && !version.values[index - 1].is_empty();
        match parts.last_mut() {
            Some(last) if after_first_name && column.ends_with("last_name") => {
                last.push(' ');
                last.push_str(value);
            }
            _ => parts.push(value.clone()),
        }
    }
    parts.truncate(3);
    parts.join(" · ")
}

/// The attribute of the key's versions (the newest first) whose value contains
/// `needle` (lower case).
fn matching_attribute(
    attributes: &[String],
    versions: &[VersionRow],
    needle: &str,
) -> Option<AttributeValue> {
    versions.iter().rev().find_map(|version| {
        attributes
            .iter()
            .zip(&version.values)
            .find(|(_, value)| value.to_lowercase().contains(needle))
            .map(|(column, value)| AttributeValue {
                column: column.clone(),
                value: value.clone(),
            })
    })
}

/// Up to `limit` keys matching `query` (see [`crate::lakehouse::Lakehouse::scd2_search`]).
pub(crate) fn search(
    attributes: &[String],
    keys: &[(String, Vec<VersionRow>)],
    query: &str,
    limit: usize,
) -> Vec<KeyMatch> {
    let query = query.trim();
    let found = |key: &String, versions: &Vec<VersionRow>, matched| KeyMatch {
        key: key.clone(),
        label: versions
            .iter()
            .rev()
            .find(|v| v.to.is_none() && !v.deleted)
            .or(versions.last())
            .map(|version| label(attributes, version))
            .unwrap_or_default(),
        matched,
        versions: versions.len(),
    };
    if query.is_empty() {
        return keys
            .iter()
            .take(limit)
            .map(|(key, versions)| found(key, versions, None))
            .collect();
    }
    let mut matches: Vec<KeyMatch> = Vec::new();
    if query.chars().all(|c| c.is_ascii_digit()) {
        let exact = keys.iter().filter(|(key, _)| key == query);
        let prefixed = keys
            .iter()
            .filter(|(key, _)| key != query && key.starts_with(query));
        matches.extend(
            exact
                .chain(prefixed)
                .map(|(key, versions)| found(key, versions, None)),
        );
    }
    let needle = query.to_lowercase();
    for (key, versions) in keys {
        if matches.len() >= limit {
            break;
        }
        if matches.iter().any(|m| &m.key == key) {
            continue;
        }
        if let Some(matched) = matching_attribute(attributes, versions, &needle) {
            matches.push(found(key, versions, Some(matched)));
        }
    }
    matches.truncate(limit);
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(from: i64, to: Option<i64>, deleted: bool, values: &[&str]) -> VersionRow {
        VersionRow {
            key: "7".to_owned(),
            from,
            to,
            deleted,
            surrogate: None,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn a_deletion_dated_after_its_restore_stays_between_them() {
        let created = version(10, Some(500), false, &["a"]);
        let deleted = version(500, Some(20), true, &["a"]);
        let restored = version(20, None, false, &["b"]);
        let ordered = in_order(vec![restored.clone(), deleted.clone(), created.clone()]);
        assert_eq!(ordered, vec![created, deleted, restored]);
        assert_eq!(
            kinds(&ordered),
            vec![
                VersionKind::Created,
                VersionKind::Deleted,
                VersionKind::Restored
            ]
        );
    }

    #[test]
    fn versions_off_the_chain_follow_by_valid_from() {
        let first = version(10, Some(15), false, &["a"]);
        let other = version(30, None, false, &["c"]);
        let second = version(20, Some(25), false, &["b"]);
        let ordered = in_order(vec![other.clone(), second.clone(), first.clone()]);
        assert_eq!(ordered, vec![first, second, other]);
    }

    #[test]
    fn search_puts_the_id_first_then_prefixes_then_attribute_text() {
        let attributes = vec![
            "first_name".to_owned(),
            "last_name".to_owned(),
            "email".to_owned(),
        ];
        let row = |key: &str, values: &[&str]| VersionRow {
            key: key.to_owned(),
            ..version(1, None, false, values)
        };
        let keys = by_key(vec![
            row("360", &["Ann", "Lee", "ann@x.com"]),
            row("36", &["Bo", "Ma", "bo@x.com"]),
            row("5", &["Cy", "Né", "cy36@x.com"]),
            row("40", &["Di", "Ox", "di@x.com"]),
        ]);
        assert_eq!(
            keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["5", "36", "40", "360"]
        );
        let found = search(&attributes, &keys, "36", 10);
        let ids: Vec<&str> = found.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(ids, ["36", "360", "5"]);
        assert_eq!(found[0].label, "Bo Ma · bo@x.com");
        assert_eq!(
            found[2].matched,
            Some(AttributeValue {
                column: "email".to_owned(),
                value: "cy36@x.com".to_owned()
            })
        );
        let by_text = search(&attributes, &keys, "OX", 10);
        assert_eq!(by_text.len(), 1);
        assert_eq!(by_text[0].key, "40");
        assert_eq!(search(&attributes, &keys, "", 2).len(), 2);
    }
}
