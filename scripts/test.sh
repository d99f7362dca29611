#!/usr/bin/env bash
# The project's one test command (README, .ci/run): set up the real environment, then run
# formatting, lints and the whole test suite against it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# A target dir outside the clone survives between CI runs on the same machine and keeps the
# 2-core build inside the time budget; override with CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/drydock-target}"
mkdir -p "$CARGO_TARGET_DIR" 2>/dev/null || export CARGO_TARGET_DIR="$here/target"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# setup.sh installs PostgreSQL, so the store's PostgreSQL stories must run here, not skip.
export DRYDOCK_TEST_PG="${DRYDOCK_TEST_PG:-require}"

"$here/scripts/setup.sh"

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
# The services and the HTTP layer must not need an engine: run their tests with DOCKER_HOST
# pointing at nothing first (the same test binaries the whole suite uses, so nothing is built twice).
echo "== services without Docker (DOCKER_HOST=unix:///nonexistent/docker.sock)"
DOCKER_HOST=unix:///nonexistent/docker.sock cargo test --locked --lib daemon::
DOCKER_HOST=unix:///nonexistent/docker.sock cargo test --locked --test tests services::
echo "== cargo test"
cargo test --locked "$@"
