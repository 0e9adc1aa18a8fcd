package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	le := binary.LittleEndian
	version1 := pcapBytes(le, false, 1)
	le.PutUint16(version1[4:], 1)
	badNgOrder := pcapngtest.SectionHeader(le)
	le.PutUint32(badNgOrder[8:], 0x11223344)

	tests := []struct {
		name, path string
		want       string
		is         error
	}{
		{"missing", filepath.Join(dir, "x.pcap"),
			filepath.Join(dir, "x.pcap") + ": open " + filepath.Join(dir, "x.pcap") + ": no such file or directory", fs.ErrNotExist},
		{"HTML", write("capture.pcap", []byte("<html><body>Not found</body></html>")),
			"capture.pcap: not a pcap or pcapng file (magic 0x3c68746d)", ErrNotCapture},
		{"empty", write("empty.pcap", nil), "empty.pcap: not a pcap or pcapng file (empty)", ErrNotCapture},
		{"three bytes", write("three.pcap", []byte{0xd4, 0xc3, 0xb2}), "three.pcap: not a pcap or pcapng file (only 3 bytes)", ErrNotCapture},
		{"global header cut", write("cut.pcap", pcapBytes(le, false, 1)[:10]),
			"cut.pcap: capture truncated in the file header (need 24 bytes, 10 present)", ErrTruncated},
		{"gzip of garbage", write("junk.pcap.gz", gzipped(t, []byte("hello, world"))),
			"junk.pcap.gz: not a pcap or pcapng file (magic 0x68656c6c)", ErrNotCapture},
		{"gzip header cut", write("cut.pcap.gz", gzipped(t, pcapBytes(le, false, 1))[:5]),
			"cut.pcap.gz: reading gzip header: unexpected EOF", nil},
		{"pcap version 1", write("v1.pcap", version1),
			"v1.pcap: not a pcap or pcapng file: pcap version 1.4, only 2.x is supported", ErrNotCapture},
		{"unsupported link type", write("wifi.pcap", pcapBytes(le, false, 127)),
			"wifi.pcap: unsupported link type IEEE802_11_RADIO (127) (supported: NULL (0), EN10MB (1), ARCNET (7), PPP (9), FDDI (10), RAW (12), " +
				"RAW (14), PPP_SERIAL (50), PPP_ETHER (51), ATM_RFC1483 (100), RAW (101), C_HDLC (104), LOOP (108), LINUX_SLL (113), " +
				"ARCNET_LINUX (129), PPP_PPPD (166), JUNIPER_PPPOE (167), JUNIPER_ETHER (178), JUNIPER_PPP (179), JUNIPER_CHDLC (181), " +
				"PPP_WITH_DIR (204), C_HDLC_WITH_DIR (205), IPV4 (228), IPV6 (229), IPOIB (242), LINUX_SLL2 (276))", ErrUnsupportedLinkType},
		{"pcapng section header cut", write("cut.pcapng", pcapngtest.SectionHeader(le)[:20]),
			"cut.pcapng: capture truncated mid-block (block header says 28 bytes, 20 present)", ErrTruncated},
		{"pcapng bad byte-order magic", write("order.pcapng", badNgOrder),
			"order.pcapng: corrupt capture: pcapng section header with byte-order magic 0x11223344", ErrCorrupt},
		{"pcapng bad block length", write("len.pcapng", append(pcapngtest.SectionHeader(le), 1, 0, 0, 0, 7, 0, 0, 0)),
			"len.pcapng: corrupt capture: pcapng block type 1 with length 7 (must be a multiple of 4, at least 12)", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir)
			name := tt.path
			if rel, err := filepath.Rel(dir, tt.path); err == nil && tt.name != "missing" {
				name = rel
			}
			r, err := Open(name, Options{})
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// A file cut short: every packet before the cut is delivered, then Next
// reports the cut.
func TestTruncatedFile(t *testing.T) {
	segs := handshake("10.0.0.1", "10.0.0.2", 1, 2)
	recs := recordsOf(ethernetIP, segs)
	le := binary.LittleEndian
	pcap := pcapBytes(le, false, 1, recs...)
	ng := pcapngBytes(le, []pcapngtest.Interface{{Link: 1}}, recs...)
	lastRecord := len(pcapBytes(le, false, 1, recs[len(recs)-1:]...)) - pcapFileHeaderLen
	lastFrame := len(recs[len(recs)-1].data)
	lastBlock := len(pcapngEPB(le, pcapngtest.Interface{Link: 1}, recs[len(recs)-1]))

	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"pcap record header cut", pcap[:len(pcap)-lastRecord+7],
			"x.pcap: packet 6: capture truncated mid-record header (need 16 bytes, 7 present)"},
		{"pcap record body cut", pcap[:len(pcap)-lastFrame+30],
			"x.pcap: packet 6: capture truncated mid-record (record header says 54 bytes, 30 present)"},
		{"pcap.gz record body cut", gzipped(t, pcap[:len(pcap)-lastFrame+30]),
			"x.pcap: packet 6: capture truncated mid-record (record header says 54 bytes, 30 present)"},
		{"pcapng block header cut", ng[:len(ng)-lastBlock+5],
			"x.pcap: packet 6: capture truncated mid-block header (need 8 bytes, 5 present)"},
		{"pcapng block body cut", ng[:len(ng)-lastBlock+40],
			"x.pcap: packet 6: capture truncated mid-block (block header says 88 bytes, 40 present)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x.pcap", tt.file, Options{})
			if res.err == nil || res.err.Error() != tt.want {
				t.Errorf("error\n got %v\nwant %s", res.err, tt.want)
			}
			if !errors.Is(res.err, ErrTruncated) {
				t.Errorf("%v does not wrap ErrTruncated", res.err)
			}
			var pe *PacketError
			if !errors.As(res.err, &pe) || pe.File != "x.pcap" || pe.Index != 6 {
				t.Errorf("error %#v: want a *PacketError for x.pcap packet 6", res.err)
			}
			if len(res.packets) != 5 {
				t.Errorf("got %d packets before the cut, want 5", len(res.packets))
			}
		})
	}
}

