package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// zeros is n records' worth of zero bytes in a file whose record headers
// are hdrLen long: what a capture padded or overwritten with zeros holds.
func zeros(n, hdrLen int) []byte { return make([]byte, n*hdrLen) }

// pcapEmptyRecord is a record header of no captured bytes, stamped ts.
func pcapEmptyRecord(ts time.Time) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(ts.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint32(b, 0)
	return binary.LittleEndian.AppendUint32(b, 60) // a wire length, but nothing captured
}

// A run of records that hold no bytes is counted record by record and
// numbered as such, but read as one: one warning for the run, not one
// per 16 bytes of a file of zeros.
func TestEmptyRecordRuns(t *testing.T) {
	le := binary.LittleEndian
	segs := handshake("10.0.0.1", "10.0.0.2", 40000, 80)
	recs := recordsOf(ethernetIP, segs)
	header := pcapBytes(le, false, 1)
	one := pcapBytes(le, false, 1, recs[0])[len(header):]
	two := pcapBytes(le, false, 1, recs[1])[len(header):]
	const big = 100_000 // 1.6 MB: longer than the read buffer
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name    string
		file    []byte
		packets []uint64 // the indexes of the packets delivered
		warns   []string
		read    uint64
		err     string
	}{
		{"one empty record between packets", cat(header, one, pcapEmptyRecord(t0), two), []uint64{1, 3},
			[]string{"x: packet 2: malformed pcap record: no bytes captured"}, 3, ""},
		{"zeros after the header", cat(header, zeros(big, 16)), nil,
			[]string{fmt.Sprintf("x: packet 1: malformed pcap record: no bytes captured, nor in the %d records after it", big-1)}, big, ""},
		{"zeros, a packet, empty records with times, a packet", cat(header, zeros(big, 16), one, pcapEmptyRecord(t0), pcapEmptyRecord(t0), pcapEmptyRecord(t0), two),
			[]uint64{big + 1, big + 5}, []string{
				fmt.Sprintf("x: packet 1: malformed pcap record: no bytes captured, nor in the %d records after it", big-1),
				fmt.Sprintf("x: packet %d: malformed pcap record: no bytes captured, nor in the 2 records after it", big+2),
			}, big + 5, ""},
		{"zeros ending mid-header", cat(header, one, zeros(big, 16), make([]byte, 10)), []uint64{1},
			[]string{fmt.Sprintf("x: packet 2: malformed pcap record: no bytes captured, nor in the %d records after it", big-1)}, big + 1,
			fmt.Sprintf("x: packet %d: capture truncated mid-record header (need 16 bytes, 10 present)", big+2)},
		{"zeros in a Kuznetzov file", cat(pcapWithMagic(le, pcapMagicKuznetzov, 1), zeros(big, 24)), nil,
			[]string{fmt.Sprintf("x: packet 1: malformed pcap record: no bytes captured, nor in the %d records after it", big-1)}, big, ""},
		{"an empty pcapng packet block", pcapngBytes(le, []pcapngtest.Interface{{Link: 1}}, recs[0], rec{ts: t0}, recs[1]), []uint64{1, 3},
			[]string{"x: packet 2: malformed pcapng packet block: no bytes captured"}, 3, ""},
		{"zeros, gzipped", gzipped(t, cat(header, zeros(big, 16), one)), []uint64{big + 1},
			[]string{fmt.Sprintf("x: packet 1: malformed pcap record: no bytes captured, nor in the %d records after it", big-1)}, big + 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x", tt.file, Options{})
			var got []uint64
			for _, p := range res.packets {
				got = append(got, p.Index)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.packets) {
				t.Errorf("packets %v, want %v", got, tt.packets)
			}
			if fmt.Sprintf("%q", res.warns) != fmt.Sprintf("%q", tt.warns) {
				t.Errorf("warnings\n%q\nwant\n%q", res.warns, tt.warns)
			}
			if res.stats.Packets != tt.read || res.stats.Malformed != tt.read-uint64(len(tt.packets)) {
				t.Errorf("stats %+v, want %d read, %d malformed", res.stats, tt.read, tt.read-uint64(len(tt.packets)))
			}
			if fmt.Sprint(res.err) != fmt.Sprint(tt.err) && !(res.err == nil && tt.err == "") {
				t.Errorf("error %v, want %s", res.err, tt.err)
			}
		})
	}
}

