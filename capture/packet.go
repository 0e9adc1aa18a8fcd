package capture

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// TCPFlags is the TCP flag byte plus the NS bit, as on the wire: the state
// machine's own type, so that what is decoded here is what fsm steps,
// without a conversion between two declarations of the same bits.
type TCPFlags = fsm.Flags

// The TCP flags, in wire order (RFC 9293 section 3.1, RFC 3540 for NS).
const (
	FlagFIN = fsm.FIN
	FlagSYN = fsm.SYN
	FlagRST = fsm.RST
	FlagPSH = fsm.PSH
	FlagACK = fsm.ACK
	FlagURG = fsm.URG
	FlagECE = fsm.ECE
	FlagCWR = fsm.CWR
	FlagNS  = fsm.NS
)

// Packet is one decoded TCP segment with the network-layer facts the
// analysis needs, or, with Options.ICMPErrors, an ICMP error quoting one
// (see ICMP). Readers fill a caller-owned Packet in place so the hot path
// allocates nothing; nothing in it aliases the reader's buffers.
type Packet struct {
	// Index is the 1-based position of the packet in its source, counting
	// every record (TCP or not), as tcpdump and Wireshark number frames.
	// In a Set of several files it is the packet's number within its own
	// file, as messages and traces give it.
	Index uint64
	// SetIndex is, from a Set of several files, the 1-based position of
	// the packet among those the Set delivered, across its files; 0 from a
	// single source. See CaptureIndex.
	SetIndex uint64
	// File is, from a Set of several files, the name of the file the
	// packet is in, as given; "" from a single source. With Index it finds
	// the packet again in Wireshark.
	File      string
	Timestamp time.Time

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// IPLen is the IP packet length as the IP header states it (IPv4 total
	// length, or IPv6 payload length plus 40), used for Zeek's *_ip_bytes.
	IPLen int

	Seq, Ack uint32
	Flags    TCPFlags
	Window   uint16
	// PayloadLen is the TCP payload length computed from the IP header's
	// length fields, so it is right even when the capture's snaplen cut the
	// payload off.
	PayloadLen int
	// CapturedPayload is how much of the payload the capture holds: less
	// than PayloadLen when the snaplen cut it (Truncated).
	CapturedPayload int
	// Truncated is set when the capture holds fewer bytes than the packet
	// had on the wire (snaplen). The IP header and the fixed 20-byte TCP
	// header were captured; the options may not have been (see
	// OptionsTruncated).
	Truncated bool
	// OptionsTruncated is set when the snaplen cut into the TCP options:
	// the option fields below hold those captured before the cut, and
	// those after it read as absent, so a missing MSS or window scale
	// means "not seen", not "not sent". Implies Truncated.
	OptionsTruncated bool
	// BadChecksum is set when the TCP checksum is wrong. Valid only when
	// Options.VerifyChecksums; false when the segment was not captured
	// whole (Truncated), or follows an IPv6 routing header with segments
	// left (whose final destination the checksum covers), since those
	// cannot be checked.
	BadChecksum bool

	// TCP options seen on this segment (RFC 9293 section 3.2, RFC 7323, RFC 2018).
	MSS           uint16 // 0 when absent
	WindowScale   int8   // -1 when absent
	SACKPermitted bool
	HasTimestamp  bool
	TSVal, TSEcr  uint32

	// ICMP is set (IsICMPError) when the packet is no TCP segment but an
	// ICMP or ICMPv6 error quoting one, delivered with Options.ICMPErrors.
	// Src, Dst, SrcPort, DstPort and Seq are then the quoted segment's, as
	// its sender sent it; IPLen and Truncated are the error's own; the other
	// TCP fields are zero (WindowScale -1).
	ICMP ICMPError
}

// ICMPError is an ICMP (RFC 792) or ICMPv6 (RFC 4443) error quoting a TCP
// segment: destination unreachable (except fragmentation needed, which
// only lowers the path MTU), time exceeded or parameter problem, the
// errors Linux's TCP takes as the end of a connect() in SYN_SENT.
type ICMPError struct {
	From netip.Addr // the error's sender: a router on the path, or the destination
	// Type and Code are the message's. ICMPv6 if From is IPv6.
	Type, Code uint8
}

// CaptureIndex places the packet in the whole capture: SetIndex from a set
// of several files, each of which numbers its packets from 1, else Index.
// It grows from each packet to the next, the same in every process that
// reads the capture, so the analysis orders by it what happens at one
// instant (connections opened or left at the same time) and numbers the
// connections of merged shards by it.
func (p *Packet) CaptureIndex() uint64 {
	if p.SetIndex != 0 {
		return p.SetIndex
	}
	return p.Index
}

// IsICMPError reports whether p is an ICMP error rather than a TCP segment.
func (p *Packet) IsICMPError() bool { return p.ICMP.From.IsValid() }

// String is a one-line tcpdump-like summary, for traces and error messages.
func (p *Packet) String() string {
	if p.IsICMPError() {
		return fmt.Sprintf("#%d %s: ICMP type %d code %d quoting %s > %s: seq %d",
			p.Index, p.ICMP.From, p.ICMP.Type, p.ICMP.Code,
			netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), p.Seq)
	}
	return fmt.Sprintf("#%d %s > %s: Flags [%s], seq %d, ack %d, win %d, length %d",
		p.Index, netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort),
		p.Flags, p.Seq, p.Ack, p.Window, p.PayloadLen)
}
