package report

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// The words and numbers of the text report: times, durations, sizes,
// retry schedules, and how a line begins (Stamps).

// rttText is the handshake's round-trip times, " (rtt SYN→SYN/ACK …, SYN/ACK→ACK …)",
// or "" when neither was measured.
func rttText(r *flow.Record) string { return string(appendRTTText(nil, r)) }

func appendRTTText(b []byte, r *flow.Record) []byte {
	if r.RTTClient < 0 && r.RTTServer < 0 {
		return b
	}
	b = append(b, " (rtt SYN→SYN/ACK "...)
	b = appendMs(b, r.RTTClient)
	b = append(b, ", SYN/ACK→ACK "...)
	b = appendMs(b, r.RTTServer)
	return append(b, ')')
}

// resetText says who reset in which state: " (client in ESTABLISHED, server in ESTABLISHED)".
func resetText(r *flow.Record) string {
	return fmt.Sprintf(" (%s in %s, %s in %s)", r.ResetBy, r.ResetFrom, fsm.Dir(1-r.ResetBy), r.ResetPeerState)
}

// halfOpenDropText says what dropped the server's half-open connections:
// " dropped by the server on ICMP host unreachable (type 3, code 1) from
// 10.0.0.254".
func halfOpenDropText(r *flow.Record) string {
	if r.HalfOpenDropped == 0 {
		return ""
	}
	return fmt.Sprintf(" dropped by the server on %s from %s", r.HalfOpenDrop.What(), r.HalfOpenDrop.From)
}

// unreachableText names the ICMP error that ended the client's connect()
// and its sender: " (ICMP net unreachable (type 3, code 0) from 10.0.0.254)".
func unreachableText(r *flow.Record) string {
	return fmt.Sprintf(" (%s from %s)", r.Unreachable.What(), r.Unreachable.From)
}

// synRetries and synAckRetries say how often the handshake was resent, in
// the words of the connection report: "2 SYN retransmitted (after 1.0s,
// 2.0s)".
func synRetries(r *flow.Record) string {
	return fmt.Sprintf("%d SYN retransmitted%s", r.SynRetransmits, schedule(r.Client.SYNTimes))
}

func synAckRetries(r *flow.Record) string {
	return fmt.Sprintf("%d SYN/ACK retransmitted%s", r.SynAckRetransmits, schedule(r.Server.SYNTimes))
}

// retries is the retransmissions of an unanswered handshake, and how many
// there were: the server's SYN/ACKs if it answered and resent them, else
// the client's SYNs.
func retries(r *flow.Record) (int, string) {
	if r.SynAckRetransmits > 0 && r.Handshake != fsm.HandshakeUnanswered {
		return r.SynAckRetransmits, synAckRetries(r)
	}
	return r.SynRetransmits, synRetries(r)
}

// wrap writes text in lines of at most 80 columns, each after indent.
func wrap(w *bufio.Writer, text, indent string) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > 80 {
			w.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	w.WriteString(line + "\n")
}

// schedule spells the gaps between retransmissions, which show the backoff:
// " (after 1.0s, 2.0s, 4.0s)".
func schedule(times []int64) string {
	gs := gaps(times)
	if len(gs) == 0 {
		return ""
	}
	words := make([]string, len(gs))
	for i, g := range gs {
		words[i] = fmt.Sprintf("%.1fs", float64(g)/1e9)
	}
	return " (after " + strings.Join(words, ", ") + ")"
}

func countList(cs []count, paint func(string) string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", paint(c.Name), c.Value)
	}
	return strings.Join(parts, ", ")
}

func reasonText(r flow.Reason) string {
	switch r {
	case flow.ReasonIdle:
		return "expired: idle"
	case flow.ReasonEvicted:
		return "evicted: table full"
	case flow.ReasonReused:
		return "5-tuple reused after it"
	}
	return r.String()
}

// clock prints a packet time as tcpdump does, in UTC so output is the same
// on every machine.
func clock(ns int64) string { return string(appendClock(nil, ns)) }

func appendClock(b []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(b, "15:04:05.000000")
}

func seconds(ns int64) string { return string(appendSeconds(nil, ns)) }

// appendSeconds appends ns as seconds with six decimals, as "%.6fs" prints it.
func appendSeconds(b []byte, ns int64) []byte {
	return append(strconv.AppendFloat(b, float64(ns)/1e9, 'f', 6, 64), 's')
}

func ms(ns int64) string { return string(appendMs(nil, ns)) }

// appendMs appends ns as milliseconds with three decimals ("%.3fms"), or
// "-" for a negative (unmeasured) time.
func appendMs(b []byte, ns int64) []byte {
	if ns < 0 {
		return append(b, '-')
	}
	return append(strconv.AppendFloat(b, float64(ns)/1e6, 'f', 3, 64), "ms"...)
}

func byteSize(n uint64) string { return string(appendByteSize(nil, n)) }

func appendByteSize(b []byte, n uint64) []byte {
	switch {
	case n < 10_000:
		return append(strconv.AppendUint(b, n, 10), " B"...)
	case n < 10_000_000:
		return append(strconv.AppendFloat(b, float64(n)/1e3, 'f', 1, 64), " kB"...)
	default:
		return append(strconv.AppendFloat(b, float64(n)/1e6, 'f', 1, 64), " MB"...)
	}
}

// Stamps says how the lines of the per-packet trace (-v) and of the event
// stream begin, as tcpdump's -t options do.
type Stamps uint8

// Stamps, by the number of -t given.
const (
	StampsClock      Stamps = iota // 15:04:05.000000, UTC (no -t)
	StampsNone                     // -t: no time
	StampsUnix                     // -tt: seconds since 1970
	StampsDelta                    // -ttt: since the previous line
	StampsDate                     // -tttt: the date too, UTC
	StampsSinceFirst               // -ttttt: since the first line
)
