package diagnose

import (
	"fmt"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// CloseWaitLeak: an endpoint that never closed after its peer's FIN.
const CloseWaitLeak = "close_wait_leak"

func init() {
	register(CloseWaitLeak, "an endpoint still in CLOSE_WAIT long after the peer's FIN: the application never calls close()",
		func() detector { return new(closeWait) })
}

// closeWait is the evidence per endpoint left in CLOSE_WAIT.
type closeWait struct {
	ev evidence[closeWaitEvidence, *closeWaitEvidence]
}

type closeWaitEvidence struct {
	connections
	longest int64 // the longest wait, by the end of the capture
}

func (d *closeWait) observe(r *flow.Record, c *Collector) {
	for _, s := range [2]struct {
		side *fsm.Side
		ep   netip.AddrPort
	}{{&r.Client, r.ClientAddr}, {&r.Server, r.ServerAddr}} {
		if s.side.State == fsm.CloseWait && s.side.CloseWaitAt != 0 && r.End-s.side.CloseWaitAt >= int64(c.th.CloseWait) {
			g := d.ev.get(c, s.ep)
			g.add(r)
			g.longest = max(g.longest, r.End-s.side.CloseWaitAt)
		}
	}
}

func (d *closeWait) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(CloseWaitLeak, out, func(ep netip.AddrPort, g *closeWaitEvidence) (Diagnosis, bool) {
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s never closed after the peer's FIN was acknowledged: %s left in CLOSE_WAIT, the longest for %s by the end of the capture.",
				ep, count(g.n, "connection"), dur(g.longest)),
			Advice: "The application behind this endpoint never calls close() on sockets whose peer has finished: a descriptor leak. CLOSE_WAIT never times out in the kernel; the sockets pile up until the process runs out of descriptors. Find them with `ss -tanp state close-wait` and fix the code path that forgets to close (error paths, unread responses, connection pools that do not evict closed connections)."}, true
	})
}

func (d *closeWait) clone() detector { return &closeWait{ev: d.ev.clone(nil)} }
