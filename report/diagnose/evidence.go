package diagnose

import (
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// maxKeys bounds the endpoints tracked per diagnosis, and maxSources the
// distinct addresses remembered per endpoint; beyond, only counts grow.
const (
	maxKeys    = MaxEndpoints
	maxSources = 4096
)

// MaxEndpoints is how many endpoints each diagnosis follows at most: the
// evidence of an endpoint first seen past them is not kept (Dropped).
const MaxEndpoints = 16384

// connections is what every diagnosis keeps of the connections that are
// its evidence at one endpoint; each diagnosis's evidence type embeds it.
type connections struct {
	n           int
	first, last int64
	examples    []uint64
}

func (g *connections) add(r *flow.Record) { g.note(r.ID, r.First, r.Last) }

// note adds connection id, which ran from first to last: what add keeps
// of a record, for the evidence of one kept before it was evidence (see
// firsts).
func (g *connections) note(id uint64, first, last int64) {
	if g.n == 0 || first < g.first {
		g.first = first
	}
	g.last = max(g.last, last)
	g.n++
	if len(g.examples) < MaxExamples {
		g.examples = append(g.examples, id)
	}
}

func (g *connections) conns() *connections { return g }

// evidence is one diagnosis's evidence: an E per endpoint (a host has
// port 0), at most maxKeys of them. Each diagnosis has its own budget, so
// that the hosts of a busy capture, which each may close actively
// (time_wait_pileup), cannot crowd out its listeners.
type evidence[E any, P interface {
	*E
	conns() *connections
}] struct {
	at map[netip.AddrPort]P
	// lastEP and last are the endpoint get found last and its evidence:
	// the connections of a capture come mostly to a few servers, and
	// comparing an endpoint costs less than hashing it.
	lastEP netip.AddrPort
	last   P
}

// firsts keeps, for the endpoints a diagnosis has seen once, what it
// saw, apart from its evidence until a second observation makes them
// evidence: most endpoints of a big capture (each client host closing one
// connection, each spoofed source of a SYN flood) are seen once and can
// be diagnosed of nothing, and in the evidence they would fill its budget
// of MaxEndpoints and leave the endpoints seen after them unfollowed. It
// holds MaxEndpoints at most, the oldest going first.
//
// What was seen lies in a ring in the order it came, and an open
// addressing index of 2*MaxEndpoints slots, pointer-free, holds each
// endpoint's place in it. A map of the observations themselves cost 500
// bytes an endpoint, 16 MB for the two diagnoses that stage endpoints,
// which a SYN flood fills; a map of their places, churned as the ring
// turns, still 200. This costs the ring's entry and 8 bytes.
type firsts[T any] struct {
	ring  []seenOnce[T]
	next  int32   // the place of the next to come, and of the oldest to go
	index []int32 // a place in ring plus one; 0 for an empty slot
	n     int
	// seed is drawn at random for each index, as flow's index does, so
	// that a capture's addresses cannot be chosen to collide in it: its
	// runs, which every take and put walk, stay short.
	seed maphash.Seed
}

// seenOnce is an entry of the ring; one taken since it came is the zero
// value, whose endpoint is not valid.
type seenOnce[T any] struct {
	ep netip.AddrPort
	v  T
}

const firstsSlots = 2 * maxKeys // a power of two

// slotOf is where the probe for ep starts in the index.
func (f *firsts[T]) slotOf(ep netip.AddrPort) int {
	return int(maphash.Comparable(f.seed, ep) & (firstsSlots - 1))
}

// find returns ep's slot in the index, and whether it holds ep (else it
// is the empty slot where ep would go).
func (f *firsts[T]) find(ep netip.AddrPort) (int, bool) {
	for i := f.slotOf(ep); ; i = (i + 1) & (firstsSlots - 1) {
		p := f.index[i]
		if p == 0 {
			return i, false
		}
		if f.ring[p-1].ep == ep {
			return i, true
		}
	}
}

// unindex empties slot i, moving back each later entry of its run that
// may sit earlier, one whose home is not in (i, j] cyclically, as flow's
// index removes (deletion in linear probing without tombstones, so that
// the index never fills with them).
func (f *firsts[T]) unindex(i int) {
	const mask = firstsSlots - 1
	f.n--
	for j := (i + 1) & mask; f.index[j] != 0; j = (j + 1) & mask {
		home := f.slotOf(f.ring[f.index[j]-1].ep)
		if (j-home)&mask >= (j-i)&mask {
			f.index[i] = f.index[j]
			i = j
		}
	}
	f.index[i] = 0
}

// len is how many endpoints f holds.
func (f *firsts[T]) len() int { return f.n }

// take returns and forgets what was seen of ep, if it was seen once.
func (f *firsts[T]) take(ep netip.AddrPort) (T, bool) {
	var zero T
	if f.n == 0 {
		return zero, false
	}
	i, ok := f.find(ep)
	if !ok {
		return zero, false
	}
	s := &f.ring[f.index[i]-1]
	v := s.v
	*s = seenOnce[T]{}
	f.unindex(i)
	return v, true
}

// put notes v, the first observation of ep, which f does not hold,
// making room for it.
func (f *firsts[T]) put(ep netip.AddrPort, v T) {
	if f.index == nil {
		f.index = make([]int32, firstsSlots)
		f.seed = maphash.MakeSeed()
	}
	if len(f.ring) < maxKeys {
		f.ring = append(f.ring, seenOnce[T]{})
	} else if old := &f.ring[f.next]; old.ep.IsValid() {
		i, _ := f.find(old.ep)
		f.unindex(i)
	}
	f.ring[f.next] = seenOnce[T]{ep: ep, v: v}
	i, _ := f.find(ep)
	f.index[i] = f.next + 1
	f.n++
	f.next = (f.next + 1) % maxKeys
}

func (f firsts[T]) clone() firsts[T] {
	return firsts[T]{ring: slices.Clone(f.ring), next: f.next, index: slices.Clone(f.index), n: f.n, seed: f.seed}
}

// promoted returns ep's evidence, made of ep's first observation kept in
// f (apply adds one) if that is all there is of ep; nil if neither.
func promoted[E any, P interface {
	*E
	conns() *connections
}, T any](c *Collector, ev *evidence[E, P], f *firsts[T], ep netip.AddrPort, apply func(P, *T)) P {
	if g := ev.find(ep); g != nil {
		return g
	}
	v, ok := f.take(ep)
	if !ok {
		return nil
	}
	g := ev.get(c, ep)
	apply(g, &v)
	return g
}

// observed returns the evidence to add v, an observation of ep, to: see
// promoted; nil when v is ep's first, which f keeps instead, unless stage
// is false (a threshold one observation meets: v is evidence at once).
func observed[E any, P interface {
	*E
	conns() *connections
}, T any](c *Collector, ev *evidence[E, P], f *firsts[T], ep netip.AddrPort, v T, stage bool, apply func(P, *T)) P {
	if g := promoted(c, ev, f, ep, apply); g != nil {
		return g
	}
	if stage {
		f.put(ep, v)
		return nil
	}
	return ev.get(c, ep)
}

// find returns the evidence at ep, nil if there is none.
func (ev *evidence[E, P]) find(ep netip.AddrPort) P {
	if ev.last != nil && ep == ev.lastEP {
		return ev.last
	}
	e := ev.at[ep]
	if e != nil {
		ev.lastEP, ev.last = ep, e
	}
	return e
}

// get returns the evidence at ep, creating it; past the budget, evidence
// counted nowhere (the caller's update is lost, and c counts the loss).
func (ev *evidence[E, P]) get(c *Collector, ep netip.AddrPort) P {
	if e := ev.find(ep); e != nil {
		return e
	}
	if len(ev.at) >= maxKeys {
		c.dropped++
		return new(E)
	}
	if ev.at == nil {
		ev.at = map[netip.AddrPort]P{}
	}
	e := P(new(E))
	ev.at[ep] = e
	ev.lastEP, ev.last = ep, e
	return e
}

// findings appends a Diagnosis named name for each endpoint whose evidence
// judge holds enough, with what every diagnosis says of its connections.
func (ev *evidence[E, P]) findings(name string, out []Diagnosis, judge func(ep netip.AddrPort, e P) (Diagnosis, bool)) []Diagnosis {
	for ep, e := range ev.at {
		d, ok := judge(ep, e)
		if !ok {
			continue
		}
		g := e.conns()
		d.Name, d.Connections, d.First, d.Last, d.Examples = name, g.n, g.first, g.last, g.examples
		if ep.Port() == 0 {
			d.Endpoint = ep.Addr().Unmap().String()
		} else {
			d.Endpoint = netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port()).String()
		}
		out = append(out, d)
	}
	return out
}

