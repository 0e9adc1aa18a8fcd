package report

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// maxRTTSamples bounds the handshake round-trip times kept per listener
// and direction; beyond it the percentiles describe the first ones.
const maxRTTSamples = 65536

// listenerStats counts the connection attempts one server endpoint saw.
type listenerStats struct {
	endpoint netip.AddrPort
	outcomes map[string]uint64 // per handshake outcome
	rtt      [2][]int64        // SYN→SYN/ACK, SYN/ACK→ACK, in nanoseconds
}

func (s *summary) addListener(r *flow.Record) {
	if r.Handshake == fsm.HandshakeMidstream || r.Handshake == fsm.HandshakeSimultaneous {
		return // no listener was seen answering a SYN
	}
	ls := s.byListener[r.ServerAddr]
	if ls == nil {
		if len(s.byListener) >= maxListeners {
			return
		}
		ls = &listenerStats{endpoint: r.ServerAddr, outcomes: map[string]uint64{}}
		s.byListener[r.ServerAddr] = ls
	}
	ls.outcomes[r.Handshake]++
	for i, v := range [2]int64{r.RTTClient, r.RTTServer} {
		if v >= 0 && len(ls.rtt[i]) < maxRTTSamples {
			ls.rtt[i] = append(ls.rtt[i], v)
		}
	}
}

// listenersByAttempts returns the listeners, busiest first.
func (s *summary) listenersByAttempts() []*listenerStats {
	out := make([]*listenerStats, 0, len(s.byListener))
	for _, ls := range s.byListener {
		out = append(out, ls)
	}
	total := func(ls *listenerStats) (n uint64) {
		for _, v := range ls.outcomes {
			n += v
		}
		return n
	}
	slices.SortFunc(out, func(a, b *listenerStats) int {
		return cmp.Or(cmp.Compare(total(b), total(a)), a.endpoint.Compare(b.endpoint))
	})
	return out
}

// quantiles are the handshake RTT figures reported per listener.
type quantiles struct {
	Min, Median, P99, Max msec
	N                     int
}

// summarise sorts samples in place and reads the quantiles off them
// (nearest rank).
func summarise(samples []int64) *quantiles {
	if len(samples) == 0 {
		return nil
	}
	slices.Sort(samples)
	rank := func(p float64) msec {
		i := int(p*float64(len(samples))+0.999999) - 1
		return msec(samples[min(max(i, 0), len(samples)-1)])
	}
	return &quantiles{Min: msec(samples[0]), Median: rank(0.5), P99: rank(0.99), Max: msec(samples[len(samples)-1]), N: len(samples)}
}

// text prints milliseconds for the text report.
func (m msec) text() string { b, _ := m.MarshalJSON(); return string(b) }
