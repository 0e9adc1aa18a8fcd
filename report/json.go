package report

import (
	"bufio"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The JSON Lines format: one "conn" object per connection, then one
// "summary" object. The keys are an interface; README.md documents each.
//
// The "conn" and "event" lines, one or more per connection, are appended
// by hand (appendConnJSON, appendEventJSON) into a buffer the reporter
// reuses; the rest go through encoding/json. The hand-written lines are
// byte for byte what encoding/json wrote from the structs in
// json_ref_test.go, which the tests hold them to.

// SummaryCounts are the summary's counts of what was read and followed,
// keys the JSON summary holds in this order and tcpfsm merge adds up.
type SummaryCounts struct {
	Packets     uint64 `json:"packets"`
	TCPPackets  uint64 `json:"tcp_packets"`
	NonTCP      uint64 `json:"non_tcp"`
	Fragments   uint64 `json:"fragments"`
	Filtered    uint64 `json:"filtered"`
	Malformed   uint64 `json:"malformed"`
	Truncated   uint64 `json:"truncated"`
	BadChecksum uint64 `json:"bad_checksums"`
	BadIPSum    uint64 `json:"bad_ip_checksums"`
	Connections uint64 `json:"connections"`
	Expired     uint64 `json:"expired"`
	Evicted     uint64 `json:"evicted"`
	Reused      uint64 `json:"reused"`
}

type jsonSummary struct {
	Type   string   `json:"type"`
	Source string   `json:"source"`
	TS     unixTime `json:"ts"`
	EndTS  unixTime `json:"end_ts"`
	SummaryCounts
	Handshakes  orderedCount `json:"handshakes"`
	Closes      orderedCount `json:"closes"`
	Census      orderedCount `json:"census"`
	CensusAt    unixTime     `json:"census_ts"`
	CensusHosts hostCensus   `json:"census_hosts"`
	// CensusClientOnly: Census.ClientOnlyEstablished.
	CensusClientOnly uint32        `json:"census_client_only_established"`
	Anomalies        orderedCount  `json:"anomalies"`
	Diagnoses        []jsonDiag    `json:"diagnoses"`
	Listeners        []jsonListen  `json:"listeners"`
	Warnings         []string      `json:"warnings"`
	Incomplete       bool          `json:"incomplete"`
	Capture          *jsonLive     `json:"capture,omitempty"`
	Merge            *MergeState   `json:"merge,omitempty"`
	AppError         *appErrorJSON `json:"app_error,omitempty"`
}

// jsonLive is libpcap's counters of a live capture.
type jsonLive struct {
	Interface string `json:"interface"`
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped"`
	IfDropped uint64 `json:"if_dropped"`
}

func liveJSON(l *LiveCounters) *jsonLive {
	if l == nil {
		return nil
	}
	return &jsonLive{l.Interface, l.Received, l.Dropped, l.IfDropped}
}

// jsonCensus is the running census of the stream.
type jsonCensus struct {
	Type        string       `json:"type"`
	TS          unixTime     `json:"ts"`
	Census      orderedCount `json:"census"`
	CensusHosts hostCensus   `json:"census_hosts"`
	TCPPackets  uint64       `json:"tcp_packets"`
	Capture     *jsonLive    `json:"capture,omitempty"`
}

// jsonRaised is a diagnosis announced by the stream.
type jsonRaised struct {
	Type string   `json:"type"`
	TS   unixTime `json:"ts"`
	jsonDiag
}

type jsonDiag struct {
	Name        string   `json:"name"`
	Severity    string   `json:"severity"`
	Endpoint    string   `json:"endpoint"`
	Connections int      `json:"connections"`
	FirstTS     unixTime `json:"first_ts"`
	LastTS      unixTime `json:"last_ts"`
	Examples    []uint64 `json:"examples"`
	Explanation string   `json:"explanation"`
	Advice      string   `json:"advice"`
}

// jsonListen is one listening endpoint: its connection attempts by
// handshake outcome and the handshake round-trip times.
type jsonListen struct {
	Endpoint string       `json:"endpoint"`
	Outcomes orderedCount `json:"handshakes"`
	// NotAccepted: of the complete handshakes, those the server never
	// took in (left in SYN_RCVD or reset from it: a full accept queue).
	NotAccepted uint64 `json:"not_accepted"`
	RTT         struct {
		SynToSynAck *jsonQuantiles `json:"syn_synack"`
		SynAckToAck *jsonQuantiles `json:"synack_ack"`
	} `json:"rtt_ms"`
}

type jsonQuantiles struct {
	Min    msec `json:"min"`
	Median msec `json:"median"`
	P99    msec `json:"p99"`
	Max    msec `json:"max"`
	N      int  `json:"samples"`
}

func listenersJSON(ls []*listenerStats) []jsonListen {
	out := make([]jsonListen, 0, len(ls))
	for _, l := range ls {
		j := jsonListen{Endpoint: l.endpoint.String(), Outcomes: sorted(l.outcomes), NotAccepted: l.notAccepted}
		if q := summarise(&l.rtt[0]); q != nil {
			j.RTT.SynToSynAck = (*jsonQuantiles)(q)
		}
		if q := summarise(&l.rtt[1]); q != nil {
			j.RTT.SynAckToAck = (*jsonQuantiles)(q)
		}
		out = append(out, j)
	}
	return out
}

func diagJSON(ds []diagnose.Diagnosis) []jsonDiag {
	out := make([]jsonDiag, 0, len(ds))
	for _, d := range ds {
		out = append(out, jsonDiag{d.Name, d.Severity.String(), d.Endpoint, d.Connections,
			unixTime(d.First), unixTime(d.Last), d.Examples, d.Explanation, d.Advice})
	}
	return out
}

// unixTime marshals Unix nanoseconds as seconds with microsecond precision,
// the resolution of a classic pcap.
type unixTime int64

func (t unixTime) MarshalJSON() ([]byte, error) {
	return appendUnixTime(nil, int64(t)), nil
}

// appendUnixTime appends Unix nanoseconds as unixTime marshals them:
// seconds, a point and exactly six digits of microseconds, the fraction
// counted forward from the second below for times before 1970.
func appendUnixTime(b []byte, ns int64) []byte {
	sec, frac := ns/1e9, (ns%1e9)/1e3
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	var f [8]byte
	return append(b, strconv.AppendInt(f[:0], frac+1e6, 10)[1:]...)
}

// msec marshals nanoseconds as milliseconds with microsecond precision.
type msec int64

func (m msec) MarshalJSON() ([]byte, error) {
	return appendMsec(nil, int64(m)), nil
}

// appendMsec appends nanoseconds as msec marshals them: as the float
// ns/1e6 with three decimals. A whole number of microseconds (every time
// from a microsecond capture) is written digit by digit instead, which is
// the same text: the float nearest to a multiple of 1/1000 rounds to it.
func appendMsec(b []byte, ns int64) []byte {
	if ns%1000 != 0 || ns < 0 || ns >= 1<<53 {
		return strconv.AppendFloat(b, float64(ns)/1e6, 'f', 3, 64)
	}
	us := ns / 1000
	b = strconv.AppendInt(b, us/1000, 10)
	return append(b, '.', byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
}

func gaps(times []int64) []msec {
	out := []msec{}
	for i := 1; i < len(times); i++ {
		out = append(out, msec(times[i]-times[i-1]))
	}
	return out
}

// hostCensus marshals a census as {"host":{"STATE":n,…},…} in address order.
type hostCensus struct{ c *flow.Census }

func (h hostCensus) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, a := range censusHosts(h.c) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, a.String())
		b = append(b, ':')
		counts, _ := orderedCount(hostCounts(h.c.Hosts[a])).MarshalJSON()
		b = append(b, counts...)
	}
	return append(b, '}'), nil
}

