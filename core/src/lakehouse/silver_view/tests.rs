//! The Silver view over the bundled sample: per-step counts, switches, the quarantine.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::checkpoint::MemoryCheckpointStore;
use crate::lakehouse::Stage;
use crate::storage::MemoryStorage;
use crate::workspace::Workspace;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// A lakehouse over `storage` and `checkpoint` with the bundled project.
fn over(storage: &Arc<dyn Storage>, checkpoint: &Arc<dyn CheckpointStore>) -> Lakehouse {
    let workspace = Workspace::in_store(storage.clone(), Workspace::bundled_files());
    Lakehouse::new(storage.clone(), checkpoint.clone(), workspace)
}

const ENTITIES: [&str; 6] = [
    "customers",
    "drivers",
    "vehicles",
    "locations",
    "payments",
    "trips",
];

async fn land(storage: &Arc<dyn Storage>, batch: usize) {
    crate::sample::land_batch(storage.as_ref(), batch)
        .await
        .expect("land");
}

async fn run(lakehouse: &Lakehouse, stages: &[Stage]) -> RunReport {
    lakehouse
        .run(stages, &mut |_| Flow::Continue)
        .await
        .expect("run")
}

/// Every step of the last run balances, and takes in what the step before it let out.
fn assert_counts_add_up(view: &SilverView) {
    let run = view.last_run.as_ref().expect("a last run");
    let ran: Vec<&StepStats> = view.steps.iter().filter_map(|s| s.last.as_ref()).collect();
    assert_eq!(ran.len(), run.steps.len(), "{}", view.entity);
    assert!(!ran.is_empty(), "{}", view.entity);
    for step in &ran {
        assert_eq!(
            step.rows_in,
            step.rows_out + step.rejected + step.duplicates,
            "{} {step:?}",
            view.entity
        );
    }
    for pair in ran.windows(2) {
        assert_eq!(
            pair[1].rows_in, pair[0].rows_out,
            "{} {pair:?}",
            view.entity
        );
    }
    assert_eq!(ran[0].rows_in, run.rows_in, "{}", view.entity);
    assert_eq!(ran[ran.len() - 1].rows_out, run.rows_out, "{}", view.entity);
    let rejected: u64 = ran.iter().map(|step| step.rejected).sum();
    let duplicates: u64 = ran.iter().map(|step| step.duplicates).sum();
    assert_eq!((rejected, duplicates), (run.quarantined, run.duplicates));
}

#[test]
fn every_steps_counts_add_up_over_the_four_sample_batches() {
    runtime().block_on(async {
        let (storage, lakehouse) = crate::testing::memory_lakehouse();
        let mut read = BTreeMap::new();
        for batch in 1..=4 {
            land(&storage, batch).await;
            let report = run(&lakehouse, &[Stage::Bronze, Stage::Silver]).await;
            for entity in ENTITIES {
                let view = lakehouse.silver_view(entity).await.expect("view");
                assert_counts_add_up(&view);
                let run = view.last_run.as_ref().expect("last run");
                *read.entry(entity).or_insert(0) += run.rows_in;
                // The last run is this batch's, as the runner recorded it.
                let this = report.silver.iter().find(|r| r.entity == entity);
                assert_eq!(Some(run), this, "{entity} in batch {batch}");
                assert!(!view.overridden);
            }
        }
        // A full refresh counts every Bronze row, step by step.
        for entity in ENTITIES {
            let report = lakehouse
                .rerun_silver(entity, &mut |_| Flow::Continue)
                .await
                .expect("rerun");
            let view = lakehouse.silver_view(entity).await.expect("view");
            assert_counts_add_up(&view);
            let run = view.last_run.as_ref().expect("last run");
            assert!(run.full_refresh);
            assert_eq!(Some(run), report.silver.first());
            assert_eq!(run.rows_in, read[entity], "{entity}: every Bronze row");
        }
    });
}

/// The landed customer rows (each distinct file once, as Bronze ingests it) whose
/// email holds a capital letter, counted from the files themselves.
async fn capitalised_emails(storage: &Arc<dyn Storage>) -> usize {
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for object in storage.list("landing/customers/").await.expect("list") {
        let bytes = storage.get(&object.path).await.expect("get");
        if !seen.insert(bytes.to_vec()) {
            continue;
        }
        assert!(object.path.ends_with(".csv"), "{}", object.path);
        let mut reader = csv::Reader::from_reader(bytes.as_ref());
        let headers = reader.headers().expect("header").clone();
        let email = headers.iter().position(|h| h == "email").expect("email");
        for record in reader.records() {
            let record = record.expect("record");
            if record
                .get(email)
                .is_some_and(|email| email.chars().any(|c| c.is_ascii_uppercase()))
            {
                count += 1;
            }
        }
    }
    count
}

