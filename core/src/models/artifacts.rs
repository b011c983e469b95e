//! dbt's artifacts: `target/manifest.json`, `target/run_results.json` and, after a run
//! that builds relations, `target/catalog.json`, shaped after dbt 1.10's (manifest v12,
//! run results v6, catalog v1) so that tools that read them (dbt docs) can.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::config::HookKind;
use super::jinja::GOLD_SCHEMA;
use super::project::{Project, ResourceType, TestKind};
use super::run::{RunOptions, RunResults};
use super::{ModelError, TARGET};
use crate::storage::{now_ms, Storage};

/// The dbt version whose artifact schemas these follow.
const DBT_VERSION: &str = "1.10.0";

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

fn metadata(schema: &str, project: &Project, invocation: &str) -> Value {
    json!({
        "dbt_schema_version": format!("https://schemas.getdbt.com/dbt/{schema}"),
        "dbt_version": DBT_VERSION,
        "generated_at": iso(now_ms()),
        "invocation_id": invocation,
        "adapter_type": "datafusion",
        "project_name": project.name,
        "env": {},
    })
}

fn columns(docs: &[super::project::ColumnDoc]) -> Value {
    Value::Object(
        docs.iter()
            .map(|column| {
                (
                    column.name.clone(),
                    json!({"name": column.name, "description": column.description, "meta": {}, "tags": []}),
                )
            })
            .collect(),
    )
}

