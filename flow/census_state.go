package flow

import (
	"net/netip"
	"slices"
)

// CensusState is a census in the form that merges exactly: the counts one
// table (or shard) made, before they are added up per host. A census of
// the same instant taken by every shard of a capture (--shard), each
// turned into its state and then merged by MergeCensuses, is the census
// one run over the whole capture takes: host for host, the surplus hosts
// past the bound and the listening ports included.
type CensusState struct {
	At int64 `json:"at"`
	// ClientOnly is Census.ClientOnlyEstablished.
	ClientOnly uint32 `json:"client_only_established"`
	// Sides are the endpoints counted per host, its server sides and its
	// client sides apart; Rest those of the hosts past the bound.
	Sides []CensusSide `json:"sides"`
	Rest  *[16]uint32  `json:"rest,omitempty"`
	// Answered and Refused are the latest SYN each endpoint answered and
	// refused by the census instant, which say whether it was listening.
	Answered []CensusLatest `json:"answered"`
	Refused  []CensusLatest `json:"refused"`
}

// CensusSide is one host's endpoints in each state (indexed by fsm.State),
// as the server or as the client of connections.
type CensusSide struct {
	Addr   netip.Addr `json:"addr"`
	Client bool       `json:"client"`
	States [16]uint32 `json:"states"`
}

// CensusLatest is the time of the latest of some event at an endpoint.
type CensusLatest struct {
	Endpoint netip.AddrPort `json:"endpoint"`
	Time     int64          `json:"time"`
}

// State returns the counts the census was built from, in a fixed order.
func (c *Census) State() CensusState {
	cs := c.from
	if cs == nil {
		cs = newCensus(c.At)
	}
	st := CensusState{At: cs.at, ClientOnly: cs.clientOnly, Sides: []CensusSide{}, Answered: []CensusLatest{}, Refused: []CensusLatest{}}
	for k, h := range cs.hosts.m {
		st.Sides = append(st.Sides, CensusSide{k.addr, k.client, h.States})
	}
	slices.SortFunc(st.Sides, func(a, b CensusSide) int { return censusKey{a.Client, a.Addr}.compare(censusKey{b.Client, b.Addr}) })
	if cs.hosts.hasRest {
		rest := cs.hosts.rest.States
		st.Rest = &rest
	}
	for _, l := range []struct {
		from *bottomK[netip.AddrPort, latest]
		to   *[]CensusLatest
	}{{cs.listeners, &st.Answered}, {cs.refusals, &st.Refused}} {
		for ep, t := range l.from.m {
			*l.to = append(*l.to, CensusLatest{ep, int64(*t)})
		}
		slices.SortFunc(*l.to, func(a, b CensusLatest) int { return a.Endpoint.Compare(b.Endpoint) })
	}
	return st
}

// MergeCensuses adds up censuses of other connections at the same instant,
// as Parallel adds up its shards': listening endpoints are counted once
// however many states saw them. Censuses of different instants (captures
// of several hosts) are added up all the same, as of the latest instant.
func MergeCensuses(states []CensusState) *Census {
	if len(states) == 0 {
		return nil
	}
	at := states[0].At
	for _, s := range states {
		at = max(at, s.At)
	}
	out := newCensus(at)
	for _, s := range states {
		one := newCensus(s.At)
		one.clientOnly = s.ClientOnly
		for _, side := range s.Sides {
			one.hosts.get(censusKey{side.Client, side.Addr}).add(&HostCensus{States: side.States})
		}
		if s.Rest != nil {
			one.hosts.rest.add(&HostCensus{States: *s.Rest})
			one.hosts.hasRest = true
		}
		for _, l := range s.Answered {
			t := latest(l.Time)
			one.listeners.get(l.Endpoint).add(&t)
		}
		for _, l := range s.Refused {
			t := latest(l.Time)
			one.refusals.get(l.Endpoint).add(&t)
		}
		out.merge(one)
	}
	return out.result()
}
