//! SCD2 history per key: the versions a dbt snapshot (or a dimension built from one)
//! keeps of a business key, on a time axis, with what changed between them, the
//! snapshot commit that wrote each, the Bronze batch and file its Silver row came from,
//! and the facts that point at each version (the point-in-time join made visible).
//!
//! The [`crate::lakehouse::Lakehouse`] methods `scd2_relations`, `scd2_search` and
//! `scd2_history` are the API; this module holds their types and errors.

mod links;
mod relations;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod versions;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub(crate) use relations::{scd2_table, scd2_tables};
pub(crate) use versions::{by_key, read_versions, search};

use crate::delta::DeltaError;
use crate::silver::{Silver, SilverError};
use crate::storage::{now_ms, Storage, StorageError};

/// A relation that keeps versions of a key: a dbt snapshot, or a model built from one
/// that carries valid_from/valid_to (`dim_customer`, `dim_driver`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scd2Relation {
    /// The lineage id, `<layer>.<name>`: `gold.dim_customer`.
    pub relation: String,
    /// The business key column: `customer_id`.
    pub key: String,
    /// The snapshot that versions it (`gold.customers_snapshot`); itself for a snapshot.
    pub snapshot: String,
    /// The Silver entity feeding the snapshot: `customers`.
    pub entity: Option<String>,
    /// A dimension's surrogate key column (`customer_sk`); `None` for a snapshot.
    pub surrogate_key: Option<String>,
    /// The Gold tables with a column named like the surrogate key: `gold.fact_trips`.
    pub facts: Vec<String>,
    /// The versioned columns (not the key, validity, meta or surrogate key columns).
    pub attributes: Vec<String>,
}

/// A key found by [`crate::lakehouse::Lakehouse::scd2_search`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyMatch {
    /// The key's value: `36`.
    pub key: String,
    /// The current (or last) version's attributes, short: `Ada Lovelace · ada@x.com`.
    pub label: String,
    /// The attribute that matched a text search (`None` for an id match).
    pub matched: Option<AttributeValue>,
    /// How many versions the key has.
    pub versions: usize,
}

/// An attribute's value, as display text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// The column.
    pub column: String,
    /// Its value as display text (empty for null).
    pub value: String,
}

/// Every version of one key, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyHistory {
    /// The relation.
    pub relation: Scd2Relation,
    /// The key's value.
    pub key: String,
    /// The versions, oldest first.
    pub versions: Vec<Scd2Version>,
    /// The earliest valid_from, in ms since the epoch.
    pub axis_start_ms: i64,
    /// The latest valid_to, or now for an open version, in ms since the epoch.
    pub axis_end_ms: i64,
}

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scd2Version {
    /// 1-based, oldest first.
    pub number: usize,
    /// When it became valid, in ms since the epoch.
    pub valid_from_ms: i64,
    /// When it stopped being valid; `None` for the current, open-ended version.
    pub valid_to_ms: Option<i64>,
    /// valid_from for display: `2025-03-16 18:07:45`.
    pub valid_from: String,
    /// valid_to for display.
    pub valid_to: Option<String>,
    /// Whether it is the current version.
    pub is_current: bool,
    /// How it came to be.
    pub kind: VersionKind,
    /// The dimension's surrogate key of this version (`customer_sk`).
    pub surrogate: Option<String>,
    /// Every attribute, as display text.
    pub values: Vec<AttributeValue>,
    /// The attributes that differ from the previous version (empty for the first).
    pub changes: Vec<AttributeChange>,
    /// The Delta version of the snapshot table whose commit added this version.
    pub snapshot_version: Option<i64>,
    /// Where its Silver row came from.
    pub origin: Option<RowOrigin>,
    /// The facts whose surrogate key is this version's.
    pub facts: Vec<FactLink>,
}

/// How a version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// The key's first version.
    Created,
    /// A change of attributes.
    Changed,
    /// The key was deleted at the source.
    Deleted,
    /// The key came back after a deletion.
    Restored,
}

/// An attribute that changed between two consecutive versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// The column.
    pub column: String,
    /// The previous version's value.
    pub old: String,
    /// This version's value.
    pub new: String,
}

/// Where a version's Silver row came from in Bronze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowOrigin {
    /// The Bronze table: `bronze/customers`.
    pub bronze_table: String,
    /// The Bronze batch (`offsets/<batch>` of its checkpoint).
    pub batch_id: i64,
    /// The Bronze Delta version that appended it.
    pub bronze_version: Option<i64>,
    /// The landing file: `landing/customers/batch_002/customers.csv`.
    pub source_file: String,
}

