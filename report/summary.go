package report

import (
	"net/netip"
	"sort"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// maxListeners bounds the set of listening endpoints remembered for the
// census; a capture with more distinct listeners counts the rest in
// listenersOmitted.
const maxListeners = 65536

// summary accumulates what the closing summary reports.
type summary struct {
	connections      uint64
	census           [32]uint64 // endpoints per fsm.State at the end
	handshakes       map[string]uint64
	closes           map[string]uint64
	anomalies        map[string]uint64
	listeners        map[netip.AddrPort]struct{}
	listenersOmitted uint64
	diag             *diagnose.Collector
	byListener       map[netip.AddrPort]*listenerStats
}

func newSummary(th diagnose.Thresholds) summary {
	return summary{
		diag:       diagnose.New(th),
		byListener: map[netip.AddrPort]*listenerStats{},
		handshakes: map[string]uint64{},
		closes:     map[string]uint64{},
		anomalies:  map[string]uint64{},
		listeners:  map[netip.AddrPort]struct{}{},
	}
}

func (s *summary) add(r *flow.Record) {
	s.connections++
	s.diag.Add(r)
	s.addListener(r)
	s.handshakes[r.Handshake]++
	s.closes[r.Close]++
	for _, a := range r.Anomalies {
		s.anomalies[a.Name] += uint64(a.Count)
	}
	for _, st := range [2]fsm.State{r.Client.State, r.Server.State} {
		// netstat lists neither closed sockets nor, per connection, the
		// listener a connection came from: LISTEN is counted per listener.
		if st != fsm.Closed && st != fsm.Listen && st != fsm.Unknown && int(st) < len(s.census) {
			s.census[st]++
		}
	}
	if r.Server.SYNACKs > 0 && r.Handshake != fsm.HandshakeSimultaneous {
		if _, ok := s.listeners[r.ServerAddr]; !ok {
			if len(s.listeners) < maxListeners {
				s.listeners[r.ServerAddr] = struct{}{}
			} else {
				s.listenersOmitted++
			}
		}
	}
}

// count is one named number, for output in a fixed order.
type count struct {
	Name  string
	Value uint64
}

// censusCounts returns the census in RFC order, LISTEN first, zeros left out.
func (s *summary) censusCounts() []count {
	var out []count
	if n := uint64(len(s.listeners)) + s.listenersOmitted; n > 0 {
		out = append(out, count{fsm.Listen.String(), n})
	}
	for _, st := range fsm.States() {
		if int(st) < len(s.census) && s.census[st] > 0 {
			out = append(out, count{st.String(), s.census[st]})
		}
	}
	return out
}

// sorted returns m's entries by descending count, then name.
func sorted(m map[string]uint64) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Name < out[j].Name
	})
	return out
}
