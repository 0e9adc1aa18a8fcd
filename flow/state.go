package flow

import (
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// state is what a table keeps of a connection it follows beyond its Conn:
// the RFC 793 state machine, and the capture index of its first packet.
type state struct {
	fsm        fsm.Conn
	firstIndex uint64
	owner      ref // the connection it is the state of
}

// zeekState is a state with the connection's Zeek view beside it: what a
// table that keeps Zeek views holds, so that a packet steps both state
// machines in one record, in one place in memory.
type zeekState struct {
	state
	zeek zeek.Conn
}

// states holds a table's states in one slab, of states with their Zeek
// views or of states alone, as the table keeps Zeek views or not: a
// table that keeps none spends no memory on them.
type states struct {
	withZeek bool
	plain    slab[state]
	zeek     slab[zeekState]
}

func (s *states) init(withZeek bool, a *arena) {
	s.withZeek = withZeek
	s.plain.keepIn(a)
	s.zeek.keepIn(a)
}

// alloc returns a free slot and whether it held a state before.
func (s *states) alloc() (ref, bool) {
	if s.withZeek {
		return s.zeek.alloc()
	}
	return s.plain.alloc()
}

// at returns the state r names.
func (s *states) at(r ref) *state {
	if s.withZeek {
		return &s.zeek.at(r).state
	}
	return s.plain.at(r)
}

// both returns the state r names and its Zeek view, nil when the states
// have none: one lookup for a packet that steps both.
func (s *states) both(r ref) (*state, *zeek.Conn) {
	if s.withZeek {
		z := s.zeek.at(r)
		return &z.state, &z.zeek
	}
	return s.plain.at(r), nil
}

func (s *states) release(r ref) {
	if s.withZeek {
		s.zeek.release(r)
	} else {
		s.plain.release(r)
	}
}

func (s *states) sparse() bool {
	if s.withZeek {
		return s.zeek.sparse()
	}
	return s.plain.sparse()
}

// compact moves the states down into the lowest slots (see
// slab.compact); moved learns each state's new slot and finds it there.
func (s *states) compact(moved func(from, to ref)) {
	if s.withZeek {
		s.zeek.compact(moved)
	} else {
		s.plain.compact(moved)
	}
}

func (s *states) reset() {
	s.plain.reset()
	s.zeek.reset()
}