#[test]
fn with_trim_off_capitalised_emails_go_to_quarantine_until_the_pipeline_is_restored() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let checkpoint: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpointStore::new());
        let lakehouse = over(&storage, &checkpoint);
        for batch in 1..=4 {
            land(&storage, batch).await;
        }
        run(&lakehouse, &[Stage::Bronze, Stage::Silver]).await;
        let before = lakehouse.silver_view("customers").await.expect("view");
        let capitalised = capitalised_emails(&storage).await;
        assert!(capitalised > 0);

        let view = lakehouse
            .set_step_enabled("customers", "trim", false)
            .await
            .expect("switch off");
        let trim = view.steps.iter().find(|s| s.name == "trim").expect("trim");
        assert!(view.overridden && trim.declared_enabled && !trim.enabled);
        assert_eq!(trim.transform, "trim");
        assert!(trim.config.contains("email: lower"), "{}", trim.config);
        // What a run sees, the lineage and the CLI too: the pipeline with trim off.
        let pipelines = lakehouse.pipelines().await.expect("pipelines");
        let customers = pipelines
            .iter()
            .find(|p| p.entity == "customers")
            .expect("customers");
        assert!(!customers
            .steps
            .iter()
            .any(|s| s.name == "trim" && s.enabled));
        let details = lakehouse
            .node_details("silver.customers")
            .await
            .expect("details");
        assert!(details
            .pipeline
            .iter()
            .any(|s| s.name == "trim" && !s.enabled));

        let mut progress = Vec::new();
        let report = lakehouse
            .rerun_silver("customers", &mut |p| {
                progress.push(p.clone());
                Flow::Continue
            })
            .await
            .expect("rerun");
        assert_eq!(progress.len(), 1);
        assert_eq!(
            (
                progress[0].node.as_str(),
                progress[0].done,
                progress[0].total
            ),
            ("silver.customers", 1, 1)
        );
        assert!(report.silver[0].full_refresh);
        let off = lakehouse.silver_view("customers").await.expect("view");
        assert_eq!(
            off.quarantine.rows,
            before.quarantine.rows + capitalised as u64
        );
        assert!(off
            .steps
            .iter()
            .find(|s| s.name == "trim")
            .expect("trim")
            .last
            .is_none());
        let check = off
            .quarantine
            .by_step
            .iter()
            .find(|group| group.step == "check" && group.example.contains("`email`"))
            .expect("a group of emails rejected by check");
        assert_eq!(check.rows as usize, capitalised);
        assert!(off.quarantine.columns.contains(&"_error".to_owned()));
        assert!(off.quarantine.sample.len() <= 200);
        // The run is on the lineage, as a run's is.
        let runs = crate::lineage::read_runs(storage.as_ref())
            .await
            .expect("runs");
        assert!(runs.contains_key("silver.customers"));

        let restored = lakehouse
            .restore_pipeline("customers")
            .await
            .expect("restore");
        assert!(!restored.overridden);
        lakehouse
            .rerun_silver("customers", &mut |_| Flow::Continue)
            .await
            .expect("rerun");
        let back = lakehouse.silver_view("customers").await.expect("view");
        assert_eq!(back.quarantine.rows, before.quarantine.rows);
        assert_eq!(back.quarantine.by_step, before.quarantine.by_step);
        println!("capitalised sample emails: {capitalised}");
    });
}

#[test]
fn a_switch_persists_across_lakehouses_and_run_all_honours_it() {
    runtime().block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let checkpoint: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpointStore::new());
        land(&storage, 1).await;
        over(&storage, &checkpoint)
            .set_step_enabled("customers", "trim", false)
            .await
            .expect("switch off");
        let lakehouse = over(&storage, &checkpoint);
        let view = lakehouse.silver_view("customers").await.expect("view");
        assert!(view.overridden);
        let report = run(&lakehouse, &[Stage::Bronze, Stage::Silver]).await;
        let customers = report
            .silver
            .iter()
            .find(|run| run.entity == "customers")
            .expect("customers ran");
        assert!(!customers.steps.iter().any(|step| step.name == "trim"));
        assert!(customers.steps.iter().any(|step| step.name == "check"));
        // Switching back to the declared state is no override at all.
        let view = lakehouse
            .set_step_enabled("customers", "trim", true)
            .await
            .expect("switch on");
        assert!(!view.overridden);
        assert!(checkpoint
            .get(&switches_key("customers"))
            .await
            .expect("get")
            .is_none());

        // A switch naming a step that is gone is ignored, and dropped by the next one.
        checkpoint
            .put(
                &switches_key("customers"),
                br#"{"gone": false, "trim": false}"#.to_vec(),
            )
            .await
            .expect("put");
        let view = lakehouse.silver_view("customers").await.expect("view");
        assert!(view.overridden);
        let view = lakehouse
            .set_step_enabled("customers", "dedupe", false)
            .await
            .expect("switch");
        let switches = read_switches(checkpoint.as_ref(), "customers")
            .await
            .expect("read");
        assert_eq!(
            switches,
            BTreeMap::from([("dedupe".to_owned(), false), ("trim".to_owned(), false)])
        );
        assert_eq!(view.steps.iter().filter(|s| !s.enabled).count(), 2);

        // Unknown names are errors that say what there is.
        let err = lakehouse
            .set_step_enabled("customers", "nope", false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("step nope: no step has this name"),
            "{err}"
        );
        let err = lakehouse.silver_view("riders").await.unwrap_err();
        assert!(
            err.to_string().contains("no Silver pipeline for riders"),
            "{err}"
        );
        // A reset drops the switches with the data.
        lakehouse.reset().await.expect("reset");
        assert!(
            !lakehouse
                .silver_view("customers")
                .await
                .expect("view")
                .overridden
        );
    });
}

#[test]
fn quoted_values_leave_the_reason_pattern() {
    assert_eq!(
        reason_pattern(r#"`email` "A\"B@X.COM" does not match "^[a-z]+$""#),
        r#"`email` "…" does not match "…""#
    );
    assert_eq!(
        reason_pattern("`customer_id` is null"),
        "`customer_id` is null"
    );
}
