use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::executor::block_on;

use super::scenario::{land_and_ingest, silver_state};
use super::*;
use crate::checkpoint::{FileCheckpointStore, MemoryCheckpointStore};
use crate::sample::{generate, SampleFormat, SampleSpec};
use crate::storage::{LocalFileSystem, MemoryStorage};
use crate::testing::{FailingCheckpoint, FailingStorage};

fn stores() -> (Arc<dyn Storage>, Arc<dyn CheckpointStore>) {
    (
        Arc::new(MemoryStorage::new()),
        Arc::new(MemoryCheckpointStore::new()),
    )
}

fn silver(storage: &Arc<dyn Storage>, checkpoint: &Arc<dyn CheckpointStore>) -> Silver {
    Silver::new(storage.clone(), checkpoint.clone(), bundled_pipelines()).expect("pipelines")
}

#[test]
fn sample_batches_on_the_filesystem_give_the_documented_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage: Arc<dyn Storage> =
        Arc::new(LocalFileSystem::new(dir.path().join("warehouse")).expect("store"));
    let checkpoint: Arc<dyn CheckpointStore> =
        Arc::new(FileCheckpointStore::open(dir.path().join("_checkpoint")).expect("checkpoint"));
    block_on(scenario::sample_batches(storage, checkpoint));
}

/// Runs Silver after each batch of `spec` in one store, and once after all of them in
/// another; returns both final states.
fn incremental_and_at_once(
    spec: &SampleSpec,
) -> [std::collections::BTreeMap<String, Vec<scenario::Row>>; 2] {
    let sample = generate(spec).expect("generate");
    let batches = spec.batches.unwrap_or(1);
    let (step_storage, step_checkpoint) = stores();
    let (once_storage, once_checkpoint) = stores();
    for batch in 1..=batches {
        block_on(land_and_ingest(
            &step_storage,
            &step_checkpoint,
            &sample,
            batch,
        ));
        block_on(silver(&step_storage, &step_checkpoint).run_all(&SilverOptions::default()))
            .expect("incremental");
        block_on(land_and_ingest(
            &once_storage,
            &once_checkpoint,
            &sample,
            batch,
        ));
    }
    block_on(silver(&once_storage, &once_checkpoint).run_all(&SilverOptions::default()))
        .expect("at once");
    [
        block_on(silver_state(&step_storage)),
        block_on(silver_state(&once_storage)),
    ]
}

#[test]
fn incremental_runs_equal_a_full_refresh_on_generated_data_with_several_seeds() {
    for (seed, format) in [
        (1, SampleFormat::Csv),
        (2, SampleFormat::NdJson),
        (3, SampleFormat::Mixed),
        (4, SampleFormat::Parquet),
    ] {
        let spec = SampleSpec {
            trips: 600,
            seed,
            batches: Some(4),
            format,
        };
        let [incremental, at_once] = incremental_and_at_once(&spec);
        assert!(
            incremental["silver/trips"].len() > 500,
            "seed {seed}: {} trips",
            incremental["silver/trips"].len()
        );
        assert_eq!(incremental, at_once, "seed {seed}, {format:?}");
        let expected = generate(&spec).expect("generate").expected;
        for counts in expected.iter().filter(|c| c.table.starts_with("silver/")) {
            assert_eq!(
                incremental[&counts.table].len(),
                counts.after_batch[3],
                "seed {seed}: {}",
                counts.table
            );
        }
    }
}

