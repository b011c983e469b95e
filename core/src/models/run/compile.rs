//! Compiling: a node's Jinja rendered to SQL (a generic test's SQL built from its
//! kind), the ephemeral models it reaches injected as CTEs; `compile` and `show`.

use std::collections::BTreeSet;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::prelude::SessionContext;

use super::ModelRunner;
use crate::models::config::Materialization;
use crate::models::jinja::GOLD_SCHEMA;
use crate::models::project::{GenericTest, Node, ResourceType, TestKind};
use crate::models::{graph, seed, ModelError, TARGET};

/// `sql` with CTEs put first: into its own `WITH` if it has one.
fn inject_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_owned();
    }
    let definitions = ctes
        .iter()
        .map(|(name, body)| format!("{name} as (\n{}\n)", body.trim()))
        .collect::<Vec<_>>()
        .join(",\n");
    let trimmed = sql.trim_start();
    let starts_with_with = trimmed.len() > 4
        && trimmed[..4].eq_ignore_ascii_case("with")
        && trimmed[4..].starts_with(char::is_whitespace);
    if starts_with_with {
        format!("with {definitions},\n{}", trimmed[4..].trim_start())
    } else {
        format!("with {definitions}\n{trimmed}")
    }
}

/// The SQL of a generic test on `model` (a relation or a filtered subquery) and
/// `column`, given the relation a `relationships` test points to.
fn generic_test_sql(test: &GenericTest, model: &str, column: &str, parent: &str) -> String {
    match test {
        GenericTest::Unique => format!(
            "select {column} as unique_field, count(*) as n_records\nfrom {model}\nwhere {column} is not null\ngroup by {column}\nhaving count(*) > 1"
        ),
        GenericTest::NotNull => {
            format!("select {column}\nfrom {model}\nwhere {column} is null")
        }
        GenericTest::AcceptedValues { values, quote } => {
            let list = values
                .iter()
                .map(|value| {
                    if *quote {
                        format!("'{}'", value.replace('\'', "''"))
                    } else {
                        value.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "with all_values as (\n    select {column} as value_field, count(*) as n_records\n    from {model}\n    group by {column}\n)\nselect *\nfrom all_values\nwhere value_field not in ({list})"
            )
        }
        GenericTest::Relationships { field, .. } => format!(
            "with child as (\n    select {column} as from_field\n    from {model}\n    where {column} is not null\n),\nparent as (\n    select {field} as to_field\n    from {parent}\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null"
        ),
    }
}

impl ModelRunner {
    /// The ephemeral models `refs` reach, each once, upstream first, compiled.
    fn ephemeral_ctes(&self, refs: &BTreeSet<String>) -> Result<Vec<(String, String)>, ModelError> {
        let mut ctes: Vec<(String, String)> = Vec::new();
        let mut visit: Vec<(String, bool)> =
            refs.iter().rev().map(|r| (r.clone(), false)).collect();
        let mut seen = BTreeSet::new();
        while let Some((name, expanded)) = visit.pop() {
            let Some(node) = self.project.model(&name) else {
                continue;
            };
            if node.materialized != Some(Materialization::Ephemeral) {
                continue;
            }
            let (sql, state) = self
                .project
                .renderer
                .render(
                    &node.original_file_path,
                    &node.raw_code,
                    &name,
                    &format!("__dbt__cte__{name}"),
                    false,
                )
                .map_err(ModelError::from_jinja)?;
            if expanded {
                let cte = format!("__dbt__cte__{name}");
                if !ctes.iter().any(|(existing, _)| *existing == cte) {
                    ctes.push((cte, sql));
                }
                continue;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            visit.push((name.clone(), true));
            for upstream in state.refs.iter().rev() {
                visit.push((upstream.clone(), false));
            }
        }
        Ok(ctes)
    }

    /// The SQL of a node as it runs now, and what its render logged.
    pub async fn compile(
        &self,
        node: &Node,
        full_refresh: bool,
    ) -> Result<(String, Vec<String>), ModelError> {
        if node.resource_type == ResourceType::Seed {
            return Ok((seed::seed_sql(node)?, Vec::new()));
        }
        let Some(TestKind::Generic {
            test,
            attached_to,
            column,
        }) = &node.test
        else {
            // A model renders with its relation and `is_incremental()`; a singular test
            // has neither.
            let (this, incremental) = match node.test {
                None => (
                    format!("{GOLD_SCHEMA}.{}", node.name),
                    self.incremental_now(node, full_refresh).await?,
                ),
                Some(_) => (String::new(), false),
            };
            let (sql, state) = self
                .project
                .renderer
                .render(
                    &node.original_file_path,
                    &node.raw_code,
                    &node.name,
                    &this,
                    incremental,
                )
                .map_err(ModelError::from_jinja)?;
            let ctes = self.ephemeral_ctes(&state.refs)?;
            return Ok((inject_ctes(&sql, &ctes), state.logs));
        };
        let mut refs = BTreeSet::new();
        let relation = match self.project.nodes.get(attached_to) {
            Some(model) => {
                refs.insert(model.name.clone());
                if model.materialized == Some(Materialization::Ephemeral) {
                    format!("__dbt__cte__{}", model.name)
                } else {
                    format!("{GOLD_SCHEMA}.{}", model.name)
                }
            }
            None => self
                .project
                .sources
                .get(attached_to)
                .map(|source| source.relation())
                .unwrap_or_default(),
        };
        let model = match node.config.where_filter() {
            Some(filter) => format!("(select * from {relation} where {filter}) dbt_subquery"),
            None => relation,
        };
        let parent = match test {
            GenericTest::Relationships { to, .. } => {
                let (parent, state) = self
                    .project
                    .renderer
                    .render(
                        &node.original_file_path,
                        &format!("{{{{ {to} }}}}"),
                        &node.name,
                        "",
                        false,
                    )
                    .map_err(ModelError::from_jinja)?;
                refs.extend(state.refs);
                parent
            }
            _ => String::new(),
        };
        let column = column.clone().unwrap_or_default();
        let sql = generic_test_sql(test, &model, &column, &parent);
        let ctes = self.ephemeral_ctes(&refs)?;
        Ok((inject_ctes(&sql, &ctes), Vec::new()))
    }

    /// Compiles `model` and runs its SQL, returning at most `limit` rows (`show`).
    pub async fn show(&self, model: &str, limit: usize) -> Result<Vec<RecordBatch>, ModelError> {
        let node = self
            .project
            .model(model)
            .ok_or_else(|| ModelError::UnknownModel(model.to_owned()))?;
        let (sql, _) = self.compile(node, false).await?;
        let session = self.session().await?;
        self.define_views(&session, &[]).await;
        let frame = session.sql(&sql).await.map_err(|err| node.sql_error(err))?;
        frame
            .limit(0, Some(limit))
            .map_err(|err| node.sql_error(err))?
            .collect()
            .await
            .map_err(|err| node.sql_error(err))
    }

    /// Defines in the session every view model not selected, from its compiled SQL,
    /// upstream first; one whose inputs are missing is left out.
    pub(crate) async fn define_views(&self, session: &SessionContext, selected: &[String]) {
        let Ok(order) = graph::topological_order(&self.project) else {
            return;
        };
        for id in order {
            let node = &self.project.nodes[&id];
            if node.materialized != Some(Materialization::View) || selected.contains(&id) {
                continue;
            }
            if let Ok((sql, _)) = self.compile(node, false).await {
                let statement = format!(
                    "CREATE OR REPLACE VIEW {GOLD_SCHEMA}.{} AS {sql}",
                    node.name
                );
                let _ = session.sql(&statement).await;
            }
        }
    }

    /// Writes a node's compiled SQL under `target/compiled/`, as dbt lays it out.
    pub(super) async fn write_compiled(&self, node: &Node, sql: &str) -> Result<(), ModelError> {
        let path = match &node.test {
            Some(TestKind::Generic { .. }) => format!(
                "{TARGET}/compiled/{}/{}/{}.sql",
                self.project.name, node.original_file_path, node.name
            ),
            _ => format!(
                "{TARGET}/compiled/{}/{}",
                self.project.name, node.original_file_path
            ),
        };
        self.storage.put(&path, Bytes::from(sql.to_owned())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctes_go_into_an_existing_with_or_before_the_select() {
        let ctes = vec![("__dbt__cte__a".to_owned(), "select 1 as x".to_owned())];
        assert_eq!(
            inject_ctes("select * from __dbt__cte__a", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n)\nselect * from __dbt__cte__a"
        );
        assert_eq!(
            inject_ctes("  WITH b as (select 2)\nselect * from b, __dbt__cte__a", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n),\nb as (select 2)\nselect * from b, __dbt__cte__a"
        );
        assert_eq!(inject_ctes("select 1", &[]), "select 1");
        assert_eq!(
            inject_ctes("without_with", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n)\nwithout_with"
        );
    }
}
