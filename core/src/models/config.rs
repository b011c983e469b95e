//! Node configuration as dbt layers it: the project file by folder, then the YAML
//! properties, then `config()` in the model.

use std::collections::BTreeMap;

use serde_json::Value;

/// A node's configuration: every key dbt knows or a user wrote, merged by precedence.
/// Tags add up across levels; every other key is replaced by the more specific level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeConfig {
    values: BTreeMap<String, Value>,
}

/// How a model is materialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialization {
    /// A DataFusion view, planned again on every read.
    View,
    /// A Delta table, overwritten by every run.
    Table,
    /// Inlined as a CTE into the models that ref it.
    Ephemeral,
    /// A Delta table that later runs add to.
    Incremental,
}

impl Materialization {
    /// dbt's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Ephemeral => "ephemeral",
            Materialization::Incremental => "incremental",
        }
    }
}

/// How an incremental model adds its new rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementalStrategy {
    /// Insert them.
    Append,
    /// Upsert on `unique_key`.
    Merge,
    /// Delete the rows with their keys, then insert them.
    DeleteInsert,
}

/// What an incremental model does when its columns change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSchemaChange {
    /// Write only the table's columns.
    Ignore,
    /// Fail the model.
    Fail,
    /// Add the new columns.
    AppendNewColumns,
    /// Add the new columns and drop the ones gone.
    SyncAllColumns,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A hook config's entries: a SQL string, `{sql: …}`, or a list of either.
