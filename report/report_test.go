package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

func record() *flow.Record {
	return &flow.Record{
		ID:         7,
		ClientAddr: netip.MustParseAddrPort("[fd00::1]:40000"),
		ServerAddr: netip.MustParseAddrPort("[fd00::2]:9502"),
		Reason:     flow.ReasonEnd,
		Zeek:       zeek.Summary{State: "SF", History: "ShADadFf", OrigIsClient: true, OrigPkts: 5, RespPkts: 4, OrigBytes: 100, RespBytes: 2000, OrigIPBytes: 300, RespIPBytes: 2160, HaveBytes: true, Duration: 876_543_211},
		Result: fsm.Result{
			First: 1_700_000_000_123_456_789, Last: 1_700_000_001_000_000_000,
			Client:    fsm.Side{State: fsm.TimeWait, Packets: 5, Bytes: 100, SYNs: 1},
			Server:    fsm.Side{State: fsm.Closed, Packets: 4, Bytes: 2000, SYNACKs: 1, Retransmits: 2},
			Handshake: fsm.HandshakeComplete, Close: fsm.CloseFIN,
			RTTClient: 1_234_567, RTTServer: -1,
			Labels:    []string{fsm.LabelHalfClose},
			Anomalies: []fsm.Anomaly{{Name: fsm.AnomalyAckUnseen, Time: 1_700_000_000_500_000_000, Dir: fsm.FromServer, Detail: "d", Count: 2}},
			App: fsm.App{
				Client: fsm.AppSide{Call: fsm.CallConnect, Setup: fsm.AppConnected, SetupAt: 1_700_000_000_125_000_000, Recv: fsm.AppEOF, At: 1_700_000_000_900_000_000},
				Server: fsm.AppSide{Call: fsm.CallAccept, Setup: fsm.AppAccepted, Recv: fsm.AppEOF, Send: fsm.EPIPE, Errno: 32, At: 1_700_000_000_800_000_000},
			},
		},
	}
}

// TestJSONConnPinned pins the JSON wire form: keys, order, number formats.
// CI users parse it; change it only by adding keys.
func TestJSONConnPinned(t *testing.T) {
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "json"})
	if err := rep.Conn(record()); err != nil {
		t.Fatal(err)
	}
	if err := rep.Finish(&Totals{Source: "x.pcap", Packets: 9, TCPPackets: 9, First: 1_700_000_000_123_456_789, Last: 1_700_000_001e9, Census: testCensus()}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	const wantConn = `{"type":"conn","id":7,"ts":1700000000.123456,"end_ts":1700000001.000000,` +
		`"client":"[fd00::1]:40000","server":"[fd00::2]:9502","handshake":"complete","close":"fin",` +
		`"client_state":"TIME_WAIT","server_state":"CLOSED","syn_retransmits":0,"synack_retransmits":0,` +
		`"keepalives":0,"zero_windows":0,"retransmits":2,"handshake_rtt_ms":{"client":1.235,"server":null},"retry_gaps_ms":{"client":[],"server":[]},` +
		`"packets":{"client":5,"server":4},"bytes":{"client":100,"server":2000},"reason":"end","conn_state":"SF","history":"ShADadFf",` +
		`"labels":["half_close"],"anomalies":[{"name":"ack_unseen","ts":1700000000.500000,"from":"server","detail":"d","count":2}],` +
		`"app":{"client":{"connect":"connected","recv":"EOF","setup_ts":1700000000.125000,"ts":1700000000.900000},"server":{"accept":"accepted","recv":"EOF","send":"EPIPE","errno":32,"ts":1700000000.800000}}}`
	if lines[0] != wantConn {
		t.Errorf("conn JSON\n got %s\nwant %s", lines[0], wantConn)
	}
	const wantSummary = `{"type":"summary","source":"x.pcap","ts":1700000000.123456,"end_ts":1700000001.000000,` +
		`"packets":9,"tcp_packets":9,"non_tcp":0,"fragments":0,"filtered":0,"malformed":0,"truncated":0,"bad_checksums":0,"bad_ip_checksums":0,` +
		`"connections":1,"expired":0,"evicted":0,"reused":0,"handshakes":{"complete":1},"closes":{"fin":1},` +
		`"census":{"LISTEN":1,"TIME_WAIT":1},"census_ts":1700000001.000000,"census_hosts":{"fd00::1":{"TIME_WAIT":1},"fd00::2":{"LISTEN":1}},"census_client_only_established":0,"anomalies":{"ack_unseen":2},"diagnoses":[],` +
		`"listeners":[{"endpoint":"[fd00::2]:9502","handshakes":{"complete":1},"not_accepted":0,"rtt_ms":{"syn_synack":{"min":1.235,"median":1.235,"p99":1.235,"max":1.235,"samples":1},"synack_ack":null}}],` +
		`"warnings":[],"incomplete":false}`
	if lines[1] != wantSummary {
		t.Errorf("summary JSON\n got %s\nwant %s", lines[1], wantSummary)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("invalid JSON: %s", l)
		}
	}
}

