#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another, for FUZZTIME
# each (default 60s), and prints a line per target: its time, executions
# and new corpus entries, or the failure. A crasher is left where go test
# writes it (PKG/testdata/fuzz/TARGET/...): commit it as a regression case.
#
#   bash bench/fuzz.sh                       # every target, 60 s each
#   FUZZTIME=10m bash bench/fuzz.sh          # longer
#   FUZZTIME=30s bash bench/fuzz.sh FuzzAnalyse FuzzReader   # only these
#
# FUZZMINIMIZE (default 2s) bounds how long each new input is minimised:
# go test's default, 60 s, leaves a slow target such as FuzzAnalyse (the
# whole command per input) minimising most of its time instead of fuzzing.
#
# Exit status: 0 when no target failed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
FUZZMINIMIZE=${FUZZMINIMIZE:-2s}
LOG=${LOG:-bench/out/fuzz}
mkdir -p "$LOG"

# Every Fuzz function, as "package target".
targets() {
	for pkg in $(go list ./...); do
		for t in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
			echo "$pkg $t"
		done
	done
}

want=" $* "
failed=0
while read -r pkg target; do
	if [ $# -gt 0 ] && [[ $want != *" $target "* ]]; then
		continue
	fi
	log="$LOG/$target.log"
	start=$(date +%s)
	if go test "$pkg" -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" >"$log" 2>&1; then
		verdict=ok
	else
		verdict=FAILED
		failed=1
	fi
	last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	printf '%-7s %-14s %-42s %5ss %12s execs %4s new\n' "$verdict" "$target" "${pkg#github.com/tcpfsm/tcpfsm/}" "$(($(date +%s) - start))" "${execs:-?}" "${new:-?}"
	if [ "$verdict" = FAILED ]; then
		grep -E -A8 -- '^--- FAIL|Failing input' "$log" | sed 's/^/        /'
	fi
done < <(targets)
exit $failed
