package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
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

// TestTextDiagnosesFirst: the text report names its diagnoses before the
// connections, also when they are held in the temporary file, and they
// all come out in order, the summary last.
func TestTextDiagnosesFirst(t *testing.T) {
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text"})
	const n = 40_000 // about 9 MB of lines: past spoolMemory
	for i := range n {
		r := record()
		r.ID = uint64(i + 1)
		r.Handshake, r.Close, r.Reset = fsm.HandshakeComplete, fsm.CloseRSTServer, true
		r.ResetBy, r.ResetFrom = fsm.FromServer, fsm.SynRcvd
		rep.Conn(r)
	}
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
}
