package diagnose

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEndHeapOrder: ends pushed in any order, with ties, and popped
// between pushes come out soonest first, as a sorted list would give them.
func TestEndHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 100 {
		var h endHeap
		var want []int64 // the ends in h
		for op := range 200 {
			if rng.IntN(3) > 0 || len(want) == 0 {
				at := rng.Int64N(50)
				h.push(timeWaitEnd{at: at, tuple: uint64(op)})
				want = append(want, at)
				continue
			}
			slices.Sort(want)
			if got := h.pop().at; got != want[0] {
				t.Fatalf("round %d op %d: popped %d, want %d", round, op, got, want[0])
			}
			want = want[1:]
		}
		slices.Sort(want)
		for _, w := range want {
			if got := h.pop().at; got != w {
				t.Fatalf("round %d, draining: popped %d, want %d", round, got, w)
			}
		}
		if len(h) != 0 {
			t.Fatalf("round %d: %d ends left", round, len(h))
		}
	}
}
