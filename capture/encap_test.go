package capture

import (
	"encoding/binary"
	"testing"
)

const (
	etherMPLS       = 0x8847
	etherMPLSMcast  = 0x8848
	etherPPPoE      = 0x8864
	etherPBB        = 0x88e7
	etherVNTag      = 0x8926
	etherQinQOld    = 0x9100
	etherFabricPath = 0x8903
	etherETag       = 0x893f
)

// Every encapsulation Zeek decodes between the link layer and IP, with
// IPv4 and IPv6 inside: the decoded segments are exactly the ones built.
// The stacks are those of the Zeek test traces (mpls-in-vlan.pcap,
// pppoe-over-qinq.pcap, pbb.pcap, vntag_vlan_sandwich_clean.pcap,
// cisco-fabric-path.pcap, llc.pcap) and a few more.
func TestEncapsulations(t *testing.T) {
	tests := []struct {
		name  string
		link  uint32
		frame func(ip []byte) []byte
	}{
		{"MPLS, one label", 1, func(ip []byte) []byte { return ethernet(etherMPLS, mplsStack(1, ip)) }},
		{"MPLS, three labels", 1, func(ip []byte) []byte { return ethernet(etherMPLS, mplsStack(3, ip)) }},
		{"MPLS multicast", 1, func(ip []byte) []byte { return ethernet(etherMPLSMcast, mplsStack(2, ip)) }},
		{"MPLS in 802.1Q", 1, func(ip []byte) []byte { return ethernet(etherMPLS, mplsStack(2, ip), etherVLAN) }},
		{"MPLS in Linux SLL", 113, func(ip []byte) []byte { return linuxSLLFrame(etherMPLS, mplsStack(1, ip)) }},
		{"PPPoE", 1, func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeSession(ip)) }},
		{"PPPoE over QinQ", 1, func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeSession(ip), etherVLAN, etherVLAN) }},
		{"PPPoE over 802.1ad", 1, func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeSession(ip), etherQinQ, etherVLAN) }},
		{"PPPoE, PPP protocol compressed", 1, func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeCompressed(ip)) }},
		{"PPPoE over 802.1Q, PPP protocol compressed", 1, func(ip []byte) []byte {
			return ethernet(etherPPPoE, pppoeCompressed(ip), etherVLAN)
		}},
		{"802.1BR E-Tag", 1, func(ip []byte) []byte { return ethernet(etherETag, eTag(etherTypeOf(ip), ip)) }},
		{"802.1BR E-Tag, 802.1Q inside", 1, func(ip []byte) []byte {
			return ethernet(etherETag, eTag(etherVLAN, vlanTag(9, etherTypeOf(ip), ip)))
		}},
		{"QinQ with TPID 0x9100", 1, func(ip []byte) []byte { return ethernet(etherTypeOf(ip), ip, etherQinQOld, etherVLAN) }},
		{"802.1ah PBB in 802.1Q", 1, func(ip []byte) []byte { return ethernet(etherPBB, pbbITag(etherTypeOf(ip), ip), etherVLAN) }},
		{"802.1ah PBB, customer VLAN", 1, func(ip []byte) []byte {
			return ethernet(etherPBB, pbbITag(etherVLAN, vlanTag(7, etherTypeOf(ip), ip)))
		}},
		{"VN-Tag in 802.1Q, 802.1Q inside", 1, func(ip []byte) []byte {
			return ethernet(etherVNTag, vnTag(etherVLAN, vlanTag(250, etherTypeOf(ip), ip)), etherVLAN)
		}},
		{"Cisco FabricPath", 1, func(ip []byte) []byte { return fabricPath(ethernetIP(ip)) }},
		{"Cisco FabricPath, 802.1Q inside", 1, func(ip []byte) []byte {
			return fabricPath(ethernet(etherTypeOf(ip), ip, etherVLAN))
		}},
		{"IEEE 802.3 with LLC/SNAP", 1, func(ip []byte) []byte { return ieee8023Frame(ip, 0) }},
		{"FDDI with LLC/SNAP", 10, fddiFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := append(handshake("10.0.0.1", "10.0.0.2", 40000, 9502),
				handshake("2001:db8::1", "2001:db8::2", 40001, 443)...)
			res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, tt.link, recordsOf(tt.frame, segs)...), Options{})
			if res.err != nil || res.warns != nil {
				t.Fatalf("err %v, warnings %q", res.err, res.warns)
			}
			comparePackets(t, res.packets, wants(segs))
		})
	}
}

