use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use futures::executor::block_on;

use super::decode::decode;
use super::*;
use crate::checkpoint::MemoryCheckpointStore;
use crate::landing::land_file;
use crate::storage::{MemoryStorage, ObjectMeta};
use crate::testing::{FailingCheckpoint, FailingStorage};

fn stores() -> (Arc<dyn Storage>, Arc<dyn CheckpointStore>) {
    (
        Arc::new(MemoryStorage::new()),
        Arc::new(MemoryCheckpointStore::new()),
    )
}

fn land(storage: &Arc<dyn Storage>, path: &str, data: &[u8]) {
    block_on(land_file(
        storage.as_ref(),
        path,
        None,
        Bytes::copy_from_slice(data),
    ))
    .expect("land");
}

/// Every row of a table as text, one string per row, columns by name, sorted; the
/// columns in `skip` left out.
fn table_rows(storage: &Arc<dyn Storage>, entity: &str, skip: &[&str]) -> Vec<String> {
    let table = DeltaTable::new(storage.clone(), crate::warehouse::bronze_table(entity));
    let snapshot = block_on(table.snapshot()).expect("snapshot");
    let batches = block_on(table.read(&snapshot)).expect("read");
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let formatters: Vec<(String, ArrayFormatter<'_>)> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(field, _)| !skip.contains(&field.name().as_str()))
            .map(|(field, column)| {
                let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())
                    .expect("formatter");
                (field.name().clone(), formatter)
            })
            .collect();
        for row in 0..batch.num_rows() {
            let mut fields: Vec<String> = formatters
                .iter()
                .map(|(name, f)| format!("{name}={}", f.value(row)))
                .collect();
            fields.sort();
            rows.push(fields.join("|"));
        }
    }
    rows.sort();
    rows
}

fn column(storage: &Arc<dyn Storage>, entity: &str, name: &str) -> Vec<Option<String>> {
    let table = DeltaTable::new(storage.clone(), crate::warehouse::bronze_table(entity));
    let snapshot = block_on(table.snapshot()).expect("snapshot");
    let batches = block_on(table.read(&snapshot)).expect("read");
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column_by_name(name).expect(name);
        let array = arrow::compute::cast(array, &DataType::Utf8).expect("to text");
        let strings = array.as_string::<i32>();
        values.extend(
            (0..strings.len()).map(|i| strings.is_valid(i).then(|| strings.value(i).to_owned())),
        );
    }
    values
}

fn ingest(storage: &Arc<dyn Storage>, checkpoint: &Arc<dyn CheckpointStore>) -> Vec<BatchReport> {
    let bronze = Bronze::new(storage.clone(), checkpoint.clone());
    block_on(bronze.ingest_all(&BronzeOptions::default())).expect("ingest")
}

#[test]
fn sample_batches_on_the_filesystem_give_the_documented_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage: Arc<dyn Storage> =
        Arc::new(crate::storage::LocalFileSystem::new(dir.path().join("store")).expect("store"));
    let checkpoint: Arc<dyn CheckpointStore> = Arc::new(
        crate::checkpoint::FileCheckpointStore::open(dir.path().join("checkpoint"))
            .expect("checkpoint"),
    );
    block_on(super::scenario::sample_batches(storage, checkpoint));
}

#[test]
fn values_land_as_their_source_text_with_metadata() {
    let (storage, checkpoint) = stores();
    land(
        &storage,
        "trips.csv",
        b"trip_id,fare,note\r\n1,12.50,\"two\r\nlines\"\r\n2,,\"say \"\"hi\"\"\"\r\n",
    );
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].batch_id, Some(0));
    assert_eq!(reports[0].rows(), 2);
    assert_eq!(
        column(&storage, "trips", "fare"),
        [Some("12.50".into()), None]
    );
    assert_eq!(
        column(&storage, "trips", "note"),
        [Some("two\r\nlines".into()), Some("say \"hi\"".into())]
    );
    assert_eq!(
        column(&storage, "trips", "_source_file"),
        vec![Some("landing/trips/trips.csv".to_owned()); 2]
    );
    assert_eq!(
        column(&storage, "trips", "_batch_id"),
        vec![Some("0".to_owned()); 2]
    );
    assert_eq!(column(&storage, "trips", "_rescued_data"), [None, None]);
    let snapshot = block_on(DeltaTable::new(storage.clone(), "bronze/trips").snapshot()).unwrap();
    assert_eq!(snapshot.txn_version("medallion-bronze-trips"), Some(0));
    let names: Vec<&str> = snapshot
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "trip_id",
            "fare",
            "note",
            "_source_file",
            "_file_modified_at",
            "_ingested_at",
            "_batch_id",
            "_rescued_data",
            "_corrupt_record"
        ]
    );
}

