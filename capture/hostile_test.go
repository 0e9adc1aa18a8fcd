package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"
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
		{"an empty pcapng packet block", pcapngBytes(le, []ngIface{{link: 1}}, recs[0], rec{ts: t0}, recs[1]), []uint64{1, 3},
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
// header and zeros; one op is the whole file, and MB/s the rate at which
// a capture of no packets is read.
func BenchmarkEmptyRecords(b *testing.B) {
	file := append(pcapBytes(binary.LittleEndian, false, 1), zeros(4<<20, 16)...) // 64 MiB
	for _, bc := range []struct {
		name string
		file []byte
	}{
		{"pcap", file},
		{"pcap.gz", gzipped(b, file)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(file))) // uncompressed
			for range b.N {
				r, err := NewReader(bytes.NewReader(bc.file), "zeros", Options{})
				if err != nil {
					b.Fatal(err)
				}
				var p Packet
				if err := r.Next(&p); err != io.EOF {
					b.Fatalf("Next = %v, want io.EOF", err)
				}
				if r.Stats().Malformed != 4<<20 {
					b.Fatalf("stats %+v", r.Stats())
				}
				r.Close()
			}
		})
	}
}
