#!/usr/bin/env bash
# Runs each fuzz target of internal/pki in turn with its own budget, then
# prints the executions reached per target. Exits non-zero, after the
# summary, when a target failed: the failing input is then in
# internal/pki/testdata/fuzz/<Target>/, where every later `go test` replays
# it (keep it, with the fix, as a regression seed).
#
# The instrumented test binary is built once (go test -c -fuzz) and run per
# target from the package directory, with go's own corpus cache, exactly as
# `go test -fuzz` runs it.
#
# Environment:
#   FUZZTIME      budget of each target: a duration (30s, 10m) or an
#                 execution count (10000000x). Default 30s.
#   FUZZ          regexp of the targets to run. Default: all of them.
#   FUZZPARALLEL  workers per target (-parallel). Default GOMAXPROCS.
#   FUZZMINIMIZETIME  -fuzzminimizetime: how long to minimize a new input.
#                 Default 1000x, a count: Go's 60s default is a wall-clock
#                 limit that minimizing a large []byte input (quadratic in
#                 its length) usually hits, and then the worker is killed
#                 and the minimization's executions are not counted.
#   FUZZLOGDIR    where the binary and each target's log go. Default bin/fuzz.
#
# e.g. FUZZTIME=10000000x FUZZPARALLEL=2 nice -n 19 hack/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
pkg=./internal/pki
fuzztime=${FUZZTIME:-30s}
logdir=$(mkdir -p "${FUZZLOGDIR:-bin/fuzz}" && cd "${FUZZLOGDIR:-bin/fuzz}" && pwd)
bin="$logdir/pki.fuzz.test"

echo "==> building $pkg with fuzzing instrumentation into $bin"
go test -c -fuzz=. -o "$bin" "$pkg" || exit 1
cachedir="$(go env GOCACHE)/fuzz/$(go list "$pkg")"

args=(-test.run='^$' -test.fuzztime="$fuzztime" -test.fuzzcachedir="$cachedir")
[ -n "${FUZZPARALLEL:-}" ] && args+=(-test.parallel="$FUZZPARALLEL")
args+=(-test.fuzzminimizetime="${FUZZMINIMIZETIME:-1000x}")

targets=$(cd "$pkg" && "$bin" -test.list "${FUZZ:-^Fuzz}" | grep '^Fuzz') || {
	echo "fuzz: no target matches ${FUZZ:-^Fuzz} in $pkg" >&2
	exit 1
}

summary=()
failed=0
for t in $targets; do
	log="$logdir/$t.log"
	echo "==> $t: ${args[*]} -test.fuzz=^$t\$ (log: $log)"
	# Wall and CPU seconds (coordinator and workers): the CPU figure says
	# what the run would take on an idle machine.
	TIMEFORMAT='%R %U %S'
	{ time (cd "$pkg" && "$bin" "${args[@]}" -test.fuzz="^$t\$" 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}"); } 2>"$log.time"
	rc=$?
	read -r wall user sys <"$log.time"
	secs=${wall%.*}
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", u + s }')
	# The last progress line holds the executions reached.
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	execs=${execs:-0}
	rate=$((execs / (secs > 0 ? secs : 1)))
	cpurate=$((execs / (cpu > 0 ? cpu : 1)))
	status=ok
	if [ "$rc" -ne 0 ]; then
		status=FAILED
		failed=1
		grep -h 'Failing input written to' -A2 "$log" | sed 's/^/    /' >&2 || true
	fi
	summary+=("$(printf '%-32s %-6s %11s execs %6s s %8s exec/s %7s CPU s %7s exec/CPU s' "$t" "$status" "$execs" "$secs" "$rate" "$cpu" "$cpurate")")
done

echo
echo "fuzz summary (FUZZTIME=$fuzztime; wall and CPU seconds of each target's run, baseline coverage and minimization included):"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
	echo "fuzz: a target FAILED: its failing input is under $pkg/testdata/fuzz/; fix the bug and commit the input as a regression seed" >&2
	exit 1
fi
