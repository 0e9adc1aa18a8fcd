package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// TestDiagnosisBudgetWarned: when a diagnosis already follows its
// MaxEndpoints endpoints and leaves the evidence of later ones out (SYNs
// to more servers than that, each unanswered), the summary says so in
// every format, since an endpoint first seen after that is not diagnosed;
// below the bound it says nothing.
func TestDiagnosisBudgetWarned(t *testing.T) {
	for _, tc := range []struct {
		servers int
		warned  bool
	}{{100, false}, {diagnose.MaxEndpoints + 10, true}} {
		for _, format := range []string{"text", "json"} {
			var out bytes.Buffer
			rep, err := New(&out, Options{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.servers {
				r := record()
				r.ID = uint64(i + 1)
				r.ServerAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 443)
				r.Handshake, r.Close = fsm.HandshakeUnanswered, fsm.CloseNone
				if err := rep.Conn(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(out.String(), "was not kept, each diagnosis following 16384 endpoints at most"); got != tc.warned {
				t.Errorf("%s, %d servers: warned %v, want %v", format, tc.servers, got, tc.warned)
			}
		}
	}
}
