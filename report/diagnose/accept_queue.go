package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// AcceptQueueOverflow: a listener's accept queue was full.
const AcceptQueueOverflow = "accept_queue_overflow"

func init() {
	register(AcceptQueueOverflow, "the listener's accept queue was full: handshakes the client saw complete were never accepted (SYN/ACK resent after the ACK, or reset)",
		func() detector { return new(acceptQueue) })
}

// acceptQueue is the evidence per listener.
type acceptQueue struct {
	ev evidence[acceptQueueEvidence, *acceptQueueEvidence]
}

type acceptQueueEvidence struct {
	connections
	resentAfterAck int     // SYN/ACK resent after the client's ACK (tcp_abort_on_overflow=0)
	resetInstead   int     // RST from SYN_RCVD instead of accepting (tcp_abort_on_overflow=1)
	schedule       []int64 // the SYN/ACK times of the first resending example
}

// observe: with tcp_abort_on_overflow=0 the server (Linux tcp_check_req,
// listen_overflow) drops the final ACK and resends its SYN/ACK; one resend
// is a lost ACK, but a second, or a server still in SYN_RCVD at the end, is
// the queue. With =1 it answers with a RST from SYN_RCVD, before it ever
// sent anything else.
func (d *acceptQueue) observe(r *flow.Record, c *Collector) {
	resent := anomalyCount(r, fsm.AnomalySynAckAfterAck)
	resending := resent >= 2 || resent >= 1 && r.Server.State == fsm.SynRcvd
	reset := r.Handshake == fsm.HandshakeComplete && r.Reset && r.ResetBy == fsm.FromServer && r.ResetFrom == fsm.SynRcvd
	if !resending && !reset {
		return
	}
	g := d.ev.get(c, r.ServerAddr)
	g.add(r)
	if !resending {
		g.resetInstead++
		return
	}
	g.resentAfterAck++
	if g.schedule == nil && len(r.Server.SYNTimes) > 1 {
		g.schedule = r.Server.SYNTimes
	}
}

func (d *acceptQueue) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(AcceptQueueOverflow, out, func(ep netip.AddrPort, g *acceptQueueEvidence) (Diagnosis, bool) {
		var forms []string
		if g.resentAfterAck > 0 {
			forms = append(forms, fmt.Sprintf("%s completed the handshake (the client sent its ACK, and maybe data) yet the server sent the same SYN/ACK again and never acknowledged the client (tcp_abort_on_overflow=0)", count(g.resentAfterAck, "connection")))
		}
		if g.resetInstead > 0 {
			forms = append(forms, fmt.Sprintf("%s answered with a RST right after the client's handshake ACK or first data, from SYN_RCVD, before the server sent anything (tcp_abort_on_overflow=1): the client's application sees \"connection reset by peer\"", countVerb(g.resetInstead, "connection was", "connections were")))
		}
		text := "The listener's accept queue was full: " + strings.Join(forms, "; and ") +
			". The kernel completed these handshakes but had no room to queue them for accept(), so the client believes the connection is ESTABLISHED while the server holds it in SYN_RCVD or resets it."
		if len(g.schedule) > 1 {
			text += " " + backoff(g.schedule, "SYN/ACK", "tcp_synack_retries")
		}
		if u := detectorOf[*synUnanswered](c).ev.at[ep]; u != nil && u.n > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(u.n, "connection attempt"))
		} else if f := detectorOf[*synFlood](c).ev.at[ep]; f != nil && f.synsUnanswered > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(f.synsUnanswered, "SYN"))
		}
		return Diagnosis{Severity: Critical, Explanation: text,
			Advice: "The application does not call accept() fast enough, or its listen backlog is too small: the queue holds min(backlog, net.core.somaxconn) connections (Java's default backlog is 50, Tomcat's 100, nginx's 511). " +
				"Check with `ss -lnt` (for a LISTEN socket, Recv-Q is the queue's length and Send-Q its size) and `netstat -s | grep -i listen` (overflowed, SYNs dropped). Raise the backlog in the application and net.core.somaxconn, and look at why the accept loop stalls. " +
				"tcp_abort_on_overflow=1 turns the silent retries into resets the client sees at once."}, true
	})
}

func (d *acceptQueue) clone() detector {
	return &acceptQueue{ev: d.ev.clone(func(g *acceptQueueEvidence) {
		g.schedule = slices.Clone(g.schedule)
	})}
}
