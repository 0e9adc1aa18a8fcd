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

type jsonConn struct {
	Type              string       `json:"type"`
	ID                uint64       `json:"id"`
	TS                unixTime     `json:"ts"`
	EndTS             unixTime     `json:"end_ts"`
	Client            string       `json:"client"`
	Server            string       `json:"server"`
	Handshake         string       `json:"handshake"`
	Close             string       `json:"close"`
	ClientState       string       `json:"client_state"`
	ServerState       string       `json:"server_state"`
	SynRetransmits    int          `json:"syn_retransmits"`
	SynAckRetransmits int          `json:"synack_retransmits"`
	Keepalives        uint32       `json:"keepalives"`
	ZeroWindows       uint32       `json:"zero_windows"`
	Retransmits       uint32       `json:"retransmits"`
	HandshakeRTT      sides[*msec] `json:"handshake_rtt_ms"`
	// RetryGaps are the gaps between the client's SYNs and between the
	// server's SYN/ACKs: Linux doubles them from 1 s.
	RetryGaps sides[[]msec] `json:"retry_gaps_ms"`
	Packets   sides[uint64] `json:"packets"`
	Bytes     sides[uint64] `json:"bytes"`
	Reset     *jsonReset    `json:"reset,omitempty"`
	Reason    string        `json:"reason"`
	ConnState string        `json:"conn_state"`
	History   string        `json:"history"`
	Labels    []string      `json:"labels"`
	Anomalies []jsonAnomaly `json:"anomalies"`
}

type sides[T any] struct {
	Client T `json:"client"`
	Server T `json:"server"`
}

type jsonReset struct {
	By        string `json:"by"`
	State     string `json:"state"`      // the resetting side's state when it sent the RST
	PeerState string `json:"peer_state"` // the other side's state when it arrived
}

type jsonAnomaly struct {
	Name   string   `json:"name"`
	TS     unixTime `json:"ts"`
	From   string   `json:"from"`
	Detail string   `json:"detail"`
	Count  int      `json:"count"`
}

type jsonSummary struct {
	Type        string       `json:"type"`
	Source      string       `json:"source"`
	TS          unixTime     `json:"ts"`
	EndTS       unixTime     `json:"end_ts"`
	Packets     uint64       `json:"packets"`
	TCPPackets  uint64       `json:"tcp_packets"`
	NonTCP      uint64       `json:"non_tcp"`
	Fragments   uint64       `json:"fragments"`
	Filtered    uint64       `json:"filtered"`
	Malformed   uint64       `json:"malformed"`
	Truncated   uint64       `json:"truncated"`
	BadChecksum uint64       `json:"bad_checksums"`
	BadIPSum    uint64       `json:"bad_ip_checksums"`
	Connections uint64       `json:"connections"`
	Expired     uint64       `json:"expired"`
	Evicted     uint64       `json:"evicted"`
	Reused      uint64       `json:"reused"`
	Handshakes  orderedCount `json:"handshakes"`
	Closes      orderedCount `json:"closes"`
	Census      orderedCount `json:"census"`
	CensusAt    unixTime     `json:"census_ts"`
	CensusHosts hostCensus   `json:"census_hosts"`
	Anomalies   orderedCount `json:"anomalies"`
	Diagnoses   []jsonDiag   `json:"diagnoses"`
	Listeners   []jsonListen `json:"listeners"`
	Warnings    []string     `json:"warnings"`
	Incomplete  bool         `json:"incomplete"`
	Capture     *jsonLive    `json:"capture,omitempty"`
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

// jsonEvent is one connection event of the stream.
type jsonEvent struct {
	Type         string       `json:"type"`
	TS           unixTime     `json:"ts"`
	ID           uint64       `json:"id"`
	Event        string       `json:"event"`
	From         string       `json:"from"`
	Client       string       `json:"client"`
	Server       string       `json:"server"`
	Handshake    string       `json:"handshake"`
	Close        string       `json:"close"`
	ClientState  string       `json:"client_state"`
	ServerState  string       `json:"server_state"`
	HandshakeRTT sides[*msec] `json:"handshake_rtt_ms"`
	Retransmits  sides[int]   `json:"handshake_retransmits"`
	Reset        *jsonReset   `json:"reset,omitempty"`
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
	RTT      struct {
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
		j := jsonListen{Endpoint: l.endpoint.String(), Outcomes: sorted(l.outcomes)}
		if q := summarise(l.rtt[0]); q != nil {
			j.RTT.SynToSynAck = (*jsonQuantiles)(q)
		}
		if q := summarise(l.rtt[1]); q != nil {
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
	ns := int64(t)
	sec, frac := ns/1e9, (ns%1e9)/1e3
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	b := strconv.AppendInt(nil, sec, 10)
	b = append(b, '.')
	f := strconv.AppendInt(nil, frac+1e6, 10)
	return append(b, f[1:]...), nil
}

// msec marshals nanoseconds as milliseconds with microsecond precision.
type msec int64

func (m msec) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m)/1e6, 'f', 3, 64), nil
}

func gaps(times []int64) []msec {
	out := []msec{}
	for i := 1; i < len(times); i++ {
		out = append(out, msec(times[i]-times[i-1]))
	}
	return out
}

func rtt(ns int64) *msec {
	if ns < 0 {
		return nil
	}
	m := msec(ns)
	return &m
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
	enc    *json.Encoder
	sum    summary
	stream bool
	ann    announcer
}

