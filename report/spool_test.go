package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// TestSpool: what is held comes back byte for byte, in memory and past
// spoolMemory in the temporary file.
func TestSpool(t *testing.T) {
	for _, size := range []int{0, 1000, spoolMemory, spoolMemory + 1, 3*spoolMemory + 12345} {
		var want bytes.Buffer
		var s spool
		for i := 0; want.Len() < size; i++ {
			line := fmt.Sprintf("line %d\n", i)
			line = line[:min(len(line), size-want.Len())]
			want.WriteString(line)
			if _, err := s.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
		}
		if (s.file != nil) != (size > spoolMemory) {
			t.Errorf("%d bytes: in a file %v", size, s.file != nil)
		}
		var got bytes.Buffer
		if _, err := s.WriteTo(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d bytes: got back %d bytes, not the same", size, got.Len())
		}
		s.Close()
	}
}

// overflowed reports n connections reset from SYN_RCVD after the
// client's handshake ACK: each is evidence of accept_queue_overflow.
func overflowed(rep Reporter, n int) {
	for i := range n {
		r := record()
		r.ID = uint64(i + 1)
		r.Handshake, r.Close, r.Reset = fsm.HandshakeComplete, fsm.CloseRSTServer, true
		r.ResetBy, r.ResetFrom = fsm.FromServer, fsm.SynRcvd
		rep.Conn(r)
	}
}

// TestTextDiagnosesFirst: the text report names its diagnoses before the
// connections, also when they are held in the temporary file, and they
// all come out in order, the summary last.
func TestTextDiagnosesFirst(t *testing.T) {
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text"})
	const n = 40_000 // about 9 MB of lines: past spoolMemory
	overflowed(rep, n)
	if b.Len() != 0 {
		t.Fatalf("%d bytes written before Finish", b.Len())
	}
	rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()})
	out := b.String()
	diag, first, last, sum := strings.Index(out, "Diagnoses\n"), strings.Index(out, "\n#1 "), strings.Index(out, fmt.Sprintf("\n#%d ", n)), strings.Index(out, "Summary x.pcap")
	if diag != 0 || first < 0 || last < first || sum < last || strings.Count(out, "\n#") != n {
		t.Errorf("Diagnoses at %d, #1 at %d, #%d at %d, Summary at %d, %d connections; want them in that order, Diagnoses first:\n%s",
			diag, first, n, last, sum, strings.Count(out, "\n#"), out[:min(len(out), 500)])
	}
	if !strings.Contains(out[:first], "accept_queue_overflow") {
		t.Errorf("no accept_queue_overflow before the connections:\n%s", out[:first])
	}

	// With the per-packet trace (-v), read as it comes, nothing is held:
	// the connections are written as they end, the diagnoses last.
	b.Reset()
	rep, _ = New(&b, Options{Format: "text", Verbose: true})
	overflowed(rep, n)
	if b.Len() == 0 {
		t.Error("-v: nothing written before Finish")
	}
	rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()})
	if out := b.String(); strings.Index(out, "Diagnoses\n") < strings.Index(out, fmt.Sprintf("\n#%d ", n)) {
		t.Error("-v: the diagnoses are not after the connections")
	}
}

// TestSpoolWithoutATemporaryFile: where no temporary file can be made,
// a spool holds everything in memory and says so, and a held text report
// comes out whole, with a warning, rather than not at all.
func TestSpoolWithoutATemporaryFile(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	var s spool
	want := bytes.Repeat([]byte("0123456789abcdef"), spoolMemory/8)
	s.Write(want[:100])
	s.Write(want[100:])
	var got bytes.Buffer
	if _, err := s.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) || s.warning() == "" {
		t.Errorf("got back %d of %d bytes (%v), warning %q", got.Len(), len(want), err, s.warning())
	}

	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text"})
	const n = 40_000 // past spoolMemory
	for i := range n {
		r := record()
		r.ID = uint64(i + 1)
		rep.Conn(r)
	}
	if err := rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count("\n"+out, "\n#") != n || !strings.Contains(out, "Summary x.pcap") ||
		!strings.Contains(out, "warning: the report was held in memory, not in a temporary file") {
		t.Errorf("%d connections, summary %v, warning %v", strings.Count("\n"+out, "\n#"),
			strings.Contains(out, "Summary x.pcap"), strings.Contains(out, "held in memory"))
	}
}

// TestHTMLRowsMarkerNotInText: a capture named with the marker that
// stands for the rows cannot take their place: the page's text escapes it.
func TestHTMLRowsMarkerNotInText(t *testing.T) {
	var page bytes.Buffer
	var text bytes.Buffer
	inner, _ := New(&text, Options{Format: "json"})
	rep := WithHTML(inner, &page, diagnose.DefaultThresholds(), false)
	rep.Conn(record())
	source := "dir/" + rowsMarker + "c.pcap"
	if err := rep.Finish(&Totals{Source: source, Census: testCensus(), Warnings: []string{source + ": packet 3: oops"}}); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	if strings.Contains(out, rowsMarker) {
		t.Fatalf("the marker is still in the page")
	}
	start := strings.Index(out, `<script id="data" type="application/json">`)
	data := out[start+len(`<script id="data" type="application/json">`):]
	data = data[:strings.Index(data, "</script>")]
	var d struct{ Conns [][]any }
	if err := json.Unmarshal([]byte(data), &d); err != nil || len(d.Conns) != 1 {
		t.Errorf("the page's data: %v, %d rows:\n%.300s", err, len(d.Conns), data)
	}
}
