package capture

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveSum is the one's complement sum of RFC 1071 done the slow, obvious
// way, 16 bits at a time, to check onesSum against.
func naiveSum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// pseudoHeader is the TCP pseudo-header of an IPv4 or IPv6 packet without
// extension headers.
func pseudoHeader(ip []byte, tcpLen int) []byte {
	if ip[0]>>4 == 4 {
		b := append([]byte(nil), ip[12:20]...)
		b = append(b, 0, ipProtocolTCP)
		return binary.BigEndian.AppendUint16(b, uint16(tcpLen))
	}
	b := append([]byte(nil), ip[8:40]...)
	b = binary.BigEndian.AppendUint32(b, uint32(tcpLen))
	return append(b, 0, 0, 0, ipProtocolTCP)
}

// withTCPChecksum fills in the TCP checksum of an IP packet built by
// seg.ipBytes (no options or extension headers), computed by naiveSum.
func withTCPChecksum(ip []byte) []byte {
	hl := 40
	if ip[0]>>4 == 4 {
		hl = int(ip[0]&0xf) * 4
	}
	tcp := ip[hl:]
	binary.BigEndian.PutUint16(tcp[16:], 0)
	sum := ^naiveSum(append(pseudoHeader(ip, len(tcp)), tcp...))
	binary.BigEndian.PutUint16(tcp[16:], sum)
	return ip
}

// onesSum folds to what the 16-bit sum gives, for every length and
// alignment of the tail, and from any running sum.
func TestOnesSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := foldSum(onesSum(0, b)), naiveSum(b); got != want && !(got == 0xffff && want == 0) {
			t.Fatalf("%d bytes: got %#04x, want %#04x", n, got, want)
		}
		// A running sum near overflow, as a long segment reaches.
		start := ^uint64(0) - uint64(rng.IntN(3))
		if got, want := foldSum(onesSum(start, b)), foldSum(uint64(naiveSum(b))+uint64(foldSum(start))); got != want {
			t.Fatalf("%d bytes from %#x: got %#04x, want %#04x", n, start, got, want)
		}
	}
	// All ones everywhere: every add carries.
	ones := bytes.Repeat([]byte{0xff}, 1000)
	if got := foldSum(onesSum(^uint64(0), ones)); got != 0xffff {
		t.Errorf("all ones: got %#04x", got)
	}
}

// Segments gopacket serialized with ComputeChecksums pass, IPv4 and IPv6,
// odd payload lengths included; a flipped bit anywhere in the segment or
// the addresses fails.
func TestVerifyChecksums(t *testing.T) {
	recs, n := realisticTraffic(t, 9)
	file := pcapBytes(binary.LittleEndian, false, 1, recs...)
	res := readAll(t, "x.pcap", file, Options{VerifyChecksums: true})
	if res.err != nil || len(res.packets) != n || res.stats.BadChecksum != 0 {
		t.Fatalf("err %v, %d of %d packets, stats %+v: want no bad checksums", res.err, len(res.packets), n, res.stats)
	}

	var corrupted []rec
	for i, r := range recs {
		data := bytes.Clone(r.data)
		// Walk the flipped bit over the IP addresses, TCP header and payload.
		ipHeader := 20
		if data[12] == 0x86 {
			ipHeader = 40
		}
		lo := 14 + ipHeader - 8 // the last 8 bytes of IPv4's header are the addresses; IPv6's destination
		pos := lo + i*37%(len(data)-lo)
		if pos == 14+ipHeader+12 {
			pos++ // not the data offset, which would make the segment malformed
		}
		data[pos] ^= 1 << (i % 8)
		corrupted = append(corrupted, rec{ts: r.ts, data: data})
	}
	res = readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, corrupted...), Options{VerifyChecksums: true})
	// A bit flipped in an IPv4 address breaks the IP header checksum too:
	// those packets are dropped before TCP, the rest delivered as bad.
	if res.stats.BadChecksum+res.stats.BadIPChecksum != uint64(n) || res.stats.TCP != res.stats.BadChecksum || res.stats.BadIPChecksum == 0 {
		t.Errorf("stats %+v: want all %d packets bad, some dropped for their IP header", res.stats, n)
	}
	for _, p := range res.packets {
		if !p.BadChecksum {
			t.Fatalf("corrupted packet not flagged: %v", &p)
		}
	}

	// Without the option nothing is checked.
	res = readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, corrupted...), Options{})
	if res.stats.BadChecksum != 0 || res.packets[0].BadChecksum {
		t.Errorf("stats %+v: checksums checked without VerifyChecksums", res.stats)
	}
}