// orderedCount is a JSON object whose keys keep their order.
type orderedCount []count

func (o orderedCount) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.Name)
		b = append(b, ':')
		b = strconv.AppendUint(b, c.Value, 10)
	}
	return append(b, '}'), nil
}

type jsonReporter struct {
	w      *bufio.Writer
	enc    *json.Encoder // for the lines written once or rarely
	buf    []byte        // the "conn" and "event" lines, reused
	sum    summary
	stream bool
	appErr *appErrors // Options.AppError; nil writes every connection
	ann    announcer
	// mergeable: Options.Mergeable.
	mergeable bool
	th        diagnose.Thresholds
}

func newJSON(w io.Writer, th diagnose.Thresholds, stream bool) *jsonReporter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonReporter{w: bw, enc: enc, buf: make([]byte, 0, 1024), sum: newSummary(th), stream: stream, th: th}
}

func (j *jsonReporter) Conn(r *flow.Record) error {
	j.sum.add(r)
	if j.appErr != nil && !j.appErr.add(r) {
		return nil // counted, not written
	}
	b := j.buf[:0]
	if j.stream && unanswered(r) && !j.ann.announcedAtEnd(r) {
		b = appendEventJSON(b, r.End, r.Handshake, retrier(r), r)
		b = append(b, '\n')
	}
	b = appendConnJSON(b, r)
	if j.mergeable {
		whole, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b = append(b[:len(b)-1], `,"merge":`...)
		b = append(append(b, whole...), '}')
	}
	b = append(b, '\n')
	j.buf = b
	if _, err := j.w.Write(b); err != nil {
		return err
	}
	if !j.stream {
		return nil
	}
	return j.w.Flush()
}

