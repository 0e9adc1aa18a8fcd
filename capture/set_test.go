package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// numbered is a TCP segment whose sequence number is id, at t0+d, so that
// a test can tell which packet came out of a merge.
func numbered(id int, d time.Duration) (seg, time.Time) {
	return seg{src: "10.0.0.1", dst: "10.0.0.2", sport: uint16(40000 + id), dport: 80,
		seq: uint32(id), flags: FlagACK, window: 100}, at(d)
}

// setFileSpec is a file of a set to build: its records, in one of the formats.
type setFileSpec struct {
	name   string
	format string // "pcap" (Ethernet), "pcapng" (raw IP), "gz" (gzip of Linux cooked pcap), "raw" (bytes as given)
	ids    []int  // packet ids...
	ms     []int  // ...and their times, in ms after t0
	bytes  []byte // for "raw"
}

func (f setFileSpec) build(t testing.TB, dir string) string {
	t.Helper()
	var recs []rec
	for i, id := range f.ids {
		s, ts := numbered(id, time.Duration(f.ms[i])*time.Millisecond)
		recs = append(recs, rec{ts: ts, data: s.ipBytes()})
	}
	frame := func(wrap func([]byte) []byte) []rec {
		out := slices.Clone(recs)
		for i := range out {
			out[i].data = wrap(out[i].data)
		}
		return out
	}
	le := binary.LittleEndian
	var b []byte
	switch f.format {
	case "pcap":
		b = pcapBytes(le, false, uint32(linkEthernet), frame(ethernetIP)...)
	case "pcapng":
		b = pcapngBytes(le, []pcapngtest.Interface{{Link: uint16(linkRaw), SnapLen: 65535}}, recs...)
	case "gz":
		sll := func(ip []byte) []byte { return linuxSLLFrame(etherIPv4, ip) }
		b = gzipped(t, pcapBytes(binary.BigEndian, true, uint32(linkLinuxSLL), frame(sll)...))
	case "raw":
		b = f.bytes
	default:
		t.Fatalf("format %q", f.format)
	}
	path := filepath.Join(dir, f.name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// setResult is what reading a set gave.
type setResult struct {
	ids     []int
	indexes []uint64 // each packet's number in its file
	setIdx  []uint64 // and in the set (Packet.SetIndex)
	warns   []error
	stats   Stats
	incompl bool
	maxOpen int
}

func readSet(t *testing.T, names []string, opt Options) (setResult, error) {
	t.Helper()
	var res setResult
	opt.Warn = func(err error) { res.warns = append(res.warns, err) }
	s, err := OpenSet(names, opt)
	if err != nil {
		return res, err
	}
	defer s.Close()
	for {
		var p Packet
		err := s.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		res.ids = append(res.ids, int(p.Seq))
		res.indexes = append(res.indexes, p.Index)
		res.setIdx = append(res.setIdx, p.SetIndex)
	}
	res.stats, res.incompl, res.maxOpen = s.Stats(), s.Incomplete(), s.MaxOpen()
	checkStats(t, res.stats)
	return res, nil
}

// readBuiltSet builds files in a temporary directory and reads them, in
// that order, as a set.
func readBuiltSet(t *testing.T, files []setFileSpec) setResult {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for _, f := range files {
		names = append(names, f.build(t, dir))
	}
	res, err := readSet(t, names, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSetMerge: packets come out in time order across files of different
// formats and link types, ties going to the file given first, each still
// numbered within its own file, and numbered across the set in the order
// they come out (SetIndex, 0 for a set of one file, whose Index is that).
func TestSetMerge(t *testing.T) {
	a := setFileSpec{name: "a.pcap", format: "pcap", ids: []int{1, 3, 5, 7}, ms: []int{0, 2, 4, 6}}
	b := setFileSpec{name: "b.pcapng", format: "pcapng", ids: []int{2, 4, 6}, ms: []int{1, 2, 5}}
	c := setFileSpec{name: "c.pcap.gz", format: "gz", ids: []int{8, 9}, ms: []int{6, 8}}
	for _, tc := range []struct {
		name    string
		files   []setFileSpec
		ids     []int
		indexes []uint64
	}{
		{"as given", []setFileSpec{a, b, c}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, []uint64{1, 1, 2, 2, 3, 3, 4, 1, 2}},
		{"a tie goes to the file given first", []setFileSpec{b, a, c}, []int{1, 2, 4, 3, 5, 6, 7, 8, 9}, []uint64{1, 1, 2, 2, 3, 3, 4, 1, 2}},
		{"given last, read first", []setFileSpec{c, b, a}, []int{1, 2, 4, 3, 5, 6, 8, 7, 9}, []uint64{1, 1, 2, 2, 3, 3, 1, 4, 2}},
		{"one file", []setFileSpec{a}, []int{1, 3, 5, 7}, []uint64{1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readBuiltSet(t, tc.files)
			if !slices.Equal(res.ids, tc.ids) || !slices.Equal(res.indexes, tc.indexes) {
				t.Errorf("ids %v indexes %v, want %v %v", res.ids, res.indexes, tc.ids, tc.indexes)
			}
			wantSet := make([]uint64, len(tc.ids))
			for i := range wantSet {
				if len(tc.files) > 1 {
					wantSet[i] = uint64(i + 1)
				}
			}
			if !slices.Equal(res.setIdx, wantSet) {
				t.Errorf("set indexes %v, want %v", res.setIdx, wantSet)
			}
			// b starts before a ends; c starts as a ends.
			overlaps := 0
			if len(tc.files) > 1 {
				overlaps = 1
			}
			if len(res.warns) != overlaps || overlaps > 0 && !errors.Is(res.warns[0], ErrOverlap) || res.incompl {
				t.Errorf("warnings %v, incomplete %v; want %d overlap", res.warns, res.incompl, overlaps)
			}
			if res.stats.Packets != uint64(len(tc.ids)) || res.stats.TCP != uint64(len(tc.ids)) {
				t.Errorf("stats %+v, want %d packets", res.stats, len(tc.ids))
			}
		})
	}
}

// rotation builds n files of a rotation, one every 10 s, each with
// packets at 0, 4 and 8 s into its interval.
func rotation(n int) []setFileSpec {
	var files []setFileSpec
	for i := range n {
		files = append(files, setFileSpec{name: fmt.Sprintf("rot%03d.pcap", i), format: "pcap",
			ids: []int{3 * i, 3*i + 1, 3*i + 2}, ms: []int{10000 * i, 10000*i + 4000, 10000*i + 8000}})
	}
	return files
}

// TestSetSeams: a file missing from a rotation, files that overlap, and a
// file that is cut short, corrupt or no capture at all in the middle of a
// set are each reported, naming the files, and the rest is read.
func TestSetSeams(t *testing.T) {
	rot := rotation(5)
	garbage := setFileSpec{name: rot[2].name, format: "raw", bytes: []byte("this is not a capture at all")}
	empty := setFileSpec{name: rot[2].name, format: "raw", bytes: pcapBytes(binary.LittleEndian, false, uint32(linkEthernet))}
	without := func(files []setFileSpec, i int) []setFileSpec { return slices.Delete(slices.Clone(files), i, i+1) }
	with := func(files []setFileSpec, i int, f setFileSpec) []setFileSpec {
		out := slices.Clone(files)
		out[i] = f
		return out
	}
	all := func(files []setFileSpec) []int {
		var ids []int
		for _, f := range files {
			ids = append(ids, f.ids...)
		}
		return ids
	}
	overlapping := slices.Clone(rot[:3])
	overlapping[1].ms = []int{7000, 12000, 18000} // starts before rot000's last packet (8 s)
	quiet := slices.Clone(rot)
	quiet[2].ms = []int{20000, 20001, 20002} // then nothing for 18 s
	jitter := slices.Clone(rot[:3])
	jitter[1].ms = []int{7999, 14000, 18000} // a millisecond before it: unreported

	// A rotation by size (tcpdump -C) is bursty in time: named as
	// tcpdump names it, its silences are the traffic's. And a ring (-W),
	// its numbers reused, and one with a number missing, left to time.
	named := func(files []setFileSpec, names ...string) []setFileSpec {
		out := slices.Clone(files)
		for i := range out {
			out[i].name = names[i]
		}
		return out
	}
	sized := named(without(rot, 2), "trace.pcap", "trace.pcap1", "trace.pcap2", "trace.pcap3")
	ring := named(without(rot, 2), "trace.pcap08", "trace.pcap09", "trace.pcap00", "trace.pcap01")
	numberMissing := named(without(rot, 2), "trace.pcap", "trace.pcap1", "trace.pcap3", "trace.pcap4")
	for _, tc := range []struct {
		name       string
		files      []setFileSpec
		keep       int // bytes the middle file (index 2) is cut to, from the end if negative
		ids        []int
		warns      []string // phrases the warnings must say
		sentinels  []error
		incomplete bool
	}{
		{name: "a whole rotation", files: rot, ids: all(rot)},
		{name: "a file missing", files: without(rot, 2), ids: all(without(rot, 2)),
			warns:     []string{"no packet for 12s between ", "rot001.pcap (ends 2024-03-01 12:00:18.123456) and ", "rot003.pcap (starts 2024-03-01 12:00:30.123456, 20s after the other started, where the files of this set usually start 10s apart)"},
			sentinels: []error{ErrGap}},
		{name: "two files missing", files: without(without(rotation(7), 4), 1), ids: all(without(without(rotation(7), 4), 1)),
			warns:     []string{"rot000.pcap (ends", "rot002.pcap (starts", "rot003.pcap (ends", "rot005.pcap (starts"},
			sentinels: []error{ErrGap, ErrGap}},
		{name: "a size rotation's silence", files: sized, ids: all(sized)},
		{name: "a ring's silence", files: ring, ids: all(ring)},
		{name: "a size rotation with a number missing", files: numberMissing, ids: all(numberMissing),
			warns: []string{"trace.pcap1 (ends", "trace.pcap3 (starts"}, sentinels: []error{ErrGap}},
		{name: "too few files to judge a gap", files: without(rot[:3], 1), ids: all(without(rot[:3], 1))},
		{name: "overlapping files", files: overlapping, ids: []int{0, 1, 3, 2, 4, 5, 6, 7, 8},
			warns:     []string{"rot001.pcap starts at 2024-03-01 12:00:07.123456, 1s before ", "rot000.pcap ends (2024-03-01 12:00:08.123456)"},
			sentinels: []error{ErrOverlap}},
		{name: "files a millisecond apart", files: jitter, ids: []int{0, 1, 3, 2, 4, 5, 6, 7, 8}},
		{name: "a middle file cut short", files: rot, keep: -10, ids: append(append(all(rot[:2]), 6, 7), all(rot[3:])...),
			warns:     []string{"rot002.pcap: packet 3: capture truncated"},
			sentinels: []error{ErrTruncated}, incomplete: true},
		// A quiet spell inside the usual spacing is no gap.
		{name: "a quiet file", files: quiet, ids: all(quiet)},
		{name: "a middle file cut in its header", files: rot, keep: 10, ids: all(without(rot, 2)),
			warns:     []string{"rot002.pcap: capture truncated in the file header", "left out of the set", "rot001.pcap (ends"},
			sentinels: []error{ErrTruncated, ErrGap}, incomplete: true},
		{name: "a middle file not a capture", files: with(rot, 2, garbage), ids: all(without(rot, 2)),
			warns:     []string{"rot002.pcap: not a pcap or pcapng file", "left out of the set", "rot001.pcap (ends"},
			sentinels: []error{ErrNotCapture, ErrGap}, incomplete: true},
		// An empty file is no packets: a gap, but nothing wrong with it.
		{name: "an empty middle file", files: with(rot, 2, empty), ids: all(without(rot, 2)),
			warns: []string{"rot001.pcap (ends"}, sentinels: []error{ErrGap}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var names []string
			for i, f := range tc.files {
				path := f.build(t, dir)
				if i == 2 && tc.keep != 0 {
					b, _ := os.ReadFile(path)
					n := tc.keep
					if n < 0 {
						n += len(b)
					}
					os.WriteFile(path, b[:n], 0o644)
				}
				names = append(names, path)
			}
			res, err := readSet(t, names, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.ids, tc.ids) {
				t.Errorf("ids %v, want %v", res.ids, tc.ids)
			}
			if len(res.warns) != len(tc.sentinels) {
				t.Fatalf("warnings %v, want %d", res.warns, len(tc.sentinels))
			}
			for i, w := range res.warns {
				if !errors.Is(w, tc.sentinels[i]) {
					t.Errorf("warning %q is not %v", w, tc.sentinels[i])
				}
			}
			for _, words := range tc.warns {
				if !slices.ContainsFunc(res.warns, func(w error) bool { return strings.Contains(w.Error(), words) }) {
					t.Errorf("warnings %q: none says %q", res.warns, words)
				}
			}
			if res.incompl != tc.incomplete {
				t.Errorf("incomplete %v, want %v", res.incompl, tc.incomplete)
			}
		})
	}
}

// TestSetOneUnusableFile: a set of one file fails as Open does; a missing
// file or a filter libpcap rejects fails a set of any size.
func TestSetOneUnusableFile(t *testing.T) {
	dir := t.TempDir()
	good := rotation(1)[0].build(t, dir)
	bad := setFileSpec{name: "bad.pcap", format: "raw", bytes: []byte("not a capture")}.build(t, dir)
	for _, tc := range []struct {
		name  string
		files []string
		opt   Options
		want  error
	}{
		{"the only file not a capture", []string{bad}, Options{}, ErrNotCapture},
		{"a missing file", []string{good, filepath.Join(dir, "missing.pcap")}, Options{}, os.ErrNotExist},
		{"a bad filter", []string{good, good}, Options{Filter: "tcp port"}, ErrFilter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSet(t, tc.files, withCompiler(t, tc.opt))
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSetOpensFewFiles: a rotation of many files is read with one open at a
// time, and no more descriptors than that.
func TestSetOpensFewFiles(t *testing.T) {
	dir := t.TempDir()
	rot := rotation(300)
	var names []string
	for _, f := range rot {
		names = append(names, f.build(t, dir))
	}
	openFDs := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(fds)
	}
	before := openFDs()
	s, err := OpenSet(names, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	most, n := 0, 0
	for {
		var p Packet
		if err := s.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		most = max(most, openFDs()-before)
	}
	if n != 3*len(rot) || s.MaxOpen() != 1 || most > 1 {
		t.Errorf("%d packets, at most %d files and %d descriptors open at once; want %d, 1, 1", n, s.MaxOpen(), most, 3*len(rot))
	}
	var size int64
	for _, name := range names {
		fi, _ := os.Stat(name)
		size += fi.Size()
	}
	if s.Size() != size || s.BytesRead() != size {
		t.Errorf("size %d, bytes read %d, want %d", s.Size(), s.BytesRead(), size)
	}
}

// TestSetNextAllocatesNothing: merging overlapping files allocates nothing
// per packet.
func TestSetNextAllocatesNothing(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for f := range 3 {
		spec := setFileSpec{name: fmt.Sprintf("f%d.pcap", f), format: "pcap"}
		for i := range 3000 {
			spec.ids = append(spec.ids, 3*i+f)
			spec.ms = append(spec.ms, 3*i+f)
		}
		names = append(names, spec.build(t, dir))
	}
	s, err := OpenSet(names, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var p Packet
	for range 100 {
		if err := s.Next(&p); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(5000, func() {
		if err := s.Next(&p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
}

// TestSetFiles: the names a user gives become files: a directory its
// capture files by name, a glob its matches, each file once.
func TestSetFiles(t *testing.T) {
	dir := t.TempDir()
	rot := rotation(3)
	for _, f := range rot {
		f.build(t, dir)
	}
	setFileSpec{name: "z.pcap.gz", format: "gz", ids: []int{99}, ms: []int{1}}.build(t, dir)
	os.WriteFile(filepath.Join(dir, "README"), []byte("notes"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.pcap"), pcapBytes(binary.LittleEndian, false, 1), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.gz"), gzipped(t, []byte("notes")), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	starred := rotation(1)[0]
	starred.name = "odd*name.pcap"
	starred.build(t, filepath.Join(dir, "sub"))
	p := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"a directory", p(""), p("rot000.pcap", "rot001.pcap", "rot002.pcap", "z.pcap.gz"), ""},
		{"a glob", p("rot*.pcap"), p("rot000.pcap", "rot001.pcap", "rot002.pcap"), ""},
		{"files, each once", p("rot002.pcap", "rot000.pcap", "rot002.pcap", "./rot000.pcap"), p("rot002.pcap", "rot000.pcap"), ""},
		{"a glob and a file in it", p("rot001.pcap", "rot*"), p("rot001.pcap", "rot000.pcap", "rot002.pcap"), ""},
		{"a glob of directories", p("su?"), p("sub/odd*name.pcap"), ""},
		{"a file whose name is a pattern", p("sub/odd*name.pcap"), p("sub/odd*name.pcap"), ""},
		{"a missing file is left to OpenSet", p("missing.pcap"), p("missing.pcap"), ""},
		{"a glob matching nothing", p("*.pcapng"), nil, "no files match"},
		{"a directory with no capture", nil, nil, ""},
		{"a bad pattern is a name, left to OpenSet", p("[.pcap"), p("[.pcap"), ""},
	} {
		if tc.name == "a directory with no capture" {
			empty := t.TempDir()
			os.WriteFile(filepath.Join(empty, "README"), []byte("notes"), 0o644)
			tc.args, tc.wantErr = []string{empty}, "no capture files in the directory"
		}
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetFiles(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// BenchmarkSetRotation reads a rotation of 1,000 small files (3 packets
// each) as one capture: what a file costs to look at, open and close,
// beside its packets; ns/file divides the time by the files.
func BenchmarkSetRotation(b *testing.B) {
	dir := b.TempDir()
	var names []string
	for _, f := range rotation(1000) {
		names = append(names, f.build(b, dir))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := OpenSet(names, Options{})
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		for s.Next(&p) == nil {
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(names)), "ns/file")
}

// TestSetPipe: a pipe in a set (bash's <(...)) is read once, kept open from
// the first look, and merged like a file; one that is no capture is left
// out without being opened again.
func TestSetPipe(t *testing.T) {
	rot := rotation(3)
	for _, tc := range []struct {
		name    string
		pipe    []byte
		ids     []int
		warning error
	}{
		{"a capture", nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, nil},
		{"not a capture", []byte("not a capture"), []int{0, 1, 2, 6, 7, 8}, ErrNotCapture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, c := rot[0].build(t, dir), rot[2].build(t, dir)
			data := tc.pipe
			if data == nil {
				b, err := os.ReadFile(rot[1].build(t, dir))
				if err != nil {
					t.Fatal(err)
				}
				data = b
			}
			fifo := filepath.Join(dir, "pipe")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			go func() {
				f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				f.Write(data)
				f.Close()
			}()
			res, err := readSet(t, []string{a, fifo, c}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.ids, tc.ids) {
				t.Errorf("ids %v, want %v", res.ids, tc.ids)
			}
			if tc.warning == nil && len(res.warns) > 0 || tc.warning != nil && (len(res.warns) == 0 || !errors.Is(res.warns[0], tc.warning)) {
				t.Errorf("warnings %v, want %v", res.warns, tc.warning)
			}
		})
	}
}

// TestSetReassemblesAcrossFiles: a rotation that falls between the
// fragments of a datagram does not lose it: the files of a set share one
// reassembler, which drops what is still incomplete only when the last
// file ends.
func TestSetReassemblesAcrossFiles(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1000, flags: FlagACK, window: 512, payload: 100}
	first, second := func() ([]byte, []byte) {
		f := fragmentsOf(s.ipBytes(), 0, 0, 7, halves(120)...)
		return f.fragments[0], f.fragments[1]
	}()
	file := func(name string, ms int, ips ...[]byte) setFileSpec {
		var recs []rec
		for i, ip := range ips {
			recs = append(recs, rec{ts: at(time.Duration(ms+i) * time.Millisecond), data: ethernetIP(ip)})
		}
		return setFileSpec{name: name, format: "raw", bytes: pcapBytes(binary.LittleEndian, false, uint32(linkEthernet), recs...)}
	}
	for _, tc := range []struct {
		name                  string
		files                 []setFileSpec
		segments              int
		reassembled, dropped  uint64
		fragments, tcpPackets uint64
	}{
		{"both fragments in one file", []setFileSpec{file("a.pcap", 0, first, second)}, 1, 1, 0, 1, 1},
		{"the rotation between them", []setFileSpec{file("a.pcap", 0, first), file("b.pcap", 1, second)}, 1, 1, 0, 1, 1},
		{"the second first, in the earlier file", []setFileSpec{file("a.pcap", 0, second), file("b.pcap", 1, first)}, 1, 1, 0, 1, 1},
		{"a file between them", []setFileSpec{file("a.pcap", 0, first), file("b.pcap", 1, numberedIP(1)), file("c.pcap", 2, second)}, 2, 1, 0, 1, 2},
		{"the rest never comes", []setFileSpec{file("a.pcap", 0, numberedIP(1)), file("b.pcap", 1, first)}, 1, 0, 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readBuiltSet(t, tc.files)
			st := res.stats
			if len(res.ids) != tc.segments || st.ReassembledDatagrams != tc.reassembled || st.DroppedDatagrams != tc.dropped ||
				st.Fragments != tc.fragments || st.TCP != tc.tcpPackets {
				t.Errorf("%d segments, stats %+v; want %d segments, %d reassembled, %d dropped, %d fragments held, %d TCP",
					len(res.ids), st, tc.segments, tc.reassembled, tc.dropped, tc.fragments, tc.tcpPackets)
			}
			if tc.reassembled == 1 && !slices.Contains(res.ids, int(s.seq)) {
				t.Errorf("segments %v lack the reassembled one (seq %d)", res.ids, s.seq)
			}
		})
	}
}

// numberedIP is the IP packet of numbered's segment id.
func numberedIP(id int) []byte {
	s, _ := numbered(id, 0)
	return s.ipBytes()
}

// TestNumberedInSequence: which names prove a rotation has every file,
// in the order of their first packets.
func TestNumberedInSequence(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{"trace.pcap", "trace.pcap1", "trace.pcap2"}, true},                       // tcpdump -C
		{[]string{"trace.pcap1", "trace.pcap2", "trace.pcap3"}, true},                      // the first one not given
		{[]string{"t.pcap08", "t.pcap09", "t.pcap00", "t.pcap01"}, true},                   // -C -W 10... padded, a ring
		{[]string{"dump9", "dump10", "dump11"}, true},                                      // numbers grow wider
		{[]string{"trace.pcap", "trace.pcap1", "trace.pcap3"}, false},                      // 2 missing
		{[]string{"trace.pcap1", "trace.pcap", "trace.pcap2"}, false},                      // the unnumbered one later
		{[]string{"t.pcap5", "t.pcap7", "t.pcap0"}, false},                                 // 6 missing before the wrap
		{[]string{"a.pcap1", "b.pcap2"}, false},                                            // two rotations
		{[]string{"rot000.pcap", "rot001.pcap"}, true},                                     // the number inside
		{[]string{"out_00000_20241201093000.pcap", "out_00001_20241201093012.pcap"}, true}, // editcap -c
		{[]string{"c-2026-12-07_22", "c-2026-12-07_23", "c-2026-12-08_00"}, false},         // -G 3600, fields: midnight changes another
		{[]string{"a1b1", "a1b2", "a2b3"}, false},                                          // two numbers change
		{[]string{"c-2026120722", "c-2026120723", "c-2026120800"}, false},                  // -G 3600 with %Y%m%d%H, midnight
		{[]string{"c-1200", "c-1205", "c-1210"}, false},                                    // -G 300 with %H%M
		{[]string{"trace.pcap"}, false},                                                    // one file
		{[]string{"trace.pcap", "trace.pcap99999999999999999999999"}, false},               // no int
	} {
		files := make([]setFile, len(tc.names))
		order := make([]int, len(tc.names))
		for i, n := range tc.names {
			files[i].name, order[i] = n, i
		}
		if got := numberedInSequence(files, order); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.names, got, tc.want)
		}
	}
}