// A gzip file missing its trailer: the capture inside is complete, the file
// is not, and that is reported after the last packet.
func TestGzipTrailerCut(t *testing.T) {
	recs := recordsOf(ethernetIP, handshake("10.0.0.1", "10.0.0.2", 1, 2))
	gz := gzipped(t, pcapBytes(binary.LittleEndian, false, 1, recs...))
	res := readAll(t, "x.pcap.gz", gz[:len(gz)-8], Options{})
	want := "x.pcap.gz: packet 7: capture truncated mid-record header (need 16 bytes, 0 present)"
	if res.err == nil || res.err.Error() != want || len(res.packets) != 6 {
		t.Errorf("got %v after %d packets, want %s after 6", res.err, len(res.packets), want)
	}
}

// A gzip file whose checksum does not match: the data read is delivered,
// then the gzip error is reported.
func TestGzipChecksum(t *testing.T) {
	recs := recordsOf(ethernetIP, handshake("10.0.0.1", "10.0.0.2", 1, 2))
	gz := gzipped(t, pcapBytes(binary.LittleEndian, false, 1, recs...))
	gz[len(gz)-8] ^= 0xff // CRC-32
	res := readAll(t, "x.pcap.gz", gz, Options{})
	if res.err == nil || res.err.Error() != "x.pcap.gz: packet 7: gzip: invalid checksum" {
		t.Errorf("got error %v", res.err)
	}
	if len(res.packets) != 6 {
		t.Errorf("got %d packets, want 6", len(res.packets))
	}
}