fn hook_values(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.iter().flat_map(|i| hook_values(Some(i))).collect(),
        Some(Value::String(sql)) => vec![Value::from(sql.clone())],
        Some(Value::Object(hook)) => hook
            .get("sql")
            .and_then(Value::as_str)
            .map(|sql| vec![Value::from(sql)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Which of a node's hooks: before or after it is materialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `pre-hook` / `pre_hook`.
    Pre,
    /// `post-hook` / `post_hook`.
    Post,
}

impl HookKind {
    /// dbt's config key.
    pub fn key(self) -> &'static str {
        match self {
            HookKind::Pre => "pre-hook",
            HookKind::Post => "post-hook",
        }
    }
}

impl NodeConfig {
    /// The hooks of `kind`, as Jinja templates of SQL, in the order they run.
    pub fn hooks(&self, kind: HookKind) -> Vec<String> {
        strings(self.values.get(kind.key()))
    }

    /// A seed's `column_types`: column → SQL type.
    pub fn column_types(&self) -> BTreeMap<String, String> {
        match self.values.get("column_types") {
            Some(Value::Object(types)) => types
                .iter()
                .filter_map(|(column, ty)| ty.as_str().map(|ty| (column.clone(), ty.to_owned())))
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    /// Applies the keys of `level` on top (a more specific level wins; tags add up).
    pub fn apply(&mut self, level: &BTreeMap<String, Value>) {
        for (key, value) in level {
            let key = match key.trim_start_matches('+') {
                "pre_hook" => "pre-hook",
                "post_hook" => "post-hook",
                key => key,
            };
            if key == "pre-hook" || key == "post-hook" {
                // Hooks add up across levels, the more general first, as dbt runs them.
                let mut hooks = hook_values(self.values.get(key));
                hooks.extend(hook_values(Some(value)));
                self.values.insert(key.to_owned(), Value::from(hooks));
            } else if key == "tags" {
                let mut tags = strings(self.values.get("tags"));
                for tag in strings(Some(value)) {
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                self.values.insert("tags".to_owned(), Value::from(tags));
            } else {
                self.values.insert(key.to_owned(), value.clone());
            }
        }
    }

    /// One key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// Every key, for the manifest.
    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// `materialized`, checked.
    pub fn materialized(&self) -> Result<Materialization, String> {
        match self.values.get("materialized").and_then(Value::as_str) {
            None | Some("view") => Ok(Materialization::View),
            Some("table") => Ok(Materialization::Table),
            Some("ephemeral") => Ok(Materialization::Ephemeral),
            Some("incremental") => Ok(Materialization::Incremental),
            Some(other) => Err(format!(
                "materialized {other:?} is not one of view, table, ephemeral, incremental"
            )),
        }
    }

    /// `tags`.
    pub fn tags(&self) -> Vec<String> {
        strings(self.values.get("tags"))
    }

    /// `enabled` (true unless set false).
    pub fn enabled(&self) -> bool {
        self.values.get("enabled").and_then(Value::as_bool) != Some(false)
    }

    /// `unique_key`, as a string or a list.
    pub fn unique_key(&self) -> Vec<String> {
        strings(self.values.get("unique_key"))
    }

    /// `incremental_strategy`, checked (default merge when there is a unique key,
    /// append otherwise).
    pub fn incremental_strategy(&self) -> Result<IncrementalStrategy, String> {
        match self
            .values
            .get("incremental_strategy")
            .and_then(Value::as_str)
        {
            None if self.unique_key().is_empty() => Ok(IncrementalStrategy::Append),
            None | Some("merge") => Ok(IncrementalStrategy::Merge),
            Some("append") => Ok(IncrementalStrategy::Append),
            Some("delete+insert") => Ok(IncrementalStrategy::DeleteInsert),
            Some(other) => Err(format!(
                "incremental_strategy {other:?} is not one of append, merge, delete+insert"
            )),
        }
    }

    /// `on_schema_change`, checked (default ignore).
    pub fn on_schema_change(&self) -> Result<OnSchemaChange, String> {
        match self.values.get("on_schema_change").and_then(Value::as_str) {
            None | Some("ignore") => Ok(OnSchemaChange::Ignore),
            Some("fail") => Ok(OnSchemaChange::Fail),
            Some("append_new_columns") => Ok(OnSchemaChange::AppendNewColumns),
            Some("sync_all_columns") => Ok(OnSchemaChange::SyncAllColumns),
            Some(other) => Err(format!(
                "on_schema_change {other:?} is not one of ignore, fail, append_new_columns, sync_all_columns"
            )),
        }
    }

    /// `merge_update_columns`.
    pub fn merge_update_columns(&self) -> Vec<String> {
        strings(self.values.get("merge_update_columns"))
    }

    /// `merge_exclude_columns`.
    pub fn merge_exclude_columns(&self) -> Vec<String> {
        strings(self.values.get("merge_exclude_columns"))
    }

    /// `incremental_predicates`.
    pub fn incremental_predicates(&self) -> Vec<String> {
        strings(self.values.get("incremental_predicates"))
    }

    /// A test's `severity`: warn or error (default).
    pub fn warn_only(&self) -> bool {
        self.values
            .get("severity")
            .and_then(Value::as_str)
            .is_some_and(|severity| severity.eq_ignore_ascii_case("warn"))
    }

    /// A test's `where` filter.
    pub fn where_filter(&self) -> Option<String> {
        self.values
            .get("where")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A test's `store_failures`.
    pub fn store_failures(&self) -> bool {
        self.values.get("store_failures").and_then(Value::as_bool) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn level(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn later_levels_win_and_tags_add_up() {
        let mut config = NodeConfig::default();
        config.apply(&level(
            json!({"+materialized": "view", "+tags": ["nightly"]}),
        ));
        config.apply(&level(json!({"materialized": "table", "tags": "finance"})));
        config.apply(&level(
            json!({"tags": ["nightly", "pii"], "unique_key": ["a", "b"]}),
        ));
        assert_eq!(config.materialized(), Ok(Materialization::Table));
        assert_eq!(config.tags(), ["nightly", "finance", "pii"]);
        assert_eq!(config.unique_key(), ["a", "b"]);
        assert_eq!(
            config.incremental_strategy(),
            Ok(IncrementalStrategy::Merge)
        );
        assert_eq!(config.on_schema_change(), Ok(OnSchemaChange::Ignore));
        assert!(config.enabled());
    }

    #[test]
    fn hooks_add_up_from_every_level() {
        let mut config = NodeConfig::default();
        config.apply(&level(
            json!({"+pre-hook": "select 1", "+post-hook": ["a", {"sql": "b"}]}),
        ));
        config.apply(&level(json!({"post_hook": "c {{ this }}"})));
        assert_eq!(config.hooks(HookKind::Pre), ["select 1"]);
        assert_eq!(config.hooks(HookKind::Post), ["a", "b", "c {{ this }}"]);
        config.apply(&level(json!({"column_types": {"id": "bigint"}})));
        assert_eq!(config.column_types()["id"], "bigint");
    }

    #[test]
    fn bad_values_are_named() {
        let mut config = NodeConfig::default();
        config.apply(&level(
            json!({"materialized": "cube", "incremental_strategy": "upsert"}),
        ));
        assert!(config.materialized().unwrap_err().contains("\"cube\""));
        assert!(config
            .incremental_strategy()
            .unwrap_err()
            .contains("\"upsert\""));
        assert_eq!(
            NodeConfig::default().incremental_strategy(),
            Ok(IncrementalStrategy::Append)
        );
    }
}
