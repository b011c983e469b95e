//! The twelve steps: for each, where it points now, when it is done, what "Do it for
//! me" does, and its explanation from the values the page shows.

use leptos::prelude::*;
use medallion_core::history::{KeyHistory, VersionKind};
use medallion_core::lakehouse::TableCard;
use serde_json::Value;

use super::{Page, Tour};
use crate::explorer::Tab;
use crate::protocol::Request;
use crate::route::{navigate, Route};

/// What the step waits for now: the element it points at (a CSS selector) and what to
/// do there.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// The element to point at.
    pub target: String,
    /// What the user does next.
    pub todo: String,
}

/// One step of the tour.
pub struct Step {
    /// Its title, after "Tour step N of 12: ".
    pub title: &'static str,
    /// The section of docs/CONCEPTS.md that explains it (its anchor).
    pub concept: &'static str,
    /// What that section explains, for its button: "What is this? <about>".
    pub about: &'static str,
    /// Where it points and what it waits for, as the page is now.
    pub phase: fn(&Page) -> Phase,
    /// Whether the page shows the step's action done.
    pub done: fn(&Page) -> bool,
    /// "Do it for me": the request the control would send, or the navigation.
    pub act: fn(&Page, Tour),
    /// Two to four sentences on the concept, with the values on screen.
    pub explain: fn(&Page) -> Vec<String>,
}

/// The tour.
pub static STEPS: [Step; 12] = [
    Step {
        title: "Land batch 1",
        concept: "the-landing-panel",
        about: "the landing zone",
        phase: land_phase,
        done: land_done,
        act: land_act,
        explain: land_explain,
    },
    Step {
        title: "Run all",
        concept: "the-run-panel",
        about: "a pipeline run",
        phase: run_phase,
        done: run_done,
        act: run_act,
        explain: run_explain,
    },
    Step {
        title: "Bronze's metadata columns",
        concept: "schema-drift-and-rescued-data",
        about: "rescued data",
        phase: bronze_phase,
        done: bronze_done,
        act: bronze_act,
        explain: bronze_explain,
    },
    Step {
        title: "The checkpoint",
        concept: "checkpoint",
        about: "a checkpoint",
        phase: checkpoint_phase,
        done: checkpoint_done,
        act: checkpoint_act,
        explain: checkpoint_explain,
    },
    Step {
        title: "A Delta commit",
        concept: "delta-commit",
        about: "a Delta commit",
        phase: commit_phase,
        done: commit_done,
        act: commit_act,
        explain: commit_explain,
    },
    Step {
        title: "Batch 2: an upsert and the quarantine",
        concept: "upsert",
        about: "an upsert",
        phase: upsert_phase,
        done: upsert_done,
        act: upsert_act,
        explain: upsert_explain,
    },
    Step {
        title: "Customer 36's SCD2 versions",
        concept: "scd2-version",
        about: "an SCD2 version",
        phase: versions_phase,
        done: versions_done,
        act: versions_act,
        explain: versions_explain,
    },
    Step {
        title: "Trip 1983's point-in-time join",
        concept: "point-in-time-join",
        about: "a point-in-time join",
        phase: join_phase,
        done: join_done,
        act: join_act,
        explain: join_explain,
    },
    Step {
        title: "Time travel to version 1",
        concept: "time-travel",
        about: "time travel",
        phase: travel_phase,
        done: travel_done,
        act: travel_act,
        explain: travel_explain,
    },
    Step {
        title: "Batch 3: schema drift, a deletion, a file skipped",
        concept: "schema-drift-and-rescued-data",
        about: "schema drift",
        phase: drift_phase,
        done: drift_done,
        act: drift_act,
        explain: drift_explain,
    },
    Step {
        title: "Batch 4: the restore",
        concept: "scd2-version",
        about: "a restore",
        phase: restore_phase,
        done: restore_done,
        act: restore_act,
        explain: restore_explain,
    },
    Step {
        title: "The lineage, and a model edit",
        concept: "lineage",
        about: "the lineage graph",
        phase: lineage_phase,
        done: lineage_done,
        act: lineage_act,
        explain: lineage_explain,
    },
];

// ---- What the page shows ----

fn card(page: &Page, table: &str) -> Option<TableCard> {
    page.cards
        .with(|cards| cards.iter().find(|card| card.table == table).cloned())
}

fn view_is(page: &Page, name: &str) -> bool {
    page.route.with(|route| route.view_name() == name)
}

