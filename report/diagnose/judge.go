package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// judge decides whether the evidence for k holds a diagnosis and words it.
func (c *Collector) judge(k key, g *agg) (Diagnosis, bool) {
	th := c.th
	switch k.name {
	case AcceptQueueOverflow:
		var forms []string
		if g.a > 0 {
			forms = append(forms, fmt.Sprintf("%s completed the handshake (the client sent its ACK, and maybe data) yet the server sent the same SYN/ACK again and never acknowledged the client (tcp_abort_on_overflow=0)", count(g.a, "connection")))
		}
		if g.b > 0 {
			forms = append(forms, fmt.Sprintf("%s answered with a RST right after the client's handshake ACK or first data, from SYN_RCVD, before the server sent anything (tcp_abort_on_overflow=1): the client's application sees \"connection reset by peer\"", countVerb(g.b, "connection was", "connections were")))
		}
		text := "The listener's accept queue was full: " + strings.Join(forms, "; and ") +
			". The kernel completed these handshakes but had no room to queue them for accept(), so the client believes the connection is ESTABLISHED while the server holds it in SYN_RCVD or resets it."
		if len(g.times) > 1 {
			text += " " + backoff(g.times, "SYN/ACK", "tcp_synack_retries")
		}
		if u := c.aggs[key{SynUnanswered, k.ep}]; u != nil && u.n > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(u.n, "connection attempt"))
		} else if f := c.aggs[key{SynFlood, k.ep}]; f != nil && f.sum > 0 {
			text += fmt.Sprintf(" Meanwhile %s to the same listener went unanswered: Linux drops new SYNs while the accept queue is full.", count(int(f.sum), "SYN"))
		}
		return Diagnosis{Severity: Critical, Explanation: text,
			Advice: "The application does not call accept() fast enough, or its listen backlog is too small: the queue holds min(backlog, net.core.somaxconn) connections (Java's default backlog is 50, Tomcat's 100, nginx's 511). " +
				"Check with `ss -lnt` (for a LISTEN socket, Recv-Q is the queue's length and Send-Q its size) and `netstat -s | grep -i listen` (overflowed, SYNs dropped). Raise the backlog in the application and net.core.somaxconn, and look at why the accept loop stalls. " +
				"tcp_abort_on_overflow=1 turns the silent retries into resets the client sees at once."}, true

	case SynFlood:
		sources := g.sources.len()
		if g.n < th.SynFloodHalfOpen || sources < th.SynFloodSources {
			return Diagnosis{}, false
		}
		more := ""
		if g.sources.full {
			more = " or more"
		}
		text := fmt.Sprintf("%s from %d%s source addresses never completed the handshake: %d SYN/ACKs were never acknowledged and %d SYNs got no answer at all. ",
			count(g.n, "connection attempt"), sources, more, g.a, g.sum)
		switch {
		case g.b > 0:
			text += fmt.Sprintf("%d SYN/ACKs have the shape of SYN cookies (the client offered window scaling or SACK, the SYN/ACK granted neither, and it was never resent): the SYN queue overflowed and the kernel answered with cookies instead of keeping state.", g.b)
		case g.c > 0:
			text += fmt.Sprintf("The server resent its SYN/ACKs %s (tcp_synack_retries): it kept those half-open connections in SYN_RCVD, which a SYN cookie never is", count(g.c, "time"))
			if g.sum > 0 {
				text += ", and once its SYN queue was full it dropped the SYNs that followed: no SYN cookies were in use"
			}
			text += "."
			if len(g.times) > 1 {
				text += " " + backoff(g.times, "SYN/ACK", "tcp_synack_retries")
			}
		default:
			text += "No SYN/ACK was resent and none has the options-dropped shape of a SYN cookie (a cookie answering a SYN with timestamps keeps its options, so that shape cannot rule cookies out)."
		}
		return Diagnosis{Severity: Critical, Explanation: text,
			Advice: "A SYN flood (often from spoofed addresses) or a crowd of clients that cannot complete the handshake. Keep net.ipv4.tcp_syncookies=1 (the default) so the SYN queue cannot be exhausted; size net.ipv4.tcp_max_syn_backlog; lower net.ipv4.tcp_synack_retries to free half-open slots sooner; filter the sources upstream. `netstat -s | grep -i -e SYN -e cookies` counts cookies sent and SYNs dropped."}, true

	case CloseWaitLeak:
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s never closed after the peer's FIN was acknowledged: %s left in CLOSE_WAIT, the longest for %s by the end of the capture.",
				k.ep, count(g.n, "connection"), dur(g.longest)),
			Advice: "The application behind this endpoint never calls close() on sockets whose peer has finished: a descriptor leak. CLOSE_WAIT never times out in the kernel; the sockets pile up until the process runs out of descriptors. Find them with `ss -tanp state close-wait` and fix the code path that forgets to close (error paths, unread responses, connection pools that do not evict closed connections)."}, true

	case TimeWaitPileup:
		if g.timeWaits.peak < th.TimeWaits {
			return Diagnosis{}, false
		}
		text := fmt.Sprintf("%s closed %s it had opened actively (its FIN came first), so it held each local port in TIME_WAIT for 60 s: up to %d at once, and %d at the end of the capture.",
			k.ep.Addr().Unmap(), count(g.a, "connection"), g.timeWaits.peak, g.timeWaits.runningAt(c.end))
		if g.sum > 0 {
			text += fmt.Sprintf(" It also closed %s first as a server.", count(int(g.sum), "connection"))
		}
		if g.c > 0 {
			text += fmt.Sprintf(" %s reused a 5-tuple of an earlier connection: ephemeral ports are being recycled.", count(g.c, "connection"))
		}
		return Diagnosis{Severity: Warning, Explanation: text,
			Advice: "Each actively closed connection keeps its 4-tuple in TIME_WAIT for 60 s; with many short connections to one server the ephemeral port range (net.ipv4.ip_local_port_range) runs out (\"Cannot assign requested address\"). Reuse connections (keep-alive, pooling), let the server close instead, or set net.ipv4.tcp_tw_reuse=1 for outgoing connections. Do not use tcp_tw_recycle: it broke clients behind NAT and was removed in Linux 4.12."}, true

	case HalfOpenPeer:
		ending := "and then fell silent"
		if g.a > 0 {
			ending = fmt.Sprintf("and %d ended with the survivor's RST", g.a)
		}
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s stopped answering: on %s the other side kept retransmitting or probing with no reply, for up to %s, %s.",
				k.ep, count(g.n, "connection"), dur(g.longest), ending),
			Advice: "The peer crashed, lost power or its path broke without a FIN or RST: the connection is half open. Data retransmissions give up after net.ipv4.tcp_retries2 (15: about 15 minutes); an idle connection notices only with keepalive (SO_KEEPALIVE, net.ipv4.tcp_keepalive_time/intvl/probes) or TCP_USER_TIMEOUT. Until then the survivor's socket looks ESTABLISHED."}, true

	case SynUnanswered:
		return Diagnosis{Severity: Notice,
			Explanation: fmt.Sprintf("%s to %s got no answer at all, %d SYNs in all (the longest attempt lasted %s). %s",
				count(g.n, "connection attempt"), k.ep, g.a, dur(g.longest), backoff(g.times, "SYN", "tcp_syn_retries")),
			Advice: "The host is down, a firewall drops the SYNs, or the listener's queues are full (see accept_queue_overflow). Linux retries a SYN net.ipv4.tcp_syn_retries times (6: about 127 s), doubling the wait from 1 s; tcpfsm shows the schedule per connection."}, true

	case PortScan:
		if g.targets.len() < th.ScanTargets {
			return Diagnosis{}, false
		}
		return Diagnosis{Severity: Notice,
			Explanation: fmt.Sprintf("%s tried %d ports on %s: %d refused, %d unanswered, %d answered and then aborted by the source before the handshake completed (a SYN scan's signature).",
				k.ep.Addr().Unmap(), g.targets.len(), count(g.sources.len(), "host"), g.a, g.b, g.c),
			Advice: "One source touching many ports or hosts with SYNs that fail is a port scan, or a worm looking for victims. Check whether it is an authorised scanner; otherwise block it, and see which of its probes found open ports."}, true

	case ZeroWindowStall:
		return Diagnosis{Severity: Warning,
			Explanation: fmt.Sprintf("%s advertised a zero window for up to %s on %s; the sender probed it %s.",
				k.ep, dur(g.longest), count(g.n, "connection"), count(g.a, "time")),
			Advice: "The receiving application stopped reading: its socket receive buffer (Recv-Q in `ss -tn`) filled and TCP closed the window. Look at why the reader stalls (a blocked thread, a slow consumer downstream); net.ipv4.tcp_rmem sizes the buffer but only delays the stall."}, true

	case Keepalive:
		sev := Info
		text := fmt.Sprintf("%s to %s sent keepalive probes (%d in all)", count(g.n, "connection"), k.ep, g.a)
		if g.c > 0 {
			text += fmt.Sprintf(", every %s on average", dur(g.sum/int64(g.c)))
		}
		if g.b > 0 {
			sev = Warning
			text += fmt.Sprintf("; %d went unanswered: the peer is gone or the path drops them", g.b)
		} else {
			text += "; all were answered"
		}
		return Diagnosis{Severity: sev, Explanation: text + ".",
			Advice: "Keepalive probes an idle connection to find a dead peer: Linux waits net.ipv4.tcp_keepalive_time (7200 s) of idleness, then probes every tcp_keepalive_intvl (75 s), and resets after tcp_keepalive_probes (9) unanswered ones; applications override them per socket (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)."}, true
	}
	return Diagnosis{}, false
}

// backoff reads a SYN (or SYN/ACK) schedule: Linux doubles the wait from
// 1 s, so the number of doubling gaps is the number of retries knob
// (tcp_syn_retries, tcp_synack_retries) allowed so far.
func backoff(times []int64, what, knob string) string {
	if len(times) < 2 {
		return ""
	}
	gaps := make([]string, 0, len(times)-1)
	doubling := true
	for i := 1; i < len(times); i++ {
		gap := times[i] - times[i-1]
		gaps = append(gaps, dur(gap))
		if i > 1 {
			prev := times[i-1] - times[i-2]
			if gap < prev*3/2 || gap > prev*5/2 {
				doubling = false
			}
		}
	}
	text := fmt.Sprintf("The first %s was resent after %s", what, strings.Join(gaps, ", "))
	if doubling && len(gaps) > 1 {
		return text + fmt.Sprintf(": exponential backoff, as Linux resends a %s, so %s allowed at least %d retries.", what, knob, len(gaps))
	}
	return text + "."
}

// countVerb is count with the verb agreeing: countVerb(n, "connection
// was", "connections were").
func countVerb(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func dur(ns int64) string {
	return time.Duration(ns).Round(time.Millisecond).String()
}
