//! The inference's tests: each type and format, the ambiguous and empty columns, the
//! key, the draft's YAML and pipeline, and the shapes of public datasets end to end.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;

use super::shapes::{european_csv, european_rows, nested_ndjson, text_batch, tlc_yellow_csv};
use super::types::classify;
use super::*;
use crate::delta::DeltaTable;
use crate::lakehouse::{Flow, InferError, Lakehouse, LakehouseError, Stage};
use crate::silver::transforms::strings;
use crate::silver::StepContext;
use crate::storage::Storage;

fn utc(format: &str) -> ColumnType {
    ColumnType::Timestamp {
        format: format.to_owned(),
        timezone: "UTC".to_owned(),
    }
}

fn date(format: &str) -> ColumnType {
    ColumnType::Date {
        format: format.to_owned(),
    }
}

fn decimal(precision: u8, scale: i8, decimal_comma: bool) -> ColumnType {
    ColumnType::Decimal {
        precision,
        scale,
        decimal_comma,
    }
}

/// The type `classify` gives column `name` of `values`.
fn typed(name: &str, values: &[&str]) -> ColumnType {
    classify(name, values).column_type
}

/// A batch of text columns (and Bronze's `_corrupt_record`, all null).
fn bronze_batch(columns: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
    let rows = columns.first().map_or(0, |(_, values)| values.len());
    let mut fields: Vec<Field> = columns
        .iter()
        .map(|(name, _)| Field::new(*name, DataType::Utf8, true))
        .collect();
    fields.push(Field::new("_corrupt_record", DataType::Utf8, true));
    let mut arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, values)| Arc::new(StringArray::from(values.clone())) as ArrayRef)
        .collect();
    arrays.push(Arc::new(StringArray::from(vec![None::<&str>; rows])));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("equal lengths")
}

fn evidence<'a>(proposal: &'a PipelineProposal, name: &str) -> &'a ColumnEvidence {
    proposal
        .columns
        .iter()
        .find(|column| column.name == name)
        .unwrap_or_else(|| panic!("{name} in the proposal"))
}

#[test]
fn whole_numbers_are_bigint_and_leading_zeros_stay_text() {
    assert_eq!(typed("n", &["1", "-20", "+3", "0"]), ColumnType::Integer);
    let zips = classify("zip", &["02134", "10001"]);
    assert_eq!(zips.column_type, ColumnType::Text);
    assert!(
        zips.reason.contains("leading zeros (02134)"),
        "{}",
        zips.reason
    );
    let numbers = classify("n", &["1", "2"]);
    assert_eq!(numbers.reason, "every value is a whole number");
}

#[test]
fn decimals_take_their_scale_from_the_longest_fraction_and_money_signs() {
    assert_eq!(
        typed("fare", &["17.70", "5.5", "123.456"]),
        decimal(10, 3, false)
    );
    assert_eq!(
        typed("price", &["$1,234.50", "(12.00)", "$7"]),
        decimal(10, 2, false)
    );
    assert_eq!(typed("big", &["123456789012.5"]), decimal(15, 1, false));
    let reason = classify("fare", &["1.5", "2.25"]).reason;
    assert_eq!(
        reason,
        "every value is a decimal number with up to 2 digits after the point"
    );
}

#[test]
fn decimal_commas_are_read_when_more_values_read_that_way() {
    assert_eq!(
        typed("betrag", &["12,50", "1.234,50", "7"]),
        decimal(10, 2, true)
    );
    // Thousands separators alone read as a point's grouping.
    assert_eq!(typed("n", &["1,234", "5,678"]), decimal(10, 0, false));
    assert!(classify("betrag", &["12,5"])
        .reason
        .contains("after the decimal comma"));
}

