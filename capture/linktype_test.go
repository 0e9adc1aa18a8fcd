package capture

import (
	"encoding/binary"
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
	}
	for _, tt := range tests {
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