/// Batch `batch` of the sample has gone through Run all: Bronze's trips has its commit
/// (version 0 creates the table, batch N appends version N), and Gold was built after.
pub fn ran(page: &Page, batch: usize) -> bool {
    let (Some(bronze), Some(fact)) = (card(page, "bronze/trips"), card(page, "gold/fact_trips"))
    else {
        return false;
    };
    !page.running.get()
        && bronze.version >= batch as i64
        && fact.committed_ms >= bronze.committed_ms
}

/// Batch `batch` is in landing, or already ingested.
pub fn landed(page: &Page, batch: usize) -> bool {
    let folder = format!("/batch_{batch:03}/");
    page.waiting
        .with(|files| files.iter().any(|(path, _)| path.contains(&folder)))
        || card(page, "bronze/trips").is_some_and(|card| card.version >= batch as i64)
}

/// The explorer shows `table`.
fn explorer_shows(page: &Page, table: &str) -> bool {
    view_is(page, "Explorer")
        && page
            .explorer
            .view
            .with(|view| view.as_ref().is_some_and(|view| view.table == table))
}

// ---- Where to point ----

fn phase(target: &str, todo: impl Into<String>) -> Phase {
    Phase {
        target: target.to_owned(),
        todo: todo.into(),
    }
}

/// The navigation's entry for a view, when the step's element is on another view.
fn open_view(view: &str) -> Phase {
    phase(
        &format!(
            "nav[aria-label=\"Views\"] a[href^=\"#/{}\"]",
            view.to_ascii_lowercase()
        ),
        format!("Open the {view} view in the navigation above."),
    )
}

fn on_pipeline(page: &Page, target: &str, todo: &str) -> Phase {
    if view_is(page, "Pipeline") {
        phase(target, todo)
    } else {
        open_view("Pipeline")
    }
}

/// `then` once the explorer shows `table`; before, its card on the board.
fn in_explorer(page: &Page, table: &str, then: Phase) -> Phase {
    if explorer_shows(page, table) {
        then
    } else {
        on_pipeline(
            page,
            &format!("[data-testid=\"card-{table}\"] .card-name"),
            &format!("Press {table} on the board to explore it."),
        )
    }
}

/// Landing then running batch `batch`, while it has not run.
fn batch_phase(page: &Page, batch: usize) -> Option<Phase> {
    if ran(page, batch) {
        None
    } else if page.running.get() {
        Some(phase(
            "[data-testid=\"run-status\"]",
            "The run is going: each step's progress shows here.",
        ))
    } else if landed(page, batch) {
        Some(on_pipeline(
            page,
            "[data-tour=\"Run all\"]",
            "Press Run all.",
        ))
    } else {
        Some(on_pipeline(
            page,
            &format!("[data-tour=\"load-{batch}\"]"),
            &format!("Press Load sample batch {batch}."),
        ))
    }
}

// ---- What "Do it for me" does ----

fn to_pipeline(page: &Page) {
    if !view_is(page, "Pipeline") {
        navigate(&Route::Pipeline);
    }
}

/// Lands batch `batch` and runs all once it is there, or runs all if it waits already.
fn do_batch(page: &Page, tour: Tour, batch: usize) {
    to_pipeline(page);
    if !landed(page, batch) {
        page.land.run(batch);
        tour.pending_run.set(Some(batch));
    } else if !ran(page, batch) {
        page.run_all.run(());
    }
}

fn explore(page: &Page, table: &str, version: Option<i64>, tab: Tab) {
    page.explorer.tab.set(tab);
    let route = Route::Explorer {
        table: Some(table.to_owned()),
        version,
    };
    if page.route.get_untracked() == route {
        page.connection.post(&Request::Explore {
            table: table.to_owned(),
            version,
        });
    } else {
        navigate(&route);
    }
}

// ---- 1. Land batch 1 ----

fn land_phase(page: &Page) -> Phase {
    if land_done(page) {
        on_pipeline(page, "[data-testid=\"waiting\"]", "See what landing holds.")
    } else {
        on_pipeline(page, "[data-tour=\"load-1\"]", "Press Load sample batch 1.")
    }
}

fn land_done(page: &Page) -> bool {
    landed(page, 1)
}

fn land_act(page: &Page, _: Tour) {
    to_pipeline(page);
    page.land.run(1);
}