#[test]
fn booleans_and_flags_named_as_such() {
    for values in [
        &["true", "false"][..],
        &["T", "f"],
        &["yes", "No"],
        &["Y", "N"],
    ] {
        assert_eq!(typed("paid", values), ColumnType::Boolean, "{values:?}");
    }
    assert_eq!(typed("is_active", &["0", "1"]), ColumnType::Boolean);
    assert_eq!(
        typed("store_and_fwd_flag", &["1", "0"]),
        ColumnType::Boolean
    );
    assert_eq!(typed("count", &["0", "1"]), ColumnType::Integer);
    assert_eq!(
        classify("is_active", &["0", "1"]).reason,
        "is_active is named like a flag and every value is 0 or 1"
    );
}

#[test]
fn dates_in_each_format() {
    assert_eq!(typed("d", &["2026-01-31", "2025-12-01"]), date("%Y-%m-%d"));
    assert_eq!(typed("d", &["31.01.2026", "01.12.2025"]), date("%d.%m.%Y"));
    assert_eq!(typed("d", &["2026/01/31"]), date("%Y/%m/%d"));
    assert_eq!(typed("d", &["01/31/2026", "12/01/2025"]), date("%m/%d/%Y"));
    assert_eq!(typed("d", &["31/01/2026", "12/01/2025"]), date("%d/%m/%Y"));
    let reason = classify("d", &["31/01/2026", "12/01/2025"]).reason;
    assert_eq!(
        reason,
        "every value is a date; 31/01/2026 has a day above 12 in its first part: read as %d/%m/%Y"
    );
}

#[test]
fn an_ambiguous_slash_date_reads_month_first_and_says_so() {
    let ambiguous = classify("d", &["01/02/2026", "03/04/2026"]);
    assert_eq!(ambiguous.column_type, date("%m/%d/%Y"));
    assert_eq!(
        ambiguous.reason,
        "every value is a date; 01/02/2026 could be day 02 of month 01 or day 01 of month \
         02; no value above 12 decides: read as %m/%d/%Y"
    );
    // One value decides for the whole column.
    assert_eq!(
        typed("d", &["01/02/2026", "03/04/2026", "01/13/2026"]),
        date("%m/%d/%Y")
    );
    assert_eq!(typed("d", &["01/02/2026", "13/04/2026"]), date("%d/%m/%Y"));
}

#[test]
fn timestamps_in_each_format_with_the_zone_stated() {
    let offsets = classify("at", &["2026-01-05T00:01:00-05:00", "2026-01-05 05:01:00Z"]);
    assert_eq!(offsets.column_type, utc("iso8601"));
    assert!(offsets.reason.contains("with an offset: converted to UTC"));
    let naive = classify("pickup", &["2024-01-01 00:57:55", "2024-01-31 23:59:59.5"]);
    assert_eq!(naive.column_type, utc("iso8601"));
    assert!(
        naive.reason.contains("without an offset: read as UTC"),
        "{}",
        naive.reason
    );
    assert_eq!(
        typed("at", &["09/30/2025 19:00:00", "10/01/2025 07:00:00"]),
        utc("%m/%d/%Y %H:%M:%S")
    );
    assert_eq!(
        typed("at", &["30/09/2025 19:00:00"]),
        utc("%d/%m/%Y %H:%M:%S")
    );
    assert_eq!(typed("at", &["30.09.2025 19:00"]), utc("%d.%m.%Y %H:%M"));
    assert_eq!(
        typed("at", &["01/01/2019 12:00:00 AM", "01/01/2019 01:30:00 PM"]),
        utc("%m/%d/%Y %I:%M:%S %p")
    );
    let seconds = classify("created_at", &["1704070675", "1704070700"]);
    assert_eq!(seconds.column_type, utc("epoch_seconds"));
    assert!(seconds.reason.contains("seconds since 1970"));
    assert_eq!(typed("event_time", &["1704070675000"]), utc("epoch_millis"));
    assert_eq!(
        typed("ts", &["1704070675"]),
        ColumnType::Integer,
        "not named like a time"
    );
    assert_eq!(
        typed("updated_at", &["12", "13"]),
        ColumnType::Integer,
        "out of the epoch's range"
    );
}

