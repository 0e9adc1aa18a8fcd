package capture

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// A tunnelled TCP segment is delivered as the inner packet: its addresses,
// ports and IP length, which is the connection Zeek logs.
func TestTunnels(t *testing.T) {
	v4 := handshake("10.131.17.170", "173.199.115.168", 51803, 80)
	teredoClient := handshake("2001:0:4137:9e50:8000:f12a:b9c8:2815", "2001:4860:0:2001::68", 1286, 80)
	plainV6 := handshake("2001:db8::1", "2001:db8::2", 40001, 443)
	tests := []struct {
		name  string
		segs  []seg
		frame func(ip []byte) []byte
	}{
		{"GTP-U to port 2152", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(5906, gtpUserPort, gtpU(ip, false))))
		}},
		{"GTP-U from port 2152", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(gtpUserPort, 40000, gtpU(ip, false))))
		}},
		{"GTP-U, IPv6 inside, IPv6 outside", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(true, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, false))))
		}},
		{"GTP-U with a sequence number", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, true))))
		}},
		{"GTP-U with two extension headers", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, false, []byte{0x10, 0x05}, make([]byte, 6)))))
		}},
		{"GTP G-PDU on the GTP-C port", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(gtpControlPort, 40000, gtpU(ip, false))))
		}},
		{"GTP-U in MPLS in 802.1Q", v4, func(ip []byte) []byte {
			return ethernet(etherMPLS, mplsStack(2, outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, false)))), etherVLAN)
		}},
		{"Teredo on port 3544, Teredo address", teredoClient, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(3797, teredoPort, teredo(ip, false, 0, 0, false))))
		}},
		{"Teredo on port 3544, any address", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(teredoPort, 3797, teredo(ip, false, 0, 0, false))))
		}},
		{"Teredo on port 3544 with authentication and origin", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(teredoPort, 3797, teredo(ip, true, 3, 5, true))))
		}},
		{"Teredo on port 3544 with authentication only", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(teredoPort, 3797, teredo(ip, true, 0, 0, false))))
		}},
		// Tunnels.pcap: between the client and a relay, neither port is 3544.
		{"Teredo off its port, Teredo address", teredoClient, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(3797, 32900, teredo(ip, false, 0, 0, false))))
		}},
		{"Teredo off its port, origin indication", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(3797, 32900, teredo(ip, false, 0, 0, true))))
		}},
		{"Teredo off its port, authentication and origin", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(3797, 32900, teredo(ip, true, 1, 2, true))))
		}},
		{"IPv4 in IPv4", v4, func(ip []byte) []byte { return ethernetIP(ipInIP(false, ip)) }},
		{"IPv6 in IPv4 (6in4)", plainV6, func(ip []byte) []byte { return ethernetIP(ipInIP(false, ip)) }},
		{"IPv4 in IPv6", v4, func(ip []byte) []byte { return ethernetIP(ipInIP(true, ip)) }},
		{"IPv6 in IPv6", plainV6, func(ip []byte) []byte { return ethernetIP(ipInIP(true, ip)) }},
		{"GRE, IPv4 inside", v4, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, greBytes(0, etherIPv4, ip))) }},
		{"GRE, IPv6 inside", plainV6, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, greBytes(0, etherIPv6, ip))) }},
		{"GRE over IPv6 with checksum, key and sequence number", v4, func(ip []byte) []byte {
			return ethernetIP(outerProto(true, 47, greBytes(greC|greK|greS, etherIPv4, ip)))
		}},
		{"GRE with a key", plainV6, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, greBytes(greK, etherIPv6, ip))) }},
		{"GRE carrying MPLS", v4, func(ip []byte) []byte {
			return ethernetIP(outerProto(false, 47, greBytes(0, etherMPLS, mplsStack(2, ip))))
		}},
		{"GRE carrying Ethernet (gretap)", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerProto(false, 47, greBytes(greK, 0x6558, ethernet(etherIPv6, ip, etherVLAN))))
		}},
		{"PPTP enhanced GRE, PPP in HDLC-like framing", v4, func(ip []byte) []byte {
			return ethernetIP(outerProto(false, 47, pptpGRE(pppFrame(ip, true, false))))
		}},
		{"PPTP enhanced GRE, PPP protocol compressed", v4, func(ip []byte) []byte {
			return ethernetIP(outerProto(false, 47, pptpGRE(pppFrame(ip, false, true))))
		}},
		{"ERSPAN type I", v4, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, greBytes(0, 0x88be, ethernetIP(ip)))) }},
		{"ERSPAN type II", plainV6, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, erspanII(ethernetIP(ip)))) }},
		{"ERSPAN type II, 802.1Q inside", v4, func(ip []byte) []byte {
			return ethernetIP(outerProto(false, 47, erspanII(ethernet(etherIPv4, ip, etherVLAN))))
		}},
		{"ERSPAN type III", v4, func(ip []byte) []byte { return ethernetIP(outerProto(false, 47, erspanIII(ethernetIP(ip), false))) }},
		{"ERSPAN type III with the platform subheader", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerProto(true, 47, erspanIII(ethernetIP(ip), true)))
		}},
		{"VXLAN to port 4789", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(51234, vxlanPort, vxlanBytes(ethernetIP(ip)))))
		}},
		{"VXLAN from port 4789, IPv6 outside and inside, 802.1Q inside", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(true, udpBytes(vxlanPort, 51234, vxlanBytes(ethernet(etherIPv6, ip, etherVLAN)))))
		}},
		{"Geneve carrying Ethernet, no options", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(40000, genevePort, geneveBytes(0x6558, 0, ethernetIP(ip)))))
		}},
		{"Geneve carrying Ethernet, three option words", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(genevePort, 40000, geneveBytes(0x6558, 3, ethernetIP(ip)))))
		}},
		{"Geneve carrying IPv4", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(true, udpBytes(40000, genevePort, geneveBytes(etherIPv4, 1, ip))))
		}},
		{"Geneve carrying IPv6", plainV6, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(40000, genevePort, geneveBytes(etherIPv6, 0, ip))))
		}},
		{"IPv4 in IPv4 inside VXLAN: two levels", v4, func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(51234, vxlanPort, vxlanBytes(ethernetIP(ipInIP(false, ip))))))
		}},
		{"GRE inside GRE: two levels", v4, func(ip []byte) []byte {
			inner := outerProto(true, 47, greBytes(0, etherIPv4, ip))
			return ethernetIP(outerProto(false, 47, greBytes(greK, etherIPv6, inner)))
		}},
		{"Teredo inside GTP-U: two levels", teredoClient, func(ip []byte) []byte {
			inner := ipv4Bytes(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 17,
				udpBytes(3797, teredoPort, teredo(ip, false, 0, 0, false)))
			return ethernetIP(outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(inner, false))))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Correct inner checksums: they are verified over the inner packet.
			frame := func(ip []byte) []byte { return tt.frame(withTCPChecksum(ip)) }
			res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, recordsOf(frame, tt.segs)...), Options{VerifyChecksums: true})
			if res.err != nil || res.warns != nil {
				t.Fatalf("err %v, warnings %q", res.err, res.warns)
			}
			comparePackets(t, res.packets, wants(tt.segs))
		})
	}
}

