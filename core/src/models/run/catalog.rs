//! What the warehouse holds for `catalog.json`: each model's and snapshot's relation
//! (its Delta table `gold/<name>`, or its view in the run's session) and each source's
//! Delta table, with columns, types and row counts.

use arrow::datatypes::Schema;
use datafusion::prelude::SessionContext;

use super::ModelRunner;
use crate::delta::{DeltaResult, DeltaTable};
use crate::models::artifacts::{Catalog, CatalogRelation};
use crate::models::config::Materialization;
use crate::models::jinja::GOLD_SCHEMA;
use crate::models::project::ResourceType;
use crate::warehouse;

/// A schema's columns as (name, type as Arrow prints it).
fn columns(schema: &Schema) -> Vec<(String, String)> {
    schema
        .fields()
        .iter()
        .map(|field| (field.name().clone(), field.data_type().to_string()))
        .collect()
}

/// A description as a catalog comment: none when empty.
fn comment(description: &str) -> Option<String> {
    (!description.is_empty()).then(|| description.to_owned())
}

impl ModelRunner {
    /// The columns and row count of the Delta table at `path`, if it exists.
    async fn table_columns(
        &self,
        path: &str,
    ) -> DeltaResult<Option<(Vec<(String, String)>, Option<i64>)>> {
        let table = DeltaTable::new(self.storage.clone(), path);
        if !table.exists().await? {
            return Ok(None);
        }
        let snapshot = table.snapshot().await?;
        Ok(Some((columns(snapshot.schema()), snapshot.num_records())))
    }

    /// Every relation of the project that exists now: tables from their Delta logs,
    /// views from `session` (where the run defined them).
    pub(super) async fn catalog(&self, session: &SessionContext) -> Catalog {
        let mut catalog = Catalog::default();
        for node in self.project.nodes.values() {
            let view = match (node.resource_type, node.materialized) {
                (ResourceType::Test | ResourceType::Analysis, _)
                | (_, Some(Materialization::Ephemeral)) => continue,
                (ResourceType::Model, Some(Materialization::View) | None) => true,
                _ => false,
            };
            let relation = |columns, rows| CatalogRelation {
                unique_id: node.unique_id.clone(),
                view,
                schema: GOLD_SCHEMA.to_owned(),
                name: node.name.clone(),
                comment: comment(&node.description),
                columns,
                rows,
            };
            if view {
                // A view that does not plan (its inputs are missing) does not exist.
                if let Ok(frame) = session.table(format!("{GOLD_SCHEMA}.{}", node.name)).await {
                    catalog
                        .nodes
                        .push(relation(columns(frame.schema().as_arrow()), None));
                }
                continue;
            }
            match self.table_columns(&warehouse::gold_table(&node.name)).await {
                Ok(Some((columns, rows))) => catalog.nodes.push(relation(columns, rows)),
                Ok(None) => {}
                Err(err) => catalog.errors.push(format!("{}: {err}", node.unique_id)),
            }
        }
        for source in self.project.sources.values() {
            let path = format!("{}/{}", source.schema, source.identifier);
            match self.table_columns(&path).await {
                Ok(Some((columns, rows))) => catalog.sources.push(CatalogRelation {
                    unique_id: source.unique_id.clone(),
                    view: false,
                    schema: source.schema.clone(),
                    name: source.identifier.clone(),
                    comment: comment(&source.description),
                    columns,
                    rows,
                }),
                Ok(None) => {}
                Err(err) => catalog.errors.push(format!("{}: {err}", source.unique_id)),
            }
        }
        catalog
    }
}