#[test]
fn json_objects_flatten_and_arrays_stay_json() {
    assert_eq!(
        typed(
            "pickup",
            &[r#"{"lat": 1, "lon": 2}"#, r#"{"lat": 3, "zone": 4}"#]
        ),
        ColumnType::Flatten {
            fields: vec!["lat".to_owned(), "lon".to_owned(), "zone".to_owned()]
        }
    );
    assert_eq!(typed("tags", &["[1, 2]", "[]"]), ColumnType::Json);
    assert_eq!(typed("mixed", &["[1]", r#"{"a": 1}"#]), ColumnType::Json);
    assert_eq!(typed("notes", &["{not json"]), ColumnType::Text);
}

#[test]
fn an_all_null_column_is_text_and_says_why() {
    let batch = bronze_batch(&[
        ("id", vec![Some("1"), Some("2"), Some("3")]),
        ("comment", vec![None, Some(""), Some("  ")]),
    ]);
    let proposal = propose("things", &batch, 3);
    let comment = evidence(&proposal, "comment");
    assert_eq!(comment.proposed, ColumnType::Text);
    assert_eq!(comment.reason, "every value in the sample is empty");
    assert_eq!(comment.nulls, 3);
}

#[test]
fn misfits_are_counted_and_quoted_and_too_many_keep_a_column_text() {
    let mut values: Vec<String> = (1..=40).map(|n| n.to_string()).collect();
    values.push("abc".to_owned());
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let typed = classify("n", &values);
    assert_eq!(typed.column_type, ColumnType::Integer);
    assert_eq!(
        (typed.misfits.clone(), typed.misfit_count),
        (vec!["abc".to_owned()], 1)
    );
    assert_eq!(
        typed.reason,
        "40 of 41 values is a whole number; the other 1 do not fit and will quarantine"
    );
    let text = classify("n", &["1", "2", "x", "y"]);
    assert_eq!(text.column_type, ColumnType::Text);
    assert_eq!(
        text.reason,
        "only 2 of 4 values read as bigint: kept as text"
    );
}

#[test]
fn null_markers_padding_and_distinct_values_are_reported() {
    let batch = bronze_batch(&[
        (
            "name",
            vec![Some(" Ann "), Some("NULL"), Some("Bob"), Some("n/a")],
        ),
        (
            "fare",
            vec![Some("1.50"), Some("N/A"), Some("2.00"), Some("3")],
        ),
    ]);
    let proposal = propose("people", &batch, 4);
    let name = evidence(&proposal, "name");
    assert_eq!(
        (name.nulls, name.padded, name.distinct),
        (2, 1, 2),
        "{name:?}"
    );
    assert_eq!(name.null_markers, ["NULL", "N/A"]);
    let fare = evidence(&proposal, "fare");
    assert_eq!(fare.proposed, decimal(10, 2, false));
    assert_eq!(fare.examples, ["1.50", "2.00", "3"]);
    assert_eq!(proposal.draft.null_markers, ["NULL", "N/A"]);
    let trimmed: Vec<_> = proposal
        .draft
        .columns
        .iter()
        .filter(|c| c.trim)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(trimmed, ["name"]);
}

#[test]
fn the_key_is_the_entitys_own_id_when_unique_and_never_null() {
    let batch = bronze_batch(&[
        ("driver_id", vec![Some("7"), Some("8"), Some("9")]),
        ("trip_id", vec![Some("1"), Some("2"), Some("3")]),
        (
            "updated_at",
            vec![
                Some("2026-01-01T10:00:00Z"),
                Some("2026-01-01T11:00:00Z"),
                Some("2026-01-01T12:00:00Z"),
            ],
        ),
    ]);
    let proposal = propose("trips", &batch, 3);
    assert_eq!(proposal.draft.key.as_deref(), Some("trip_id"));
    assert_eq!(
        proposal.key_reason,
        "trip_id is unique and never null in the 3 rows read"
    );
    assert_eq!(proposal.draft.sequence_by.as_deref(), Some("updated_at"));
    assert!(proposal.sequence_reason.is_some());
}

#[test]
fn a_key_that_stops_being_unique_in_the_sample_is_not_proposed() {
    let batch = bronze_batch(&[
        ("id", vec![Some("1"), Some("2"), Some("3"), Some("2")]),
        (
            "updated_at",
            vec![
                Some("2026-01-01T10:00:00Z"),
                Some("2026-01-01T11:00:00Z"),
                Some("2026-01-01T12:00:00Z"),
                Some("2026-01-01T13:00:00Z"),
            ],
        ),
    ]);
    let proposal = propose("notes", &batch, 4);
    assert_eq!(proposal.draft.key, None);
    assert_eq!(proposal.draft.sequence_by, None, "no key, no sequence_by");
    assert_eq!(
        proposal.key_reason,
        "id repeats (3 distinct values in 4 rows), no id column is unique and never null: \
         every row is kept (append)"
    );
    let yaml = proposal.draft.to_yaml();
    assert!(yaml.contains("key: []"), "{yaml}");
    assert!(!yaml.contains("dedupe"), "{yaml}");
}

#[test]
fn corrupt_rows_are_left_out_of_the_types_and_noted() {
    let mut columns = vec![
        ("id".to_owned(), vec![Some("1"), Some("2"), None]),
        (
            "_corrupt_record".to_owned(),
            vec![None, None, Some("3,\"cut")],
        ),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, _)| Field::new(name, DataType::Utf8, true))
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .drain(..)
        .map(|(_, values)| Arc::new(StringArray::from(values)) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let proposal = propose("items", &batch, 3);
    assert_eq!(proposal.draft.key.as_deref(), Some("id"));
    assert_eq!(evidence(&proposal, "id").nulls, 0);
    assert!(proposal.notes[0].starts_with("1 of the 3 rows read are corrupt"));
    assert_eq!(proposal.columns.len(), 1, "Bronze metadata is not a column");
}

#[test]
fn labels_name_each_type_in_plain_words() {
    assert_eq!(
        decimal(10, 2, true).label(),
        "decimal(10,2) with decimal commas"
    );
    assert_eq!(date("%d.%m.%Y").label(), "date (%d.%m.%Y)");
    assert_eq!(
        utc("%m/%d/%Y %H:%M:%S").label(),
        "timestamp (%m/%d/%Y %H:%M:%S, read as UTC)"
    );
    assert_eq!(
        utc("iso8601").label(),
        "timestamp (ISO-8601 with offsets, in UTC)"
    );
    assert_eq!(ColumnType::Json.label(), "JSON text");
    let json = serde_json::to_string(&decimal(10, 2, false)).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"decimal","precision":10,"scale":2,"decimal_comma":false}"#
    );
}

#[test]
fn a_european_export_becomes_a_pipeline_that_types_its_rows() {
    let rows = european_rows(40, 7);
    assert!(european_csv(3, 7).starts_with("rechnung_id;name;betrag;datum;bezahlt\n"));
    let batch = text_batch(&rows);
    let with_metadata = {
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("_corrupt_record", DataType::Utf8, true));
        let mut arrays = batch.columns().to_vec();
        arrays.push(Arc::new(StringArray::from(vec![
            None::<&str>;
            batch.num_rows()
        ])));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    };
    let proposal = propose("rechnungen", &with_metadata, 40);
    let types: Vec<(&str, &ColumnType)> = proposal
        .columns
        .iter()
        .map(|c| (c.name.as_str(), &c.proposed))
        .collect();
    assert_eq!(
        types,
        [
            ("rechnung_id", &ColumnType::Integer),
            ("name", &ColumnType::Text),
            ("betrag", &decimal(10, 2, true)),
            ("datum", &date("%d.%m.%Y")),
            ("bezahlt", &ColumnType::Text),
        ]
    );
    assert_eq!(proposal.draft.key.as_deref(), Some("rechnung_id"));
    let pipeline = proposal.draft.pipeline().expect("a valid pipeline");
    let names: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "reject_corrupt",
            "trim",
            "cast",
            "parse_money",
            "parse_dates",
            "check",
            "dedupe",
            "select"
        ]
    );
    let run = pipeline
        .run(with_metadata, &StepContext::new())
        .expect("runs");
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    let schema = run.rows.schema();
    assert_eq!(
        schema.field_with_name("betrag").unwrap().data_type(),
        &DataType::Decimal128(10, 2)
    );
    assert_eq!(
        schema.field_with_name("datum").unwrap().data_type(),
        &DataType::Date32
    );
    let first_amount = &rows[1][2];
    let (whole, cents) = first_amount.split_once(',').unwrap();
    assert_eq!(
        strings(&run.rows, "betrag")[0].as_deref(),
        Some(format!("{}.{cents}", whole.replace('.', "")).as_str())
    );
    let (day, rest) = rows[1][3].split_once('.').unwrap();
    let (month, year) = rest.split_once('.').unwrap();
    assert_eq!(
        strings(&run.rows, "datum")[0].as_deref(),
        Some(format!("{year}-{month}-{day}").as_str())
    );
    let names = strings(&run.rows, "name");
    assert!(names.iter().flatten().all(|n| n.trim() == n), "{names:?}");
}