// BenchmarkEmptyRecords reads a capture that holds nothing but a valid
// header and zeros, or records of one byte; one op is the whole file, and
// MB/s the rate at which a capture of no packets is read.
func BenchmarkEmptyRecords(b *testing.B) {
	header := pcapBytes(binary.LittleEndian, false, 1)
	file := append(header, zeros(4<<20, 16)...) // 64 MiB
	oneByte := append(pcapBytes(binary.LittleEndian, false, 1, rec{ts: t0, data: []byte{0}})[len(header):], 0)[:17]
	tiny := append(header, bytes.Repeat(oneByte, 1<<20)...) // 17 MiB
	for _, bc := range []struct {
		name    string
		file    []byte
		size    int // uncompressed
		records int
	}{
		{"pcap", file, len(file), 4 << 20},
		{"pcap.gz", gzipped(b, file), len(file), 4 << 20},
		{"one-byte records", tiny, len(tiny), 1 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(bc.size))
			for range b.N {
				r, err := NewReader(bytes.NewReader(bc.file), "zeros", Options{})
				if err != nil {
					b.Fatal(err)
				}
				var p Packet
				if err := r.Next(&p); err != io.EOF {
					b.Fatalf("Next = %v, want io.EOF", err)
				}
				if r.Stats().Malformed != uint64(bc.records) {
					b.Fatalf("stats %+v", r.Stats())
				}
				r.Close()
			}
		})
	}
}

// pcapngEPBUnits is an enhanced packet block on interface 0 whose
// timestamp is units, as it is written: in the interface's units.
func pcapngEPBUnits(order byteOrder, units uint64, data []byte) []byte {
	return pcapngtest.EnhancedPacket(order, 0, units, data, len(data))
}

// A simple packet block has no timestamp: its packet is given the time
// of the packet before it (1970 with none before it), and one warning at
// the end says how many had none. A zero time read as the year 1, whose
// distance to any real time overflows a time.Duration.
func TestPacketsWithoutTime(t *testing.T) {
	le := binary.LittleEndian
	segs := handshake("10.0.0.1", "10.0.0.2", 40000, 80)
	frame := func(i int) []byte { return ethernetIP(segs[i].ipBytes()) }
	iface := []pcapngtest.Interface{{Link: 1}}
	epb := func(i int, ts time.Time) []byte {
		return pcapngEPB(le, iface[0], rec{ts: ts, data: frame(i)})
	}
	head := pcapngBytes(le, iface)
	cat := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{head}, parts...), nil) }
	epoch := time.Unix(0, 0).UTC()
	tests := []struct {
		name  string
		file  []byte
		times []time.Time
		warns []string
	}{
		{"between timed packets", cat(epb(0, at(0)), pcapngtest.SimplePacket(le, frame(1)), pcapngtest.SimplePacket(le, frame(2)), pcapngtest.SimplePacket(le, frame(3)), epb(4, at(time.Second))),
			[]time.Time{at(0), at(0), at(0), at(0), at(time.Second)},
			[]string{"x: packet 2: no timestamp (a pcapng simple packet block), nor in 2 more packets: each was given the time of the packet before it"}},
		{"the time of a packet that is not TCP", cat(epb(0, at(0)), pcapngEPB(le, iface[0], rec{ts: at(time.Second), data: ethernet(etherARP, make([]byte, 28))}), pcapngtest.SimplePacket(le, frame(1))),
			[]time.Time{at(0), at(time.Second)},
			[]string{"x: packet 3: no timestamp (a pcapng simple packet block): given the time of the packet before it"}},
		{"none before them", cat(pcapngtest.SimplePacket(le, frame(0)), pcapngtest.SimplePacket(le, frame(1)), epb(2, at(0))),
			[]time.Time{epoch, epoch, at(0)},
			[]string{"x: packet 1: no timestamp (a pcapng simple packet block), nor in 1 more packets: each was given the time of the packet before it"}},
		{"reading ends on a cut block", cat(epb(0, at(0)), pcapngtest.SimplePacket(le, frame(1)), epb(2, at(time.Second))[:20]),
			[]time.Time{at(0), at(0)},
			[]string{"x: packet 2: no timestamp (a pcapng simple packet block): given the time of the packet before it"}},
		{"all timed", cat(epb(0, at(0)), epb(1, at(time.Second))), []time.Time{at(0), at(time.Second)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x", tt.file, Options{})
			var got []time.Time
			for _, p := range res.packets {
				got = append(got, p.Timestamp)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.times) {
				t.Errorf("times %v, want %v", got, tt.times)
			}
			if fmt.Sprintf("%q", res.warns) != fmt.Sprintf("%q", tt.warns) {
				t.Errorf("warnings %q, want %q", res.warns, tt.warns)
			}
			if res.stats.TimeWentBack != 0 {
				t.Errorf("%d packets went back in time", res.stats.TimeWentBack)
			}
		})
	}
}

