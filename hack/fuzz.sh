#!/usr/bin/env bash
# Runs each fuzz target of internal/pki in turn with its own budget, then
# prints the executions reached per target. Exits non-zero, after the
# summary, when a target failed: go test has then written the failing input
# to internal/pki/testdata/fuzz/<Target>/, where every later `go test`
# replays it (keep it, with the fix, as a regression seed).
#
# Environment:
#   FUZZTIME      budget of each target: a duration (30s, 10m) or an
#                 execution count (10000000x). Default 30s.
#   FUZZ          regexp of the targets to run. Default: all of them.
#   FUZZPARALLEL  workers per target (go test -parallel). Default GOMAXPROCS.
#   FUZZMINIMIZETIME  go test -fuzzminimizetime. Default go's (60s).
#   FUZZLOGDIR    where each target's log goes. Default bin/fuzz.
#
# e.g. FUZZTIME=10000000x FUZZPARALLEL=2 nice -n 19 hack/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
pkg=./internal/pki/
fuzztime=${FUZZTIME:-30s}
logdir=${FUZZLOGDIR:-bin/fuzz}
mkdir -p "$logdir"

args=(-run '^$' -fuzztime "$fuzztime")
[ -n "${FUZZPARALLEL:-}" ] && args+=(-parallel "$FUZZPARALLEL")
[ -n "${FUZZMINIMIZETIME:-}" ] && args+=(-fuzzminimizetime "$FUZZMINIMIZETIME")

targets=$(go test -list "${FUZZ:-^Fuzz}" "$pkg" | grep '^Fuzz') || {
	echo "fuzz: no target matches ${FUZZ:-^Fuzz} in $pkg" >&2
	exit 1
}

summary=()
failed=0
for t in $targets; do
	log="$logdir/$t.log"
	echo "==> $t: go test ${args[*]} -fuzz ^$t\$ $pkg (log: $log)"
	start=$(date +%s)
	go test "${args[@]}" -fuzz "^$t\$" "$pkg" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	# The last progress line holds the executions reached.
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	execs=${execs:-0}
	rate=$((execs / (secs > 0 ? secs : 1)))
	if [ "$rc" -eq 0 ]; then
		status=ok
	else
		status=FAILED
		failed=1
	fi
	summary+=("$(printf '%-32s %-7s %14s execs %6ss %9s exec/s' "$t" "$status" "$execs" "$secs" "$rate")")
	if [ "$rc" -ne 0 ]; then
		grep -h 'Failing input written to\|To re-run' -A1 "$log" | sed 's/^/    /' >&2 || true
	fi
done

echo
echo "fuzz summary (FUZZTIME=$fuzztime; seconds are wall time, build and baseline coverage included):"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
	echo "fuzz: a target FAILED: its failing input is under internal/pki/testdata/fuzz/; fix the bug and keep the input as a regression seed" >&2
	exit 1
fi
