package fsm

// One line on each anomaly and label, for "tcpfsm names"; README.md's
// tables of labels and anomalies say more.

var anomalySummaries = map[string]string{
	AnomalySynAckISNChanged:        "a second SYN/ACK with another sequence number: a middlebox, a load balancer, or a port reused too quickly",
	AnomalySynISNChanged:           "a new SYN with another ISN on a live connection",
	AnomalySynAckAfterAck:          "the server resent its SYN/ACK after the client's ACK: it never took that ACK (lost, or its accept queue was full)",
	AnomalyRSTOutOfWindow:          "a RST outside the receiver's window, which a receiver ignores (RFC 5961)",
	AnomalyDataBeforeHandshake:     "payload from a side that had not completed its handshake",
	AnomalyDataAfterFIN:            "sequence space beyond the sender's own FIN",
	AnomalySegmentAfterReset:       "a segment after the connection was reset",
	AnomalyInvalidFlags:            "SYN with FIN or RST, no flags, or FIN without ACK",
	AnomalyAckUnseen:               "acknowledges data the capture never showed",
	AnomalySegmentNotCaptured:      "a segment starts after the next expected sequence number: the capture missed one",
	AnomalyBadChecksum:             "(with --verify-checksums) a segment with a wrong TCP checksum, counted and otherwise ignored",
	AnomalyRSTInWindow:             "a RST in the receiver's window but not at its RCV.NXT: answered with a challenge ACK, the connection goes on (RFC 5961)",
	AnomalySYNOnSynchronized:       "a SYN reached a synchronized side: answered with a challenge ACK, otherwise ignored (RFC 5961)",
	AnomalyRSTWithoutACK:           "a RST without ACK reached a side in SYN_SENT, which drops it: the connection is not refused",
	AnomalyACKUnacceptable:         "an ACK that does not acknowledge the SYN reached a side in SYN_SENT: dropped and answered with a RST",
	AnomalyRSTNotAccepted:          "a RST taken as accepted, after which its receiver went on sending: it had not taken it",
	AnomalySegmentBeyondWindow:     "a segment past the receiver's window: answered with an ACK and dropped, it changes nothing (RFC 9293 section 3.10.7.4)",
	AnomalyWindowUpdateNotCaptured: "the receiver acknowledged a segment seen past its window: it took it, and the segment that opened its window was not captured",
}

var labelSummaries = map[string]string{
	LabelSimultaneousOpen:      "both sides sent a bare SYN; each went SYN_SENT -> SYN_RCVD",
	LabelSimultaneousClose:     "the FINs crossed; a side went FIN_WAIT_1 -> CLOSING -> TIME_WAIT",
	LabelHalfClose:             "data flowed towards a side after it had sent its FIN",
	LabelMidstream:             "picked up without the client's SYN",
	LabelSynRetransmitted:      "the client sent more than one SYN",
	LabelSynAckRetransmitted:   "the server sent more than one SYN/ACK",
	LabelKeepAlive:             "a keepalive probe was seen",
	LabelZeroWindow:            "a zero window was advertised",
	LabelSynWithData:           "the SYN carried data (TCP Fast Open)",
	LabelClosedBeforeHandshake: "a side sent FIN before the handshake completed (SYN_RCVD -> FIN_WAIT_1)",
	LabelRetransmissions:       "data was retransmitted",
	LabelPortReuse:             "an earlier connection on the same 5-tuple ended first",
	LabelClientOnlyEstablished: "the client believes the connection ESTABLISHED, the server still holds it in SYN_RCVD: the accept-queue trap",
	LabelSynCookie:             "the server's only SYN/ACK has the shape of a Linux SYN cookie: it kept no socket until the ACK",
	LabelRSTChallenged:         "a RST in the window but not at RCV.NXT drew a challenge ACK, and the connection went on (RFC 5961)",
	LabelSYNChallenged:         "a SYN on the synchronized connection drew a challenge ACK and changed nothing (RFC 5961)",
	LabelOneSided:              "the capture holds one direction only; the unseen side was inferred from the seen side's segments",
	LabelSynAckUnreachable:     "an ICMP error quoting the server's SYN/ACK made Linux drop its half-open connection",
}

// AnomalySummary is one line on the anomaly name, or "" for a name that
// is not one.
func AnomalySummary(name string) string { return anomalySummaries[name] }

// LabelSummary is one line on the label name, or "" for a name that is
// not one.
func LabelSummary(name string) string { return labelSummaries[name] }