// A pcapng timestamp past what int64 nanoseconds since 1970 hold (2262),
// or before (1677), cannot be a packet's time: the packet is skipped as
// malformed, with a warning naming it, where its time wrapped round to a
// negative one.
func TestTimestampsOutOfRange(t *testing.T) {
	le := binary.LittleEndian
	data := ethernetIP(handshake("10.0.0.1", "10.0.0.2", 40000, 80)[0].ipBytes())
	const (
		late  = "x: packet 1: malformed pcapng packet block header: timestamp after 2262-04-11 23:47:16, the latest a packet can have"
		early = "x: packet 1: malformed pcapng packet block header: timestamp before 1677-09-21 00:12:43, the earliest a packet can have"
	)
	latest := time.Unix(0, math.MaxInt64).UTC()
	tests := []struct {
		name  string
		iface pcapngtest.Interface
		units uint64
		want  time.Time // zero: skipped
		warn  string
	}{
		{"microseconds, all bits set", pcapngtest.Interface{Link: 1}, math.MaxUint64, time.Time{}, late},
		{"microseconds in 2263", pcapngtest.Interface{Link: 1}, uint64(latest.Unix()+366*86400) * 1e6, time.Time{}, late},
		{"microseconds, the last of 2262's that fit", pcapngtest.Interface{Link: 1}, uint64(latest.Unix()) * 1e6, time.Unix(latest.Unix(), 0).UTC(), ""},
		{"tenths of seconds, all bits set", pcapngtest.Interface{Link: 1, TSResol: 1}, math.MaxUint64, time.Time{}, late},
		{"whole seconds (2^-0), 2^63", pcapngtest.Interface{Link: 1, TSResol: 0x80}, 1 << 63, time.Time{}, late},
		{"an offset that overflows", pcapngtest.Interface{Link: 1, HasOffset: true, TSOffset: math.MaxInt64 - 10}, 20e6, time.Time{}, late},
		{"an offset before 1677", pcapngtest.Interface{Link: 1, HasOffset: true, TSOffset: -1 << 40}, 0, time.Time{}, early},
		{"an offset back to 1970", pcapngtest.Interface{Link: 1, HasOffset: true, TSOffset: -1_700_000_000}, 1_700_000_000e6, time.Unix(0, 0).UTC(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := bytes.Join([][]byte{pcapngtest.SectionHeader(le), tt.iface.Block(le), pcapngEPBUnits(le, tt.units, data)}, nil)
			res := readAll(t, "x", file, Options{})
			var warns []string
			if tt.warn != "" {
				warns = []string{tt.warn}
			}
			if fmt.Sprintf("%q", res.warns) != fmt.Sprintf("%q", warns) {
				t.Errorf("warnings %q, want %q", res.warns, warns)
			}
			switch {
			case tt.want.IsZero() && (len(res.packets) != 0 || res.stats.Malformed != 1):
				t.Errorf("got %d packets (stats %+v), want it skipped as malformed", len(res.packets), res.stats)
			case !tt.want.IsZero() && (len(res.packets) != 1 || !res.packets[0].Timestamp.Equal(tt.want)):
				t.Errorf("got %v, want one packet at %v", res.packets, tt.want)
			}
		})
	}
}