#[test]
fn json_values_keep_their_exact_text() {
    let (storage, checkpoint) = stores();
    land(
        &storage,
        "trips.ndjson",
        b"{\"trip_id\":1,\"fare\":12.50,\"tags\":[1,2],\"name\":\"A\\u00e9\"}\n\n{\"fare\":null,\"trip_id\":2}\n",
    );
    ingest(&storage, &checkpoint);
    assert_eq!(
        column(&storage, "trips", "fare"),
        [Some("12.50".into()), None]
    );
    assert_eq!(
        column(&storage, "trips", "tags"),
        [Some("[1,2]".into()), None]
    );
    assert_eq!(column(&storage, "trips", "name"), [Some("Aé".into()), None]);
}

#[test]
fn a_file_is_ingested_once_and_a_changed_file_again() {
    let (storage, checkpoint) = stores();
    land(&storage, "a/trips.csv", b"trip_id\n1\n");
    assert_eq!(ingest(&storage, &checkpoint).len(), 1);
    // Dropped again: the landing zone keeps it unchanged, Bronze skips it.
    land(&storage, "a/trips.csv", b"trip_id\n1\n");
    assert!(ingest(&storage, &checkpoint).is_empty());
    // A copy under another name is skipped, and said so.
    land(&storage, "b/trips.csv", b"trip_id\n1\n");
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].batch_id, None);
    assert_eq!(
        reports[0].files[0].duplicate_of.as_deref(),
        Some("landing/trips/a/trips.csv")
    );
    assert!(ingest(&storage, &checkpoint).is_empty());
    // New bytes under the same name: a new file.
    land(&storage, "a/trips.csv", b"trip_id\n1\n2\n");
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports[0].batch_id, Some(1));
    assert_eq!(reports[0].rows(), 2);
    assert_eq!(column(&storage, "trips", "trip_id").len(), 3);
}

#[test]
fn batches_respect_max_files_and_trigger_once() {
    let (storage, checkpoint) = stores();
    for n in 0..5 {
        land(
            &storage,
            &format!("trips-{n}.csv"),
            format!("trip_id\n{n}\n").as_bytes(),
        );
    }
    let bronze = Bronze::new(storage.clone(), checkpoint.clone());
    let once = BronzeOptions {
        trigger: Trigger::Once,
        max_files_per_trigger: 2,
        ..Default::default()
    };
    let reports = block_on(bronze.ingest("trips", &once)).expect("once");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].files.len(), 2);
    let now = BronzeOptions {
        max_files_per_trigger: 2,
        ..Default::default()
    };
    let reports = block_on(bronze.ingest("trips", &now)).expect("available now");
    let sizes: Vec<usize> = reports.iter().map(|r| r.files.len()).collect();
    assert_eq!(sizes, [2, 1]);
    assert_eq!(
        reports.iter().map(|r| r.batch_id).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    let by_bytes = BronzeOptions {
        max_bytes_per_trigger: Some(1),
        ..Default::default()
    };
    land(&storage, "trips-5.csv", b"trip_id\n5\n");
    land(&storage, "trips-6.csv", b"trip_id\n6\n");
    let reports = block_on(bronze.ingest("trips", &by_bytes)).expect("by bytes");
    assert_eq!(
        reports.len(),
        2,
        "one file per batch when each is over the limit"
    );
}

