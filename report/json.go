package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"

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
	// The six digits of the microseconds, written in place: five of
	// these in every record made appendInt a third of its time.
	f := [7]byte{'.'}
	for i := 6; i > 0; i-- {
		f[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, f[:]...)
}

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
	File   string   `json:"file,omitempty"` // in a set of several files, the frame's
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
	// ThenRule names a second rule the same segment met after Rule
	// (fsm.StepResult.ThenRule): a RST found not accepted, then the
	// segment showing it dropped, e.g. "beyond_window".
	ThenRule string `json:"then_rule,omitempty"`
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

// jsonICMPTrace is the -v line of an ICMP error quoting a TCP segment.
type jsonICMPTrace struct {
	Type   string   `json:"type"`
	Frame  uint64   `json:"frame"`
	File   string   `json:"file,omitempty"`
	TS     unixTime `json:"ts"`
	ID     uint64   `json:"id,omitempty"` // absent: no connection followed
	From   string   `json:"from"`         // the quoted segment's sender
	To     string   `json:"to"`
	Dir    string   `json:"dir,omitempty"`
	Seq    uint32   `json:"seq"`
	Sender string   `json:"sender"` // the error's
	ICMP   uint8    `json:"icmp_type"`
	Code   uint8    `json:"icmp_code"`
	What   string   `json:"what"`
	Client string   `json:"client_state,omitempty"`
	Server string   `json:"server_state,omitempty"`
	// Transitions: "client SYN_SENT → CLOSED" when the error ended the
	// client's connect().
	Transitions []string `json:"transitions"`
}

func (j *jsonReporter) Trace(l *TraceLine) error {
	if m := l.ICMP; m != nil {
		o := jsonICMPTrace{
			Type: "icmp", Frame: l.Index, File: l.File, TS: unixTime(l.Time), ID: l.ConnID,
			From: l.From.String(), To: l.To.String(), Seq: l.Seg.Seq,
			Sender: m.From.String(), ICMP: m.Type, Code: m.Code, What: m.What(),
			Transitions: transitions(&l.Result),
		}
		if l.ConnID != 0 {
			o.Dir = m.Dir.String()
			o.Client, o.Server = l.Result.After[fsm.FromClient].String(), l.Result.After[fsm.FromServer].String()
		}
		return j.enc.Encode(o)
	}
	return j.enc.Encode(jsonTrace{
		Type: "packet", Frame: l.Index, File: l.File, TS: unixTime(l.Time), ID: l.ConnID,
		From: l.From.String(), To: l.To.String(), Dir: l.Seg.Dir.String(),
		Flags: l.Seg.Flags.String(), Seq: l.Seg.Seq, Ack: l.Seg.Ack, Len: l.Seg.Len, Win: l.Seg.Window,
		Kind:   l.Result.Kind.String(),
		Client: l.Result.After[fsm.FromClient].String(), Server: l.Result.After[fsm.FromServer].String(),
		Transitions: transitions(&l.Result), Rule: l.Result.Rule.String(), ThenRule: l.Result.ThenRule.String(),
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
			Reassembled: t.Reassembled, DroppedDatagrams: t.DroppedDatagrams, ICMPErrors: t.ICMPErrors,
		},
		Handshakes: sorted(j.sum.handshakes), Closes: sorted(j.sum.closes),
		Census: censusCounts(t.Census), CensusHosts: hostCensus{t.Census}, Anomalies: sorted(j.sum.anomalies),
		Diagnoses: diagJSON(ds),
		Listeners: listenersJSON(j.sum.listenersByAttempts()),
		Warnings:  j.sum.warnings(t), Incomplete: t.Incomplete,
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
