package fsm

import "testing"

// TestSeqCompare holds lessThan and lessThanEq to RFC 9293 section 3.4's
// comparisons modulo 2^32: away from the wrap, across it, and at the edge
// of their range, 2^31 apart, where sequence order is undefined.
func TestSeqCompare(t *testing.T) {
	tests := []struct {
		name         string
		s, t         seq
		less, lessEq bool
	}{
		{"equal", 1000, 1000, false, true},
		{"equal at 0", 0, 0, false, true},
		{"one before", 999, 1000, true, true},
		{"one after", 1000, 999, false, false},
		{"before, far", 1000, 1000 + 1<<31 - 1, true, true},
		{"after, far", 1000 + 1<<31 - 1, 1000, false, false},
		{"wrap: the last before 0", 0xffff_ffff, 0, true, true},
		{"wrap: 0 after the last", 0, 0xffff_ffff, false, false},
		{"wrap: before, across 0", 0xffff_ff00, 0x100, true, true},
		{"wrap: after, across 0", 0x100, 0xffff_ff00, false, false},
		{"wrap: before, far across 0", 0x8000_0001, 0, true, true},
		{"wrap: after, far across 0", 0, 0x8000_0001, false, false},
		// 2^31 apart: each comes before the other, neither is =< the
		// other (int32 of the difference is -2^31 both ways).
		{"2^31 apart", 0, 1 << 31, true, false},
		{"2^31 apart, the other way", 1 << 31, 0, true, false},
		{"2^31 apart, across 0", 0xffff_ff00, 0x7fff_ff00, true, false},
	}
	for _, tt := range tests {
		if got := tt.s.lessThan(tt.t); got != tt.less {
			t.Errorf("%s: seq(%d).lessThan(%d) = %v, want %v", tt.name, tt.s, tt.t, got, tt.less)
		}
		if got := tt.s.lessThanEq(tt.t); got != tt.lessEq {
			t.Errorf("%s: seq(%d).lessThanEq(%d) = %v, want %v", tt.name, tt.s, tt.t, got, tt.lessEq)
		}
	}
}

// TestSeqInWindow holds inWindow to first =< s < first+size modulo 2^32,
// at both edges, for an empty window, and across the wrap.
func TestSeqInWindow(t *testing.T) {
	tests := []struct {
		name  string
		s     seq
		first seq
		size  seqSize
		want  bool
	}{
		{"at the left edge", 1000, 1000, 100, true},
		{"last in the window", 1099, 1000, 100, true},
		{"at the right edge", 1100, 1000, 100, false},
		{"before the left edge", 999, 1000, 100, false},
		{"empty window, at its start", 1000, 1000, 0, false},
		{"one-wide window", 1000, 1000, 1, true},
		{"the whole space but one, its last", 997, 999, 0xffff_ffff, true},
		{"the whole space but one, the one left out", 998, 999, 0xffff_ffff, false},
		{"wrap: the last before 0", 0xffff_ffff, 0xffff_ff00, 0x1000, true},
		{"wrap: 0", 0, 0xffff_ff00, 0x1000, true},
		{"wrap: last in the window past 0", 0xeff, 0xffff_ff00, 0x1000, true},
		{"wrap: at the right edge past 0", 0xf00, 0xffff_ff00, 0x1000, false},
		{"wrap: before the left edge", 0xffff_feff, 0xffff_ff00, 0x1000, false},
	}
	for _, tt := range tests {
		if got := tt.s.inWindow(tt.first, tt.size); got != tt.want {
			t.Errorf("%s: seq(%d).inWindow(%d, %d) = %v, want %v", tt.name, tt.s, tt.first, tt.size, got, tt.want)
		}
	}
}

// TestSeqArithmetic holds add and size to arithmetic modulo 2^32: size
// undoes add, across the wrap too.
func TestSeqArithmetic(t *testing.T) {
	tests := []struct {
		name string
		s    seq
		n    seqSize
		want seq
	}{
		{"zero", 1000, 0, 1000},
		{"plain", 1000, 500, 1500},
		{"to the last", 0xffff_fff0, 0xf, 0xffff_ffff},
		{"wrap: to 0", 0xffff_ffff, 1, 0},
		{"wrap: past 0", 0xffff_ff00, 0x1000, 0xf00},
		{"wrap: the whole space but one", 1000, 0xffff_ffff, 999},
	}
	for _, tt := range tests {
		got := tt.s.add(tt.n)
		if got != tt.want {
			t.Errorf("%s: seq(%d).add(%d) = %d, want %d", tt.name, tt.s, tt.n, got, tt.want)
		}
		if size := tt.s.size(got); size != tt.n {
			t.Errorf("%s: seq(%d).size(%d) = %d, want %d", tt.name, tt.s, got, size, tt.n)
		}
		if tt.n > 0 && tt.n < 1<<31 && !tt.s.lessThan(got) {
			t.Errorf("%s: seq(%d) is not before seq(%d), %d past it", tt.name, tt.s, got, tt.n)
		}
	}
}
