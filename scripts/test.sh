#!/usr/bin/env bash
# Runs the whole test suite, installing whatever is missing first:
#   1. formatting and clippy (native and wasm32, warnings are errors);
#   2. native tests (cargo test --workspace), with the Delta interop test against delta-rs,
#      and real dbt (dbt-core 1.10, dbt-duckdb) building the same Gold from models/;
#   3. the core's and the app's wasm tests in headless Chromium;
#   4. end-to-end tests: playwright-core drives Chromium against the built app.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/env.sh
bash scripts/ensure-tools.sh

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p medallion-core -p medallion-app --all-targets --target wasm32-unknown-unknown -- -D warnings

step "native tests (with Delta interop against delta-rs)"
export MEDALLION_PYTHON="${MEDALLION_VENV:-$HOME/.cache/medallion/venv}/bin/python"
cargo test --workspace

step "real dbt builds the same Gold (tests/dbt)"
cargo build -p medallion-cli --quiet
bash tests/dbt/run.sh "$CARGO_TARGET_DIR/debug/medallion" "$CARGO_TARGET_DIR/dbt-parity"

step "wasm tests in headless Chromium"
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$root/scripts/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT=600
cargo test --target wasm32-unknown-unknown -p medallion-core -p medallion-app

step "building the app"
trunk build

step "end-to-end tests in headless Chromium"
mkdir -p test-artifacts
node --test tests/e2e/

printf '\nAll suites passed in %ss.\n' "$((SECONDS - started))"