/// The facts that point at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactLink {
    /// The fact table: `gold.fact_trips`.
    pub relation: String,
    /// Its key column: `trip_id`.
    pub key_column: String,
    /// How many facts point at the version.
    pub count: u64,
    /// The first 200 fact keys, ascending.
    pub keys: Vec<String>,
}

/// Why a key's history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The relation does not keep versions.
    #[error("{relation} is not an SCD2 relation (there are: {known})")]
    NotScd2 {
        /// The relation asked for.
        relation: String,
        /// The SCD2 relations there are, comma-separated.
        known: String,
    },
    /// The relation has no rows for the key.
    #[error("{relation} has no key {key}")]
    UnknownKey {
        /// The relation.
        relation: String,
        /// The key asked for.
        key: String,
    },
    /// The relation's table could not be read as SCD2 versions.
    #[error("{relation} cannot be read as SCD2 versions: {reason}")]
    Unreadable {
        /// The relation.
        relation: String,
        /// What is wrong.
        reason: String,
    },
    /// A table could not be read.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The Silver pipeline could not trace the Bronze rows.
    #[error(transparent)]
    Silver(#[from] SilverError),
    /// Rows could not be shaped.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}

/// A time in microseconds for display: `2025-03-16 18:07:45`, with milliseconds when
/// it has them.
fn display_time(micros: i64) -> String {
    let Some(time) = chrono::DateTime::from_timestamp_micros(micros) else {
        return micros.to_string();
    };
    if micros % 1_000_000 == 0 {
        time.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }
}

/// Every version of `key` in `table`, with its changes, snapshot commit, origin (traced
/// through `silver`'s pipeline for the relation's entity) and facts.
pub(crate) async fn key_history(
    storage: &Arc<dyn Storage>,
    table: relations::Scd2Table,
    silver: &Silver,
    key: &str,
) -> Result<KeyHistory, HistoryError> {
    let key = key.trim();
    let rows = versions::read_versions(storage, &table, Some(key)).await?;
    if rows.is_empty() {
        return Err(HistoryError::UnknownKey {
            relation: table.relation.relation.clone(),
            key: key.to_owned(),
        });
    }
    let rows = versions::in_order(rows);
    let kinds = versions::kinds(&rows);
    let snapshot_versions = links::snapshot_versions(storage, &table, key, &rows).await?;
    let pipeline = table
        .relation
        .entity
        .as_ref()
        .and_then(|entity| silver.pipelines().iter().find(|p| &p.entity == entity));
    let origins = match pipeline {
        Some(pipeline) => links::origins(storage, silver, pipeline, &table, key, &rows).await?,
        None => vec![None; rows.len()],
    };
    let mut facts = links::facts(storage, &table, &rows).await?;
    let attributes = &table.relation.attributes;
    let now = now_ms();
    let instants = rows
        .iter()
        .flat_map(|row| [Some(row.from), row.to])
        .flatten();
    let axis_start_ms = instants.clone().min().unwrap_or_default() / 1000;
    let open = rows.iter().any(|row| row.to.is_none());
    let axis_end_ms = (instants.max().unwrap_or_default() / 1000).max(if open { now } else { 0 });
    let versions = rows
        .iter()
        .enumerate()
        .map(|(index, row)| Scd2Version {
            number: index + 1,
            valid_from_ms: row.from / 1000,
            valid_to_ms: row.to.map(|to| to / 1000),
            valid_from: display_time(row.from),
            valid_to: row.to.map(display_time),
            is_current: row.to.is_none(),
            kind: kinds[index],
            surrogate: row.surrogate.clone(),
            values: attributes
                .iter()
                .zip(&row.values)
                .map(|(column, value)| AttributeValue {
                    column: column.clone(),
                    value: value.clone(),
                })
                .collect(),
            changes: match index {
                0 => Vec::new(),
                _ => versions::changes(attributes, &rows[index - 1], row),
            },
            snapshot_version: snapshot_versions[index],
            origin: origins[index].clone(),
            facts: std::mem::take(&mut facts[index]),
        })
        .collect();
    Ok(KeyHistory {
        relation: table.relation,
        key: key.to_owned(),
        versions,
        axis_start_ms,
        axis_end_ms,
    })
}
