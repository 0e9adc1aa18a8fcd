package capture

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// "tcp port 9502" keeps exactly the segments of the connection on port
// 9502, on every link type, whatever else is in the file.
func TestFilter(t *testing.T) {
	keep := append(handshake("10.0.0.1", "10.0.0.2", 40000, 9502), handshake("2001:db8::1", "2001:db8::2", 40001, 9502)...)
	drop := append(handshake("10.0.0.1", "10.0.0.2", 40002, 443), handshake("2001:db8::1", "2001:db8::2", 9501, 9503)...)
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[2:], 9502)
	var all []seg
	for i := range keep {
		all = append(all, keep[i], drop[i])
	}
	for _, link := range []uint32{1, 0, 108, 101, 113, 276} {
		t.Run(linkType(link).String(), func(t *testing.T) {
			var recs []rec
			for _, s := range all {
				recs = append(recs, rec{ts: at(0), data: frameFor(link, s.ipBytes())})
			}
			recs = append(recs, rec{ts: at(0), data: frameFor(link, ipv4Bytes(v4a, v4b, 17, udp))})
			for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
				if link == 0 && order == binary.BigEndian {
					// DLT_NULL's family in the writer's byte order: big-endian here.
					for i := range recs {
						copy(recs[i].data, order.AppendUint32(nil, binary.LittleEndian.Uint32(recs[i].data)))
					}
				}
				res := readAll(t, "x.pcap", pcapBytes(order, false, link, recs...), withCompiler(t, Options{Filter: "tcp port 9502"}))
				if res.err != nil {
					t.Fatal(res.err)
				}
				comparePackets(t, res.packets, wants(keep))
				if want := (Stats{Packets: uint64(len(recs)), TCP: uint64(len(keep)), Filtered: uint64(len(recs) - len(keep))}); res.stats != want {
					t.Errorf("stats %+v, want %+v", res.stats, want)
				}
			}
		})
	}

	t.Run("pcapng with several link types", func(t *testing.T) {
		ifaces := []pcapngtest.Interface{{Link: 1}, {Link: 276}, {Link: 229}}
		var recs []rec
		var want []seg
		for i, s := range all {
			iface := i % len(ifaces)
			if iface == 2 && s.srcAddr().Is4() {
				continue
			}
			recs = append(recs, rec{ts: at(0), data: frameFor(uint32(ifaces[iface].Link), s.ipBytes()), iface: iface})
			if s.sport == 9502 || s.dport == 9502 {
				want = append(want, s)
			}
		}
		res := readAll(t, "x.pcapng", pcapngBytes(binary.LittleEndian, ifaces, recs...), withCompiler(t, Options{Filter: "tcp port 9502"}))
		if res.err != nil {
			t.Fatal(res.err)
		}
		comparePackets(t, res.packets, wants(want))
	})
}

func TestFilterErrors(t *testing.T) {
	file := pcapBytes(binary.LittleEndian, false, 1)
	_, err := NewReader(bytesReader(file), "x.pcap", withCompiler(t, Options{Filter: "tcp prot 9502"}))
	want := `x.pcap: invalid filter "tcp prot 9502" for link type EN10MB (Ethernet): `
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "syntax error") || !errors.Is(err, ErrFilter) {
		t.Errorf("got %v, want %s... syntax error", err, want)
	}

	// Valid syntax, impossible on this link type: libpcap says why.
	raw := pcapBytes(binary.LittleEndian, false, 101)
	_, err = NewReader(bytesReader(raw), "raw.pcap", withCompiler(t, Options{Filter: "ether host 1:2:3:4:5:6"}))
	if err == nil || !strings.HasPrefix(err.Error(), `raw.pcap: invalid filter "ether host 1:2:3:4:5:6" for link type RAW (Raw IP): `) {
		t.Errorf("got %v", err)
	}

	// In pcapng, a later interface can bring a link type the filter does
	// not compile for: Next stops there with the error.
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	ng := pcapngBytes(binary.LittleEndian, []pcapngtest.Interface{{Link: 1}, {Link: 101}},
		rec{ts: at(0), data: ethernetIP(s.ipBytes())},
		rec{ts: at(0), data: s.ipBytes(), iface: 1})
	res := readAll(t, "x.pcapng", ng, withCompiler(t, Options{Filter: "ether src 2:0:0:0:0:1"}))
	if res.err == nil || !strings.HasPrefix(res.err.Error(), `x.pcapng: packet 2: invalid filter "ether src 2:0:0:0:0:1" for link type RAW (Raw IP): `) || len(res.packets) != 1 {
		t.Errorf("got %v after %d packets", res.err, len(res.packets))
	}
}

// Without a compiler a filter cannot be applied: ErrFilter says so, as
// for a filter libpcap rejects.
func TestFilterWithoutCompiler(t *testing.T) {
	file := pcapBytes(binary.LittleEndian, false, 1)
	_, err := NewReader(bytesReader(file), "x.pcap", Options{Filter: "tcp"})
	want := `x.pcap: invalid filter "tcp" for link type EN10MB (Ethernet): no filter compiler (Options.FilterCompiler: capture/libpcap's Compiler)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrFilter) {
		t.Errorf("got %v, want %s", err, want)
	}
}
