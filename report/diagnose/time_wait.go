package diagnose

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/internal/minheap"
)

// TimeWaitPileup: a host holding many actively closed connections in
// TIME_WAIT at once.
const TimeWaitPileup = "time_wait_pileup"

func init() {
	register(TimeWaitPileup, "a host held many connections it had opened and actively closed in TIME_WAIT at once, each holding a local port for 60 s",
		func() detector { return new(timeWait) })
}

// timeWait is the evidence per host; a host seen closing first once is
// kept apart, in once, until it does again (see firsts): a server's
// capture holds a client host for each few connections, each closing one.
type timeWait struct {
	ev   evidence[timeWaitEvidence, *timeWaitEvidence]
	once firsts[firstClose]
}

// firstClose is a host's one connection closed first, as much of it as
// the evidence keeps.
type firstClose struct {
	asServer    bool
	id          uint64
	first, last int64
	tuple       uint64
	inTimeWait  bool
	twStart     int64 // when its TIME_WAIT began, which lasts fsm.TimeWaitDuration
}

type timeWaitEvidence struct {
	connections
	activeCloses int       // connections it opened and closed first, from its own (ephemeral) ports
	timeWaits    timeWaits // their TIME_WAITs
	reused       int       // 5-tuples reused by a new connection
	serverCloses int       // connections it closed first as a server
}

func (d *timeWait) observe(r *flow.Record, c *Collector) {
	// A connection that reuses a 5-tuple ended its predecessor's
	// TIME_WAIT with its SYN, however it went on itself.
	tuple := tupleKey(r.ClientAddr, r.ServerAddr)
	if slices.Contains(r.Labels, fsm.LabelPortReuse) {
		if g := promoted(c, &d.ev, &d.once, host(r.ClientAddr), (*timeWaitEvidence).closed); g != nil {
			g.reused++
			g.timeWaits.cut(tuple)
		}
	}
	// TIME_WAIT holds the 4-tuple: on a client that is one of its
	// ephemeral ports, which run out; on a server, only memory.
	sides := [2]*fsm.Side{&r.Client, &r.Server}
	addrs := [2]netip.AddrPort{r.ClientAddr, r.ServerAddr}
	for i, s := range sides {
		other := sides[1-i]
		if s.FINAt == 0 || other.FINAt == 0 || s.FINAt > other.FINAt {
			continue
		}
		seen := firstClose{asServer: i == int(fsm.FromServer), id: r.ID, first: r.First, last: r.Last, tuple: tuple,
			inTimeWait: s.State == fsm.TimeWait, twStart: s.TimeWaitAt}
		if g := observed(c, &d.ev, &d.once, host(addrs[i]), seen, c.th.TimeWaits > 1, (*timeWaitEvidence).closed); g != nil {
			g.closed(&seen)
		}
	}
}

// closed adds a connection the host closed first.
func (g *timeWaitEvidence) closed(s *firstClose) {
	if s.asServer {
		g.serverCloses++
		return
	}
	g.note(s.id, s.first, s.last)
	g.activeCloses++
	if s.inTimeWait {
		g.timeWaits.add(s.tuple, s.twStart, s.twStart+fsm.TimeWaitDuration)
	}
}