/// `manifest.json`: every node and source, their dependencies, configs and docs.
pub(crate) fn manifest(
    project: &Project,
    compiled: &BTreeMap<String, String>,
    invocation: &str,
) -> Value {
    let mut nodes = Map::new();
    let mut parent_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut child_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in project.sources.keys() {
        parent_map.entry(id.clone()).or_default();
        child_map.entry(id.clone()).or_default();
    }
    for node in project.nodes.values() {
        let mut config = Map::new();
        for (key, value) in node.config.values() {
            config.insert(key.clone(), value.clone());
        }
        config.insert("enabled".to_owned(), Value::Bool(node.config.enabled()));
        config.insert("tags".to_owned(), json!(node.config.tags()));
        if let Some(materialized) = node.materialized {
            config.insert("materialized".to_owned(), json!(materialized.name()));
        }
        for kind in [HookKind::Pre, HookKind::Post] {
            let hooks: Vec<Value> = node
                .config
                .hooks(kind)
                .iter()
                .map(|sql| json!({"sql": sql, "transaction": true, "index": null}))
                .collect();
            config.insert(kind.key().to_owned(), Value::Array(hooks));
        }
        match node.resource_type {
            ResourceType::Seed => {
                config.insert("materialized".to_owned(), json!("seed"));
                config.insert("column_types".to_owned(), json!(node.config.column_types()));
                config
                    .entry("delimiter".to_owned())
                    .or_insert_with(|| json!(","));
            }
            ResourceType::Analysis => {
                config.insert("materialized".to_owned(), json!("view"));
            }
            _ => {}
        }
        if node.resource_type == ResourceType::Test {
            config.insert(
                "severity".to_owned(),
                json!(if node.config.warn_only() {
                    "WARN"
                } else {
                    "ERROR"
                }),
            );
        }
        let refs: Vec<Value> = node
            .depends_on
            .iter()
            .filter_map(|id| project.nodes.get(id))
            .map(|parent| json!({"name": parent.name, "package": null, "version": null}))
            .collect();
        let sources: Vec<Value> = node
            .depends_on
            .iter()
            .filter_map(|id| project.sources.get(id))
            .map(|source| json!([source.source, source.name]))
            .collect();
        let path = project
            .model_paths
            .iter()
            .chain(&project.seed_paths)
            .find_map(|root| node.original_file_path.strip_prefix(&format!("{root}/")))
            .unwrap_or(&node.original_file_path);
        // A seed's file is data, not code, as dbt's manifest has it.
        let raw_code = match node.resource_type {
            ResourceType::Seed => "",
            _ => node.raw_code.as_str(),
        };
        let builds_relation = match node.resource_type {
            ResourceType::Model => node.materialized != Some(super::Materialization::Ephemeral),
            ResourceType::Seed | ResourceType::Snapshot => true,
            ResourceType::Test | ResourceType::Analysis => false,
        };
        let mut entry = json!({
            "unique_id": node.unique_id,
            "resource_type": node.resource_type.name(),
            "name": node.name,
            "package_name": project.name,
            "path": path,
            "original_file_path": node.original_file_path,
            "fqn": node.fqn,
            "language": "sql",
            "raw_code": raw_code,
            "config": config,
            "tags": node.config.tags(),
            "description": node.description,
            "columns": columns(&node.columns),
            "depends_on": {"nodes": node.depends_on, "macros": []},
            "refs": refs,
            "sources": sources,
            "database": "medallion",
            "schema": GOLD_SCHEMA,
            "alias": node.name,
            "relation_name": if builds_relation {
                json!(format!("{GOLD_SCHEMA}.{}", node.name))
            } else {
                Value::Null
            },
        });
        if let Some(code) = compiled.get(&node.unique_id) {
            entry["compiled"] = json!(true);
            entry["compiled_code"] = json!(code);
        }
        if let Some(TestKind::Generic {
            test,
            attached_to,
            column,
        }) = &node.test
        {
            entry["column_name"] = json!(column);
            entry["attached_node"] = json!(attached_to);
            entry["test_metadata"] = json!({
                "name": test.name(),
                "kwargs": {"column_name": column, "model": format!("{{{{ get_where_subquery(ref('{}')) }}}}", project.nodes.get(attached_to).map(|n| n.name.as_str()).unwrap_or(attached_to))},
                "namespace": null,
            });
        }
        nodes.insert(node.unique_id.clone(), entry);
        parent_map.insert(node.unique_id.clone(), node.depends_on.clone());
        child_map.entry(node.unique_id.clone()).or_default();
        for parent in &node.depends_on {
            child_map
                .entry(parent.clone())
                .or_default()
                .push(node.unique_id.clone());
        }
    }
    let sources: Map<String, Value> = project
        .sources
        .values()
        .map(|source| {
            (
                source.unique_id.clone(),
                json!({
                    "unique_id": source.unique_id,
                    "resource_type": "source",
                    "name": source.name,
                    "source_name": source.source,
                    "package_name": project.name,
                    "original_file_path": source.file,
                    "fqn": [project.name.clone(), source.source.clone(), source.name.clone()],
                    "database": "medallion",
                    "schema": source.schema,
                    "identifier": source.identifier,
                    "relation_name": source.relation(),
                    "description": source.description,
                    "columns": columns(&source.columns),
                    "loader": "",
                    "config": {"enabled": true},
                }),
            )
        })
        .collect();
    let docs: Map<String, Value> = project
        .docs
        .iter()
        .map(|(name, (file, text))| {
            let unique_id = format!("doc.{}.{name}", project.name);
            let entry = json!({
                "name": name,
                "resource_type": "doc",
                "package_name": project.name,
                "path": file.split_once('/').map_or(file.as_str(), |(_, rest)| rest),
                "original_file_path": file,
                "unique_id": unique_id,
                "block_contents": text,
            });
            (unique_id, entry)
        })
        .collect();
    json!({
        "metadata": metadata("manifest/v12.json", project, invocation),
        "nodes": nodes,
        "sources": sources,
        "macros": {},
        "docs": docs,
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "semantic_models": {},
        "saved_queries": {},
        "unit_tests": {},
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
    })
}

/// `run_results.json`: one entry per node run, with its status, timing and rows.
pub(crate) fn run_results(
    project: &Project,
    run: &RunResults,
    options: &RunOptions,
    invocation: &str,
) -> Value {
    let results: Vec<Value> = run
        .results
        .iter()
        .map(|result| {
            let timing = json!([
                {"name": "compile", "started_at": iso(result.started_ms), "completed_at": iso(result.started_ms)},
                {"name": "execute", "started_at": iso(result.started_ms), "completed_at": iso(result.completed_ms)},
            ]);
            json!({
                "unique_id": result.unique_id,
                "status": result.status,
                "timing": timing,
                "thread_id": "Thread-1",
                "execution_time": result.seconds(),
                "adapter_response": {
                    "_message": result.message,
                    "rows_affected": result.rows_affected,
                },
                "message": result.message,
                "failures": result.failures,
                "compiled": !result.compiled_code.is_empty(),
                "compiled_code": result.compiled_code,
                "relation_name": result.relation_name,
                "batch_results": null,
            })
        })
        .collect();
    json!({
        "metadata": metadata("run-results/v6.json", project, invocation),
        "results": results,
        "elapsed_time": run.elapsed_ms as f64 / 1000.0,
        "args": {
            "which": run.command.name(),
            "select": options.select,
            "exclude": options.exclude,
            "full_refresh": options.full_refresh,
        },
    })
}

