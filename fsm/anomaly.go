package fsm

// Anomaly names. Each is recorded once per connection with the time and
// detail of its first occurrence and a count, so a storm of bad segments
// costs a counter, not memory.
const (
	// AnomalySynAckISNChanged: a second SYN/ACK for the same SYN with another
	// sequence number: a middlebox, a load balancer, or a port reused too
	// quickly (Zeek's SYN_seq_jump, Suricata's 3whs_synack_resend_with_diff_seq).
	AnomalySynAckISNChanged = "synack_isn_changed"
	// AnomalySynISNChanged: the same side sent a SYN with a new ISN while the
	// connection was still live (Wireshark's tcp.analysis.reused_ports).
	AnomalySynISNChanged = "syn_isn_changed"
	// AnomalySynAckAfterAck: the server sent its SYN/ACK again after the
	// client had acknowledged it, so the server never took the final ACK:
	// lost, or dropped because the listener's accept queue was full
	// (Linux tcp_check_req, listen_overflow with tcp_abort_on_overflow=0).
	AnomalySynAckAfterAck = "synack_after_ack"
	// AnomalyRSTOutOfWindow: a RST whose sequence number is outside the
	// receiver's window; a receiver ignores it (RFC 9293 section 3.10.7.4,
	// RFC 5961 section 3), so the states do not change.
	AnomalyRSTOutOfWindow = "rst_out_of_window"
	// AnomalyDataBeforeHandshake: payload from a side that had not finished
	// its handshake (not counting data on the SYN itself).
	AnomalyDataBeforeHandshake = "data_before_handshake"
	// AnomalyDataAfterFIN: sequence space beyond the sender's own FIN.
	AnomalyDataAfterFIN = "data_after_fin"
	// AnomalySegmentAfterReset: a segment other than a RST after the
	// connection was reset.
	AnomalySegmentAfterReset = "segment_after_reset"
	// AnomalyInvalidFlags: a flag combination no TCP sends: SYN with FIN or
	// RST, no flags at all, or FIN without ACK.
	AnomalyInvalidFlags = "invalid_flags"
	// AnomalyAckUnseen: an acknowledgement of data the capture never showed
	// (Wireshark's "ACKed segment that wasn't captured").
	AnomalyAckUnseen = "ack_unseen"
	// AnomalySegmentNotCaptured: a segment starts after the next expected
	// sequence number: the capture missed the one before it (Wireshark's
	// "previous segment not captured").
	AnomalySegmentNotCaptured = "segment_not_captured"
	// AnomalyBadChecksum: a segment whose TCP checksum is wrong (only
	// checked on request). The receiver drops it, so it changes no state.
	AnomalyBadChecksum = "bad_checksum"
	// AnomalyRSTInWindow: a RST inside the receiver's window but not at its
	// RCV.NXT. Every stack since about 2012 answers it with a challenge ACK
	// and goes on (RFC 5961 section 3.2): a forged or stale RST, not an
	// abort. The detail gives its offset from RCV.NXT.
	AnomalyRSTInWindow = "rst_in_window"
	// AnomalySYNOnSynchronized: a SYN reaching a side in a synchronized
	// state. It is answered with a challenge ACK and changes nothing (RFC
	// 5961 section 4): a forged SYN, or a peer that restarted and reuses
	// the 5-tuple (the challenge ACK then draws its RST).
	AnomalySYNOnSynchronized = "syn_on_synchronized"
	// AnomalyRSTWithoutACK: a RST without the ACK bit reaching a side in
	// SYN_SENT, which drops it (RFC 9293 section 3.10.7.3): the connection
	// is not refused.
	AnomalyRSTWithoutACK = "rst_without_ack"
	// AnomalyACKUnacceptable: a segment reaching a side in SYN_SENT whose
	// ACK does not acknowledge its SYN (a stray ACK of an old connection, a
	// middlebox): dropped and answered with a RST, the side stays in
	// SYN_SENT and its handshake goes on (RFC 9293 section 3.10.7.3).
	AnomalyACKUnacceptable = "ack_unacceptable"
	// AnomalyRSTNotAccepted: a RST taken on trust, its receiver's RCV.NXT
	// not being known, after which the receiver went on sending: it had
	// not acted on the RST.
	AnomalyRSTNotAccepted = "rst_not_accepted"
	// AnomalySegmentBeyondWindow: a segment other than a SYN or RST
	// starting past the right edge of its receiver's window (RFC 9293
	// section 3.10.7.4's acceptability test): the receiver answers with an
	// ACK and drops it, so it takes no place in its sender's sequence
	// space and counts no bytes. A forged or injected segment, or a sender
	// ignoring the window; the detail gives its offset from RCV.NXT.
	AnomalySegmentBeyondWindow = "segment_beyond_window"
	// AnomalyWindowUpdateNotCaptured: a segment taken to lie beyond its
	// receiver's window, which the receiver's acknowledgement later
	// covered: the receiver took it, so its window was larger than the
	// capture showed, and the segment that opened it (a window update or
	// an acknowledgement with a larger window) was not captured. The
	// segment counts as taken (its bytes, its sequence space, its FIN),
	// and its segment_beyond_window is taken back. Noted on the
	// acknowledgement; the count is of the segments it took back.
	AnomalyWindowUpdateNotCaptured = "window_update_not_captured"
)

// AnomalyNames lists every anomaly name, for tools that check names
// given by a person.
var AnomalyNames = []string{
	AnomalySynAckISNChanged, AnomalySynISNChanged, AnomalySynAckAfterAck, AnomalyRSTOutOfWindow,
	AnomalyDataBeforeHandshake, AnomalyDataAfterFIN, AnomalySegmentAfterReset, AnomalyInvalidFlags,
	AnomalyAckUnseen, AnomalySegmentNotCaptured, AnomalyBadChecksum, AnomalyRSTInWindow,
	AnomalySYNOnSynchronized, AnomalyRSTWithoutACK, AnomalyACKUnacceptable, AnomalyRSTNotAccepted,
	AnomalySegmentBeyondWindow, AnomalyWindowUpdateNotCaptured,
}

// Anomaly is one kind of unexpected behaviour seen on a connection.
type Anomaly struct {
	Name   string
	Time   int64 // first occurrence, Unix nanoseconds
	Dir    Dir   // who sent the segment that showed it first
	Detail string
	Count  int
}

// maxAnomalyKinds bounds the per-connection anomaly list; there are fewer
// names than this, so it only guards against future additions.
const maxAnomalyKinds = 24
