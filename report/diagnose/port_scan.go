package diagnose

import (
	"fmt"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// PortScan: one source failing on many host:port pairs.
const PortScan = "port_scan"

func init() {
	register(PortScan, "one source failed (refused, answered by an ICMP error, unanswered, or aborted after the SYN/ACK) on many host:port pairs",
		func() detector { return new(portScan) })
}

// portScan is the evidence per source host; a source that failed once is
// kept apart, in once, until it fails again (see firsts).
type portScan struct {
	ev   evidence[portScanEvidence, *portScanEvidence]
	once firsts[failure]
}

// failure is a source's one failed connection, as much of it as the
// evidence keeps.
type failure struct {
	id          uint64
	first, last int64
	target      netip.AddrPort
	handshake   string
}

type portScanEvidence struct {
	connections
	hosts                       set[netip.Addr]     // the hosts tried
	targets                     set[netip.AddrPort] // the host:port pairs tried
	refused, unanswered, aborts int                 // aborts: answered, then reset by the source
	unreachable                 int                 // answered by an ICMP error (a firewall's reject)
}

func (d *portScan) observe(r *flow.Record, c *Collector) {
	switch {
	case r.Handshake == fsm.HandshakeRefused,
		r.Handshake == fsm.HandshakeUnreachable,
		r.Handshake == fsm.HandshakeUnanswered,
		r.Handshake == fsm.HandshakeReset && r.ResetBy == fsm.FromClient:
	default:
		return
	}
	f := failure{id: r.ID, first: r.First, last: r.Last, target: r.ServerAddr, handshake: r.Handshake}
	if g := observed(c, &d.ev, &d.once, host(r.ClientAddr), f, c.th.ScanTargets > 1, (*portScanEvidence).failed); g != nil {
		g.failed(&f)
	}
}

// failed adds a failed connection.
func (g *portScanEvidence) failed(f *failure) {
	g.note(f.id, f.first, f.last)
	g.hosts.add(f.target.Addr())
	g.targets.add(f.target)
	switch f.handshake {
	case fsm.HandshakeRefused:
		g.refused++
	case fsm.HandshakeUnanswered:
		g.unanswered++
	case fsm.HandshakeUnreachable:
		g.unreachable++
	default:
		g.aborts++
	}
}

func (d *portScan) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(PortScan, out, func(ep netip.AddrPort, g *portScanEvidence) (Diagnosis, bool) {
		if g.targets.len() < c.th.ScanTargets {
			return Diagnosis{}, false
		}
		unreachable := ""
		if g.unreachable > 0 {
			unreachable = fmt.Sprintf(" %d answered by an ICMP error,", g.unreachable)
		}
		return Diagnosis{Severity: Notice,
			Explanation: fmt.Sprintf("%s tried %d ports on %s: %d refused,%s %d unanswered, %d answered and then aborted by the source before the handshake completed (a SYN scan's signature).",
				ep.Addr().Unmap(), g.targets.len(), count(g.hosts.len(), "host"), g.refused, unreachable, g.unanswered, g.aborts),
			Advice: "One source touching many ports or hosts with SYNs that fail is a port scan, or a worm looking for victims. Check whether it is an authorised scanner; otherwise block it, and see which of its probes found open ports."}, true
	})
}

func (d *portScan) clone() detector {
	return &portScan{ev: d.ev.clone(func(g *portScanEvidence) {
		g.hosts = g.hosts.clone()
		g.targets = g.targets.clone()
	}), once: d.once.clone()}
}
