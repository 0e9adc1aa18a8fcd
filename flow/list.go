package flow

// list is an intrusive doubly linked list of connections, so that finding
// the one to expire or evict is O(1) and moving a connection on each packet
// allocates nothing (see queue).
type list struct {
	head, tail *Conn
}

func (l *list) front() *Conn { return l.head }

func (l *list) pushBack(c *Conn) {
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *list) remove(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (l *list) moveToBack(c *Conn) {
	if l.tail == c {
		return
	}
	l.remove(c)
	l.pushBack(c)
}
