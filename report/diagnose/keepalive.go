package diagnose

import (
	"fmt"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// Keepalive: connections to a server probed by keepalives.
const Keepalive = "keepalive"

func init() {
	register(Keepalive, "keepalive probes on idle connections, their interval, and whether they were answered",
		func() detector { return new(keepalive) })
}

// keepalive is the evidence per server.
type keepalive struct {
	ev evidence[keepaliveEvidence, *keepaliveEvidence]
}

type keepaliveEvidence struct {
	connections
	probes, unanswered int
	intervals          int64 // the sum of the mean intervals of measured connections
	measured           int   // connections whose interval was measured
}

func (d *keepalive) observe(r *flow.Record, c *Collector) {
	for _, s := range [2]*fsm.Side{&r.Client, &r.Server} {
		if s.Keepalives < 2 {
			continue
		}
		g := d.ev.get(c, r.ServerAddr)
		g.add(r)
		g.probes += int(s.Keepalives)
		g.unanswered += int(s.KeepalivesUnanswered)
		g.intervals += (s.KeepaliveLast - s.KeepaliveFirst) / int64(s.Keepalives-1)
		g.measured++
	}
}

func (d *keepalive) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(Keepalive, out, func(ep netip.AddrPort, g *keepaliveEvidence) (Diagnosis, bool) {
		sev := Info
		text := fmt.Sprintf("%s to %s sent keepalive probes (%d in all)", count(g.n, "connection"), ep, g.probes)
		if g.measured > 0 {
			text += fmt.Sprintf(", every %s on average", dur(g.intervals/int64(g.measured)))
		}
		if g.unanswered > 0 {
			sev = Warning
			text += fmt.Sprintf("; %d went unanswered: the peer is gone or the path drops them", g.unanswered)
		} else {
			text += "; all were answered"
		}
		return Diagnosis{Severity: sev, Explanation: text + ".",
			Advice: "Keepalive probes an idle connection to find a dead peer: Linux waits net.ipv4.tcp_keepalive_time (7200 s) of idleness, then probes every tcp_keepalive_intvl (75 s), and resets after tcp_keepalive_probes (9) unanswered ones; applications override them per socket (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)."}, true
	})
}

func (d *keepalive) clone() detector { return &keepalive{ev: d.ev.clone(nil)} }
