package flow

import (
	"container/heap"
	"math"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// maxCensusHosts bounds the hosts a census tells apart, and the listening
// endpoints it counts; the rest are counted together under the unspecified
// address (::).
const maxCensusHosts = 16384

// Census is what netstat -nat would have shown on every host of the
// capture at one instant: endpoints per state, per host.
//
// A capture with more hosts than a census tells apart (a SYN flood from
// spoofed addresses) has the surplus counted under the unspecified
// address. Which hosts are named does not depend on the order connections
// are counted in, so the census of a capture is the same however its
// connections are spread over shards: the server sides of connections come
// first, then the client sides, each in address order.
type Census struct {
	At    int64 // Unix nanoseconds
	Hosts map[netip.Addr]*HostCensus
	// ClientOnlyEstablished counts the connections whose client is
	// synchronized (ESTABLISHED, or closing from there) while the server
	// still holds them in SYN_RCVD: the accept-queue trap, which the
	// per-host counts show only as a difference between two hosts.
	ClientOnlyEstablished uint32

	from *census // what it was built from, to merge censuses
}

// HostCensus counts one host's endpoints.
type HostCensus struct {
	States    [16]uint32 // indexed by fsm.State; CLOSED and UNKNOWN are never counted
	Listeners uint32     // distinct ports seen answering a SYN
}

func (h *HostCensus) add(o *HostCensus) {
	for st, n := range o.States {
		h.States[st] += n
	}
	h.Listeners += o.Listeners
}

// censusKey names what a census counts per host: the endpoints a host has
// as the server of connections, or as the client. They are kept apart so
// that, with too many hosts, servers are named before clients.
type censusKey struct {
	client bool
	addr   netip.Addr
}

func (a censusKey) compare(b censusKey) int {
	switch {
	case a.client == b.client:
		return a.addr.Compare(b.addr)
	case b.client:
		return -1
	}
	return 1
}

// bottomK keeps the k smallest of the keys it is given, with a value each,
// and adds up the values of all others in rest: since which keys survive
// depends only on the set of keys, not on the order they came in, two
// bottomKs merged keep exactly what one given every key would have kept.
type bottomK[K comparable, V any] struct {
	k       int
	compare func(a, b K) int
	add     func(into *V, from *V)
	m       map[K]*V
	keys    maxHeap[K] // the keys of m, largest on top
	rest    V
	hasRest bool
}

func newBottomK[K comparable, V any](k int, compare func(a, b K) int, add func(into *V, from *V)) *bottomK[K, V] {
	return &bottomK[K, V]{k: k, compare: compare, add: add, m: map[K]*V{}, keys: maxHeap[K]{compare: compare}}
}

// get returns the value kept for key, or the one for every key not kept.
func (b *bottomK[K, V]) get(key K) *V {
	if v := b.m[key]; v != nil {
		return v
	}
	if len(b.m) >= b.k {
		largest := b.keys.keys[0]
		if b.compare(key, largest) > 0 {
			b.hasRest = true
			return &b.rest // it would never be among the k smallest
		}
		b.add(&b.rest, b.m[largest])
		b.hasRest = true
		delete(b.m, largest)
		heap.Pop(&b.keys)
	}
	v := new(V)
	b.m[key] = v
	heap.Push(&b.keys, key)
	return v
}

// merge adds o's keys and values into b. o is not changed.
func (b *bottomK[K, V]) merge(o *bottomK[K, V]) {
	for key, v := range o.m {
		b.add(b.get(key), v)
	}
	if o.hasRest {
		b.add(&b.rest, &o.rest)
		b.hasRest = true
	}
}

// maxHeap is a container/heap of keys, largest first.
type maxHeap[K any] struct {
	keys    []K
	compare func(a, b K) int
}

func (h *maxHeap[K]) Len() int           { return len(h.keys) }
func (h *maxHeap[K]) Less(i, j int) bool { return h.compare(h.keys[i], h.keys[j]) > 0 }
func (h *maxHeap[K]) Swap(i, j int)      { h.keys[i], h.keys[j] = h.keys[j], h.keys[i] }
func (h *maxHeap[K]) Push(x any)         { h.keys = append(h.keys, x.(K)) }
func (h *maxHeap[K]) Pop() any {
	n := len(h.keys) - 1
	x := h.keys[n]
	h.keys = h.keys[:n]
	return x
}

// census builds a Census as of time at.
type census struct {
	at         int64
	done       bool
	clientOnly uint32 // see Census.ClientOnlyEstablished
	hosts      *bottomK[censusKey, HostCensus]
	// The latest SYN each endpoint answered, and the latest it refused, by
	// the census instant. An endpoint counts as LISTEN when the latest is
	// an answer: a RST to a SYN proves nobody listened at that moment,
	// whatever answered before. They are kept apart so that the endpoints
	// a port scan finds closed cannot crowd out the listeners; past their
	// bound, refusals are forgotten and LISTEN counted from answers alone.
	listeners, refusals *bottomK[netip.AddrPort, latest]
}

// latest is the time of the latest of some event.
type latest int64

func (l *latest) add(o *latest) { *l = max(*l, *o) }

func newCensus(at int64) *census {
	return &census{
		at:        at,
		hosts:     newBottomK(maxCensusHosts, censusKey.compare, (*HostCensus).add),
		listeners: newBottomK(maxCensusHosts, netip.AddrPort.Compare, (*latest).add),
		refusals:  newBottomK(maxCensusHosts, netip.AddrPort.Compare, (*latest).add),
	}
}

// count adds connection c of table t as it stands at the census time:
// its state machine if it has one, else what a lone SYN or a tombstone
// says (the table's CloseDelay dates a tombstone's TIME_WAIT).
func (cs *census) count(c *Conn, t *Table) {
	m, closeDelay := t.fsmOf(c), t.cfg.CloseDelay
	client, server := t.endpoints(c)
	cl, sv := fsm.SynSent, fsm.Listen // a lone SYN
	var answered, refused int64       // see census.listeners
	switch {
	case c.tomb != 0:
		cl, sv = fsm.Closed, fsm.Closed
		if cs.at < c.at-closeDelay {
			if c.tomb&tombClientTW != 0 {
				cl = fsm.TimeWait
			}
			if c.tomb&tombServerTW != 0 {
				sv = fsm.TimeWait
			}
		}
		if c.tomb&tombListening != 0 {
			// Its SYN/ACK was before its TIME_WAIT, which began
			// CloseDelay+TimeWaitDuration before the tombstone goes.
			answered = c.at - closeDelay - fsm.TimeWaitDuration
		}
	case m == nil && c.at > cs.at, m != nil && m.First() > cs.at:
		return // it had not started yet
	case m != nil:
		cl, sv = m.StatesAt(cs.at)
		answered, refused = m.ListenerSeen()
		if sv == fsm.SynRcvd && m.SynCookie() {
			// A server that answered with a SYN cookie holds no
			// socket for the connection: netstat lists nothing.
			sv = fsm.Closed
		}
		if sv == fsm.SynRcvd && cl.Synchronized() {
			cs.clientOnly++
		}
	}
	for _, e := range [2]struct {
		ep     netip.AddrPort
		client bool
		st     fsm.State
	}{{client, true, cl}, {server, false, sv}} {
		// netstat lists neither closed sockets nor, per connection, the
		// listener it came from: LISTEN is counted per listening port.
		if e.st != fsm.Closed && e.st != fsm.Unknown && e.st != fsm.Listen {
			cs.hosts.get(censusKey{e.client, e.ep.Addr().Unmap()}).States[e.st]++
		}
	}
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	if t := latest(answered); answered != 0 && answered <= cs.at {
		cs.listeners.get(server).add(&t)
	}
	if t := latest(refused); refused != 0 && refused <= cs.at {
		cs.refusals.get(server).add(&t)
	}
}

// merge adds the counts of o, a census of other connections at the same
// instant.
func (cs *census) merge(o *census) {
	cs.hosts.merge(o.hosts)
	cs.listeners.merge(o.listeners)
	cs.refusals.merge(o.refusals)
	cs.clientOnly += o.clientOnly
}

// result returns the census as reports see it: per host, the server and
// client sides added up, the listening ports counted.
func (cs *census) result() *Census {
	out := &Census{At: cs.at, Hosts: make(map[netip.Addr]*HostCensus, len(cs.hosts.m)), ClientOnlyEstablished: cs.clientOnly, from: cs}
	host := func(a netip.Addr) *HostCensus {
		h := out.Hosts[a]
		if h == nil {
			h = &HostCensus{}
			out.Hosts[a] = h
		}
		return h
	}
	for k, h := range cs.hosts.m {
		host(k.addr).add(h)
	}
	if cs.hosts.hasRest {
		host(netip.IPv6Unspecified()).add(&cs.hosts.rest)
	}
	// Listening ports past the bound are not counted: telling how many
	// there were would take remembering them.
	for ep, answered := range cs.listeners.m {
		if refused := cs.refusals.m[ep]; refused == nil || *answered > *refused {
			host(ep.Addr()).Listeners++
		}
	}
	return out
}

// begin sets the table up once the capture's first packet time is known.
func (t *Table) begin(first int64) {
	if t.census == nil {
		t.census = newCensus(t.censusTime(first))
	}
}

// censusTime resolves Config.CensusAt once the first packet's time is known.
func (t *Table) censusTime(first int64) int64 {
	switch {
	case t.cfg.CensusFromStart:
		if first > math.MaxInt64-1-t.cfg.CensusAt {
			// An offset past the latest time there is (--at 2500000h):
			// the census is taken then, rather than wrap round to 1715.
			return math.MaxInt64 - 1
		}
		return first + t.cfg.CensusAt
	case t.cfg.CensusAt == 0:
		return math.MaxInt64 // the end, whenever it comes (see Flush)
	}
	return t.cfg.CensusAt
}

// takeCensus counts the connections live now; those that left the table
// before were counted as they left.
func (t *Table) takeCensus() {
	cs := t.census
	if cs.at == math.MaxInt64 {
		cs.at = t.now
	}
	t.countAll(cs)
	cs.done = true
	switch {
	case t.cfg.censusTaken != nil:
		t.cfg.censusTaken(cs)
	case t.cfg.Census != nil:
		t.cfg.Census(cs.result())
	}
}

// countAll counts every connection in the table, tombstones included.
func (t *Table) countAll(cs *census) {
	for _, q := range [2]*queue{&t.lru, &t.ended} {
		for c := range q.all() {
			cs.count(c, t)
		}
	}
	for c := range t.tombs.all() {
		cs.count(c, t)
	}
}
