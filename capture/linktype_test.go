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
		{"ARCNET, RFC 1201", 7, func(ip []byte) []byte { return arcnetFrame(ip, false, false, false) }, "ARCNET (BSD ARCNET)"},
		{"ARCNET, RFC 1201 exception frame", 7, func(ip []byte) []byte { return arcnetFrame(ip, false, false, true) }, "ARCNET (BSD ARCNET)"},
		{"ARCNET, RFC 1051", 7, func(ip []byte) []byte { return arcnetFrame(ip, false, true, false) }, "ARCNET (BSD ARCNET)"},
		{"ARCNET_LINUX", 129, func(ip []byte) []byte { return arcnetFrame(ip, true, false, false) }, "ARCNET_LINUX (Linux ARCNET)"},
		{"ARCNET_LINUX, RFC 1051", 129, func(ip []byte) []byte { return arcnetFrame(ip, true, true, false) }, "ARCNET_LINUX (Linux ARCNET)"},
		{"JUNIPER_PPPOE", 167, func(ip []byte) []byte {
			return append(juniperHeader(true, 0), ethernet(etherPPPoE, pppoeSession(ip))...)
		}, "JUNIPER_PPPOE (Juniper PPPoE)"},
		{"JUNIPER_ETHER", 178, func(ip []byte) []byte { return append(juniperHeader(false, 0), ethernetIP(ip)...) }, "JUNIPER_ETHER (Juniper Ethernet)"},
		{"JUNIPER_ETHER, extensions", 178, func(ip []byte) []byte { return append(juniperHeader(true, 0), ethernetIP(ip)...) }, "JUNIPER_ETHER (Juniper Ethernet)"},
		{"JUNIPER_ETHER, no L2 header", 178, func(ip []byte) []byte { return juniperNoL2(ip, true) }, "JUNIPER_ETHER (Juniper Ethernet)"},
		{"JUNIPER_ETHER, no magic", 178, ethernetIP, "JUNIPER_ETHER (Juniper Ethernet)"},
		{"JUNIPER_PPP", 179, func(ip []byte) []byte { return append(juniperHeader(true, 0), pppFrame(ip, true, false)...) }, "JUNIPER_PPP (Juniper PPP)"},
		{"JUNIPER_PPP, no L2 header", 179, func(ip []byte) []byte { return juniperNoL2(ip, false) }, "JUNIPER_PPP (Juniper PPP)"},
		{"JUNIPER_CHDLC", 181, func(ip []byte) []byte { return append(juniperHeader(true, 0), ciscoHDLCFrame(ip)...) }, "JUNIPER_CHDLC (Juniper C-HDLC)"},
		{"IPOIB", 242, ipoibFrame, "IPOIB (RFC 4391 IP-over-Infiniband)"},
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
// tcpdump names it, and no other.
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
	supported := map[string]bool{}
	for _, s := range supportedLinkTypes {
		supported[s.name] = true
		if !bytes.Contains(para, []byte(s.name+" ")) && !bytes.Contains(para, []byte(s.name+",")) && !bytes.Contains(para, []byte(s.name+"\n")) {
			t.Errorf("README's link types do not name %s", s.name)
		}
	}
	// Every name in capitals and underscores in the list (its first
	// sentence), outside parentheses, is a link type's ("EN10MB
	// (Ethernet, with 802.1Q ...)").
	depth := 0
	for i, c := range para {
		switch {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '.' && depth == 0 && i+1 < len(para) && (para[i+1] == ' ' || para[i+1] == '\n'):
			para = para[:i]
		}
	}
	para = para[bytes.IndexByte(para, ':')+1:] // "Link types, as tcpdump names them:"
	depth = 0
	for _, word := range bytes.FieldsFunc(para, func(r rune) bool {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		}
		return depth > 0 || !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	}) {
		if name := string(word); !supported[name] {
			t.Errorf("README's link types name %s, which is not supported", name)
		}
	}
}

