package check

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// report is a small JSON Lines report: three connections to two servers.
const report = `{"type":"conn","id":1,"ts":10.0,"end_ts":10.5,"client":"10.0.0.1:40000","server":"10.0.0.2:9502","handshake":"complete","close":"fin","client_state":"TIME_WAIT","server_state":"CLOSED","syn_retransmits":0,"synack_retransmits":0,"keepalives":0,"zero_windows":0,"retransmits":1,"handshake_rtt_ms":{"client":1.000,"server":0.500},"packets":{"client":5,"server":4},"bytes":{"client":100,"server":200},"reason":"end","conn_state":"SF","history":"ShADadFf","labels":[],"anomalies":[]}
{"type":"event","ts":10.1,"id":1,"event":"established"}
{"type":"conn","id":2,"ts":11.0,"end_ts":11.2,"client":"10.0.0.1:40001","server":"10.0.0.2:9502","handshake":"complete","close":"rst_server","client_state":"CLOSED","server_state":"CLOSED","syn_retransmits":0,"synack_retransmits":2,"keepalives":0,"zero_windows":0,"retransmits":0,"handshake_rtt_ms":{"client":3.000,"server":null},"packets":{"client":3,"server":3},"bytes":{"client":0,"server":0},"reset":{"by":"server","state":"ESTABLISHED","peer_state":"ESTABLISHED"},"reason":"end","conn_state":"RSTR","history":"ShAr","labels":["synack_retransmitted"],"anomalies":[{"name":"synack_after_ack","ts":11.1,"from":"server","detail":"SYN/ACK #2 sent 1s after the client's ACK","count":2}]}
{"type":"conn","id":3,"ts":12.0,"end_ts":12.0,"client":"[2001:db8::1]:40002","server":"[2001:db8::2]:22","handshake":"refused","close":"none","client_state":"CLOSED","server_state":"CLOSED","syn_retransmits":0,"synack_retransmits":0,"keepalives":0,"zero_windows":0,"retransmits":0,"handshake_rtt_ms":{"client":null,"server":null},"packets":{"client":1,"server":1},"bytes":{"client":0,"server":0},"reset":{"by":"server","state":"CLOSED","peer_state":"SYN_SENT"},"reason":"end","conn_state":"REJ","history":"Sr","labels":[],"anomalies":[]}
{"type":"summary","source":"/tmp/x/cap.pcap","packets":17,"connections":3,"evicted":0,"handshakes":{"complete":2,"refused":1},"closes":{"fin":1,"rst_server":1,"none":1},"census":{"TIME_WAIT":1},"anomalies":{"synack_after_ack":2},"diagnoses":[{"name":"accept_queue_overflow","severity":"critical","endpoint":"10.0.0.2:9502","connections":1,"examples":[2],"explanation":"prose","advice":"more prose"}],"warnings":["/tmp/x/cap.pcap: cut short"],"incomplete":false}
`

