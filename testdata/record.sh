#!/usr/bin/env bash
# Record the golden captures in testdata/kernel/ from the real Linux kernel.
#
#   sudo testdata/record.sh               # record every capture
#   sudo testdata/record.sh zero-window   # record only the named ones
#   testdata/record.sh --check [NAME...]  # only check the existing captures
#
# Needs root, iproute2 (ip netns, veth), iptables/ip6tables with the NFQUEUE
# target, tcpdump, Go, and tshark, editcap and capinfos (Debian packages
# tshark and wireshark-common). See testdata/README.md for what each capture
# shows and what its end states are.
#
# Topology, recreated from scratch for every capture:
#
#   netns tcpfsm-c                             netns tcpfsm-s
#   veth-c 02:00:00:00:00:01  <----------->  veth-s 02:00:00:00:00:02
#   10.0.0.1/24  fd00::1/64                    10.0.0.2/24  fd00::2/64
#
# tcpdump runs in tcpfsm-c on veth-c (Ethernet link type). Each namespace
# delays its incoming TCP by 5 ms through NFQUEUE (see recorder/nfqueue.go),
# so each handshake half measured at the capture point takes 5 ms and an
# application round trip 10 ms. The sockets, sysctls and
# iptables rules of each scenario are in recorder/scenarios.go.
#
# Every capture is checked after recording (verify below) and recorded
# again, up to three times, if it does not show what its name says.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
outdir="$here/kernel"
CNS=tcpfsm-c
SNS=tcpfsm-s
# Everything record.sh can produce, in order. The recorder's scenarios come
# first; normal-sll2 and normal-pcapng are variants of normal-client-close.
EXTRA="normal-sll2 normal-pcapng"

die() { echo "record.sh: $*" >&2; exit 1; }

# sig FILE: one token per packet, SIDE:FLAGS as tcpdump prints them, e.g.
# "C:S S:S. C:. C:P. S:. S:P. C:. C:F. S:F. C:." (C = 10.0.0.1 / fd00::1).
sig() {
	tcpdump -nr "$1" 2>/dev/null | awk '{
		side = ($0 ~ / IP6? (10\.0\.0\.1|fd00::1)\.[0-9]+ >/) ? "C" : "S"
		match($0, /Flags \[[^]]*\]/)
		printf "%s%s:%s", (NR > 1 ? " " : ""), side, substr($0, RSTART + 7, RLENGTH - 8)
	} END { print "" }'
}

# count FILE FILTER: packets matching a Wireshark display filter.
count() {
	local out
	out=$(tshark -o tcp.calculate_timestamps:TRUE -r "$1" -Y "$2" 2>/dev/null) || return 1
	if [ -z "$out" ]; then echo 0; else wc -l <<<"$out"; fi
}

