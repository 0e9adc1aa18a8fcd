package report

import (
	"bytes"
	"io"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The Parquet format (--format parquet): one row per connection, the keys
// of the JSON "conn" object as typed columns, so that DuckDB, Spark,
// Trino, ClickHouse and BigQuery query the files of a sharded run as one
// table. The JSON summary line goes whole into the file's key-value
// metadata under ParquetSummaryKey: nothing the JSON report says is lost.
// README.md ("Parquet") documents the schema.
//
// Times are TIMESTAMP(MICROS, UTC), the JSON's precision and the unit
// every engine reads (Spark reads no NANOS); counts are INT64; durations
// are DOUBLE milliseconds, as the JSON has them.

// ParquetSummaryKey is the key-value metadata key holding the summary, the
// JSON report's "summary" line.
const ParquetSummaryKey = "tcpfsm.summary"

// parquetConn is one row: a "conn" object of the JSON report.
type parquetConn struct {
	ID                int64            `parquet:"id"`
	TS                int64            `parquet:"ts,timestamp(microsecond:utc)"`
	EndTS             int64            `parquet:"end_ts,timestamp(microsecond:utc)"`
	Client            string           `parquet:"client"`
	Server            string           `parquet:"server"`
	Handshake         string           `parquet:"handshake"`
	Close             string           `parquet:"close"`
	ClientState       string           `parquet:"client_state"`
	ServerState       string           `parquet:"server_state"`
	SynRetransmits    int64            `parquet:"syn_retransmits"`
	SynAckRetransmits int64            `parquet:"synack_retransmits"`
	Keepalives        int64            `parquet:"keepalives"`
	ZeroWindows       int64            `parquet:"zero_windows"`
	Retransmits       int64            `parquet:"retransmits"`
	HandshakeRTT      parquetRTT       `parquet:"handshake_rtt_ms"`
	RetryGaps         parquetGaps      `parquet:"retry_gaps_ms"`
	Packets           parquetSides     `parquet:"packets"`
	Bytes             parquetSides     `parquet:"bytes"`
	Reset             *parquetReset    `parquet:"reset,optional"`
	ICMP              *parquetICMP     `parquet:"icmp,optional"`
	SynAckICMP        *parquetDrops    `parquet:"synack_icmp,optional"`
	Reason            string           `parquet:"reason"`
	ConnState         string           `parquet:"conn_state"`
	History           string           `parquet:"history"`
	Labels            []string         `parquet:"labels,list"`
	Anomalies         []parquetAnomaly `parquet:"anomalies,list"`
	App               parquetApp       `parquet:"app"`
}

// parquetRTT is "handshake_rtt_ms": NULL where the JSON has null.
type parquetRTT struct {
	Client *float64 `parquet:"client,optional"`
	Server *float64 `parquet:"server,optional"`
}

type parquetGaps struct {
	Client []float64 `parquet:"client,list"`
	Server []float64 `parquet:"server,list"`
}

type parquetSides struct {
	Client int64 `parquet:"client"`
	Server int64 `parquet:"server"`
}

// parquetReset is "reset", NULL for a connection no RST ended.
type parquetReset struct {
	By        string `parquet:"by"`
	State     string `parquet:"state"`
	PeerState string `parquet:"peer_state"`
}

// parquetICMP is "icmp", NULL unless an ICMP error ended the client's
// connect().
type parquetICMP struct {
	TS   int64  `parquet:"ts,timestamp(microsecond:utc)"`
	From string `parquet:"from"`
	Type int64  `parquet:"type"`
	Code int64  `parquet:"code"`
	What string `parquet:"what"`
}

// parquetDrops is "synack_icmp", NULL unless ICMP errors dropped the
// server's half-open connections: how many, and the latest error.
type parquetDrops struct {
	Dropped int64  `parquet:"dropped"`
	TS      int64  `parquet:"ts,timestamp(microsecond:utc)"`
	From    string `parquet:"from"`
	Type    int64  `parquet:"type"`
	Code    int64  `parquet:"code"`
	What    string `parquet:"what"`
}

func parquetICMPOf(m *fsm.ICMPError) parquetICMP {
	return parquetICMP{micros(m.Time), text(m.From.String()), int64(m.Type), int64(m.Code), m.What()}
}

type parquetAnomaly struct {
	Name   string `parquet:"name"`
	TS     int64  `parquet:"ts,timestamp(microsecond:utc)"`
	From   string `parquet:"from"`
	Detail string `parquet:"detail"`
	Count  int64  `parquet:"count"`
}

type parquetApp struct {
	Client parquetAppSide `parquet:"client"`
	Server parquetAppSide `parquet:"server"`
}

// parquetAppSide is one side of "app". The JSON names the setup call's
// outcome by the call (connect or accept); a column cannot, so "connect"
// and "accept" are both columns, NULL for the call the side did not make,
// as are the keys the JSON leaves out.
type parquetAppSide struct {
	Connect *string `parquet:"connect,optional"`
	Accept  *string `parquet:"accept,optional"`
	Recv    *string `parquet:"recv,optional"`
	Send    *string `parquet:"send,optional"`
	Errno   *int64  `parquet:"errno,optional"`
	SetupTS *int64  `parquet:"setup_ts,optional,timestamp(microsecond:utc)"`
	TS      *int64  `parquet:"ts,optional,timestamp(microsecond:utc)"`
	Why     *string `parquet:"why,optional"`
}

// parquetReporter writes the connections as rows and, at Finish, the
// summary into the footer. It holds a row group in memory at a time
// (parquetRowGroup).
type parquetReporter struct {
	w   *parquet.GenericWriter[parquetConn]
	sum *jsonReporter // builds the summary line, writing nothing else
	buf bytes.Buffer  // the summary line
	row [1]parquetConn
}

// parquetRowGroup is the rows of a row group, which the writer holds in
// memory until it is full: it bounds the memory the Parquet format needs
// whatever the number of connections (by default the library would hold
// the whole file), and is a common size for the engines that read it.
const parquetRowGroup = 65536

func newParquet(w io.Writer, th diagnose.Thresholds, mergeable bool) *parquetReporter {
	p := &parquetReporter{w: parquet.NewGenericWriter[parquetConn](w,
		parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(parquetRowGroup))}
	p.sum = newJSON(&p.buf, th, false)
	p.sum.mergeable = mergeable
	return p
}

func (p *parquetReporter) Conn(r *flow.Record) error {
	p.sum.sum.add(r)
	p.row[0] = parquetRow(r)
	_, err := p.w.Write(p.row[:])
	return err
}

// Trace, Event and Tick write nothing: a Parquet file holds the
// connections and the summary only.
func (p *parquetReporter) Trace(*TraceLine) error { return nil }
func (p *parquetReporter) Event(*Event) error     { return nil }
func (p *parquetReporter) Tick(*Tick) error       { return nil }

func (p *parquetReporter) Finish(t *Totals) error {
	if err := p.sum.Finish(t); err != nil {
		return err
	}
	p.w.SetKeyValueMetadata(ParquetSummaryKey, string(bytes.TrimSuffix(p.buf.Bytes(), []byte("\n"))))
	return p.w.Close()
}

// micros is Unix nanoseconds as microseconds, the nanoseconds dropped as
// the JSON's times drop them (toward zero).
func micros(ns int64) int64 { return ns / 1e3 }

// text is s as a Parquet STRING, which must be UTF-8: each byte of
// invalid UTF-8 becomes U+FFFD, as in the JSON.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}

func millis(ns int64) float64 { return float64(ns) / 1e6 }

func parquetRow(r *flow.Record) parquetConn {
	c := parquetConn{
		ID: int64(r.ID), TS: micros(r.First), EndTS: micros(r.Last),
		Client: text(r.ClientAddr.String()), Server: text(r.ServerAddr.String()),
		Handshake: text(r.Handshake), Close: text(r.Close),
		ClientState: r.Client.State.String(), ServerState: r.Server.State.String(),
		SynRetransmits:    int64(r.SynRetransmits),
		SynAckRetransmits: int64(r.SynAckRetransmits),
		// The sums wrap as uint32, as in the JSON.
		Keepalives:  int64(r.Client.Keepalives + r.Server.Keepalives),
		ZeroWindows: int64(r.Client.ZeroWindows + r.Server.ZeroWindows),
		Retransmits: int64(r.Client.Retransmits + r.Server.Retransmits),
		RetryGaps:   parquetGaps{Client: gapsMillis(r.Client.SYNTimes), Server: gapsMillis(r.Server.SYNTimes)},
		Packets:     parquetSides{int64(r.Client.Packets), int64(r.Server.Packets)},
		Bytes:       parquetSides{int64(r.Client.Bytes), int64(r.Server.Bytes)},
		Reason:      r.Reason.String(), ConnState: text(r.Zeek.State), History: text(r.Zeek.History),
		Labels:    make([]string, 0, len(r.Labels)),
		Anomalies: make([]parquetAnomaly, 0, len(r.Anomalies)),
		App:       parquetApp{parquetAppOf(&r.App.Client), parquetAppOf(&r.App.Server)},
	}
	if r.RTTClient >= 0 {
		v := millis(r.RTTClient)
		c.HandshakeRTT.Client = &v
	}
	if r.RTTServer >= 0 {
		v := millis(r.RTTServer)
		c.HandshakeRTT.Server = &v
	}
	if r.Reset {
		c.Reset = &parquetReset{r.ResetBy.String(), r.ResetFrom.String(), r.ResetPeerState.String()}
	}
	if r.Unreachable.Time != 0 {
		m := parquetICMPOf(&r.Unreachable)
		c.ICMP = &m
	}
	if r.HalfOpenDropped != 0 {
		m := parquetICMPOf(&r.HalfOpenDrop)
		c.SynAckICMP = &parquetDrops{int64(r.HalfOpenDropped), m.TS, m.From, m.Type, m.Code, m.What}
	}
	for _, l := range r.Labels {
		c.Labels = append(c.Labels, text(l))
	}
	for _, a := range r.Anomalies {
		c.Anomalies = append(c.Anomalies, parquetAnomaly{text(a.Name), micros(a.Time), a.Dir.String(), text(a.Detail), int64(a.Count)})
	}
	return c
}

// gapsMillis is the gaps between successive times in milliseconds, as
// the JSON's retry_gaps_ms.
func gapsMillis(times []int64) []float64 {
	out := []float64{}
	for i := 1; i < len(times); i++ {
		out = append(out, millis(times[i]-times[i-1]))
	}
	return out
}

func parquetAppOf(s *fsm.AppSide) parquetAppSide {
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		v = text(v)
		return &v
	}
	a := parquetAppSide{Recv: str(s.Recv), Send: str(s.Send), Why: str(s.Why)}
	if s.Setup != "" {
		switch s.Call {
		case fsm.CallConnect:
			a.Connect = str(s.Setup)
		case fsm.CallAccept:
			a.Accept = str(s.Setup)
		}
	}
	if s.Errno != 0 {
		n := int64(s.Errno)
		a.Errno = &n
	}
	if s.SetupAt != 0 {
		us := micros(s.SetupAt)
		a.SetupTS = &us
	}
	if ts := s.Time(); ts != 0 {
		us := micros(ts)
		a.TS = &us
	}
	return a
}
