//! Browser benchmark of Bronze ingest, in a dedicated Web Worker (where the playground
//! runs its pipeline): 1,000,000 generated trips in one CSV file, landed in OPFS and
//! ingested into `bronze/trips` with an IndexedDB checkpoint. Ignored in CI; run by hand:
//!
//! ```sh
//! source scripts/env.sh
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON=$PWD/scripts/webdriver.json \
//!   WASM_BINDGEN_TEST_TIMEOUT=1200 cargo test --profile bench --target wasm32-unknown-unknown \
//!   -p medallion-core --test browser_bench -- --include-ignored --nocapture
//! ```
//!
//! It prints MB/s and rows/s; the figures go to docs/BENCHMARKS.md.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use medallion_core::bronze::{Bronze, BronzeOptions};
use medallion_core::browser::{IndexedDbCheckpointStore, OpfsStorage};
use medallion_core::landing::land_file;
use medallion_core::sample::{generate, SampleFormat, SampleSpec};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const TRIPS: usize = 1_000_000;

#[wasm_bindgen_test]
#[ignore]
// The worker has one thread: sharing the IndexedDB handle through an Arc is sound.
#[allow(clippy::arc_with_non_send_sync)]
async fn ingest_one_million_trips_from_csv() {
    let name = format!("bench-{}", js_sys::Math::random().to_bits());
    let storage = Arc::new(OpfsStorage::open(&name).await.expect("open OPFS"));
    let checkpoint = Arc::new(
        IndexedDbCheckpointStore::open(&name)
            .await
            .expect("open IndexedDB"),
    );
    let sample = generate(&SampleSpec {
        trips: TRIPS,
        seed: 7,
        batches: None,
        format: SampleFormat::Csv,
    })
    .expect("generate");
    let trips = sample
        .files
        .into_iter()
        .find(|f| f.path == "trips.csv")
        .expect("trips.csv");
    let bytes = trips.data.len();
    land_file(storage.as_ref(), "trips.csv", None, trips.data)
        .await
        .expect("land");
    let bronze = Bronze::new(storage, checkpoint);
    let started = js_sys::Date::now();
    let reports = bronze
        .ingest("trips", &BronzeOptions::default())
        .await
        .expect("ingest");
    let seconds = (js_sys::Date::now() - started) / 1000.0;
    assert_eq!(reports[0].rows(), TRIPS);
    console_log!(
        "bronze ingest in the browser: {TRIPS} rows, {bytes} bytes of CSV in {seconds:.2} s: \
         {:.1} MB/s, {:.0} rows/s",
        bytes as f64 / 1e6 / seconds,
        TRIPS as f64 / seconds
    );
}
