//! The SCD2 history over the four sample batches: customer 36's email change,
//! customer 392's deletion and restore, trip 1983 on customer 325's old version.

use std::sync::Arc;

use super::{HistoryError, KeyHistory, VersionKind};
use crate::delta::actions::Action;
use crate::delta::DeltaTable;
use crate::lakehouse::{Lakehouse, LakehouseError};
use crate::storage::Storage;
use crate::testing::{land_and_run_batch, memory_lakehouse};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(future)
}

async fn history(lakehouse: &Lakehouse, relation: &str, key: &str) -> KeyHistory {
    lakehouse
        .scd2_history(relation, key)
        .await
        .unwrap_or_else(|err| panic!("{relation} {key}: {err}"))
}

/// Whether `table` at `version` holds a row of customer `key` valid from `from_ms`.
async fn holds(storage: &Arc<dyn Storage>, version: i64, key: i64, from_ms: i64) -> bool {
    let table = DeltaTable::new(storage.clone(), "gold/customers_snapshot");
    let snapshot = table.snapshot_at(version).await.expect("snapshot");
    let columns = ["customer_id".to_owned(), "dbt_valid_from".to_owned()];
    let batch = table.read_columns(&snapshot, &columns).await.expect("read");
    let keys = super::versions::texts(batch.column(0)).expect("keys");
    let froms = super::versions::micros(batch.column(1)).expect("times");
    keys.iter()
        .zip(froms)
        .any(|(k, from)| k.as_deref() == Some(&key.to_string()) && from == Some(from_ms * 1000))
}

/// The Bronze batch whose `txn` the commit `version` of `bronze/customers` carries.
async fn bronze_batch(storage: &Arc<dyn Storage>, version: i64) -> Option<i64> {
    let table = DeltaTable::new(storage.clone(), "bronze/customers");
    let actions = table.commit_actions(version).await.expect("commit");
    actions.into_iter().find_map(|action| match action {
        Action::Txn(txn) if txn.app_id == "medallion-bronze-customers" => Some(txn.version),
        _ => None,
    })
}

/// Rows of `gold.fact_trips` on `customer_sk`, counted by the SQL console.
async fn trips_on(lakehouse: &Lakehouse, customer_sk: &str) -> String {
    let console = lakehouse.sql_console().await.expect("console");
    let sql = format!("select count(*) from gold.fact_trips where customer_sk = '{customer_sk}'");
    let output = console.run(&sql, &mut || false).await.expect("count");
    output.rows(0, 1).rows[0][0].clone().expect("a count")
}