func (j *jsonReporter) Event(e *Event) error {
	if !j.stream {
		return nil
	}
	j.buf = appendEventJSON(j.buf[:0], e.Time, e.What.String(), e.Dir, e.Conn)
	j.buf = append(j.buf, '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		return err
	}
	return j.w.Flush()
}

func (j *jsonReporter) Tick(k *Tick) error {
	if !j.stream {
		return nil
	}
	if k.Census != nil {
		c := jsonCensus{Type: "census", TS: unixTime(k.Time), Census: censusCounts(k.Census),
			CensusHosts: hostCensus{k.Census}, TCPPackets: k.TCPPackets, Capture: liveJSON(k.Live)}
		if c.Census == nil {
			c.Census = orderedCount{}
		}
		if err := j.enc.Encode(c); err != nil {
			return err
		}
	}
	var err error
	raised := j.ann.tick(j.sum.diag, k.Open, k.Time, func(r *flow.Record) {
		j.buf = append(appendEventJSON(j.buf[:0], k.Time, r.Handshake, retrier(r), r), '\n')
		if _, werr := j.w.Write(j.buf); err == nil {
			err = werr
		}
	})
	if err != nil {
		return err
	}
	for _, d := range diagJSON(raised) {
		if err := j.enc.Encode(jsonRaised{"diagnosis", unixTime(k.Time), d}); err != nil {
			return err
		}
	}
	return j.w.Flush()
}

type jsonTrace struct {
	Type   string   `json:"type"`
	Frame  uint64   `json:"frame"`
	TS     unixTime `json:"ts"`
	ID     uint64   `json:"id"`
	From   string   `json:"from"`
	To     string   `json:"to"`
	Dir    string   `json:"dir"`
	Flags  string   `json:"flags"`
	Seq    uint32   `json:"seq"`
	Ack    uint32   `json:"ack"`
	Len    int      `json:"len"`
	Win    uint16   `json:"win"`
	Kind   string   `json:"kind"`
	Client string   `json:"client_state"`
	Server string   `json:"server_state"`
	// Transitions lists the state changes, e.g. "client FIN_WAIT_1 → CLOSING → TIME_WAIT".
	Transitions []string `json:"transitions"`
	// Rule names what decided the segment's effect where the receiver
	// did not simply take it (fsm.Rule), e.g. "rst_in_window".
	Rule string `json:"rule,omitempty"`
}

func transitions(res *fsm.StepResult) []string {
	out := []string{}
	for _, d := range []fsm.Dir{fsm.FromClient, fsm.FromServer} {
		if res.Before[d] == res.After[d] {
			continue
		}
		s := d.String() + " " + res.Before[d].String()
		if res.Via[d] != fsm.Unknown {
			s += " → " + res.Via[d].String()
		}
		out = append(out, s+" → "+res.After[d].String())
	}
	return out
}

func (j *jsonReporter) Trace(l *TraceLine) error {
	return j.enc.Encode(jsonTrace{
		Type: "packet", Frame: l.Index, TS: unixTime(l.Time), ID: l.ConnID,
		From: l.From.String(), To: l.To.String(), Dir: l.Seg.Dir.String(),
		Flags: l.Seg.Flags.String(), Seq: l.Seg.Seq, Ack: l.Seg.Ack, Len: l.Seg.Len, Win: l.Seg.Window,
		Kind:   l.Result.Kind.String(),
		Client: l.Result.After[fsm.FromClient].String(), Server: l.Result.After[fsm.FromServer].String(),
		Transitions: transitions(&l.Result), Rule: l.Result.Rule.String(),
	})
}