# verify NAME FILE: does the capture show what its name says? Prints a
# failed check and returns 1.
verify() {
	local name=$1 f=$2 s fail=""
	s=$(sig "$f")
	has() { [[ $s =~ $1 ]] || fail="signature lacks /$1/"; }
	hasnt() { [[ ! $s =~ $1 ]] || fail="signature has /$1/"; }
	n() { # n FILTER OP NUMBER
		local c
		if ! c=$(count "$f" "$1"); then
			fail="tshark failed on filter $1"
		elif ! [ "$c" "$2" "$3" ]; then
			fail="count($1) = $c, want $2 $3"
		fi
	}
	# Every handshake answer within 20 ms: the 5 ms + 5 ms delay held up
	# (a loaded machine can stretch it; then the capture is recorded again).
	n '(tcp.srcport==8080 || tcp.srcport==8081) && tcp.flags.syn==1 && tcp.flags.ack==1 && !tcp.analysis.retransmission && tcp.time_relative > 0.02' -eq 0
	n 'tcp.flags==0x010 && tcp.seq==1 && tcp.ack==1 && tcp.analysis.ack_rtt > 0.02' -eq 0
	case $name in
	normal-client-close | ipv6-normal | normal-sll2 | normal-pcapng)
		has '^C:S S:S\. C:\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		hasnt ':R'
		n 'tcp.flags.fin==1' -eq 2
		n 'tcp.analysis.retransmission' -eq 0
		;;
	normal-server-close)
		has '^C:S S:S\. C:\. '
		has ' S:F\. (C:\. )?C:F\. S:\.$'
		hasnt ':R'
		n 'tcp.analysis.retransmission' -eq 0
		;;
	connection-refused) has '^C:S S:R\.$' ;;
	close-wait)
		has ' C:F\. S:\.$'
		hasnt 'S:F|:R'
		;;
	accept-overflow-noabort)
		n 'tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 4
		n 'tcp.flags==0x012 && tcp.analysis.retransmission' -ge 2
		n 'tcp.flags==0x002 && tcp.analysis.retransmission' -ge 2
		hasnt ':R'
		;;
	accept-overflow-abort)
		n 'tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 4
		n 'tcp.flags.reset==1 && ip.src==10.0.0.2' -ge 1
		n 'tcp.flags==0x012 && tcp.analysis.retransmission' -eq 0
		n 'tcp.flags==0x002 && tcp.analysis.retransmission' -ge 1
		;;
	keepalive)
		n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -ge 3
		n 'tcp.analysis.keep_alive_ack && ip.src==10.0.0.2' -ge 3
		hasnt ':F|:R'
		;;
	close-unread-rst)
		has ' S:R\.$'
		hasnt ':F'
		;;
	linger0-rst)
		has ' C:R\.$'
		hasnt ':F'
		;;
	simultaneous-open)
		has '^C:S S:S (C:S\. S:S\.|S:S\. C:S\.) '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		;;
	simultaneous-close)
		has ' (C:F\. S:F\.|S:F\. C:F\.) (C:\. S:\.|S:\. C:\.)$'
		;;
	zero-window)
		n 'tcp.analysis.zero_window && ip.src==10.0.0.2' -ge 1
		n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -ge 2
		n 'tcp.analysis.window_update && ip.src==10.0.0.2' -ge 1
		has ' C:FP?\. .*S:F\. C:\.$'
		;;
	half-close)
		has ' C:FP?\. .*S:P\. .*S:F\. C:\.$'
		hasnt ':R'
		;;
	syn-timeout) has '^C:S C:S C:S$' ;;
	port-reuse)
		has '^C:S S:S\. .* C:S S:S\. .* S:F\. C:F\. S:\.$'
		n 'tcp.flags==0x002' -eq 2
		n 'tcp.port != 40000' -eq 0
		;;
	data-retransmit-timeout)
		n 'tcp.analysis.retransmission && ip.src==10.0.0.1' -ge 4
		hasnt ':R|:F'
		;;
	synack-retransmit)
		has '^C:S S:S\. C:\. S:S\. C:\. C:P\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		;;
	esac
	if [ -n "$fail" ]; then
		echo "   check failed for $name: $fail" >&2
		echo "   signature: $s" >&2
		return 1
	fi
}

summary() {
	echo
	echo "captures in $outdir:"
	printf '%-32s %8s %10s  %s\n' FILE PACKETS SECONDS LINKTYPE
	local f packets duration encap
	for f in "$@"; do
		read -r packets duration encap < <(capinfos -T -r -c -u -E "$outdir/$f" | awk -F'\t' '{print $3, $4, $2}')
		printf '%-32s %8s %10s  %s\n' "$f" "$packets" "$duration" "$encap"
	done
}

filename() {
	case $1 in
	normal-pcapng) echo "$1.pcapng" ;;
	*) echo "$1.pcap" ;;
	esac
}