// Broken pcapng packet blocks whose framing is intact are skipped like
// malformed packets.
func TestPcapngBadPacketBlocks(t *testing.T) {
	le := binary.LittleEndian
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagSYN}
	good := rec{ts: at(0), data: ethernetIP(s.ipBytes())}
	iface := pcapngtest.Interface{Link: 1}

	unknownIface := pcapngEPB(le, iface, good)
	le.PutUint32(unknownIface[8:], 5)
	capPastEnd := pcapngEPB(le, iface, good)
	le.PutUint32(capPastEnd[8+12:], 5000)

	var file []byte
	file = append(file, pcapngBytes(le, []pcapngtest.Interface{iface}, good)...)
	file = append(file, unknownIface...)
	file = append(file, capPastEnd...)
	file = append(file, pcapngtest.Block(le, pcapngtest.TypeEnhancedPacket, make([]byte, 8))...)
	file = append(file, pcapngEPB(le, iface, good)...)

	res := readAll(t, "x.pcapng", file, Options{})
	want := []string{
		"x.pcapng: packet 2: malformed pcapng packet block header: interface 5 not described (1 interfaces)",
		"x.pcapng: packet 3: malformed pcapng packet block header: captured length 5000 past the block end (56 bytes)",
		"x.pcapng: packet 4: malformed pcapng packet block header: 8 bytes (< 20)",
	}
	if res.err != nil || len(res.packets) != 2 || res.stats.Malformed != 3 {
		t.Errorf("err %v, %d packets, stats %+v", res.err, len(res.packets), res.stats)
	}
	if len(res.warns) != len(want) {
		t.Fatalf("warnings %q, want %q", res.warns, want)
	}
	for i := range want {
		if res.warns[i] != want[i] {
			t.Errorf("warning\n got %q\nwant %q", res.warns[i], want[i])
		}
	}

	// A block that lies about its length cannot be skipped: reading stops.
	mismatch := pcapngEPB(le, iface, good)
	le.PutUint32(mismatch[len(mismatch)-4:], 12)
	res = readAll(t, "x.pcapng", append(pcapngBytes(le, []pcapngtest.Interface{iface}, good), mismatch...), Options{})
	if res.err == nil || res.err.Error() != "x.pcapng: packet 2: corrupt capture: pcapng block type 6 says length 88 at its start and 12 at its end" ||
		!errors.Is(res.err, ErrCorrupt) || len(res.packets) != 1 {
		t.Errorf("got %v after %d packets", res.err, len(res.packets))
	}

	// An interface with an impossible timestamp resolution.
	bad := pcapngtest.Interface{Link: 1, TSResol: 0x80 | 64}.Block(le)
	_, err := NewReader(bytes.NewReader(append(pcapngtest.SectionHeader(le), bad...)), "x.pcapng", Options{})
	if err == nil || err.Error() != "x.pcapng: corrupt capture: pcapng interface 0: timestamp resolution 0xc0 not supported" {
		t.Errorf("got %v", err)
	}
}

// A record or block longer than libpcap allows is corruption, whether or
// not the file holds that many bytes: the reader stops there instead of
// buffering what the length says (4 GiB here).
func TestOverlongRecords(t *testing.T) {
	le := binary.LittleEndian
	huge := pcapBytes(le, false, 1, rec{ts: at(0), data: make([]byte, 100)})
	le.PutUint32(huge[pcapFileHeaderLen+8:], 0xffffffff)
	justOver := pcapBytes(le, false, 1, rec{ts: at(0), data: make([]byte, 262145)}, rec{ts: at(1), data: make([]byte, 60)})
	atLimit := pcapBytes(le, false, 1, rec{ts: at(0), data: make([]byte, 262144)})
	bigBlock := append(pcapngBytes(le, []pcapngtest.Interface{{Link: 1}}, rec{ts: at(0), data: make([]byte, 60)}), 0xad, 0x0b, 0, 0, 0, 0, 0, 0)
	le.PutUint32(bigBlock[len(bigBlock)-4:], 16<<20+4)
	bigBlock = append(bigBlock, make([]byte, 16<<20+4-8)...)

	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"4 GiB record", huge, "x.pcap: packet 1: corrupt capture: record of 4294967295 bytes, more than 262144 (libpcap's limit)"},
		{"262145 bytes", justOver, "x.pcap: packet 1: corrupt capture: record of 262145 bytes, more than 262144 (libpcap's limit)"},
		{"262144 bytes", atLimit, ""},
		{"pcapng block over 16 MiB", bigBlock, "x.pcap: packet 2: corrupt capture: pcapng block type 2989 of 16777220 bytes, more than 16777216 (libpcap's limit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, "x.pcap", tt.file, Options{})
			if got := fmt.Sprint(res.err); tt.want != "" && got != tt.want || tt.want == "" && res.err != nil {
				t.Errorf("got %v, want %q", res.err, tt.want)
			}
			if tt.want != "" && !errors.Is(res.err, ErrCorrupt) {
				t.Errorf("%v is not ErrCorrupt", res.err)
			}
		})
	}
}