// UDP that is not one of the two tunnels, or that a tunnel's checks
// reject, is non-TCP, without a warning.
func TestTunnelsRejected(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	s6 := seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2, flags: FlagSYN}
	udp := func(sport, dport uint16, payload []byte) []byte {
		return ethernetIP(outerIP(false, udpBytes(sport, dport, payload)))
	}
	gtpWith := func(edit func(b []byte)) []byte {
		b := gtpU(s.ipBytes(), false)
		edit(b)
		return udp(gtpUserPort, gtpUserPort, b)
	}
	teredoWith := func(sport, dport uint16, edit func(b []byte)) []byte {
		b := teredo(s6.ipBytes(), false, 0, 0, false)
		edit(b)
		return udp(sport, dport, b)
	}
	deep := func() []byte {
		ip := s6.ipBytes()
		for range maxTunnelDepth + 1 {
			ip = ipv6Bytes(netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("2001:db8::8"), 17,
				udpBytes(teredoPort, teredoPort, teredo(ip, false, 0, 0, false)))
		}
		return ethernetIP(ip)
	}
	gtpInGTP := func() []byte {
		inner := ipv4Bytes(netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.8"), 17,
			udpBytes(gtpUserPort, gtpUserPort, gtpU(s.ipBytes(), false)))
		return udp(gtpUserPort, gtpUserPort, gtpU(inner, false))
	}
	tests := []struct {
		name  string
		frame []byte
	}{
		{"plain UDP", udp(5353, 5353, s.ipBytes())},
		{"IPv6 in UDP off the Teredo port, no Teredo address or origin", udp(3797, 32900, s6.ipBytes())},
		{"GTP echo request", gtpWith(func(b []byte) { b[1] = 1 })},
		{"GTP version 2", gtpWith(func(b []byte) { b[0] = 0x48 })},
		{"GTP' (protocol type 0)", gtpWith(func(b []byte) { b[0] = 0x20 })},
		{"GTP length past the datagram", gtpWith(func(b []byte) { binary.BigEndian.PutUint16(b[2:], 1000) })},
		{"GTP carrying neither IPv4 nor IPv6", gtpWith(func(b []byte) { b[8] = 0x55 })},
		{"GTP extension header of length 0", udp(gtpUserPort, gtpUserPort, func() []byte {
			b := gtpU(s.ipBytes(), false, []byte{1, 2})
			b[12] = 0
			return b
		}())},
		{"GTP in GTP", gtpInGTP()},
		{"Teredo with the wrong IPv6 payload length", teredoWith(teredoPort, 1, func(b []byte) { b[5]++ })},
		{"Teredo with an unknown header", teredoWith(teredoPort, 1, func(b []byte) { b[0] = 0x00; b[1] = 0x02 })},
		{"Teredo, two origin indications", udp(teredoPort, 1, append([]byte{0, 0, 1, 2, 3, 4, 5, 6}, teredo(s6.ipBytes(), false, 0, 0, true)...))},
		{"Teredo, authentication after origin", udp(teredoPort, 1, append([]byte{0, 0, 1, 2, 3, 4, 5, 6}, teredo(s6.ipBytes(), true, 0, 0, false)...))},
		{"UDP length past the IP packet", func() []byte {
			b := udpBytes(gtpUserPort, gtpUserPort, gtpU(s.ipBytes(), false))
			binary.BigEndian.PutUint16(b[4:], uint16(len(b)+1))
			return ethernetIP(outerIP(false, b))
		}()},
		{"UDP header cut", ethernetIP(outerIP(false, []byte{0x08, 0x68, 0x08}))},
		{fmtTunnels(maxTunnelDepth + 1), deep()},
		{"three levels of IP in IP", ethernetIP(ipInIP(false, ipInIP(true, ipInIP(false, s.ipBytes()))))},
		{"three levels of GRE", ethernetIP(outerProto(false, 47, greBytes(0, etherIPv4,
			outerProto(false, 47, greBytes(0, etherIPv4, outerProto(false, 47, greBytes(0, etherIPv4, s.ipBytes())))))))},
		{"VXLAN in IP in IP in GRE", ethernetIP(outerProto(false, 47, greBytes(0, etherIPv4,
			ipInIP(false, outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(s.ipBytes()))))))))},
		{"GRE with the routing bit (RFC 1701)", ethernetIP(outerProto(false, 47, greBytes(0x4000, etherIPv4, s.ipBytes())))},
		{"GRE version 2", ethernetIP(outerProto(false, 47, greBytes(2, etherIPv4, s.ipBytes())))},
		{"GRE carrying ARP", ethernetIP(outerProto(false, 47, greBytes(0, etherARP, make([]byte, 28))))},
		{"GRE header cut", ethernetIP(outerProto(false, 47, []byte{0, 0, 8}))},
		{"GRE key past the packet", ethernetIP(outerProto(false, 47, []byte{0x20, 0, 8, 0, 0, 0}))},
		{"ERSPAN type III header cut", ethernetIP(outerProto(false, 47, greBytes(greS, 0x22eb, make([]byte, 11))))},
		{"ERSPAN type III platform subheader past the packet", ethernetIP(outerProto(false, 47, greBytes(greS, 0x22eb,
			[]byte{0x20, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})))},
		{"PPTP GRE without a key", ethernetIP(outerProto(false, 47, func() []byte {
			b := pptpGRE(pppFrame(s.ipBytes(), true, false))
			b[0] &^= 0x20
			return b
		}()))},
		{"PPTP GRE carrying LCP", ethernetIP(outerProto(false, 47, pptpGRE(append([]byte{0xff, 0x03, 0xc0, 0x21}, make([]byte, 10)...))))},
		{"PPTP GRE acknowledgment only", ethernetIP(outerProto(false, 47, pptpGRE(nil)))},
		{"VXLAN without the I flag", udp(1, vxlanPort, append([]byte{0, 0, 0, 0, 0, 0, 1, 0}, ethernetIP(s.ipBytes())...))},
		{"VXLAN carrying ARP", udp(1, vxlanPort, vxlanBytes(ethernet(etherARP, make([]byte, 28))))},
		{"Geneve version 1", udp(1, genevePort, func() []byte {
			b := geneveBytes(etherIPv4, 0, s.ipBytes())
			b[0] |= 0x40
			return b
		}())},
		{"Geneve options past the packet", udp(1, genevePort, geneveBytes(0x6558, 63, nil))},
		{"Geneve carrying ARP", udp(1, genevePort, geneveBytes(etherARP, 0, make([]byte, 28)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := oneFrame(t, 1, tt.frame, 0)
			want := Stats{Packets: 3, TCP: 2, NonTCP: 1}
			if res.stats != want || res.warns != nil {
				t.Errorf("stats %+v, warnings %q; want %+v", res.stats, res.warns, want)
			}
		})
	}
}

