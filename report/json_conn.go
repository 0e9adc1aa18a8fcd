package report

import (
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// The conn object of the JSON report, written by hand, a byte at a time,
// with no allocation: a capture's report is mostly these lines.

// appendConnJSON appends the "conn" object of a finished connection,
// without the newline.
func appendConnJSON(b []byte, r *flow.Record) []byte {
	b = append(b, `{"type":"conn","id":`...)
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, `,"ts":`...)
	b = appendUnixTime(b, r.First)
	b = append(b, `,"end_ts":`...)
	b = appendUnixTime(b, r.Last)
	b = appendEndpoints(b, r)
	b = append(b, `,"syn_retransmits":`...)
	b = strconv.AppendInt(b, int64(r.SynRetransmits), 10)
	b = append(b, `,"synack_retransmits":`...)
	b = strconv.AppendInt(b, int64(r.SynAckRetransmits), 10)
	// The sums are uint32, and wrap as such.
	b = append(b, `,"keepalives":`...)
	b = strconv.AppendUint(b, uint64(r.Client.Keepalives+r.Server.Keepalives), 10)
	b = append(b, `,"zero_windows":`...)
	b = strconv.AppendUint(b, uint64(r.Client.ZeroWindows+r.Server.ZeroWindows), 10)
	b = append(b, `,"retransmits":`...)
	b = strconv.AppendUint(b, uint64(r.Client.Retransmits+r.Server.Retransmits), 10)
	b = appendHandshakeRTT(b, r)
	// The gaps between the client's SYNs and between the server's
	// SYN/ACKs: Linux doubles them from 1 s.
	b = append(b, `,"retry_gaps_ms":{"client":`...)
	b = appendGaps(b, r.Client.SYNTimes)
	b = append(b, `,"server":`...)
	b = appendGaps(b, r.Server.SYNTimes)
	b = append(b, `},"packets":{"client":`...)
	b = strconv.AppendUint(b, r.Client.Packets, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, r.Server.Packets, 10)
	b = append(b, `},"bytes":{"client":`...)
	b = strconv.AppendUint(b, r.Client.Bytes, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, r.Server.Bytes, 10)
	b = append(b, '}')
	b = appendReset(b, r)
	b = appendUnreachable(b, r)
	b = appendHalfOpenDrops(b, r)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, r.Reason.String())
	b = append(b, `,"conn_state":`...)
	b = appendJSONString(b, r.Zeek.State)
	b = append(b, `,"history":`...)
	b = appendJSONString(b, r.Zeek.History)
	b = append(b, `,"labels":[`...)
	for i, l := range r.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, l)
	}
	b = append(b, `],"anomalies":[`...)
	for i := range r.Anomalies {
		a := &r.Anomalies[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, a.Name)
		b = append(b, `,"ts":`...)
		b = appendUnixTime(b, a.Time)
		b = append(b, `,"from":`...)
		b = appendJSONString(b, a.Dir.String())
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, a.Detail)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(a.Count), 10)
		b = append(b, '}')
	}
	b = append(b, `],"app":{"client":`...)
	b = appendAppSide(b, &r.App.Client)
	b = append(b, `,"server":`...)
	b = appendAppSide(b, &r.App.Server)
	return append(b, "}}"...)
}

// appendAppSide appends what one side's application saw: each call's
// outcome under the call's name, then the errno of its error, the time of
// the packet that decided the setup call's outcome and that of the one
// that decided its last outcome, and why, where there is one.
func appendAppSide(b []byte, s *fsm.AppSide) []byte {
	b = append(b, '{')
	sep := func(b []byte) []byte {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		return b
	}
	for _, o := range [3][2]string{{s.Call, s.Setup}, {fsm.CallRecv, s.Recv}, {fsm.CallSend, s.Send}} {
		if o[0] != "" && o[1] != "" {
			b = appendJSONString(sep(b), o[0])
			b = append(b, ':')
			b = appendJSONString(b, o[1])
		}
	}
	if s.Errno != 0 {
		b = append(sep(b), `"errno":`...)
		b = strconv.AppendInt(b, int64(s.Errno), 10)
	}
	if s.SetupAt != 0 {
		b = append(sep(b), `"setup_ts":`...)
		b = appendUnixTime(b, s.SetupAt)
	}
	if ts := s.Time(); ts != 0 {
		b = append(sep(b), `"ts":`...)
		b = appendUnixTime(b, ts)
	}
	if s.Why != "" {
		b = append(sep(b), `"why":`...)
		b = appendJSONString(b, s.Why)
	}
	return append(b, '}')
}