// The rarer link headers on frames that are not TCP or are cut short:
// each is non-TCP or malformed with its own message, never a panic.
func TestRareLinkHeaders(t *testing.T) {
	ip := handshake("10.0.0.1", "10.0.0.2", 40000, 9502)[0].ipBytes()
	arp := make([]byte, 28)
	tests := []struct {
		name    string
		link    linkType
		frame   []byte
		verdict verdict
		err     string
	}{
		{"IPOIB ARP", linkIPoIB, append(ipoibFrame(ip)[:40], append([]byte{0x08, 0x06, 0, 0}, arp...)...), verdictNonTCP, ""},
		{"IPOIB too short", linkIPoIB, ipoibFrame(ip)[:43], verdictMalformed, "malformed IPoIB header: frame too short (43 bytes, need 44)"},
		{"ARCNET RFC 1201 ARP", linkARCNET, append([]byte{1, 2, 213}, arp...), verdictNonTCP, ""},
		{"ARCNET no protocol ID", linkARCNET, []byte{1, 2}, verdictMalformed, "malformed ARCNET header: frame too short (2 bytes, need 3)"},
		{"ARCNET_LINUX no protocol ID", linkARCNETLinux, []byte{1, 2, 0, 0}, verdictMalformed, "malformed ARCNET header: frame too short (4 bytes, need 5)"},
		{"ARCNET RFC 1201 without the sequence number", linkARCNET, []byte{1, 2, arcnetIPv4RFC1201, 0, 0}, verdictMalformed,
			"malformed ARCNET header: frame too short for the RFC 1201 split flag and sequence number (2 bytes, need 3)"},
		{"ARCNET exception frame cut", linkARCNET, []byte{1, 2, arcnetIPv4RFC1201, 0xff, 0xff}, verdictMalformed,
			"malformed ARCNET header: exception frame too short (2 bytes after the protocol ID, need 4)"},
		{"ARCNET_LINUX 0xff split flag is no exception", linkARCNETLinux, append([]byte{1, 2, 0, 0, arcnetIPv4RFC1201, 0xff, 0, 1}, ip...), verdictTCP, ""},
		{"JUNIPER_ETHER extension length past the frame", linkJuniperEther, []byte{'M', 'G', 'C', 0x81, 0, 200, 1, 2}, verdictMalformed,
			"malformed Juniper header: frame too short (8 bytes, need 206)"},
		{"JUNIPER_ETHER no extension length", linkJuniperEther, []byte{'M', 'G', 'C', 0x81, 0}, verdictMalformed,
			"malformed Juniper header: frame too short for the extension length (5 bytes, need 6)"},
		{"JUNIPER_ETHER no L2, protocol cut", linkJuniperEther, []byte{'M', 'G', 'C', 0x03, 2, 0}, verdictMalformed,
			"malformed Juniper header: frame too short (6 bytes, need 8)"},
		{"JUNIPER_ETHER no L2, MPLS", linkJuniperEther, append([]byte{'M', 'G', 'C', 0x03, 5, 0, 0, 0}, ip...), verdictNonTCP, ""},
		{"JUNIPER_PPP without the framing", linkJuniperPPP, []byte{'M', 'G', 'C', 0x01, 0xff}, verdictMalformed,
			"malformed Juniper PPP header: frame too short (1 bytes, need 2)"},
		{"JUNIPER_PPP LCP", linkJuniperPPP, []byte{'M', 'G', 'C', 0x01, 0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, verdictNonTCP, ""},
		{"JUNIPER_CHDLC SLARP", linkJuniperCHDLC, []byte{'M', 'G', 'C', 0x01, 0x8f, 0, 0x80, 0x35, 0, 0, 0, 0}, verdictNonTCP, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder(false)
			p, ok := d.parser(tt.link)
			if !ok {
				t.Fatalf("no parser for %s", tt.link)
			}
			var pkt Packet
			v, err := d.decode(tt.link, p, tt.frame, 0, &pkt)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if v != tt.verdict || got != tt.err {
				t.Errorf("verdict %d, error %q; want %d, %q", v, got, tt.verdict, tt.err)
			}
		})
	}
}
