//! What autocomplete offers: the names `ref()` and `source()` take, the macros with
//! their arguments, and every relation's columns from the store's tables and
//! `target/catalog.json`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{Completions, MacroSignature, RelationColumns, SourceTable};
use crate::models::{Node, Project};
use crate::sql::SqlTable;

/// A macro definition: `{% macro name(arguments) %}`.
static MACRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%[-+]?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)").expect("valid regex")
});

/// dbt's context functions and cross-database macros the engine knows.
const DBT_MACROS: [(&str, &str); 20] = [
    ("ref", "ref(model_name)"),
    ("source", "source(source_name, table_name)"),
    ("config", "config(materialized=, unique_key=, ...)"),
    ("var", "var(name, default)"),
    ("env_var", "env_var(name, default)"),
    ("is_incremental", "is_incremental()"),
    ("log", "log(message, info=False)"),
    ("dbt.date_trunc", "dbt.date_trunc(datepart, date)"),
    (
        "dbt.datediff",
        "dbt.datediff(first_date, second_date, datepart)",
    ),
    (
        "dbt.dateadd",
        "dbt.dateadd(datepart, interval, from_date_or_timestamp)",
    ),
    ("dbt.safe_cast", "dbt.safe_cast(field, type)"),
    ("dbt.current_timestamp", "dbt.current_timestamp()"),
    ("dbt.concat", "dbt.concat(fields)"),
    ("dbt.hash", "dbt.hash(field)"),
    ("dbt.string_literal", "dbt.string_literal(value)"),
    ("dbt.type_string", "dbt.type_string()"),
    ("dbt.type_timestamp", "dbt.type_timestamp()"),
    ("dbt.type_numeric", "dbt.type_numeric()"),
    ("dbt.type_int", "dbt.type_int()"),
    ("dbt.type_bigint", "dbt.type_bigint()"),
];

/// Whether `ref()` takes the node: a model, snapshot or seed (not a test or analysis).
pub(crate) fn refable(node: &Node) -> bool {
    matches!(node.resource_type.name(), "model" | "snapshot" | "seed")
}

/// The macros the files under `macros/` define, with their arguments.
fn project_macros(files: &[(String, String)]) -> Vec<MacroSignature> {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("macros/") && path.ends_with(".sql"))
        .flat_map(|(_, text)| MACRO.captures_iter(text))
        .map(|found| {
            let arguments = found[2].split_whitespace().collect::<Vec<_>>().join(" ");
            MacroSignature {
                name: found[1].to_owned(),
                signature: format!("{}({arguments})", &found[1]),
            }
        })
        .collect()
}

/// The name autocomplete gives the relation `<schema>.<name>`: a model's name, a
/// source's `<source>.<table>`, else the SQL name.
fn relation_name(project: &Project, schema: &str, name: &str) -> String {
    if let Some(source) = project
        .sources
        .values()
        .find(|source| source.schema == schema && source.identifier == name)
    {
        return format!("{}.{}", source.source, source.name);
    }
    if schema == crate::models::GOLD_SCHEMA && project.model(name).is_some() {
        return name.to_owned();
    }
    format!("{schema}.{name}")
}

/// The relations of `catalog.json` (its nodes and sources) with their columns in order.
fn catalog_columns(project: &Project, catalog: &Value) -> Vec<RelationColumns> {
    let mut relations = Vec::new();
    for section in ["nodes", "sources"] {
        let Some(tables) = catalog.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (unique_id, table) in tables {
            let relation = match (project.nodes.get(unique_id), project.sources.get(unique_id)) {
                (Some(node), _) => node.name.clone(),
                (None, Some(source)) => format!("{}.{}", source.source, source.name),
                (None, None) => continue,
            };
            let mut columns: Vec<(u64, String)> = table
                .get("columns")
                .and_then(Value::as_object)
                .map(|columns| {
                    columns
                        .iter()
                        .map(|(name, column)| {
                            let index = column.get("index").and_then(Value::as_u64);
                            (index.unwrap_or(u64::MAX), name.clone())
                        })
                        .collect()
                })
                .unwrap_or_default();
            columns.sort();
            relations.push(RelationColumns {
                relation,
                columns: columns.into_iter().map(|(_, name)| name).collect(),
            });
        }
    }
    relations
}

/// What autocomplete offers in `project` (whose files are `files`): the store's tables
/// (`tables`) first, then `catalog.json`'s relations, then the columns documented in
/// the YAML, for each relation the first that knows it.
pub(crate) fn completions(
    project: &Project,
    files: &[(String, String)],
    tables: &[SqlTable],
    catalog: Option<&Value>,
) -> Completions {
    let models = project
        .nodes
        .values()
        .filter(|node| refable(node))
        .map(|node| node.name.clone())
        .collect();
    let sources = project
        .sources
        .values()
        .map(|source| SourceTable {
            source: source.source.clone(),
            table: source.name.clone(),
        })
        .collect();
    let mut macros = project_macros(files);
    macros.extend(DBT_MACROS.iter().map(|(name, signature)| MacroSignature {
        name: (*name).to_owned(),
        signature: (*signature).to_owned(),
    }));
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in tables {
        columns
            .entry(relation_name(project, &table.schema, &table.name))
            .or_insert_with(|| table.columns.iter().map(|c| c.name.clone()).collect());
    }
    for relation in catalog
        .map(|c| catalog_columns(project, c))
        .unwrap_or_default()
    {
        columns.entry(relation.relation).or_insert(relation.columns);
    }
    let documented = project
        .nodes
        .values()
        .filter(|node| refable(node))
        .map(|node| (node.name.clone(), &node.columns))
        .chain(project.sources.values().map(|source| {
            (
                format!("{}.{}", source.source, source.name),
                &source.columns,
            )
        }));
    for (relation, docs) in documented {
        if !docs.is_empty() {
            columns
                .entry(relation)
                .or_insert_with(|| docs.iter().map(|doc| doc.name.clone()).collect());
        }
    }
    Completions {
        models,
        sources,
        macros,
        columns: columns
            .into_iter()
            .filter(|(_, columns)| !columns.is_empty())
            .map(|(relation, columns)| RelationColumns { relation, columns })
            .collect(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::models::bundled_project;

    #[test]
    fn the_catalog_gives_columns_in_order_for_models_and_sources_it_knows() {
        let files = bundled_project();
        let project = Project::parse(&files, &BTreeMap::new()).expect("parse");
        let catalog = serde_json::json!({
            "nodes": {
                "model.medallion.dim_date": {"columns": {
                    "year": {"index": 2, "name": "year"},
                    "date_day": {"index": 1, "name": "date_day"},
                }},
                "model.other.gone": {"columns": {"x": {"index": 1}}},
            },
            "sources": {
                "source.medallion.silver.trips": {"columns": {"trip_id": {"index": 1}}},
            },
        });
        let completions = completions(&project, &files, &[], Some(&catalog));
        let columns = |relation: &str| {
            completions
                .columns
                .iter()
                .find(|r| r.relation == relation)
                .map(|r| r.columns.clone())
        };
        assert_eq!(
            columns("dim_date"),
            Some(vec!["date_day".to_owned(), "year".to_owned()])
        );
        assert_eq!(columns("silver.trips"), Some(vec!["trip_id".to_owned()]));
        assert_eq!(columns("gone"), None);
    }
}
