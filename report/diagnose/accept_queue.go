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
	// What the applications saw (fsm.App): clients whose connect()
	// returned 0 on a connection accept() never returned, and of those,
	// the ones whose recv() then got ECONNRESET.
	toldConnected, toldReset int

	// The silent form: while the accept queue is full, Linux drops new
	// SYNs without an answer (tcp_conn_request, ListenDrops), so the
	// clients retry their SYNs and nothing else shows, but that the same
	// listener answered others at the time.
	answered     int  // attempts the listener answered with a SYN/ACK
	synAckResent int  // of those, with the SYN/ACK resent
	clientOnly   int  // of those, left ESTABLISHED at the client and SYN_RCVD at the server
	held         span // from the first answered attempt until the last one the listener still held
	dropped      connections
	droppedSYNs  span // the first SYNs of the attempts dropped
}

// span is a time range of evidence.
type span struct{ from, until int64 }

func (s *span) add(from, until int64) {
	if s.from == 0 || from < s.from {
		s.from = from
	}
	s.until = max(s.until, until)
}

func (s span) overlaps(o span) bool { return s.from <= o.until && o.from <= s.until }

// conns is the connections the diagnosis names: those of the resending or
// resetting forms, or with neither, the attempts dropped.
func (g *acceptQueueEvidence) conns() *connections {
	if g.resentAfterAck+g.resetInstead == 0 {
		return &g.dropped
	}
	return &g.connections
}

// silent reports whether the listener's SYNs were dropped while it held
// connections it had answered.
func (g *acceptQueueEvidence) silent() bool {
	return g.dropped.n > 0 && g.answered > 0 && g.droppedSYNs.overlaps(g.held)
}

// observe: with tcp_abort_on_overflow=0 the server (Linux tcp_check_req,
// listen_overflow) drops the final ACK and resends its SYN/ACK; one resend
// is a lost ACK, but a second, or a server still in SYN_RCVD at the end, is
// the queue. With =1 it answers with a RST from SYN_RCVD, before it ever
// sent anything else.
func (d *acceptQueue) observe(r *flow.Record, c *Collector) {
	d.observeSilent(r, c)
	resent := anomalyCount(r, fsm.AnomalySynAckAfterAck)
	resending := resent >= 2 || resent >= 1 && r.Server.State == fsm.SynRcvd
	reset := r.Handshake == fsm.HandshakeComplete && r.Reset && r.ResetBy == fsm.FromServer && r.ResetFrom == fsm.SynRcvd
	if !resending && !reset {
		return
	}
	g := d.ev.get(c, r.ServerAddr)
	g.add(r)
	if r.App.Client.Setup == fsm.AppConnected && r.App.Server.Setup == fsm.AppNever {
		g.toldConnected++
		if r.App.Client.Recv == fsm.ECONNRESET {
			g.toldReset++
		}
	}
	if !resending {
		g.resetInstead++
		return
	}
	g.resentAfterAck++
	if g.schedule == nil && len(r.Server.SYNTimes) > 1 {
		g.schedule = r.Server.SYNTimes
	}
}

// observeSilent gathers the evidence of the silent form: the attempts the
// listener answered, and how long it held them (one still open at the
// capture's end was held until then), and those whose SYNs were retried
// without any answer.
func (d *acceptQueue) observeSilent(r *flow.Record, c *Collector) {
	switch {
	case r.Handshake == fsm.HandshakeUnanswered && r.SynRetransmits >= c.th.SynRetries:
		g := d.ev.get(c, r.ServerAddr)
		g.dropped.add(r)
		g.droppedSYNs.add(r.First, r.First)
	case r.Server.SYNACKs > 0:
		g := d.ev.get(c, r.ServerAddr)
		g.answered++
		until := r.Last
		if st := r.Server.State; st != fsm.Closed && st != fsm.TimeWait && st != fsm.Listen {
			until = r.End
		}
		g.held.add(r.First, until)
		if r.SynAckRetransmits > 0 {
			g.synAckResent++
		}
		if r.Server.State == fsm.SynRcvd && r.Client.State.Synchronized() {
			g.clientOnly++
		}
	}
}

