//! Materializing: views, tables, incremental models (append, merge, delete+insert, with
//! `on_schema_change`), snapshot versions and the failing rows of tests
//! (`store_failures`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::{concat_batches, interleave};
use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use super::ModelRunner;
use crate::delta::{DeltaTable, MergeOptions, Snapshot, WriteOptions};
use crate::engine;
use crate::keys::KeyEncoder;
use crate::models::config::{IncrementalStrategy, Materialization, NodeConfig, OnSchemaChange};
use crate::models::jinja::GOLD_SCHEMA;
use crate::models::project::{Node, ResourceType};
use crate::models::snapshot::{self, SnapshotConfig};
use crate::models::ModelError;
use crate::storage::now_ms;
use crate::warehouse;

/// The columns of `batch` in `schema`'s order: missing ones null, others dropped.
fn project_to(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => arrow::compute::cast(column, field.data_type()),
            None => Ok(arrow::array::new_null_array(
                field.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// `incremental_predicates` as one filter on the target, if any.
fn incremental_predicate(config: &NodeConfig) -> Option<String> {
    let predicates: Vec<String> = config
        .incremental_predicates()
        .iter()
        .map(|p| format!("({})", p.replace("DBT_INTERNAL_DEST.", "")))
        .collect();
    (!predicates.is_empty()).then(|| predicates.join(" AND "))
}

/// The names of a schema's columns.
fn column_names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// `source` with the target's values kept in every column that is not updated, for
/// rows whose key the target holds (`merge_update_columns` / `merge_exclude_columns`).
fn keep_target_columns(
    source: &RecordBatch,
    target: &RecordBatch,
    keys: &[String],
    updated: &BTreeSet<String>,
) -> Result<RecordBatch, String> {
    let key_columns = |batch: &RecordBatch| -> Result<Vec<ArrayRef>, String> {
        keys.iter()
            .map(|key| {
                batch
                    .column_by_name(key)
                    .cloned()
                    .ok_or_else(|| format!("unique_key {key} is not a column"))
            })
            .collect()
    };
    let source_keys = key_columns(source)?;
    let target_keys = key_columns(target)?;
    let encoder = KeyEncoder::for_columns(&source_keys).map_err(|e| e.to_string())?;
    let target_rows = encoder.encode(&target_keys).map_err(|e| e.to_string())?;
    let index: HashMap<arrow::row::Row<'_>, usize> = (0..target.num_rows())
        .map(|row| (target_rows.row(row), row))
        .collect();
    let source_rows = encoder.encode(&source_keys).map_err(|e| e.to_string())?;
    let picks: Vec<Option<usize>> = (0..source.num_rows())
        .map(|row| index.get(&source_rows.row(row)).copied())
        .collect();
    let mut columns = Vec::with_capacity(source.num_columns());
    for (field, column) in source.schema().fields().iter().zip(source.columns()) {
        let kept = target.column_by_name(field.name());
        match kept {
            Some(old) if !updated.contains(field.name()) && !keys.contains(field.name()) => {
                let old =
                    arrow::compute::cast(old, field.data_type()).map_err(|e| e.to_string())?;
                let indices: Vec<(usize, usize)> = picks
                    .iter()
                    .enumerate()
                    .map(|(row, pick)| pick.map_or((0, row), |target_row| (1, target_row)))
                    .collect();
                columns.push(
                    interleave(&[column.as_ref(), old.as_ref()], &indices)
                        .map_err(|e| e.to_string())?,
                );
            }
            _ => columns.push(column.clone()),
        }
    }
    RecordBatch::try_new(source.schema(), columns).map_err(|e| e.to_string())
}

impl ModelRunner {
    /// Builds a model; returns the rows written and a message.
    pub(super) async fn materialize(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
        full_refresh: bool,
    ) -> Result<(Option<u64>, String), ModelError> {
        let seed = node.resource_type == ResourceType::Seed;
        let materialized = match seed {
            true => Materialization::Table,
            false => node.materialized.unwrap_or(Materialization::View),
        };
        if materialized == Materialization::View {
            let statement = format!(
                "CREATE OR REPLACE VIEW {GOLD_SCHEMA}.{} AS {sql}",
                node.name
            );
            session
                .sql(&statement)
                .await
                .map_err(|err| node.sql_error(err))?;
            return Ok((None, "CREATE VIEW".to_owned()));
        }
        let frame = session.sql(sql).await.map_err(|err| node.sql_error(err))?;
        let schema: SchemaRef = frame.schema().inner().clone();
        let batches = frame.collect().await.map_err(|err| node.sql_error(err))?;
        let incremental = materialized == Materialization::Incremental
            && self.incremental_now(node, full_refresh).await?;
        let path = warehouse::gold_table(&node.name);
        let message = if incremental {
            self.apply_increment(node, &path, schema, &batches).await?
        } else {
            let rows = self
                .write_table(&path, &batches, Some(schema))
                .await
                .map_err(|err| node.delta_error(err))?;
            let message = match seed {
                true => format!("INSERT {rows}"),
                false => format!("CREATE TABLE ({rows} rows)"),
            };
            (Some(rows), message)
        };
        self.register(session, GOLD_SCHEMA, &node.name, Some(node))
            .await?;
        Ok(message)
    }

    /// Overwrites (or creates) the table at `path` with `batches`, its schema replaced.
    pub(super) async fn write_table(
        &self,
        path: &str,
        batches: &[RecordBatch],
        schema: Option<SchemaRef>,
    ) -> Result<u64, crate::delta::DeltaError> {
        let table = DeltaTable::new(self.storage.clone(), path);
        let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
        if !table.exists().await? {
            table.create(&schema, Default::default()).await?;
        }
        let data = if batches.is_empty() {
            vec![RecordBatch::new_empty(schema)]
        } else {
            batches.to_vec()
        };
        let outcome = table
            .overwrite(
                &data,
                WriteOptions {
                    overwrite_schema: true,
                    ..Default::default()
                },
            )
            .await?;
        Ok(outcome.metrics.rows_inserted)
    }

    /// Writes a test's failing rows to its audit table (`store_failures`).
    pub(super) async fn store_failures(
        &self,
        node: &Node,
        batches: &[RecordBatch],
    ) -> Result<(), ModelError> {
        let schema = batches.first().map(RecordBatch::schema);
        self.write_table(&warehouse::test_audit_table(&node.name), batches, schema)
            .await
            .map(|_| ())
            .map_err(|source| ModelError::StoreFailures {
                node: node.name.clone(),
                path: node.original_file_path.clone(),
                source: Box::new(source),
            })
    }

    /// An incremental model's new rows as its table takes them by `on_schema_change`,
    /// and whether the write adds columns.
    async fn fit_schema(
        &self,
        node: &Node,
        table: &DeltaTable,
        snapshot: &Snapshot,
        data: RecordBatch,
    ) -> Result<(RecordBatch, bool), ModelError> {
        let on_schema_change = node
            .config
            .on_schema_change()
            .map_err(|detail| node.config_error(detail))?;
        let target = snapshot.schema().clone();
        let schema = data.schema();
        let new: BTreeSet<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let old: BTreeSet<&str> = target.fields().iter().map(|f| f.name().as_str()).collect();
        let added: Vec<&str> = new.difference(&old).copied().collect();
        let removed: Vec<&str> = old.difference(&new).copied().collect();
        match on_schema_change {
            OnSchemaChange::Ignore => {
                let data = project_to(&data, &target).map_err(|err| node.arrow_error(err))?;
                Ok((data, false))
            }
            OnSchemaChange::Fail if !added.is_empty() || !removed.is_empty() => {
                Err(ModelError::SchemaChange {
                    node: node.name.clone(),
                    path: node.original_file_path.clone(),
                    added: added.iter().map(|name| name.to_string()).collect(),
                    removed: removed.iter().map(|name| name.to_string()).collect(),
                })
            }
            OnSchemaChange::Fail | OnSchemaChange::AppendNewColumns => Ok((data, true)),
            OnSchemaChange::SyncAllColumns => {
                if !removed.is_empty() {
                    let kept: Vec<String> = column_names(&target)
                        .into_iter()
                        .filter(|name| !removed.contains(&name.as_str()))
                        .collect();
                    let rows = table
                        .read_columns(snapshot, &kept)
                        .await
                        .map_err(|err| node.delta_error(err))?;
                    table
                        .overwrite(
                            &[rows],
                            WriteOptions {
                                overwrite_schema: true,
                                ..Default::default()
                            },
                        )
                        .await
                        .map_err(|err| node.delta_error(err))?;
                }
                Ok((data, true))
            }
        }
    }

    /// The merge strategy's rows: with `merge_update_columns` or
    /// `merge_exclude_columns`, the columns not updated keep the table's values.
    async fn merge_rows(
        &self,
        node: &Node,
        table: &DeltaTable,
        data: RecordBatch,
        keys: &[String],
    ) -> Result<RecordBatch, ModelError> {
        let update = node.config.merge_update_columns();
        let exclude = node.config.merge_exclude_columns();
        if update.is_empty() && exclude.is_empty() {
            return Ok(data);
        }
        let schema_error = |detail: String| ModelError::Schema {
            node: node.name.clone(),
            path: node.original_file_path.clone(),
            detail,
        };
        let updated: BTreeSet<String> = column_names(&data.schema())
            .into_iter()
            .filter(|name| update.is_empty() || update.contains(name))
            .filter(|name| !exclude.contains(name))
            .collect();
        let snapshot = table
            .snapshot()
            .await
            .map_err(|err| node.delta_error(err))?;
        let columns = column_names(snapshot.schema());
        let first_key = keys
            .first()
            .ok_or_else(|| schema_error("merge needs a unique_key".to_owned()))?;
        let key = data
            .column_by_name(first_key)
            .cloned()
            .ok_or_else(|| schema_error(format!("unique_key {first_key} is not a column")))?;
        let existing = table
            .read_columns_for_keys(&snapshot, &columns, first_key, &key)
            .await
            .map_err(|err| node.delta_error(err))?;
        keep_target_columns(&data, &existing, keys, &updated).map_err(schema_error)
    }

    /// Adds an incremental model's new rows to its table, by its strategy and
    /// `on_schema_change`.
    async fn apply_increment(
        &self,
        node: &Node,
        path: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(Option<u64>, String), ModelError> {
        let config = &node.config;
        let strategy = config
            .incremental_strategy()
            .map_err(|detail| node.config_error(detail))?;
        let table = DeltaTable::new(self.storage.clone(), path);
        let snapshot = table
            .snapshot()
            .await
            .map_err(|err| node.delta_error(err))?;
        let data = concat_batches(&schema, batches).map_err(|err| node.arrow_error(err))?;
        let (data, merge_schema) = self.fit_schema(node, &table, &snapshot, data).await?;
        let keys = config.unique_key();
        let target_predicate = incremental_predicate(config);
        // Without a unique_key every strategy appends.
        let applied = if keys.is_empty() {
            IncrementalStrategy::Append
        } else {
            strategy
        };
        let outcome = match applied {
            IncrementalStrategy::Append => {
                let options = WriteOptions {
                    merge_schema,
                    ..Default::default()
                };
                table.append(&[data], options).await
            }
            IncrementalStrategy::Merge => {
                let data = self.merge_rows(node, &table, data, &keys).await?;
                let options = MergeOptions {
                    keys,
                    merge_schema,
                    target_predicate,
                    ..Default::default()
                };
                table.merge(&[data], options).await
            }
            IncrementalStrategy::DeleteInsert => {
                let options = MergeOptions {
                    keys,
                    merge_schema,
                    duplicate_source_keys: true,
                    target_predicate,
                    ..Default::default()
                };
                table.merge(&[data], options).await
            }
        };
        let metrics = outcome.map_err(|err| node.delta_error(err))?.metrics;
        let rows = metrics.rows_inserted + metrics.rows_updated;
        let operation = match strategy {
            IncrementalStrategy::Append => "APPEND",
            IncrementalStrategy::Merge => "MERGE",
            IncrementalStrategy::DeleteInsert => "DELETE+INSERT",
        };
        Ok((
            Some(rows),
            format!(
                "{operation} ({} new, {} updated)",
                metrics.rows_inserted, metrics.rows_updated
            ),
        ))
    }

    /// `dbt_valid_to_current` evaluated as written, then cast by Arrow: SQL's
    /// timestamp is in nanoseconds and cannot hold the far-future dates this usually is.
    async fn valid_to_current(
        session: &SessionContext,
        node: &Node,
        config: &SnapshotConfig,
    ) -> Result<Option<i64>, ModelError> {
        let Some(expression) = &config.valid_to_current else {
            return Ok(None);
        };
        let query = format!("select {expression} as v");
        let rows = engine::query(session, &query)
            .await
            .map_err(|err| node.snapshot_error(format!("dbt_valid_to_current: {err}")))?;
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let value = rows
            .first()
            .filter(|batch| batch.num_rows() == 1)
            .map(|batch| arrow::compute::cast(batch.column(0), &timestamp))
            .transpose()
            .map_err(|err| node.arrow_error(err))?
            .and_then(|array| {
                array
                    .as_any()
                    .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                    .and_then(|values| values.is_valid(0).then(|| values.value(0)))
            })
            .ok_or_else(|| node.snapshot_error("dbt_valid_to_current is not a timestamp"))?;
        Ok(Some(value))
    }

    /// Every row of a snapshot's table, if it exists.
    async fn snapshot_rows(
        node: &Node,
        table: &DeltaTable,
    ) -> Result<Option<RecordBatch>, ModelError> {
        if !table.exists().await.map_err(|err| node.delta_error(err))? {
            return Ok(None);
        }
        let snapshot = table
            .snapshot()
            .await
            .map_err(|err| node.delta_error(err))?;
        let columns = column_names(snapshot.schema());
        table
            .read_columns(&snapshot, &columns)
            .await
            .map(Some)
            .map_err(|err| node.delta_error(err))
    }

    /// Runs a snapshot: compares the source's rows with the current versions and
    /// merges the changes on the scd id. Returns the versions written and a message.
    pub(super) async fn snapshot(
        &self,
        session: &SessionContext,
        node: &Node,
        sql: &str,
    ) -> Result<(u64, String), ModelError> {
        let config = SnapshotConfig::from_config(&node.config)
            .map_err(|detail| node.config_error(detail))?;
        let frame = session.sql(sql).await.map_err(|err| node.sql_error(err))?;
        let schema: SchemaRef = frame.schema().inner().clone();
        let batches = frame.collect().await.map_err(|err| node.sql_error(err))?;
        let source = concat_batches(&schema, &batches).map_err(|err| node.arrow_error(err))?;
        let valid_to_current = Self::valid_to_current(session, node, &config).await?;
        let table = DeltaTable::new(self.storage.clone(), warehouse::gold_table(&node.name));
        let existing = Self::snapshot_rows(node, &table).await?;
        let now = now_ms() * 1000;
        let changes = snapshot::plan(&config, existing.as_ref(), &source, now, valid_to_current)
            .map_err(|detail| node.snapshot_error(detail))?;
        let written = (changes.inserted + changes.closed) as u64;
        if existing.is_none() {
            let schema = changes
                .batches
                .first()
                .map(|batch| batch.schema())
                .ok_or_else(|| node.snapshot_error("the source returned no rows to snapshot"))?;
            table
                .create(&schema, Default::default())
                .await
                .map_err(|err| node.delta_error(err))?;
            table
                .append(&changes.batches, WriteOptions::default())
                .await
                .map_err(|err| node.delta_error(err))?;
        } else if !changes.batches.is_empty() {
            let options = MergeOptions {
                keys: vec![config.meta.scd_id.clone()],
                merge_schema: true,
                ..Default::default()
            };
            table
                .merge(&changes.batches, options)
                .await
                .map_err(|err| node.delta_error(err))?;
        }
        self.register(session, GOLD_SCHEMA, &node.name, Some(node))
            .await?;
        Ok((
            written,
            format!(
                "SNAPSHOT ({} new, {} closed)",
                changes.inserted, changes.closed
            ),
        ))
    }
}
