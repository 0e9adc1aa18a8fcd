// Package fsm follows both endpoints of one TCP connection through the
// RFC 793 / RFC 9293 state machine, as a passive observer that sees the
// segments each side sent and infers what each side received.
//
// The package knows segments, not files, addresses or screens: the caller
// (package flow) decides which endpoint is the client and hands each segment
// to Conn.Step with its direction. Time comes only from the segments'
// timestamps, so the same capture always gives the same result.
//
// An observer cannot see a state, only evidence of it. The rules used here:
//
//   - What an endpoint sends changes its own state at once (a FIN moves
//     ESTABLISHED to FIN_WAIT_1).
//   - A SYN or FIN counts as received by the peer only when the peer
//     acknowledges it. That keeps crossing FINs right wherever the capture
//     was taken: a FIN sent before the other side's FIN arrived does not
//     acknowledge it, so both sides pass through CLOSING (simultaneous close).
//   - An acknowledgement or a RST counts as received when it is seen, unless
//     later evidence contradicts it: a server that retransmits its SYN/ACK
//     after the client's final ACK was seen never accepted that ACK (its
//     accept queue was full), and is put back into SYN_RCVD.
//
// Alongside the states, each direction's sequence space is tracked in capture
// order (see direction.go) so that every segment is classified: new data,
// retransmission, out-of-order, keepalive, window probe, window update,
// duplicate ACK.
package fsm