#[test]
fn the_draft_yaml_reads_back_and_its_mistakes_are_named() {
    let draft = PipelineDraft {
        entity: "events".to_owned(),
        columns: vec![
            DraftColumn {
                name: "event_id".to_owned(),
                column_type: ColumnType::Integer,
                trim: false,
            },
            DraftColumn {
                name: "at".to_owned(),
                column_type: utc("%d.%m.%Y %H:%M"),
                trim: false,
            },
            DraftColumn {
                name: "seen".to_owned(),
                column_type: utc("epoch_millis"),
                trim: false,
            },
            DraftColumn {
                name: "note".to_owned(),
                column_type: ColumnType::Text,
                trim: true,
            },
        ],
        key: Some("event_id".to_owned()),
        sequence_by: Some("at".to_owned()),
        null_markers: vec!["NULL".to_owned(), "N/A".to_owned()],
        disabled_steps: vec!["trim".to_owned()],
    };
    let yaml = draft.to_yaml();
    assert!(
        yaml.starts_with("# Silver pipeline for events, inferred by medallion"),
        "{yaml}"
    );
    assert!(yaml.contains("formats: ['%d.%m.%Y %H:%M']"), "{yaml}");
    let pipeline = draft.pipeline().expect("valid");
    assert_eq!(pipeline.key, ["event_id"]);
    assert_eq!(pipeline.sequence_by.as_deref(), Some("at"));
    let steps: Vec<(&str, bool)> = pipeline
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.enabled))
        .collect();
    assert_eq!(
        steps,
        [
            ("reject_corrupt", true),
            ("null_markers", true),
            ("trim", false),
            ("cast", true),
            ("parse_timestamp", true),
            ("parse_timestamp_2", true),
            ("check", true),
            ("dedupe", true),
            ("select", true)
        ]
    );
    let batch = bronze_batch(&[
        ("event_id", vec![Some("1"), Some("2")]),
        ("at", vec![Some("30.09.2025 19:00"), Some("NULL")]),
        ("seen", vec![Some("1704070675000"), Some("n/a")]),
        ("note", vec![Some("x"), Some("y")]),
    ]);
    let run = pipeline.run(batch, &StepContext::new()).expect("runs");
    assert_eq!(
        strings(&run.rows, "at"),
        [Some("2025-09-30T19:00:00Z".into()), None]
    );
    assert_eq!(
        strings(&run.rows, "seen"),
        [Some("2024-01-01T00:57:55Z".into()), None]
    );

    let mistake = |change: &dyn Fn(&mut PipelineDraft)| {
        let mut wrong = draft.clone();
        change(&mut wrong);
        wrong.pipeline().unwrap_err().to_string()
    };
    assert_eq!(
        mistake(&|d| d.key = Some("nope".to_owned())),
        "silver/events.yml: the key nope is not a column of the pipeline"
    );
    assert_eq!(
        mistake(&|d| d.sequence_by = Some("note".to_owned())),
        "silver/events.yml: sequence_by note is text; it must be a timestamp"
    );
    assert!(mistake(&|d| d.key = None).contains("sequence_by at needs a business key"));
    assert!(mistake(&|d| d.entity = "Bad Name".to_owned()).contains("is not an entity name"));
}

