package capture

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var (
	v4a, v4b = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	v6a, v6b = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
)

// oneFrame runs frames through an Ethernet pcap file, each framed by a
// good SYN before and after it so that the test also checks that reading
// goes on.
func oneFrame(t *testing.T, link uint32, frame []byte, origLen int) result {
	t.Helper()
	good := seg{src: "10.9.9.1", dst: "10.9.9.2", sport: 1, dport: 2, flags: FlagSYN, options: synOptions}
	if link == 229 {
		good.src, good.dst = "2001:db8::9:1", "2001:db8::9:2"
	}
	file := pcapBytes(binary.LittleEndian, false, link,
		rec{ts: at(0), data: frameFor(link, good.ipBytes())},
		rec{ts: at(time.Millisecond), data: frame, origLen: origLen},
		rec{ts: at(2 * time.Millisecond), data: frameFor(link, good.ipBytes())},
	)
	res := readAll(t, "x.pcap", file, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.stats.Packets != 3 {
		t.Fatalf("read %d records, want 3", res.stats.Packets)
	}
	return res
}

// frameFor frames an IP packet for a link type.
func frameFor(link uint32, ip []byte) []byte {
	etherType, family := uint16(etherIPv4), uint32(2)
	if ip[0]>>4 == 6 {
		etherType, family = etherIPv6, 24
	}
	switch link {
	case 1:
		return ethernet(etherType, ip)
	case 0:
		return loopbackFrame(binary.LittleEndian, family, ip)
	case 108:
		return loopbackFrame(binary.BigEndian, family, ip)
	case 113:
		return linuxSLLFrame(etherType, ip)
	case 276:
		return linuxSLL2Frame(etherType, ip)
	case 10:
		return fddiFrame(ip)
	case 9:
		return pppFrame(ip, true, false)
	case 50:
		return pppFrame(ip, true, true)
	case 51:
		return pppoeSession(ip)
	case 100:
		return atmLLCFrame(ip)
	case 104:
		return ciscoHDLCFrame(ip)
	case 166:
		b := pppFrame(ip, true, false)
		b[0] = 1 // outgoing, where PPP_SERIAL has the address 0xff
		return b
	case 204:
		return append([]byte{0}, pppFrame(ip, false, false)...)
	case 205:
		return append([]byte{1}, ciscoHDLCFrame(ip)...)
	case 7:
		return arcnetFrame(ip, false, false, true)
	case 129:
		return arcnetFrame(ip, true, false, false)
	case 167:
		return append(juniperHeader(true, 0), ethernet(etherPPPoE, pppoeSession(ip))...)
	case 178:
		return append(juniperHeader(true, 0), ethernet(etherType, ip)...)
	case 179:
		return append(juniperHeader(false, 0), pppFrame(ip, true, false)...)
	case 181:
		return juniperNoL2(ip, true)
	case 242:
		return ipoibFrame(ip)
	}
	return ip
}

// Each malformed case is skipped with this exact warning, counted, and the
// packets around it are still delivered.
func TestMalformed(t *testing.T) {
	tcp := seg{sport: 1, dport: 2, seq: 7, flags: FlagACK, window: 100}.tcpBytes()
	withIHL := func(ihl byte) []byte {
		b := ipv4Bytes(v4a, v4b, 6, tcp)
		b[0] = 0x40 | ihl
		return b
	}
	withTotal := func(total uint16) []byte {
		b := ipv4Bytes(v4a, v4b, 6, tcp)
		binary.BigEndian.PutUint16(b[2:], total)
		return b
	}
	withDataOffset := func(off byte) []byte {
		t := slices.Clone(tcp)
		t[12] = off << 4
		return ipv4Bytes(v4a, v4b, 6, t)
	}
	tests := []struct {
		name  string
		link  uint32
		frame []byte
		warn  string
	}{
		{"IHL < 5", 1, ethernet(etherIPv4, withIHL(3)),
			"malformed IPv4 header: IHL 3 (< 5)"},
		{"IHL past the packet end", 101, withIHL(15)[:40],
			"malformed IPv4 header: IHL 15 (60 bytes) past the end of the packet (40 bytes)"},
		{"total length < header", 1, ethernet(etherIPv4, withTotal(16)),
			"malformed IPv4 header: total length 16 (< header length 20)"},
		{"total length past the frame", 101, withTotal(1500),
			"malformed IPv4 header: total length 1500 past the end of the frame (40 bytes on the wire)"},
		{"IPv4 header cut", 1, ethernet(etherIPv4, withIHL(5)[:12]),
			"malformed IPv4 header: packet too short (12 bytes, need 20)"},
		{"IPv4 in an IPv6 EtherType", 1, ethernet(etherIPv6, ipv4Bytes(v4a, v4b, 6, tcp)),
			"malformed IPv6 header: version 4 (want 6)"},
		{"raw IP version 7", 101, append([]byte{0x70}, make([]byte, 39)...),
			"malformed IP header: version 7 (want 4 or 6)"},
		{"TCP data offset < 5", 1, ethernet(etherIPv4, withDataOffset(3)),
			"malformed TCP header: data offset 3 (< 5)"},
		{"TCP data offset past the segment", 1, ethernet(etherIPv4, withDataOffset(15)),
			"malformed TCP header: data offset 15 (60 bytes) past the end of the segment (20 bytes)"},
		{"TCP too short", 1, ethernet(etherIPv4, ipv4Bytes(v4a, v4b, 6, tcp[:12])),
			"malformed TCP header: packet too short (12 bytes, need 20)"},
		{"TCP missing", 1, ethernet(etherIPv4, ipv4Bytes(v4a, v4b, 6, nil)),
			"malformed TCP header: packet too short (0 bytes, need 20)"},
		{"IPv6 header cut", 1, ethernet(etherIPv6, ipv6Bytes(v6a, v6b, 6, tcp)[:30]),
			"malformed IPv6 header: packet too short (30 bytes, need 40)"},
		{"IPv6 extension header past the end", 229, ipv6Bytes(v6a, v6b, 6, nil, ipv6Ext{60, []byte{4, 0, 0, 0, 0, 0, 0}}),
			"malformed IPv6 header: extension header 60 of 40 bytes at offset 40 past the end of the packet (48 bytes)"},
		{"Ethernet runt", 1, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			"malformed Ethernet header: frame too short (10 bytes, need 14)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := oneFrame(t, tt.link, tt.frame, 0)
			want := "x.pcap: packet 2: " + tt.warn
			if len(res.warns) != 1 || res.warns[0] != want {
				t.Errorf("warnings:\n got %q\nwant [%q]", res.warns, want)
			}
			if res.stats.Malformed != 1 || len(res.packets) != 2 || res.packets[1].Index != 3 {
				t.Errorf("stats %+v, %d packets: want 1 malformed and both good ones", res.stats, len(res.packets))
			}
		})
	}
}