#[test]
fn versions_changes_links_and_facts_of_the_sample_customers() {
    block_on(async {
        let (storage, lakehouse) = memory_lakehouse();
        assert_eq!(lakehouse.scd2_relations().await.expect("relations"), vec![]);
        for batch in 1..=4 {
            land_and_run_batch(&storage, &lakehouse, batch).await;
        }

        let relations = lakehouse.scd2_relations().await.expect("relations");
        let names: Vec<&str> = relations.iter().map(|r| r.relation.as_str()).collect();
        assert_eq!(
            names,
            [
                "gold.dim_customer",
                "gold.dim_driver",
                "gold.customers_snapshot",
                "gold.drivers_snapshot"
            ]
        );
        let dim = &relations[0];
        assert_eq!(dim.key, "customer_id");
        assert_eq!(dim.snapshot, "gold.customers_snapshot");
        assert_eq!(dim.entity.as_deref(), Some("customers"));
        assert_eq!(dim.surrogate_key.as_deref(), Some("customer_sk"));
        assert_eq!(dim.facts, ["gold.fact_payments", "gold.fact_trips"]);
        assert_eq!(
            dim.attributes,
            [
                "first_name",
                "last_name",
                "email",
                "phone",
                "city",
                "signup_date"
            ]
        );
        let snapshot = &relations[2];
        assert_eq!(snapshot.snapshot, "gold.customers_snapshot");
        assert_eq!(snapshot.surrogate_key, None);
        assert!(snapshot.facts.is_empty());
        assert_eq!(snapshot.attributes, dim.attributes);
        assert_eq!(relations[1].entity.as_deref(), Some("drivers"));

        // Customer 36: two versions, the email changed in batch 2.
        let ada = history(&lakehouse, "gold.dim_customer", "36").await;
        let kinds: Vec<VersionKind> = ada.versions.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, [VersionKind::Created, VersionKind::Changed]);
        let (first, second) = (&ada.versions[0], &ada.versions[1]);
        assert!(first.changes.is_empty());
        assert_eq!(second.changes.len(), 1);
        assert_eq!(second.changes[0].column, "email");
        assert_eq!(second.changes[0].old, "mateo.mller36@yahoo.com");
        assert_eq!(second.changes[0].new, "mateo.mller36@proton.me");
        assert_eq!(first.valid_from, "2023-12-19 04:14:51");
        assert_eq!(first.valid_to_ms, Some(second.valid_from_ms));
        assert_eq!((first.is_current, second.is_current), (false, true));
        assert_eq!(second.valid_to, None);
        assert_eq!(ada.axis_start_ms, first.valid_from_ms);
        assert!(ada.axis_end_ms >= second.valid_from_ms);
        // Each version's snapshot commit is the first that holds its row.
        for version in &ada.versions {
            let written = version.snapshot_version.expect("snapshot version");
            assert!(holds(&storage, written, 36, version.valid_from_ms).await);
            if written > 0 {
                assert!(!holds(&storage, written - 1, 36, version.valid_from_ms).await);
            }
        }
        assert!(first.snapshot_version < second.snapshot_version);
        // Their Silver rows came from batch 1's CSV and batch 2's NDJSON.
        let origins: Vec<(i64, &str)> = ada
            .versions
            .iter()
            .map(|v| {
                let origin = v.origin.as_ref().expect("origin");
                assert_eq!(origin.bronze_table, "bronze/customers");
                (origin.batch_id, origin.source_file.as_str())
            })
            .collect();
        assert_eq!(
            origins,
            [
                (0, "landing/customers/batch_001/customers.csv"),
                (1, "landing/customers/batch_002/customers.ndjson")
            ]
        );
        for version in &ada.versions {
            let origin = version.origin.as_ref().expect("origin");
            let bronze_version = origin.bronze_version.expect("bronze version");
            assert_eq!(
                bronze_batch(&storage, bronze_version).await,
                Some(origin.batch_id)
            );
        }

        // Customer 392: created, deleted in batch 3, restored in batch 4.
        let mary = history(&lakehouse, "gold.dim_customer", "392").await;
        let kinds: Vec<VersionKind> = mary.versions.iter().map(|v| v.kind).collect();
        assert_eq!(
            kinds,
            [
                VersionKind::Created,
                VersionKind::Deleted,
                VersionKind::Restored
            ]
        );
        let batches: Vec<(i64, String)> = mary
            .versions
            .iter()
            .map(|v| {
                let origin = v.origin.as_ref().expect("origin");
                (origin.batch_id, origin.source_file.clone())
            })
            .collect();
        assert_eq!(
            batches,
            [
                (0, "landing/customers/batch_001/customers.csv".to_owned()),
                (
                    2,
                    "landing/customers/batch_003/customers.parquet".to_owned()
                ),
                (3, "landing/customers/batch_004/customers.csv".to_owned())
            ]
        );
        assert!(mary.versions[1].changes.is_empty());
        assert!(mary.versions[2].is_current);
        assert!(mary.versions[2]
            .changes
            .iter()
            .any(|change| change.column == "email" && change.new == "mary.jones34@icloud.com"));
        // The snapshot itself tells the same story, without surrogate keys or facts.
        let snapshot_mary = history(&lakehouse, "gold.customers_snapshot", "392").await;
        let kinds: Vec<VersionKind> = snapshot_mary.versions.iter().map(|v| v.kind).collect();
        assert_eq!(kinds[1], VersionKind::Deleted);
        assert_eq!(kinds[2], VersionKind::Restored);
        for (dim, snap) in mary.versions.iter().zip(&snapshot_mary.versions) {
            assert_eq!(dim.snapshot_version, snap.snapshot_version);
            assert_eq!(snap.surrogate, None);
            assert!(snap.facts.is_empty());
        }

        // Trip 1983 joined customer 325's old version, not the current one.
        let karen = history(&lakehouse, "gold.dim_customer", "325").await;
        assert_eq!(karen.versions.len(), 2);
        let trips = |index: usize| {
            karen.versions[index]
                .facts
                .iter()
                .find(|f| f.relation == "gold.fact_trips")
                .expect("trips")
                .clone()
        };
        let (old, current) = (trips(0), trips(1));
        assert_eq!(old.key_column, "trip_id");
        assert!(old.keys.contains(&"1983".to_owned()), "{old:?}");
        assert!(!current.keys.contains(&"1983".to_owned()));
        for (index, facts) in [old, current].iter().enumerate() {
            let sk = karen.versions[index].surrogate.as_deref().expect("sk");
            assert_eq!(trips_on(&lakehouse, sk).await, facts.count.to_string());
            assert_eq!(facts.keys.len() as u64, facts.count.min(200));
            let numbers: Vec<i64> = facts.keys.iter().map(|k| k.parse().expect("id")).collect();
            assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
        }

        // Search by id, then by any attribute's text (old versions included).
        let found = lakehouse
            .scd2_search("gold.dim_customer", "36", 5)
            .await
            .expect("search");
        assert_eq!(found.len(), 5);
        assert_eq!(found[0].key, "36");
        assert_eq!(found[0].versions, 2);
        assert_eq!(found[0].matched, None);
        assert!(found[0]
            .label
            .starts_with("Mateo Müller · mateo.mller36@proton.me"));
        let by_old_email = lakehouse
            .scd2_search("gold.dim_customer", "MATEO.MLLER36@YAHOO", 5)
            .await
            .expect("search");
        assert_eq!(by_old_email.len(), 1);
        assert_eq!(by_old_email[0].key, "36");
        let matched = by_old_email[0].matched.as_ref().expect("matched");
        assert_eq!(
            (matched.column.as_str(), matched.value.as_str()),
            ("email", "mateo.mller36@yahoo.com")
        );
        let first = lakehouse
            .scd2_search("gold.dim_customer", "", 3)
            .await
            .expect("search");
        let keys: Vec<&str> = first.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["1", "2", "3"]);

        // Errors name the relation and the key.
        let err = lakehouse
            .scd2_history("gold.fact_trips", "1983")
            .await
            .expect_err("not SCD2");
        assert!(
            matches!(err, LakehouseError::History(HistoryError::NotScd2 { .. })),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "gold.fact_trips is not an SCD2 relation (there are: gold.dim_customer, \
             gold.dim_driver, gold.customers_snapshot, gold.drivers_snapshot)"
        );
        let err = lakehouse
            .scd2_search("gold.fact_trips", "", 5)
            .await
            .expect_err("not SCD2");
        assert!(matches!(
            err,
            LakehouseError::History(HistoryError::NotScd2 { .. })
        ));
        for key in ["99999", "abc"] {
            let err = lakehouse
                .scd2_history("gold.dim_customer", key)
                .await
                .expect_err("unknown key");
            assert!(
                matches!(
                    err,
                    LakehouseError::History(HistoryError::UnknownKey { .. })
                ),
                "{err}"
            );
            assert_eq!(
                err.to_string(),
                format!("gold.dim_customer has no key {key}")
            );
        }
    });
}
