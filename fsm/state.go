package fsm

import "strconv"

// State is the RFC 793 state of one endpoint of a connection, as inferred
// from the segments seen (RFC 9293 section 3.3.2, figure 5).
type State uint8

// The zero State is Unknown: the observer has no evidence yet.
const (
	Unknown State = iota
	Closed
	Listen
	SynSent
	SynRcvd
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

var stateNames = [numStates]string{
	Unknown:     "UNKNOWN",
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynRcvd:     "SYN_RCVD",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT_1",
	FinWait2:    "FIN_WAIT_2",
	CloseWait:   "CLOSE_WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST_ACK",
	TimeWait:    "TIME_WAIT",
}

// String spells the state as netstat does (with SYN_RCVD for SYN_RECV).
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ParseState is the inverse of String; it also accepts netstat's SYN_RECV
// and RFC 793's hyphenated spellings.
func ParseState(name string) (State, bool) {
	switch name {
	case "SYN_RECV", "SYN-RECEIVED":
		return SynRcvd, true
	}
	for s, n := range stateNames {
		if n == name {
			return State(s), true
		}
	}
	return Unknown, false
}

// States lists every state in RFC order, for census tables.
func States() []State {
	all := make([]State, 0, numStates)
	for s := Unknown; s < numStates; s++ {
		all = append(all, s)
	}
	return all
}

// Synchronized reports whether the endpoint has completed its side of the
// handshake (RFC 9293 section 3.3.2: "synchronized states").
func (s State) Synchronized() bool {
	switch s {
	case Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait:
		return true
	}
	return false
}

// gone reports whether the endpoint holds no live connection any more.
func (s State) gone() bool { return s == Closed || s == TimeWait }
