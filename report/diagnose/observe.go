package diagnose

import (
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// Add takes one finished connection's evidence. The counters a, b, c,
// longest and sum of each aggregate mean, per diagnosis:
//
//	accept_queue_overflow  a: SYN/ACK resent after the client's ACK; b: RST instead of accepting
//	syn_flood              a: SYN/ACK never acknowledged; b: of those, cookie-shaped; c: SYN/ACK resends; sum: SYNs unanswered
//	close_wait_leak        longest: the longest wait
//	time_wait_pileup       a: active closes from the host's own (ephemeral) ports; timeWaitUntil: of those, when each TIME_WAIT ends; c: 5-tuples reused; sum: active closes as a server
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
					c.tallyTimeWait(g, s.TimeWaitAt+fsm.TimeWaitDuration)
				}
				if slices.Contains(r.Labels, fsm.LabelPortReuse) {
					g.c++
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

// tallyTimeWait notes a TIME_WAIT that lasts until until. A connection is
// reported while its TIME_WAIT still runs, and whether it still ran at the
// end of the capture is known only at the end: timeWaitInAt counts them
// then. Those over before the latest record's End are dropped as they
// pass, so the list holds at most about a TIME_WAIT's worth of closes.
func (c *Collector) tallyTimeWait(g *agg, until int64) {
	if len(g.timeWaitUntil) == cap(g.timeWaitUntil) {
		g.timeWaitUntil = slices.DeleteFunc(g.timeWaitUntil, func(u int64) bool { return u < c.end })
	}
	g.timeWaitUntil = append(g.timeWaitUntil, until)
}

// timeWaitInAt counts the TIME_WAITs of g still running at time t.
func timeWaitInAt(g *agg, t int64) int {
	n := 0
	for _, u := range g.timeWaitUntil {
		if u >= t {
			n++
		}
	}
	return n
}