func fmtTunnels(n int) string { return strings.Repeat("Teredo in ", n-1) + "Teredo" }

// A malformed packet inside a tunnel says where it was found.
func TestTunnelInnerMalformed(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	ip := s.ipBytes()
	ip[0] = 0x43 // IHL 3
	const ihl3 = "malformed IPv4 header: IHL 3 (< 5)"
	tests := []struct {
		frame []byte
		warn  string
	}{
		{ethernetIP(outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, false)))), ihl3 + " (inside a GTP-U tunnel)"},
		{ethernetIP(ipInIP(false, ip)), ihl3 + " (inside an IP-in-IP tunnel)"},
		{ethernetIP(outerProto(false, 47, greBytes(0, etherIPv4, ip))), ihl3 + " (inside a GRE tunnel)"},
		{ethernetIP(outerProto(false, 47, erspanII(ethernetIP(ip)))), ihl3 + " (inside an ERSPAN tunnel)"},
		{ethernetIP(outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(ip))))), ihl3 + " (inside a VXLAN tunnel)"},
		{ethernetIP(outerIP(false, udpBytes(1, genevePort, geneveBytes(etherIPv4, 0, ip)))), ihl3 + " (inside a Geneve tunnel)"},
		{ethernetIP(outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(make([]byte, 10))))),
			"malformed Ethernet header: frame too short (10 bytes, need 14) (inside a VXLAN tunnel)"},
		{ethernetIP(outerProto(false, ipProtocolIPv4, s6v(s).ipBytes())), "malformed IPv4 header: version 6 (want 4) (inside an IP-in-IP tunnel)"},
	}
	for _, tt := range tests {
		res := oneFrame(t, 1, tt.frame, 0)
		want := []string{"x.pcap: packet 2: " + tt.warn}
		if !equalStrings(res.warns, want) || res.stats.Malformed != 1 {
			t.Errorf("stats %+v, warnings %q; want %q", res.stats, res.warns, want)
		}
	}
}