/// One relation as the catalog describes it: what the warehouse holds, not what the
/// project declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CatalogRelation {
    /// The node's or source's unique id.
    pub(crate) unique_id: String,
    /// A view (in the session) rather than a Delta table.
    pub(crate) view: bool,
    /// Its schema (`gold`, `silver`).
    pub(crate) schema: String,
    /// Its name in that schema.
    pub(crate) name: String,
    /// Its description, if documented.
    pub(crate) comment: Option<String>,
    /// Its columns in order: name and type, as Arrow prints it.
    pub(crate) columns: Vec<(String, String)>,
    /// Its row count, for a table whose Delta log counts them.
    pub(crate) rows: Option<i64>,
}

/// What `catalog.json` lists: the relations of the nodes and sources that exist, and
/// why some could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Catalog {
    /// Models and snapshots.
    pub(crate) nodes: Vec<CatalogRelation>,
    /// Sources.
    pub(crate) sources: Vec<CatalogRelation>,
    /// Relations that could not be read, each naming it.
    pub(crate) errors: Vec<String>,
}

/// One `CatalogTable` of dbt's catalog v1.
fn catalog_table(relation: &CatalogRelation) -> Value {
    let columns: Map<String, Value> = relation
        .columns
        .iter()
        .enumerate()
        .map(|(index, (name, data_type))| {
            (
                name.clone(),
                json!({"type": data_type, "index": index + 1, "name": name, "comment": null}),
            )
        })
        .collect();
    let has_stats = json!({
        "id": "has_stats",
        "label": "Has Stats?",
        "value": relation.rows.is_some(),
        "include": false,
        "description": "Indicates whether there are statistics for this table",
    });
    let mut stats = Map::new();
    if let Some(rows) = relation.rows {
        stats.insert(
            "row_count".to_owned(),
            json!({
                "id": "row_count",
                "label": "Row Count",
                "value": rows,
                "include": true,
                "description": "Number of rows in the table, from its Delta log",
            }),
        );
    }
    stats.insert("has_stats".to_owned(), has_stats);
    json!({
        "metadata": {
            "type": if relation.view { "VIEW" } else { "BASE TABLE" },
            "schema": relation.schema,
            "name": relation.name,
            "database": "medallion",
            "comment": relation.comment,
            "owner": null,
        },
        "columns": columns,
        "stats": stats,
        "unique_id": relation.unique_id,
    })
}

/// `catalog.json`: every relation of the project that exists, with its columns, types
/// and row count.
pub(crate) fn catalog(catalog: &Catalog, invocation: &str) -> Value {
    let tables = |relations: &[CatalogRelation]| -> Map<String, Value> {
        relations
            .iter()
            .map(|relation| (relation.unique_id.clone(), catalog_table(relation)))
            .collect()
    };
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": DBT_VERSION,
            "generated_at": iso(now_ms()),
            "invocation_id": invocation,
            "env": {},
        },
        "nodes": tables(&catalog.nodes),
        "sources": tables(&catalog.sources),
        "errors": if catalog.errors.is_empty() { Value::Null } else { json!(catalog.errors) },
    })
}

/// Writes the artifacts under `target/`: the manifest, the run results, and the
/// catalog when there is one.
pub(crate) async fn write(
    storage: &dyn Storage,
    project: &Project,
    compiled: &BTreeMap<String, String>,
    run: &RunResults,
    options: &RunOptions,
    catalog_relations: Option<&Catalog>,
) -> Result<(), ModelError> {
    let invocation = uuid::Uuid::new_v4().to_string();
    let pretty = |value: &Value| Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_default());
    storage
        .put(
            &format!("{TARGET}/manifest.json"),
            pretty(&manifest(project, compiled, &invocation)),
        )
        .await?;
    storage
        .put(
            &format!("{TARGET}/run_results.json"),
            pretty(&run_results(project, run, options, &invocation)),
        )
        .await?;
    if let Some(relations) = catalog_relations {
        storage
            .put(
                &format!("{TARGET}/catalog.json"),
                pretty(&catalog(relations, &invocation)),
            )
            .await?;
    }
    Ok(())
}
