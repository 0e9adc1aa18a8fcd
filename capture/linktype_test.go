package capture

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// Every supported link type, with IPv4 and IPv6, through a classic pcap
// file: the decoded segments must be exactly the ones built.
func TestLinkTypes(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	byVersion := func(v4, v6 func([]byte) []byte) func([]byte) []byte {
		return func(ip []byte) []byte {
			if ip[0]>>4 == 6 {
				return v6(ip)
			}
			return v4(ip)
		}
	}
	etherType := func(ip []byte) uint16 {
		if ip[0]>>4 == 6 {
			return etherIPv6
		}
		return etherIPv4
	}
	raw := func(ip []byte) []byte { return ip }
	tests := []struct {
		name     string
		link     uint32
		frame    func(ip []byte) []byte
		linkName string
	}{
		{"ethernet", 1, ethernetIP, "EN10MB (Ethernet)"},
		{"ethernet 802.1Q", 1, func(ip []byte) []byte { return ethernet(etherType(ip), ip, etherVLAN) }, "EN10MB (Ethernet)"},
		{"ethernet QinQ", 1, func(ip []byte) []byte { return ethernet(etherType(ip), ip, etherQinQ, etherVLAN) }, "EN10MB (Ethernet)"},
		{"ethernet double 802.1Q", 1, func(ip []byte) []byte { return ethernet(etherType(ip), ip, etherVLAN, etherVLAN) }, "EN10MB (Ethernet)"},
		{"linux SLL", 113, func(ip []byte) []byte { return linuxSLLFrame(etherType(ip), ip) }, "LINUX_SLL (Linux cooked v1)"},
		{"linux SLL2", 276, func(ip []byte) []byte { return linuxSLL2Frame(etherType(ip), ip) }, "LINUX_SLL2 (Linux cooked v2)"},
		{"null little-endian, AF_INET6 BSD", 0, byVersion(
			func(ip []byte) []byte { return loopbackFrame(le, 2, ip) },
			func(ip []byte) []byte { return loopbackFrame(le, 24, ip) }), "NULL (BSD loopback)"},
		{"null big-endian, AF_INET6 FreeBSD", 0, byVersion(
			func(ip []byte) []byte { return loopbackFrame(be, 2, ip) },
			func(ip []byte) []byte { return loopbackFrame(be, 28, ip) }), "NULL (BSD loopback)"},
		{"null, AF_INET6 Darwin", 0, byVersion(
			func(ip []byte) []byte { return loopbackFrame(le, 2, ip) },
			func(ip []byte) []byte { return loopbackFrame(le, 30, ip) }), "NULL (BSD loopback)"},
		{"null, AF_INET6 Linux", 0, byVersion(
			func(ip []byte) []byte { return loopbackFrame(le, 2, ip) },
			func(ip []byte) []byte { return loopbackFrame(le, 10, ip) }), "NULL (BSD loopback)"},
		{"loop", 108, byVersion(
			func(ip []byte) []byte { return loopbackFrame(be, 2, ip) },
			func(ip []byte) []byte { return loopbackFrame(be, 24, ip) }), "LOOP (OpenBSD loopback)"},
		{"raw (LINKTYPE_RAW 101)", 101, raw, "RAW (Raw IP)"},
		{"raw (DLT_RAW 12)", 12, raw, "RAW (Raw IP)"},
		{"raw (DLT_RAW 14)", 14, raw, "RAW (Raw IP)"},
		{"FDDI", 10, fddiFrame, "FDDI (FDDI)"},
		{"PPP", 9, func(ip []byte) []byte { return pppFrame(ip, false, false) }, "PPP (PPP)"},
		{"PPP in HDLC-like framing", 9, func(ip []byte) []byte { return pppFrame(ip, true, false) }, "PPP (PPP)"},
		{"PPP, protocol compressed", 9, func(ip []byte) []byte { return pppFrame(ip, false, true) }, "PPP (PPP)"},
		{"PPP_SERIAL", 50, func(ip []byte) []byte { return pppFrame(ip, true, false) }, "PPP_SERIAL (PPP over serial)"},
		{"PPP_SERIAL, protocol compressed", 50, func(ip []byte) []byte { return pppFrame(ip, true, true) }, "PPP_SERIAL (PPP over serial)"},
		{"PPP_SERIAL, Cisco PPP in HDLC framing", 50, ciscoHDLCFrame, "PPP_SERIAL (PPP over serial)"},
		{"PPP_ETHER", 51, pppoeSession, "PPP_ETHER (PPPoE)"},
		{"PPP_ETHER, protocol compressed", 51, pppoeCompressed, "PPP_ETHER (PPPoE)"},
		{"ATM_RFC1483", 100, atmLLCFrame, "ATM_RFC1483 (RFC 1483 LLC/SNAP-encapsulated ATM)"},
		{"C_HDLC", 104, ciscoHDLCFrame, "C_HDLC (Cisco HDLC)"},
		{"C_HDLC broadcast", 104, func(ip []byte) []byte { b := ciscoHDLCFrame(ip); b[0] = 0x8f; return b }, "C_HDLC (Cisco HDLC)"},
		{"PPP_PPPD", 166, func(ip []byte) []byte { b := pppFrame(ip, true, false); b[0] = 1; return b }, "PPP_PPPD (PPP for pppd, with direction flag)"},
		{"PPP_WITH_DIR", 204, func(ip []byte) []byte { return append([]byte{0}, pppFrame(ip, true, false)...) }, "PPP_WITH_DIR (PPP with direction)"},
		{"PPP_WITH_DIR, no framing", 204, func(ip []byte) []byte { return append([]byte{1}, pppFrame(ip, false, false)...) }, "PPP_WITH_DIR (PPP with direction)"},
		{"C_HDLC_WITH_DIR", 205, func(ip []byte) []byte { return append([]byte{1}, ciscoHDLCFrame(ip)...) }, "C_HDLC_WITH_DIR (Cisco HDLC with direction)"},
	}
	tested := map[linkType]bool{linkIPv4: true, linkIPv6: true} // below
	for _, tt := range tests {
		tested[linkType(tt.link)] = true
		t.Run(tt.name, func(t *testing.T) {
			segs := append(handshake("10.0.0.1", "10.0.0.2", 40000, 9502),
				handshake("2001:db8::1", "2001:db8::2", 40001, 443)...)
			file := pcapBytes(le, false, tt.link, recordsOf(tt.frame, segs)...)
			r, err := NewReader(bytesReader(file), "x.pcap", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.LinkType(); got != tt.linkName {
				t.Errorf("LinkType() = %q, want %q", got, tt.linkName)
			}
			r.Close()
			res := readAll(t, "x.pcap", file, Options{})
			if res.err != nil || res.warns != nil {
				t.Fatalf("err %v, warnings %q", res.err, res.warns)
			}
			comparePackets(t, res.packets, wants(segs))
		})
	}

	for _, s := range supportedLinkTypes {
		if !tested[s.link] {
			t.Errorf("link type %s is supported but not tested", s.link)
		}
	}

	// Raw IPv4-only and IPv6-only link types.
	for _, tt := range []struct {
		name string
		link uint32
		segs []seg
	}{
		{"raw IPv4 (228)", 228, handshake("192.0.2.1", "192.0.2.2", 1, 2)},
		{"raw IPv6 (229)", 229, handshake("2001:db8::1", "2001:db8::2", 1, 2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x.pcap", pcapBytes(le, false, tt.link, recordsOf(raw, tt.segs)...), Options{})
			if res.err != nil || res.warns != nil {
				t.Fatalf("err %v, warnings %q", res.err, res.warns)
			}
			comparePackets(t, res.packets, wants(tt.segs))
		})
	}
}

// The README's list of link types names every supported one, as
// tcpdump names it.
func TestREADMEListsLinkTypes(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("\nLink types"))
	if start < 0 {
		t.Fatal("README.md has no paragraph starting with \"Link types\"")
	}
	para := readme[start+1:]
	if end := bytes.Index(para, []byte("\n\n")); end >= 0 {
		para = para[:end]
	}
	for _, s := range supportedLinkTypes {
		if !bytes.Contains(para, []byte(s.name+" ")) && !bytes.Contains(para, []byte(s.name+",")) {
			t.Errorf("README's link types do not name %s", s.name)
		}
	}
}
