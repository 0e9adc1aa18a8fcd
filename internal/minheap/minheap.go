// Package minheap is a binary min-heap over a slice, ordered as its user
// says, for what takes, again and again, the least of many: a capture
// set's open files by their next packet, tcpgen's connections by their
// next packet's time, a host's TIME_WAITs by when they end. It is
// container/heap without the interface calls and the boxing of every
// value pushed or popped.
package minheap

// Heap holds its values in Items, the least first. A user may change the
// values in place, then call Fix for the one changed.
type Heap[T any] struct {
	Items []T
	// Less orders the values: a before b.
	Less func(a, b *T) bool
}

// Len is the number of values.
func (h *Heap[T]) Len() int { return len(h.Items) }

// Push adds v.
func (h *Heap[T]) Push(v T) {
	h.Items = append(h.Items, v)
	h.up(len(h.Items) - 1)
}

// Pop removes the least value and returns it.
func (h *Heap[T]) Pop() T {
	least := h.Items[0]
	last := len(h.Items) - 1
	h.Items[0] = h.Items[last]
	var zero T
	h.Items[last] = zero // nothing kept alive past the end
	h.Items = h.Items[:last]
	if last > 0 {
		h.down(0)
	}
	return least
}

// Fix restores the order after the value at i changed.
func (h *Heap[T]) Fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *Heap[T]) up(j int) {
	for j > 0 {
		parent := (j - 1) / 2
		if !h.Less(&h.Items[j], &h.Items[parent]) {
			return
		}
		h.Items[j], h.Items[parent] = h.Items[parent], h.Items[j]
		j = parent
	}
}

// down moves the value at i down to its place and reports whether it moved.
func (h *Heap[T]) down(i int) bool {
	start, n := i, len(h.Items)
	for {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < n && h.Less(&h.Items[c], &h.Items[least]) {
				least = c
			}
		}
		if least == i {
			return i > start
		}
		h.Items[i], h.Items[least] = h.Items[least], h.Items[i]
		i = least
	}
}