fn land_explain(page: &Page) -> Vec<String> {
    let files = page.waiting.get();
    let mut text = vec![
        "Landing is the raw zone: files arrive as they are, in any format, and nothing reads them until Bronze ingests them.".to_owned(),
    ];
    if files.is_empty() {
        if landed(page, 1) {
            text.push("Batch 1 has been ingested already: landing keeps its files, but none waits for the next ingest.".to_owned());
        } else {
            text.push("Batch 1 of the sample has one file per entity (trips, customers, drivers, payments, vehicles, locations), in CSV, NDJSON or Parquet.".to_owned());
        }
    } else {
        let names: Vec<String> = files
            .iter()
            .take(3)
            .map(|(path, size)| {
                format!("{} ({size} bytes)", path.rsplit('/').next().unwrap_or(path))
            })
            .collect();
        text.push(format!(
            "It now holds {} files waiting for Bronze, such as {}.",
            files.len(),
            names.join(", ")
        ));
        text.push("They are bytes in the browser's private file system (OPFS), under landing/<entity>/batch_001/; no table exists yet.".to_owned());
    }
    text
}

// ---- 2. Run all ----

fn run_phase(page: &Page) -> Phase {
    if run_done(page) {
        phase(
            "[data-testid=\"run-summary\"]",
            "Read the run's summary and the board.",
        )
    } else if page.running.get() {
        phase("[data-testid=\"run-status\"]", "The run is going.")
    } else {
        on_pipeline(page, "[data-tour=\"Run all\"]", "Press Run all.")
    }
}

fn run_done(page: &Page) -> bool {
    ran(page, 1)
}

fn run_act(page: &Page, tour: Tour) {
    do_batch(page, tour, 1);
}

fn run_explain(page: &Page) -> Vec<String> {
    let mut text = vec!["Run all runs three stages in order: Bronze ingests the new landing files, Silver cleans them into one row per key, and Gold builds the dbt project's models and runs its tests.".to_owned()];
    if let Some(summary) = page.summary.get() {
        text.push(format!(
            "This run ingested {} files ({} rows, {} malformed), quarantined {} rows in Silver, and {} tests passed in Gold.",
            summary.files, summary.rows, summary.malformed, summary.quarantined, summary.tests_passed
        ));
    }
    let cards = page.cards.get();
    if !cards.is_empty() {
        let count = |layer: &str| {
            cards
                .iter()
                .filter(|card| card.table.starts_with(layer))
                .count()
        };
        text.push(format!(
            "The board shows {} Delta tables: {} in Bronze, {} in Silver, {} in Gold, each with its rows, its version and its last commit.",
            cards.len(),
            count("bronze/"),
            count("silver/"),
            count("gold/")
        ));
    }
    text
}

// ---- 3. Bronze's metadata columns ----

fn bronze_phase(page: &Page) -> Phase {
    in_explorer(
        page,
        "bronze/trips",
        if page.explorer.tab.get() == Tab::Schema {
            phase(
                "[data-testid=\"schema\"]",
                "Read the columns whose names start with _.",
            )
        } else {
            phase(
                "[role=\"tablist\"][aria-label=\"Table views\"] button:nth-child(2)",
                "Press the Schema tab.",
            )
        },
    )
}

fn bronze_done(page: &Page) -> bool {
    explorer_shows(page, "bronze/trips") && page.explorer.tab.get() == Tab::Schema
}

fn bronze_act(page: &Page, _: Tour) {
    explore(page, "bronze/trips", None, Tab::Schema);
}

fn bronze_explain(page: &Page) -> Vec<String> {
    let view = page
        .explorer
        .view
        .get()
        .filter(|view| view.table == "bronze/trips");
    let mut text = Vec::new();
    match view {
        Some(view) => {
            let meta: Vec<String> = view
                .columns
                .iter()
                .filter(|column| column.name.starts_with('_'))
                .map(|column| format!("{} ({})", column.name, column.data_type))
                .collect();
            text.push(format!(
                "bronze/trips holds {} rows at version {}: every landed row as it came, plus the columns Bronze adds: {}.",
                view.rows,
                view.version,
                meta.join(", ")
            ));
        }
        None => text.push("Bronze keeps every landed row as it came, and adds columns that say where and when it came from.".to_owned()),
    }
    text.push("_source_file and _batch_id name the landing file and the ingest batch of each row; _file_modified_at and _ingested_at say when.".to_owned());
    text.push("_rescued_data keeps, as JSON, the values that did not fit the table's typed columns (a fare of \"N/A\" in a number column), as Auto Loader's rescued data column does, and _corrupt_record the raw text of a record that could not be parsed: nothing is dropped silently.".to_owned());
    text
}

