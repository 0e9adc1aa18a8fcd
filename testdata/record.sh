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
# Some diag-* scenarios give veth-c more client addresses, 10.0.1.1 and up
# (10.0.1.0/24), and tcpfsm-s a route to them via 10.0.0.1.
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

# sig FILE: one token per TCP packet, SIDE:FLAGS as tcpdump prints them, e.g.
# "C:S S:S. C:. C:P. S:. S:P. C:. C:F. S:F. C:." (S = 10.0.0.2 / fd00::2,
# or 10.0.2.2 on the VXLAN overlay; C = any other source: 10.0.0.1,
# fd00::1, or a diag-* extra client address). Lines without TCP flags (a
# tunnel's outer header, which tcpdump prints on a line of its own, and
# the fragments of a datagram after its first) are not packets of their
# own; tcpdump calls the inner packet of a first fragment truncated.
sig() {
	tcpdump -nr "$1" 2>/dev/null | awk '/Flags \[/ {
		side = ($0 ~ /(^| )IP6? (truncated-ip - [0-9]+ bytes missing! )?(10\.0\.0\.2|10\.0\.2\.2|fd00::2)\.[0-9]+ >/) ? "S" : "C"
		match($0, /Flags \[[^]]*\]/)
		printf "%s%s:%s", (k++ > 0 ? " " : ""), side, substr($0, RSTART + 7, RLENGTH - 8)
	} END { print "" }'
}

# count FILE FILTER: packets matching a Wireshark display filter.
count() {
	local out
	out=$(tshark -o tcp.calculate_timestamps:TRUE -r "$1" -Y "$2" 2>/dev/null) || return 1
	if [ -z "$out" ]; then echo 0; else wc -l <<<"$out"; fi
}