func TestUnixTime(t *testing.T) {
	for _, tt := range []struct {
		ns   int64
		want string
	}{{0, "0.000000"}, {1_500_000, "0.001500"}, {1_700_000_000_000_000_999, "1700000000.000000"}, {-1_500_000_000, "-2.500000"}} {
		got, _ := unixTime(tt.ns).MarshalJSON()
		if string(got) != tt.want {
			t.Errorf("%d: %s, want %s", tt.ns, got, tt.want)
		}
	}
}

// testCensus is a census of two hosts: a client in TIME_WAIT, a listener.
func testCensus() *flow.Census {
	h1, h2 := &flow.HostCensus{}, &flow.HostCensus{Listeners: 1}
	h1.States[fsm.TimeWait] = 1
	return &flow.Census{At: 1_700_000_001e9, Hosts: map[netip.Addr]*flow.HostCensus{
		netip.MustParseAddr("fd00::2"): h2, netip.MustParseAddr("fd00::1"): h1,
	}}
}

func TestCensusCounts(t *testing.T) {
	c := testCensus()
	c.Hosts[netip.MustParseAddr("10.0.0.9")] = &flow.HostCensus{} // nothing to show
	got := censusCounts(c)
	want := []count{{"LISTEN", 1}, {"TIME_WAIT", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("census %v, want %v", got, want)
	}
	if hosts := censusHosts(c); len(hosts) != 2 || hosts[0].String() != "fd00::1" {
		t.Errorf("hosts %v, want fd00::1 then fd00::2", hosts)
	}
}

func TestTextReport(t *testing.T) {
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text"})
	rep.Conn(record())
	rep.Finish(&Totals{Source: "x.pcap", Packets: 9, TCPPackets: 9, Warnings: []string{"x.pcap: packet 3: oops"}, Census: testCensus()})
	out := b.String()
	for _, want := range []string{
		"#7 [fd00::1]:40000 → [fd00::2]:9502",
		"handshake complete (rtt SYN→SYN/ACK 1.235ms, SYN/ACK→ACK -)  close fin",
		"client TIME_WAIT  server CLOSED",
		"[half_close]",
		"! ack_unseen at +0.376543s: d (2 times)",
		"census       at 22:13:21.000000: LISTEN 1, TIME_WAIT 1",
		"               fd00::1  TIME_WAIT 1",
		"               fd00::2  LISTEN 1",
		"warning: x.pcap: packet 3: oops",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without Color")
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Format: "xml"}); err == nil {
		t.Error("no error for format xml")
	}
}