if [ "${1:-}" = --check ]; then
	shift
	for tool in tcpdump tshark capinfos; do
		command -v "$tool" >/dev/null || die "missing $tool"
	done
	names=("$@")
	if [ ${#names[@]} -eq 0 ]; then
		for f in "$outdir"/*.pcap "$outdir"/*.pcapng; do
			[ -e "$f" ] || continue
			b=${f##*/}
			names+=("${b%.*}")
		done
	fi
	files=()
	bad=0
	for name in "${names[@]}"; do
		f=$(filename "$name")
		if verify "$name" "$outdir/$f"; then
			echo "ok   $f"
		else
			echo "FAIL $f"
			bad=1
		fi
		files+=("$f")
	done
	summary "${files[@]}"
	exit $bad
fi

[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"
for tool in ip iptables ip6tables tcpdump go tshark editcap capinfos; do
	command -v "$tool" >/dev/null || die "missing $tool"
done

tmp=$(mktemp -d /tmp/tcpfsm-record.XXXXXX)

del_ns() {
	ip netns del "$CNS" 2>/dev/null || true
	ip netns del "$SNS" 2>/dev/null || true
}

cleanup() {
	del_ns
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_ns() {
	del_ns
	ip netns add "$CNS"
	ip netns add "$SNS"
	ip link add veth-c netns "$CNS" address 02:00:00:00:00:01 type veth \
		peer name veth-s netns "$SNS" address 02:00:00:00:00:02
	ip -n "$CNS" link set lo up
	ip -n "$SNS" link set lo up
	ip -n "$CNS" addr add 10.0.0.1/24 dev veth-c
	ip -n "$SNS" addr add 10.0.0.2/24 dev veth-s
	ip -n "$CNS" addr add fd00::1/64 dev veth-c nodad
	ip -n "$SNS" addr add fd00::2/64 dev veth-s nodad
	ip -n "$CNS" link set veth-c up
	ip -n "$SNS" link set veth-s up
	# Static neighbours: no ARP/ND wait before the first SYN.
	ip -n "$CNS" neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev veth-c nud permanent
	ip -n "$SNS" neigh replace 10.0.0.1 lladdr 02:00:00:00:00:01 dev veth-s nud permanent
	ip -n "$CNS" neigh replace fd00::2 lladdr 02:00:00:00:00:02 dev veth-c nud permanent
	ip -n "$SNS" neigh replace fd00::1 lladdr 02:00:00:00:00:01 dev veth-s nud permanent
}

# record FILE SCENARIO [recorder flags...]: record, verify, and retry up to
# three times (a busy machine can upset the timing).
record() {
	local file=$1 scenario=$2 try
	shift 2
	for try in 1 2 3; do
		echo "== $file (try $try)"
		setup_ns
		if "${rt[@]}" "$tmp/recorder" run -scenario "$scenario" -out "$tmp/$file" ${RECORD_DEBUG:+-debug} "$@" &&
			verify "${file%.*}" "$tmp/$file"; then
			del_ns
			mv -f "$tmp/$file" "$outdir/$file"
			return 0
		fi
		del_ns
	done
	die "$file: did not show the expected behaviour in 3 tries"
}

# Real-time priority for the recorder and the tcpdump it starts: on a busy
# machine an ordinary process can be kept off the CPU for tens of
# milliseconds, which would stretch the 5 ms delays and the scenario's own
# timing. It sleeps nearly all the time, so it takes little CPU from others.
rt=()
if command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null; then
	rt=(chrt -f 10)
fi

echo "building recorder"
(cd "$here/recorder" && go build -buildvcs=false -o "$tmp/recorder" .)
mkdir -p "$outdir"

all=$("$tmp/recorder" list)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=($all $EXTRA)

recorded=()
for name in "${wanted[@]}"; do
	case $name in
	normal-sll2)
		# Same scenario as normal-client-close, captured with "tcpdump -i any"
		# in the Linux cooked v2 link type.
		record normal-sll2.pcap normal-client-close -link LINUX_SLL2
		recorded+=(normal-sll2.pcap)
		;;
	normal-pcapng)
		# tcpdump cannot write pcapng: convert normal-client-close.pcap, so the
		# two files hold exactly the same packets.
		[ -f "$outdir/normal-client-close.pcap" ] || die "normal-pcapng needs normal-client-close.pcap"
		editcap -F pcapng "$outdir/normal-client-close.pcap" "$tmp/normal-pcapng.pcapng"
		verify normal-pcapng "$tmp/normal-pcapng.pcapng" || die "normal-pcapng.pcapng failed its check"
		mv -f "$tmp/normal-pcapng.pcapng" "$outdir/normal-pcapng.pcapng"
		recorded+=(normal-pcapng.pcapng)
		;;
	*)
		grep -qx -- "$name" <<<"$all" || die "unknown capture $name (known: $(echo $all) $EXTRA)"
		record "$name.pcap" "$name"
		recorded+=("$name.pcap")
		;;
	esac
done

summary "${recorded[@]}"
