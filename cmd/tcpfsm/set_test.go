package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// packetReader is what pcapgo's pcap and pcapng readers both are.
type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// splitCapture cuts the capture at path into files of every packets each
// in a new directory, as a rotation would: classic pcap with nanosecond
// stamps, every other file gzip-compressed, so that a set mixes formats.
func splitCapture(t *testing.T, path string, every int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r packetReader
	var header [24]byte // a classic pcap's file header, for its link type
	if strings.HasSuffix(path, ".pcapng") {
		r, err = pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	} else if _, err = io.ReadFull(f, header[:]); err == nil {
		r, err = pcapgo.NewReader(io.MultiReader(bytes.NewReader(header[:]), f))
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var (
		buf  bytes.Buffer
		w    *pcapgo.Writer
		n    int
		file int
	)
	flush := func() {
		if w == nil {
			return
		}
		name := fmt.Sprintf("part%03d.pcap", file)
		data := buf.Bytes()
		if header != [24]byte{} {
			// gopacket's link type is a byte: 276 (Linux cooked v2)
			// would be written as 20. Copy the original's.
			var order binary.ByteOrder = binary.LittleEndian
			if header[0] == 0xa1 || header[0] == 0x4d {
				order = binary.BigEndian
			}
			binary.LittleEndian.PutUint32(data[20:24], order.Uint32(header[20:24]))
		}
		if file%2 == 1 {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			name, data = name+".gz", gz.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		w = nil
		file++
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if w == nil {
			w = pcapgo.NewWriterNanos(&buf)
			if err := w.WriteFileHeader(262144, r.LinkType()); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		if n++; n%every == 0 {
			flush()
		}
	}
	flush()
	return dir
}

// withoutSource is a report with the capture's name and the warnings left
// out of its summary, for comparing the reports of two ways to give the
// same packets.
func withoutSource(t *testing.T, out string) []map[string]any {
	t.Helper()
	objs := jsonLines(t, out)
	delete(objs[len(objs)-1], "source")
	delete(objs[len(objs)-1], "warnings")
	return objs
}

// TestSetReportsAsOneCapture: every kernel capture cut into a rotation of
// a few packets a file, read as a directory, a glob and repeated -r, gives
// the report of the whole capture, connections spanning files included.
func TestSetReportsAsOneCapture(t *testing.T) {
	for _, path := range kernelCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := tcpfsm(t, nil, "-r", path, "--format", "json", "-j", "1")
			dir := splitCapture(t, path, 7)
			parts, _ := filepath.Glob(filepath.Join(dir, "part*"))
			if len(parts) < 2 {
				t.Skipf("%d packets: one file", len(parts))
			}
			repeated := []string{"--format", "json"}
			for _, p := range slices.Backward(parts) { // the order given does not matter
				repeated = append(repeated, "-r", p)
			}
			for name, args := range map[string][]string{
				"directory":   {"-r", dir, "--format", "json", "-j", "1"},
				"glob":        {"-r", filepath.Join(dir, "part*"), "--format", "json", "-j", "3"},
				"repeated -r": repeated,
			} {
				got := tcpfsm(t, nil, args...)
				if got.code != exitOK || !jsonEqual(t, withoutSource(t, got.stdout), withoutSource(t, want.stdout)) {
					t.Errorf("%s: exit %d, stderr %q\ngot  %s\nwant %s", name, got.code, got.stderr, got.stdout, want.stdout)
				}
			}
			text := tcpfsm(t, nil, "-r", dir, "--color", "never")
			wantText := tcpfsm(t, nil, "-r", path, "--color", "never")
			source := fmt.Sprintf("%s (%d files)", dir, len(parts))
			if got := strings.Replace(text.stdout, source, path, 1); !strings.Contains(text.stdout, source) || dropWarnings(got) != dropWarnings(wantText.stdout) {
				t.Errorf("text report differs:\n%s\nwant\n%s", text.stdout, wantText.stdout)
			}
		})
	}
}

// dropWarnings removes the text report's warning lines.
func dropWarnings(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "warning") && !strings.Contains(l, "gap in the capture set") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// connRecords are a JSON report's conn records, each as its JSON without
// the id (which numbers a run's connections in order) and the record whole
// that --shard adds for tcpfsm merge (which holds the id too), sorted.
func connRecords(t *testing.T, out string) []string {
	t.Helper()
	var recs []string
	for _, o := range jsonLines(t, out) {
		if o["type"] != "conn" {
			continue
		}
		delete(o, "id")
		delete(o, "merge")
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, string(b))
	}
	slices.Sort(recs)
	return recs
}