func (d *timeWait) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(TimeWaitPileup, out, func(ep netip.AddrPort, g *timeWaitEvidence) (Diagnosis, bool) {
		if g.timeWaits.peak < c.th.TimeWaits {
			return Diagnosis{}, false
		}
		text := fmt.Sprintf("%s closed %s it had opened actively (its FIN came first), so it held each local port in TIME_WAIT for 60 s: up to %d at once, and %d at the end of the capture.",
			ep.Addr().Unmap(), count(g.activeCloses, "connection"), g.timeWaits.peak, g.timeWaits.runningAt(c.end))
		if g.serverCloses > 0 {
			text += fmt.Sprintf(" It also closed %s first as a server.", count(g.serverCloses, "connection"))
		}
		if g.reused > 0 {
			text += fmt.Sprintf(" %s reused a 5-tuple of an earlier connection: ephemeral ports are being recycled.", count(g.reused, "connection"))
		}
		return Diagnosis{Severity: Warning, Explanation: text,
			Advice: "Each actively closed connection keeps its 4-tuple in TIME_WAIT for 60 s; with many short connections to one server the ephemeral port range (net.ipv4.ip_local_port_range) runs out (\"Cannot assign requested address\"). Reuse connections (keep-alive, pooling), let the server close instead, or set net.ipv4.tcp_tw_reuse=1 for outgoing connections. Do not use tcp_tw_recycle: it broke clients behind NAT and was removed in Linux 4.12."}, true
	})
}

func (d *timeWait) clone() detector {
	return &timeWait{ev: d.ev.clone(func(g *timeWaitEvidence) {
		g.timeWaits = g.timeWaits.clone()
	}), once: d.once.clone()}
}

// timeWaits follows the TIME_WAITs of one host's actively closed
// connections: how many ran at once at most, and which may still run.
// Connections are reported while their TIME_WAIT runs, in about the
// order they entered it, so a TIME_WAIT that began before the one being
// added and ended before it began (or as it began) is over: ends lets
// those go in order.
// The peak is therefore exact up to that ordering, and a 5-tuple reused
// is cut only when its successor is reported, which may count its
// TIME_WAIT as running a little too long.
type timeWaits struct {
	until map[uint64]int64          // the running TIME_WAITs by tupleKey: when each ends
	ends  minheap.Heap[timeWaitEnd] // the same ends, soonest first, and stale ones of 5-tuples cut or re-added
	peak  int
}

type timeWaitEnd struct {
	at    int64
	tuple uint64
}

// soonerEnd orders the ends of a host's TIME_WAITs.
func soonerEnd(a, b *timeWaitEnd) bool { return a.at < b.at }

// add notes a TIME_WAIT on tuple from start until until.
func (w *timeWaits) add(tuple uint64, start, until int64) {
	if w.until == nil {
		w.until = map[uint64]int64{}
		w.ends.Less = soonerEnd
	}
	for w.ends.Len() > 0 && w.ends.Items[0].at <= start {
		e := w.ends.Pop()
		if u, ok := w.until[e.tuple]; ok && u == e.at {
			delete(w.until, e.tuple)
		}
	}
	w.until[tuple] = until
	w.ends.Push(timeWaitEnd{until, tuple})
	w.peak = max(w.peak, len(w.until))
}

// cut ends the TIME_WAIT of tuple, which a new connection reused.
func (w *timeWaits) cut(tuple uint64) { delete(w.until, tuple) }

// tupleKey is a 64-bit FNV-1a hash of a connection's endpoints: a
// capture of many short connections keeps a minute of TIME_WAITs, and
// the endpoints themselves would take four times the memory. Two
// 5-tuples of one host sharing a key would merge their TIME_WAITs in the
// counts; at 2^-64 a pair, they do not.
func tupleKey(client, server netip.AddrPort) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, ep := range [2]netip.AddrPort{client, server} {
		a := ep.Addr().As16()
		for _, b := range a {
			h = (h ^ uint64(b)) * prime
		}
		h = (h ^ uint64(ep.Port()>>8)) * prime
		h = (h ^ uint64(ep.Port()&0xff)) * prime
	}
	return h
}

// runningAt counts the TIME_WAITs still running at time t.
func (w *timeWaits) runningAt(t int64) int {
	n := 0
	for _, u := range w.until {
		if u >= t {
			n++
		}
	}
	return n
}

func (w timeWaits) clone() timeWaits {
	return timeWaits{until: maps.Clone(w.until), ends: minheap.Heap[timeWaitEnd]{Items: slices.Clone(w.ends.Items), Less: w.ends.Less}, peak: w.peak}
}