#[test]
fn preview_lists_the_steps_as_the_silver_view_and_names_a_problem() {
    let batch = bronze_batch(&[
        ("id", vec![Some("1"), Some("2")]),
        ("n", vec![Some("1.5"), Some("2")]),
    ]);
    let mut draft = propose("things", &batch, 2).draft;
    let preview = Lakehouse::preview_pipeline(&draft);
    assert_eq!(preview.error, None);
    assert_eq!(preview.yaml, draft.to_yaml());
    let names: Vec<_> = preview
        .steps
        .iter()
        .map(|s| (s.position, s.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (1, "reject_corrupt"),
            (2, "cast"),
            (3, "parse_money"),
            (4, "check"),
            (5, "dedupe"),
            (6, "select")
        ]
    );
    assert!(
        preview.steps[2].config.contains("precision: 10"),
        "{:?}",
        preview.steps[2]
    );
    assert!(preview.steps.iter().all(|s| s.last.is_none() && s.enabled));
    draft.sequence_by = Some("n".to_owned());
    let preview = Lakehouse::preview_pipeline(&draft);
    assert_eq!(
        preview.error.as_deref(),
        Some("silver/things.yml: sequence_by n is decimal(10,1); it must be a timestamp")
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

async fn land(storage: &Arc<dyn Storage>, file: &str, text: String) {
    crate::landing::land_file(storage.as_ref(), file, None, Bytes::from(text))
        .await
        .expect("land");
}

async fn run(lakehouse: &Lakehouse, stages: &[Stage]) -> crate::lakehouse::RunReport {
    lakehouse
        .run(stages, &mut |_| Flow::Continue)
        .await
        .expect("run")
}

#[test]
fn tlc_yellow_trips_land_get_a_proposal_and_build_a_typed_key_less_silver() {
    runtime().block_on(async {
        let (storage, lakehouse) = crate::testing::memory_lakehouse();
        land(&storage, "yellow_trips.csv", tlc_yellow_csv(300, 42)).await;
        run(&lakehouse, &[Stage::Bronze]).await;
        assert_eq!(
            lakehouse.entities_without_pipeline().await.unwrap(),
            ["yellow_trips"]
        );
        let proposal = lakehouse.propose_pipeline("yellow_trips").await.unwrap();
        assert_eq!((proposal.rows_read, proposal.rows_total), (300, 300));
        assert_eq!(proposal.table, "bronze/yellow_trips");
        let pickup = evidence(&proposal, "tpep_pickup_datetime");
        assert_eq!(pickup.proposed, utc("iso8601"));
        assert_eq!(pickup.misfits, ["not recorded"]);
        assert_eq!(pickup.misfit_count, 3);
        let fare = evidence(&proposal, "fare_amount");
        assert_eq!(fare.proposed, decimal(10, 2, false));
        assert_eq!(fare.null_markers, ["N/A"]);
        assert_eq!(
            evidence(&proposal, "store_and_fwd_flag").proposed,
            ColumnType::Boolean
        );
        assert_eq!(
            evidence(&proposal, "VendorID").proposed,
            ColumnType::Integer
        );
        assert_eq!(
            evidence(&proposal, "passenger_count").proposed,
            ColumnType::Integer
        );
        assert_eq!(proposal.draft.key, None, "{}", proposal.key_reason);
        assert_eq!(
            proposal.key_reason,
            "VendorID, RatecodeID, PULocationID, DOLocationID look like references to other \
             tables and none is named yellow_trip_id or id; no id column is unique and never \
             null: every row is kept (append)"
        );

        let path = lakehouse
            .save_pipeline(&proposal.draft, false)
            .await
            .unwrap();
        assert_eq!(path, "silver/yellow_trips.yml");
        assert!(lakehouse
            .entities_without_pipeline()
            .await
            .unwrap()
            .is_empty());
        let again = lakehouse
            .save_pipeline(&proposal.draft, false)
            .await
            .unwrap_err();
        assert!(
            matches!(again, LakehouseError::Infer(InferError::HasPipeline { .. })),
            "{again}"
        );
        let again = lakehouse
            .propose_pipeline("yellow_trips")
            .await
            .unwrap_err();
        assert_eq!(
            again.to_string(),
            "yellow_trips already has a Silver pipeline (silver/yellow_trips.yml)"
        );

        let report = run(&lakehouse, &[Stage::Silver]).await;
        let silver = report
            .silver
            .iter()
            .find(|r| r.entity == "yellow_trips")
            .expect("yellow_trips ran");
        assert_eq!(silver.rows_in, 300);
        assert_eq!(silver.quarantined, 3, "the pickups that are not times");
        assert_eq!(silver.rows_out + silver.quarantined, silver.rows_in);

        let table = DeltaTable::new(storage.clone(), "silver/yellow_trips");
        let snapshot = table.snapshot().await.unwrap();
        let schema = snapshot.schema();
        assert_eq!(
            schema
                .field_with_name("tpep_pickup_datetime")
                .unwrap()
                .data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            schema.field_with_name("fare_amount").unwrap().data_type(),
            &DataType::Decimal128(10, 2)
        );
        assert_eq!(
            schema
                .field_with_name("store_and_fwd_flag")
                .unwrap()
                .data_type(),
            &DataType::Boolean
        );
        assert_eq!(snapshot.num_records(), Some(297));
        let rows = table
            .read_columns(&snapshot, &["fare_amount".to_owned()])
            .await
            .unwrap();
        assert_eq!(rows.column(0).null_count(), 5, "the N/A fares are null");

        // Key-less Silver appends the next file's rows, once.
        land(&storage, "yellow_trips-2.csv", tlc_yellow_csv(100, 43)).await;
        run(&lakehouse, &[Stage::Bronze, Stage::Silver]).await;
        let report = run(&lakehouse, &[Stage::Silver]).await;
        let second = report
            .silver
            .iter()
            .find(|r| r.entity == "yellow_trips")
            .unwrap();
        assert!(second
            .note
            .as_deref()
            .unwrap_or_default()
            .starts_with("up to date"));
        let snapshot = table.snapshot().await.unwrap();
        assert_eq!(snapshot.num_records(), Some(297 + 99));
    });
}

#[test]
fn nested_ndjson_proposes_flattened_objects_and_json_arrays() {
    runtime().block_on(async {
        let (storage, lakehouse) = crate::testing::memory_lakehouse();
        land(&storage, "rides.ndjson", nested_ndjson(50, 3)).await;
        run(&lakehouse, &[Stage::Bronze]).await;
        let proposal = lakehouse.propose_pipeline("rides").await.unwrap();
        assert_eq!(
            evidence(&proposal, "pickup").proposed,
            ColumnType::Flatten {
                fields: vec!["lat".to_owned(), "lon".to_owned(), "zone".to_owned()]
            }
        );
        assert_eq!(evidence(&proposal, "tags").proposed, ColumnType::Json);
        assert_eq!(
            evidence(&proposal, "requested_at").proposed,
            utc("epoch_millis")
        );
        assert_eq!(proposal.draft.key.as_deref(), Some("ride_id"));
        assert!(
            proposal.notes.iter().any(|note| note
                .starts_with("pickup: every value is a JSON object")
                && note.contains("pickup_lat, pickup_lon, pickup_zone")),
            "{:?}",
            proposal.notes
        );
        assert!(proposal.notes.iter().any(|note| note.starts_with("tags:")));
        lakehouse
            .save_pipeline(&proposal.draft, false)
            .await
            .unwrap();
        let report = run(&lakehouse, &[Stage::Silver]).await;
        let rides = report.silver.iter().find(|r| r.entity == "rides").unwrap();
        assert_eq!((rides.rows_out, rides.quarantined), (50, 0));
        let table = DeltaTable::new(storage.clone(), "silver/rides");
        let snapshot = table.snapshot().await.unwrap();
        let columns: Vec<String> = snapshot
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            columns,
            [
                "ride_id",
                "pickup_lat",
                "pickup_lon",
                "pickup_zone",
                "dropoff_lat",
                "dropoff_lon",
                "tags",
                "fare",
                "requested_at"
            ]
        );
        let zones = table
            .read_columns(&snapshot, &["pickup_zone".to_owned()])
            .await
            .unwrap();
        assert!(strings(&zones, "pickup_zone")[0]
            .as_deref()
            .unwrap()
            .starts_with("{\"id\":"));
    });
}

#[test]
fn proposals_and_saves_refuse_what_they_cannot_do() {
    runtime().block_on(async {
        let (_, lakehouse) = crate::testing::memory_lakehouse();
        let err = lakehouse.propose_pipeline("notes").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "bronze/notes does not exist (land and ingest a file of the entity first)"
        );
        let err = lakehouse.propose_pipeline("trips").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "trips already has a Silver pipeline (silver/trips.yml)"
        );
        let err = lakehouse.propose_pipeline("../x").await.unwrap_err();
        assert!(matches!(
            err,
            LakehouseError::Infer(InferError::InvalidEntity { .. })
        ));
        let batch = bronze_batch(&[("id", vec![Some("1")])]);
        let mut draft = propose("trips", &batch, 1).draft;
        let err = lakehouse.save_pipeline(&draft, false).await.unwrap_err();
        assert!(matches!(
            err,
            LakehouseError::Infer(InferError::HasPipeline { .. })
        ));
        let path = lakehouse.save_pipeline(&draft, true).await.unwrap();
        assert_eq!(path, "silver/trips.yml");
        let text = lakehouse.workspace().read(&path).await.unwrap();
        assert_eq!(text, draft.to_yaml());
        draft.key = Some("missing".to_owned());
        let err = lakehouse.save_pipeline(&draft, true).await.unwrap_err();
        assert!(
            err.to_string().contains("the key missing is not a column"),
            "{err}"
        );
    });
}

