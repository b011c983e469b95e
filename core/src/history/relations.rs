//! Which relations keep versions: the project's snapshots, and the models built from
//! one that carry `valid_from`/`valid_to`, as the store holds them now.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use super::{HistoryError, Scd2Relation};
use crate::delta::DeltaTable;
use crate::models::{Node, Project, ResourceType, SnapshotConfig, Strategy};
use crate::storage::Storage;
use crate::warehouse;

/// A dimension's validity columns, by dbt convention (`dim_customer.sql`).
const VALID_FROM: &str = "valid_from";
const VALID_TO: &str = "valid_to";
const IS_CURRENT: &str = "is_current";
const IS_DELETED: &str = "is_deleted";

/// The snapshot table a relation's versions come from, and its columns.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotTable {
    /// `gold/customers_snapshot`.
    pub(crate) table: String,
    /// Its unique key.
    pub(crate) key: String,
    /// `dbt_valid_from` (or its configured name).
    pub(crate) valid_from: String,
    /// The strategy's `updated_at` column, when the strategy is timestamp: a version's
    /// valid_from is that column's value in the source row.
    pub(crate) updated_at: Option<String>,
}

/// A fact table pointing at a dimension's versions.
#[derive(Debug, Clone)]
pub(crate) struct FactTable {
    /// `gold.fact_trips`.
    pub(crate) relation: String,
    /// `gold/fact_trips`.
    pub(crate) table: String,
    /// Its key column: the model's `unique_key`, else its first column.
    pub(crate) key_column: String,
}

/// An SCD2 relation with what reading it takes.
#[derive(Debug, Clone)]
pub(crate) struct Scd2Table {
    /// What the API shows.
    pub(crate) relation: Scd2Relation,
    /// Its table in the store: `gold/dim_customer`.
    pub(crate) table: String,
    /// The column a version is valid from.
    pub(crate) valid_from: String,
    /// The column a version is valid to (null while current).
    pub(crate) valid_to: String,
    /// The column flagging a deletion version (`dbt_is_deleted` text, or a boolean).
    pub(crate) deleted: Option<String>,
    /// The snapshot behind it.
    pub(crate) snapshot: SnapshotTable,
    /// The tables whose rows hold a version's surrogate key.
    pub(crate) facts: Vec<FactTable>,
}

/// The Silver entity a node reads, through its upstream models: the table of the
/// `silver` schema it reaches first.
fn silver_entity(project: &Project, node: &Node) -> Option<String> {
    let mut queue: VecDeque<&String> = node.depends_on.iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(source) = project.sources.get(id) {
            if source.schema == warehouse::LAYERS[1] {
                return Some(source.identifier.clone());
            }
        } else if let Some(upstream) = project.nodes.get(id) {
            queue.extend(upstream.depends_on.iter());
        }
    }
    None
}

/// The schema of `table` in the store.
async fn schema(storage: &Arc<dyn Storage>, table: &str) -> Result<SchemaRef, HistoryError> {
    let snapshot = DeltaTable::new(storage.clone(), table).snapshot().await?;
    Ok(snapshot.schema().clone())
}

fn column_names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// A snapshot node as an SCD2 relation, if its key is one column and its table exists.
async fn snapshot_relation(
    storage: &Arc<dyn Storage>,
    project: &Project,
    node: &Node,
    tables: &BTreeSet<String>,
) -> Result<Option<Scd2Table>, HistoryError> {
    let Ok(config) = SnapshotConfig::from_config(&node.config) else {
        return Ok(None);
    };
    let table = warehouse::gold_table(&node.name);
    let [key] = config.unique_key.as_slice() else {
        return Ok(None);
    };
    if !tables.contains(&table) {
        return Ok(None);
    }
    let columns = column_names(&schema(storage, &table).await?);
    let meta = &config.meta;
    let updated_at = match &config.strategy {
        Strategy::Timestamp { updated_at } => Some(updated_at.clone()),
        Strategy::Check { .. } => None,
    };
    let hidden = [
        key,
        &meta.scd_id,
        &meta.updated_at,
        &meta.valid_from,
        &meta.valid_to,
        &meta.is_deleted,
    ];
    let attributes = columns
        .iter()
        .filter(|column| !hidden.contains(column) && Some(*column) != updated_at.as_ref())
        .cloned()
        .collect();
    let relation = crate::lineage::table_id(&table);
    Ok(Some(Scd2Table {
        relation: Scd2Relation {
            relation: relation.clone(),
            key: key.clone(),
            snapshot: relation,
            entity: silver_entity(project, node),
            surrogate_key: None,
            facts: Vec::new(),
            attributes,
        },
        deleted: columns
            .contains(&meta.is_deleted)
            .then(|| meta.is_deleted.clone()),
        valid_from: meta.valid_from.clone(),
        valid_to: meta.valid_to.clone(),
        snapshot: SnapshotTable {
            table: table.clone(),
            key: key.clone(),
            valid_from: meta.valid_from.clone(),
            updated_at,
        },
        table,
        facts: Vec::new(),
    }))
}

