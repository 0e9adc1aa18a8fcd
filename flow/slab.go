package flow

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
	used   int   // slots handed out from the chunks so far, in order
	free   []ref // slots given back, reused last in first out
	live   int   // slots allocated now
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
		s.chunks = append(s.chunks, make([]T, slabChunk))
	}
	s.used++
	return ref(s.used), false
}

// release gives r back for reuse.
func (s *slab[T]) release(r ref) {
	s.live--
	s.free = append(s.free, r)
}