func (j *jsonReporter) Finish(t *Totals) error {
	ds := j.sum.diag.Diagnoses()
	s := &jsonSummary{
		Type: "summary", Source: t.Source, TS: unixTime(t.First), EndTS: unixTime(t.Last),
		SummaryCounts: SummaryCounts{
			Packets: t.Packets, TCPPackets: t.TCPPackets, NonTCP: t.NonTCP, Fragments: t.Fragments, Filtered: t.Filtered,
			Malformed: t.Malformed, Truncated: t.Truncated, BadChecksum: t.BadChecksum, BadIPSum: t.BadIPChecksum,
			Connections: j.sum.connections, Expired: t.Flow.Idle, Evicted: t.Flow.Evicted, Reused: t.Flow.Reused,
		},
		Handshakes: sorted(j.sum.handshakes), Closes: sorted(j.sum.closes),
		Census: censusCounts(t.Census), CensusHosts: hostCensus{t.Census}, Anomalies: sorted(j.sum.anomalies),
		Diagnoses: diagJSON(ds),
		Listeners: listenersJSON(j.sum.listenersByAttempts()),
		Warnings:  t.warnings(), Incomplete: t.Incomplete,
		Capture: liveJSON(t.Live),
	}
	if t.Census != nil {
		s.CensusAt = unixTime(t.Census.At)
		s.CensusClientOnly = t.Census.ClientOnlyEstablished
	}
	s.AppError = j.appErr.json(ds)
	if j.mergeable {
		s.Merge = &MergeState{Version: MergeVersion, Shard: t.Shard.String(), First: t.First, Last: t.Last, Thresholds: j.th}
		if t.Shard.Count == 0 {
			s.Merge.Shard = "0/1"
		}
		if t.Census != nil {
			st := t.Census.State()
			s.Merge.Census = &st
		}
	}
	if s.Warnings == nil {
		s.Warnings = []string{}
	}
	if err := j.enc.Encode(s); err != nil {
		return err
	}
	return j.w.Flush()
}

// appendConnJSON appends the "conn" object of a finished connection,
// without the newline.
func appendConnJSON(b []byte, r *flow.Record) []byte {
	b = append(b, `{"type":"conn","id":`...)
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, `,"ts":`...)
	b = appendUnixTime(b, r.First)
	b = append(b, `,"end_ts":`...)
	b = appendUnixTime(b, r.Last)
	b = appendEndpoints(b, r)
	b = append(b, `,"syn_retransmits":`...)
	b = strconv.AppendInt(b, int64(r.SynRetransmits), 10)
	b = append(b, `,"synack_retransmits":`...)
	b = strconv.AppendInt(b, int64(r.SynAckRetransmits), 10)
	// The sums are uint32, and wrap as such.
	b = append(b, `,"keepalives":`...)
	b = strconv.AppendUint(b, uint64(r.Client.Keepalives+r.Server.Keepalives), 10)
	b = append(b, `,"zero_windows":`...)
	b = strconv.AppendUint(b, uint64(r.Client.ZeroWindows+r.Server.ZeroWindows), 10)
	b = append(b, `,"retransmits":`...)
	b = strconv.AppendUint(b, uint64(r.Client.Retransmits+r.Server.Retransmits), 10)
	b = appendHandshakeRTT(b, r)
	// The gaps between the client's SYNs and between the server's
	// SYN/ACKs: Linux doubles them from 1 s.
	b = append(b, `,"retry_gaps_ms":{"client":`...)
	b = appendGaps(b, r.Client.SYNTimes)
	b = append(b, `,"server":`...)
	b = appendGaps(b, r.Server.SYNTimes)
	b = append(b, `},"packets":{"client":`...)
	b = strconv.AppendUint(b, r.Client.Packets, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, r.Server.Packets, 10)
	b = append(b, `},"bytes":{"client":`...)
	b = strconv.AppendUint(b, r.Client.Bytes, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, r.Server.Bytes, 10)
	b = append(b, '}')
	b = appendReset(b, r)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, r.Reason.String())
	b = append(b, `,"conn_state":`...)
	b = appendJSONString(b, r.Zeek.State)
	b = append(b, `,"history":`...)
	b = appendJSONString(b, r.Zeek.History)
	b = append(b, `,"labels":[`...)
	for i, l := range r.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, l)
	}
	b = append(b, `],"anomalies":[`...)
	for i := range r.Anomalies {
		a := &r.Anomalies[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, a.Name)
		b = append(b, `,"ts":`...)
		b = appendUnixTime(b, a.Time)
		b = append(b, `,"from":`...)
		b = appendJSONString(b, a.Dir.String())
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, a.Detail)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(a.Count), 10)
		b = append(b, '}')
	}
	b = append(b, `],"app":{"client":`...)
	b = appendAppSide(b, &r.App.Client)
	b = append(b, `,"server":`...)
	b = appendAppSide(b, &r.App.Server)
	return append(b, "}}"...)
}

