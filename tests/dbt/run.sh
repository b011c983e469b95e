#!/usr/bin/env bash
# Real dbt builds the same Gold as medallion: installs dbt-core 1.10 and dbt-duckdb 1.10
# into a venv (once), then runs parity.py on the sample batches (the Uber project in
# models/) and shop_parity.py on the second sample project (examples/shop: seeds, docs
# blocks, a post-hook, an analysis). Newer dbt-core releases
# download a parser at install time, which fails here, hence the pins.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${MEDALLION_DBT_VENV:-$HOME/.cache/medallion/dbt-venv}"
if ! "$venv/bin/python" -c 'import dbt.adapters.duckdb, duckdb' >/dev/null 2>&1; then
  echo "installing dbt-core 1.10 and dbt-duckdb 1.10 into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "dbt-core==1.10.*" "dbt-duckdb==1.10.*" "duckdb==2.0.*"
fi
medallion="${1:?usage: run.sh MEDALLION_BINARY [WORKDIR [DATA_DIR]]}"
work="${2:-$(mktemp -d)}"
"$venv/bin/python" "$root/tests/dbt/parity.py" "$medallion" "$work" "${@:3}"
"$venv/bin/python" "$root/tests/dbt/shop_parity.py" "$medallion" "$work/shop"
