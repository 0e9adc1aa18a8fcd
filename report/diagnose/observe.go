package diagnose

import (
	"container/heap"
	"maps"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// Add takes one finished connection's evidence. The counters a, b, c,
// longest and sum of each aggregate mean, per diagnosis:
//
//	accept_queue_overflow  a: SYN/ACK resent after the client's ACK; b: RST instead of accepting; times: the first resending example's SYN/ACK times
//	syn_flood              a: SYN/ACK never acknowledged; b: of those, cookie-shaped; c: SYN/ACK resends; sum: SYNs unanswered; times: the first resending example's SYN/ACK times
//	close_wait_leak        longest: the longest wait
//	time_wait_pileup       a: active closes from the host's own (ephemeral) ports; timeWaits: their TIME_WAITs; c: 5-tuples reused; sum: active closes as a server
//	half_open_peer         a: ended by the survivor's RST; longest: the longest unanswered run
//	syn_unanswered         a: SYNs sent; longest: the longest attempt
//	port_scan              a: refused; b: unanswered; c: answered, then aborted by the source
//	zero_window_stall      a: window probes; longest: the longest zero window
//	keepalive              a: probes; b: unanswered; sum, c: the sum and number of measured intervals
func (c *Collector) Add(r *flow.Record) {
	c.end = max(c.end, r.End)
	client, server := r.ClientAddr, r.ServerAddr
	sides := [2]*fsm.Side{&r.Client, &r.Server}
	addrs := [2]netip.AddrPort{client, server}

	// Accept queue full (Linux tcp_check_req, listen_overflow): with
	// tcp_abort_on_overflow=0 the server drops the final ACK and resends its
	// SYN/ACK; one resend is a lost ACK, but a second, or a server still in
	// SYN_RCVD at the end, is the queue. With =1 it answers with a RST
	// from SYN_RCVD, before it ever sent anything else.
	resent := anomalyCount(r, fsm.AnomalySynAckAfterAck)
	formA := resent >= 2 || resent >= 1 && r.Server.State == fsm.SynRcvd
	formB := r.Handshake == fsm.HandshakeComplete && r.Reset && r.ResetBy == fsm.FromServer && r.ResetFrom == fsm.SynRcvd
	if formA || formB {
		g := c.get(AcceptQueueOverflow, server)
		g.add(r)
		if formA {
			g.a++
			if g.times == nil && len(r.Server.SYNTimes) > 1 {
				g.times = r.Server.SYNTimes
			}
		} else {
			g.b++
		}
	}

	switch r.Handshake {
	case fsm.HandshakeSynAckUnanswered, fsm.HandshakeUnanswered:
		g := c.get(SynFlood, server)
		g.add(r)
		g.addSource(client.Addr())
		if r.Handshake == fsm.HandshakeUnanswered {
			g.sum++
		} else {
			g.a++
			g.c += r.SynAckRetransmits
			if g.times == nil && len(r.Server.SYNTimes) > 1 {
				g.times = r.Server.SYNTimes
			}
			if r.SynAckOptionsReduced && r.SynAckRetransmits == 0 {
				g.b++
			}
		}
	}

	if r.Handshake == fsm.HandshakeUnanswered && r.SynRetransmits >= c.th.SynRetries {
		g := c.get(SynUnanswered, server)
		g.add(r)
		g.a += r.SynRetransmits + 1
		g.longest = max(g.longest, r.Last-r.First)
		if g.times == nil {
			g.times = r.Client.SYNTimes
		}
	}

	switch {
	case r.Handshake == fsm.HandshakeRefused,
		r.Handshake == fsm.HandshakeUnanswered,
		r.Handshake == fsm.HandshakeReset && r.ResetBy == fsm.FromClient:
		g := c.get(PortScan, netip.AddrPortFrom(client.Addr(), 0))
		g.add(r)
		g.addSource(server.Addr())
		g.addTarget(server)
		switch r.Handshake {
		case fsm.HandshakeRefused:
			g.a++
		case fsm.HandshakeUnanswered:
			g.b++
		default:
			g.c++
		}
	}

	// A connection that reuses a 5-tuple ended its predecessor's
	// TIME_WAIT with its SYN, however it went on itself.
	tuple := tupleKey(client, server)
	if slices.Contains(r.Labels, fsm.LabelPortReuse) {
		if g := c.aggs[key{TimeWaitPileup, netip.AddrPortFrom(client.Addr(), 0)}]; g != nil {
			g.c++
			g.timeWaits.cut(tuple)
		}
	}

	established := r.Handshake == fsm.HandshakeComplete || r.Handshake == fsm.HandshakeSimultaneous || r.Handshake == fsm.HandshakeMidstream
	for i, s := range sides {
		me, peer := addrs[i], addrs[1-i]
		other := sides[1-i]

		if s.State == fsm.CloseWait && s.CloseWaitAt != 0 && r.End-s.CloseWaitAt >= int64(c.th.CloseWait) {
			g := c.get(CloseWaitLeak, me)
			g.add(r)
			g.longest = max(g.longest, r.End-s.CloseWaitAt)
		}

		// TIME_WAIT holds the 4-tuple: on a client that is one of its
		// ephemeral ports, which run out; on a server, only memory.
		if s.FINAt != 0 && other.FINAt != 0 && s.FINAt <= other.FINAt {
			g := c.get(TimeWaitPileup, netip.AddrPortFrom(me.Addr(), 0))
			if i == int(fsm.FromServer) {
				g.sum++
			} else {
				g.add(r)
				g.a++
				if s.State == fsm.TimeWait {
					g.timeWaits.add(tuple, s.TimeWaitAt, s.TimeWaitAt+fsm.TimeWaitDuration)
				}
			}
		}

		if established && s.Unanswered >= uint32(c.th.Unanswered) &&
			(s.UnansweredBackoff || s.KeepalivesUnanswered >= uint32(c.th.Unanswered)) {
			g := c.get(HalfOpenPeer, peer)
			g.add(r)
			g.longest = max(g.longest, s.UnansweredLast-s.UnansweredFirst)
			if r.Reset && int(r.ResetBy) == i {
				g.a++
			}
		}

		if s.ZeroWindowLongest >= int64(c.th.ZeroWindow) {
			g := c.get(ZeroWindowStall, me)
			g.add(r)
			g.longest = max(g.longest, s.ZeroWindowLongest)
			g.a += int(other.WindowProbes)
		}

		if s.Keepalives >= 2 {
			g := c.get(Keepalive, server)
			g.add(r)
			g.a += int(s.Keepalives)
			g.b += int(s.KeepalivesUnanswered)
			g.sum += (s.KeepaliveLast - s.KeepaliveFirst) / int64(s.Keepalives-1)
			g.c++
		}
	}
}

func anomalyCount(r *flow.Record, name string) int {
	for _, a := range r.Anomalies {
		if a.Name == name {
			return a.Count
		}
	}
	return 0
}

func (g *agg) addTarget(t netip.AddrPort) { g.targets.add(t) }

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
	until map[uint64]int64 // the running TIME_WAITs by tupleKey: when each ends
	ends  endHeap          // the same ends, soonest first, and stale ones of 5-tuples cut or re-added
	peak  int
}

type timeWaitEnd struct {
	at    int64
	tuple uint64
}

// endHeap is a min-heap of ends by time (container/heap).
type endHeap []timeWaitEnd

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(timeWaitEnd)) }
func (h *endHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// add notes a TIME_WAIT on tuple from start until until.
func (w *timeWaits) add(tuple uint64, start, until int64) {
	if w.until == nil {
		w.until = map[uint64]int64{}
	}
	for len(w.ends) > 0 && w.ends[0].at <= start {
		e := heap.Pop(&w.ends).(timeWaitEnd)
		if u, ok := w.until[e.tuple]; ok && u == e.at {
			delete(w.until, e.tuple)
		}
	}
	w.until[tuple] = until
	heap.Push(&w.ends, timeWaitEnd{until, tuple})
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
	return timeWaits{until: maps.Clone(w.until), ends: slices.Clone(w.ends), peak: w.peak}
}
