#!/usr/bin/env bash
# Runs the whole test suite, installing whatever is missing first:
#   1. formatting;
#   2. native: one build of every target with clippy's lints (warnings are errors), then
#      the tests (cargo test --workspace), with the Delta interop test against delta-rs,
#      and real dbt (dbt-core 1.10, dbt-duckdb) building the same Gold from models/;
#   3. wasm32: one build of the core's and the app's tests with clippy's lints, then the
#      tests in headless Chromium, in the background while the next step runs;
#   4. end-to-end tests: playwright-core drives Chromium against the built app.
#
# DataFusion is compiled once per target. Clippy runs as the workspace's compiler
# wrapper during the builds the tests need (as `cargo clippy` does, but producing code),
# so no separate check build exists; the dbt step uses the CLI that the native tests
# built; the wasm tests and trunk build the same feature set (wasm-bindgen-test adds no
# feature to a shared dependency), so trunk only links the app's binaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/env.sh
bash scripts/ensure-tools.sh

started=$SECONDS
step_name=""
step_started=$SECONDS
# Prints how long the previous step took, then the next step's name.
step() {
  [ -z "$step_name" ] || printf '==> %s took %ss\n' "$step_name" "$((SECONDS - step_started))"
  step_name="$*"
  step_started=$SECONDS
  [ -z "$step_name" ] || printf '\n==> %s\n' "$step_name"
}

# Every workspace crate is compiled by clippy-driver with warnings denied; dependencies
# by plain rustc. cargo clippy passes its arguments to the driver the same way.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "formatting"
cargo fmt --all -- --check

step "native build of every target, with clippy"
cargo test --workspace --all-targets --no-run

step "native tests (with Delta interop against delta-rs)"
export MEDALLION_PYTHON="${MEDALLION_VENV:-$HOME/.cache/medallion/venv}/bin/python"
cargo test --workspace

step "real dbt builds the same Gold (tests/dbt)"
bash tests/dbt/run.sh "$CARGO_TARGET_DIR/debug/medallion" "$CARGO_TARGET_DIR/dbt-parity"

step "wasm32 build of the core's and the app's targets, with clippy"
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$root/scripts/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT=600
mkdir -p test-artifacts
cargo test --target wasm32-unknown-unknown -p medallion-core -p medallion-app --all-targets --no-run \
  --message-format=json-render-diagnostics >test-artifacts/wasm-targets.json
# The test binaries `cargo test` runs (libraries, binaries, integration tests), as cargo built them.
mapfile -t wasm_tests < <(node -e '
  for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    const kinds = message.target?.kind ?? [];
    if (message.reason === "compiler-artifact" && message.profile?.test && message.executable
        && kinds.some((kind) => ["lib", "rlib", "cdylib", "bin", "test"].includes(kind))) {
      console.log(message.executable);
    }
  }' test-artifacts/wasm-targets.json)
[ ${#wasm_tests[@]} -gt 0 ] || { echo "no wasm test binary was built" >&2; exit 1; }

# The browser tests wait on Chromium more than they compute, so they run in the background
# while trunk builds the app and the end-to-end tests run; their log follows at the end.
step "wasm tests in headless Chromium (${#wasm_tests[@]} binaries, in the background)"
run_wasm_tests() {
  local binary
  for binary in "${wasm_tests[@]}"; do
    printf '\n     Running %s\n' "${binary##*/}"
    wasm-bindgen-test-runner "$binary" || return 1
  done
}
run_wasm_tests >test-artifacts/wasm-tests.log 2>&1 &
wasm_pid=$!
trap 'kill "$wasm_pid" 2>/dev/null || true' EXIT

step "building the app"
trunk build

step "end-to-end tests in headless Chromium"
node --test tests/e2e/

step "waiting for the wasm tests"
wasm_status=0
wait "$wasm_pid" || wasm_status=$?
trap - EXIT
cat test-artifacts/wasm-tests.log
[ "$wasm_status" -eq 0 ] || { echo "wasm tests failed (exit $wasm_status)" >&2; exit "$wasm_status"; }
step ""

printf '\nAll suites passed in %ss.\n' "$((SECONDS - started))"