func TestNotTCP(t *testing.T) {
	udp := make([]byte, 8)
	tcp := seg{sport: 1, dport: 2, flags: FlagSYN}.tcpBytes()
	fragment := func(flagsOffset uint16) []byte {
		b := ipv4Bytes(v4a, v4b, 6, tcp)
		binary.BigEndian.PutUint16(b[6:], flagsOffset)
		return ethernet(etherIPv4, b)
	}
	tests := []struct {
		name     string
		link     uint32
		frame    []byte
		fragment bool
	}{
		{"ARP", 1, ethernet(etherARP, make([]byte, 28)), false},
		{"UDP", 1, ethernet(etherIPv4, ipv4Bytes(v4a, v4b, 17, udp)), false},
		{"ICMP", 1, ethernet(etherIPv4, ipv4Bytes(v4a, v4b, 1, make([]byte, 8))), false},
		{"UDP over IPv6", 1, ethernet(etherIPv6, ipv6Bytes(v6a, v6b, 17, udp)), false},
		{"ICMPv6 after extension headers", 229, ipv6Bytes(v6a, v6b, 58, make([]byte, 8), extHopByHop, extDestOpts), false},
		{"802.3 LLC", 1, ethernet(0x0030, make([]byte, 48)), false},
		{"IPX in Linux SLL", 113, linuxSLLFrame(0x8137, make([]byte, 30)), false},
		{"loopback, unknown AF", 0, loopbackFrame(binary.LittleEndian, 7, ipv4Bytes(v4a, v4b, 6, tcp)), false},
		{"IPv4 first fragment (MF)", 1, fragment(0x2000), true},
		{"IPv4 later fragment (offset)", 1, fragment(0x0010), true},
		{"IPv4 last fragment", 1, fragment(0x00b9), true},
		{"IPv6 fragment header", 229, ipv6Bytes(v6a, v6b, 6, tcp, extHopByHop, extFragment), true},
		{"UDP in an IPv6 fragment", 229, ipv6Bytes(v6a, v6b, 17, udp, extFragment), true},
		{"ICMP in an IPv4 fragment", 1, ethernet(etherIPv4, edit(ipv4Bytes(v4a, v4b, 1, make([]byte, 8)), func(b []byte) { b[6] = 0x20 })), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := oneFrame(t, tt.link, tt.frame, 0)
			if len(res.warns) != 0 {
				t.Errorf("unexpected warnings %q", res.warns)
			}
			want := Stats{Packets: 3, TCP: 2, NonTCP: 1}
			if tt.fragment {
				// Held for reassembly, and given up at the end of the
				// capture, its datagram incomplete.
				want = Stats{Packets: 3, TCP: 2, Fragments: 1, DroppedDatagrams: 1}
			}
			if res.stats != want {
				t.Errorf("stats %+v, want %+v", res.stats, want)
			}
		})
	}
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	s := seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 443, dport: 50000, seq: 1, ack: 2,
		flags: FlagACK | FlagPSH, window: 1000, payload: 33}
	for name, ext := range map[string][]ipv6Ext{
		"hop-by-hop":                      {extHopByHop},
		"routing":                         {extRouting},
		"destination options":             {extDestOpts},
		"hop-by-hop, dest, routing, dest": {extHopByHop, extDestOpts, extRouting, extDestOpts},
	} {
		t.Run(name, func(t *testing.T) {
			ip := ipv6Bytes(s.srcAddr(), s.dstAddr(), 6, s.tcpBytes(), ext...)
			res := oneFrame(t, 1, ethernet(etherIPv6, ip), 0)
			if res.stats.TCP != 3 || len(res.warns) != 0 {
				t.Fatalf("stats %+v, warnings %q", res.stats, res.warns)
			}
			want := s.want()
			want.IPLen = len(ip)
			comparePackets(t, res.packets[1:2], []Packet{want})
		})
	}
}