// ---- 4. The checkpoint ----

const CHECKPOINT_STREAM: &str = "bronze/trips";

fn checkpoint_phase(page: &Page) -> Phase {
    if checkpoint_done(page) {
        on_pipeline(
            page,
            "[data-testid=\"checkpoint-entries\"]",
            "Read the offsets and commits entries.",
        )
    } else {
        on_pipeline(
            page,
            &format!("[data-stream=\"{CHECKPOINT_STREAM}\"]"),
            "Press bronze/trips in the checkpoint inspector.",
        )
    }
}

fn checkpoint_done(page: &Page) -> bool {
    view_is(page, "Pipeline")
        && page.inspector.stream.get().as_deref() == Some(CHECKPOINT_STREAM)
        && page.inspector.entries.with(|entries| !entries.is_empty())
}

fn checkpoint_act(page: &Page, _: Tour) {
    to_pipeline(page);
    page.connection.post(&Request::Checkpoints {
        stream: Some(CHECKPOINT_STREAM.to_owned()),
    });
}

fn checkpoint_explain(page: &Page) -> Vec<String> {
    let entries = page.inspector.entries.get();
    let last = |kind: &str| {
        entries
            .iter()
            .rev()
            .find(|entry| entry.key.contains(kind))
            .cloned()
    };
    let mut text = Vec::new();
    match (last("/offsets/"), last("/commits/")) {
        (Some(offsets), Some(commits)) => {
            let planned: Option<Value> = serde_json::from_str(&offsets.value).ok();
            let files: Vec<String> = planned
                .as_ref()
                .and_then(|value| value["files"].as_array())
                .map(|files| {
                    files
                        .iter()
                        .filter_map(|file| file["path"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let committed: Option<Value> = serde_json::from_str(&commits.value).ok();
            let version = committed
                .as_ref()
                .and_then(|value| value["version"].as_i64())
                .map_or("?".to_owned(), |version| version.to_string());
            text.push(format!(
                "Before writing anything, Bronze recorded {}: the files this batch would read ({}), with their size and SHA-256. Once the Delta commit was made it recorded {}: that batch is version {version} of bronze/trips.",
                offsets.key,
                files.join(", "),
                commits.key
            ));
        }
        _ => text.push("Each Bronze stream keeps a checkpoint, as Spark's Structured Streaming does: an offsets entry written before a batch (the files it will read), and a commits entry written after its Delta commit.".to_owned()),
    }
    text.push("After a crash, an offset without its commit is redone with the same files, which landing still holds (a replayable source). The append carries a txn action (appId medallion-bronze-trips, version = the batch), so a batch already committed is recognised and not written twice (an idempotent sink): each file lands in Bronze exactly once.".to_owned());
    text
}

// ---- 5. A Delta commit ----

const COMMIT_TABLE: &str = "bronze/trips";

fn commit_phase(page: &Page) -> Phase {
    let history = page.explorer.tab.get() == Tab::History;
    in_explorer(
        page,
        COMMIT_TABLE,
        if commit_done(page) {
            phase(
                "[data-testid=\"commit-json\"]",
                "Read the commit's actions.",
            )
        } else if history {
            phase(
                "[data-testid=\"history\"] tbody tr:first-child td.actions button:nth-child(2)",
                "Press Actions of the newest version.",
            )
        } else {
            phase(
                "[role=\"tablist\"][aria-label=\"Table views\"] button:nth-child(3)",
                "Press the History tab.",
            )
        },
    )
}

fn commit_done(page: &Page) -> bool {
    explorer_shows(page, COMMIT_TABLE)
        && page.explorer.tab.get() == Tab::History
        && page.explorer.commit.with(|commit| {
            commit
                .as_ref()
                .is_some_and(|(table, _, _)| table == COMMIT_TABLE)
        })
}

fn commit_act(page: &Page, tour: Tour) {
    let latest = card(page, COMMIT_TABLE).map_or(1, |card| card.version);
    if explorer_shows(page, COMMIT_TABLE) {
        page.explorer.tab.set(Tab::History);
        page.connection.post(&Request::Commit {
            table: COMMIT_TABLE.to_owned(),
            version: latest,
        });
    } else {
        // Opening the table clears the commit shown: it is asked for once the table is.
        tour.pending_commit
            .set(Some((COMMIT_TABLE.to_owned(), latest)));
        explore(page, COMMIT_TABLE, None, Tab::History);
    }
}

fn commit_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    let shown = page
        .explorer
        .commit
        .get()
        .filter(|(table, _, _)| table == COMMIT_TABLE);
    if let Some((table, version, json)) = shown {
        let actions: Vec<Value> = serde_json::from_str(&json).unwrap_or_default();
        let mut kinds: Vec<(String, usize)> = Vec::new();
        for action in &actions {
            if let Some(kind) = action.as_object().and_then(|object| object.keys().next()) {
                match kinds.iter_mut().find(|(name, _)| name == kind) {
                    Some((_, count)) => *count += 1,
                    None => kinds.push((kind.clone(), 1)),
                }
            }
        }
        let listed: Vec<String> = kinds
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        let operation = actions
            .iter()
            .find_map(|action| action["commitInfo"]["operation"].as_str())
            .unwrap_or("?");
        let records: i64 = actions
            .iter()
            .filter_map(|action| action["add"]["stats"]["numRecords"].as_i64())
            .sum();
        text.push(format!(
            "Version {version} of {table} is one JSON file in its _delta_log, one action per line: {}.",
            listed.join(", ")
        ));
        text.push(format!(
            "commitInfo says what happened ({operation}); each add names a new Parquet data file with its statistics ({records} records here); txn records which ingest batch wrote it."
        ));
    } else {
        text.push("A Delta table is Parquet files plus a log: each commit is one JSON file of actions in _delta_log, written atomically as the next version.".to_owned());
    }
    text.push("Version 0 (CREATE TABLE) holds protocol (the reader and writer versions) and metaData (the schema); a remove takes a file out of the table. A reader replays the actions in order to know which files make up any version.".to_owned());
    text
}

// ---- 6. Batch 2: an upsert and the quarantine ----

const QUARANTINE_OF: &str = "trips";

/// The Silver view shows `entity`'s pipeline.
fn silver_shows(page: &Page, entity: &str) -> bool {
    view_is(page, "Silver")
        && page
            .silver
            .shown()
            .with(|view| view.as_ref().is_some_and(|view| view.entity == entity))
}

fn upsert_phase(page: &Page) -> Phase {
    batch_phase(page, 2).unwrap_or_else(|| {
        if silver_shows(page, QUARANTINE_OF) {
            phase(
                ".silver-quarantine",
                "Read the quarantine: each row's step and reason.",
            )
        } else if view_is(page, "Silver") {
            phase(
                &format!(".silver-entities a[href=\"#/silver/{QUARANTINE_OF}\"]"),
                "Press trips in the Silver entities.",
            )
        } else {
            open_view("Silver")
        }
    })
}

fn upsert_done(page: &Page) -> bool {
    ran(page, 2) && silver_shows(page, QUARANTINE_OF)
}

fn upsert_act(page: &Page, tour: Tour) {
    if ran(page, 2) {
        navigate(&Route::Silver {
            entity: Some(QUARANTINE_OF.to_owned()),
        });
    } else {
        do_batch(page, tour, 2);
    }
}

fn upsert_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    match card(page, "silver/trips").filter(|card| card.operation == "MERGE") {
        Some(card) => text.push(format!(
            "Silver merged batch 2 into silver/trips on trip_id: {} inserted, {} updated, {} deleted (version {}). That is an upsert: a new key is inserted, a known key is replaced only if its updated_at is not older and its values differ (trip 2000 went from cancelled to completed).",
            card.inserted, card.updated, card.deleted, card.version
        )),
        None => text.push("Batch 2 brings new trips and changed ones. Silver merges them into silver/trips on trip_id: new keys are inserted, known keys updated when the row is newer (an upsert).".to_owned()),
    }
    let shown = page
        .silver
        .shown()
        .get()
        .filter(|view| view.entity == QUARANTINE_OF);
    match shown {
        Some(view) if view.quarantine.rows > 0 => {
            let reasons: Vec<String> = view
                .quarantine
                .by_step
                .iter()
                .map(|group| format!("{} ({}): {}", group.step, group.rows, group.example))
                .collect();
            text.push(format!(
                "{} rows went to {} instead, each with the step that rejected it and why: {}.",
                view.quarantine.rows,
                view.quarantine.table,
                reasons.join("; ")
            ));
        }
        _ => {
            if let Some(summary) = page.summary.get() {
                text.push(format!(
                    "The run quarantined {} rows: rows a step rejects go to silver/trips_quarantine with the step and the reason, never dropped.",
                    summary.quarantined
                ));
            }
        }
    }
    text.push("Rows in = rows out + quarantined + duplicates, for every step of the pipeline, or the run fails.".to_owned());
    text
}

// ---- SCD2 history (steps 7, 8 and 11) ----

const CUSTOMERS: &str = "gold.dim_customer";

/// The history view shows `key` of gold.dim_customer.
fn history_of(page: &Page, key: &str) -> Option<KeyHistory> {
    if !view_is(page, "History") {
        return None;
    }
    page.history
        .shown()
        .get()
        .filter(|history| history.relation.relation == CUSTOMERS && history.key == key)
}

/// Where to point to reach `key`'s history, or `then` once it shows.
fn history_phase(page: &Page, key: &str, then: Phase) -> Phase {
    if history_of(page, key).is_some() {
        return then;
    }
    if !view_is(page, "History") {
        return open_view("History");
    }
    let relation = page.route.with(|route| match route {
        Route::History { relation, .. } => relation.clone(),
        _ => None,
    });
    if relation.as_deref() == Some(CUSTOMERS) {
        phase(
            ".history-search",
            format!("Search {key}, then press customer {key} in the matching keys."),
        )
    } else {
        phase(
            "#history-relation",
            format!("Choose {CUSTOMERS} as the relation."),
        )
    }
}

fn show_history(key: &str) {
    navigate(&Route::History {
        relation: Some(CUSTOMERS.to_owned()),
        key: Some(key.to_owned()),
    });
}

fn kind_name(kind: VersionKind) -> &'static str {
    match kind {
        VersionKind::Created => "created",
        VersionKind::Changed => "changed",
        VersionKind::Deleted => "deleted",
        VersionKind::Restored => "restored",
    }
}

// ---- 7. Customer 36's SCD2 versions ----

fn versions_phase(page: &Page) -> Phase {
    history_phase(
        page,
        "36",
        phase(
            &format!("[aria-label=\"Timeline of {CUSTOMERS} 36\"]"),
            "Read the bars: one per version.",
        ),
    )
}

fn versions_done(page: &Page) -> bool {
    history_of(page, "36").is_some()
}

fn versions_act(_: &Page, _: Tour) {
    show_history("36");
}

fn versions_explain(page: &Page) -> Vec<String> {
    let mut text = vec!["gold.dim_customer is a type 2 slowly changing dimension: a change to a customer closes its current version and adds a new one, so history is kept.".to_owned()];
    if let Some(history) = history_of(page, "36") {
        let changes: Vec<String> = history
            .versions
            .iter()
            .flat_map(|version| {
                version.changes.iter().map(move |change| {
                    format!(
                        "version {} from {}: {} {} → {}",
                        version.number, version.valid_from, change.column, change.old, change.new
                    )
                })
            })
            .collect();
        text.push(format!(
            "Customer 36 has {} versions, each a bar from valid_from to valid_to (the current one open-ended); what changed: {}.",
            history.versions.len(),
            changes.join("; ")
        ));
        let written: Vec<String> = history
            .versions
            .iter()
            .filter_map(|version| version.snapshot_version.map(|v| v.to_string()))
            .collect();
        if !written.is_empty() {
            text.push(format!(
                "Each version was written by a commit of the snapshot {} (its versions {}), and links back to the Bronze batch and the file its Silver row came from.",
                history.relation.snapshot,
                written.join(" and ")
            ));
        }
    }
    text.push("dbt's snapshot (strategy timestamp on updated_at) set dbt_valid_to on the old row and inserted the new one with dbt_valid_from; dim_customer gives each version its own surrogate key, customer_sk.".to_owned());
    text
}

// ---- 8. Trip 1983's point-in-time join ----

fn join_phase(page: &Page) -> Phase {
    history_phase(
        page,
        "325",
        phase(
            "[aria-label=\"Facts on version 1\"]",
            "Find trip 1983 among the facts of version 1.",
        ),
    )
}

fn join_done(page: &Page) -> bool {
    history_of(page, "325").is_some()
}

fn join_act(_: &Page, _: Tour) {
    show_history("325");
}

fn join_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    if let Some(history) = history_of(page, "325") {
        let on = history.versions.iter().find(|version| {
            version
                .facts
                .iter()
                .any(|fact| fact.keys.iter().any(|key| key == "1983"))
        });
        if let Some(version) = on {
            let trips: u64 = version.facts.iter().map(|fact| fact.count).sum();
            text.push(format!(
                "Trip 1983 is one of the {trips} trips on version {} of customer 325 (valid from {} to {}, customer_sk {}), not on the current version{}.",
                version.number,
                version.valid_from,
                version.valid_to.clone().unwrap_or_else(|| "now".to_owned()),
                version.surrogate.clone().unwrap_or_default(),
                if version.is_current { " (it is the current one)" } else { "" }
            ));
        }
    }
    text.push("That is a point-in-time join: fact_trips keys each trip to the dimension version whose valid_from <= pickup_at < valid_to. Trip 1983 arrived late, in batch 2, after customer 325 had changed, and still found the version valid when it happened.".to_owned());
    text
}