// clone copies the evidence: each endpoint's as a value, with its own list
// of examples, and then deep, if not nil, gives the copy its own copies of
// what else the evidence refers to (sets, schedules).
func (ev evidence[E, P]) clone(deep func(P)) evidence[E, P] {
	out := evidence[E, P]{at: make(map[netip.AddrPort]P, len(ev.at))}
	for ep, e := range ev.at {
		cp := P(new(E))
		*cp = *e
		cp.conns().examples = slices.Clone(e.conns().examples)
		if deep != nil {
			deep(cp)
		}
		out.at[ep] = cp
	}
	return out
}

// host is the endpoint of evidence kept per host.
func host(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr(), 0) }

// set is a set of at most maxSources members that keeps its first two
// inline: most endpoints see one or two (a SYN flood from spoofed
// addresses makes one per source), and a map each would cost more than
// the rest of the evidence.
type set[T comparable] struct {
	few  [2]T
	n    uint8 // members in few, until many takes over
	many map[T]struct{}
	full bool // a member was left out at the bound
}

func (s *set[T]) add(v T) {
	if s.many == nil {
		for i := range s.n {
			if s.few[i] == v {
				return
			}
		}
		if int(s.n) < len(s.few) {
			s.few[s.n] = v
			s.n++
			return
		}
		s.many = make(map[T]struct{}, 2*len(s.few))
		for _, m := range s.few {
			s.many[m] = struct{}{}
		}
	}
	if _, ok := s.many[v]; ok {
		return
	}
	if len(s.many) < maxSources {
		s.many[v] = struct{}{}
	} else {
		s.full = true
	}
}

func (s *set[T]) len() int {
	if s.many != nil {
		return len(s.many)
	}
	return int(s.n)
}

func (s *set[T]) clone() set[T] {
	c := *s
	c.many = maps.Clone(s.many)
	return c
}

// anomalyCount is how many times the connection noted the anomaly name.
func anomalyCount(r *flow.Record, name string) int {
	for _, a := range r.Anomalies {
		if a.Name == name {
			return a.Count
		}
	}
	return 0
}

// established reports whether the connection got past its handshake.
func established(r *flow.Record) bool {
	return r.Handshake == fsm.HandshakeComplete || r.Handshake == fsm.HandshakeSimultaneous || r.Handshake == fsm.HandshakeMidstream
}
