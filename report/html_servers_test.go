package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// TestHTMLServersAreBounded: a flood of connections to distinct servers
// keeps the first htmlServers addresses in the page's strings and for the
// timeline; the rows of later ones carry their address themselves, and
// the page says how many connections the timeline leaves out. Every
// server address was kept: 2 M SYNs to distinct servers peaked at 1.08 GB
// with --html, against 104 MB without.
func TestHTMLServersAreBounded(t *testing.T) {
	var page bytes.Buffer
	inner, _ := New(io.Discard, Options{Format: "zeek"})
	rep := WithHTML(inner, &page, diagnose.DefaultThresholds(), false)
	h := rep.(*htmlReporter)
	const extra = 5000 // servers past the bound, with busy the first
	busy := netip.MustParseAddrPort("192.0.2.1:443")
	var id uint64
	conn := func(server netip.AddrPort, at int64) {
		id++
		r := record()
		r.ID, r.ServerAddr, r.First, r.Last = id, server, at, at+1000
		if err := rep.Conn(r); err != nil {
			t.Fatal(err)
		}
	}
	const start = int64(1_700_000_000e9)
	server := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80)
	}
	for i := range htmlServers + extra {
		if i%100 == 0 {
			conn(busy, start+int64(i)*1e6)
		}
		conn(server(i), start+int64(i)*1e6)
	}
	if h.servers != htmlServers || h.untracked != extra+1 || len(h.strs.values) > htmlServers+20 {
		t.Errorf("%d servers and %d strings kept, %d connections untracked; want %d, at most %d, %d",
			h.servers, len(h.strs.values), h.untracked, htmlServers, htmlServers+20, extra+1)
	}
	if err := rep.Finish(&Totals{Source: "x.pcap", First: start, Last: start + int64(htmlServers+extra)*1e6, Census: testCensus()}); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	for _, want := range []string{
		`<p class="muted" id="untracked">Not drawn: 5,001 connections to servers seen after the first 16,384 (the table lists them).</p>`,
		`>192.0.2.1:443</text>`, // the busiest listener is in the timeline
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the page", want)
		}
	}
	data := out[strings.Index(out, `<script id="data" type="application/json">`):]
	data = data[strings.Index(data, ">")+1 : strings.Index(data, "</script>")]
	var d struct {
		Strings []string
		Conns   [][]any
	}
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatalf("the page's data: %v", err)
	}
	first, last := d.Conns[1], d.Conns[len(d.Conns)-1] // the first to server(0), the last to the last server
	if i, ok := first[2].(float64); !ok || d.Strings[int(i)] != server(0).String() {
		t.Errorf("the first row's server is %v, want the index of %s", first[2], server(0))
	}
	if fmt.Sprint(last[2]) != server(htmlServers+extra-1).String() {
		t.Errorf("the last row's server is %v, want %s itself", last[2], server(htmlServers+extra-1))
	}
}