// A segment not captured whole cannot be checked, nor one whose
// pseudo-header destination sits in an IPv6 routing header.
func TestVerifyChecksumsNotCheckable(t *testing.T) {
	s := seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2, flags: FlagACK, payload: 500}
	frame := ethernetIP(s.ipBytes()) // checksum 0: wrong
	res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, rec{ts: at(0), data: frame[:100], origLen: len(frame)}), Options{VerifyChecksums: true})
	if p := res.packets[0]; !p.Truncated || p.BadChecksum {
		t.Errorf("truncated segment: got %+v, want Truncated and no verdict", p)
	}
	routed := []ipv6Ext{{43, []byte{2, 0, 1, 0, 0, 0, 0, // type 0, 1 segment left, one address
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}}}
	ip := ipv6Bytes(s.srcAddr(), s.dstAddr(), 6, s.tcpBytes(), routed...)
	res = readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 229, rec{ts: at(0), data: ip}), Options{VerifyChecksums: true})
	if p := res.packets[0]; p.BadChecksum || res.stats.BadChecksum != 0 {
		t.Errorf("routing header with segments left: got %+v, want no verdict", p)
	}
	// With no segments left the destination field is final: checked.
	routed[0].body[2] = 0
	ip = ipv6Bytes(s.srcAddr(), s.dstAddr(), 6, s.tcpBytes(), routed...)
	res = readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 229, rec{ts: at(0), data: ip}), Options{VerifyChecksums: true})
	if p := res.packets[0]; !p.BadChecksum {
		t.Errorf("routing header, no segments left: got %+v, want BadChecksum", p)
	}
}

// A sender using an IPv4 source route sums the TCP pseudo-header with the
// route's last address, the final destination, while the header holds the
// next hop (RFC 1122 section 3.2.1.8). Such a segment's checksum is good;
// once the route is done, the header's destination is the final one.
func TestSourceRouteChecksum(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 80, flags: FlagSYN, options: synOptions}
	final := []byte{10, 0, 9, 9}
	// routed carries a route option (type, length, pointer, hops) in IHL
	// 5+words and sums the segment with sumDst as the destination.
	routed := func(option []byte, sumDst []byte) []byte {
		ip := s.ipBytes()
		opts := append(bytes.Clone(option), make([]byte, (4-len(option)%4)%4)...)
		b := append(append(append([]byte(nil), ip[:20]...), opts...), ip[20:]...)
		b[0] = 0x40 | byte(5+len(opts)/4)
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		fixIPv4Checksum(b)
		tcp := b[20+len(opts):]
		binary.BigEndian.PutUint16(tcp[16:], 0)
		pseudo := append(append(append([]byte(nil), b[12:16]...), sumDst...), 0, ipProtocolTCP, 0, byte(len(tcp)))
		binary.BigEndian.PutUint16(tcp[16:], ^naiveSum(append(pseudo, tcp...)))
		return b
	}
	hop := []byte{10, 0, 5, 5}
	dst := []byte{10, 0, 0, 2}
	tests := []struct {
		name string
		ip   []byte
		bad  bool
	}{
		{"loose route, two hops to go", routed(append([]byte{131, 11, 4}, append(hop, final...)...), final), false},
		{"strict route, the last hop to go", routed(append([]byte{137, 11, 8}, append(hop, final...)...), final), false},
		{"loose route after a NOP", routed(append([]byte{1, 131, 7, 4}, final...), final), false},
		{"loose route done: the header holds the final destination", routed(append([]byte{131, 7, 8}, hop...), dst), false},
		{"loose route, summed with the header's destination", routed(append([]byte{131, 7, 4}, final...), dst), true},
		{"record route (not a source route)", routed(append([]byte{7, 7, 4}, final...), dst), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, rec{ts: at(0), data: ethernetIP(tt.ip)}), Options{VerifyChecksums: true})
			if res.err != nil || res.warns != nil || len(res.packets) != 1 {
				t.Fatalf("err %v, warnings %q, %d packets", res.err, res.warns, len(res.packets))
			}
			p := res.packets[0]
			if p.BadChecksum != tt.bad || p.Dst != netip.MustParseAddr("10.0.0.2") {
				t.Errorf("BadChecksum %v, Dst %v; want %v, 10.0.0.2", p.BadChecksum, p.Dst, tt.bad)
			}
		})
	}
}
