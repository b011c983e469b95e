#!/usr/bin/env bash
# Installs every tool the project needs, each only when it is missing or has
# the wrong version. Safe to run repeatedly; the serve and test scripts call it.
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14

log() { printf '[ensure-tools] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: clang (zstd-sys compiles C even for wasm32), chromium and
# its driver (headless browser tests), python venv support (interop tests).
need_apt=()
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# clippy and rustfmt: the test command lints through clippy-driver and checks formatting
# (a minimal rustup profile lacks both).
for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^${component}"; then
    log "rustup component add ${component}"
    rustup component add "${component}"
  fi
done

# The wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli, pinned to the crate's version (trunk and the test runner
# refuse a mismatch). No --locked: its lockfile names a crate the registry lacks.
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
  log "cargo install wasm-bindgen-cli ${WASM_BINDGEN_VERSION}"
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force
fi

# trunk 0.21 (0.22 needs a newer rustc).
if ! trunk --version 2>/dev/null | grep -q " ${TRUNK_VERSION}\$"; then
  log "cargo install trunk ${TRUNK_VERSION}"
  cargo install trunk --version "${TRUNK_VERSION}" --locked --force
fi

# npm packages from the committed lockfile: playwright-core (e2e tests), and CodeMirror
# and esbuild, which trunk's pre_build hook bundles into the Models view's editor.js.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$root/package-lock.json" ]; then
  if [ ! -d "$root/node_modules/playwright-core" ] || [ ! -d "$root/node_modules/esbuild" ] \
    || [ ! -d "$root/node_modules/@codemirror/view" ] \
    || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    log "npm ci"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# Python with delta-rs (deltalake) and pyarrow, for the Delta interop tests.
venv="${MEDALLION_VENV:-$HOME/.cache/medallion/venv}"
if ! "$venv/bin/python" -c 'import deltalake, pyarrow' >/dev/null 2>&1; then
  log "python venv with deltalake and pyarrow in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "deltalake==1.6.*" "pyarrow==26.*"
fi