// TestZeekLog pins the conn.log layout: Zeek's header lines, the columns
// zeek-cut reads, and the row of a connection whose originator is
// tcpfsm's server.
func TestZeekLog(t *testing.T) {
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "zeek"})
	r := record()
	r.Zeek.OrigIsClient = false
	rep.Conn(r)
	rep.Finish(&Totals{First: r.First, Last: r.Last})
	lines := strings.Split(b.String(), "\n")
	want := []string{
		"#separator \\x09",
		"#set_separator\t,",
		"#empty_field\t(empty)",
		"#unset_field\t-",
		"#path\tconn",
		"#open\t2023-11-14-22-13-20",
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes",
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\tstring\tcount\tcount\tcount\tcount",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("header line %d: %q, want %q", i+1, lines[i], w)
		}
	}
	row := strings.Split(lines[len(want)], "\t")
	wantRow := []string{"1700000000.123456", row[1], "fd00::2", "9502", "fd00::1", "40000", "tcp", "0.876543", "100", "2000", "SF", "ShADadFf", "5", "300", "4", "2160"}
	if strings.Join(row, "|") != strings.Join(wantRow, "|") {
		t.Errorf("row\n got %q\nwant %q", row, wantRow)
	}
	if len(row[1]) != 18 || row[1][0] != 'C' {
		t.Errorf("uid %q is not Zeek-shaped", row[1])
	}
	if lines[len(want)+1] != "#close\t2023-11-14-22-13-21" {
		t.Errorf("close line %q", lines[len(want)+1])
	}
}

func TestQuantiles(t *testing.T) {
	var r rttSample
	budget := maxRTTKept
	for i := 100; i >= 1; i-- {
		r.add(int64(i)*1e6, &budget) // 1..100 ms, out of order
	}
	q := summarise(&r)
	if q.Min != 1e6 || q.Median != 50e6 || q.P99 != 99e6 || q.Max != 100e6 || q.N != 100 {
		t.Errorf("quantiles %+v", q)
	}
	if summarise(&rttSample{}) != nil {
		t.Error("quantiles of nothing")
	}
}

// TestRTTSampleIsBounded: a million handshakes keep maxRTTSamples times,
// whose percentiles stay close to the exact ones, with exact count,
// minimum and maximum; the budget over all listeners holds too.
func TestRTTSampleIsBounded(t *testing.T) {
	var r rttSample
	budget := maxRTTKept
	const n = 1_000_000
	for i := range n {
		r.add(int64((i*7919)%n+1)*1e3, &budget) // 1 µs .. 1 s, each once, scrambled
	}
	if len(r.kept) != maxRTTSamples || budget != maxRTTKept-maxRTTSamples {
		t.Fatalf("kept %d, budget left %d", len(r.kept), budget)
	}
	q := summarise(&r)
	if q.N != n || q.Min != 1e3 || q.Max != n*1e3 {
		t.Errorf("count %d, min %v, max %v: not exact", q.N, q.Min, q.Max)
	}
	// A uniform sample of 1,024 puts the median within a few percent.
	if q.Median < 450e6 || q.Median > 550e6 || q.P99 < 970e6 {
		t.Errorf("median %v, p99 %v: not a uniform sample", q.Median, q.P99)
	}
	var other rttSample
	budget = 1
	other.add(5, &budget)
	other.add(6, &budget)
	if len(other.kept) != 1 || budget != 0 || other.n != 2 || other.max != 6 {
		t.Errorf("with a budget of one: kept %v, n %d, max %d", other.kept, other.n, other.max)
	}
}

