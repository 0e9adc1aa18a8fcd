#!/usr/bin/env bash
# Measures tcpfsm against the tools a user would pick instead, on captures
# made by tcpgen, and prints a Markdown report (also saved to
# bench/out/results.md). See bench/RESULTS.md for the latest figures.
#
#   bash bench/run.sh                      # the full run: about 10 minutes
#   CONNS=20000 FLOOD=100000 RUNS=1 TCPDUMP_PACKETS=20000 bash bench/run.sh   # a quick try
#
# Settings (environment):
#   CONNS=352000        connections in big.pcap (~16 packets each)
#   CONCURRENT=10000    connections under way at once (both captures)
#   FLOOD=1000000       spoofed SYNs in flood.pcap
#   FLOOD_CONNS=100000  connections in flood.pcap (default: CONNS if fewer)
#   RUNS=3              timed runs per command; the median is reported
#   TCPDUMP_PACKETS=1000000  tcpdump reads only this many first packets of
#                       big.pcap (cut with editcap): it is slow, 10 s to a
#                       minute per million packets, more with more addresses
#   FLOOD_TSHARK=1      also time tshark's analysis on flood.pcap (0: skip)
#   OUT=bench/out       where the binaries and captures go
#
# Each command is timed as a whole process with GNU time (wall seconds,
# peak RSS, user+system CPU), after the captures were read once with cat
# so that they are in the page cache. Output goes to /dev/null. tcpfsm is
# timed with its defaults (-j: all CPUs), and when it has -j, with -j 1
# too (text and JSON on big.pcap), and -j 1 pinned to one CPU with taskset.
set -euo pipefail

die() {
	echo "bench/run.sh: $*" >&2
	exit 1
}

cd "$(dirname "$0")/.."
ROOT=$PWD
whole() { [[ ${!1} =~ ^[0-9]+$ ]] || die "$1=${!1}: want a whole number"; }
CONNS=${CONNS:-352000} && whole CONNS
CONCURRENT=${CONCURRENT:-10000} && whole CONCURRENT
FLOOD=${FLOOD:-1000000} && whole FLOOD
FLOOD_CONNS=${FLOOD_CONNS:-$((CONNS < 100000 ? CONNS : 100000))} && whole FLOOD_CONNS
RUNS=${RUNS:-3} && whole RUNS
TCPDUMP_PACKETS=${TCPDUMP_PACKETS:-1000000} && whole TCPDUMP_PACKETS
FLOOD_TSHARK=${FLOOD_TSHARK:-1}
OUT=${OUT:-$ROOT/bench/out}
((RUNS >= 1)) || die "RUNS must be at least 1"
((CONNS >= 1)) || die "CONNS must be at least 1"
((TCPDUMP_PACKETS >= 1)) || die "TCPDUMP_PACKETS must be at least 1"

# The tools, each with the Debian package that has it.
need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: apt-get install -y $2"
}
need go golang
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is not installed: apt-get install -y time"
/usr/bin/time --version 2>&1 | grep -q GNU || die "/usr/bin/time is not GNU time (no -f): apt-get install -y time"
need tshark tshark
need editcap wireshark-common
need tcpdump tcpdump
need awk gawk

mkdir -p "$OUT"
cd "$OUT"
: >stderr.log

echo "building tcpfsm, tcpgen, limitref into $OUT" >&2
# What is measured: the commit, and the files that differ from it.
BUILT_FROM=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | paste -sd' ' - || true)
BUILT_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
(cd "$ROOT" && go build -o "$OUT/tcpfsm" ./cmd/tcpfsm && go build -o "$OUT/tcpgen" ./cmd/tcpgen && go build -o "$OUT/limitref" ./bench/limitref) ||
	die "go build failed"
# tcpfsm -j N follows connections on N cores (default: all); -j 1 is one.
# The help is read whole before it is searched: grep -q would stop at the
# first match and leave tcpfsm to die of SIGPIPE on the rest, which
# pipefail takes for no match, and the -j 1 rows would go unmeasured.
JOBS=()
HELP=$(./tcpfsm --help 2>&1 || true)
if [[ $HELP == *--jobs* ]]; then
	JOBS=(-j 1)
fi