#[test]
fn typed_parquet_columns_are_proposed_as_their_types_and_the_pipeline_keeps_them() {
    use arrow::array::{BooleanArray, Float64Array, Int64Array, TimestampMicrosecondArray};
    let schema = Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("paid", DataType::Boolean, true),
        Field::new("_corrupt_record", DataType::Utf8, true),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(Float64Array::from(vec![Some(49.44), Some(7.5), None])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_704_070_675_000_000, 0, 1])
                    .with_timezone("UTC"),
            ),
            Arc::new(BooleanArray::from(vec![true, false, true])),
            Arc::new(StringArray::from(vec![None::<&str>; 3])),
        ],
    )
    .unwrap();
    let proposal = propose("orders", &batch, 3);
    let types: Vec<&ColumnType> = proposal.columns.iter().map(|c| &c.proposed).collect();
    assert_eq!(
        types,
        [
            &ColumnType::Integer,
            &decimal(10, 2, false),
            &utc("iso8601"),
            &ColumnType::Boolean
        ]
    );
    assert_eq!(proposal.draft.key.as_deref(), Some("order_id"));
    let run = proposal
        .draft
        .pipeline()
        .unwrap()
        .run(batch, &StepContext::new())
        .unwrap();
    assert!(run.rejections.is_empty());
    assert_eq!(
        strings(&run.rows, "amount"),
        [Some("49.44".into()), Some("7.50".into()), None]
    );
    assert_eq!(
        strings(&run.rows, "created_at")[0].as_deref(),
        Some("2024-01-01T00:57:55Z")
    );
}