// ---- 9. Time travel to version 1 ----

const TRAVEL_TABLE: &str = "gold/dim_customer";

fn travel_phase(page: &Page) -> Phase {
    in_explorer(
        page,
        TRAVEL_TABLE,
        if travel_done(page) {
            phase(
                "[data-testid=\"explorer-summary\"]",
                "Compare with the latest version.",
            )
        } else {
            phase(".explorer-head select", "Choose version 1.")
        },
    )
}

fn travel_done(page: &Page) -> bool {
    explorer_shows(page, TRAVEL_TABLE)
        && page
            .explorer
            .view
            .with(|view| view.as_ref().is_some_and(|view| view.version == 1))
}

fn travel_act(page: &Page, _: Tour) {
    explore(page, TRAVEL_TABLE, Some(1), Tab::Data);
}

fn travel_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    let view = page
        .explorer
        .view
        .get()
        .filter(|view| view.table == TRAVEL_TABLE && view.version == 1);
    if let (Some(view), Some(latest)) = (view, card(page, TRAVEL_TABLE)) {
        text.push(format!(
            "{TRAVEL_TABLE} at version 1 has {} rows, as batch 1 built it; the latest, version {}, has {}.",
            view.rows,
            latest.version,
            latest.rows.map_or("?".to_owned(), |rows| rows.to_string())
        ));
    }
    text.push("Delta never rewrites a data file in place: a reader replays the log only up to version 1 and reads the files it names, so old versions stay readable until VACUUM deletes the files no longer needed.".to_owned());
    text.push("The SQL console reads the same version as gold.dim_customer@v1.".to_owned());
    text
}

