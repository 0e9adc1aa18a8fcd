package report

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// maxListeners bounds the listening endpoints given their own statistics.
const maxListeners = 65536

// summary accumulates what the closing summary reports.
type summary struct {
	connections uint64
	handshakes  map[string]uint64
	closes      map[string]uint64
	anomalies   map[string]uint64
	diag        *diagnose.Collector
	byListener  map[netip.AddrPort]*listenerStats
	rttBudget   int // RTT samples the listeners may still keep (maxRTTKept)
}

// budgetWarning is the summary's warning that diagnoses left evidence
// out, "" when none did: an endpoint first seen once a diagnosis followed
// its MaxEndpoints is not diagnosed, which the user must hear of.
func (s *summary) budgetWarning() string {
	n := s.diag.Dropped()
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("diagnoses: the evidence of %d connections was not kept, each diagnosis following %d endpoints at most: an endpoint first seen after that is not diagnosed", n, diagnose.MaxEndpoints)
}

// warnings are the summary's warnings: those of t, and budgetWarning's.
func (s *summary) warnings(t *Totals) []string {
	w := t.warnings()
	if b := s.budgetWarning(); b != "" {
		w = append(slices.Clip(w), b)
	}
	return w
}

func newSummary(th diagnose.Thresholds) summary {
	return summary{
		diag:       diagnose.New(th),
		byListener: map[netip.AddrPort]*listenerStats{},
		rttBudget:  maxRTTKept,
		handshakes: map[string]uint64{},
		closes:     map[string]uint64{},
		anomalies:  map[string]uint64{},
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
}

// count is one named number, for output in a fixed order.
type count struct {
	Name  string
	Value uint64
}

// censusCounts returns a census's totals over all hosts, LISTEN first and
// then in RFC order, zeros left out.
func censusCounts(c *flow.Census) []count {
	if c == nil {
		return nil
	}
	var total flow.HostCensus
	for _, h := range c.Hosts {
		total.Listeners += h.Listeners
		for st, n := range h.States {
			total.States[st] += n
		}
	}
	return hostCounts(&total)
}

// hostCounts lists one host's endpoints per state.
func hostCounts(h *flow.HostCensus) []count {
	var out []count
	if h.Listeners > 0 {
		out = append(out, count{fsm.Listen.String(), uint64(h.Listeners)})
	}
	for _, st := range fsm.States() {
		if int(st) < len(h.States) && h.States[st] > 0 {
			out = append(out, count{st.String(), uint64(h.States[st])})
		}
	}
	return out
}

// censusHosts returns the hosts of a census in address order.
func censusHosts(c *flow.Census) []netip.Addr {
	if c == nil {
		return nil
	}
	hosts := make([]netip.Addr, 0, len(c.Hosts))
	for a, h := range c.Hosts {
		if len(hostCounts(h)) > 0 {
			hosts = append(hosts, a)
		}
	}
	slices.SortFunc(hosts, netip.Addr.Compare)
	return hosts
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
