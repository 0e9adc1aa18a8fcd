package flow

// closing orders the connections that have ended, and the tombstones, by
// the time each is next due (Conn.at), so that expiring them costs
// O(log n) each however the deadlines interleave: a connection is due to
// be reported Config.CloseDelay after its latest packet, a tombstone to be
// forgotten CloseDelay after its TIME_WAIT has run out. Ties go to the
// connection whose latest packet came first, the order Parallel's merger
// keys records by.
type closing struct {
	heap []*Conn
}

func (h *closing) before(i, j int) bool {
	a, b := h.heap[i], h.heap[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.lastIndex < b.lastIndex
}

func (h *closing) swap(i, j int) {
	h.heap[i], h.heap[j] = h.heap[j], h.heap[i]
	h.heap[i].closingAt = int32(i)
	h.heap[j].closingAt = int32(j)
}

// front returns the connection due first, or nil.
func (h *closing) front() *Conn {
	if len(h.heap) == 0 {
		return nil
	}
	return h.heap[0]
}

// set puts c in the order, or moves it there after its deadline changed.
func (h *closing) set(c *Conn) {
	if c.closingAt < 0 {
		c.closingAt = int32(len(h.heap))
		h.heap = append(h.heap, c)
	}
	i := int(c.closingAt)
	h.up(i)
	h.down(int(c.closingAt))
}

// remove takes c out of the order, if it is in it.
func (h *closing) remove(c *Conn) {
	i := int(c.closingAt)
	if i < 0 {
		return
	}
	last := len(h.heap) - 1
	if i != last {
		h.swap(i, last)
	}
	h.heap[last] = nil
	h.heap = h.heap[:last]
	c.closingAt = -1
	if i != last {
		h.up(i)
		h.down(i)
	}
}

func (h *closing) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.before(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *closing) down(i int) {
	n := len(h.heap)
	for {
		least := i
		if l := 2*i + 1; l < n && h.before(l, least) {
			least = l
		}
		if r := 2*i + 2; r < n && h.before(r, least) {
			least = r
		}
		if least == i {
			return
		}
		h.swap(i, least)
		i = least
	}
}