// ---- 10. Batch 3: schema drift, a deletion, a file skipped ----

fn has_surge(page: &Page) -> bool {
    page.explorer.view.with(|view| {
        view.as_ref().is_some_and(|view| {
            view.table == "bronze/trips"
                && view
                    .columns
                    .iter()
                    .any(|column| column.name == "surge_multiplier")
        })
    })
}

fn drift_phase(page: &Page) -> Phase {
    batch_phase(page, 3).unwrap_or_else(|| {
        in_explorer(
            page,
            "bronze/trips",
            if page.explorer.tab.get() == Tab::Schema {
                phase("[data-testid=\"schema\"]", "Find surge_multiplier.")
            } else {
                phase(
                    "[role=\"tablist\"][aria-label=\"Table views\"] button:nth-child(2)",
                    "Press the Schema tab.",
                )
            },
        )
    })
}

fn drift_done(page: &Page) -> bool {
    ran(page, 3) && explorer_shows(page, "bronze/trips") && has_surge(page)
}

fn drift_act(page: &Page, tour: Tour) {
    if ran(page, 3) {
        explore(page, "bronze/trips", None, Tab::Schema);
    } else {
        do_batch(page, tour, 3);
    }
}

fn drift_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    if has_surge(page) {
        text.push("bronze/trips now has a column surge_multiplier: batch 3's trips file brought it, and Bronze evolved the table's schema (a new metaData action in its commit) instead of failing; older rows read it as null.".to_owned());
    } else {
        text.push("Batch 3's trips file has a column the table has never seen, surge_multiplier: Bronze evolves the table's schema instead of failing.".to_owned());
    }
    match card(page, "silver/customers").filter(|card| card.deleted > 0) {
        Some(card) => text.push(format!(
            "silver/customers' merge deleted {} row: customer 392 arrived with the deletion marker, and the snapshot will record the deletion as a version of its own.",
            card.deleted
        )),
        None => text.push("Customer 392 arrives with the deletion marker: Silver removes the key, and the snapshot records the deletion as a version of its own.".to_owned()),
    }
    let locations = card(page, "bronze/locations").and_then(|card| card.rows);
    text.push(format!(
        "Batch 3's locations.csv has the very bytes of batch 1's: the checkpoint's seen-files index (size and SHA-256) skipped it, so bronze/locations {}.",
        locations.map_or("gained no rows".to_owned(), |rows| format!("still holds {rows} rows"))
    ));
    text
}