func (d *acceptQueue) findings(c *Collector, out []Diagnosis) []Diagnosis {
	return d.ev.findings(AcceptQueueOverflow, out, func(ep netip.AddrPort, g *acceptQueueEvidence) (Diagnosis, bool) {
		if g.resentAfterAck+g.resetInstead == 0 {
			if !g.silent() {
				return Diagnosis{}, false
			}
			return silentOverflow(g), true
		}
		var forms []string
		if g.resentAfterAck > 0 {
			forms = append(forms, fmt.Sprintf("%s completed the handshake (the client sent its ACK, and maybe data) yet the server sent the same SYN/ACK again and never acknowledged the client (tcp_abort_on_overflow=0)", count(g.resentAfterAck, "connection")))
		}
		if g.resetInstead > 0 {
			forms = append(forms, fmt.Sprintf("%s answered with a RST right after the client's handshake ACK or first data, from SYN_RCVD, before the server sent anything (tcp_abort_on_overflow=1): the client's application sees \"connection reset by peer\"", countVerb(g.resetInstead, "connection was", "connections were")))
		}
		text := "The listener's accept queue was full: " + strings.Join(forms, "; and ") +
			". The kernel completed these handshakes but had no room to queue them for accept(), so the client believes the connection is ESTABLISHED while the server holds it in SYN_RCVD or resets it."
		if g.toldConnected > 0 {
			text += fmt.Sprintf(" What the applications saw: %s told connected (connect() returned 0) on a connection accept() never returned", countVerb(g.toldConnected, "client was", "clients were"))
			if g.toldReset > 0 {
				text += fmt.Sprintf("; %d of them then got ECONNRESET (104)", g.toldReset)
			}
			text += "."
		}
		if len(g.schedule) > 1 {
			text += " " + backoff(g.schedule, "SYN/ACK", "tcp_synack_retries")
		}
		if u := detectorOf[*synUnanswered](c).ev.at[ep]; u != nil && u.n > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(u.n, "connection attempt"))
		} else if f := detectorOf[*synFlood](c).ev.at[ep]; f != nil && f.synsUnanswered > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(f.synsUnanswered, "SYN"))
		}
		return Diagnosis{Severity: Critical, Explanation: text, Advice: acceptQueueAdvice}, true
	})
}

const acceptQueueAdvice = "The application does not call accept() fast enough, or its listen backlog is too small: the queue holds min(backlog, net.core.somaxconn) connections (Java's default backlog is 50, Tomcat's 100, nginx's 511). " +
	"Check with `ss -lnt` (for a LISTEN socket, Recv-Q is the queue's length and Send-Q its size) and `netstat -s | grep -i listen` (overflowed, SYNs dropped). Raise the backlog in the application and net.core.somaxconn, and look at why the accept loop stalls. " +
	"tcp_abort_on_overflow=1 turns the silent retries into resets the client sees at once."

// silentOverflow words the silent form, with the evidence that makes it
// more than a guess and what else would look the same.
func silentOverflow(g *acceptQueueEvidence) Diagnosis {
	text := fmt.Sprintf("The listener's accept queue was probably full: %s no answer at all, while the same listener had answered %s and still held them (%s to %s). "+
		"Linux drops a new SYN without a word while the accept queue is full (ListenDrops), so the clients only retry.",
		countVerb(g.dropped.n, "connection attempt retried its SYN and got", "connection attempts retried their SYNs and got"),
		count(g.answered, "other"), clock(g.held.from), clock(g.held.until))
	var more []string
	if g.clientOnly > 0 {
		more = append(more, fmt.Sprintf("%s ended ESTABLISHED at the client but SYN_RCVD at the server", countVerb(g.clientOnly, "answered connection", "answered connections")))
	}
	if g.synAckResent > 0 {
		more = append(more, fmt.Sprintf("the server resent its SYN/ACK on %s", count(g.synAckResent, "answered connection")))
	}
	if len(more) > 0 {
		text += " Also pointing to the queue: " + strings.Join(more, "; ") + "."
	} else {
		text += " A full SYN queue without SYN cookies, or a filter limiting the rate of SYNs, would look the same: `netstat -s | grep -i listen` on the server tells."
	}
	return Diagnosis{Severity: Critical, Explanation: text, Advice: acceptQueueAdvice}
}

func (d *acceptQueue) clone() detector {
	return &acceptQueue{ev: d.ev.clone(func(g *acceptQueueEvidence) {
		g.schedule = slices.Clone(g.schedule)
	})}
}
