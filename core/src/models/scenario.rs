//! The bundled sample batches through Bronze, Silver and the bundled star schema, as an
//! async check that runs on any pair of stores: natively on the filesystem, and in
//! headless Chromium on OPFS and IndexedDB. Each batch must give the Gold counts
//! `sample_data/README.md` documents, and the rows its edge-case table describes (the
//! ids are those of that table).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{bundled_project, Command, ModelRunner, NodeStatus, Project, RunOptions};
use crate::checkpoint::CheckpointStore;
use crate::delta::DeltaTable;
use crate::sample::{bundled_spec, generate};
use crate::silver::scenario::{land_and_ingest, table_rows, Row};
use crate::silver::{bundled_pipelines, Silver, SilverOptions};
use crate::storage::Storage;

fn text<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|value| value.as_deref())
}

/// The rows of `gold/<table>` whose `column` shows `value`, sorted by `order`.
async fn rows_where(
    storage: &Arc<dyn Storage>,
    table: &str,
    column: &str,
    value: &str,
    order: &str,
) -> Vec<Row> {
    let mut rows: Vec<Row> = table_rows(storage, &format!("gold/{table}"))
        .await
        .into_iter()
        .filter(|row| text(row, column) == Some(value))
        .collect();
    rows.sort_by(|a, b| text(a, order).cmp(&text(b, order)));
    rows
}

/// The four sample batches through the whole pipeline.
pub(crate) async fn sample_batches(
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
) {
    let sample = generate(&bundled_spec()).expect("generate");
    let silver =
        Silver::new(storage.clone(), checkpoint.clone(), bundled_pipelines()).expect("pipelines");
    let project = Project::parse(&bundled_project(), &BTreeMap::new()).expect("models/ parses");
    let gold = ModelRunner::new(storage.clone(), project);
    for batch in 1..=4 {
        land_and_ingest(&storage, &checkpoint, &sample, batch).await;
        silver
            .run_all(&SilverOptions::default())
            .await
            .expect("silver");
        let run = gold
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        let problems: Vec<String> = run
            .results
            .iter()
            .filter(|r| !matches!(r.status, NodeStatus::Success | NodeStatus::Pass))
            .map(|r| format!("{} {:?}: {}", r.name, r.status, r.message))
            .collect();
        let orphan = "relationships_fact_payments_trip_id__trip_id__ref_fact_trips_";
        let expected_problems: Vec<String> = if batch >= 3 {
            vec![format!(
                "{orphan} Warn: Got 1 row, configured to warn if != 0"
            )]
        } else {
            Vec::new()
        };
        assert_eq!(problems, expected_problems, "after batch {batch}");
        for counts in &sample.expected {
            if let Some(name) = counts.table.strip_prefix("gold/") {
                let table = DeltaTable::new(storage.clone(), format!("gold/{name}"));
                let rows = table
                    .snapshot()
                    .await
                    .expect("snapshot")
                    .num_records()
                    .expect("numRecords");
                assert_eq!(
                    rows as usize,
                    counts.after_batch[batch - 1],
                    "{} after batch {batch}",
                    counts.table
                );
            }
        }
        match batch {
            2 => {
                // The updated customer: two versions, the first closed when the second began.
                let versions =
                    rows_where(&storage, "dim_customer", "customer_id", "36", "valid_from").await;
                assert_eq!(versions.len(), 2);
                assert_eq!(
                    text(&versions[0], "valid_to"),
                    text(&versions[1], "valid_from")
                );
                assert_eq!(text(&versions[0], "is_current"), Some("false"));
                assert_eq!(text(&versions[1], "is_current"), Some("true"));
                assert_eq!(text(&versions[1], "valid_to"), None);
                // The upserted trip.
                let trip = rows_where(&storage, "fact_trips", "trip_id", "2000", "trip_id").await;
                assert_eq!(trip.len(), 1);
                assert_eq!(text(&trip[0], "status"), Some("completed"));
                assert_eq!(text(&trip[0], "tip_amount"), Some("5.80"));
                // The late trip joins customer 325 as they were at pickup, not after
                // this batch's update.
                let late = rows_where(&storage, "fact_trips", "trip_id", "1983", "trip_id").await;
                let customer =
                    rows_where(&storage, "dim_customer", "customer_id", "325", "valid_from").await;
                assert_eq!(customer.len(), 2);
                assert_eq!(
                    text(&late[0], "customer_sk"),
                    text(&customer[0], "customer_sk")
                );
                assert_eq!(text(&customer[0], "is_current"), Some("false"));
                assert!(text(&late[0], "driver_sk").is_some());
            }
            3 => {
                // The deleted customer: the last version closed, one deletion version.
                let versions =
                    rows_where(&storage, "dim_customer", "customer_id", "392", "valid_from").await;
                assert_eq!(versions.len(), 2);
                assert_eq!(text(&versions[0], "is_deleted"), Some("false"));
                assert!(text(&versions[0], "valid_to").is_some());
                assert_eq!(text(&versions[1], "is_deleted"), Some("true"));
                assert_eq!(text(&versions[1], "is_current"), Some("true"));
            }
            4 => {
                // Restored: a new current version after the deletion one.
                let versions =
                    rows_where(&storage, "dim_customer", "customer_id", "392", "valid_from").await;
                assert_eq!(versions.len(), 3);
                let current: Vec<&Row> = versions
                    .iter()
                    .filter(|row| text(row, "is_current") == Some("true"))
                    .collect();
                assert_eq!(current.len(), 1);
                assert_eq!(text(current[0], "is_deleted"), Some("false"));
                assert_eq!(
                    versions
                        .iter()
                        .filter(|row| text(row, "is_deleted") == Some("true"))
                        .count(),
                    1,
                    "one deletion version, not one per run"
                );
            }
            _ => {}
        }
    }

    // Building again with nothing new: the snapshots and the incremental fact do not
    // commit.
    let versions = |table: &'static str| {
        let storage = storage.clone();
        async move {
            DeltaTable::new(storage, format!("gold/{table}"))
                .snapshot()
                .await
                .expect("snapshot")
                .version()
        }
    };
    let before = [
        versions("customers_snapshot").await,
        versions("drivers_snapshot").await,
        versions("fact_trips").await,
    ];
    let again = gold
        .run(Command::Build, &RunOptions::default())
        .await
        .expect("build again");
    assert_eq!(
        again
            .result("customers_snapshot")
            .map(|r| r.message.as_str()),
        Some("SNAPSHOT (0 new, 0 closed)")
    );
    let after = [
        versions("customers_snapshot").await,
        versions("drivers_snapshot").await,
        versions("fact_trips").await,
    ];
    assert_eq!(before, after, "no commit when nothing changed");
}
