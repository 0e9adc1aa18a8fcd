package minheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHeap pushes, pops and changes values in place at random and checks
// each pop against a sorted copy: the least value comes out every time,
// ties in the order Less gives them.
func TestHeap(t *testing.T) {
	type item struct{ key, id int }
	less := func(a, b *item) bool { return a.key < b.key || a.key == b.key && a.id < b.id }
	rng := rand.New(rand.NewPCG(1, 2))
	h := Heap[item]{Less: less}
	var want []item
	id := 0
	for step := range 20_000 {
		switch op := rng.IntN(10); {
		case op < 5 || h.Len() == 0:
			v := item{rng.IntN(50), id}
			id++
			h.Push(v)
			want = append(want, v)
		case op < 8:
			slices.SortFunc(want, func(a, b item) int {
				if less(&a, &b) {
					return -1
				}
				return 1
			})
			if got := h.Pop(); got != want[0] {
				t.Fatalf("step %d: popped %v, want %v", step, got, want[0])
			}
			want = want[1:]
		default:
			i := rng.IntN(h.Len())
			old := h.Items[i]
			h.Items[i].key = rng.IntN(50)
			want[slices.Index(want, old)] = h.Items[i]
			h.Fix(i)
		}
		if h.Len() != len(want) {
			t.Fatalf("step %d: %d values, want %d", step, h.Len(), len(want))
		}
	}
}

// TestPopClearsTheSlot: a popped pointer is not kept alive by the slice.
func TestPopClearsTheSlot(t *testing.T) {
	a, b := 1, 2
	h := Heap[*int]{Less: func(x, y **int) bool { return **x < **y }}
	h.Push(&a)
	h.Push(&b)
	h.Pop()
	if tail := h.Items[:cap(h.Items)][1]; tail != nil {
		t.Errorf("the slot past the end still holds %v", tail)
	}
}