func readReport(t *testing.T) *Analysis {
	t.Helper()
	a, err := Read(strings.NewReader(report), "/tmp/x/cap.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRules(t *testing.T) {
	a := readReport(t)
	tests := []struct {
		rule string
		why  string // "" holds
	}{
		{"no syn_flood", ""},
		{"no accept_queue_overflow", "found diagnosis accept_queue_overflow at 10.0.0.2:9502 (1 connection, e.g. 2)"},
		{"no accept_queue_overflow to 10.0.0.0/24:9502", "found diagnosis accept_queue_overflow at 10.0.0.2:9502 (1 connection, e.g. 2)"},
		{"no accept_queue_overflow to :22", ""},
		{"no accept_queue_overflow from 10.0.0.1", ""},
		{"no synack_retransmitted", "found synack_retransmitted on 1 connection (e.g. 2)"},
		{"no synack_after_ack from 10.0.0.1:40000", ""},
		{"every connection to :9502 completes its handshake", ""},
		{"every connection completes its handshake", "1 of 3 connections do not: connection 3 ([2001:db8::1]:40002 -> [2001:db8::2]:22) has handshake refused"},
		{"every connection to 2001:db8::/32 has reset_by == server", ""},
		{"every connection has reset_by != server", "2 of 3 connections do not: connection 2 (10.0.0.1:40001 -> 10.0.0.2:9502) has reset_by server; connection 3 ([2001:db8::1]:40002 -> [2001:db8::2]:22) has reset_by server"},
		{"every connection has synack_ack_rtt < 1ms", "2 of 3 connections do not: connection 2 (10.0.0.1:40001 -> 10.0.0.2:9502) has synack_ack_rtt no value; connection 3 ([2001:db8::1]:40002 -> [2001:db8::2]:22) has synack_ack_rtt no value"},
		{"every connection from 10.9.9.9 completes its handshake", "no connection from 10.9.9.9 in the capture"},
		{"at least 3 connections", ""},
		{"at most 1 connection to :9502", "2 connections to :9502"},
		{"connections from 10.0.0.1 to 10.0.0.2:9502 == 2", ""},
		{"synack_retransmits == 0", "sum of synack_retransmits is 2 over 3 connections"},
		{"synack_retransmits max <= 2", ""},
		{"packets sum == 17", ""},
		{"summary.packets == 17", ""},
		{"client_bytes >= 100", ""},
		{"handshake_rtt p50 <= 1ms", ""},
		{"handshake_rtt p99 < 2ms", "p99 of handshake_rtt is 3ms over 2 connections"},
		{"handshake_rtt mean == 2ms", ""},
		{"handshake_rtt min to :22 < 1s", "no connection to :22 has a handshake_rtt"},
		{"duration max == 500ms", ""},
		{"handshakes.refused == 0", "handshakes.refused is 1"},
		{"handshakes.unanswered == 0", ""},
		{"closes.rst_server<1", "closes.rst_server is 1"},
		{"census.CLOSE_WAIT == 0", ""},
		{"anomalies.synack_after_ack == 2", ""},
		{"diagnoses == 0", "diagnoses is 1"},
		{"warnings == 1", ""},
		{"evicted != 0", "evicted is 0"},
	}
	for _, tc := range tests {
		rules, err := ParseRules(strings.NewReader(tc.rule), "t.expect")
		if err != nil || len(rules) != 1 {
			t.Errorf("%s: %v", tc.rule, err)
			continue
		}
		ok, why := rules[0].Check(a)
		if ok != (tc.why == "") || why != tc.why {
			t.Errorf("%s: holds %v, %q; want %q", tc.rule, ok, why, tc.why)
		}
	}
}

// TestNoFedLineByLine: the rule No builds (--fail-on's) fed the report's
// lines through DecodeConn and DecodeSummary says what the parsed rule
// "no NAME" says of the report read whole.
func TestNoFedLineByLine(t *testing.T) {
	a := readReport(t)
	lines := strings.Split(strings.TrimSpace(report), "\n")
	for _, name := range []string{"syn_flood", "accept_queue_overflow", "synack_retransmitted", "synack_after_ack"} {
		parsed, err := ParseRules(strings.NewReader("no "+name), "t.expect")
		if err != nil {
			t.Fatal(err)
		}
		wantOK, wantWhy := parsed[0].Check(a)
		rule := No(name)
		tally := rule.NewTally()
		for _, l := range lines[:len(lines)-1] {
			if !strings.Contains(l, `"type":"conn"`) {
				continue
			}
			c, err := DecodeConn([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			tally.Add(c)
		}
		summary, err := DecodeSummary([]byte(lines[len(lines)-1]))
		if err != nil {
			t.Fatal(err)
		}
		ok, why := tally.Result(summary)
		if ok != wantOK || why != wantWhy || rule.Text != parsed[0].Text {
			t.Errorf("%s: %q holds %v, %q; the parsed rule %q: %v, %q", name, rule.Text, ok, why, parsed[0].Text, wantOK, wantWhy)
		}
	}
	if _, err := DecodeConn([]byte(`{"type":"conn",`)); err == nil {
		t.Error("DecodeConn took a line cut short")
	}
}

func TestParseRulesKeepsTextAndLines(t *testing.T) {
	rules, err := ParseRules(strings.NewReader("# header\n\n  no   syn_flood   # none please\nretransmits<=3\n"), "f.expect")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Text != "no syn_flood" || rules[0].Line != 3 || rules[1].Text != "retransmits<=3" || rules[1].Line != 4 || rules[1].File != "f.expect" {
		t.Errorf("%+v", rules)
	}
}

func TestTokenize(t *testing.T) {
	var got []string
	for _, tok := range tokenize("a<=b  c != [::1]:80\t>=5ms") {
		got = append(got, tok.text+"@"+string(rune('0'+tok.col)))
	}
	want := "a@1 <=@2 b@4 c@7 !=@9 [::1]:80@< >=@E 5ms@G"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestPercentile(t *testing.T) {
	vals := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for pct, want := range map[float64]float64{50: 5, 90: 9, 99: 10, 100: 10, 10: 1, 0.1: 1} {
		if got := percentile(vals, pct); got != want {
			t.Errorf("p%v = %v, want %v", pct, got, want)
		}
	}
}

// TestSnapshotRoundTrip: a snapshot reads back to the same analysis, is
// the same bytes each time, and has no volatile fields.
func TestSnapshotRoundTrip(t *testing.T) {
	a := readReport(t)
	snap := a.Snapshot()
	if !bytes.Equal(snap, readReport(t).Snapshot()) {
		t.Error("two snapshots of one report differ")
	}
	for _, gone := range []string{`"source"`, `"type"`, "prose", `"detail"`, "/tmp/x/"} {
		if bytes.Contains(snap, []byte(gone)) {
			t.Errorf("the snapshot holds %s", gone)
		}
	}
	if !bytes.Contains(snap, []byte(`"cap.pcap: cut short"`)) || !bytes.Contains(snap, []byte(`"ts": 10.0,`)) {
		t.Errorf("the snapshot lost the warning or a number's text:\n%s", snap)
	}
	back, err := ReadSnapshot(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(back, a); len(d) != 0 {
		t.Errorf("differences after a round trip: %v", d)
	}
	if len(back.Conns) != 3 || back.Capture != "cap.pcap" {
		t.Errorf("read back %d connections of %q", len(back.Conns), back.Capture)
	}
}

func TestDiff(t *testing.T) {
	want := readReport(t)
	edited := strings.NewReplacer(
		`"server_state":"CLOSED","syn_retransmits":0,"synack_retransmits":2`, `"server_state":"SYN_RCVD","syn_retransmits":0,"synack_retransmits":2`,
		`"count":2}]`, `"count":3}]`,
		`"client":"10.0.0.1:40000"`, `"client":"10.0.0.1:40009"`,
		`"evicted":0`, `"evicted":0,"reused":1`,
	).Replace(report)
	got, err := Read(strings.NewReader(edited), "/tmp/x/cap.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, d := range Diff(want, got) {
		lines = append(lines, d.String())
	}
	wantLines := []string{
		"connection 1 (10.0.0.1:40000 -> 10.0.0.2:9502): in the snapshot, not in this analysis",
		"connection 2 (10.0.0.1:40001 -> 10.0.0.2:9502): anomalies[0].count: want 2, got 3",
		"connection 2 (10.0.0.1:40001 -> 10.0.0.2:9502): server_state: want \"CLOSED\", got \"SYN_RCVD\"",
		"connection 1 (10.0.0.1:40009 -> 10.0.0.2:9502): new, not in the snapshot",
		"summary: reused: new, 1",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}

// TestDifferenceShortensLongValues: a value of over 200 bytes (a list of
// listeners on one line) is written as the part that differs with 40
// bytes either side and an ellipsis where it is cut; short values, and
// Want and Got themselves, stay whole.
func TestDifferenceShortensLongValues(t *testing.T) {
	listeners := func(n int, changed string) string {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprintf(`{"endpoint":"10.0.%d.%d:8080","handshakes":{"complete":%d}}`, i/250, i%250, i))
		}
		if changed != "" {
			l[n/2] = changed
		}
		return "[" + strings.Join(l, ",") + "]"
	}
	long := listeners(30, "")                                                              // about 1,700 bytes
	changed := listeners(30, `{"endpoint":"10.0.0.15:8080","handshakes":{"complete":99}}`) // one count differs
	at := strings.Index(long, `{"endpoint":"10.0.0.15:8080"`) + len(`{"endpoint":"10.0.0.15:8080","handshakes":{"complete":`)
	tests := []struct {
		name string
		d    Difference
		want string
	}{
		{"short values whole", Difference{Where: "summary", Field: "connections", Want: "4", Got: "5"},
			"summary: connections: want 4, got 5"},
		{"one count in a long list", Difference{Where: "summary", Field: "listeners", Want: long, Got: changed},
			"summary: listeners: want …" + long[at-40:at+2+40] + "…, got …" + changed[at-40:at+2+40] + "…"},
		{"a listener more at the end", Difference{Where: "summary", Field: "listeners", Want: long, Got: long[:len(long)-1] + `,{"endpoint":"x"}]`},
			"summary: listeners: want …" + long[len(long)-1-40:] + ", got …" + long[len(long)-1-40:len(long)-1] + `,{"endpoint":"x"}]`},
		{"a long value new", Difference{Where: "summary", Field: "listeners", Got: long},
			"summary: listeners: new, " + long[:200] + "…"},
		{"a long value gone", Difference{Where: "summary", Field: "listeners", Want: long},
			"summary: listeners: gone, was " + long[:200] + "…"},
		{"a long part that differs", Difference{Where: "summary", Field: "x", Want: `"` + strings.Repeat("a", 300) + `"`, Got: `"` + strings.Repeat("b", 300) + `"`},
			"summary: x: want " + `"` + strings.Repeat("a", 199) + "…, got " + `"` + strings.Repeat("b", 199) + "…"},
		{"cut between characters", Difference{Where: "summary", Field: "x", Want: `"` + strings.Repeat("é", 150) + `"`, Got: `"` + strings.Repeat("é", 149) + `è"`},
			"summary: x: want …" + strings.Repeat("é", 21) + `", got …` + strings.Repeat("é", 20) + `è"`}, // é and è differ in their second byte
	}
	for _, tc := range tests {
		got := tc.d.String()
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: not UTF-8: %q", tc.name, got)
		}
	}
	if d := (Difference{Want: long}); d.Want != long {
		t.Error("the difference itself was shortened")
	}
}

// TestDiffComparesNumbersByValue: a snapshot rewritten by another JSON
// tool (5.13 as 5.130, 2 as 2.0) is the same snapshot; a changed digit
// far down a nanosecond timestamp is not.
func TestDiffComparesNumbersByValue(t *testing.T) {
	tests := []struct {
		want, got string
		same      bool
	}{
		{"5.13", "5.130", true},
		{"2", "2.0", true},
		{"1000", "1e3", true},
		{"5.13", "5.14", false},
		{"1764998719150276000", "1764998719150276001", false},
		{`"5.13"`, `"5.130"`, false}, // strings are compared as written
	}
	for _, tc := range tests {
		parse := func(v string) *Analysis {
			a, err := ReadSnapshot(strings.NewReader(`{"summary":{"x":` + v + `},"connections":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		diffs := Diff(parse(tc.want), parse(tc.got))
		if (len(diffs) == 0) != tc.same {
			t.Errorf("%s against %s: %v, want same=%v", tc.want, tc.got, diffs, tc.same)
		}
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		ep, addr string
		match    bool
	}{
		{":9502", "10.0.0.2:9502", true},
		{":9502", "10.0.0.2:80", false},
		{"10.0.0.2", "10.0.0.2:80", true},
		{"10.0.0.2", "10.0.0.2", true},
		{"10.0.0.2:80", "10.0.0.2", false},
		{"10.0.0.0/8", "10.9.9.9:1", true},
		{"10.0.0.0/8:443", "10.9.9.9:443", true},
		{"10.0.0.0/8:443", "10.9.9.9:80", false},
		{"[::1]:80", "[::1]:80", true},
		{"::1", "[::1]:80", true},
		{"2001:db8::/32", "[2001:db8::5]:1", true},
		{"::ffff:10.0.0.2", "10.0.0.2:1", true},
	}
	for _, tc := range tests {
		e, err := parseEndpoint(tc.ep)
		if err != nil {
			t.Errorf("%s: %v", tc.ep, err)
			continue
		}
		if got := e.matches(tc.addr); got != tc.match {
			t.Errorf("%s matches %s: %v, want %v", tc.ep, tc.addr, got, tc.match)
		}
	}
	for _, bad := range []string{":0", ":x", "10.0.0.300", "10.0.0.0/33", "host.example"} {
		if _, err := parseEndpoint(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzParseRules: no line makes the parser or a parsed rule panic, and an
// error always has a position.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"no syn_flood", "every connection to :9502 completes its handshake", "handshake_rtt p99 < 5ms",
		"at least 100 connections", "synack_retransmits == 0", "connections from ::1 to 10.0.0.0/8:1 >= 2", "census.CLOSE_WAIT<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := ParseRules(strings.NewReader(text), "f")
		if err != nil {
			if pe, ok := err.(*ParseError); ok && (pe.Line < 1 || pe.Col < 1) {
				t.Errorf("error without a position: %v", err)
			}
			return
		}
		a, _ := Read(strings.NewReader(report), "cap.pcap")
		for _, r := range rules {
			r.Check(a)
		}
	})
}

// TestParseErrorsQuoteAnExcerpt: a file that is not a rules file (a key,
// a binary) gets an error that quotes, escaped, a short excerpt of it, never
// the whole line.
func TestParseErrorsQuoteAnExcerpt(t *testing.T) {
	secret := "-----BEGIN-PRIVATE-KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
	tests := []struct{ text, want string }{
		{secret + "\n", `f:1:1: "-----BEGIN-PRIVA"…: a word of 91 characters is part of no rule`},
		{"no syn_flood\n\x7fELF\x02\x01\x01" + strings.Repeat("\x00", 70) + "\n", `f:2:1: "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"…: a word of 77 characters is part of no rule`},
		{"\x1b[2J\x1b[31mgotcha\n", `f:1:1: "\x1b[2J\x1b[31mgotcha" is not a connection field or a summary counter`},
	}
	for _, tc := range tests {
		_, err := ParseRules(strings.NewReader(tc.text), "f")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to start %s", tc.text, err, tc.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n") {
			t.Errorf("%q: the error holds control characters raw: %q", tc.text, err)
		}
	}
}