/// A model reading `snapshot` as an SCD2 dimension, if its table exists with the
/// snapshot's key and `valid_from`/`valid_to`.
async fn dimension_relation(
    storage: &Arc<dyn Storage>,
    node: &Node,
    snapshot: &Scd2Table,
    tables: &BTreeSet<String>,
) -> Result<Option<Scd2Table>, HistoryError> {
    let table = warehouse::gold_table(&node.name);
    if !tables.contains(&table) {
        return Ok(None);
    }
    let columns = column_names(&schema(storage, &table).await?);
    let key = &snapshot.relation.key;
    let has = |name: &str| columns.iter().any(|column| column == name);
    if !(has(key) && has(VALID_FROM) && has(VALID_TO)) {
        return Ok(None);
    }
    let surrogate_key = columns.iter().find(|c| c.ends_with("_sk")).cloned();
    let hidden = [key.as_str(), VALID_FROM, VALID_TO, IS_CURRENT, IS_DELETED];
    let attributes = columns
        .iter()
        .filter(|column| {
            !hidden.contains(&column.as_str())
                && Some(*column) != surrogate_key.as_ref()
                && !column.starts_with("dbt_")
        })
        .cloned()
        .collect();
    Ok(Some(Scd2Table {
        relation: Scd2Relation {
            relation: crate::lineage::table_id(&table),
            key: key.clone(),
            snapshot: snapshot.relation.relation.clone(),
            entity: snapshot.relation.entity.clone(),
            surrogate_key,
            facts: Vec::new(),
            attributes,
        },
        table,
        valid_from: VALID_FROM.to_owned(),
        valid_to: VALID_TO.to_owned(),
        deleted: has(IS_DELETED).then(|| IS_DELETED.to_owned()),
        snapshot: snapshot.snapshot.clone(),
        facts: Vec::new(),
    }))
}

/// The Gold tables other than `own` with a column named `surrogate_key`.
async fn fact_tables(
    storage: &Arc<dyn Storage>,
    project: &Project,
    tables: &BTreeSet<String>,
    own: &str,
    surrogate_key: &str,
) -> Result<Vec<FactTable>, HistoryError> {
    let gold = format!("{}/", warehouse::LAYERS[2]);
    let mut facts = Vec::new();
    for table in tables {
        let Some(name) = table.strip_prefix(&gold) else {
            continue;
        };
        if table == own || name.contains('/') {
            continue;
        }
        let columns = column_names(&schema(storage, table).await?);
        if !columns.iter().any(|column| column == surrogate_key) {
            continue;
        }
        let unique_key = project
            .nodes
            .values()
            .find(|node| node.name == name && node.resource_type == ResourceType::Model)
            .map(|node| node.config.unique_key())
            .unwrap_or_default();
        let key_column = match unique_key.as_slice() {
            [key] if columns.contains(key) => key.clone(),
            _ => columns[0].clone(),
        };
        facts.push(FactTable {
            relation: crate::lineage::table_id(table),
            table: table.clone(),
            key_column,
        });
    }
    Ok(facts)
}

/// Every SCD2 relation of `project` whose table the store holds: the dimensions built
/// from a snapshot first, then the snapshots, each group by name.
pub(crate) async fn scd2_tables(
    storage: &Arc<dyn Storage>,
    project: &Project,
) -> Result<Vec<Scd2Table>, HistoryError> {
    let tables: BTreeSet<String> = warehouse::list_tables(storage.as_ref())
        .await?
        .into_iter()
        .collect();
    let mut snapshots = Vec::new();
    for node in project.nodes.values() {
        if node.resource_type == ResourceType::Snapshot {
            if let Some(found) = snapshot_relation(storage, project, node, &tables).await? {
                snapshots.push((node.unique_id.clone(), found));
            }
        }
    }
    let mut dimensions = Vec::new();
    for node in project.nodes.values() {
        if node.resource_type != ResourceType::Model {
            continue;
        }
        let Some((_, snapshot)) = snapshots
            .iter()
            .find(|(id, _)| node.depends_on.contains(id))
        else {
            continue;
        };
        if let Some(mut dimension) = dimension_relation(storage, node, snapshot, &tables).await? {
            if let Some(surrogate_key) = dimension.relation.surrogate_key.clone() {
                dimension.facts =
                    fact_tables(storage, project, &tables, &dimension.table, &surrogate_key)
                        .await?;
                dimension.relation.facts =
                    dimension.facts.iter().map(|f| f.relation.clone()).collect();
            }
            dimensions.push(dimension);
        }
    }
    let mut all: Vec<Scd2Table> = dimensions;
    all.sort_by(|a, b| a.relation.relation.cmp(&b.relation.relation));
    let mut snapshots: Vec<Scd2Table> = snapshots.into_iter().map(|(_, t)| t).collect();
    snapshots.sort_by(|a, b| a.relation.relation.cmp(&b.relation.relation));
    all.extend(snapshots);
    Ok(all)
}

/// The SCD2 relation named `relation` (`gold.dim_customer`, or `gold/dim_customer`).
pub(crate) async fn scd2_table(
    storage: &Arc<dyn Storage>,
    project: &Project,
    relation: &str,
) -> Result<Scd2Table, HistoryError> {
    let wanted = crate::lineage::table_id(relation);
    let mut tables = scd2_tables(storage, project).await?;
    match tables.iter().position(|t| t.relation.relation == wanted) {
        Some(index) => Ok(tables.swap_remove(index)),
        None => Err(HistoryError::NotScd2 {
            relation: relation.to_owned(),
            known: tables
                .iter()
                .map(|t| t.relation.relation.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
