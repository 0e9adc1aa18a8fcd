#!/usr/bin/env bash
# Regenerates cmd/tcpfsm/default.pgo, the CPU profile that go build
# optimizes tcpfsm with (profile-guided optimization: inlining and
# devirtualization where the profile shows the time goes; go build and
# go install use a main package's default.pgo on their own).
#
# The profile is of tcpgen captures of other seeds than bench/run.sh's,
# analysed the ways users run tcpfsm: JSON and text, one job and the
# default, and a SYN flood. Regenerate it when the packet path changes
# much; a stale profile costs only the gain, never correctness.
#
# Usage: bench/pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -pgo=off -o "$work/tcpfsm" ./cmd/tcpfsm
go build -pgo=off -o "$work/tcpgen" ./cmd/tcpgen
"$work/tcpgen" -q -o "$work/train.pcap" -seed 7 -conns 150000 -concurrent 10000
"$work/tcpgen" -q -o "$work/flood.pcap" -seed 8 -conns 20000 -concurrent 5000 -synflood 400000
"$work/tcpgen" -q -o "$work/snap.pcap" -seed 9 -conns 50000 -concurrent 20000 -snaplen 96

profiles=()
analyse() {
	local name=$1
	shift
	"$work/tcpfsm" "$@" --cpuprofile "$work/$name.prof" >/dev/null
	profiles+=("$work/$name.prof")
}
analyse json-1 -r "$work/train.pcap" --format json -j 1
analyse json -r "$work/train.pcap" --format json
analyse text -r "$work/train.pcap"
analyse flood -r "$work/flood.pcap" --format json
analyse snap -r "$work/snap.pcap" --format json -j 1
go tool pprof -proto "${profiles[@]}" >cmd/tcpfsm/default.pgo 2>/dev/null
echo "bench/pgo.sh: wrote cmd/tcpfsm/default.pgo ($(stat -c %s cmd/tcpfsm/default.pgo) bytes) from ${#profiles[@]} profiles" >&2