#[test]
fn a_failure_at_any_write_then_a_rerun_gives_the_uninterrupted_result() {
    let spec = SampleSpec {
        trips: 80,
        seed: 5,
        batches: Some(2),
        format: SampleFormat::Csv,
    };
    let sample = generate(&spec).expect("generate");
    // Silver has run after batch 1; the run after batch 2 is the one that fails.
    let fixture = || {
        let (storage, checkpoint) = stores();
        block_on(land_and_ingest(&storage, &checkpoint, &sample, 1));
        block_on(silver(&storage, &checkpoint).run_all(&SilverOptions::default()))
            .expect("batch 1");
        block_on(land_and_ingest(&storage, &checkpoint, &sample, 2));
        (storage, checkpoint)
    };
    let (storage, checkpoint) = fixture();
    let counting = Arc::new(FailingStorage::new(storage.clone(), 0, 0));
    let counting_checkpoint = Arc::new(FailingCheckpoint {
        inner: checkpoint.clone(),
        writes: AtomicUsize::new(0),
        fail_at: 0,
    });
    let runner = Silver::new(
        counting.clone(),
        counting_checkpoint.clone(),
        bundled_pipelines(),
    )
    .expect("pipelines");
    block_on(runner.run_all(&SilverOptions::default())).expect("uninterrupted");
    let expected = block_on(silver_state(&storage));
    let writes = counting.writes.load(Ordering::SeqCst);
    let checkpoint_writes = counting_checkpoint.writes.load(Ordering::SeqCst);
    assert!(writes >= 12 && checkpoint_writes >= 6, "{writes} writes");

    let cases = (1..=writes)
        .map(|n| (n, 0))
        .chain((1..=checkpoint_writes).map(|n| (0, n)));
    for (fail_write, fail_checkpoint) in cases {
        let (storage, checkpoint) = fixture();
        let failing_storage: Arc<dyn Storage> =
            Arc::new(FailingStorage::new(storage.clone(), fail_write, 0));
        let failing_checkpoint: Arc<dyn CheckpointStore> = Arc::new(FailingCheckpoint {
            inner: checkpoint.clone(),
            writes: AtomicUsize::new(0),
            fail_at: fail_checkpoint,
        });
        let crashed = block_on(
            Silver::new(failing_storage, failing_checkpoint, bundled_pipelines())
                .expect("pipelines")
                .run_all(&SilverOptions::default()),
        );
        assert!(
            crashed.is_err(),
            "write {fail_write} / checkpoint {fail_checkpoint} failed"
        );
        let rerun = block_on(silver(&storage, &checkpoint).run_all(&SilverOptions::default()))
            .unwrap_or_else(|err| {
                panic!("rerun after write {fail_write} / checkpoint {fail_checkpoint}: {err}")
            });
        assert!(rerun
            .iter()
            .all(|r| r.rows_in == r.rows_out + r.quarantined + r.duplicates));
        assert_eq!(
            block_on(silver_state(&storage)),
            expected,
            "after a failed write {fail_write} / checkpoint write {fail_checkpoint}"
        );
    }
}

#[test]
fn a_run_committed_before_its_checkpoint_is_not_applied_twice() {
    let sample = generate(&crate::sample::bundled_spec()).expect("generate");
    let (storage, checkpoint) = stores();
    block_on(land_and_ingest(&storage, &checkpoint, &sample, 1));
    let runner = silver(&storage, &checkpoint);
    block_on(runner.run_all(&SilverOptions::default())).expect("batch 1");
    block_on(land_and_ingest(&storage, &checkpoint, &sample, 2));
    // Batch 2 commits to Silver, but its checkpoint is lost.
    let saved = block_on(checkpoint.get(&progress_key("trips")))
        .unwrap()
        .unwrap();
    let first = block_on(runner.run("trips", &SilverOptions::default())).expect("batch 2");
    assert_eq!(first.updated, 1);
    block_on(checkpoint.put(&progress_key("trips"), saved)).unwrap();
    let again = block_on(runner.run("trips", &SilverOptions::default())).expect("rerun");
    assert_eq!(again.version, first.version, "the txn says it is done");
    assert!(again
        .note
        .as_deref()
        .unwrap_or_default()
        .starts_with("up to date"));
    let progress = block_on(runner.progress("trips")).unwrap().unwrap();
    assert_eq!(
        Some(progress.bronze_version),
        first.bronze_versions.map(|v| v.1)
    );
}

#[test]
fn merging_the_same_rows_again_commits_nothing() {
    let sample = generate(&crate::sample::bundled_spec()).expect("generate");
    let (storage, checkpoint) = stores();
    block_on(land_and_ingest(&storage, &checkpoint, &sample, 1));
    block_on(land_and_ingest(&storage, &checkpoint, &sample, 2));
    let runner = silver(&storage, &checkpoint);
    block_on(runner.run_all(&SilverOptions::default())).expect("silver");
    let state = block_on(silver_state(&storage));
    let version = block_on(DeltaTable::new(storage.clone(), "silver/trips").snapshot())
        .unwrap()
        .version();
    // Silver's own rows merged again: every one is unchanged.
    let table = DeltaTable::new(storage.clone(), "silver/trips");
    let replay = block_on(
        table.merge(
            &[block_on(table.read(&block_on(table.snapshot()).unwrap()))
                .unwrap()
                .into_iter()
                .next()
                .unwrap()],
            MergeOptions {
                keys: vec!["trip_id".to_owned()],
                sequence_by: Some("updated_at".to_owned()),
                skip_unchanged: true,
                ..Default::default()
            },
        ),
    )
    .expect("replay");
    assert!(!replay.committed, "{replay:?}");
    assert_eq!(replay.version, version);
    assert_eq!(block_on(silver_state(&storage)), state);
}

#[test]
fn pipelines_run_after_the_tables_they_look_up_and_cycles_are_refused() {
    let (storage, checkpoint) = stores();
    let order: Vec<_> = silver(&storage, &checkpoint)
        .pipelines()
        .iter()
        .map(|p| p.entity.clone())
        .collect();
    let position = |entity: &str| order.iter().position(|e| e == entity).unwrap();
    assert!(position("locations") < position("trips"));
    assert!(position("trips") < position("payments"));

    let a = Pipeline::parse(
        "models/silver/a.yml",
        "key: id\nsteps:\n  - {transform: enrich, lookup: silver/b, key: id, joins: []}\n",
    )
    .unwrap();
    let b = Pipeline::parse(
        "models/silver/b.yml",
        "key: id\nsteps:\n  - {transform: enrich, lookup: silver/a, key: id, joins: []}\n",
    )
    .unwrap();
    let err = Silver::new(storage, checkpoint, vec![a, b]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Silver pipelines of a, b look each other up in a cycle"
    );
}