// appendEventJSON appends the "event" object of the stream: what happened
// to r at ts, caused by a segment from the side from. No newline.
func appendEventJSON(b []byte, ts int64, what string, from fsm.Dir, r *flow.Record) []byte {
	b = append(b, `{"type":"event","ts":`...)
	b = appendUnixTime(b, ts)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, what)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, from.String())
	b = appendEndpoints(b, r)
	b = appendHandshakeRTT(b, r)
	b = append(b, `,"handshake_retransmits":{"client":`...)
	b = strconv.AppendInt(b, int64(r.SynRetransmits), 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendInt(b, int64(r.SynAckRetransmits), 10)
	b = append(b, '}')
	b = appendReset(b, r)
	return append(b, '}')
}

// appendEndpoints appends the keys "client" to "server_state", which the
// "conn" and "event" objects share.
func appendEndpoints(b []byte, r *flow.Record) []byte {
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, r.ClientAddr)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, r.ServerAddr)
	b = append(b, `,"handshake":`...)
	b = appendJSONString(b, r.Handshake)
	b = append(b, `,"close":`...)
	b = appendJSONString(b, r.Close)
	b = append(b, `,"client_state":`...)
	b = appendJSONString(b, r.Client.State.String())
	b = append(b, `,"server_state":`...)
	return appendJSONString(b, r.Server.State.String())
}

// appendHandshakeRTT appends "handshake_rtt_ms": SYN → SYN/ACK as the
// client's and SYN/ACK → ACK as the server's, null when not measured.
func appendHandshakeRTT(b []byte, r *flow.Record) []byte {
	b = append(b, `,"handshake_rtt_ms":{"client":`...)
	b = appendRTT(b, r.RTTClient)
	b = append(b, `,"server":`...)
	b = appendRTT(b, r.RTTServer)
	return append(b, '}')
}

func appendRTT(b []byte, ns int64) []byte {
	if ns < 0 {
		return append(b, "null"...)
	}
	return appendMsec(b, ns)
}

// appendGaps appends the gaps between successive times, as gaps lists
// them, in milliseconds.
func appendGaps(b []byte, times []int64) []byte {
	b = append(b, '[')
	for i := 1; i < len(times); i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = appendMsec(b, times[i]-times[i-1])
	}
	return append(b, ']')
}

// appendReset appends the "reset" key of a reset connection, and nothing
// for any other: which side reset, its state when it sent the RST, and the
// other side's state when it arrived.
func appendReset(b []byte, r *flow.Record) []byte {
	if !r.Reset {
		return b
	}
	b = append(b, `,"reset":{"by":`...)
	b = appendJSONString(b, r.ResetBy.String())
	b = append(b, `,"state":`...)
	b = appendJSONString(b, r.ResetFrom.String())
	b = append(b, `,"peer_state":`...)
	b = appendJSONString(b, r.ResetPeerState.String())
	return append(b, '}')
}

// appendUnreachable appends "icmp", the ICMP or ICMPv6 error that ended
// the client's connect(), for a handshake that is unreachable.
func appendUnreachable(b []byte, r *flow.Record) []byte {
	m := &r.Unreachable
	if m.Time == 0 {
		return b
	}
	b = append(b, `,"icmp":{`...)
	return appendICMPError(b, m)
}

// appendHalfOpenDrops appends "synack_icmp", for a connection whose
// server Linux dropped in SYN_RCVD on ICMP errors quoting its SYN/ACK:
// how many times, and the latest error.
func appendHalfOpenDrops(b []byte, r *flow.Record) []byte {
	if r.HalfOpenDropped == 0 {
		return b
	}
	b = append(b, `,"synack_icmp":{"dropped":`...)
	b = strconv.AppendInt(b, int64(r.HalfOpenDropped), 10)
	b = append(b, ',')
	return appendICMPError(b, &r.HalfOpenDrop)
}

// appendICMPError appends the members of an ICMP error's object and
// closes it.
func appendICMPError(b []byte, m *fsm.ICMPError) []byte {
	b = append(b, `"ts":`...)
	b = appendUnixTime(b, m.Time)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, m.From.String())
	b = append(b, `,"type":`...)
	b = strconv.AppendUint(b, uint64(m.Type), 10)
	b = append(b, `,"code":`...)
	b = strconv.AppendUint(b, uint64(m.Code), 10)
	b = append(b, `,"what":`...)
	b = appendJSONString(b, m.What())
	return append(b, '}')
}

// appendAddrPort appends an address and port as a JSON string, as
// AddrPort.String spells it.
func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	if !a.Addr().IsValid() || a.Addr().Zone() != "" {
		// AppendTo writes nothing for the zero address where String says
		// "invalid AddrPort", and a zone may hold anything.
		return appendJSONString(b, a.String())
	}
	b = append(b, '"')
	b = a.AppendTo(b) // digits, hex, '.', ':' and brackets: nothing to escape
	return append(b, '"')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it with SetEscapeHTML(false): '"' and '\\' escaped by a backslash,
// the control characters as \b, \f, \n, \r, \t or \u00XX, U+2028 and
// U+2029 as \u2028 and \u2029, each byte of invalid UTF-8 as \ufffd, and
// the rest, '<', '>', '&' and DEL included, as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
