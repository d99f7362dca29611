#!/usr/bin/env bash
# Fuzzes drydock's parsers of untrusted input with cargo-fuzz (libFuzzer) on the stable
# toolchain: taskfile, template, dockerfile, archive, webhook (fuzz/fuzz_targets/).
#
# NOT part of CI (.ci/run, scripts/test.sh) and not meant to be: the instrumented build of the
# whole crate graph takes ~40 minutes on the 2-core machines and every target runs for
# FUZZ_SECONDS (default 600), so one pass is well over an hour, and CI has 90 minutes for
# everything. Run it by hand; results go to the terminal (fuzz/RESULTS.md records a run).
#
# Idempotent: installs cargo-fuzz if missing, builds the targets, (re)creates the seed corpora
# in $FUZZ_CORPUS/<target> (from ../shared/acr-corpus, tests, examples and generated archives
# and payloads; nothing is copied into the repository), then runs the targets one after
# another under `nice -n 19`, printing executions and crashes of each.
#
#   FUZZ_SECONDS=600 FUZZ_TARGETS="taskfile webhook" scripts/fuzz.sh
#
# A crash stops libFuzzer; the rest of the target's time then runs in fork mode, which goes on
# past crashes. Crash inputs land in fuzz/artifacts/<target>/; reproduce one with
#   $CARGO_TARGET_DIR/<host triple>/release/<target> fuzz/artifacts/<target>/crash-…
# (or `cargo fuzz run --sanitizer none <target> <file>` from the repository root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
FUZZ_TARGETS="${FUZZ_TARGETS:-taskfile template dockerfile archive webhook}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/drydock-fuzz-target}"
FUZZ_CORPUS="${FUZZ_CORPUS:-/var/cache/drydock-fuzz-corpus}"
FUZZ_SHARED="${FUZZ_SHARED:-$here/../shared}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR" "$FUZZ_CORPUS"

# Longest input per target: room for the largest seeds, small enough to mutate efficiently.
max_len() {
	case "$1" in
	taskfile | archive) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

# 1. cargo-fuzz (0.13.2 builds with Rust 1.95; with --sanitizer none it needs no nightly).
if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "== installing cargo-fuzz"
	nice -n 19 cargo install cargo-fuzz --locked --version 0.13.2
fi

# 2. Build every target (release, debug assertions, coverage instrumentation, no sanitizer:
# drydock forbids unsafe code, and ASan needs a nightly compiler).
echo "== building fuzz targets into $CARGO_TARGET_DIR"
nice -n 19 cargo fuzz build --sanitizer none --target-dir "$CARGO_TARGET_DIR"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bindir="$CARGO_TARGET_DIR/$triple/release"

# 3. Seeds.
echo "== seeds into $FUZZ_CORPUS"
python3 "$here/fuzz/seeds.py" "$FUZZ_CORPUS" "$here" "$FUZZ_SHARED"

# Prints the panic location and message of one crash input, on one line.
describe_crash() {
	local bin="$1" input="$2"
	RUST_BACKTRACE=0 timeout 60 nice -n 19 "$bin" -runs=1 -timeout=10 -rss_limit_mb=2048 "$input" 2>&1 |
		awk '/panicked at/ { loc = $0; sub(/.*panicked at /, "", loc); sub(/:$/, "", loc); getline msg; print loc ": " msg; found = 1; exit }
		     /ERROR: libFuzzer: (timeout|out-of-memory)/ { l = $0; sub(/.*ERROR: /, "", l); print l; found = 1; exit }
		     END { if (!found) print "(no panic when run again)" }' || true
}

# 4. Run each target for FUZZ_SECONDS, one after the other.
summary=()
for t in $FUZZ_TARGETS; do
	bin="$bindir/$t"
	corpus="$FUZZ_CORPUS/$t"
	art="$here/fuzz/artifacts/$t"
	mkdir -p "$corpus" "$art"
	before="$(ls "$art" 2>/dev/null | grep -E '^(crash|timeout|oom|slow-unit)-' | sort || true)"
	common=(-print_final_stats=1 -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" -artifact_prefix="$art/")
	execs=0
	spent=0
	part=0
	mode=plain
	echo "== fuzzing $t for ${FUZZ_SECONDS}s"
	while ((FUZZ_SECONDS - spent > 5)); do
		part=$((part + 1))
		log="$art/run-$part.log"
		left=$((FUZZ_SECONDS - spent))
		start=$(date +%s)
		extra=()
		if [[ "$mode" == fork ]]; then
			# One child at a time: never more than one fuzzing process on the 2 cores.
			extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
		fi
		set +e
		nice -n 19 "$bin" "${common[@]}" "${extra[@]}" -max_total_time="$left" "$corpus" >"$log" 2>&1
		rc=$?
		set -e
		spent=$((spent + $(date +%s) - start))
		if [[ "$mode" == plain ]]; then
			n="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')"
		else
			n="$(grep -oE '^#[0-9]+: cov:' "$log" | tail -1 | tr -dc 0-9)"
		fi
		execs=$((execs + ${n:-0}))
		echo "   part $part ($mode): exit $rc, ${n:-0} executions, log $log"
		if [[ "$mode" == plain && $rc -ne 0 ]]; then
			grep -E 'panicked at|ERROR: libFuzzer|Test unit written' "$log" | head -5 | sed 's/^/   /' || true
			mode=fork
			continue
		fi
		break
	done
	after="$(ls "$art" | grep -E '^(crash|timeout|oom|slow-unit)-' | sort || true)"
	new="$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$' || true)"
	size="$(find "$corpus" -type f | wc -l)"
	rate=$((execs / (spent > 0 ? spent : 1)))
	echo "-- $t: ${spent}s, $execs executions ($rate/s), corpus $size files, $(echo -n "$new" | grep -c . || true) new artifacts"
	declare -A seen=()
	for a in $new; do
		[[ "$a" == slow-unit-* ]] && continue
		d="$(describe_crash "$bin" "$art/$a")"
		key="${d%%: *}" # the panic location: one line per distinct crash site
		[[ "$d" == libFuzzer* ]] && key="${d%% (*}"
		if [[ -z "${seen[$key]:-}" ]]; then
			seen[$key]=1
			echo "   $art/$a"
			echo "     $d"
		fi
	done
	unset seen
	summary+=("$t ${spent}s execs=$execs rate=$rate/s corpus=$size artifacts=$(echo -n "$new" | grep -c . || true)")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