// A pcapng section keeps its first maxInterfaces interface descriptions:
// a file of interface blocks (20 bytes each) held 32 bytes for each, and
// 970 KB of gzip made 1.97 GB. A packet on an interface past the bound is
// skipped as malformed and says why; the next section starts afresh.
func TestPcapngInterfacesAreBounded(t *testing.T) {
	le := binary.LittleEndian
	data := ethernetIP(handshake("10.0.0.1", "10.0.0.2", 40000, 80)[0].ipBytes())
	const n = maxInterfaces + 50_000
	var b bytes.Buffer
	b.Write(pcapngtest.SectionHeader(le))
	idb := pcapngtest.Interface{Link: 1}.Block(le)
	for range n {
		b.Write(idb)
	}
	epb := func(iface int) []byte {
		return pcapngEPB(le, pcapngtest.Interface{Link: 1}, rec{ts: t0, data: data, iface: iface})
	}
	b.Write(epb(0))
	b.Write(epb(maxInterfaces - 1))
	b.Write(epb(maxInterfaces))
	b.Write(epb(n))
	b.Write(pcapngtest.SectionHeader(le))
	b.Write(idb)
	b.Write(epb(0))
	file := b.Bytes()

	res := readAll(t, "x", file, Options{})
	want := []string{
		fmt.Sprintf("x: packet 3: malformed pcapng packet block header: interface %d not kept (a section keeps its first %d interface descriptions; this one has %d)", maxInterfaces, maxInterfaces, n),
		fmt.Sprintf("x: packet 4: malformed pcapng packet block header: interface %d not described (%d interfaces)", n, n),
	}
	if fmt.Sprintf("%q", res.warns) != fmt.Sprintf("%q", want) {
		t.Errorf("warnings\n%q\nwant\n%q", res.warns, want)
	}
	if len(res.packets) != 3 || res.stats.Malformed != 2 || res.err != nil {
		t.Errorf("%d packets, stats %+v, error %v; want 3 packets and 2 malformed", len(res.packets), res.stats, res.err)
	}

	// What the reader holds: the bound, not every block.
	src, _, err := openSource(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	f := src.(*pcapngFile)
	var rec record
	for range 4 {
		if err := f.next(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.ifaces) != maxInterfaces || f.ignored != n-maxInterfaces {
		t.Errorf("holds %d interfaces and ignored %d; want %d and %d", len(f.ifaces), f.ignored, maxInterfaces, n-maxInterfaces)
	}
}

// Link types are kept as a set: a file that brings all 65,536 of them,
// one interface each over many sections, lists each once.
func TestPcapngEveryLinkType(t *testing.T) {
	le := binary.LittleEndian
	var b bytes.Buffer
	for link := range 1 << 16 {
		if link%1000 == 0 {
			b.Write(pcapngtest.SectionHeader(le))
		}
		b.Write(pcapngtest.Interface{Link: uint16(link)}.Block(le))
		b.Write(pcapngtest.Interface{Link: 1}.Block(le))
	}
	src, _, err := openSource(&b)
	if err != nil {
		t.Fatal(err)
	}
	var rec record
	if err := src.next(&rec); err != io.EOF {
		t.Fatalf("next = %v, want io.EOF", err)
	}
	if got := len(src.linkTypes()); got != 1<<16 {
		t.Errorf("%d link types listed, want %d", got, 1<<16)
	}
}
