package fsm

// Rule names the rule that decided what a segment did to its receiver,
// where that is not simply "the receiver took it": a RST or SYN the
// receiver answered with a challenge ACK (RFC 5961), a segment it dropped,
// a RST taken on trust because the receiver's RCV.NXT was not known. The
// -v trace prints it, so a reader can see why a RST did or did not end a
// connection.
type Rule uint8

// Rules. The zero Rule is RuleNone: the segment was taken as the RFC
// says for its state, with nothing to explain.
const (
	RuleNone Rule = iota
	// RuleRSTInWindow: a RST inside the receiver's window but not at its
	// RCV.NXT. The receiver answers with a challenge ACK and goes on
	// (RFC 5961 section 3.2, RFC 9293 section 3.10.7.4).
	RuleRSTInWindow
	// RuleRSTOutOfWindow: a RST outside the receiver's window, or one
	// whose ACK does not acknowledge a SYN_SENT receiver's SYN: dropped.
	RuleRSTOutOfWindow
	// RuleRSTAfterFIN: a RST at RCV.NXT-1 reaching a side that has
	// received the sender's FIN (CLOSE_WAIT, LAST_ACK, CLOSING): the RST
	// carries the FIN's sequence number, and Linux takes it
	// (tcp_reset_check).
	RuleRSTAfterFIN
	// RuleRSTInWindowSynRcvd: an in-window RST reaching a listener's
	// SYN_RCVD: Linux drops the request (tcp_check_req), with no exact
	// match asked, as RFC 9293 section 3.10.7.4 has it.
	RuleRSTInWindowSynRcvd
	// RuleRSTUnknownRcvNxt: the receiver's RCV.NXT is not known (it never
	// acknowledged anything in the capture): the RST is taken as accepted
	// unless the receiver goes on sending (RuleRSTNotAccepted).
	RuleRSTUnknownRcvNxt
	// RuleRSTNotAccepted: the receiver of a RST taken on trust
	// (RuleRSTUnknownRcvNxt) sent a segment other than a RST after it: it
	// had not acted on the RST, which is undone.
	RuleRSTNotAccepted
	// RuleRSTWithoutACK: a RST without the ACK bit reaching SYN_SENT,
	// which drops it (RFC 9293 section 3.10.7.3).
	RuleRSTWithoutACK
	// RuleACKUnacceptable: a segment reaching SYN_SENT whose ACK does
	// not acknowledge the SYN (SEG.ACK =< ISS or > SND.NXT): the receiver
	// drops it and answers with a RST, staying in SYN_SENT (RFC 9293
	// section 3.10.7.3).
	RuleACKUnacceptable
	// RuleRSTForUnacceptableACK: that RST, from SYN_SENT, its sequence
	// number the unacceptable ACK's acknowledgement number: its sender
	// stays in SYN_SENT and will resend its SYN.
	RuleRSTForUnacceptableACK
	// RuleSYNChallenged: a SYN reaching a synchronized side: answered
	// with a challenge ACK, the connection unaffected (RFC 5961 section 4).
	RuleSYNChallenged
	// RuleBeyondWindow: a segment past the right edge of a synchronized
	// receiver's window: answered with an ACK and dropped (RFC 9293
	// section 3.10.7.4's acceptability test).
	RuleBeyondWindow
	numRules
)

var ruleNames = [numRules]string{
	"", "rst_in_window", "rst_out_of_window", "rst_after_fin", "rst_in_window_syn_rcvd",
	"rst_unknown_rcv_nxt", "rst_not_accepted", "rst_without_ack", "ack_unacceptable",
	"rst_for_unacceptable_ack", "syn_challenged", "beyond_window",
}

var ruleExplanations = [numRules]string{
	"",
	"in the window, not at RCV.NXT: challenge ACK, no reset (RFC 5961 section 3.2)",
	"outside the receiver's window: dropped (RFC 9293 section 3.10.7.4)",
	"at RCV.NXT-1 after the sender's FIN: accepted (Linux tcp_reset_check)",
	"in the window of a listener's SYN_RCVD: accepted (Linux tcp_check_req)",
	"the receiver's RCV.NXT is not known: accepted unless the receiver sends again",
	"the receiver sent again after the RST: it had not accepted it",
	"RST without ACK in SYN_SENT: dropped (RFC 9293 section 3.10.7.3)",
	"ACK not of the SYN in SYN_SENT: dropped and answered with RST (RFC 9293 section 3.10.7.3)",
	"RST answering an unacceptable ACK: its sender stays in SYN_SENT (RFC 9293 section 3.10.7.3)",
	"SYN on a synchronized connection: challenge ACK, no effect (RFC 5961 section 4)",
	"past the receiver's window: answered with an ACK and dropped (RFC 9293 section 3.10.7.4)",
}

// String is the rule's name, as the JSON trace's "rule" key spells it;
// "" for RuleNone.
func (r Rule) String() string {
	if r < numRules {
		return ruleNames[r]
	}
	return "rule?"
}

// Explain says in a few words what the rule decided and where it comes
// from, for the text trace; "" for RuleNone.
func (r Rule) Explain() string {
	if r < numRules {
		return ruleExplanations[r]
	}
	return ""
}