// TestLiveDropsAreProminent: a live capture that missed packets says so in
// the census lines and the summary, and warns of it among the summary's
// warnings, in every format.
func TestLiveDropsAreProminent(t *testing.T) {
	live := &LiveCounters{Interface: "eth0", Received: 1000, Dropped: 12, IfDropped: 3}
	for _, format := range []string{"text", "json", "html"} {
		var b, page bytes.Buffer
		var rep Reporter
		if format == "html" {
			text, _ := New(&b, Options{Format: "text", Stream: true})
			rep = WithHTML(text, &page, diagnose.DefaultThresholds(), false)
		} else {
			rep, _ = New(&b, Options{Format: format, Stream: true})
		}
		if err := rep.Tick(&Tick{Time: 1_700_000_000e9, Census: testCensus(), TCPPackets: 900, Live: live}); err != nil {
			t.Fatal(err)
		}
		tot := &Totals{Source: "eth0", Packets: 900, TCPPackets: 900, Census: testCensus(), Live: live,
			Warnings: []string{"eth0: another problem"}}
		if err := rep.Finish(tot); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		var want []string
		switch format {
		case "text":
			want = []string{"census  ", "(900 TCP packets, 15 dropped)",
				"capture      eth0: 1000 received, 12 dropped by the kernel, 3 by the interface",
				"warning: the capture missed 15 packets, so connections may be misreported: give libpcap a bigger buffer (-B)",
				"warning: eth0: another problem"}
		case "json":
			want = []string{`"type":"census"`, `"capture":{"interface":"eth0","received":1000,"dropped":12,"if_dropped":3}`,
				`"warnings":["the capture missed 15 packets, so connections may be misreported: give libpcap a bigger buffer (-B)`,
				`narrow the filter","eth0: another problem"]`}
		case "html":
			out = page.String()
			want = []string{`warning: the capture missed 15 packets, so connections may be misreported`,
				`warning: eth0: another problem`}
		}
		if len(tot.Warnings) != 1 {
			t.Errorf("%s: Finish changed the caller's warnings: %q", format, tot.Warnings)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s output lacks %q:\n%s", format, w, out)
			}
		}
		if format == "json" && strings.Count(out, `"capture":`) != 2 {
			t.Errorf("json: want the counters in the census and the summary:\n%s", out)
		}
	}

	// A file has no counters, and says nothing about them; nor does a live
	// capture that missed nothing warn.
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "json"})
	rep.Finish(&Totals{Source: "x.pcap"})
	if strings.Contains(b.String(), `"capture"`) || !strings.Contains(b.String(), `"warnings":[]`) {
		t.Errorf("file summary carries capture counters or warnings: %s", b.String())
	}
	b.Reset()
	rep, _ = New(&b, Options{Format: "json"})
	rep.Finish(&Totals{Source: "eth0", Live: &LiveCounters{Interface: "eth0", Received: 1000}})
	if !strings.Contains(b.String(), `"warnings":[]`) {
		t.Errorf("a capture that missed nothing warns: %s", b.String())
	}
}

// TestStreamOnlyWhenAsked: without Options.Stream, events and ticks write
// nothing, so an offline report is unchanged.
func TestStreamOnlyWhenAsked(t *testing.T) {
	for _, format := range []string{"text", "json", "zeek"} {
		var plain, asked bytes.Buffer
		rep, _ := New(&plain, Options{Format: format})
		rep.Finish(&Totals{Source: "x.pcap"})
		rep, _ = New(&asked, Options{Format: format})
		r := record()
		rep.Event(&Event{Time: r.First, What: fsm.EventEstablished, Conn: r})
		rep.Tick(&Tick{Time: r.First, Census: testCensus()})
		rep.Finish(&Totals{Source: "x.pcap"})
		if asked.String() != plain.String() {
			t.Errorf("%s: events and ticks changed the output without Stream:\n%s", format, asked.String())
		}
	}
}

// TestTextCountsAgree: a connection's counts in the text report are said
// as a reader says them: "1 retransmission", "2 retransmissions".
func TestTextCountsAgree(t *testing.T) {
	tests := []struct {
		retransmits, keepalives, zeroWindows uint32
		want                                 string
	}{
		{1, 1, 1, "\n    1 retransmission, 1 keepalive, 1 zero window  ["},
		{2, 3, 4, "\n    2 retransmissions, 3 keepalives, 4 zero windows  ["},
		{1, 0, 2, "\n    1 retransmission, 2 zero windows  ["},
	}
	for _, tc := range tests {
		r := record()
		r.Client.Retransmits, r.Server.Retransmits = tc.retransmits, 0
		r.Client.Keepalives, r.Client.ZeroWindows = tc.keepalives, tc.zeroWindows
		var b bytes.Buffer
		rep, _ := New(&b, Options{Format: "text"})
		if err := rep.Conn(r); err != nil {
			t.Fatal(err)
		}
		rep.Finish(&Totals{Source: "x.pcap"})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("want %q in\n%s", tc.want, b.String())
		}
	}
}