// TestShardsMakeTheWhole: for N = 1 to 4, the conn records of the N shards
// of a capture are, together, the unsharded run's, record for record, on
// every kernel capture and on a generated one with a SYN flood; with one
// core and with several.
func TestShardsMakeTheWhole(t *testing.T) {
	captures := append(kernelCaptures(t),
		tcpgenCapture(t, "-seed", "2", "-conns", "400", "-concurrent", "60", "-synflood", "3000", "-data-retransmit", "0.2"))
	for _, path := range captures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			whole := connRecords(t, tcpfsm(t, nil, "-r", path, "--format", "json", "-j", "1").stdout)
			for n := 1; n <= 4; n++ {
				var union []string
				sizes := make([]int, n)
				for i := range n {
					r := tcpfsm(t, nil, "-r", path, "--format", "json", "--shard", fmt.Sprintf("%d/%d", i, n), "-j", fmt.Sprint(1+2*(i%2)))
					if r.code != exitOK {
						t.Fatalf("shard %d/%d: exit %d, %s", i, n, r.code, r.stderr)
					}
					recs := connRecords(t, r.stdout)
					sizes[i] = len(recs)
					union = append(union, recs...)
				}
				slices.Sort(union)
				if !slices.Equal(union, whole) {
					t.Errorf("%d shards (%v records): union of %d records differs from the whole run's %d", n, sizes, len(union), len(whole))
				}
				if len(whole) > 1000 && slices.Contains(sizes, 0) {
					t.Errorf("%d shards of %d connections: sizes %v", n, len(whole), sizes)
				}
			}
		})
	}
}

// TestSetCommandLine: the forms -r takes, what stays a filter, and the
// errors.
func TestSetCommandLine(t *testing.T) {
	frames := handshakeFrames(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// One connection over three files; a corrupt file in the middle of
	// another set.
	whole := writePcap(t, frames)
	a := write("a.pcap", writePcap(t, frames[:3]))
	b := write("b.pcap", writePcap(t, frames[3:5], 3e6, 4e6))
	c := write("c.pcap", writePcap(t, frames[5:], 5e6, 6e6))
	// Cut inside its second record: file header, then 16+74 and 16+54 bytes.
	cut := write("cut.pcap", writePcap(t, frames[3:5], 3e6, 4e6)[:24+16+74+30])
	single := tcpfsm(t, nil, "-r", write("whole.pcap", whole), "--format", "json")
	// The same packets under two names; a rotation of a file every 10 ms
	// with the fourth missing.
	again := write("again.pcap", whole)
	ms := time.Millisecond
	rot := []string{
		write("rot1.pcap", writePcap(t, frames[:2], 0, ms)),
		write("rot2.pcap", writePcap(t, frames[2:4], 10*ms, 11*ms)),
		write("rot3.pcap", writePcap(t, frames[4:5], 20*ms)),
		write("rot5.pcap", writePcap(t, frames[5:], 40*ms, 41*ms)),
	}
	conn := jsonLines(t, single.stdout)[0]

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		conns  int      // conn records, when exit 0
		same   bool     // the one conn record is the whole capture's
		stderr []string // phrases
	}{
		{name: "repeated -r", args: []string{"-r", a, "-r", c, "-r", b}, conns: 1, same: true},
		{name: "a quoted glob", args: []string{"-r", filepath.Join(dir, "[abc].pcap")}, conns: 1, same: true},
		{name: "a glob and a filter", args: []string{"-r", filepath.Join(dir, "[abc].pcap"), "tcp", "port", "9502"}, conns: 1, same: true},
		{name: "a filter that keeps nothing", args: []string{"-r", filepath.Join(dir, "[abc].pcap"), "tcp", "port", "80"}, conns: 0},
		{name: "a corrupt middle file", args: []string{"-r", a, "-r", cut, "-r", c}, conns: 1,
			stderr: []string{"warning: " + cut + ": packet 2: capture truncated"}},
		{name: "files that overlap", args: []string{"-r", filepath.Join(dir, "whole.pcap"), "-r", again}, conns: 1,
			stderr: []string{"warning: capture files overlap: " + again + " starts at", "before " + filepath.Join(dir, "whole.pcap") + " ends"}},
		{name: "a file missing from a rotation", args: []string{"-r", filepath.Join(dir, "rot*.pcap")}, conns: 1,
			stderr: []string{"warning: gap in the capture set: no packet for 20ms between " + rot[2] + " (ends", "and " + rot[3] + " (starts", "a file may be missing"}},
		{name: "file names after the options are a filter", args: []string{"-r", a, b}, code: exitUsage,
			stderr: []string{`invalid filter "` + b + `"`, b + " is a file, but the words after the options are a filter"}},
		{name: "standard input in a set", args: []string{"-r", a, "-r", "-"}, code: exitUsage, stderr: []string{"standard input is read alone"}},
		{name: "a glob matching nothing", args: []string{"-r", filepath.Join(dir, "*.pcapng")}, code: exitUsage, stderr: []string{"no files match"}},
		{name: "a missing file", args: []string{"-r", a, "-r", filepath.Join(dir, "missing.pcap")}, code: exitUsage, stderr: []string{"missing.pcap: open"}},
		{name: "shard 4/4", args: []string{"-r", a, "--shard", "4/4"}, code: exitUsage, stderr: []string{`--shard "4/4": the index must be from 0 to 3`}},
		{name: "shard 1/0", args: []string{"-r", a, "--shard", "1/0"}, code: exitUsage, stderr: []string{`--shard "1/0": the count of shards must be at least 1`}},
		{name: "shard x", args: []string{"-r", a, "--shard", "x"}, code: exitUsage, stderr: []string{`--shard "x": want INDEX/COUNT`}},
		{name: "shard -1/2", args: []string{"-r", a, "--shard", "-1/2"}, code: exitUsage, stderr: []string{"the index must be from 0 to 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tcpfsm(t, nil, append([]string{"--format", "json"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q lacks %q", r.stderr, s)
				}
			}
			if tc.code != exitOK {
				return
			}
			objs := jsonLines(t, r.stdout)
			// A warning is in the summary as on standard error.
			warnings, _ := objs[len(objs)-1]["warnings"].([]any)
			if tc.stderr != nil && (len(warnings) != 1 || !strings.Contains(r.stderr, fmt.Sprint(warnings[0]))) {
				t.Errorf("summary's warnings %q, want the one on standard error", warnings)
			}
			if len(objs)-1 != tc.conns {
				t.Fatalf("%d conn records, want %d: %s", len(objs)-1, tc.conns, r.stdout)
			}
			if tc.same {
				if !jsonEqual(t, objs[:1], []map[string]any{conn}) {
					t.Errorf("conn %v\nwant %v", objs[0], conn)
				}
				if sum := objs[1]; sum["packets"] != float64(len(frames)) || sum["incomplete"] != false {
					t.Errorf("summary %v: want %d packets, complete", sum, len(frames))
				}
			}
			if tc.name == "a corrupt middle file" && jsonLines(t, r.stdout)[1]["incomplete"] != true {
				t.Errorf("summary %v: want incomplete", objs[1])
			}
		})
	}
}

