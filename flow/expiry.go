package flow

import (
	"iter"
	"slices"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// Expiry: the order in which connections fall due.
//
// A connection is due a fixed time after its latest packet (the idle
// timeout, or CloseDelay once it has ended), so the table keeps its
// connections ordered by the time of their latest packets, ties broken by
// capture index, and the one due first is always at the front.
//
// Almost every packet is the newest the capture has seen, and its
// connection simply moves to the back of a linked list, in O(1). A packet
// stamped earlier than the list's back (a capture whose clock steps back,
// as after an NTP correction, or packets merged out of order) would need a
// walk to its place, which costs as much as the list is long: 20,000
// connections after a 10 s step back took 25 s of CPU that way. So such a
// connection leaves the list for a binary heap, where any key finds its
// place in O(log n), and comes back to the list on its next packet that is
// the newest. A connection whose key grew but still sorts before its
// neighbour in the list (the usual case after a step back: its latest
// packet time, a maximum, is unchanged) stays where it is, in O(1).

// dueKey orders connections by the time of their latest packet, then by the
// capture index of that packet: both only grow.
type dueKey struct {
	last  int64
	index uint64
}

func (a dueKey) less(b dueKey) bool {
	return a.last < b.last || a.last == b.last && a.index < b.index
}

// dueKey is c's place in the order of expiry.
func (c *Conn) dueKey() dueKey { return dueKey{c.at, c.lastIndex} }

// queue holds connections in the order of their dueKey: those whose
// packets came in time order in a list, the rest in a heap.
type queue struct {
	inOrder list
	late    lateHeap
}

// lateHeap is a binary min-heap of the connections whose latest packet was
// older than the back of their queue's list. Each item keeps its key so
// that sifting compares without reading the connections; a connection in
// the heap has its position plus one in Conn.prev, and inHeap in
// Conn.next.
type lateHeap []lateItem

type lateItem struct {
	key dueKey
	c   ref
}

// push adds c, which is in no queue.
func (q *queue) push(c *Conn) {
	k := c.dueKey()
	if tail := q.inOrder.back(); tail == nil || !k.less(tail.dueKey()) {
		q.inOrder.pushBack(c)
		return
	}
	q.late.push(q.inOrder.s, lateItem{k, c.self})
}

// remove takes c out of q.
func (q *queue) remove(c *Conn) {
	if c.next == inHeap {
		q.late.remove(q.inOrder.s, int(c.prev-1))
		return
	}
	q.inOrder.remove(c)
}

// update puts c, which is in q, back in order after its key grew.
func (q *queue) update(c *Conn) {
	l, s := &q.inOrder, q.inOrder.s
	k := c.dueKey()
	if c.next != inHeap {
		if c.self == l.tail {
			return // the largest key grew: still the largest
		}
		if !k.less(l.back().dueKey()) {
			l.moveToBack(c)
			return
		}
		if k.less(s.at(c.next).dueKey()) {
			return // still before its neighbour, and after the one before it
		}
		l.remove(c)
		q.late.push(s, lateItem{k, c.self})
		return
	}
	if tail := l.back(); tail == nil || !k.less(tail.dueKey()) {
		q.late.remove(s, int(c.prev-1))
		l.pushBack(c)
		return
	}
	q.late.fix(s, int(c.prev-1), k)
}

// front returns the connection due first, or nil.
func (q *queue) front() *Conn {
	c := q.inOrder.front()
	if len(q.late) > 0 && (c == nil || q.late[0].key.less(c.dueKey())) {
		return q.inOrder.s.at(q.late[0].c)
	}
	return c
}

// all yields every connection in q, in no particular order; q must not
// change during the loop.
func (q *queue) all() iter.Seq[*Conn] {
	return func(yield func(*Conn) bool) {
		for c := range q.inOrder.all() {
			if !yield(c) {
				return
			}
		}
		for _, it := range q.late {
			if !yield(q.inOrder.s.at(it.c)) {
				return
			}
		}
	}
}

// sorted yields every connection in q in the order they fall due. It sorts
// a copy of the heap, so it is for the occasional walk (a live display's
// snapshot), not for every packet.
func (q *queue) sorted() iter.Seq[*Conn] {
	return func(yield func(*Conn) bool) {
		s := q.inOrder.s
		late := slices.Clone(q.late)
		slices.SortFunc(late, func(a, b lateItem) int {
			if a.key.less(b.key) {
				return -1
			}
			return 1
		})
		c := q.inOrder.front()
		for c != nil || len(late) > 0 {
			next := c
			if c == nil || len(late) > 0 && late[0].key.less(c.dueKey()) {
				next, late = s.at(late[0].c), late[1:]
			} else {
				c = q.inOrder.conn(c.next)
			}
			if !yield(next) {
				return
			}
		}
	}
}

func (h *lateHeap) push(s *slab[Conn], it lateItem) {
	*h = append(*h, it)
	h.up(s, len(*h)-1)
}

// remove takes out the item at position i.
func (h *lateHeap) remove(s *slab[Conn], i int) {
	old := *h
	n := len(old) - 1
	c := s.at(old[i].c)
	c.prev, c.next = 0, 0
	if i != n {
		old.place(s, i, old[n])
	}
	old[n] = lateItem{}
	*h = old[:n]
	if i != n {
		h.fix(s, i, (*h)[i].key)
	}
}

// fix gives the item at position i key k and restores the heap's order.
func (h lateHeap) fix(s *slab[Conn], i int, k dueKey) {
	h[i].key = k
	if !h.down(s, i) {
		h.up(s, i)
	}
}

// place puts it at position i and tells its connection where it is.
func (h lateHeap) place(s *slab[Conn], i int, it lateItem) {
	h[i] = it
	c := s.at(it.c)
	c.prev, c.next = ref(i+1), inHeap
}

func (h lateHeap) up(s *slab[Conn], i int) {
	it := h[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !it.key.less(h[parent].key) {
			break
		}
		h.place(s, i, h[parent])
		i = parent
	}
	h.place(s, i, it)
}

// down sifts the item at position i down, and reports whether it moved.
func (h lateHeap) down(s *slab[Conn], i int) bool {
	it, start := h[i], i
	for {
		child := 2*i + 1
		if child >= len(h) {
			break
		}
		if r := child + 1; r < len(h) && h[r].key.less(h[child].key) {
			child = r
		}
		if !h[child].key.less(it.key) {
			break
		}
		h.place(s, i, h[child])
		i = child
	}
	h.place(s, i, it)
	return i != start
}

// touch records that c just had a packet, capture index index: it moves to
// its place in its queue (lru, or ended once it has ended and CloseDelay
// applies), which stays ordered by the time of each connection's latest
// packet even when a capture's time goes backwards, so that connections
// expire in the order of their deadlines.
// m is c's state machine, nil for a lone SYN.
func (t *Table) touch(c *Conn, m *fsm.Conn, index uint64) {
	c.lastIndex = index
	if !t.requeue(c, m) {
		t.queueOf(c).update(c)
	}
}

// requeue moves c, whose state machine is m (nil for a lone SYN), to the
// queue it belongs in now, ended or not, and reports whether it moved: a
// packet or an ICMP error that ended its connect() (see AddICMPError) can
// end it.
func (t *Table) requeue(c *Conn, m *fsm.Conn) bool {
	ended := m != nil && t.cfg.CloseDelay >= 0 && m.Ended()
	if ended == c.ended {
		return false
	}
	t.queueOf(c).remove(c)
	c.ended = ended
	t.queueOf(c).push(c)
	return true
}

// queueOf returns the queue c is in; not for a tombstone.
func (t *Table) queueOf(c *Conn) *queue {
	if c.ended {
		return &t.ended
	}
	return &t.lru
}

// leastRecent returns the connection whose latest packet is the oldest,
// tombstones aside.
func (t *Table) leastRecent() *Conn {
	a, b := t.lru.front(), t.ended.front()
	if a == nil || b != nil && b.dueKey().less(a.dueKey()) {
		return b
	}
	return a
}

// live yields the connections in the table, tombstones aside, least
// recently active first.
func (t *Table) live() iter.Seq[*Conn] {
	return func(yield func(*Conn) bool) {
		nextA, stopA := iter.Pull(t.lru.sorted())
		defer stopA()
		nextB, stopB := iter.Pull(t.ended.sorted())
		defer stopB()
		a, okA := nextA()
		b, okB := nextB()
		for okA || okB {
			c := a
			if !okA || okB && b.dueKey().less(a.dueKey()) {
				c = b
				b, okB = nextB()
			} else {
				a, okA = nextA()
			}
			if !yield(c) {
				return
			}
		}
	}
}

// expire reports and forgets the connections due before time now: those
// idle for longer than the timeout, and those that ended and have been
// quiet for CloseDelay since. Those are reported then; one with a side
// still in TIME_WAIT stays as a tombstone until CloseDelay after its
// TIME_WAIT ran out (when the kernel forgets it too). Connections are
// reported in the order of their deadlines (ties: the one whose latest
// packet came first), which is the order Parallel merges its shards'
// records in.
func (t *Table) expire(now int64) {
	// Tombstones leave nearly in the order they were made, and leaving
	// reports nothing: one whose time has come behind another that is
	// still due stays a little longer, and lookups check its time (see
	// expired).
	for c := t.tombs.front(); c != nil && t.expired(c, now); c = t.tombs.front() {
		t.bury(c, true)
	}
	for {
		var (
			c        *Conn
			deadline int64
			why      Reason
		)
		if idle := t.lru.front(); idle != nil && t.cfg.IdleTimeout >= 0 {
			c, deadline, why = idle, idle.at+t.cfg.IdleTimeout, ReasonIdle
		}
		if e := t.ended.front(); e != nil {
			d, w := e.at+t.cfg.CloseDelay, ReasonClosed
			if t.cfg.IdleTimeout >= 0 && t.cfg.IdleTimeout < t.cfg.CloseDelay {
				d, w = e.at+t.cfg.IdleTimeout, ReasonIdle
			}
			if c == nil || d < deadline || d == deadline && e.lastIndex < c.lastIndex {
				c, deadline, why = e, d, w
			}
		}
		if c == nil || now <= deadline {
			break
		}
		if why == ReasonIdle {
			t.stats.Idle++
		} else {
			t.stats.Closed++
		}
		t.remove(c, why)
	}
	t.compact()
}

// expired reports whether the tombstone c is due to be forgotten at now.
func (t *Table) expired(c *Conn, now int64) bool { return now > c.at }
