//! The bundled sample batches through Bronze and Silver, as an async check that runs on
//! any pair of stores: natively on the filesystem, and in headless Chromium on OPFS and
//! IndexedDB. Each batch must give the Silver counts `sample_data/README.md` documents
//! and the rows its edge-case table describes; the ids are those of that table.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use arrow::util::display::ArrayFormatter;

use super::*;
use crate::bronze::{Bronze, BronzeOptions};
use crate::checkpoint::CheckpointStore;
use crate::landing::land_file;
use crate::sample::{bundled_spec, generate, Sample};

/// One row as column → display text (null as `None`).
pub(crate) type Row = BTreeMap<String, Option<String>>;

/// Every row of a table, each as column → text, sorted: two tables with the same rows
/// give equal lists whatever their file layout or column order.
pub(crate) async fn table_rows(storage: &Arc<dyn Storage>, table: &str) -> Vec<Row> {
    let table = DeltaTable::new(storage.clone(), table);
    let snapshot = table.snapshot().await.expect("snapshot");
    let mut rows: Vec<Row> = table
        .read(&snapshot)
        .await
        .expect("read")
        .iter()
        .flat_map(batch_rows)
        .collect();
    rows.sort();
    rows
}

fn batch_rows(batch: &RecordBatch) -> Vec<Row> {
    let formatters: Vec<(String, ArrayFormatter<'_>, &dyn Array)> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let formatter =
                ArrayFormatter::try_new(column.as_ref(), &Default::default()).expect("formatter");
            (field.name().clone(), formatter, column.as_ref())
        })
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|(name, formatter, column)| {
                    let value = column
                        .is_valid(row)
                        .then(|| formatter.value(row).to_string());
                    (name.clone(), value)
                })
                .collect()
        })
        .collect()
}

/// The row of `table` whose `column` shows `value`, if any.
pub(crate) async fn find(
    storage: &Arc<dyn Storage>,
    table: &str,
    column: &str,
    value: &str,
) -> Option<Row> {
    table_rows(storage, table)
        .await
        .into_iter()
        .find(|row| row.get(column).cloned().flatten().as_deref() == Some(value))
}

fn text<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|value| value.as_deref())
}

/// Lands batch `batch` of `sample` and ingests it into Bronze.
pub(crate) async fn land_and_ingest(
    storage: &Arc<dyn Storage>,
    checkpoint: &Arc<dyn CheckpointStore>,
    sample: &Sample,
    batch: usize,
) {
    let folder = format!("batch_{batch:03}/");
    for file in sample.files.iter().filter(|f| f.path.starts_with(&folder)) {
        land_file(storage.as_ref(), &file.path, None, file.data.clone())
            .await
            .expect("land");
    }
    Bronze::new(storage.clone(), checkpoint.clone())
        .ingest_all(&BronzeOptions::default())
        .await
        .expect("ingest");
}

/// Rows in `silver/<name>`.
async fn silver_rows(storage: &Arc<dyn Storage>, name: &str) -> usize {
    let table = DeltaTable::new(storage.clone(), format!("silver/{name}"));
    let snapshot = table.snapshot().await.expect("snapshot");
    snapshot.num_records().expect("numRecords in every add") as usize
}

/// Every Silver table of the sample, sorted rows each.
pub(crate) async fn silver_state(storage: &Arc<dyn Storage>) -> BTreeMap<String, Vec<Row>> {
    let mut state = BTreeMap::new();
    for pipeline in bundled_pipelines() {
        for table in [
            crate::warehouse::silver_table(&pipeline.entity),
            crate::warehouse::quarantine_table(&pipeline.entity),
        ] {
            state.insert(table.clone(), table_rows(storage, &table).await);
        }
    }
    state
}

