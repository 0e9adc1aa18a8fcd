package capture

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// icmpBytes builds an ICMP or ICMPv6 message: type, code, a checksum left
// zero (nothing here checks it) and 4 unused bytes, then the quote.
func icmpBytes(typ, code byte, quote []byte) []byte {
	return append([]byte{typ, code, 0, 0, 0, 0, 0, 0}, quote...)
}

// quoteOf is what a router quotes of the packet ip: its IP header and the
// first 8 bytes of what follows (RFC 792), or more (RFC 4443 quotes as
// much as fits).
func quoteOf(ip []byte, extra int) []byte {
	header := 40
	if ip[0]>>4 == 4 {
		header = int(ip[0]&0x0f) * 4
	}
	return ip[:min(len(ip), header+8+extra)]
}

func TestICMPErrors(t *testing.T) {
	syn4 := seg{src: "10.0.0.1", dst: "10.0.9.9", sport: 40000, dport: 8080, seq: 3000000000, flags: FlagSYN, options: synOptions}
	syn6 := syn4
	syn6.src, syn6.dst = "fd00::1", "fd00:9::9"
	router4, router6 := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::2")
	v4 := func(typ, code byte, quote []byte) []byte {
		return ethernet(etherIPv4, ipv4Bytes(router4, syn4.srcAddr(), ipProtocolICMP, icmpBytes(typ, code, quote)))
	}
	v6 := func(typ, code byte, quote []byte) []byte {
		return ethernet(etherIPv6, ipv6Bytes(router6, syn6.srcAddr(), ipProtocolICMPv6, icmpBytes(typ, code, quote)))
	}
	udp4 := ipv4Bytes(syn4.srcAddr(), syn4.dstAddr(), ipProtocolUDP, udpBytes(5000, 53, make([]byte, 20)))
	laterFragment := edit(syn4.ipBytes(), func(b []byte) { binary.BigEndian.PutUint16(b[6:], 0x0010) })
	tests := []struct {
		name   string
		frame  []byte
		quotes bool // delivered as an ICMP error quoting syn4 or syn6
	}{
		{"host unreachable", v4(3, 1, quoteOf(syn4.ipBytes(), 0)), true},
		{"net unreachable", v4(3, 0, quoteOf(syn4.ipBytes(), 0)), true},
		{"port unreachable", v4(3, 3, quoteOf(syn4.ipBytes(), 0)), true},
		{"administratively prohibited", v4(3, 13, quoteOf(syn4.ipBytes(), 0)), true},
		{"quoting the whole SYN", v4(3, 1, syn4.ipBytes()), true},
		{"time exceeded", v4(11, 0, quoteOf(syn4.ipBytes(), 0)), true},
		{"parameter problem", v4(12, 0, quoteOf(syn4.ipBytes(), 0)), true},
		{"quoting IP options", v4(3, 1, quoteOf(ipv4WithOptions(syn4.ipBytes(), 2), 0)), true},
		{"fragmentation needed (path MTU)", v4(3, 4, quoteOf(syn4.ipBytes(), 0)), false},
		{"echo reply", v4(0, 0, quoteOf(syn4.ipBytes(), 0)), false},
		{"redirect", v4(5, 1, quoteOf(syn4.ipBytes(), 0)), false},
		{"quoting UDP", v4(3, 3, quoteOf(udp4, 0)), false},
		{"quoting 7 bytes of TCP", v4(3, 1, quoteOf(syn4.ipBytes(), -1)), false},
		{"quoting a later fragment", v4(3, 1, quoteOf(laterFragment, 0)), false},
		{"quoting IPv6", v4(3, 1, quoteOf(syn6.ipBytes(), 0)), false},
		{"quoting IHL 4", v4(3, 1, edit(quoteOf(syn4.ipBytes(), 0), func(b []byte) { b[0] = 0x44 })), false},
		{"header only", v4(3, 1, nil), false},
		{"ICMPv6 no route", v6(1, 0, quoteOf(syn6.ipBytes(), 0)), true},
		{"ICMPv6 administratively prohibited", v6(1, 1, syn6.ipBytes()), true},
		{"ICMPv6 address unreachable", v6(1, 3, quoteOf(syn6.ipBytes(), 0)), true},
		{"ICMPv6 port unreachable", v6(1, 4, quoteOf(syn6.ipBytes(), 0)), true},
		{"ICMPv6 time exceeded", v6(3, 0, quoteOf(syn6.ipBytes(), 0)), true},
		{"ICMPv6 parameter problem", v6(4, 0, quoteOf(syn6.ipBytes(), 0)), true},
		{"ICMPv6 packet too big (path MTU)", v6(2, 0, quoteOf(syn6.ipBytes(), 0)), false},
		{"ICMPv6 echo request", v6(128, 0, quoteOf(syn6.ipBytes(), 0)), false},
		{"ICMPv6 quoting an extension header", v6(1, 0, ipv6Bytes(syn6.srcAddr(), syn6.dstAddr(), 6, syn6.tcpBytes(), extHopByHop)), false},
		{"ICMPv6 quoting 7 bytes of TCP", v6(1, 0, quoteOf(syn6.ipBytes(), -1)), false},
		{"ICMPv6 quoting IPv4", v6(1, 0, quoteOf(syn4.ipBytes(), 0)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Delivered only when asked for; counted as non-TCP either way.
			for _, asked := range []bool{false, true} {
				file := pcapBytes(binary.LittleEndian, false, 1,
					rec{ts: at(0), data: ethernetIP(syn4.ipBytes())},
					rec{ts: at(time.Millisecond), data: tt.frame},
				)
				res := readAll(t, "x.pcap", file, Options{ICMPErrors: asked})
				if res.err != nil || len(res.warns) != 0 {
					t.Fatalf("error %v, warnings %q", res.err, res.warns)
				}
				if want := (Stats{Packets: 2, TCP: 1, NonTCP: 1}); res.stats != want {
					t.Errorf("asked %v: stats %+v, want %+v", asked, res.stats, want)
				}
				if !asked || !tt.quotes {
					if len(res.packets) != 1 {
						t.Errorf("asked %v: %d packets delivered, want the SYN alone", asked, len(res.packets))
					}
					continue
				}
				if len(res.packets) != 2 {
					t.Fatalf("%d packets delivered, want the SYN and the ICMP error", len(res.packets))
				}
				got := res.packets[1]
				quoted := syn4
				from := router4
				if got.ICMP.From.Is6() {
					from = router6
				}
				if got.Src.Is6() {
					quoted = syn6
				}
				ipLen := int(binary.BigEndian.Uint16(tt.frame[14+2:]))
				if from.Is6() {
					ipLen = 40 + int(binary.BigEndian.Uint16(tt.frame[14+4:]))
				}
				want := Packet{
					Index: 2, Timestamp: at(time.Millisecond),
					Src: quoted.srcAddr(), Dst: quoted.dstAddr(), SrcPort: quoted.sport, DstPort: quoted.dport,
					Seq: quoted.seq, IPLen: ipLen, WindowScale: -1,
					ICMP: ICMPError{From: from, Type: tt.frame[14+ipHeaderLen(from)], Code: tt.frame[14+ipHeaderLen(from)+1]},
				}
				if got != want || !got.IsICMPError() {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
				if res.packets[0].IsICMPError() {
					t.Error("the SYN is taken for an ICMP error")
				}
			}
		})
	}
}

func ipHeaderLen(a netip.Addr) int {
	if a.Is4() {
		return 20
	}
	return 40
}

// TestICMPErrorBadIPChecksum: an ICMP error behind an IPv4 header with a
// wrong checksum is dropped by the host it was sent to; with checksums
// verified it is not delivered, and it is no TCP packet with a bad IP
// checksum either.
func TestICMPErrorBadIPChecksum(t *testing.T) {
	syn := seg{src: "10.0.0.1", dst: "10.0.9.9", sport: 40000, dport: 8080, seq: 7, flags: FlagSYN}
	icmp := ipv4Bytes(v4b, v4a, ipProtocolICMP, icmpBytes(3, 1, quoteOf(syn.ipBytes(), 0)))
	icmp[10] ^= 0xff
	file := pcapBytes(binary.LittleEndian, false, 1, rec{ts: at(0), data: ethernetIP(icmp)})
	for _, verify := range []bool{false, true} {
		res := readAll(t, "x.pcap", file, Options{ICMPErrors: true, VerifyChecksums: verify})
		if want := (Stats{Packets: 1, NonTCP: 1}); res.stats != want {
			t.Errorf("verify %v: stats %+v, want %+v", verify, res.stats, want)
		}
		if delivered := len(res.packets) == 1; delivered == verify {
			t.Errorf("verify %v: delivered %v", verify, delivered)
		}
	}
}