#[test]
fn schema_evolution_modes() {
    let first = b"trip_id,fare\n1,10\n" as &[u8];
    let second = b"fare,surge,trip_id\n20,1.5,2\n" as &[u8];
    let run = |mode: SchemaEvolution| {
        let (storage, checkpoint) = stores();
        let bronze = Bronze::new(storage.clone(), checkpoint.clone());
        let options = BronzeOptions {
            schema_evolution: mode,
            ..Default::default()
        };
        land(&storage, "1/trips.csv", first);
        block_on(bronze.ingest("trips", &options)).expect("first");
        land(&storage, "2/trips.csv", second);
        let result = block_on(bronze.ingest("trips", &options));
        (storage, result)
    };
    let (storage, result) = run(SchemaEvolution::AddNewColumns);
    assert_eq!(result.expect("add")[0].files[0].new_columns, ["surge"]);
    let mut surge = column(&storage, "trips", "surge");
    surge.sort();
    assert_eq!(surge, [None, Some("1.5".into())]);
    let mut ids = column(&storage, "trips", "trip_id");
    ids.sort();
    assert_eq!(ids, [Some("1".into()), Some("2".into())], "matched by name");

    let (storage, result) = run(SchemaEvolution::Rescue);
    assert_eq!(result.expect("rescue")[0].files[0].rescued, 1);
    let rescued = column(&storage, "trips", "_rescued_data");
    assert!(
        rescued.contains(&Some("{\"surge\":\"1.5\"}".into())),
        "{rescued:?}"
    );
    assert!(
        block_on(DeltaTable::new(storage.clone(), "bronze/trips").snapshot())
            .unwrap()
            .schema()
            .field_with_name("surge")
            .is_err()
    );

    let (_, result) = run(SchemaEvolution::FailOnNewColumns);
    let err = result.expect_err("fail");
    assert_eq!(
        err.to_string(),
        "landing/trips/2/trips.csv: new columns [\"surge\"] (schema evolution: fail on new columns)"
    );

    let (storage, result) = run(SchemaEvolution::None);
    assert_eq!(result.expect("none")[0].files[0].rescued, 0);
    assert_eq!(column(&storage, "trips", "_rescued_data"), [None, None]);
}

#[test]
fn typed_columns_rescue_values_that_do_not_cast() {
    let (storage, checkpoint) = stores();
    let sample = crate::sample::generate(&crate::sample::SampleSpec {
        trips: 20,
        seed: 1,
        batches: None,
        format: crate::sample::SampleFormat::Parquet,
    })
    .expect("generate");
    let trips = sample
        .files
        .iter()
        .find(|f| f.path == "trips.parquet")
        .unwrap();
    land(&storage, "1/trips.parquet", &trips.data);
    ingest(&storage, &checkpoint);
    land(
        &storage,
        "2/trips.csv",
        b"trip_id,fare_amount\n900,N/A\n901,7.25\n",
    );
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports[0].files[0].rescued, 1);
    let rescued = column(&storage, "trips", "_rescued_data");
    assert!(
        rescued.contains(&Some("{\"fare_amount\":\"N/A\"}".into())),
        "{rescued:?}"
    );
    assert!(column(&storage, "trips", "fare_amount").contains(&Some("7.25".into())));
}

// Bad input: each case and its exact outcome.

fn decoded(name: &str, data: &[u8]) -> Result<decode::Decoded, BronzeError> {
    let format = FileFormat::from_file_name(name).expect("format");
    decode(name, format, Bytes::copy_from_slice(data), false)
}

fn error_of(name: &str, data: &[u8]) -> String {
    decoded(name, data).expect_err("an error").to_string()
}

#[test]
fn empty_and_header_only_files_give_no_rows() {
    for name in ["e.csv", "e.ndjson"] {
        let file = decoded(name, b"").expect("empty");
        assert_eq!(file.rows(), 0);
        assert!(file.schema.fields().is_empty());
    }
    let header = decoded("h.csv", b"a,b\n").expect("header only");
    assert_eq!(header.rows(), 0);
    assert_eq!(header.schema.fields().len(), 2);
    // Through ingest: an empty table with the header's columns.
    let (storage, checkpoint) = stores();
    land(&storage, "trips.csv", b"trip_id,fare\n");
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports[0].rows(), 0);
    let snapshot = block_on(DeltaTable::new(storage.clone(), "bronze/trips").snapshot()).unwrap();
    assert!(snapshot.schema().field_with_name("fare").is_ok());
}

#[test]
fn binary_or_truncated_files_are_refused_by_name() {
    assert_eq!(
        error_of("x.csv", b"\x00\x01\x02garbage"),
        "x.csv: not CSV: binary content (NUL bytes)"
    );
    assert_eq!(
        error_of("x.ndjson", b"PAR1\x00\x00"),
        "x.ndjson: not NDJSON: the content is a Parquet file"
    );
    let sample = crate::sample::generate(&crate::sample::SampleSpec {
        trips: 10,
        seed: 1,
        batches: None,
        format: crate::sample::SampleFormat::Parquet,
    })
    .expect("generate");
    let parquet = &sample.files[0].data;
    let truncated = &parquet[..parquet.len() / 2];
    assert_eq!(
        error_of("x.parquet", truncated),
        "x.parquet: not a Parquet file, or a truncated one (no PAR1 magic at both ends)"
    );
    assert!(error_of("x.parquet", b"a,b\n1,2\n").starts_with("x.parquet: not a Parquet file"));
    // Landing refuses it; put there by another writer, ingest names the landing path,
    // and nothing is committed.
    let (storage, checkpoint) = stores();
    let path = "landing/trips/trips.parquet";
    block_on(storage.put(path, Bytes::copy_from_slice(truncated))).expect("put");
    let bronze = Bronze::new(storage.clone(), checkpoint);
    let err = block_on(bronze.ingest_all(&BronzeOptions::default())).expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("landing/trips/trips.parquet: not a Parquet file"),
        "{err}"
    );
    assert!(!block_on(DeltaTable::new(storage, "bronze/trips").exists()).unwrap());
}