/// The four sample batches, one by one, through Bronze and Silver.
pub(crate) async fn sample_batches(
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
) {
    let sample = generate(&bundled_spec()).expect("generate");
    let silver =
        Silver::new(storage.clone(), checkpoint.clone(), bundled_pipelines()).expect("pipelines");
    let options = SilverOptions::default();
    let mut customer_36_before = None;
    for batch in 1..=4 {
        land_and_ingest(&storage, &checkpoint, &sample, batch).await;
        let reports = silver.run_all(&options).await.expect("silver");
        for report in &reports {
            assert_eq!(
                report.rows_in,
                report.rows_out + report.quarantined + report.duplicates,
                "rows in = out + quarantined + duplicates: {report:?}"
            );
        }
        for counts in &sample.expected {
            if let Some(name) = counts.table.strip_prefix("silver/") {
                assert_eq!(
                    silver_rows(&storage, name).await,
                    counts.after_batch[batch - 1],
                    "{} after batch {batch}",
                    counts.table
                );
            }
        }
        let report = |entity: &str| {
            reports
                .iter()
                .find(|r| r.entity == entity)
                .cloned()
                .expect("a report per entity")
        };
        match batch {
            1 => {
                assert!(
                    report("trips").full_refresh,
                    "the first run builds the table"
                );
                customer_36_before = find(&storage, "silver/customers", "customer_id", "36").await;
                let customers = table_rows(&storage, "silver/customers").await;
                for customer in &customers {
                    let phone = text(customer, "phone").expect("every phone parses");
                    assert!(
                        phone.starts_with("+1") && phone.len() == 12,
                        "E.164: {phone}"
                    );
                    let email = text(customer, "email").expect("email");
                    assert_eq!(email, email.to_lowercase());
                }
                assert!(customers.iter().all(|c| !c.contains_key("is_deleted")));
            }
            2 => {
                let trips = report("trips");
                assert!(!trips.full_refresh);
                assert_eq!((trips.quarantined, trips.duplicates), (3, 6));
                assert_eq!(trips.updated, 1, "trip 2000 is upserted");
                // The updated customer: the batch-2 row wins.
                let before = customer_36_before
                    .clone()
                    .expect("customer 36 after batch 1");
                let after = find(&storage, "silver/customers", "customer_id", "36")
                    .await
                    .expect("customer 36");
                assert!(text(&after, "updated_at") > text(&before, "updated_at"));
                assert_ne!(
                    (
                        text(&after, "email"),
                        text(&after, "phone"),
                        text(&after, "city")
                    ),
                    (
                        text(&before, "email"),
                        text(&before, "phone"),
                        text(&before, "city")
                    ),
                );
                // The corrected trip, upserted in place.
                let trip = find(&storage, "silver/trips", "trip_id", "2000")
                    .await
                    .expect("trip 2000");
                assert_eq!(text(&trip, "status"), Some("completed"));
                assert_eq!(text(&trip, "tip_amount"), Some("5.80"));
                // The late trip, typed and enriched like any other.
                let late = find(&storage, "silver/trips", "trip_id", "1983")
                    .await
                    .expect("the late trip 1983");
                assert_eq!(text(&late, "customer_id"), Some("325"));
                assert!(text(&late, "pickup_city").is_some());
                assert!(text(&late, "duration_min").is_some());
                // The legacy timestamps parse to UTC instants like the others.
                for driver in table_rows(&storage, "silver/drivers").await {
                    let updated = text(&driver, "updated_at").expect("updated_at");
                    assert!(updated.ends_with('Z'), "{updated}");
                }
                // Each malformed row is quarantined with its reason.
                let quarantined = table_rows(&storage, "silver/trips_quarantine").await;
                let reason = |trip: &str| {
                    let row = quarantined
                        .iter()
                        .find(|row| {
                            // The row cut short keeps only its raw text.
                            text(row, "trip_id") == Some(trip)
                                || text(row, "_corrupt_record")
                                    .is_some_and(|raw| raw.starts_with(&format!("{trip},")))
                        })
                        .unwrap_or_else(|| panic!("trip {trip} in quarantine: {quarantined:?}"));
                    assert_eq!(
                        text(row, "_source_file"),
                        Some("landing/trips/batch_002/trips.csv")
                    );
                    (
                        text(row, "_step").unwrap_or_default().to_owned(),
                        text(row, "_error").unwrap_or_default().to_owned(),
                    )
                };
                let (step, error) = reason("2103");
                assert_eq!(step, "parse_timestamp");
                assert!(
                    error.starts_with("`pickup_at` is not a timestamp: "),
                    "{error}"
                );
                let (step, error) = reason("2477");
                assert_eq!(step, "parse_money");
                assert_eq!(error, "`fare_amount` is not a number: \"N/A\"");
                let (step, error) = reason("2627");
                assert_eq!(step, "reject_corrupt");
                assert!(
                    error.starts_with("the record is corrupt (is_null on _corrupt_record: \"2627,"),
                    "{error}"
                );
            }
            3 => {
                let customers = report("customers");
                assert_eq!(
                    customers.deleted, 1,
                    "customer 392 is deleted at the source"
                );
                assert!(find(&storage, "silver/customers", "customer_id", "392")
                    .await
                    .is_none());
                let payments = report("payments");
                assert_eq!(
                    payments.warnings,
                    ["trip_known: 1 row (warn): `trip_id` 99999 is not in silver/trips.trip_id"]
                );
                let orphan = find(&storage, "silver/payments", "payment_id", "3919").await;
                assert_eq!(
                    orphan.as_ref().and_then(|p| text(p, "trip_id")),
                    Some("99999")
                );
                let trips = table_rows(&storage, "silver/trips").await;
                assert!(trips.iter().any(|t| text(t, "surge_multiplier").is_some()));
                assert!(
                    find(&storage, "silver/trips", "trip_id", "1")
                        .await
                        .is_some_and(|t| text(&t, "surge_multiplier").is_none()),
                    "earlier trips have no surge"
                );
            }
            4 => {
                assert_eq!(report("customers").inserted, 1, "customer 392 comes back");
                let restored = find(&storage, "silver/customers", "customer_id", "392")
                    .await
                    .expect("customer 392 restored");
                assert!(text(&restored, "email").is_some());
            }
            _ => unreachable!(),
        }
    }

    // Running again with nothing new changes nothing: the same versions, no commits.
    let before: Vec<_> = silver
        .run_all(&options)
        .await
        .expect("silver")
        .iter()
        .map(|r| r.version)
        .collect();
    let state = silver_state(&storage).await;
    let again = silver.run_all(&options).await.expect("silver again");
    for report in &again {
        assert!(report.bronze_versions.is_none(), "{report:?}");
        assert!(report
            .note
            .as_deref()
            .unwrap_or_default()
            .starts_with("up to date"));
    }
    assert_eq!(again.iter().map(|r| r.version).collect::<Vec<_>>(), before);

    // A full refresh rebuilds the same rows from all of Bronze.
    let rebuilt = silver
        .run_all(&SilverOptions { full_refresh: true })
        .await
        .expect("full refresh");
    assert!(rebuilt.iter().all(|report| report.full_refresh));
    assert_eq!(
        silver_state(&storage).await,
        state,
        "full refresh = incremental runs"
    );
}