// appendAppSide appends what one side's application saw: each call's
// outcome under the call's name, then the errno of its error, the time of
// the packet that decided its last outcome, and why, where there is one.
func appendAppSide(b []byte, s *fsm.AppSide) []byte {
	b = append(b, '{')
	sep := func(b []byte) []byte {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		return b
	}
	for _, o := range [3][2]string{{s.Call, s.Setup}, {fsm.CallRecv, s.Recv}, {fsm.CallSend, s.Send}} {
		if o[0] != "" && o[1] != "" {
			b = appendJSONString(sep(b), o[0])
			b = append(b, ':')
			b = appendJSONString(b, o[1])
		}
	}
	if s.Errno != 0 {
		b = append(sep(b), `"errno":`...)
		b = strconv.AppendInt(b, int64(s.Errno), 10)
	}
	if ts := s.Time(); ts != 0 {
		b = append(sep(b), `"ts":`...)
		b = appendUnixTime(b, ts)
	}
	if s.Why != "" {
		b = append(sep(b), `"why":`...)
		b = appendJSONString(b, s.Why)
	}
	return append(b, '}')
}

// appendEventJSON appends the "event" object of the stream: what happened
// to r at ts, caused by a segment from the side from. No newline.
func appendEventJSON(b []byte, ts int64, what string, from fsm.Dir, r *flow.Record) []byte {
	b = append(b, `{"type":"event","ts":`...)
	b = appendUnixTime(b, ts)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, what)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, from.String())
	b = appendEndpoints(b, r)
	b = appendHandshakeRTT(b, r)
	b = append(b, `,"handshake_retransmits":{"client":`...)
	b = strconv.AppendInt(b, int64(r.SynRetransmits), 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendInt(b, int64(r.SynAckRetransmits), 10)
	b = append(b, '}')
	b = appendReset(b, r)
	return append(b, '}')
}

// appendEndpoints appends the keys "client" to "server_state", which the
// "conn" and "event" objects share.
func appendEndpoints(b []byte, r *flow.Record) []byte {
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, r.ClientAddr)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, r.ServerAddr)
	b = append(b, `,"handshake":`...)
	b = appendJSONString(b, r.Handshake)
	b = append(b, `,"close":`...)
	b = appendJSONString(b, r.Close)
	b = append(b, `,"client_state":`...)
	b = appendJSONString(b, r.Client.State.String())
	b = append(b, `,"server_state":`...)
	return appendJSONString(b, r.Server.State.String())
}

// appendHandshakeRTT appends "handshake_rtt_ms": SYN → SYN/ACK as the
// client's and SYN/ACK → ACK as the server's, null when not measured.
func appendHandshakeRTT(b []byte, r *flow.Record) []byte {
	b = append(b, `,"handshake_rtt_ms":{"client":`...)
	b = appendRTT(b, r.RTTClient)
	b = append(b, `,"server":`...)
	b = appendRTT(b, r.RTTServer)
	return append(b, '}')
}

func appendRTT(b []byte, ns int64) []byte {
	if ns < 0 {
		return append(b, "null"...)
	}
	return appendMsec(b, ns)
}

// appendGaps appends the gaps between successive times, as gaps lists
// them, in milliseconds.
func appendGaps(b []byte, times []int64) []byte {
	b = append(b, '[')
	for i := 1; i < len(times); i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = appendMsec(b, times[i]-times[i-1])
	}
	return append(b, ']')
}

// appendReset appends the "reset" key of a reset connection, and nothing
// for any other: which side reset, its state when it sent the RST, and the
// other side's state when it arrived.
func appendReset(b []byte, r *flow.Record) []byte {
	if !r.Reset {
		return b
	}
	b = append(b, `,"reset":{"by":`...)
	b = appendJSONString(b, r.ResetBy.String())
	b = append(b, `,"state":`...)
	b = appendJSONString(b, r.ResetFrom.String())
	b = append(b, `,"peer_state":`...)
	b = appendJSONString(b, r.ResetPeerState.String())
	return append(b, '}')
}

// appendAddrPort appends an address and port as a JSON string, as
// AddrPort.String spells it.
func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	if !a.Addr().IsValid() || a.Addr().Zone() != "" {
		// AppendTo writes nothing for the zero address where String says
		// "invalid AddrPort", and a zone may hold anything.
		return appendJSONString(b, a.String())
	}
	b = append(b, '"')
	b = a.AppendTo(b) // digits, hex, '.', ':' and brackets: nothing to escape
	return append(b, '"')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it with SetEscapeHTML(false): '"' and '\\' escaped by a backslash,
// the control characters as \b, \f, \n, \r, \t or \u00XX, U+2028 and
// U+2029 as \u2028 and \u2029, each byte of invalid UTF-8 as \ufffd, and
// the rest, '<', '>', '&' and DEL included, as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
