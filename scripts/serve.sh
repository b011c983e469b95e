#!/usr/bin/env bash
# Serves the playground on http://127.0.0.1:8080, installing whatever is missing first.
#   bash scripts/serve.sh            a quick development build, rebuilt on change
#   bash scripts/serve.sh --release  the shipped bundle (opt-level z, LTO: slow to build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/env.sh
bash scripts/ensure-tools.sh
exec trunk serve "$@"