#[test]
fn missing_bronze_and_entities_are_named_and_a_missing_lookup_waits() {
    let sample = generate(&crate::sample::bundled_spec()).expect("generate");
    let (storage, checkpoint) = stores();
    let runner = silver(&storage, &checkpoint);
    let report = block_on(runner.run("trips", &SilverOptions::default())).unwrap();
    assert_eq!(
        report.note.as_deref(),
        Some("bronze/trips does not exist yet")
    );

    block_on(land_and_ingest(&storage, &checkpoint, &sample, 1));
    // A lookup table not built yet: trips waits, writes nothing, and says so.
    let report = block_on(runner.run("trips", &SilverOptions::default())).unwrap();
    assert_eq!(report.waiting_for.as_deref(), Some("silver/locations"));
    assert_eq!(report.note.as_deref(), Some("waiting for silver/locations"));
    assert_eq!((report.rows_in, report.version), (0, None));
    assert!(!block_on(DeltaTable::new(storage.clone(), "silver/trips").exists()).unwrap());
    assert!(block_on(runner.progress("trips")).unwrap().is_none());
    let waiting = block_on(read_waiting(checkpoint.as_ref(), "trips")).unwrap();
    assert_eq!(
        waiting.map(|w| w.table).as_deref(),
        Some("silver/locations")
    );
    // Once its lookup exists it runs, and waits no more.
    block_on(runner.run("locations", &SilverOptions::default())).unwrap();
    let report = block_on(runner.run("trips", &SilverOptions::default())).unwrap();
    assert_eq!((report.waiting_for, report.rows_in), (None, 1999));
    assert!(block_on(read_waiting(checkpoint.as_ref(), "trips"))
        .unwrap()
        .is_none());
    let err = block_on(runner.run("riders", &SilverOptions::default())).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("no Silver pipeline for riders (there are: "));
}

#[test]
fn steps_switch_off_and_the_merge_names_a_duplicate_key() {
    let sample = generate(&crate::sample::bundled_spec()).expect("generate");
    let (storage, checkpoint) = stores();
    block_on(land_and_ingest(&storage, &checkpoint, &sample, 1));
    let mut runner = silver(&storage, &checkpoint);
    runner
        .pipeline_mut("customers")
        .unwrap()
        .set_enabled("trim", false)
        .unwrap();
    // Without trim, the emails in capitals fail the email rule.
    let report = block_on(runner.run("customers", &SilverOptions::default())).expect("customers");
    assert!(report.quarantined > 0);
    assert!(!report.steps.iter().any(|step| step.name == "trim"));
    let quarantined = block_on(scenario::table_rows(
        &storage,
        "silver/customers_quarantine",
    ));
    assert_eq!(quarantined.len() as u64, report.quarantined);
    for row in &quarantined {
        let error = row["_error"].as_deref().unwrap_or_default();
        assert!(error.starts_with("`email` \""), "{error}");
        let email = row["email"].as_deref().unwrap_or_default();
        assert_ne!(email, email.to_lowercase());
    }

    block_on(land_and_ingest(&storage, &checkpoint, &sample, 2));
    runner
        .pipeline_mut("trips")
        .unwrap()
        .set_enabled("dedupe", false)
        .unwrap();
    block_on(runner.run("locations", &SilverOptions::default())).expect("locations");
    let err = block_on(runner.run("trips", &SilverOptions::default())).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("models/silver/trips.yml: the rows reaching the merge hold key "),
        "{err}"
    );
}

#[test]
fn pipeline_files_load_from_a_store_and_a_bad_one_is_named() {
    let storage = MemoryStorage::new();
    for (file, text) in BUNDLED {
        block_on(storage.put(
            &file.replace("models/", "project/"),
            Bytes::from_static(text.as_bytes()),
        ))
        .unwrap();
    }
    block_on(storage.put("project/silver/README.md", Bytes::from_static(b"notes"))).unwrap();
    let loaded = block_on(load_pipelines(&storage, "project/silver/")).unwrap();
    assert_eq!(loaded.len(), BUNDLED.len());
    block_on(storage.put(
        "project/silver/trips.yml",
        Bytes::from_static(
            b"key: trip_id\nsteps:\n  - transform: parse_timestamp\n    colums: [a]\n",
        ),
    ))
    .unwrap();
    let err = block_on(load_pipelines(&storage, "project/silver/")).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "project/silver/trips.yml: step 1 (parse_timestamp): unknown field `colums`"
        ),
        "{err}"
    );
}