func TestTCPFlagsAndOptions(t *testing.T) {
	tests := []struct {
		name    string
		flags   TCPFlags
		options []byte
		check   func(Packet) bool
	}{
		{"ECN setup SYN", FlagSYN | FlagECE | FlagCWR, nil,
			func(p Packet) bool { return p.Flags == FlagSYN|FlagECE|FlagCWR }},
		{"NS bit", FlagACK | FlagNS, nil,
			func(p Packet) bool { return p.Flags == FlagACK|FlagNS }},
		{"all flags", 0x1ff, nil,
			func(p Packet) bool { return p.Flags == 0x1ff }},
		{"typical SYN", FlagSYN, synOptions,
			func(p Packet) bool {
				return p.MSS == 1460 && p.WindowScale == 7 && p.SACKPermitted && p.HasTimestamp && p.TSVal == 1 && p.TSEcr == 0
			}},
		{"no options", FlagSYN, nil,
			func(p Packet) bool { return p.MSS == 0 && p.WindowScale == -1 && !p.SACKPermitted && !p.HasTimestamp }},
		{"window scale 14 is kept", FlagSYN, []byte{3, 3, 14, 0},
			func(p Packet) bool { return p.WindowScale == 14 }},
		{"window scale over 14 counts as 14", FlagSYN, []byte{3, 3, 200, 0},
			func(p Packet) bool { return p.WindowScale == 14 }},
		{"window scale 0", FlagSYN, []byte{3, 3, 0, 0},
			func(p Packet) bool { return p.WindowScale == 0 }},
		{"SACK blocks and unknown kinds are skipped", FlagACK,
			[]byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 4, 0xab, 0xcd, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1},
			func(p Packet) bool { return p.HasTimestamp && p.TSVal == 9 && p.TSEcr == 8 }},
		{"end of options stops parsing", FlagSYN, []byte{0, 0, 0, 0, 2, 4, 5, 0xb4},
			func(p Packet) bool { return p.MSS == 0 }},
		{"bad option length keeps what came before", FlagSYN, []byte{2, 4, 5, 0xb4, 4, 2, 3, 1, 9, 0, 0, 0},
			func(p Packet) bool { return p.MSS == 1460 && p.SACKPermitted && p.WindowScale == -1 }},
		{"option running past the header", FlagSYN, []byte{2, 4, 5, 0xb4, 1, 1, 8, 10},
			func(p Packet) bool { return p.MSS == 1460 && !p.HasTimestamp }},
		{"zero-length option", FlagSYN, []byte{4, 2, 99, 0},
			func(p Packet) bool { return p.SACKPermitted }},
		{"MSS with the wrong length", FlagSYN, []byte{2, 3, 5, 1},
			func(p Packet) bool { return p.MSS == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: tt.flags, options: tt.options}
			res := oneFrame(t, 1, ethernetIP(s.ipBytes()), 0)
			if res.stats.TCP != 3 {
				t.Fatalf("stats %+v, warnings %q", res.stats, res.warns)
			}
			if p := res.packets[1]; !tt.check(p) {
				t.Errorf("got %+v", p)
			}
		})
	}
}

