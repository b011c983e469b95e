# Shared settings for the project's scripts; sourced, not run.
# The cargo target directory lives outside the clone so that every clone and every CI
# run on this machine reuses the same builds (DataFusion takes many minutes to build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medallion/target}"
export PATH="$HOME/.cargo/bin:$PATH"