#[test]
fn malformed_records_are_kept_with_their_raw_text() {
    let file = decoded("t.csv", b"a,b\n1,2\n3\n4,5,6\n\xff\xfe,7\n8,9\n").expect("csv");
    assert_eq!(file.rows(), 5);
    assert_eq!(
        file.corrupt,
        [
            None,
            Some("3".into()),
            Some("4,5,6".into()),
            Some("\u{fffd}\u{fffd},7".into()),
            None
        ]
    );
    let json = decoded(
        "t.ndjson",
        b"{\"a\":1}\n{\"a\":\n[1,2]\n{\"a\":1,\"a\":2}\n{\"a\":3}\n",
    )
    .expect("ndjson");
    assert_eq!(
        json.corrupt,
        [
            None,
            Some("{\"a\":".into()),
            Some("[1,2]".into()),
            Some("{\"a\":1,\"a\":2}".into()),
            None
        ]
    );
    let err = decode(
        "t.csv",
        FileFormat::Csv,
        Bytes::from_static(b"a,b\n1,2\n3\n"),
        true,
    )
    .expect_err("failfast");
    assert_eq!(
        err.to_string(),
        "t.csv: record 2 is malformed (bad records: failfast)"
    );
}

#[test]
fn bom_crlf_quoted_newlines_and_a_megabyte_field() {
    let big = "x".repeat(1 << 20);
    let text = format!("\u{feff}id,text\r\n1,\"a\r\nb, \"\"c\"\"\"\r\n2,{big}\r\n");
    let file = decoded("t.csv", text.as_bytes()).expect("csv");
    assert_eq!(
        file.schema.field(0).name(),
        "id",
        "the BOM is not part of the name"
    );
    let values = file.batches[0].column(1).as_string::<i32>();
    assert_eq!(values.value(0), "a\r\nb, \"c\"");
    assert_eq!(values.value(1).len(), 1 << 20);
    assert_eq!(file.corrupt, [None, None]);
}

#[test]
fn duplicate_or_reserved_header_names_are_refused() {
    assert_eq!(
        error_of("t.csv", b"a,b,a\n1,2,3\n"),
        "t.csv: the header repeats the column \"a\""
    );
    assert_eq!(
        error_of("t.csv", b"a,_corrupt_record\n1,2\n"),
        "t.csv: the column \"_corrupt_record\" is reserved for Bronze's metadata"
    );
}

// Crash injection.

/// Two batches of two entities, landed; Bronze runs two files per batch.
fn crash_fixture() -> (Arc<dyn Storage>, Arc<dyn CheckpointStore>) {
    let (storage, checkpoint) = stores();
    let sample = crate::sample::generate(&crate::sample::SampleSpec {
        trips: 40,
        seed: 3,
        batches: Some(3),
        format: crate::sample::SampleFormat::Mixed,
    })
    .expect("generate");
    for file in &sample.files {
        if file.path.contains("trips") || file.path.contains("customers") {
            land(&storage, &file.path, &file.data);
        }
    }
    (storage, checkpoint)
}

const CRASH_OPTIONS: BronzeOptions = BronzeOptions {
    trigger: Trigger::AvailableNow,
    max_files_per_trigger: 2,
    max_bytes_per_trigger: None,
    schema_evolution: SchemaEvolution::AddNewColumns,
    bad_records: BadRecords::Permissive,
    cleanup: Cleanup::Keep,
};

/// The state a run must reach: rows (without the two wall-clock columns) and the
/// committed batches of each stream.
fn outcome(storage: &Arc<dyn Storage>, checkpoint: &Arc<dyn CheckpointStore>) -> Vec<String> {
    let mut state = Vec::new();
    for entity in ["customers", "trips"] {
        state.extend(table_rows(
            storage,
            entity,
            &["_ingested_at", "_file_modified_at"],
        ));
        let commits = block_on(checkpoint.scan(&format!("bronze/{entity}/commits/"))).unwrap();
        state.extend(commits.into_iter().map(|(key, _)| key));
    }
    state
}

