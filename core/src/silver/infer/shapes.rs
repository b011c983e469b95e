//! Generators of public datasets' shapes, for tests: NYC TLC yellow-taxi trip records
//! as CSV, a European CSV export (semicolons, decimal commas, `DD.MM.YYYY` dates), and
//! NDJSON with nested objects. Seeded: the same seed gives the same text.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::sample::rng::Rng;

/// The columns of the TLC yellow-taxi trip records, in their order.
pub(crate) const TLC_COLUMNS: [&str; 18] = [
    "VendorID",
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "passenger_count",
    "trip_distance",
    "RatecodeID",
    "store_and_fwd_flag",
    "PULocationID",
    "DOLocationID",
    "payment_type",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "total_amount",
    "congestion_surcharge",
];

/// Rows that carry a value no type reads in `tlc_yellow_csv` (they quarantine): one
/// in every this many.
pub(crate) const TLC_BAD_EVERY: usize = 97;

fn money(cents: i64) -> String {
    format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.abs() / 100,
        cents.abs() % 100
    )
}

/// `rows` yellow-taxi trips of January 2024 as the TLC's CSV export writes them
/// (`2024-01-01 00:57:55`, `17.70`), with messy values: an empty passenger count, a
/// `N/A` fare, and in every [`TLC_BAD_EVERY`]-th row a pickup time that is not one.
pub(crate) fn tlc_yellow_csv(rows: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = TLC_COLUMNS.join(",");
    out.push('\n');
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .expect("a date");
    for row in 0..rows {
        let pickup = start + chrono::Duration::seconds(rng.range(0, 31 * 86_400));
        let dropoff = pickup + chrono::Duration::seconds(rng.range(120, 3_600));
        let fare = rng.range(300, 9_000);
        let extra = *rng.pick(&[0, 100, 250, 350]);
        let tip = if rng.chance(0.6) {
            rng.range(0, 2_000)
        } else {
            0
        };
        let tolls = if rng.chance(0.1) { 694 } else { 0 };
        let total = fare + extra + 50 + tip + tolls + 100 + 250;
        let pickup_text = if row % TLC_BAD_EVERY == TLC_BAD_EVERY - 1 {
            "not recorded".to_owned()
        } else {
            pickup.format("%Y-%m-%d %H:%M:%S").to_string()
        };
        let passengers = if row % 50 == 7 {
            String::new()
        } else {
            rng.range(1, 5).to_string()
        };
        let fare_text = if row % 60 == 11 {
            "N/A".to_owned()
        } else {
            money(fare)
        };
        let fields = [
            rng.range(1, 3).to_string(),
            pickup_text,
            dropoff.format("%Y-%m-%d %H:%M:%S").to_string(),
            passengers,
            format!("{:.2}", rng.range(10, 2_500) as f64 / 100.0),
            rng.pick(&["1", "1", "1", "2", "5"]).to_string(),
            rng.pick(&["N", "N", "N", "Y"]).to_string(),
            rng.range(1, 264).to_string(),
            rng.range(1, 264).to_string(),
            rng.range(1, 5).to_string(),
            fare_text,
            money(extra),
            "0.50".to_owned(),
            money(tip),
            money(tolls),
            "1.00".to_owned(),
            money(total),
            "2.50".to_owned(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A European CSV export of `rows` invoices, header first, as its cells:
/// `rechnung_id;name;betrag;datum;bezahlt` with decimal commas (`1.234,50`),
/// `DD.MM.YYYY` dates and names padded with spaces.
pub(crate) fn european_rows(rows: usize, seed: u64) -> Vec<Vec<String>> {
    let mut rng = Rng::new(seed);
    let names = [
        "Müller GmbH",
        "  Dupont SA",
        "Rossi S.p.A. ",
        "Nowak",
        "van Dijk BV",
    ];
    let mut out = vec![["rechnung_id", "name", "betrag", "datum", "bezahlt"]
        .map(str::to_owned)
        .to_vec()];
    for row in 0..rows {
        let cents = rng.range(50, 500_000);
        let whole = cents / 100;
        let whole = if whole >= 1000 {
            format!("{}.{:03}", whole / 1000, whole % 1000)
        } else {
            whole.to_string()
        };
        let day = rng.range(1, 29);
        let month = rng.range(1, 13);
        out.push(vec![
            (10_000 + row).to_string(),
            rng.pick(&names).to_string(),
            format!("{whole},{:02}", cents % 100),
            format!("{day:02}.{month:02}.2025"),
            rng.pick(&["ja", "nein"]).to_string(),
        ]);
    }
    out
}

/// [`european_rows`] as the file's text, `;`-separated.
pub(crate) fn european_csv(rows: usize, seed: u64) -> String {
    european_rows(rows, seed)
        .iter()
        .map(|cells| format!("{}\n", cells.join(";")))
        .collect()
}

/// `rows` rides as NDJSON: `ride_id`, `pickup` and `dropoff` objects (`lat`, `lon`, and
/// a nested `zone` object in `pickup`), `tags` (an array), `fare` (a number) and
/// `requested_at` (epoch milliseconds).
pub(crate) fn nested_ndjson(rows: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    for row in 0..rows {
        let lat = 40.6 + rng.range(0, 3_000) as f64 / 10_000.0;
        let lon = -74.0 + rng.range(0, 3_000) as f64 / 10_000.0;
        // Written by hand so that the fields keep this order.
        let line = format!(
            "{{\"ride_id\": {}, \"pickup\": {{\"lat\": {lat:.4}, \"lon\": {lon:.4}, \"zone\": \
             {{\"id\": {}}}}}, \"dropoff\": {{\"lat\": {:.4}, \"lon\": {:.4}}}, \"tags\": \
             [\"{}\"], \"fare\": {:.2}, \"requested_at\": {}}}",
            1_000 + row,
            rng.range(1, 264),
            lat + 0.01,
            lon - 0.01,
            rng.pick(&["airport", "night", "shared"]),
            rng.range(300, 9_000) as f64 / 100.0,
            1_704_067_200_000i64 + rng.range(0, 86_400_000),
        );
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A batch of text columns from a header row and its data rows, as Bronze keeps a
/// CSV file's cells.
pub(crate) fn text_batch(rows: &[Vec<String>]) -> RecordBatch {
    let (header, data) = rows.split_first().expect("a header");
    let fields: Vec<Field> = header
        .iter()
        .map(|name| Field::new(name, DataType::Utf8, true))
        .collect();
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|index| {
            Arc::new(StringArray::from(
                data.iter()
                    .map(|row| Some(row[index].as_str()))
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("equal lengths")
}