// ---- 11. Batch 4: the restore ----

fn restore_phase(page: &Page) -> Phase {
    batch_phase(page, 4).unwrap_or_else(|| {
        history_phase(
            page,
            "392",
            phase(
                &format!("[aria-label=\"Timeline of {CUSTOMERS} 392\"]"),
                "Read the deletion and the restore on the timeline.",
            ),
        )
    })
}

fn restore_done(page: &Page) -> bool {
    ran(page, 4) && history_of(page, "392").is_some()
}

fn restore_act(page: &Page, tour: Tour) {
    if ran(page, 4) {
        show_history("392");
    } else {
        do_batch(page, tour, 4);
    }
}

fn restore_explain(page: &Page) -> Vec<String> {
    let mut text = vec!["Batch 4 brings customer 392 back. Silver inserts the key again, and the snapshot (hard_deletes: new_record) closes the deletion version and adds a new current one.".to_owned()];
    if let Some(history) = history_of(page, "392") {
        let kinds: Vec<String> = history
            .versions
            .iter()
            .map(|version| {
                let origin = version
                    .origin
                    .as_ref()
                    .map(|origin| {
                        format!(
                            " (Bronze batch {}, {})",
                            origin.batch_id, origin.source_file
                        )
                    })
                    .unwrap_or_default();
                format!("{} {}{origin}", version.number, kind_name(version.kind))
            })
            .collect();
        text.push(format!(
            "Customer 392 has {} versions: {}.",
            history.versions.len(),
            kinds.join(", ")
        ));
    }
    text.push("Nothing was overwritten: every version stays, each with its own customer_sk, so facts keep pointing at the version valid when they happened.".to_owned());
    text
}

