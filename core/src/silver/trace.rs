//! Tracing Bronze rows through a pipeline, for the SCD2 history's origins: the rows a
//! run would merge, typed, with Bronze's lineage columns still on them.

use arrow::record_batch::RecordBatch;

use super::{source, Silver, SilverError, ROW_ID};

impl Silver {
    /// `bronze`'s rows (as read from `bronze/<entity>`) through `entity`'s pipeline as a
    /// run takes them: the rows that reach the merge, typed, with `_source_file` and
    /// `_batch_id` kept (the rejected rows are left out).
    pub(crate) async fn trace(
        &self,
        entity: &str,
        bronze: &RecordBatch,
    ) -> Result<RecordBatch, SilverError> {
        let pipeline = self.pipeline(entity)?;
        let source_error = |detail: String| SilverError::Source {
            table: crate::warehouse::bronze_table(entity),
            detail,
        };
        let view = source::source_view(bronze, &pipeline.optional_columns).map_err(source_error)?;
        let context = self.lookups(pipeline, &view).await?;
        let mut rows = pipeline.run(view, &context)?.rows;
        if let Ok(index) = rows.schema().index_of(ROW_ID) {
            rows.remove_column(index);
        }
        Ok(rows)
    }
}