BIG_CMD="tcpgen -o big.pcap -seed 1 -conns $CONNS -concurrent $CONCURRENT -manifest big.json"
FLOOD_CMD="tcpgen -o flood.pcap -seed 2 -conns $FLOOD_CONNS -concurrent $CONCURRENT -synflood $FLOOD -manifest flood.json"
CUT=big-first.pcap
echo "generating: $BIG_CMD" >&2
./$BIG_CMD 2>gen-big.txt || die "tcpgen failed: $(cat gen-big.txt)"
echo "generating: $FLOOD_CMD" >&2
./$FLOOD_CMD 2>gen-flood.txt || die "tcpgen failed: $(cat gen-flood.txt)"
editcap -F nsecpcap -r big.pcap "$CUT" "1-$TCPDUMP_PACKETS" 2>>stderr.log || die "editcap failed (see $OUT/stderr.log)"
gzip -1 -c "$CUT" >"$CUT.gz" || die "gzip failed"

# Each capture is read once before its section, so that it is in the page
# cache when timed (some virtual machines keep less page cache than the
# three captures take together: warming them all up front would time
# reads from disk).
warm() {
	echo "warming the page cache: $1" >&2
	cat "$1" >/dev/null
}

packets() { ./limitref -mode read "$1" | awk '{print $2}'; }
P_BIG=$(packets big.pcap)
P_FLOOD=$(packets flood.pcap)
P_CUT=$(packets "$CUT")

# Rows: section|tool|command|packets|wall|rss KiB|cpu s
ROWS=()

# median prints the median over the timed runs in times.txt of the awk
# expression over its columns (wall s, peak RSS KiB, user s, system s).
median() {
	awk "{print $1}" times.txt | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}

# measure SECTION TOOL PACKETS COMMAND...: a row, timed by the next
# run_rows.
PENDING=() # section|tool|packets|command as shown|command as run
measure() {
	local section=$1 tool=$2 packets=$3
	shift 3
	local shown=("${@#./}")
	PENDING+=("$section|$tool|$packets|${shown[*]}|$(printf '%q ' "$@")")
}

