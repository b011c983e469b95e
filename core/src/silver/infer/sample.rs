//! The bounded sample the inference reads.

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;

use super::SAMPLE_ROWS;
use crate::delta::{DeltaError, DeltaTable, FileStats};

/// Up to [`SAMPLE_ROWS`] rows of `table`, from its newest data files first, and the
/// table's row count.
pub async fn read_sample(table: &DeltaTable) -> Result<(RecordBatch, u64), DeltaError> {
    let snapshot = table.snapshot().await?;
    let mut files: Vec<_> = snapshot.files().iter().collect();
    files.sort_by_key(|add| std::cmp::Reverse(add.modification_time));
    let mut parts = Vec::new();
    let mut read = 0usize;
    let mut total = 0u64;
    for add in files {
        let counted = add.stats.as_deref().and_then(FileStats::parse);
        if read >= SAMPLE_ROWS {
            if let Some(stats) = counted {
                total += stats.num_records.max(0) as u64;
                continue;
            }
        }
        let batch = table.read_file(&snapshot, add).await?;
        total += batch.num_rows() as u64;
        let take = batch.num_rows().min(SAMPLE_ROWS - read);
        read += take;
        if take > 0 {
            parts.push(batch.slice(0, take));
        }
    }
    let sample = concat_batches(snapshot.schema(), &parts).map_err(|err| DeltaError::Schema {
        table: table.root().to_owned(),
        detail: err.to_string(),
    })?;
    Ok((sample, total))
}
