package flow

import "reflect"

// ref names an element of a slab: its slot number plus one, so that the
// zero ref names nothing. Connections refer to each other (the expiry
// lists, the index) by ref rather than by pointer: a ref is half a
// pointer's size, and a slab of connections holds no pointers, so the
// collector has nothing in it to scan.
type ref uint32

// slabChunk is how many elements a slab allocates at once. A chunk never
// moves, so a pointer to an element stays valid while the element is
// allocated. The runtime gives an allocation this large whole 8 KiB
// pages, and 1,024 elements of a size that is a multiple of 8 bytes fill
// them exactly; 256 would leave up to 7% of each chunk unused.
const (
	slabChunkBits = 10
	slabChunk     = 1 << slabChunkBits
)

// slab holds values of T by the chunk, hands out their slots as refs and
// takes them back for reuse: one allocation per slabChunk values instead
// of one per value, each value without an allocation header or a size
// class's rounding, and freed slots reused in place.
type slab[T any] struct {
	chunks [][]T
	arena  *arena // where chunks come from; nil: the Go heap (see keepIn)
	used   int    // slots handed out from the chunks so far, in order
	free   []ref  // slots given back, reused last in first out
	live   int    // slots allocated now
}

// keepIn makes s take its chunks from a, outside the Go heap, if values
// of T hold no pointers; s must be empty.
func (s *slab[T]) keepIn(a *arena) {
	if pointerFree(reflect.TypeFor[T]()) {
		s.arena = a
	}
}

// reset empties s and gives its chunks back: nothing may use an element
// of s after.
func (s *slab[T]) reset() {
	for _, c := range s.chunks {
		giveBack(s.arena, c)
	}
	*s = slab[T]{arena: s.arena}
}

// at returns the element r names; r must be allocated.
func (s *slab[T]) at(r ref) *T {
	i := uint32(r - 1)
	return &s.chunks[i>>slabChunkBits][i&(slabChunk-1)]
}

// alloc returns a free slot and whether it was used before (a fresh slot
// is the zero T; a reused one holds what it held when freed).
func (s *slab[T]) alloc() (r ref, reused bool) {
	s.live++
	if n := len(s.free); n > 0 {
		r = s.free[n-1]
		s.free = s.free[:n-1]
		return r, true
	}
	if s.used == len(s.chunks)*slabChunk {
		s.chunks = append(s.chunks, arenaSlice[T](s.arena, slabChunk))
	}
	s.used++
	return ref(s.used), false
}

// release gives r back for reuse.
func (s *slab[T]) release(r ref) {
	s.live--
	s.free = append(s.free, r)
}

// sparse reports whether a quarter or less of the slots handed out hold
// an element, over more than a few chunks: the slab held many more
// elements at its busiest than it does now (a flood, a burst of
// connections, long gone), and compacting it gives memory back.
func (s *slab[T]) sparse() bool { return s.used > 4*slabChunk && 4*s.live <= s.used }

// compact moves the elements down into the lowest slots, calling
// moved(from, to) after copying each so that the caller can point its
// references to the new slot, and gives back the chunks past the
// elements but one (a spare, for the next few). The slots past the
// elements in the chunks kept are zeroed: alloc hands them out as fresh.
// Two slabs of the same allocations and releases move their elements
// alike.
func (s *slab[T]) compact(moved func(from, to ref)) {
	free := make([]bool, s.used+1) // by ref
	for _, r := range s.free {
		free[r] = true
	}
	lo, hi := ref(1), ref(s.used)
	for {
		for lo < hi && !free[lo] {
			lo++
		}
		for hi > lo && free[hi] {
			hi--
		}
		if lo >= hi {
			break
		}
		*s.at(lo) = *s.at(hi)
		free[lo], free[hi] = false, true
		moved(hi, lo)
	}
	s.used, s.free = s.live, nil
	keep := min((s.used+slabChunk-1)/slabChunk+1, len(s.chunks))
	for _, c := range s.chunks[keep:] {
		giveBack(s.arena, c)
	}
	clear(s.chunks[keep:])
	s.chunks = s.chunks[:keep]
	for r := s.used + 1; r <= keep*slabChunk; r++ {
		var zero T
		*s.at(ref(r)) = zero
	}
}
