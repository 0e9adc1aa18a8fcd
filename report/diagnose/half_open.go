package diagnose

import (
	"fmt"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// HalfOpenPeer: a peer that stopped answering an established connection.
const HalfOpenPeer = "half_open_peer"

func init() {
	register(HalfOpenPeer, "on an established connection one side retransmitted or probed with no answer, with backoff, ending in silence or its RST: the peer vanished",
		func() detector { return new(halfOpen) })
}

// halfOpen is the evidence per silent peer.
type halfOpen struct {
	ev evidence[halfOpenEvidence, *halfOpenEvidence]
}

type halfOpenEvidence struct {
	connections
	endedByRST int   // ended by the survivor's RST
	longest    int64 // the longest unanswered run
}

func (d *halfOpen) observe(r *flow.Record, c *Collector) {
	if !established(r) {
		return
	}
	sides := [2]*fsm.Side{&r.Client, &r.Server}
	addrs := [2]netip.AddrPort{r.ClientAddr, r.ServerAddr}
	for i, s := range sides {
		if s.Unanswered < uint32(c.th.Unanswered) ||
			!s.UnansweredBackoff && s.KeepalivesUnanswered < uint32(c.th.Unanswered) {
			continue
		}
		g := d.ev.get(c, addrs[1-i]) // the peer is the one that vanished
		g.add(r)
		g.longest = max(g.longest, s.UnansweredLast-s.UnansweredFirst)
		if r.Reset && int(r.ResetBy) == i {
			g.endedByRST++
		}
	}
}

func (d *halfOpen) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(HalfOpenPeer, out, func(ep netip.AddrPort, g *halfOpenEvidence) (Diagnosis, bool) {
		ending := "and then fell silent"
		if g.endedByRST > 0 {
			ending = fmt.Sprintf("and %d ended with the survivor's RST", g.endedByRST)
		}
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s stopped answering: on %s the other side kept retransmitting or probing with no reply, for up to %s, %s.",
				ep, count(g.n, "connection"), dur(g.longest), ending),
			Advice: "The peer crashed, lost power or its path broke without a FIN or RST: the connection is half open. Data retransmissions give up after net.ipv4.tcp_retries2 (15: about 15 minutes); an idle connection notices only with keepalive (SO_KEEPALIVE, net.ipv4.tcp_keepalive_time/intvl/probes) or TCP_USER_TIMEOUT. Until then the survivor's socket looks ESTABLISHED."}, true
	})
}

func (d *halfOpen) clone() detector { return &halfOpen{ev: d.ev.clone(nil)} }