# run_rows times the rows measure has named since the last call: RUNS
# rounds of one run of each, in turn, so that a spell of load on the
# machine slows one run of several commands rather than every run of one;
# the medians are kept.
run_rows() {
	local i j n=${#PENDING[@]} section tool packets shown cmd wall rss cpu
	for ((j = 0; j < n; j++)); do : >"times-$j.txt"; done
	for ((i = 1; i <= RUNS; i++)); do
		for ((j = 0; j < n; j++)); do
			IFS='|' read -r section tool packets shown cmd <<<"${PENDING[j]}"
			echo "timing (run $i of $RUNS): $shown" >&2
			eval "/usr/bin/time -f '%e %M %U %S' -o time.txt $cmd" >/dev/null 2>>stderr.log ||
				die "failed: $shown (see $OUT/stderr.log)"
			tail -n 1 time.txt >>"times-$j.txt"
		done
	done
	for ((j = 0; j < n; j++)); do
		IFS='|' read -r section tool packets shown cmd <<<"${PENDING[j]}"
		cp "times-$j.txt" times.txt
		wall=$(median '$1')
		rss=$(median '$2')
		cpu=$(median '$3+$4')
		ROWS+=("$section|$tool|$shown|$packets|$wall|$rss|$cpu")
	done
	PENDING=()
}

# big.pcap
warm big.pcap
measure big cat "$P_BIG" cat big.pcap
measure big limitref "$P_BIG" ./limitref big.pcap
measure big "tcpfsm text" "$P_BIG" ./tcpfsm -r big.pcap --format text
measure big "tcpfsm json" "$P_BIG" ./tcpfsm -r big.pcap --format json
if ((${#JOBS[@]})); then
	measure big "tcpfsm text, 1 job" "$P_BIG" ./tcpfsm -r big.pcap --format text "${JOBS[@]}"
	measure big "tcpfsm json, 1 job" "$P_BIG" ./tcpfsm -r big.pcap --format json "${JOBS[@]}"
fi
if command -v taskset >/dev/null; then
	measure big "tcpfsm json, 1 job on 1 CPU" "$P_BIG" taskset -c 0 ./tcpfsm -r big.pcap --format json "${JOBS[@]}"
fi
measure big "tshark conv" "$P_BIG" tshark -n -r big.pcap -q -z conv,tcp
measure big "tshark analysis" "$P_BIG" tshark -n -r big.pcap -q -Y tcp.analysis.flags
run_rows

# The first packets of big.pcap, for tcpdump
warm "$CUT"
warm "$CUT.gz"
measure cut limitref "$P_CUT" ./limitref "$CUT"
measure cut "tcpfsm json" "$P_CUT" ./tcpfsm -r "$CUT" --format json
measure cut tcpdump "$P_CUT" tcpdump -n -r "$CUT"
measure cut "zcat" "$P_CUT" zcat "$CUT.gz"
measure cut "tcpfsm json, gzip" "$P_CUT" ./tcpfsm -r "$CUT.gz" --format json
run_rows

# flood.pcap
warm flood.pcap
measure flood cat "$P_FLOOD" cat flood.pcap
measure flood limitref "$P_FLOOD" ./limitref flood.pcap
measure flood "tcpfsm text" "$P_FLOOD" ./tcpfsm -r flood.pcap --format text
measure flood "tcpfsm json" "$P_FLOOD" ./tcpfsm -r flood.pcap --format json
if ((${#JOBS[@]})); then
	measure flood "tcpfsm json, 1 job" "$P_FLOOD" ./tcpfsm -r flood.pcap --format json "${JOBS[@]}"
fi
if command -v taskset >/dev/null; then
	measure flood "tcpfsm json, 1 job on 1 CPU" "$P_FLOOD" taskset -c 0 ./tcpfsm -r flood.pcap --format json "${JOBS[@]}"
fi
if [ "$FLOOD_TSHARK" = 1 ]; then
	measure flood "tshark analysis" "$P_FLOOD" tshark -n -r flood.pcap -q -Y tcp.analysis.flags
fi
run_rows

# The default's output, on every CPU, must be byte for byte that of one
# job. Shards evict each their own least recently active connection, so
# the flood is compared with a limit it does not reach.
if ((${#JOBS[@]})); then
	for args in "big.pcap" "flood.pcap --max-conns 4000000"; do
		echo "comparing: tcpfsm -r $args --format json, default and ${JOBS[*]}" >&2
		# shellcheck disable=SC2086 # args is words
		[ "$(./tcpfsm -r $args --format json | sha256sum)" = "$(./tcpfsm -r $args --format json "${JOBS[@]}" | sha256sum)" ] ||
			die "tcpfsm -r $args --format json differs with ${JOBS[*]}"
	done
fi

# tcpfsm's own summary of each capture, against what tcpgen made.
./tcpfsm -r big.pcap --format json | tail -n 1 >big-summary.json
./tcpfsm -r flood.pcap --format json | tail -n 1 >flood-summary.json
# The first occurrence of a key is the summary's own (listeners and
# diagnoses, later in the line, have keys of the same names).
field() { grep -o "\"$1\":[0-9]*" "$2" | head -n 1 | cut -d: -f2; }
object() { tr -d ' \n' <"$2" | grep -o "\"$1\":{[^}]*}" | head -n 1 | cut -d: -f2-; }
# counts is an object's pairs in a canonical order, to compare.
counts() { object "$1" "$2" | tr -d '{}"' | tr , '\n' | sort | paste -sd, -; }

fmt_int() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }

report() {
	local nproc cpu mem kernel os
	nproc=$(nproc)
	cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	cpu+=$(awk -F: '/^cpu MHz/ {printf " @ %.0f MHz", $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
	kernel=$(uname -r)
	os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || echo unknown)
	echo "## Machine"
	echo
	echo "- $nproc CPUs: $cpu; $mem memory; $os, kernel $kernel"
	echo "- $(go version | sed 's/^go version //'); gopacket $(grep -m1 google/gopacket "$ROOT/go.mod" | awk '{print $2}')"
	echo "- $(tshark -v 2>/dev/null | head -n 1 | sed 's/\.$//'); $(tcpdump --version 2>&1 | head -n 1), $(tcpdump --version 2>&1 | sed -n 2p | cut -d' ' -f1-3)"
	echo "- tcpfsm built $BUILT_AT from commit $BUILT_FROM${DIRTY:+, with uncommitted changes to $DIRTY}"
	if ((${#JOBS[@]})); then
		echo '- tcpfsm rows use its defaults, so `-j '"$nproc"'` (connections followed on every CPU), unless the row says `-j 1`'
	fi
	echo
	echo "## Captures"
	echo
	echo "| file | packets | bytes | made by | generation |"
	echo "| --- | ---: | ---: | --- | --- |"
	echo "| big.pcap | $(fmt_int "$P_BIG") | $(fmt_int "$(stat -c %s big.pcap)") | \`$BIG_CMD\` | $(sed -n 's/.*; \([0-9.]*s, [0-9.]* M packets\/s\)/\1/p' gen-big.txt) |"
	echo "| flood.pcap | $(fmt_int "$P_FLOOD") | $(fmt_int "$(stat -c %s flood.pcap)") | \`$FLOOD_CMD\` | $(sed -n 's/.*; \([0-9.]*s, [0-9.]* M packets\/s\)/\1/p' gen-flood.txt) |"
	echo "| $CUT | $(fmt_int "$P_CUT") | $(fmt_int "$(stat -c %s "$CUT")") | \`editcap -F nsecpcap -r big.pcap $CUT 1-$TCPDUMP_PACKETS\` | |"
	echo "| $CUT.gz | $(fmt_int "$P_CUT") | $(fmt_int "$(stat -c %s "$CUT.gz")") | \`gzip -1 -c $CUT\` | |"
	echo
	echo "tcpgen's summaries:"
	echo
	echo '```'
	cat gen-big.txt gen-flood.txt
	echo '```'
	local section title
	for section in big cut flood; do
		case $section in
		big) title="big.pcap ($(fmt_int "$P_BIG") packets, $(fmt_int "$CONNS") connections)" ;;
		cut) title="$CUT: the first $(fmt_int "$P_CUT") packets of big.pcap, for tcpdump, and gzip-compressed" ;;
		flood) title="flood.pcap ($(fmt_int "$P_FLOOD") packets: $(fmt_int "$FLOOD") spoofed SYNs + $(fmt_int "$FLOOD_CONNS") connections)" ;;
		esac
		echo
		echo "## $title"
		echo
		echo "| tool | command | packets | median wall s | packets/s | peak RSS MiB | CPU s | × limitref time | tcpfsm-json speed ÷ tool speed |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		printf '%s\n' "${ROWS[@]}" | awk -F'|' -v s="$section" '
			$1 == s { n++; tool[n]=$2; cmd[n]=$3; pk[n]=$4; wall[n]=$5; rss[n]=$6; cpu[n]=$7
				if ($2 == "limitref") ref = $5
				if ($2 == "tcpfsm json") json = $4 / ($5 > 0 ? $5 : 0.001) }
			function rate(x) { return x >= 1e6 ? sprintf("%.2f M", x/1e6) : sprintf("%.1f k", x/1e3) }
			END {
				for (i = 1; i <= n; i++) {
					w = wall[i] > 0 ? wall[i] : 0.001; pps = pk[i] / w
					xr = ref > 0 ? sprintf("%.2f", w / ref) : "—"
					sp = json > 0 && tool[i] != "tcpfsm json" ? sprintf("%.2f", json / pps) : (tool[i] == "tcpfsm json" ? "1" : "—")
					printf "| %s | `%s` | %d | %.2f | %s | %.0f | %.2f | %s | %s |\n", tool[i], cmd[i], pk[i], wall[i], rate(pps), rss[i]/1024, cpu[i], xr, sp
				}
			}'
	done
	echo
	echo "## tcpfsm's summaries"
	echo
	echo "| capture | connections | evicted | handshakes | closes | as tcpgen's manifest says |"
	echo "| --- | ---: | ---: | --- | --- | --- |"
	local f same
	for f in big flood; do
		same=no
		if [ "$(counts handshakes "$f-summary.json")" = "$(counts handshakes "$f.json")" ] &&
			[ "$(counts closes "$f-summary.json")" = "$(counts closes "$f.json")" ]; then
			same=yes
		fi
		echo "| $f.pcap | $(field connections "$f-summary.json") | $(field evicted "$f-summary.json") | \`$(object handshakes "$f-summary.json")\` | \`$(object closes "$f-summary.json")\` | $same |"
	done
	echo
	echo "Runs per command: $RUNS (median). Reproduce: \`$(env_line)bash bench/run.sh\`."
}

env_line() {
	local s="" v
	for v in CONNS CONCURRENT FLOOD FLOOD_CONNS RUNS TCPDUMP_PACKETS FLOOD_TSHARK; do
		[ -n "${!v+x}" ] && s+="$v=${!v} "
	done
	echo "$s"
}

report | tee results.md
