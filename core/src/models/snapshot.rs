//! SCD2 snapshots with dbt's semantics, and without its known bugs.
//!
//! A snapshot keeps every version of every record of a source. Each run compares the
//! source's rows with the snapshot's current versions (`dbt_valid_to` null, or
//! `dbt_valid_to_current`), closes the versions that changed and adds the new ones.
//! Where dbt goes wrong, this does not:
//!
//! - a new source column is added to the snapshot, null on older versions (dbt-core
//!   #1797, #3146, #11735);
//! - a key never gets two current versions: several source rows for one key become
//!   successive versions (timestamp strategy) or the last one (check strategy), and a
//!   NULL in a composite key compares equal to NULL (#2034, #4661, #11235, #11950);
//! - a record deleted and later restored reopens as a new current version
//!   (dbt-adapters #1240);
//! - `hard_deletes: new_record` adds one deletion row per deletion, not one per run
//!   (dbt-adapters #654);
//! - a run with no source change writes nothing.

mod plan;

pub(crate) use plan::plan;

use super::config::NodeConfig;

/// How a change is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// A newer value in this column is a new version.
    Timestamp {
        /// The column holding each row's last update time.
        updated_at: String,
    },
    /// A different value in any of these columns (`None`: all but the key) is.
    Check {
        /// The columns.
        columns: Option<Vec<String>>,
    },
}

/// What a key missing from the source does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    /// Nothing.
    Ignore,
    /// Its current version is closed.
    Invalidate,
    /// Its current version is closed and a deletion version (`dbt_is_deleted`) added.
    NewRecord,
}

/// The names of the meta columns (`snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaNames {
    /// `dbt_scd_id`.
    pub scd_id: String,
    /// `dbt_updated_at`.
    pub updated_at: String,
    /// `dbt_valid_from`.
    pub valid_from: String,
    /// `dbt_valid_to`.
    pub valid_to: String,
    /// `dbt_is_deleted`.
    pub is_deleted: String,
}

/// A snapshot's configuration, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// The record's key: one or more columns.
    pub unique_key: Vec<String>,
    /// How changes are detected.
    pub strategy: Strategy,
    /// What deletions do.
    pub hard_deletes: HardDeletes,
    /// The meta columns' names.
    pub meta: MetaNames,
    /// `dbt_valid_to_current`: the SQL expression current versions hold instead of null.
    pub valid_to_current: Option<String>,
}

fn text(config: &NodeConfig, key: &str) -> Option<String> {
    config.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

impl SnapshotConfig {
    /// Reads and checks a snapshot's configuration.
    pub fn from_config(config: &NodeConfig) -> Result<Self, String> {
        let unique_key = config.unique_key();
        if unique_key.is_empty() {
            return Err("a snapshot needs a unique_key".to_owned());
        }
        let strategy = match text(config, "strategy").as_deref() {
            Some("timestamp") => Strategy::Timestamp {
                updated_at: text(config, "updated_at")
                    .ok_or("the timestamp strategy needs updated_at")?,
            },
            Some("check") => Strategy::Check {
                columns: match config.get("check_cols") {
                    Some(serde_json::Value::String(all)) if all == "all" => None,
                    Some(serde_json::Value::Array(columns)) => Some(
                        columns
                            .iter()
                            .filter_map(|c| c.as_str().map(str::to_owned))
                            .collect(),
                    ),
                    _ => {
                        return Err(
                            "the check strategy needs check_cols: a list or 'all'".to_owned()
                        )
                    }
                },
            },
            Some(other) => {
                return Err(format!("strategy {other:?} is not timestamp or check"));
            }
            None => return Err("a snapshot needs a strategy: timestamp or check".to_owned()),
        };
        let hard_deletes = match text(config, "hard_deletes").as_deref() {
            None | Some("ignore") => {
                if config
                    .get("invalidate_hard_deletes")
                    .and_then(|v| v.as_bool())
                    == Some(true)
                {
                    HardDeletes::Invalidate
                } else {
                    HardDeletes::Ignore
                }
            }
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            Some(other) => {
                return Err(format!(
                    "hard_deletes {other:?} is not ignore, invalidate or new_record"
                ))
            }
        };
        let names = config
            .get("snapshot_meta_column_names")
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default();
        let name = |key: &str| {
            names
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or(key)
                .to_owned()
        };
        Ok(Self {
            unique_key,
            strategy,
            hard_deletes,
            meta: MetaNames {
                scd_id: name("dbt_scd_id"),
                updated_at: name("dbt_updated_at"),
                valid_from: name("dbt_valid_from"),
                valid_to: name("dbt_valid_to"),
                is_deleted: name("dbt_is_deleted"),
            },
            valid_to_current: text(config, "dbt_valid_to_current"),
        })
    }
}