// A snaplen-cut packet keeps the lengths its IP header states.
func TestSnaplenTruncated(t *testing.T) {
	v4 := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, seq: 9, flags: FlagACK, payload: 1400, options: synOptions}
	v6 := seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2, seq: 9, flags: FlagACK, payload: 1400}
	for _, tt := range []struct {
		name  string
		frame []byte
		keep  int
	}{
		{"IPv4 in Ethernet", ethernetIP(v4.ipBytes()), 96},
		{"IPv6 in Ethernet", ethernetIP(v6.ipBytes()), 80},
		{"IPv6 in SLL2 cut right after the TCP header", linuxSLL2Frame(etherIPv6, v6.ipBytes()), 80},
	} {
		t.Run(tt.name, func(t *testing.T) {
			link := uint32(1)
			if tt.name[len(tt.name)-1] == 'r' {
				link = 276
			}
			res := oneFrame(t, link, tt.frame[:tt.keep], len(tt.frame))
			if res.stats.TCP != 3 || res.stats.Truncated != 1 || len(res.warns) != 0 {
				t.Fatalf("stats %+v, warnings %q", res.stats, res.warns)
			}
			p := res.packets[1]
			if p.PayloadLen != 1400 || !p.Truncated || p.Seq != 9 {
				t.Errorf("got %+v, want PayloadLen 1400, Truncated", p)
			}
			if res.packets[0].Truncated {
				t.Errorf("whole packet marked truncated")
			}
		})
	}

	// Zeek still sees the connection when the snaplen cuts the options
	// (vntag_vlan_sandwich_clean.pcap in its test suite): the packet is
	// delivered with the options captured before the cut.
	t.Run("cut inside the TCP options", func(t *testing.T) {
		frame := ethernetIP(v4.ipBytes()) // options: MSS, SACK permitted, timestamps, NOP, window scale
		for _, tt := range []struct {
			captured int // of the 20 option bytes
			check    func(Packet) bool
		}{
			{0, func(p Packet) bool { return p.MSS == 0 && p.WindowScale == -1 }},
			{3, func(p Packet) bool { return p.MSS == 0 }},
			{10, func(p Packet) bool { return p.MSS == 1460 && p.SACKPermitted && !p.HasTimestamp }},
			{19, func(p Packet) bool { return p.HasTimestamp && p.TSVal == 1 && p.WindowScale == -1 }},
		} {
			res := oneFrame(t, 1, frame[:14+20+20+tt.captured], len(frame))
			if len(res.warns) != 0 || res.stats.TCP != 3 || res.stats.Truncated != 1 {
				t.Fatalf("%d option bytes: stats %+v, warnings %q", tt.captured, res.stats, res.warns)
			}
			p := res.packets[1]
			if !p.Truncated || !p.OptionsTruncated || p.PayloadLen != 1400 || p.Seq != 9 || !tt.check(p) {
				t.Errorf("%d option bytes: got %+v", tt.captured, p)
			}
			if res.packets[0].OptionsTruncated {
				t.Errorf("whole packet marked OptionsTruncated")
			}
		}
	})

	t.Run("cut inside the fixed TCP header", func(t *testing.T) {
		frame := ethernetIP(v4.ipBytes())
		res := oneFrame(t, 1, frame[:14+20+12], len(frame))
		want := "x.pcap: packet 2: malformed TCP header: packet too short (12 bytes, need 20) (cut by the snapshot length: 46 of 1474 bytes captured)"
		if len(res.warns) != 1 || res.warns[0] != want {
			t.Errorf("warnings %q, want [%q]", res.warns, want)
		}
	})
}

