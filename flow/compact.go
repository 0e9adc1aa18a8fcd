package flow

// Compaction: giving memory back after the busiest moment.
//
// The table keeps its connections and their state machines by value in
// slabs, which reuse the slots of the connections that left. A flood or a
// burst of connections grows the slabs to their busiest moment; once most
// of those connections have left (a quarter or less of the slots in use),
// compact moves the rest down into the lowest slots and gives the chunks
// above back to the collector, and the index shrinks with them. A live
// capture that runs for days holds the memory of what it follows now, not
// of its worst minute. Moving costs a copy of each connection left and
// the update of the references to it, once per such drop: at most as
// much as the connections that left cost to follow.

// compaction can be turned off by tests, to compare.
var compaction = true

// compact runs after expire, when no Conn pointer is held outside the
// table: every reference to a moved connection is in the table.
func (t *Table) compact() {
	if !compaction {
		return
	}
	if t.slots.sparse() {
		t.slots.compact(t.moveConn)
		t.conns.shrink()
	}
	if t.pairs.sparse() {
		t.pairs.compact(func(from, to ref) {
			t.slots.at(t.pairs.at(to).owner).addrs.setPairRef(to)
		})
	}
	if t.states.sparse() {
		t.states.compact(func(from, to ref) {
			t.slots.at(t.states.at(to).owner).st = to
		})
	}
}

// moveConn points every reference to the connection now in slot to, which
// was in slot from, to its new slot: its own, its neighbours' in its
// queue's list or its item in the queue's heap, the index's, its state's
// and its address pair's.
func (t *Table) moveConn(from, to ref) {
	c := t.slots.at(to)
	c.self = to
	if c.st != 0 {
		t.states.at(c.st).owner = to
	}
	if c.form == formIPv6 {
		t.pairs.at(c.addrs.pairRef()).owner = to
	}
	t.conns.rename(c, from, to)
	if c.next == inHeap {
		t.queueOf(c).late[c.prev-1].c = to
		return
	}
	l := &t.tombs
	if c.tomb == 0 {
		l = &t.queueOf(c).inOrder
	}
	if c.prev != 0 {
		t.slots.at(c.prev).next = to
	} else {
		l.head = to
	}
	if c.next != 0 {
		t.slots.at(c.next).prev = to
	} else {
		l.tail = to
	}
}