# verify NAME FILE [COUNTERS]: does the capture show what its name says?
# COUNTERS, when recording, is the recorder's file of the kernels' TCP
# counters at the end of the scenario ("client|server NAME VALUE" lines):
# what the kernels say they did. --check has only the capture. Prints a
# failed check and returns 1.
verify() {
	local name=$1 f=$2 counters=${3:-} s fail=""
	s=$(sig "$f")
	failed() { fail="${fail:+$fail; }$*"; }
	kernel() { # kernel SIDE COUNTER OP NUMBER (skipped without COUNTERS)
		[ -n "$counters" ] || return 0
		local v
		v=$(awk -v side="$1" -v name="$2" '$1 == side && $2 == name { print $3 }' "$counters")
		[ "${v:-0}" "$3" "$4" ] || failed "$1 $2 = ${v:-0}, want $3 $4"
	}
	has() { [[ $s =~ $1 ]] || failed "signature lacks /$1/"; }
	hasnt() { [[ ! $s =~ $1 ]] || failed "signature has /$1/"; }
	n() { # n FILTER OP NUMBER
		local c
		if ! c=$(count "$f" "$1"); then
			failed "tshark failed on filter $1"
		elif ! [ "$c" "$2" "$3" ]; then
			failed "count($1) = $c, want $2 $3"
		fi
	}
	# Every handshake answer within 20 ms of the SYN it answers (the packet
	# before it in its connection): the 5 ms + 5 ms delay held up (a loaded
	# machine can stretch it; then the capture is recorded again).
	n '(tcp.srcport==8080 || tcp.srcport==8081) && tcp.flags.syn==1 && tcp.flags.ack==1 && !tcp.analysis.retransmission && tcp.time_delta > 0.02' -eq 0
	n 'tcp.flags==0x010 && tcp.seq==1 && tcp.ack==1 && tcp.analysis.ack_rtt > 0.02' -eq 0
	case $name in
	normal-client-close | ipv6-normal | normal-sll2 | normal-pcapng | vxlan-normal)
		if [ "$name" = vxlan-normal ]; then
			n 'tcp && !vxlan' -eq 0
			n 'vxlan.vni==42 && ip.src==10.0.2.1' -ge 5
		fi
		has '^C:S S:S\. C:\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		hasnt ':R'
		n 'tcp.flags.fin==1' -eq 2
		n 'tcp.analysis.retransmission' -eq 0
		;;
	vxlan-fragmented)
		# Each 1400-byte segment's datagram leaves its kernel in two IPv4
		# fragments (a first of 1500 bytes with MF, the 2 bytes left in a
		# second), which tshark reassembles; the receiving kernel
		# reassembled them and took every byte, nothing retransmitted.
		n 'tcp && !vxlan' -eq 0
		has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		hasnt ':R'
		n 'ip.flags.mf==1 && ip.frag_offset==0 && ip.len==1500 && ip.src==10.0.0.1' -eq 1
		n 'ip.flags.mf==1 && ip.frag_offset==0 && ip.len==1500 && ip.src==10.0.0.2' -eq 1
		n 'ip.flags.mf==0 && ip.frag_offset>0 && udp' -eq 2
		n 'ip.flags.mf==1' -eq 2
		n 'tcp.len==1400 && vxlan && ip.src==10.0.0.1' -eq 1
		n 'tcp.len==1400 && vxlan && ip.src==10.0.0.2' -eq 1
		n 'tcp.analysis.retransmission || tcp.analysis.lost_segment' -eq 0
		kernel client IpFragCreates -eq 2
		kernel server IpFragCreates -eq 2
		kernel client IpReasmOKs -eq 1
		kernel server IpReasmOKs -eq 1
		kernel client TcpRetransSegs -eq 0
		kernel server TcpRetransSegs -eq 0
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
	accept-overflow-noabort | app-accept-overflow-noabort)
		n 'tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 4
		n 'tcp.flags==0x012 && tcp.analysis.retransmission' -ge 2
		n 'tcp.flags==0x002 && tcp.analysis.retransmission' -ge 2
		hasnt ':R'
		;;
	accept-overflow-syndrop)
		n 'tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 3
		n 'tcp.flags==0x012' -eq 2
		n 'tcp.flags==0x002 && tcp.analysis.retransmission' -ge 2
		hasnt ':R'
		;;
	accept-overflow-abort | app-accept-overflow-abort)
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
	rst-in-window | rst-out-of-window | syn-established)
		# One injected segment from the client's address, then a second
		# exchange and an ordinary close: the server did not take it.
		n 'tcp.flags.reset==1' -eq "$([ "$name" = syn-established ] && echo 0 || echo 1)"
		n 'tcp.flags==0x002' -eq "$([ "$name" = syn-established ] && echo 2 || echo 1)"
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		# Wireshark takes the injected segment's sequence number as the
		# client's and calls what follows retransmissions: the kernels,
		# which sent none, have the last word.
		kernel client TcpRetransSegs -eq 0
		kernel server TcpRetransSegs -eq 0
		kernel server TcpEstabResets -eq 0
		kernel client TcpEstabResets -eq 0
		case $name in
		rst-in-window)
			has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:R S:\. C:P\. '
			kernel server TcpExtTCPChallengeACK -eq 1
			;;
		rst-out-of-window)
			has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:R C:P\. '
			kernel server TcpExtTCPChallengeACK -eq 0
			;;
		syn-established)
			has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:S S:\. C:P\. '
			kernel server TcpExtTCPChallengeACK -eq 1
			kernel server TcpExtTCPSYNChallenge -eq 1
			;;
		esac
		;;
	data-beyond-window)
		# 100 bytes injected from the client's address 2^24 past the
		# server's RCV.NXT: the server answers with an ACK and drops them
		# (TcpExtBeyondWindow; nothing queued out of order), and a second
		# exchange and an ordinary close follow, nothing retransmitted.
		has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:P\. S:\. C:P\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		hasnt ':R'
		n 'tcp.len==100 && ip.src==10.0.0.1' -eq 1
		kernel server TcpExtBeyondWindow -eq 1
		kernel server TcpExtTCPOFOQueue -eq 0
		kernel client TcpRetransSegs -eq 0
		kernel server TcpRetransSegs -eq 0
		kernel server TcpEstabResets -eq 0
		;;
	synsent-stray)
		# The first SYN dropped by the server's firewall; a bare RST
		# (dropped) and a stray ACK (answered with a RST at its ack
		# number) reach the client in SYN_SENT; Linux answers the ACK's
		# RST with an immediate SYN retry (tcp_rcv_synsent_state_process
		# rearms the timer at TCP_TIMEOUT_MIN), still dropped, and a
		# later retry completes.
		has '^C:S S:R S:\. C:R C:S (C:S )+S:S\. C:\. C:P\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		n 'tcp.flags==0x004 && ip.src==10.0.0.1 && tcp.seq_raw==424242' -eq 1
		kernel client TcpOutRsts -eq 1
		kernel client TcpAttemptFails -eq 0
		kernel client TcpEstabResets -eq 0
		kernel client TcpActiveOpens -eq 1
		;;
	rst-exact)
		# The injected RST resets the server; the client's next request
		# meets no socket and is answered with a RST.
		has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:R C:P\. S:R$'
		kernel server TcpEstabResets -eq 1
		kernel client TcpEstabResets -eq 1
		kernel server TcpExtTCPChallengeACK -eq 0
		;;
	app-connect-timeout | app-retransmit-timeout | app-keepalive-timeout | app-write-epipe | app-resets)
		case $name in
		app-resets)
			# A refused SYN, a server RST with the request unread, a
			# client RST (SO_LINGER 0) after the exchange.
			has '^C:S S:R\. C:S S:S\. C:\. C:P\. S:\. S:R\. C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. C:R\.$'
			hasnt ':F'
			;;
		*)
			# A call ending in an error, then a second connection that
			# completes and closes normally after the kernel gave up.
			n 'tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 2
			has ' C:F\. (S:\. )?S:F\. C:\.$'
			;;
		esac
		case $name in
		app-connect-timeout)
			has '^C:S C:S C:S C:S S:S\. '
			n 'tcp.flags.reset==1' -eq 0
			# The second SYN after the first one's give-up (≈ 7 s).
			n 'tcp.flags==0x002 && !tcp.analysis.retransmission && frame.time_relative > 7' -eq 1
			;;
		app-retransmit-timeout)
			n 'tcp.analysis.retransmission && ip.src==10.0.0.1 && tcp.len > 0' -ge 4
			n 'tcp.flags.reset==1' -eq 0
			n 'tcp.flags==0x002 && frame.time_relative > 7' -eq 1
			kernel client TcpExtTCPAbortOnTimeout -eq 1
			;;
		app-keepalive-timeout)
			n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -eq 2
			n 'tcp.analysis.keep_alive_ack' -eq 0
			n 'tcp.flags.reset==1 && ip.src==10.0.0.1' -eq 1
			n 'tcp.flags.reset==1 && ip.src==10.0.0.2' -eq 0
			kernel client TcpExtTCPAbortOnTimeout -eq 1
			;;
		app-write-epipe)
			has '^C:S S:S\. C:\. C:P\. S:\. S:P\. C:\. S:F\. (C:\. )?C:P\. S:R C:S '
			;;
		esac
		;;
	app-icmp-unreachable | app-icmp-unreachable-ipv6)
		# Every SYN answered by an ICMP error from 10.0.0.2 / fd00::2, each
		# connect() a SYN of its own. Linux ends a connect() in SYN_SENT on
		# the error unless the socket is locked by the connect() call
		# itself at that instant (the error then is a soft one, and the
		# SYN is sent again a second later), which happens to the IPv6
		# errors, answered within microseconds on the same CPU. (tshark
		# decodes the TCP header an error quotes as TCP too: the segments
		# are the frames that are not ICMP.)
		n '!icmp && !icmpv6 && tcp.flags.syn==0' -eq 0
		syns=$(count "$f" '!icmp && !icmpv6 && tcp.flags==0x002') || failed "tshark failed"
		errs=$(count "$f" '(icmp.type==3 && ip.src==10.0.0.2) || (icmpv6.type==1 && ipv6.src==fd00::2)') || failed "tshark failed"
		[ "${syns:-0}" = "${errs:-1}" ] || failed "$syns SYNs, $errs ICMP errors: want each SYN answered"
		if [ "$name" = app-icmp-unreachable ]; then
			n '!icmp && tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 4
			n 'icmp.type==3 && icmp.code==0' -ge 1
			n 'icmp.type==3 && icmp.code==1' -ge 1
			n 'icmp.type==3 && icmp.code==13' -ge 1
			n 'icmp.type==3 && icmp.code==3' -ge 1
		else
			n '!icmpv6 && tcp.flags==0x002 && !tcp.analysis.retransmission' -eq 5
			n 'icmpv6.type==1 && icmpv6.code==0' -ge 2
			n 'icmpv6.type==1 && icmpv6.code==1' -ge 1
			n 'icmpv6.type==1 && icmpv6.code==3' -ge 1
			n 'icmpv6.type==1 && icmpv6.code==4' -ge 1
		fi
		;;
	synack-icmp-dropped)
		# Two connect()s of three SYNs each (tcp_syn_retries=2), every
		# SYN/ACK answered by an ICMP error from the client quoting it.
		# Host unreachable (the first): the server dropped each half-open
		# connection, so each of its three SYN/ACKs has an ISN of its own
		# and the kernel counted three ListenDrops. Administratively
		# prohibited (the second): ignored, one ISN, SYN/ACKs resent. Then
		# one ordinary connection.
		n '!icmp && tcp.flags==0x002' -eq 7
		n 'icmp.type==3 && icmp.code==1 && ip.src==10.0.0.1' -eq 3
		n 'icmp.type==3 && icmp.code==13 && ip.src==10.0.0.1' -ge 3
		n '!icmp && tcp.flags==0x012' -ge 7
		has ' C:S S:S\. C:\. C:P\. '
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		isns=$(tshark -r "$f" -Y '!icmp && tcp.flags==0x012' -T fields -e tcp.dstport -e tcp.seq_raw 2>/dev/null | sort -u | awk '{ n[$1]++ } END { for (p in n) print n[p] }' | sort -n | tr '\n' ' ')
		[ "$isns" = "1 1 3 " ] || failed "distinct SYN/ACK ISNs per connection: $isns, want 1, 1 and 3"
		kernel server TcpExtListenDrops -eq 3
		;;
	diag-syn-flood-cookies)
		# 200 flood SYNs (10.0.1.0/24), each answered once, never ACKed.
		n 'tcp.flags==0x002 && ip.src==10.0.1.0/24' -eq 200
		n 'tcp.flags==0x002 && ip.src==10.0.1.0/24 && tcp.options.timestamp.tsval' -eq 0
		n 'tcp.flags==0x012 && ip.dst==10.0.1.0/24 && !tcp.analysis.retransmission' -eq 200
		n 'ip.src==10.0.1.0/24 && tcp.flags.syn==0' -eq 0
		# A few SYN/ACKs with all options (MSS, SACK-permitted, window
		# scale: a 32-byte header), each retransmitted twice, then only
		# cookies: MSS alone (24-byte header), never retransmitted.
		full=$(count "$f" 'tcp.flags==0x012 && tcp.hdr_len==32 && !tcp.analysis.retransmission') || failed "tshark failed"
		[ "${full:-0}" -ge 1 ] && [ "${full:-0}" -le 16 ] || failed "$full SYN/ACKs with full options, want 1 to 16"
		n 'tcp.flags==0x012 && tcp.hdr_len==32 && tcp.analysis.retransmission' -eq $((2 * ${full:-0}))
		n 'tcp.flags==0x012 && tcp.hdr_len==24 && !tcp.analysis.retransmission' -eq $((201 - ${full:-0}))
		n 'tcp.flags==0x012 && tcp.hdr_len==24 && tcp.analysis.retransmission' -eq 0
		last_full=$(tshark -r "$f" -Y 'tcp.flags==0x012 && tcp.hdr_len==32' -T fields -e frame.number 2>/dev/null | head -"${full:-0}" | tail -1)
		n "tcp.flags==0x012 && tcp.hdr_len==24 && frame.number < ${last_full:-0}" -eq 0
		# The real client from 10.0.0.1 gets a cookie and completes.
		n 'tcp.flags==0x012 && ip.dst==10.0.0.1 && tcp.hdr_len==24' -eq 1
		n 'tcp.flags.fin==1 && ip.addr==10.0.0.1' -eq 2
		n 'tcp.flags.reset==1' -eq 0
		;;
	diag-syn-flood-nocookies)
		n 'tcp.flags==0x002 && ip.src==10.0.1.0/24' -eq 200
		n 'tcp.flags==0x002 && ip.src==10.0.1.0/24 && tcp.options.timestamp.tsval' -eq 0
		n 'ip.src==10.0.1.0/24 && tcp.flags.syn==0' -eq 0
		# A few SYNs answered (all options, no cookies), each SYN/ACK
		# retransmitted twice with the same ISN; the other SYNs unanswered.
		n 'tcp.flags==0x012 && tcp.hdr_len!=32' -eq 0
		ans=$(count "$f" 'tcp.flags==0x012 && ip.dst==10.0.1.0/24 && !tcp.analysis.retransmission') || failed "tshark failed"
		[ "${ans:-0}" -ge 1 ] && [ "${ans:-0}" -le 16 ] || failed "$ans flood SYNs answered, want 1 to 16"
		n 'tcp.flags==0x012 && ip.dst==10.0.1.0/24 && tcp.analysis.retransmission' -eq $((2 * ${ans:-0}))
		# The real client's SYN is dropped twice, the third gets in.
		n 'tcp.flags==0x002 && ip.src==10.0.0.1 && tcp.analysis.retransmission' -ge 2
		n 'tcp.flags==0x012 && ip.dst==10.0.0.1' -eq 1
		n 'tcp.flags==0x012 && ip.dst==10.0.0.1 && frame.time_relative < 6' -eq 0
		n 'tcp.flags.fin==1 && ip.addr==10.0.0.1' -eq 2
		n 'tcp.flags.reset==1' -eq 0
		;;
	diag-close-wait-leak)
		# 5 clients close within the first second, the server ACKs each FIN
		# but never sends its own; a 6th connection after 8 s closes normally.
		n 'tcp.flags==0x002' -eq 6
		n 'tcp.flags.fin==1 && ip.src==10.0.0.1 && frame.time_relative < 1' -eq 5
		n 'tcp.flags==0x010 && ip.src==10.0.0.2 && tcp.ack==20 && frame.time_relative < 1' -eq 5
		n 'tcp.flags.fin==1 && ip.src==10.0.0.2 && frame.time_relative < 8' -eq 0
		n 'tcp.flags==0x002 && frame.time_relative > 8' -eq 1
		has ' C:F\. (S:\. )?S:F\. C:\.$'
		hasnt ':R'
		;;
	diag-time-wait-pileup)
		n 'tcp.flags==0x002' -eq 200
		n 'tcp.flags==0x002 && tcp.analysis.reused_ports' -eq 100
		n 'tcp.flags==0x002 && !(tcp.srcport >= 41000 && tcp.srcport <= 41099)' -eq 0
		ports=$(tshark -r "$f" -Y 'tcp.flags==0x002' -T fields -e tcp.srcport 2>/dev/null | sort -u | wc -l)
		[ "$ports" = 100 ] || failed "$ports distinct client ports, want 100"
		# The client closes first every time: each server FIN acknowledges
		# the client's FIN (relative ack 20).
		n 'tcp.flags.fin==1' -eq 400
		n 'tcp.flags.fin==1 && ip.src==10.0.0.2 && tcp.ack!=20' -eq 0
		n 'tcp.analysis.retransmission' -eq 0
		hasnt ':R'
		;;
	diag-half-open-peer)
		# One answered keepalive probe, then silence from the server (it
		# vanishes at 1.5 s): more probes and a RST on one connection, data
		# retransmissions on the other.
		n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -ge 4
		n 'tcp.analysis.keep_alive_ack && ip.src==10.0.0.2' -eq 1
		n 'ip.src==10.0.0.2 && frame.time_relative > 1.4' -eq 0
		n 'tcp.analysis.retransmission && ip.src==10.0.0.1 && tcp.len > 0' -ge 4
		n 'tcp.flags.reset==1 && ip.src==10.0.0.1' -eq 1
		hasnt ':F'
		;;
	diag-port-scan)
		n 'tcp.flags==0x002 && tcp.srcport==45000' -eq 100
		ports=$(tshark -r "$f" -Y 'tcp.flags==0x002' -T fields -e tcp.dstport 2>/dev/null | sort -u | wc -l)
		[ "$ports" = 100 ] || failed "$ports distinct ports scanned, want 100"
		n 'tcp.flags==0x014 && ip.src==10.0.0.2' -eq 94
		n 'tcp.flags==0x012 && tcp.srcport in {8022,8080,8088}' -eq 3
		n 'tcp.flags==0x004 && tcp.dstport in {8022,8080,8088}' -eq 3
		n 'tcp.port in {8023,8025,8053}' -eq 3
		n 'tcp.srcport in {8023,8025,8053}' -eq 0
		n 'ip.src==10.0.0.1 && tcp.flags.syn==0 && tcp.flags.reset==0' -eq 0
		;;
	diag-zero-window-stall)
		n 'tcp.analysis.zero_window && ip.src==10.0.0.2' -ge 1
		n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -ge 4
		n 'tcp.analysis.window_update && ip.src==10.0.0.2 && frame.time_relative > 5.5' -ge 1
		n 'tcp.len > 0 && frame.time_relative > 0.1 && frame.time_relative < 5.5' -eq 0
		has ' C:FP?\. .*S:F\. C:\.$'
		hasnt ':R'
		;;
	diag-keepalive-unanswered)
		n 'tcp.analysis.keep_alive && ip.src==10.0.0.1' -eq 6
		n 'tcp.analysis.keep_alive_ack && ip.src==10.0.0.2' -eq 2
		has ' C:R\.$'
		hasnt ':F'
		;;
	diag-busy-normal)
		n 'tcp.flags==0x002' -eq 320
		n 'tcp.flags.fin==1' -eq 640
		n 'tcp.flags.reset==1' -eq 0
		hosts=$(tshark -r "$f" -Y 'tcp.flags==0x002' -T fields -e ip.src 2>/dev/null | sort -u | wc -l)
		[ "$hosts" = 5 ] || failed "$hosts client hosts, want 5"
		# Both close orders: a first FIN acknowledges only the 18-byte
		# request (server first) or the 18-byte response (client first).
		n 'tcp.flags.fin==1 && ip.src==10.0.0.2 && tcp.ack==19' -ge 50
		n 'tcp.flags.fin==1 && ip.src!=10.0.0.2 && tcp.ack==19' -ge 50
		# Nothing Wireshark would flag but, rarely, a duplicate pure ACK
		# (the kernel ACKs a segment twice when it races the reader).
		n 'tcp.analysis.flags && !tcp.analysis.duplicate_ack' -eq 0
		n 'tcp.analysis.duplicate_ack' -le 3
		;;
	esac
	# diag-* captures are short and small.
	case $name in
	diag-*)
		local size dur
		size=$(stat -c %s "$f")
		[ "$size" -le 2000000 ] || failed "$size bytes, want at most 2 MB"
		dur=$(capinfos -T -r -u "$f" | cut -f2)
		awk -v d="$dur" 'BEGIN { exit !(d <= 15) }' || failed "$dur s long, want at most 15 s"
		;;
	esac
	if [ -n "$fail" ]; then
		echo "   check failed for $name: $fail" >&2
		if [ ${#s} -gt 400 ]; then
			echo "   signature: ${s:0:400} …" >&2
		else
			echo "   signature: $s" >&2
		fi
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
		if "${rt[@]}" "$tmp/recorder" run -scenario "$scenario" -out "$tmp/$file" -counters "$tmp/$file.nstat" -errno "$tmp/${file%.*}.errno.json" ${RECORD_DEBUG:+-debug} "$@" &&
			verify "${file%.*}" "$tmp/$file" "$tmp/$file.nstat"; then
			del_ns
			mv -f "$tmp/$file" "$outdir/$file"
			# What each socket call returned, for the test that compares
			# it with tcpfsm's app objects.
			# (NAME.errno.json, not NAME.pcap.…: the tests take every
			# NAME.pcap* but the goldens for a capture.)
			mv -f "$tmp/${file%.*}.errno.json" "$outdir/${file%.*}.errno.json"
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