func newJSON(w io.Writer, th diagnose.Thresholds, stream bool) *jsonReporter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonReporter{w: bw, enc: enc, sum: newSummary(th), stream: stream}
}

func (j *jsonReporter) Conn(r *flow.Record) error {
	j.sum.add(r)
	if !j.stream {
		return j.enc.Encode(connJSON(r))
	}
	if unanswered(r) {
		if err := j.enc.Encode(eventJSON(r.End, r.Handshake, fsm.FromClient, r)); err != nil {
			return err
		}
	}
	if err := j.enc.Encode(connJSON(r)); err != nil {
		return err
	}
	return j.w.Flush()
}

func eventJSON(ts int64, what string, from fsm.Dir, r *flow.Record) *jsonEvent {
	e := &jsonEvent{
		Type: "event", TS: unixTime(ts), ID: r.ID, Event: what, From: from.String(),
		Client: r.ClientAddr.String(), Server: r.ServerAddr.String(),
		Handshake: r.Handshake, Close: r.Close,
		ClientState: r.Client.State.String(), ServerState: r.Server.State.String(),
		HandshakeRTT: sides[*msec]{rtt(r.RTTClient), rtt(r.RTTServer)},
		Retransmits:  sides[int]{r.SynRetransmits, r.SynAckRetransmits},
	}
	if r.Reset {
		e.Reset = &jsonReset{By: r.ResetBy.String(), State: r.ResetFrom.String(), PeerState: r.ResetPeerState.String()}
	}
	return e
}

func (j *jsonReporter) Event(e *Event) error {
	if !j.stream {
		return nil
	}
	if err := j.enc.Encode(eventJSON(e.Time, e.What.String(), e.Dir, e.Conn)); err != nil {
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
	for _, d := range diagJSON(j.ann.raised(j.sum.diag, k.Open)) {
		if err := j.enc.Encode(jsonRaised{"diagnosis", unixTime(k.Time), d}); err != nil {
			return err
		}
	}
	return j.w.Flush()
}

func connJSON(r *flow.Record) *jsonConn {
	c := &jsonConn{
		Type: "conn", ID: r.ID, TS: unixTime(r.First), EndTS: unixTime(r.Last),
		Client: r.ClientAddr.String(), Server: r.ServerAddr.String(),
		Handshake: r.Handshake, Close: r.Close,
		ClientState: r.Client.State.String(), ServerState: r.Server.State.String(),
		SynRetransmits: r.SynRetransmits, SynAckRetransmits: r.SynAckRetransmits,
		Keepalives:   r.Client.Keepalives + r.Server.Keepalives,
		ZeroWindows:  r.Client.ZeroWindows + r.Server.ZeroWindows,
		Retransmits:  r.Client.Retransmits + r.Server.Retransmits,
		HandshakeRTT: sides[*msec]{rtt(r.RTTClient), rtt(r.RTTServer)},
		RetryGaps:    sides[[]msec]{gaps(r.Client.SYNTimes), gaps(r.Server.SYNTimes)},
		Packets:      sides[uint64]{r.Client.Packets, r.Server.Packets},
		Bytes:        sides[uint64]{r.Client.Bytes, r.Server.Bytes},
		Reason:       r.Reason.String(),
		ConnState:    r.Zeek.State,
		History:      r.Zeek.History,
		Labels:       r.Labels,
		Anomalies:    make([]jsonAnomaly, 0, len(r.Anomalies)),
	}
	if c.Labels == nil {
		c.Labels = []string{}
	}
	if r.Reset {
		c.Reset = &jsonReset{By: r.ResetBy.String(), State: r.ResetFrom.String(), PeerState: r.ResetPeerState.String()}
	}
	for _, a := range r.Anomalies {
		c.Anomalies = append(c.Anomalies, jsonAnomaly{a.Name, unixTime(a.Time), a.Dir.String(), a.Detail, a.Count})
	}
	return c
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
		Transitions: transitions(&l.Result),
	})
}

func (j *jsonReporter) Finish(t *Totals) error {
	s := &jsonSummary{
		Type: "summary", Source: t.Source, TS: unixTime(t.First), EndTS: unixTime(t.Last),
		Packets: t.Packets, TCPPackets: t.TCPPackets, NonTCP: t.NonTCP, Fragments: t.Fragments, Filtered: t.Filtered,
		Malformed: t.Malformed, Truncated: t.Truncated, BadChecksum: t.BadChecksum, BadIPSum: t.BadIPChecksum,
		Connections: j.sum.connections, Expired: t.Flow.Idle, Evicted: t.Flow.Evicted, Reused: t.Flow.Reused,
		Handshakes: sorted(j.sum.handshakes), Closes: sorted(j.sum.closes),
		Census: censusCounts(t.Census), CensusHosts: hostCensus{t.Census}, Anomalies: sorted(j.sum.anomalies),
		Diagnoses: diagJSON(j.sum.diag.Diagnoses()),
		Listeners: listenersJSON(j.sum.listenersByAttempts()),
		Warnings:  t.Warnings, Incomplete: t.Incomplete,
		Capture: liveJSON(t.Live),
	}
	if t.Census != nil {
		s.CensusAt = unixTime(t.Census.At)
	}
	if s.Warnings == nil {
		s.Warnings = []string{}
	}
	if err := j.enc.Encode(s); err != nil {
		return err
	}
	return j.w.Flush()
}
