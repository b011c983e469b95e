//! One table's life, as an async check that runs on any store: natively on the
//! filesystem, and in headless Chromium on OPFS.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::*;
use crate::storage::Storage;

fn batch(ids: &[i64], city: &str, fare: f64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("trip_id", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("fare", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(vec![city; ids.len()])),
            Arc::new(Float64Array::from(vec![fare; ids.len()])),
        ],
    )
    .expect("batch")
}

async fn count(table: &DeltaTable, snapshot: &Snapshot) -> usize {
    table
        .read(snapshot)
        .await
        .expect("read")
        .iter()
        .map(RecordBatch::num_rows)
        .sum()
}

/// Create, append, merge, delete, time travel, checkpoint and vacuum on `storage`.
pub(crate) async fn table_lifecycle(storage: Arc<dyn Storage>) {
    let table = DeltaTable::new(storage.clone(), "silver/trips");
    let schema = batch(&[], "", 0.0).schema();
    let options = TableOptions {
        properties: [("delta.checkpointInterval".to_owned(), "4".to_owned())].into(),
        ..Default::default()
    };
    table.create(&schema, options).await.expect("create");
    table
        .append(&[batch(&[1, 2, 3], "NYC", 10.0)], WriteOptions::default())
        .await
        .expect("append");
    table
        .append(&[batch(&[4, 5], "Boston", 5.0)], WriteOptions::default())
        .await
        .expect("append");
    let merge = MergeOptions {
        keys: vec!["trip_id".to_owned()],
        ..Default::default()
    };
    let merged = table
        .merge(&[batch(&[5, 6], "Boston", 7.0)], merge)
        .await
        .expect("merge");
    assert_eq!(
        (merged.metrics.rows_updated, merged.metrics.rows_inserted),
        (1, 1)
    );
    assert_eq!(merged.metrics.files_removed, 1, "stats skip the NYC file");
    let deleted = table
        .delete_where("city = 'NYC' AND trip_id < 3")
        .await
        .expect("delete");
    assert_eq!(deleted.version, 4);
    assert!(
        storage
            .head("silver/trips/_delta_log/00000000000000000004.checkpoint.parquet")
            .await
            .is_ok(),
        "a checkpoint every 4 commits"
    );
    let latest = table.snapshot().await.expect("snapshot");
    assert_eq!(count(&table, &latest).await, 4);
    let first = table.snapshot_at(1).await.expect("time travel");
    assert_eq!(count(&table, &first).await, 3);
    let history = table.history().await.expect("history");
    let operations: Vec<&str> = history
        .iter()
        .map(|entry| entry.operation.as_str())
        .collect();
    assert_eq!(
        operations,
        ["DELETE", "MERGE", "WRITE", "WRITE", "CREATE TABLE"]
    );

    // SQL over the latest version; the filter skips files by their statistics.
    let provider = DeltaTableProvider::new(table.clone(), latest.clone());
    let pruned = provider
        .files_for(&[datafusion::prelude::col("trip_id").gt_eq(datafusion::prelude::lit(5_i64))]);
    assert_eq!(pruned.len(), 1, "only the merged file holds trip_id >= 5");
    let session = crate::engine::new_session();
    crate::engine::register_table(&session, "silver", "trips", Arc::new(provider))
        .expect("register");
    let result = crate::engine::query(
        &session,
        "SELECT city, count(*) AS trips, sum(fare) AS revenue FROM silver.trips \
         WHERE trip_id >= 3 GROUP BY city ORDER BY city",
    )
    .await
    .expect("query");
    let formatted = arrow::util::pretty::pretty_format_batches(&result)
        .expect("format")
        .to_string();
    assert!(
        formatted.contains("| Boston | 3     | 19.0    |"),
        "{formatted}"
    );
    assert!(
        formatted.contains("| NYC    | 1     | 10.0    |"),
        "{formatted}"
    );

    let vacuumed = table.vacuum(0, false).await.expect("vacuum");
    assert_eq!(
        vacuumed.files.len(),
        2,
        "the merged and the deleted-from files"
    );
    assert_eq!(
        count(&table, &table.snapshot().await.expect("snapshot")).await,
        4
    );
}
