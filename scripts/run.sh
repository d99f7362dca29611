#!/usr/bin/env bash
# One command from a fresh machine to drydock's main job on the embedded default (local Docker):
# set up the environment, build drydock, and run the example task through the engine
# (build an image, run it detached, probe it from another step, push it to the local registry).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/drydock-target}"
"$here/scripts/setup.sh"
cargo build --release --locked
exec "$CARGO_TARGET_DIR/release/drydock" run --local --registry 127.0.0.1:5000 examples/hello "$@"