#[test]
fn a_failure_at_any_write_or_read_then_a_rerun_gives_the_uninterrupted_result() {
    let (storage, checkpoint) = crash_fixture();
    let counting = Arc::new(FailingStorage::new(storage.clone(), 0, 0));
    let bronze = Bronze::new(counting.clone(), checkpoint.clone());
    block_on(bronze.ingest_all(&CRASH_OPTIONS)).expect("uninterrupted");
    let expected = outcome(&storage, &checkpoint);
    let writes = counting.writes.load(Ordering::SeqCst);
    let reads = counting.reads.load(Ordering::SeqCst);
    assert!(writes >= 8 && reads >= 8, "{writes} writes, {reads} reads");

    let mut failures = 0;
    for (fail_write, fail_read) in (1..=writes)
        .map(|n| (n, 0))
        .chain((1..=reads).map(|n| (0, n)))
    {
        let (storage, checkpoint) = crash_fixture();
        let failing: Arc<dyn Storage> =
            Arc::new(FailingStorage::new(storage.clone(), fail_write, fail_read));
        let crashed = block_on(Bronze::new(failing, checkpoint.clone()).ingest_all(&CRASH_OPTIONS));
        failures += usize::from(crashed.is_err());
        block_on(Bronze::new(storage.clone(), checkpoint.clone()).ingest_all(&CRASH_OPTIONS))
            .unwrap_or_else(|err| {
                panic!("rerun after write {fail_write} / read {fail_read}: {err}")
            });
        assert_eq!(
            outcome(&storage, &checkpoint),
            expected,
            "after a failed write {fail_write} / read {fail_read}"
        );
    }
    assert!(
        failures > writes,
        "the injected failures stopped {failures} runs"
    );
}

#[test]
fn a_failure_at_any_checkpoint_write_then_a_rerun_gives_the_uninterrupted_result() {
    let (storage, checkpoint) = crash_fixture();
    let counting = Arc::new(FailingCheckpoint {
        inner: checkpoint.clone(),
        writes: AtomicUsize::new(0),
        fail_at: 0,
    });
    block_on(Bronze::new(storage.clone(), counting.clone()).ingest_all(&CRASH_OPTIONS))
        .expect("uninterrupted");
    let expected = outcome(&storage, &checkpoint);
    let writes = counting.writes.load(Ordering::SeqCst);
    assert!(writes >= 6, "{writes} checkpoint writes");
    for fail_at in 1..=writes {
        let (storage, checkpoint) = crash_fixture();
        let failing = Arc::new(FailingCheckpoint {
            inner: checkpoint.clone(),
            writes: AtomicUsize::new(0),
            fail_at,
        });
        let crashed = block_on(Bronze::new(storage.clone(), failing).ingest_all(&CRASH_OPTIONS));
        assert!(crashed.is_err(), "write {fail_at} failed the run");
        block_on(Bronze::new(storage.clone(), checkpoint.clone()).ingest_all(&CRASH_OPTIONS))
            .unwrap_or_else(|err| panic!("rerun after checkpoint write {fail_at}: {err}"));
        assert_eq!(
            outcome(&storage, &checkpoint),
            expected,
            "after checkpoint write {fail_at}"
        );
    }
}

#[test]
fn cleanup_archives_or_deletes_processed_files() {
    for cleanup in [Cleanup::Archive, Cleanup::Delete] {
        let (storage, checkpoint) = stores();
        land(&storage, "trips.csv", b"trip_id\n1\n");
        let options = BronzeOptions {
            cleanup,
            ..Default::default()
        };
        block_on(Bronze::new(storage.clone(), checkpoint).ingest_all(&options)).expect("ingest");
        assert!(block_on(storage.head("landing/trips/trips.csv")).is_err());
        let archived = block_on(storage.head("archive/landing/trips/trips.csv")).is_ok();
        assert_eq!(archived, cleanup == Cleanup::Archive);
    }
}

