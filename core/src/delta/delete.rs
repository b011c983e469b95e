//! `DELETE WHERE`, and the SQL predicates it (and a merge's target predicate) is
//! evaluated with.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use arrow::compute::{filter_record_batch, prep_null_mask_filter};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use super::actions::Action;
use super::commit::{string_parameters, CommitOutcome, CommitRequest, Isolation};
use super::operation::{Operation, WriteMetrics};
use super::table::DeltaTable;
use super::write::remove_of;
use super::{DeltaError, DeltaResult};
use crate::storage::now_ms;

impl DeltaTable {
    /// A SQL predicate over `schema`'s columns, planned for evaluation on batches.
    pub(super) fn compile_predicate(
        &self,
        schema: &Schema,
        predicate: &str,
    ) -> DeltaResult<Arc<dyn PhysicalExpr>> {
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let session = datafusion::prelude::SessionContext::new();
        let df_schema = datafusion::common::DFSchema::try_from(schema.clone())
            .map_err(|err| predicate_error(err.to_string()))?;
        let expr = session
            .parse_sql_expr(predicate, &df_schema)
            .map_err(|err| predicate_error(err.to_string()))?;
        session
            .create_physical_expr(expr, &df_schema)
            .map_err(|err| predicate_error(err.to_string()))
    }

    /// Which rows of `batch` the predicate holds for (a null result does not hold, as
    /// in SQL's WHERE).
    pub(super) fn evaluate_predicate(
        &self,
        compiled: &Arc<dyn PhysicalExpr>,
        predicate: &str,
        batch: &RecordBatch,
    ) -> DeltaResult<BooleanArray> {
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let matches = compiled
            .evaluate(batch)
            .and_then(|value| value.into_array(batch.num_rows()))
            .map_err(|err| predicate_error(err.to_string()))?;
        let matches = matches
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| predicate_error("the predicate is not a boolean".to_owned()))?;
        Ok(if matches.null_count() > 0 {
            prep_null_mask_filter(matches)
        } else {
            matches.clone()
        })
    }

    /// Deletes the rows matching a SQL predicate (`DELETE WHERE`), rewriting only the
    /// files that hold such rows.
    pub async fn delete_where(&self, predicate: &str) -> DeltaResult<CommitOutcome> {
        let snapshot = self.snapshot().await?;
        snapshot.check_writable()?;
        let predicate_error = |detail: String| DeltaError::Predicate {
            table: self.root.clone(),
            predicate: predicate.to_owned(),
            detail,
        };
        let compiled = self.compile_predicate(&snapshot.schema, predicate)?;

        let mut actions = Vec::new();
        let mut metrics = WriteMetrics::default();
        let now = now_ms();
        for add in &snapshot.files {
            let batch = self.read_file(&snapshot, add).await?;
            let deleted = self.evaluate_predicate(&compiled, predicate, &batch)?;
            let deleted_rows = deleted.true_count();
            if deleted_rows == 0 {
                continue;
            }
            let keep =
                arrow::compute::not(&deleted).map_err(|err| predicate_error(err.to_string()))?;
            let kept = filter_record_batch(&batch, &keep)
                .map_err(|err| predicate_error(err.to_string()))?;
            metrics.rows_deleted += deleted_rows as u64;
            metrics.rows_copied += kept.num_rows() as u64;
            metrics.files_removed += 1;
            actions.push(Action::Remove(remove_of(add, now)));
            let (adds, _) = self
                .write_data(
                    &snapshot.schema,
                    &snapshot.metadata.partition_columns,
                    &[kept],
                )
                .await?;
            metrics.files_added += adds.len() as u64;
            actions.extend(adds.into_iter().map(Action::Add));
        }
        let request = CommitRequest {
            operation: Operation::Delete,
            parameters: string_parameters(&[(
                "predicate",
                serde_json::to_string(&[predicate]).unwrap_or_default(),
            )]),
            metrics,
            txn: None,
            isolation: Isolation::Serializable,
        };
        self.commit(&snapshot, actions, request).await
    }
}
