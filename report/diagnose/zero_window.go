package diagnose

import (
	"fmt"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// ZeroWindowStall: a receiver that advertised a zero window for long.
const ZeroWindowStall = "zero_window_stall"

func init() {
	register(ZeroWindowStall, "a receiver advertised a zero window for long: its application stopped reading",
		func() detector { return new(zeroWindow) })
}

// zeroWindow is the evidence per receiver.
type zeroWindow struct {
	ev evidence[zeroWindowEvidence, *zeroWindowEvidence]
}

type zeroWindowEvidence struct {
	connections
	probes  int   // the sender's window probes
	longest int64 // the longest zero window
}

func (d *zeroWindow) observe(r *flow.Record, c *Collector) {
	sides := [2]*fsm.Side{&r.Client, &r.Server}
	addrs := [2]netip.AddrPort{r.ClientAddr, r.ServerAddr}
	for i, s := range sides {
		if s.ZeroWindowLongest < int64(c.th.ZeroWindow) {
			continue
		}
		g := d.ev.get(c, addrs[i])
		g.add(r)
		g.longest = max(g.longest, s.ZeroWindowLongest)
		g.probes += int(sides[1-i].WindowProbes)
	}
}

func (d *zeroWindow) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(ZeroWindowStall, out, func(ep netip.AddrPort, g *zeroWindowEvidence) (Diagnosis, bool) {
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s advertised a zero window for up to %s on %s; the sender probed it %s.",
				ep, dur(g.longest), count(g.n, "connection"), count(g.probes, "time")),
			Advice: "The receiving application stopped reading: its socket receive buffer (Recv-Q in `ss -tn`) filled and TCP closed the window. Look at why the reader stalls (a blocked thread, a slow consumer downstream); net.ipv4.tcp_rmem sizes the buffer but only delays the stall."}, true
	})
}

func (d *zeroWindow) clone() detector { return &zeroWindow{ev: d.ev.clone(nil)} }
