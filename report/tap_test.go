package report

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// TestJSONTap: whatever the format written, the tap gives the connection
// lines the json format writes and the diagnoses its summary has.
func TestJSONTap(t *testing.T) {
	unanswered := record()
	unanswered.ID, unanswered.Handshake, unanswered.SynRetransmits = 8, fsm.HandshakeUnanswered, 2
	unanswered.ServerAddr = netip.MustParseAddrPort("[fd00::3]:443")
	records := []*flow.Record{record(), unanswered}
	tot := &Totals{Source: "x.pcap", First: records[0].First, Last: records[0].Last}
	th := diagnose.DefaultThresholds()

	var want bytes.Buffer
	j, _ := New(&want, Options{Format: "json"})
	for _, r := range records {
		if err := j.Conn(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Finish(tot); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(want.String()), "\n")
	var summary struct{ Diagnoses json.RawMessage }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary.Diagnoses), `"syn_unanswered"`) {
		t.Fatalf("the records raise no diagnosis to compare: %s", summary.Diagnoses)
	}

	for _, tc := range []struct {
		name string
		rep  func() Reporter
	}{
		{"text", func() Reporter { r, _ := New(io.Discard, Options{Format: "text"}); return r }},
		{"json", func() Reporter { r, _ := New(io.Discard, Options{Format: "json"}); return r }},
		{"zeek", func() Reporter { r, _ := New(io.Discard, Options{Format: "zeek"}); return r }},
		{"parquet", func() Reporter { r, _ := New(io.Discard, Options{Format: "parquet"}); return r }},
		{"html", func() Reporter {
			r, _ := New(io.Discard, Options{Format: "zeek"})
			return WithHTML(r, io.Discard, th, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			tap := TapJSON(tc.rep(), th, func(line []byte) error {
				got = append(got, string(line))
				return nil
			})
			if _, judges := tap.Reporter.(diagnoser); judges == (tap.diag != nil) {
				t.Errorf("the tap judges: %v; the reporter it wraps: %v", tap.diag != nil, judges)
			}
			for _, r := range records {
				if err := tap.Conn(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := tap.Finish(tot); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(lines[:len(lines)-1], "\n") {
				t.Errorf("connection lines\n got %q\nwant %q", got, lines[:len(lines)-1])
			}
			b, err := tap.Summary()
			if err != nil {
				t.Fatal(err)
			}
			var tapSummary struct {
				Type      string
				Diagnoses json.RawMessage
			}
			if err := json.Unmarshal(b, &tapSummary); err != nil {
				t.Fatal(err)
			}
			if tapSummary.Type != "summary" || !jsonEqual(t, tapSummary.Diagnoses, summary.Diagnoses) {
				t.Errorf("summary %s, want the diagnoses %s", b, summary.Diagnoses)
			}
		})
	}
}

// jsonEqual compares two JSON texts as values, not as bytes (Summary's
// encoder escapes <, > and & where the json format's does not).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