// s6v is s between two IPv6 addresses.
func s6v(s seg) seg {
	s.src, s.dst = "2001:db8::1", "2001:db8::2"
	return s
}

// A GTP-U datagram too big for the path gets its outer IP fragmented
// (gtp2_different_udp_port.pcap: 42 of its 78 TCP segments). Zeek
// reassembles, and so does this package: the segment is delivered whole,
// with the last fragment's index and time, in whichever order the
// fragments came.
func TestTunnelInFragments(t *testing.T) {
	s := seg{src: "10.131.17.170", dst: "173.199.115.168", sport: 80, dport: 51803, seq: 1, ack: 575,
		flags: FlagACK, window: 7168, payload: 1400}
	for _, v6 := range []bool{false, true} {
		for _, reversed := range []bool{false, true} {
			datagram := udpBytes(gtpUserPort, gtpUserPort, gtpU(withTCPChecksum(s.ipBytes()), false))
			const firstLen = 200 // of the datagram, in the first fragment
			var first, rest []byte
			if v6 {
				src, dst := netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2")
				first = ipv6Bytes(src, dst, 17, datagram[:firstLen], ipv6Ext{44, []byte{0, 0, 1, 0, 0, 0, 9}})
				rest = ipv6Bytes(src, dst, 17, datagram[firstLen:], ipv6Ext{44, []byte{0, byte(firstLen >> 8), byte(firstLen), 0, 0, 0, 9}})
			} else {
				first = outerIP(false, datagram[:firstLen])
				binary.BigEndian.PutUint16(first[6:], 0x2000) // MF
				rest = outerIP(false, datagram[firstLen:])
				binary.BigEndian.PutUint16(rest[6:], firstLen/8)
				fixIPv4Checksum(first)
				fixIPv4Checksum(rest)
			}
			if reversed {
				first, rest = rest, first
			}
			recs := []rec{{ts: at(0), data: ethernetIP(first)}, {ts: at(1), data: ethernetIP(rest)}}
			res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, recs...), Options{VerifyChecksums: true})
			if want := (Stats{Packets: 2, TCP: 1, Fragments: 1, ReassembledDatagrams: 1}); res.err != nil || res.warns != nil || res.stats != want {
				t.Fatalf("IPv6 %v, reversed %v: err %v, warnings %q, stats %+v; want %+v", v6, reversed, res.err, res.warns, res.stats, want)
			}
			want := s.want()
			want.Index, want.Timestamp = 2, at(1)
			comparePackets(t, res.packets, []Packet{want})
		}
	}

	// The first fragment alone, the inner TCP header cut by its end: held,
	// then dropped as incomplete when the capture ends, without a warning.
	datagram := udpBytes(gtpUserPort, gtpUserPort, gtpU(s.ipBytes(), false))
	first := outerIP(false, datagram[:8+8+20+10])
	binary.BigEndian.PutUint16(first[6:], 0x2000)
	res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, rec{ts: at(0), data: ethernetIP(first)}), Options{})
	if want := (Stats{Packets: 1, Fragments: 1, DroppedDatagrams: 1}); res.warns != nil || res.stats != want {
		t.Errorf("cut inner header: warnings %q, stats %+v; want %+v", res.warns, res.stats, want)
	}
}

// fixIPv4Checksum recomputes the header checksum of an IPv4 packet whose
// header a test edited.
func fixIPv4Checksum(ip []byte) {
	n := int(ip[0]&0x0f) * 4
	binary.BigEndian.PutUint16(ip[10:], 0)
	binary.BigEndian.PutUint16(ip[10:], ^foldSum(onesSum(0, ip[:n])))
}
