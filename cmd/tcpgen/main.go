// Command tcpgen writes a synthetic, deterministic packet capture of many
// TCP connections, each of a known kind, for benchmarks and for tests.
//
//	tcpgen -o big.pcap -seed 1 -conns 352000 -concurrent 10000 -synflood 1000000
//
// Real captures big enough to measure an analyzer on are hard to come by and
// cannot be shipped; tcpgen makes one of any size in seconds, and the same
// flags and seed always give the same bytes, so a figure measured on it can
// be reproduced anywhere. It also says exactly what it made: a manifest
// (-manifest FILE, JSON) counts the connections of each kind and the
// handshake and close outcomes an analyzer should report for them, which
// the tests compare with tcpfsm's report. Users who want a test capture of
// refused, unanswered or half-open connections get one without a lab.
//
// # Output
//
// A classic pcap file (little-endian, nanosecond timestamps, magic
// 0xa1b23c4d, LINKTYPE_ETHERNET), written by capture.PcapWriter. Packets
// are in non-decreasing timestamp order. Frames shorter than 60 bytes are
// zero-padded to 60, as on the wire. -snaplen keeps at most that many bytes
// of each frame, as tcpdump -s does; the record keeps the wire length.
//
// # Connections
//
// The capture is taken next to the servers: a server's answer follows a
// client's segment by 15–400 µs, a client's answer follows a server's
// segment by the connection's round-trip time (30% 0.3–2 ms, 50% 5–50 ms,
// 20% 50–300 ms). Servers 198.51.100.10–13 and 2001:db8:5::10–13 listen
// on 443 (half the connections), 80, 8080 and 9502; clients are 65,536
// addresses in 10.0.0.0/8 and 8,192 in 2001:db8:c::/64, using ephemeral
// ports 32768–60999 in turn, so no 5-tuple is used twice. Four clients in
// five are Linux-like (SYN options MSS, SACK permitted, timestamps,
// window scale 7; timestamps on every segment, TTL 64 less a few hops);
// the fifth are Windows-like (MSS, window scale 8, SACK permitted, no
// timestamps, TTL 128). Sequence and acknowledgment numbers, IPv4 header
// checksums and TCP checksums are correct. Payloads are filler: on port 443
// one TLS application-data record per segment, elsewhere HTTP/1.1 requests
// and responses whose Content-Length matches the bytes sent.
//
// Each connection is one of these kinds, drawn with the -mix weights
// (default normal 80, rst 5, synack_retransmit 4, half_open 3, refused 4,
// unanswered 4):
//
//   - normal: handshake, 1–4 request/response rounds (a request segment;
//     a response of 1 segment in 60% of the rounds, mostly short, 2 in
//     20%, 3 in 10%, else 4–6, all full-sized but the last; the client
//     acknowledging every second one and the last), then a FIN close started by the client or by the server,
//     with three or four segments, and the final ACK. In -data-retransmit
//     of them (default 3%) the last response segment of one round is lost
//     past the capture point and retransmitted (max(2·RTT, 10 ms) later).
//   - rst: established, 0–2 rounds, then reset (RST/ACK) by the client or
//     by the server.
//   - synack_retransmit: the client's ACK is lost before the capture point
//     and the server resends its SYN/ACK once or twice (1 s, then 2 s
//     later) before the client's ACK gets through; then as normal.
//   - half_open: SYN, SYN/ACK and 1–5 SYN/ACK retransmissions (1, 2, 4, 8,
//     16 s apart), never acknowledged.
//   - refused: SYN answered by RST/ACK (a closed port: 81, 8081 or 9503).
//   - unanswered: SYN and 1–3 retransmissions (1, 2, 4 s apart) to a host
//     that is down (198.51.100.14 or 2001:db8:5::14), never answered.
//
// -ipv6 of the connections (default 10%) are over IPv6.
//
// # Time
//
// -concurrent connections are under way at once: the first ones start
// over a short ramp (30 µs apart on average), and each time one ends
// (its last packet) the next starts 0–1 ms later. A priority queue of the
// open connections, keyed by the time of each one's next packet, merges
// their packets in time order. The capture starts at -start (default
// 2026-01-01T00:00:00Z, fixed so the output is deterministic).
//
// # SYN flood
//
// -synflood M adds M bare SYNs to one listener, 198.51.100.10:80, each from
// a different spoofed source (a random-looking unicast IPv4 address outside
// the clients' and servers' ranges, and a random port), with a random ISN,
// window and TTL, half of them with an MSS option. None is answered, as
// when the listener's SYN queue is full or a scrubber in front of it drops
// them. They are spread over the run in proportion to the connection
// starts; with -conns 0, 100,000 a second.
//
// # Manifest
//
// On exit, one line on standard error counts the packets, the connections
// of each kind, the IPv6 ones and the flood SYNs. -manifest FILE writes the
// same as JSON, with the outcomes an analyzer should report: handshakes
// (complete, refused, unanswered, synack_unanswered, the flood SYNs
// counting as unanswered) and closes (fin, rst_client, rst_server, none).
//
// Speed: a few million packets a second, with no allocation per packet:
// each connection's packets are scripted into a reused slice when it
// starts, and each frame is built in one reused buffer.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