// A packet captured before TCP segmentation offload has IP length 0.
func TestSegmentationOffloadZeroLength(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagACK, payload: 3000}
	ip := s.ipBytes()
	binary.BigEndian.PutUint16(ip[2:], 0)
	frame := ethernet(etherIPv4, ip)
	res := oneFrame(t, 1, frame[:200], len(frame))
	if p := res.packets[1]; p.PayloadLen != 3000 || p.IPLen != 3040 || !p.Truncated {
		t.Errorf("got %+v, want PayloadLen 3000, IPLen 3040, Truncated", p)
	}

	s6 := seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2, flags: FlagACK, payload: 3000}
	ip6 := s6.ipBytes()
	binary.BigEndian.PutUint16(ip6[4:], 0)
	res = oneFrame(t, 101, ip6, 0)
	if p := res.packets[1]; p.PayloadLen != 3000 || p.IPLen != 3060 || p.Truncated {
		t.Errorf("got %+v, want PayloadLen 3000, IPLen 3060", p)
	}
}

// Ethernet pads short frames to 60 bytes (plus FCS): the padding is not
// payload.
func TestEthernetPadding(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagACK}
	frame := append(ethernetIP(s.ipBytes()), make([]byte, 10)...)
	res := oneFrame(t, 1, frame, 0)
	if p := res.packets[1]; p.PayloadLen != 0 || p.IPLen != 40 || p.Truncated {
		t.Errorf("got %+v, want PayloadLen 0, IPLen 40", p)
	}
}

func TestTimeGoesBackwards(t *testing.T) {
	segs := handshake("10.0.0.1", "10.0.0.2", 1, 2)
	recs := recordsOf(ethernetIP, segs)
	recs[2].ts = recs[1].ts.Add(-1500 * time.Millisecond)
	res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, recs...), Options{})
	want := []string{"x.pcap: packet 3: timestamp goes backwards by 1.5s"}
	if !slices.Equal(res.warns, want) {
		t.Errorf("warnings %q, want %q", res.warns, want)
	}
	if len(res.packets) != len(segs) || res.stats.TimeWentBack != 1 {
		t.Errorf("%d packets, stats %+v: want all delivered, TimeWentBack 1", len(res.packets), res.stats)
	}
	if !res.packets[2].Timestamp.Equal(recs[2].ts) {
		t.Errorf("timestamp changed to %v", res.packets[2].Timestamp)
	}
}

// Index counts every record, TCP or not, as tcpdump numbers frames.
func TestIndexCountsEveryRecord(t *testing.T) {
	segs := handshake("10.0.0.1", "10.0.0.2", 1, 2)
	var recs []rec
	for i, s := range segs {
		recs = append(recs, rec{ts: at(time.Duration(i)), data: ethernet(etherARP, make([]byte, 28))})
		recs = append(recs, rec{ts: at(time.Duration(i)), data: ethernetIP(s.ipBytes())})
	}
	res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, recs...), Options{})
	for i, p := range res.packets {
		if p.Index != uint64(2*i+2) {
			t.Errorf("packet %d has Index %d, want %d", i, p.Index, 2*i+2)
		}
	}
}
