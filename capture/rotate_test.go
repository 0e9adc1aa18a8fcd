package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// savedFile is a pcap file a RotatingWriter left: its header's link type
// and snaplen, and the timestamps and lengths of its records.
type savedFile struct {
	link, snaplen uint32
	times         []time.Time
	lens          []int
}

// readSaved parses a file as PcapWriter writes it, failing the test unless
// it is a whole classic pcap file: a header, then whole records.
func readSaved(t *testing.T, path string) savedFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < pcapFileHeaderLen || leOrder.Uint32(b) != pcapMagicNanos {
		t.Fatalf("%s: %d bytes, not a pcap file with nanosecond timestamps", path, len(b))
	}
	sf := savedFile{link: leOrder.Uint32(b[20:]), snaplen: leOrder.Uint32(b[16:])}
	for b = b[pcapFileHeaderLen:]; len(b) > 0; {
		if len(b) < pcapRecordHeaderLen {
			t.Fatalf("%s: %d bytes left after the last whole record", path, len(b))
		}
		n := int(leOrder.Uint32(b[8:]))
		if len(b) < pcapRecordHeaderLen+n {
			t.Fatalf("%s: a record of %d bytes is cut at %d", path, n, len(b)-pcapRecordHeaderLen)
		}
		sf.times = append(sf.times, time.Unix(int64(leOrder.Uint32(b)), int64(leOrder.Uint32(b[4:]))).UTC())
		sf.lens = append(sf.lens, n)
		b = b[pcapRecordHeaderLen+n:]
	}
	return sf
}

