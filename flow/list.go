package flow

import "iter"

// list is an intrusive doubly linked list of the connections of a slab,
// linked by ref, so that finding the one to expire or evict is O(1) and
// moving a connection on each packet allocates nothing (see queue).
type list struct {
	s          *slab[Conn]
	head, tail ref
}

// conn returns the connection r names, or nil for the zero ref.
func (l *list) conn(r ref) *Conn {
	if r == 0 {
		return nil
	}
	return l.s.at(r)
}

func (l *list) front() *Conn { return l.conn(l.head) }

func (l *list) back() *Conn { return l.conn(l.tail) }

func (l *list) pushBack(c *Conn) {
	c.prev, c.next = l.tail, 0
	if l.tail != 0 {
		l.s.at(l.tail).next = c.self
	} else {
		l.head = c.self
	}
	l.tail = c.self
}

func (l *list) remove(c *Conn) {
	if c.prev != 0 {
		l.s.at(c.prev).next = c.next
	} else {
		l.head = c.next
	}
	if c.next != 0 {
		l.s.at(c.next).prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = 0, 0
}

func (l *list) moveToBack(c *Conn) {
	if l.tail == c.self {
		return
	}
	l.remove(c)
	l.pushBack(c)
}

// all yields the list's connections from front to back; the loop may
// remove the one it was given.
func (l *list) all() iter.Seq[*Conn] {
	return func(yield func(*Conn) bool) {
		for r := l.head; r != 0; {
			c := l.s.at(r)
			r = c.next
			if !yield(c) {
				return
			}
		}
	}
}
