package diagnose

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// SynUnanswered: connection attempts whose SYNs were retried with no
// answer at all.
const SynUnanswered = "syn_unanswered"

func init() {
	register(SynUnanswered, "a connection attempt whose SYN was retried without any answer: host down, filtered, or the listener's queues full",
		func() detector { return new(synUnanswered) })
}

// synUnanswered is the evidence per listener.
type synUnanswered struct {
	ev evidence[synUnansweredEvidence, *synUnansweredEvidence]
}

type synUnansweredEvidence struct {
	connections
	syns     int     // SYNs sent, retries included
	longest  int64   // the longest attempt
	schedule []int64 // the SYN times of the first example
}

func (d *synUnanswered) observe(r *flow.Record, c *Collector) {
	if r.Handshake != fsm.HandshakeUnanswered || r.SynRetransmits < c.th.SynRetries {
		return
	}
	g := d.ev.get(c, r.ServerAddr)
	g.add(r)
	g.syns += r.SynRetransmits + 1
	g.longest = max(g.longest, r.Last-r.First)
	if g.schedule == nil {
		g.schedule = r.Client.SYNTimes
	}
}

func (d *synUnanswered) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(SynUnanswered, out, func(ep netip.AddrPort, g *synUnansweredEvidence) (Diagnosis, bool) {
		text := fmt.Sprintf("%s to %s got no answer at all, %d SYNs in all (the longest attempt lasted %s). %s",
			count(g.n, "connection attempt"), ep, g.syns, dur(g.longest), backoff(g.schedule, "SYN", "tcp_syn_retries"))
		// What else the listener did tells a full queue from the rest.
		switch aq := detectorOf[*acceptQueue](c).ev.at[ep]; {
		case aq != nil && aq.silent():
			text += " The same listener answered other SYNs meanwhile: see accept_queue_overflow."
		case aq == nil || aq.answered == 0:
			text += " Nothing else of this listener was seen: a host that is down, a filter dropping the SYNs and a full accept queue all fit."
		}
		return Diagnosis{Severity: Notice, Explanation: text,
			Advice: "The host is down, a firewall drops the SYNs, or the listener's queues are full (see accept_queue_overflow). Linux retries a SYN net.ipv4.tcp_syn_retries times (6: about 127 s), doubling the wait from 1 s; where net.ipv4.tcp_syn_linear_timeouts applies (Linux 6.5 and later) its first retries may come 1 s apart before the doubling starts. tcpfsm shows each connection's schedule as the capture has it."}, true
	})
}

func (d *synUnanswered) clone() detector {
	return &synUnanswered{ev: d.ev.clone(func(g *synUnansweredEvidence) {
		g.schedule = slices.Clone(g.schedule)
	})}
}
