package diagnose

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// SynFlood: many half-open connection attempts on one listener, from many
// sources.
const SynFlood = "syn_flood"

func init() {
	register(SynFlood, "many connection attempts on one listener never completed (SYN/ACK unacknowledged or SYN unanswered) from many sources; whether SYN cookies answered",
		func() detector { return new(synFlood) })
}

// synFlood is the evidence per listener: its connection attempts that
// never completed.
type synFlood struct {
	ev evidence[synFloodEvidence, *synFloodEvidence]
}

type synFloodEvidence struct {
	connections
	sources        set[netip.Addr]
	synAcksAlone   int     // SYN/ACKs never acknowledged (the connections left half open)
	cookieShaped   int     // of those, shaped like a SYN cookie and never resent
	synAckResends  int     // SYN/ACK retransmissions of the half-open connections
	synsUnanswered int     // attempts whose SYN got no answer at all
	synAckSchedule []int64 // the SYN/ACK times of the first resending example
	// icmpDropped: half-open connections Linux dropped on ICMP errors
	// quoting their SYN/ACK (Result.HalfOpenDropped), the latest error
	// in icmpDrop.
	icmpDropped int
	icmpDrop    fsm.ICMPError
}

func (d *synFlood) observe(r *flow.Record, c *Collector) {
	if r.Handshake != fsm.HandshakeSynAckUnanswered && r.Handshake != fsm.HandshakeUnanswered {
		return
	}
	g := d.ev.get(c, r.ServerAddr)
	g.add(r)
	g.sources.add(r.ClientAddr.Addr())
	if r.Handshake == fsm.HandshakeUnanswered {
		g.synsUnanswered++
		return
	}
	g.synAcksAlone++
	g.synAckResends += r.SynAckRetransmits
	if r.HalfOpenDropped > 0 {
		g.icmpDropped += r.HalfOpenDropped
		g.icmpDrop = r.HalfOpenDrop
	}
	if g.synAckSchedule == nil && len(r.Server.SYNTimes) > 1 {
		g.synAckSchedule = r.Server.SYNTimes
	}
	if r.SynAckOptionsReduced && r.SynAckRetransmits == 0 {
		g.cookieShaped++
	}
}

func (d *synFlood) findings(c *Collector, out []Diagnosis) []Diagnosis {
	th := c.th
	return d.ev.findings(SynFlood, out, func(ep netip.AddrPort, g *synFloodEvidence) (Diagnosis, bool) {
		sources := g.sources.len()
		if g.n < th.SynFloodHalfOpen || sources < th.SynFloodSources {
			return Diagnosis{}, false
		}
		more := ""
		if g.sources.full {
			more = " or more"
		}
		text := fmt.Sprintf("%s from %d%s source addresses never completed the handshake: %d SYN/ACKs were never acknowledged and %d SYNs got no answer at all. ",
			count(g.n, "connection attempt"), sources, more, g.synAcksAlone, g.synsUnanswered)
		switch {
		case g.cookieShaped > 0:
			text += fmt.Sprintf("%d SYN/ACKs have the shape of SYN cookies (the client offered window scaling or SACK, the SYN/ACK granted neither, and it was never resent): the SYN queue overflowed and the kernel answered with cookies instead of keeping state.", g.cookieShaped)
		case g.synAckResends > 0:
			text += fmt.Sprintf("The server resent its SYN/ACKs %s (tcp_synack_retries): it kept those half-open connections in SYN_RCVD, which a SYN cookie never is", count(g.synAckResends, "time"))
			if g.synsUnanswered > 0 {
				text += ", and once its SYN queue was full it dropped the SYNs that followed: no SYN cookies were in use"
			}
			text += "."
			if len(g.synAckSchedule) > 1 {
				text += " " + backoff(g.synAckSchedule, "SYN/ACK", "tcp_synack_retries")
			}
		default:
			text += "No SYN/ACK was resent and none has the options-dropped shape of a SYN cookie (a cookie answering a SYN with timestamps keeps its options, so that shape cannot rule cookies out)."
		}
		if g.icmpDropped > 0 {
			text += fmt.Sprintf(" ICMP errors answered SYN/ACKs, and the server dropped %s on them (the latest an %s from %s): the addresses the SYNs came from could not be reached, as spoofed ones cannot.",
				count(g.icmpDropped, "half-open connection"), g.icmpDrop.What(), g.icmpDrop.From.Unmap())
		}
		return Diagnosis{Severity: Critical, Explanation: text,
			Advice: "A SYN flood (often from spoofed addresses) or a crowd of clients that cannot complete the handshake. Keep net.ipv4.tcp_syncookies=1 (the default) so the SYN queue cannot be exhausted; size net.ipv4.tcp_max_syn_backlog; lower net.ipv4.tcp_synack_retries to free half-open slots sooner; filter the sources upstream. `netstat -s | grep -i -e SYN -e cookies` counts cookies sent and SYNs dropped."}, true
	})
}

func (d *synFlood) clone() detector {
	return &synFlood{ev: d.ev.clone(func(g *synFloodEvidence) {
		g.sources = g.sources.clone()
		g.synAckSchedule = slices.Clone(g.synAckSchedule)
	})}
}