// ---- 12. The lineage, and a model edit ----

const FACT_NODE: &str = "gold.fact_trips";
const FACT_FILE: &str = "models/marts/fact_trips.sql";

fn lineage_phase(page: &Page) -> Phase {
    let details = page.lineage.details.with(|details| {
        details
            .as_ref()
            .is_some_and(|details| details.id == FACT_NODE)
    });
    if view_is(page, "Models") {
        if page.models.path.get().as_deref() == Some(FACT_FILE) {
            phase(
                ".models-editor",
                "Edit the SQL: the compiled SQL beside it follows each keystroke.",
            )
        } else {
            phase(
                &format!("a[href=\"#/models/{FACT_FILE}\"]"),
                "Open fact_trips.sql in the project's tree.",
            )
        }
    } else if view_is(page, "Lineage") && details {
        open_view("Models")
    } else if view_is(page, "Lineage") {
        phase(
            &format!("g[aria-label=\"{FACT_NODE}\"]"),
            "Press gold.fact_trips in the graph.",
        )
    } else {
        open_view("Lineage")
    }
}

fn lineage_done(page: &Page) -> bool {
    view_is(page, "Models") && page.models.path.get().as_deref() == Some(FACT_FILE)
}

fn lineage_act(page: &Page, _: Tour) {
    if view_is(page, "Lineage") {
        navigate(&Route::Models {
            path: Some(FACT_FILE.to_owned()),
        });
    } else {
        navigate(&Route::lineage(Some(FACT_NODE.to_owned())));
    }
}

fn lineage_explain(page: &Page) -> Vec<String> {
    let mut text = Vec::new();
    if let Some(view) = page.lineage.view.get() {
        text.push(format!(
            "The lineage has {} nodes, from landing through Bronze, Silver and the dbt sources to the marts; each edge is a ref(), a source() or an ingest, and each node shows its last run.",
            view.graph.nodes.len()
        ));
    } else {
        text.push("The lineage draws every node from landing through Bronze and Silver to the dbt project's marts, with each node's last run.".to_owned());
    }
    if let Some(details) = page
        .lineage
        .details
        .get()
        .filter(|details| details.id == FACT_NODE)
    {
        let config: Vec<String> = details
            .config
            .iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .collect();
        text.push(format!(
            "{FACT_NODE} is {} ({}): each run merges only the new or changed trips on unique_key.",
            details.materialization.unwrap_or_default(),
            config.join(", ")
        ));
    }
    text.push("In the Models view, an edit to fact_trips.sql compiles as you type (the compiled SQL and its errors beside it); Save and Build runs fact_trips and everything after it, with its tests.".to_owned());
    text
}