func TestFDDILinkTypeName(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	r, err := NewReader(bytesReader(pcapBytes(binary.LittleEndian, false, 10, rec{ts: at(0), data: fddiFrame(s.ipBytes())})), "x.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.LinkType(), "FDDI (FDDI)"; got != want {
		t.Errorf("LinkType() = %q, want %q", got, want)
	}
}

// What these encapsulations carry besides IP is skipped as non-TCP,
// silently; a header cut short is malformed.
func TestEncapsulationsNotTCP(t *testing.T) {
	tcp := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}.ipBytes()
	pppLCP := pppoeSession(tcp)
	binary.BigEndian.PutUint16(pppLCP[6:], 0xc021)
	ieee8023 := ieee8023Frame(tcp, 0)
	ieee8023[14], ieee8023[15] = 0x42, 0x42 // spanning tree SAPs
	fddiIPX := fddiFrame(tcp)
	fddiIPX[13], fddiIPX[14] = 0xe0, 0xe0
	tests := []struct {
		name  string
		link  uint32
		frame []byte
		warn  string // "" for non-TCP
	}{
		{"MPLS carrying an Ethernet pseudowire", 1, ethernet(etherMPLS, mplsStack(1, ethernetIP(tcp))), ""},
		{"PPP LCP in PPPoE", 1, ethernet(etherPPPoE, pppLCP), ""},
		{"PPPoE discovery", 1, ethernet(0x8863, make([]byte, 30)), ""},
		{"PPPoE session EtherType, discovery code", 1, func() []byte { b := pppoeSession(tcp); b[1] = 0x09; return ethernet(etherPPPoE, b) }(), ""},
		{"PPPoE, compressed protocol not IP", 1, func() []byte { b := pppoeCompressed(tcp); b[6] = 0x3d; return ethernet(etherPPPoE, b) }(), ""},
		{"802.1BR E-Tag carrying ARP", 1, ethernet(etherETag, eTag(etherARP, make([]byte, 28))), ""},
		{"PPP LCP", 9, append([]byte{0xff, 0x03, 0xc0, 0x21}, make([]byte, 10)...), ""},
		{"PPP_SERIAL, Cisco SLARP", 50, append([]byte{0x8f, 0x00, 0x80, 0x35}, make([]byte, 20)...), ""},
		{"C_HDLC, CDP", 104, append([]byte{0x8f, 0x00, 0x20, 0x00}, make([]byte, 20)...), ""},
		{"PPP_ETHER, discovery (PADI)", 51, []byte{0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0}, ""},
		{"ATM_RFC1483, not SNAP", 100, []byte{0xfe, 0xfe, 0x03, 0xcc, 0x45}, ""},
		{"802.3 spanning tree", 1, ieee8023, ""},
		{"FDDI, IPX over LLC", 10, fddiIPX, ""},
		{"VN-Tag carrying ARP", 1, ethernet(etherVNTag, vnTag(etherARP, make([]byte, 28))), ""},
		{"EtherType 1501-1535", 1, ethernet(0x05ee, tcp), ""},
		{"MPLS without bottom of stack", 1, ethernet(etherMPLS, []byte{0, 1, 0, 64, 0, 1, 0, 64}),
			"malformed MPLS header: label stack of 8 bytes has no bottom-of-stack label"},
		{"PPPoE cut", 1, ethernet(etherPPPoE, []byte{0x11, 0, 0, 1, 0}),
			"malformed PPPoE header: session header too short (5 bytes, need 8)"},
		{"802.1ah PBB cut", 1, ethernet(etherPBB, make([]byte, 10)),
			"malformed 802.1ah PBB header: header too short (10 bytes, need 18)"},
		{"PPPoE cut in a two-byte protocol", 1, ethernet(etherPPPoE, []byte{0x11, 0, 0, 1, 0, 1, 0x00}),
			"malformed PPPoE header: session header too short (7 bytes, need 8)"},
		{"802.1BR E-Tag cut", 1, ethernet(etherETag, []byte{0, 0, 0}),
			"malformed 802.1BR E-Tag header: header too short (3 bytes, need 8)"},
		{"VN-Tag cut", 1, ethernet(etherVNTag, []byte{0, 0, 0}),
			"malformed VN-Tag header: header too short (3 bytes, need 6)"},
		{"802.1Q cut", 1, ethernet(etherVLAN, []byte{0, 1}),
			"malformed 802.1Q header: header too short (2 bytes, need 4)"},
		{"FabricPath cut", 1, ethernet(etherFabricPath, make([]byte, 10)),
			"malformed Cisco FabricPath header: frame too short (24 bytes, need 30)"},
		{"PPP, protocol cut", 9, []byte{0xff, 0x03, 0x00}, "malformed PPP header: frame too short (1 bytes) for the protocol field"},
		{"PPP_WITH_DIR, direction only", 204, []byte{1}, "malformed PPP header: frame too short (1 bytes, need 2)"},
		{"PPP_PPPD, no protocol", 166, []byte{1, 3}, "malformed PPP header: frame too short (2 bytes, need 3)"},
		{"C_HDLC cut", 104, []byte{0x0f, 0, 8}, "malformed Cisco HDLC header: frame too short (3 bytes, need 4)"},
		{"C_HDLC_WITH_DIR cut", 205, []byte{0, 0x0f, 0, 8}, "malformed Cisco HDLC header: frame too short (4 bytes, need 5)"},
		{"PPP_SERIAL, Cisco framing cut", 50, []byte{0x0f, 0}, "malformed Cisco HDLC header: frame too short (2 bytes, need 4)"},
		{"FDDI runt", 10, make([]byte, 12), "malformed FDDI header: frame too short (12 bytes, need 13)"},
		{"SNAP cut", 10, fddiFrame(tcp)[:18], "malformed 802.2 SNAP header: header too short (5 bytes, need 8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := oneFrame(t, tt.link, tt.frame, 0)
			want := Stats{Packets: 3, TCP: 2, NonTCP: 1}
			var wantWarns []string
			if tt.warn != "" {
				want = Stats{Packets: 3, TCP: 2, Malformed: 1}
				wantWarns = []string{"x.pcap: packet 2: " + tt.warn}
			}
			if res.stats != want || !equalStrings(res.warns, wantWarns) {
				t.Errorf("stats %+v, warnings %q; want %+v, %q", res.stats, res.warns, want, wantWarns)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// 802.3 frames are padded to 60 bytes like Ethernet II ones, and the
// padding is not payload.
func TestIEEE8023Padding(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagACK}
	res := oneFrame(t, 1, ieee8023Frame(s.ipBytes(), 12), 0)
	if p := res.packets[1]; res.stats.TCP != 3 || p.PayloadLen != 0 || p.IPLen != 40 || p.Truncated {
		t.Errorf("stats %+v, got %+v, want PayloadLen 0, IPLen 40", res.stats, p)
	}
}

// A frame is decoded through at most 8 headers dispatched by EtherType
// (Ethernet and 7 tags); past that it is left alone as non-TCP, so that a
// frame of nothing but tags costs bounded work.
func TestLinkHeaderLimit(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	tags := func(n int) []uint16 {
		tpids := make([]uint16, n)
		for i := range tpids {
			tpids[i] = etherVLAN
		}
		return tpids
	}
	res := oneFrame(t, 1, ethernet(etherIPv4, s.ipBytes(), tags(maxLinkHeaders-1)...), 0)
	if res.stats.TCP != 3 {
		t.Errorf("%d tags: stats %+v, want all TCP", maxLinkHeaders-1, res.stats)
	}
	res = oneFrame(t, 1, ethernet(etherIPv4, s.ipBytes(), tags(maxLinkHeaders)...), 0)
	if want := (Stats{Packets: 3, TCP: 2, NonTCP: 1}); res.stats != want || res.warns != nil {
		t.Errorf("%d tags: stats %+v, warnings %q; want %+v", maxLinkHeaders, res.stats, res.warns, want)
	}
	res = oneFrame(t, 1, ethernet(etherIPv4, s.ipBytes(), tags(2000)...), 0)
	if want := (Stats{Packets: 3, TCP: 2, NonTCP: 1}); res.stats != want {
		t.Errorf("2000 tags: stats %+v, want %+v", res.stats, want)
	}
}
