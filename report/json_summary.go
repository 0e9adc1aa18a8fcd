package report

import (
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The summary object of the JSON report, and the JSON forms of times,
// counts and censuses it shares with the census and diagnosis lines.

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
	// Written only when there were fragments, so that the summary of a
	// capture without any reads as it always did.
	Reassembled      uint64 `json:"reassembled_datagrams,omitempty"`
	DroppedDatagrams uint64 `json:"dropped_datagrams,omitempty"`
	// Written only when there were some, for the same reason.
	ICMPErrors uint64 `json:"icmp_errors,omitempty"`
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

// msec marshals nanoseconds as milliseconds with microsecond precision.
type msec int64

func gaps(times []int64) []msec {
	out := []msec{}
	for i := 1; i < len(times); i++ {
		out = append(out, msec(times[i]-times[i-1]))
	}
	return out
}

// hostCensus marshals a census as {"host":{"STATE":n,…},…} in address order.
type hostCensus struct{ c *flow.Census }

// orderedCount is a JSON object whose keys keep their order.
type orderedCount []count
