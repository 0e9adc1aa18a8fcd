package diagnose

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// PortScan: one source failing on many host:port pairs.
const PortScan = "port_scan"

func init() {
	register(PortScan, "one source failed (refused, answered by an ICMP error, unanswered, or aborted after the SYN/ACK) on many host:port pairs",
		func() detector { return new(portScan) })
}

// portScan is the evidence per source host. A source that failed once is
// kept apart, in once, until it fails again: a flood of SYNs from spoofed
// sources fails once from each of a million, which in ev would fill its
// budget and leave a scanner that comes after them unseen. once is bounded
// as ev is, the oldest going first: a source that failed once is no scan.
type portScan struct {
	ev   evidence[portScanEvidence, *portScanEvidence]
	once map[netip.AddrPort]failure
	// order holds once's sources in the order they came, a ring of
	// maxKeys: the next to go is at order[next].
	order []netip.AddrPort
	next  int
}

// failure is a source's one failed connection, as much of it as the
// evidence keeps.
type failure struct {
	id          uint64
	slot        int // its place in order, to tell a source that came again
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
	src := host(r.ClientAddr)
	g := d.ev.find(src)
	if g == nil && c.th.ScanTargets > 1 {
		first, ok := d.once[src]
		if !ok {
			d.failedOnce(src, r)
			return
		}
		delete(d.once, src)
		g = d.ev.get(c, src)
		g.count(first.target, first.handshake)
		g.connections.add(&flow.Record{ID: first.id, Result: fsm.Result{First: first.first, Last: first.last}})
	}
	if g == nil {
		g = d.ev.get(c, src)
	}
	g.add(r)
	g.count(r.ServerAddr, r.Handshake)
}

// count adds a failure on target, whose handshake ended so.
func (g *portScanEvidence) count(target netip.AddrPort, handshake string) {
	g.hosts.add(target.Addr())
	g.targets.add(target)
	switch handshake {
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

// failedOnce notes src's first failure, r, making room for it.
func (d *portScan) failedOnce(src netip.AddrPort, r *flow.Record) {
	if d.once == nil {
		d.once = map[netip.AddrPort]failure{}
		d.order = make([]netip.AddrPort, 0, 1024)
	}
	slot := d.next
	if len(d.order) < maxKeys {
		d.order = append(d.order, src)
	} else {
		old := d.order[slot]
		if f, ok := d.once[old]; ok && f.slot == slot {
			delete(d.once, old)
		}
		d.order[slot] = src
	}
	d.next = (slot + 1) % maxKeys
	d.once[src] = failure{id: r.ID, slot: slot, first: r.First, last: r.Last, target: r.ServerAddr, handshake: r.Handshake}
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
	}), once: maps.Clone(d.once), order: slices.Clone(d.order), next: d.next}
}
