package report

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// The handshake round-trip times kept for the percentiles: a uniform
// sample (a reservoir) of at most maxRTTSamples per listener and
// direction, and no more than maxRTTKept over all listeners, so that a
// capture of any size costs at most 2 × 8 × maxRTTKept bytes (32 MiB).
// Minimum, maximum and count are exact.
const (
	maxRTTSamples = 1024
	maxRTTKept    = 1 << 21
)

// listenerStats counts the connection attempts one server endpoint saw.
type listenerStats struct {
	endpoint netip.AddrPort
	outcomes map[string]uint64 // per handshake outcome
	// notAccepted counts the handshakes the client completed that the
	// server never took in: left in SYN_RCVD, or reset from it (a full
	// accept queue). The client's view counts them as complete.
	notAccepted uint64
	rtt         [2]rttSample // SYN→SYN/ACK, SYN/ACK→ACK
}

// rttSample is a reservoir of round-trip times in nanoseconds (Vitter's
// algorithm R) with the exact count, minimum and maximum. Its random
// choices come from a fixed seed, so a capture always gives the same
// figures.
type rttSample struct {
	kept     []int64
	n        int
	min, max int64
	rng      uint64
}

// add counts v; budget is how many more samples all listeners may keep.
func (r *rttSample) add(v int64, budget *int) {
	r.n++
	if r.n == 1 || v < r.min {
		r.min = v
	}
	if r.n == 1 || v > r.max {
		r.max = v
	}
	if len(r.kept) < maxRTTSamples && *budget > 0 {
		r.kept = append(r.kept, v)
		*budget--
		return
	}
	if len(r.kept) == 0 {
		return
	}
	if r.rng == 0 {
		r.rng = 0x9e3779b97f4a7c15
	}
	r.rng ^= r.rng << 13 // xorshift64
	r.rng ^= r.rng >> 7
	r.rng ^= r.rng << 17
	if j := r.rng % uint64(r.n); j < uint64(len(r.kept)) {
		r.kept[j] = v
	}
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
	if r.Handshake == fsm.HandshakeComplete && (slices.Contains(r.Labels, fsm.LabelClientOnlyEstablished) ||
		r.Reset && r.ResetBy == fsm.FromServer && r.ResetFrom == fsm.SynRcvd) {
		ls.notAccepted++
	}
	for i, v := range [2]int64{r.RTTClient, r.RTTServer} {
		if v >= 0 {
			ls.rtt[i].add(v, &s.rttBudget)
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

// summarise reads the quantiles off the sample (nearest rank), sorting
// it in place.
func summarise(r *rttSample) *quantiles {
	if r.n == 0 || len(r.kept) == 0 {
		return nil
	}
	samples := r.kept
	slices.Sort(samples)
	rank := func(p float64) msec {
		i := int(p*float64(len(samples))+0.999999) - 1
		return msec(samples[min(max(i, 0), len(samples)-1)])
	}
	return &quantiles{Min: msec(r.min), Median: rank(0.5), P99: rank(0.99), Max: msec(r.max), N: r.n}
}

// text prints milliseconds for the text report.
func (m msec) text() string { b, _ := m.MarshalJSON(); return string(b) }