// TestRotatingWriter: which files a rotation leaves, named as tcpdump
// names them, and which packets each holds. Packet i is stamped
// start+at[i] seconds and has size[i] bytes (100 if size is nil); a record
// is 16 bytes of header and its packet, a file 24 bytes of header and its
// records.
func TestRotatingWriter(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	clock := func(sec int) string { return start.Add(time.Duration(sec) * time.Second).Local().Format("150405") }
	one := int64(24 + 116) // a file of one 100-byte packet
	tests := []struct {
		name   string
		rot    Rotation
		at     []int
		size   []int
		want   map[string][]int // file name: the packets it holds
		wantEO int              // the packet ErrFileLimit refuses (0: none)
	}{
		{"no rotation", Rotation{Name: "cap"}, []int{0, 1, 100}, nil,
			map[string][]int{"cap": {0, 1, 2}}, 0},
		{"-C: two records a file", Rotation{Name: "cap", FileSize: 24 + 2*116}, []int{0, 0, 0, 0, 0}, nil,
			map[string][]int{"cap": {0, 1}, "cap1": {2, 3}, "cap2": {4}}, 0},
		{"-C: a byte short of two records", Rotation{Name: "cap", FileSize: 24 + 2*116 - 1}, []int{0, 0, 0}, nil,
			map[string][]int{"cap": {0}, "cap1": {1}, "cap2": {2}}, 0},
		{"-C: packets of different sizes", Rotation{Name: "cap", FileSize: 24 + 16*3 + 300}, []int{0, 0, 0, 0, 0}, []int{100, 150, 50, 250, 10},
			map[string][]int{"cap": {0, 1, 2}, "cap1": {3, 4}}, 0},
		{"-C: a record bigger than a file goes alone", Rotation{Name: "cap", FileSize: 100}, []int{0, 0}, []int{200, 200},
			map[string][]int{"cap": {0}, "cap1": {1}}, 0},
		{"-C -W 3: names reused cyclically", Rotation{Name: "cap", FileSize: one, Files: 3}, []int{0, 0, 0, 0, 0}, nil,
			map[string][]int{"cap0": {3}, "cap1": {4}, "cap2": {2}}, 0},
		{"-C -W 10: one digit", Rotation{Name: "cap", FileSize: one, Files: 10}, []int{0, 0}, nil,
			map[string][]int{"cap0": {0}, "cap1": {1}}, 0},
		{"-C -W 11: two digits", Rotation{Name: "cap", FileSize: one, Files: 11}, []int{0, 0}, nil,
			map[string][]int{"cap00": {0}, "cap01": {1}}, 0},
		{"-C -W 1: one file, rewritten", Rotation{Name: "cap", FileSize: one, Files: 1}, []int{0, 0, 0}, nil,
			map[string][]int{"cap": {2}}, 0},
		{"-G 10: a file from each packet 10 s after the last file began", Rotation{Name: "t-%H%M%S", Interval: 10 * time.Second}, []int{0, 5, 10, 19, 20, 45}, nil,
			map[string][]int{"t-" + clock(0): {0, 1}, "t-" + clock(10): {2, 3}, "t-" + clock(20): {4}, "t-" + clock(45): {5}}, 0},
		{"-G without a conversion: the name is rewritten", Rotation{Name: "cap", Interval: time.Second}, []int{0, 1, 2}, nil,
			map[string][]int{"cap": {2}}, 0},
		{"-G 10 -W 2: the capture ends at the third file", Rotation{Name: "t-%H%M%S", Interval: 10 * time.Second, Files: 2}, []int{0, 10, 11, 20, 30}, nil,
			map[string][]int{"t-" + clock(0): {0}, "t-" + clock(10): {1, 2}}, 3},
		{"-G -C: numbers start again each interval", Rotation{Name: "t-%M%S-", Interval: 10 * time.Second, FileSize: one}, []int{0, 1, 10, 11, 12}, nil,
			map[string][]int{"t-" + clock(0)[2:] + "-": {0}, "t-" + clock(0)[2:] + "-1": {1}, "t-" + clock(10)[2:] + "-": {2}, "t-" + clock(10)[2:] + "-1": {3}, "t-" + clock(10)[2:] + "-2": {4}}, 0},
		{"-G -C -W 3: -W pads and wraps but ends nothing", Rotation{Name: "t-%M%S-", Interval: 10 * time.Second, FileSize: one, Files: 3}, []int{0, 1, 10, 20, 21, 22, 23}, nil,
			map[string][]int{"t-" + clock(0)[2:] + "-0": {0}, "t-" + clock(0)[2:] + "-1": {1}, "t-" + clock(10)[2:] + "-0": {2},
				"t-" + clock(20)[2:] + "-0": {6}, "t-" + clock(20)[2:] + "-1": {4}, "t-" + clock(20)[2:] + "-2": {5}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rot := tt.rot
			rot.Name = filepath.Join(dir, rot.Name)
			rot.Now = func() time.Time { return start }
			w, err := NewRotatingWriter(rot)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Start(uint32(linkEthernet), 262144); err != nil {
				t.Fatal(err)
			}
			ts := make([]time.Time, len(tt.at))
			refused := 0
			for i, sec := range tt.at {
				// Nanoseconds show the timestamps are kept exactly.
				ts[i] = start.Add(time.Duration(sec)*time.Second + time.Duration(i+1)*1001)
				size := 100
				if tt.size != nil {
					size = tt.size[i]
				}
				err := w.WritePacket(ts[i], bytes.Repeat([]byte{byte(i)}, size), size+4)
				if errors.Is(err, ErrFileLimit) {
					if refused == 0 {
						refused = i
					}
					continue
				}
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if refused != tt.wantEO || w.Complete() != (tt.wantEO != 0) {
				t.Errorf("ErrFileLimit first at packet %d, Complete %v; want %d", refused, w.Complete(), tt.wantEO)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names, wantNames []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			for n := range tt.want {
				wantNames = append(wantNames, n)
			}
			slices.Sort(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Fatalf("files %q, want %q", names, wantNames)
			}
			for name, idx := range tt.want {
				path := filepath.Join(dir, name)
				sf := readSaved(t, path)
				var want []time.Time
				for _, i := range idx {
					want = append(want, ts[i])
				}
				if sf.link != uint32(linkEthernet) || sf.snaplen != 262144 || !slices.EqualFunc(sf.times, want, time.Time.Equal) {
					t.Errorf("%s: link %d, snaplen %d, packets stamped %v; want 1, 262144, %v", name, sf.link, sf.snaplen, sf.times, want)
				}
				if fi, _ := os.Stat(path); tt.rot.FileSize > 0 && fi.Size() > tt.rot.FileSize && len(sf.times) > 1 {
					t.Errorf("%s: %d bytes, over -C's %d", name, fi.Size(), tt.rot.FileSize)
				}
			}
		})
	}
}

// A rotated capture read back as a set is the capture written in one
// file: every packet, in order, with its timestamp, whatever file it is in.
func TestRotatedFilesReadAsOneCapture(t *testing.T) {
	var segs []seg
	for i := range 20 {
		segs = append(segs, handshake("10.0.0.1", "192.0.2.7", uint16(40000+i), 443)...)
	}
	recs := recordsOf(ethernetIP, segs)
	dir := t.TempDir()
	one, err := NewRotatingWriter(Rotation{Name: filepath.Join(dir, "one.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := NewRotatingWriter(Rotation{Name: filepath.Join(dir, "rot", "r.pcap"), FileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "rot"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*RotatingWriter{one, rot} {
		if err := w.Start(uint32(linkEthernet), 262144); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := w.WritePacket(r.ts, r.data, r.wireLen()); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files, err := SetFiles([]string{filepath.Join(dir, "rot") + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("%d files of at most 1000 bytes for %d records: want several", len(files), len(recs))
	}
	s, err := OpenSet(files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fromSet []Packet
	for {
		var p Packet
		if err := s.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		fromSet = append(fromSet, p)
	}
	r, err := Open(filepath.Join(dir, "one.pcap"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err, fromOne := drain(r)
	if err != nil || len(fromOne) != len(recs) || len(fromSet) != len(fromOne) {
		t.Fatalf("%d packets from the set, %d from one file (%v); want %d", len(fromSet), len(fromOne), err, len(recs))
	}
	for i := range fromOne {
		a, b := fromOne[i], fromSet[i]
		if !a.Timestamp.Equal(b.Timestamp) || a.SrcPort != b.SrcPort || a.Seq != b.Seq || a.Flags != b.Flags {
			t.Errorf("packet %d: from the set %+v, from one file %+v", i+1, b, a)
		}
	}
}

// A file that cannot be created fails Start, or the write that rotates to
// it, naming it; and Remove takes back the first file of a capture that
// could not start.
func TestRotatingWriterErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewRotatingWriter(Rotation{}); err == nil {
		t.Error("an empty name: no error")
	}
	if _, err := NewRotatingWriter(Rotation{Name: "x", FileSize: -1}); err == nil {
		t.Error("a negative file size: no error")
	}
	missing := filepath.Join(dir, "no-such-dir", "x.pcap")
	w, _ := NewRotatingWriter(Rotation{Name: missing})
	if err := w.Start(1, 100); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Start in a missing directory: %v, want an error naming %s", err, missing)
	}

	// The second file of -G lands in a directory removed meanwhile.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	start := time.Unix(1_700_000_000, 0)
	w, _ = NewRotatingWriter(Rotation{Name: filepath.Join(sub, "%s.pcap"), Interval: time.Second, Now: func() time.Time { return start }})
	if err := w.Start(1, 100); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(start, []byte{1}, 1); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(sub)
	next := filepath.Join(sub, "1700000001.pcap")
	if err := w.WritePacket(start.Add(time.Second), []byte{1}, 1); err == nil || !strings.Contains(err.Error(), next) {
		t.Errorf("rotating into a removed directory: %v, want an error naming %s", err, next)
	}
	if err := w.WritePacket(start.Add(time.Second), []byte{1}, 1); err == nil {
		t.Error("a write after a failed rotation: no error")
	}

	first := filepath.Join(dir, "first.pcap")
	w, _ = NewRotatingWriter(Rotation{Name: first})
	if err := w.Start(1, 100); err != nil {
		t.Fatal(err)
	}
	if w.File() == nil || w.Name() != first {
		t.Errorf("File %v, Name %q after Start; want the file %s", w.File(), w.Name(), first)
	}
	w.Remove()
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("after Remove, %s: %v, want it gone", first, err)
	}
}

// Strftime expands what C's strftime does, in the C locale.
func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 1, 4, 7, 5, 9, 0, time.FixedZone("CET", 3600)) // a Sunday
	for _, tt := range []struct{ pattern, want string }{
		{"trace.pcap", "trace.pcap"},
		{"trace-%H%M%S.pcap", "trace-070509.pcap"},
		{"%Y-%m-%d_%H:%M:%S", "2026-01-04_07:05:09"},
		{"%F %T %D %R", "2026-01-04 07:05:09 01/04/26 07:05"},
		{"%a %A %b %h %B", "Sun Sunday Jan Jan January"},
		{"%y %C %j %e|%k|%l|%I %p %P", "26 20 004  4| 7| 7|07 AM am"},
		{"%u %w %U %W %V %G %g", "7 0 01 00 01 2026 26"},
		{"%s", "1767506709"},
		{"%z %Z", "+0100 CET"},
		{"100%% %q %", "100% %q %"},
		{"%c", "Sun Jan  4 07:05:09 2026"},
		{"%n%t", "\n\t"},
	} {
		if got := Strftime(tt.pattern, tm); got != tt.want {
			t.Errorf("Strftime(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
