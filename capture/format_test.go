package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// nanoRecords stamps the handshake with nanosecond-precise times.
func nanoRecords(frame func([]byte) []byte) ([]rec, []Packet) {
	segs := handshake("10.1.1.1", "10.1.1.2", 5555, 80)
	recs := make([]rec, len(segs))
	want := wants(segs)
	for i, s := range segs {
		ts := t0.Add(time.Duration(i)*time.Millisecond + time.Duration(i))
		recs[i] = rec{ts: ts, data: frame(s.ipBytes())}
		want[i].Timestamp = ts
		want[i].Index = uint64(i + 1)
	}
	return recs, want
}

// withMicros rounds the expected timestamps as a microsecond file does.
func withMicros(want []Packet) []Packet {
	out := append([]Packet(nil), want...)
	for i := range out {
		out[i].Timestamp = out[i].Timestamp.Truncate(time.Microsecond)
	}
	return out
}

func pcapgoFile(t *testing.T, nanos bool, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: r.wireLen()}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// pcapgoNgFile writes a pcapng file with pcapgo.NgWriter: interface 0 is
// Ethernet, interface 1 BSD loopback; records say which.
func pcapgoNgFile(t *testing.T, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{
		Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535,
		TimestampResolution: 9,
	}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{
		Name: "lo0", LinkType: layers.LinkTypeNull, SnapLength: 65535,
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: r.wireLen(), InterfaceIndex: r.iface}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFormats(t *testing.T) {
	recs, want := nanoRecords(ethernetIP)
	le, be := binary.LittleEndian, binary.BigEndian
	ethernetOnly := []pcapngtest.Interface{{Link: 1, TSResol: 9}}
	tests := []struct {
		name string
		file []byte
		want []Packet
	}{
		{"pcap little-endian µs", pcapBytes(le, false, 1, recs...), withMicros(want)},
		{"pcap big-endian µs", pcapBytes(be, false, 1, recs...), withMicros(want)},
		{"pcap little-endian ns", pcapBytes(le, true, 1, recs...), want},
		{"pcap big-endian ns", pcapBytes(be, true, 1, recs...), want},
		{"pcap Kuznetzov little-endian", pcapWithMagic(le, pcapMagicKuznetzov, 1, recs...), withMicros(want)},
		{"pcap Kuznetzov big-endian", pcapWithMagic(be, pcapMagicKuznetzov, 1, recs...), withMicros(want)},
		{"pcapgo.Writer", pcapgoFile(t, false, recs), withMicros(want)},
		{"pcapgo.Writer nanos", pcapgoFile(t, true, recs), want},
		{"pcapng little-endian", pcapngBytes(le, ethernetOnly, recs...), want},
		{"pcapng big-endian", pcapngBytes(be, ethernetOnly, recs...), want},
		{"pcapng default µs resolution", pcapngBytes(le, []pcapngtest.Interface{{Link: 1}}, recs...), withMicros(want)},
		{"pcapng 2^-20 s resolution", pcapngBytes(le, []pcapngtest.Interface{{Link: 1, TSResol: 0x80 | 20}}, recs...),
			roundedTo(want, func(ts time.Time) time.Time {
				frac := uint64(ts.Nanosecond()) << 20 / 1e9 // units of 2^-20 s, as written
				return time.Unix(ts.Unix(), int64(frac*1e9>>20)).UTC()
			})},
		{"pcapng if_tsoffset", pcapngBytes(le, []pcapngtest.Interface{{Link: 1, TSResol: 9, HasOffset: true, TSOffset: 1_700_000_000}}, recs...), want},
		{"pcapng via pcapgo.NgWriter", pcapgoNgFile(t, recs), want},
		{"gzip pcap", gzipped(t, pcapBytes(be, true, 1, recs...)), want},
		{"gzip pcapng", gzipped(t, pcapngBytes(le, ethernetOnly, recs...)), want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x.pcap", tt.file, Options{})
			if res.err != nil || res.warns != nil {
				t.Fatalf("err %v, warnings %q", res.err, res.warns)
			}
			comparePackets(t, res.packets, tt.want)
		})
		t.Run(tt.name+"/one byte at a time", func(t *testing.T) {
			// Not seekable, and short reads everywhere: what a pipe can do.
			res := readFrom(t, "-", iotest.OneByteReader(bytes.NewReader(tt.file)), Options{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			comparePackets(t, res.packets, tt.want)
		})
	}
}

func roundedTo(want []Packet, round func(time.Time) time.Time) []Packet {
	out := append([]Packet(nil), want...)
	for i := range out {
		out[i].Timestamp = round(out[i].Timestamp)
	}
	return out
}

// A pcapng file whose interfaces have different link types and timestamp
// resolutions: each packet is decoded with its own interface's.
func TestPcapngMixedInterfaces(t *testing.T) {
	segs := append(handshake("10.0.0.1", "10.0.0.2", 1000, 9502), handshake("2001:db8::1", "2001:db8::2", 1001, 9502)...)
	ifaces := []pcapngtest.Interface{{Link: 1}, {Link: 276, TSResol: 9}, {Link: 0, TSResol: 3}}
	var recs []rec
	var want []Packet
	for i, s := range segs {
		iface := i % 3
		var frame []byte
		switch iface {
		case 0:
			frame = ethernetIP(s.ipBytes())
		case 1:
			frame = linuxSLL2Frame(map[bool]uint16{true: etherIPv4, false: etherIPv6}[s.srcAddr().Is4()], s.ipBytes())
		case 2:
			frame = loopbackFrame(binary.LittleEndian, map[bool]uint32{true: 2, false: 30}[s.srcAddr().Is4()], s.ipBytes())
		}
		ts := t0.Add(time.Duration(i) * time.Second)
		recs = append(recs, rec{ts: ts, data: frame, iface: iface})
		w := s.want()
		w.Index = uint64(i + 1)
		w.Timestamp = ts.Truncate([]time.Duration{time.Microsecond, time.Nanosecond, time.Millisecond}[iface])
		want = append(want, w)
	}
	file := pcapngBytes(binary.BigEndian, ifaces, recs...)

	r, err := NewReader(bytes.NewReader(file), "mixed.pcapng", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// LinkType lists the interfaces seen so far: after NewReader, the first.
	if got, want := r.LinkType(), "EN10MB (Ethernet)"; got != want {
		t.Errorf("LinkType() after NewReader = %q, want %q", got, want)
	}
	err, got := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	comparePackets(t, got, want)
	const wantLinks = "EN10MB (Ethernet), LINUX_SLL2 (Linux cooked v2), NULL (BSD loopback)"
	if got := r.LinkType(); got != wantLinks {
		t.Errorf("LinkType() at the end = %q, want %q", got, wantLinks)
	}

	// pcapgo.NgWriter's own file with two interfaces of different link types.
	recs2, want2 := nanoRecords(func(ip []byte) []byte { return loopbackFrame(binary.LittleEndian, 2, ip) })
	for i := range recs2 {
		if i%2 == 0 {
			recs2[i].data = ethernetIP(recs2[i].data[4:])
		} else {
			recs2[i].iface = 1 // NgWriter always writes nanoseconds
		}
	}
	res := readAll(t, "ng.pcapng", pcapgoNgFile(t, recs2), Options{})
	if res.err != nil || res.warns != nil {
		t.Fatalf("err %v, warnings %q", res.err, res.warns)
	}
	comparePackets(t, res.packets, want2)
}

// Sections restart interface numbering, and may change byte order; other
// block types are skipped; an interface with a link type this package does
// not decode is reported once and its packets counted as non-TCP.
func TestPcapngSectionsAndOddBlocks(t *testing.T) {
	segs := handshake("10.0.0.1", "10.0.0.2", 1000, 9502)
	le, be := binary.LittleEndian, binary.BigEndian
	var file []byte
	file = append(file, pcapngBytes(le, []pcapngtest.Interface{{Link: 1}}, rec{ts: at(0), data: ethernetIP(segs[0].ipBytes())})...)
	file = append(file, pcapngtest.Block(le, 0x0bad, []byte("custom block, skipped"))...)
	file = append(file, pcapngtest.Block(le, 5, make([]byte, 12))...) // interface statistics
	// Second section, big-endian: interface 0 is now raw IP, interface 1 is
	// 802.11 radiotap, which is not supported.
	file = append(file, pcapngBytes(be, []pcapngtest.Interface{{Link: 101}, {Link: 127}},
		rec{ts: at(time.Second), data: segs[1].ipBytes()},
		rec{ts: at(2 * time.Second), data: []byte{0, 0, 8, 0, 0, 0, 0, 0}, iface: 1},
		rec{ts: at(3 * time.Second), data: []byte{0, 0, 8, 0, 0, 0, 0, 0}, iface: 1},
		rec{ts: at(4 * time.Second), data: segs[2].ipBytes()},
	)...)
	// A simple packet block: interface 0, no timestamp.
	spb := be.AppendUint32(nil, uint32(len(segs[3].ipBytes())))
	file = append(file, pcapngtest.Block(be, ngBlockSimplePacket, append(spb, segs[3].ipBytes()...))...)

	res := readAll(t, "s.pcapng", file, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := wants(segs[:4])
	want[0].Index, want[1].Index, want[2].Index, want[3].Index = 1, 2, 5, 6
	comparePackets(t, res.packets, want)
	if got := res.packets[3].Timestamp; !got.Equal(at(4 * time.Second)) {
		t.Errorf("simple packet block got timestamp %v, want the previous block's, %v", got, at(4*time.Second))
	}
	wantWarns := []string{
		"s.pcapng: packet 3: pcapng interface 1: unsupported link type IEEE802_11_RADIO (127); its packets are counted as non-TCP (supported: " +
			supportedLinkTypeNames() + ")",
		"s.pcapng: packet 6: no timestamp (a pcapng simple packet block): given the time of the packet before it",
	}
	if fmt.Sprintf("%q", res.warns) != fmt.Sprintf("%q", wantWarns) {
		t.Errorf("warnings %q, want %q", res.warns, wantWarns)
	}
	if res.stats.NonTCP != 2 || res.stats.TimeWentBack != 0 {
		t.Errorf("stats %+v: want NonTCP 2 and no time going back", res.stats)
	}
}

// tcpdump -w - | tcpfsm -r -: Open("-") reads standard input.
func TestOpenStdin(t *testing.T) {
	recs, want := nanoRecords(ethernetIP)
	file := gzipped(t, pcapBytes(binary.LittleEndian, true, 1, recs...))

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = pr
	t.Cleanup(func() { os.Stdin = saved; pr.Close() })
	go func() {
		pw.Write(file)
		pw.Close()
	}()

	r, err := Open("-", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err, got := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	comparePackets(t, got, want)
}

func TestOpenFile(t *testing.T) {
	recs, want := nanoRecords(ethernetIP)
	name := t.TempDir() + "/capture.pcapng.gz"
	if err := os.WriteFile(name, gzipped(t, pcapngBytes(binary.LittleEndian, []pcapngtest.Interface{{Link: 1, TSResol: 9}}, recs...)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(name, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err, got := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	comparePackets(t, got, want)
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	var p Packet
	if err := r.Next(&p); err != ErrClosed {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// An empty but valid capture is not an error.
func TestEmptyCaptures(t *testing.T) {
	for name, file := range map[string][]byte{
		"pcap":              pcapBytes(binary.LittleEndian, false, 1),
		"pcapng":            pcapngBytes(binary.LittleEndian, []pcapngtest.Interface{{Link: 1}}),
		"pcapng, no iface":  pcapngtest.SectionHeader(binary.LittleEndian),
		"gzip pcap":         gzipped(t, pcapBytes(binary.BigEndian, true, 1)),
		"pcapng, two iface": pcapngBytes(binary.LittleEndian, []pcapngtest.Interface{{Link: 1}, {Link: 113}}),
	} {
		t.Run(name, func(t *testing.T) {
			res := readAll(t, "e", file, Options{})
			if res.err != nil || len(res.packets) != 0 || res.stats != (Stats{}) {
				t.Errorf("got err %v, %d packets, stats %+v", res.err, len(res.packets), res.stats)
			}
			var p Packet
			r, _ := NewReader(bytes.NewReader(file), "e", Options{})
			for range 3 { // io.EOF is sticky
				if err := r.Next(&p); err != io.EOF {
					t.Errorf("Next = %v, want io.EOF", err)
				}
			}
		})
	}
}