#[test]
fn waiting_lists_the_landing_files_no_run_has_seen() {
    let (storage, checkpoint) = stores();
    land(&storage, "trips.csv", b"trip_id\n1\n");
    land(&storage, "customers.csv", b"customer_id\n1\n");
    block_on(storage.put("landing/trips/notes.txt", Bytes::from_static(b"not data"))).unwrap();
    let bronze = Bronze::new(storage.clone(), checkpoint.clone());
    let paths = |files: Vec<ObjectMeta>| files.into_iter().map(|f| f.path).collect::<Vec<_>>();
    assert_eq!(
        paths(block_on(bronze.waiting()).unwrap()),
        ["landing/customers/customers.csv", "landing/trips/trips.csv"]
    );
    ingest(&storage, &checkpoint);
    assert!(block_on(bronze.waiting()).unwrap().is_empty());
    land(&storage, "batch_2/trips.csv", b"trip_id\n2\n");
    assert_eq!(
        paths(block_on(bronze.waiting()).unwrap()),
        ["landing/trips/batch_2/trips.csv"]
    );
}

#[test]
fn a_european_csv_export_lands_with_its_columns_and_values() {
    // Semicolons between fields, decimal commas, DD.MM.YYYY dates, and a quoted field
    // holding a semicolon.
    let export = "Kundennummer;Name;Betrag;Datum;Notiz\r\n\
                  1001;Müller;12,50;01.02.2026;\"bar; Kasse 2\"\r\n\
                  1002;Schäfer;1.234,00;15.03.2026;\r\n\
                  1003;\"Weiß, Anna\";0,99;31.12.2025;Rückgabe\r\n";
    let file = decoded("kunden.csv", export.as_bytes()).expect("csv");
    assert_eq!(file.separator, Some(';'));
    let names: Vec<&str> = file
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["Kundennummer", "Name", "Betrag", "Datum", "Notiz"]);
    assert_eq!(file.corrupt, [None, None, None]);

    let (storage, checkpoint) = stores();
    land(&storage, "kunden.csv", export.as_bytes());
    let reports = ingest(&storage, &checkpoint);
    assert_eq!(reports[0].files[0].separator, Some(';'));
    assert_eq!(reports[0].rows(), 3);
    let text = |name| column(&storage, "kunden", name);
    let some = |values: &[&str]| {
        values
            .iter()
            .map(|v| Some((*v).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(text("Betrag"), some(&["12,50", "1.234,00", "0,99"]));
    assert_eq!(
        text("Datum"),
        some(&["01.02.2026", "15.03.2026", "31.12.2025"])
    );
    assert_eq!(text("Name"), some(&["Müller", "Schäfer", "Weiß, Anna"]));
    assert_eq!(
        text("Notiz"),
        vec![
            Some("bar; Kasse 2".to_owned()),
            None,
            Some("Rückgabe".to_owned())
        ]
    );
}

#[test]
fn separators_are_detected_and_lines_that_disagree_are_refused_by_name() {
    for (text, separator) in [
        ("a,b\n1,2\n", ','),
        ("a;b;c\n1;2,5;3\n", ';'),
        ("a\tb\n1\t2\n", '\t'),
        ("a|b\n\"x|y\"|2\n", '|'),
        ("only\n1\n2\n", ','),
        ("a,b\n", ','),
    ] {
        let file = decoded("t.csv", text.as_bytes()).expect(text);
        assert_eq!(file.separator, Some(separator), "{text:?}");
        assert_eq!(file.malformed(), 0, "{text:?}");
    }
    let tabs = decoded("t.csv", b"a\tb\n1\t2\n").expect("tabs");
    assert_eq!(tabs.batches[0].column(1).as_string::<i32>().value(0), "2");
    // A malformed record among agreeing lines stays a malformed record.
    let one_bad = decoded("t.csv", b"a;b\n1;2\n3\n4;5\n").expect("csv");
    assert_eq!((one_bad.separator, one_bad.malformed()), (Some(';'), 1));
    assert_eq!(
        error_of("t.csv", b"a;b;c;d;e\n1;2;3;4;5;6;7\n1;2\n1;2;3\n"),
        "t.csv: cannot tell the field separator: lines 1–4 split into 5, 7, 2, 3 fields \
         on ';' (every line of a CSV file has as many fields as its header)"
    );
    // The sample's comma CSVs are read as before.
    let sample = crate::sample::generate(&crate::sample::bundled_spec()).expect("generate");
    for file in sample.files.iter().filter(|f| f.path.ends_with(".csv")) {
        let decoded = decoded(&file.path, &file.data).expect(&file.path);
        assert_eq!(decoded.separator, Some(','), "{}", file.path);
        assert!(decoded.schema.fields().len() > 1, "{}", file.path);
    }
}
