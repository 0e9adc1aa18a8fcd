package fsm

import "strings"

// Kind classifies one segment against the sequence space of its direction,
// the way Wireshark's TCP analysis does. A segment can be several kinds at
// once (new data that also advertises a zero window).
type Kind uint16

// Segment kinds.
const (
	KindNewData            Kind = 1 << iota // carries sequence space not seen before, in order
	KindRetransmission                      // sequence space already seen
	KindOutOfOrder                          // fills a gap left by an earlier segment
	KindGap                                 // starts after the next expected sequence number: a segment before it was not captured
	KindKeepAlive                           // seq = next-1, length 0 or 1, while the peer's window is open
	KindKeepAliveAck                        // a bare ACK answering a keepalive
	KindZeroWindowProbeAck                  // a bare ACK answering a zero-window probe
	KindZeroWindowProbe                     // a keepalive-shaped or one-byte probe while the peer's window is 0
	KindZeroWindow                          // advertises a window of 0
	KindWindowUpdate                        // no data, same ACK, different window
	KindDupAck                              // no data, same ACK and window, while the peer has data outstanding
	KindAckUnseen                           // acknowledges data that was never seen
	KindSynRetransmission                   // SYN or SYN/ACK sent again with the same ISN
	KindReset                               // RST
	numKinds
)

var kindNames = [...]string{
	"new_data", "retransmission", "out_of_order", "gap", "keepalive", "keepalive_ack", "zero_window_probe_ack",
	"zero_window_probe", "zero_window", "window_update", "dup_ack", "ack_unseen",
	"syn_retransmission", "reset",
}

// String lists the kinds, comma separated ("new_data,zero_window"), or
// "none" for a segment that is nothing but an in-order acknowledgement.
func (k Kind) String() string { return bitNames(uint64(k), kindNames[:]) }

// bitNames lists the names of the bits set in v, comma-separated, or
// "none".
func bitNames(v uint64, names []string) string {
	if v == 0 {
		return "none"
	}
	var b strings.Builder
	for i, name := range names {
		if v&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(name)
		}
	}
	return b.String()
}