// TestCheckDirectory: tcpfsm check takes a directory as one capture, with
// its snapshot beside it, however the directory is written.
func TestCheckDirectory(t *testing.T) {
	path := filepath.Join(kernelDir, "diag-busy-normal.pcap")
	dir := splitCapture(t, path, 100)
	if r := tcpfsm(t, nil, "check", "--update", dir+"/"); r.code != exitOK || !strings.Contains(r.stderr, "wrote "+dir+".golden.json") {
		t.Fatalf("update: exit %d, %s", r.code, r.stderr)
	}
	snap, err := os.ReadFile(dir + ".golden.json")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path + ".golden.json")
	if err != nil {
		t.Fatal(err)
	}
	named := []byte(`"capture": "` + filepath.Base(dir) + `"`)
	if !bytes.Equal(bytes.Replace(snap, named, []byte(`"capture": "diag-busy-normal.pcap"`), 1), whole) {
		t.Errorf("the directory's snapshot differs from the whole capture's")
	}
	if r := tcpfsm(t, nil, "check", dir); r.code != exitOK || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Errorf("check: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestTraceNamesTheFile: in a set of several files, -v numbers each packet
// within its own file, as Wireshark does, and so names the file with it;
// from one file, the number alone.
func TestTraceNamesTheFile(t *testing.T) {
	frames := handshakeFrames(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	if err := os.WriteFile(a, writePcap(t, frames[:3]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, writePcap(t, frames[3:], 3e6, 4e6, 5e6, 6e6), 0o644); err != nil {
		t.Fatal(err)
	}
	text := tcpfsm(t, nil, "-r", a, "-r", b, "-v", "--color", "never")
	json := tcpfsm(t, nil, "-r", a, "-r", b, "-v", "--format", "json")
	one := tcpfsm(t, nil, "-r", a, "-v", "--color", "never")
	for _, want := range []struct{ out, has string }{
		{text.stdout, " [" + a + ":3] #1 "},
		{text.stdout, " [" + b + ":1] #1 "},
		{json.stdout, `"frame":1,"file":"` + b + `",`},
		{one.stdout, " [3] #1 "},
	} {
		if !strings.Contains(want.out, want.has) {
			t.Errorf("no %q in:\n%s", want.has, want.out)
		}
	}
	if strings.Contains(one.stdout, a+":") {
		t.Errorf("a single file's trace names it:\n%s", one.stdout)
	}
}