// TestStreamedLine: the line before a streamed text report's summary says
// how many connections were reported above as each ended, in words that
// agree with the counts (not "1 of the 1 connections"), and there is none
// when nothing was.
func TestStreamedLine(t *testing.T) {
	tests := []struct {
		ended, atEnd int // connections that left the table before the end, and at it
		want         string
	}{
		{1, 0, "\nThe connection was reported above as it ended; the summary counts it.\nSummary "},
		{3, 0, "\nAll 3 connections were reported above, each as it ended; the summary counts them all.\nSummary "},
		{1, 1, "\n1 of the 2 connections was reported above as it ended; the summary counts them all.\nSummary "},
		{2, 3, "\n2 of the 5 connections were reported above, each as it ended; the summary counts them all.\nSummary "},
		{0, 2, ""},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		rep, _ := New(&b, Options{Format: "text", Stream: true})
		for i := range tc.ended + tc.atEnd {
			r := record()
			r.ID = uint64(i + 1)
			if i < tc.ended {
				r.Reason = flow.ReasonClosed
			}
			if err := rep.Conn(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := rep.Finish(&Totals{Source: "x.pcap"}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if tc.want == "" && strings.Contains(out, "reported above") || !strings.Contains(out, tc.want) {
			t.Errorf("%d ended, %d at the end: want %q in\n%s", tc.ended, tc.atEnd, tc.want, out)
		}
	}
}

// TestUnansweredAnnouncedWhenGivenUp: a live display announces an
// unanswered handshake once its sender stops retrying (no retransmission
// for twice the last gap), not only when the connection leaves the table,
// and not twice.
func TestUnansweredAnnouncedWhenGivenUp(t *testing.T) {
	const s = int64(1e9)
	r := record()
	r.Handshake, r.Close = fsm.HandshakeUnanswered, fsm.CloseNone
	r.Client.State, r.Server.State = fsm.SynSent, fsm.Listen
	r.SynRetransmits = 2
	t0 := r.First
	r.Client.SYNTimes = []int64{t0, t0 + 1*s, t0 + 3*s} // gaps 1 s, 2 s: the next would come by +7 s
	open := func(yield func(*flow.Record) bool) { yield(r) }
	for _, format := range []string{"text", "json"} {
		var b bytes.Buffer
		rep, _ := New(&b, Options{Format: format, Stream: true})
		rep.Tick(&Tick{Time: t0 + 7*s, Open: open}) // 4 s after the last SYN: still waiting
		if strings.Contains(b.String(), "handshake unanswered") || strings.Contains(b.String(), `"event":"unanswered"`) {
			t.Errorf("%s: announced after 4 s of a 2 s backoff:\n%s", format, b.String())
		}
		rep.Tick(&Tick{Time: t0 + 8*s, Open: open}) // 5 s > 2 x 2 s + slack
		rep.Tick(&Tick{Time: t0 + 9*s, Open: open})
		rep.Conn(r)
		out := b.String()
		var want string
		if format == "text" {
			want = "handshake unanswered, 2 SYN retransmitted (after 1.0s, 2.0s), no retry for 5.0s: given up"
		} else {
			want = `"event":"unanswered","from":"client"`
		}
		if strings.Count(out, want) != 1 {
			t.Errorf("%s: want %q exactly once:\n%s", format, want, out)
		}
		if format == "json" && strings.Count(out, `"event":"unanswered"`) != 1 {
			t.Errorf("json: the end of the connection repeats the event:\n%s", out)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"syn_flood", "syn_unanswered", "keepalive", "half_close"}
	for _, tc := range []struct{ got, want string }{
		{"syn_flod", ": did you mean syn_flood?"},
		{"keepalvie", ": did you mean keepalive?"},
		{"half-close", ": did you mean half_close?"},
		{"syn_flood", ": did you mean syn_flood?"},
		{"zzzzzzzz", ""},
		{"", ""},
	} {
		if got := Suggest(tc.got, names); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.got, got, tc.want)
		}
	}
}
