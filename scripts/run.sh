#!/usr/bin/env bash
# One command from a fresh machine to drydock's main job on the embedded default (SQLite in the
# data directory, the local Docker engine): set up the environment, build drydock, start
# `drydock serve` (once), and run the example task through it: build an image, run it detached,
# probe it from another step, push it to the local registry, with the log streamed live.
#
# The daemon keeps running afterwards; the script prints how to use it. `scripts/run.sh stop`
# stops it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/drydock-target}"
DATA="${DRYDOCK_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/drydock}"
LISTEN="${DRYDOCK_LISTEN:-127.0.0.1:7480}"
BIN="$CARGO_TARGET_DIR/release/drydock"

if [ "${1:-}" = "stop" ]; then
  if [ -f "$DATA/serve.pid" ] && kill "$(cat "$DATA/serve.pid")" 2>/dev/null; then
    echo "stopped drydock serve (pid $(cat "$DATA/serve.pid"))"
    rm -f "$DATA/serve.pid"
  else
    echo "drydock serve is not running from $DATA"
  fi
  exit 0
fi

"$here/scripts/setup.sh"
cargo build --release --locked
mkdir -p "$DATA"

# Put `drydock` on PATH, so that the README's commands work as written: /usr/local/bin when this
# user may write there (root on a fresh machine), else ~/.local/bin.
if [ -w /usr/local/bin ]; then BIN_DIR=/usr/local/bin; else BIN_DIR="$HOME/.local/bin"; mkdir -p "$BIN_DIR"; fi
ln -sf "$BIN" "$BIN_DIR/drydock"
case ":$PATH:" in
  *":$BIN_DIR:"*) ON_PATH="" ;;
  *) ON_PATH="  export PATH=\"$BIN_DIR:\$PATH\"   # $BIN_DIR is not on your PATH yet" ;;
esac

# The first API token is made offline, straight into the data directory's database.
if [ ! -s "$DATA/cli-token" ]; then
  (umask 077 && "$BIN" token create cli --data-dir "$DATA" >"$DATA/cli-token")
fi
export DRYDOCK_SERVER="http://$LISTEN"
DRYDOCK_TOKEN="$(cat "$DATA/cli-token")"
export DRYDOCK_TOKEN

if ! curl -fsS "$DRYDOCK_SERVER/healthz" >/dev/null 2>&1; then
  echo "starting drydock serve on $LISTEN (data: $DATA)"
  setsid "$BIN" serve --listen "$LISTEN" --data-dir "$DATA" --registry 127.0.0.1:5000 \
    >>"$DATA/serve.log" 2>&1 </dev/null &
  echo $! >"$DATA/serve.pid"
  for _ in $(seq 1 100); do
    curl -fsS "$DRYDOCK_SERVER/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$DRYDOCK_SERVER/readyz" >/dev/null || { echo "drydock serve did not start; see $DATA/serve.log" >&2; exit 1; }
fi

"$BIN" run -f acb.yaml examples/hello "$@"

cat <<EOF

drydock serve keeps running on $DRYDOCK_SERVER (log: $DATA/serve.log; stop: scripts/run.sh stop).
\`drydock\` is $BIN_DIR/drydock. Use the daemon from this shell with:
$ON_PATH
  export DRYDOCK_SERVER=$DRYDOCK_SERVER DRYDOCK_TOKEN=\$(cat $DATA/cli-token)
  drydock runs list
EOF
