package report

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestPensAppendWhatSprintPrints: the bytes a pen appends around text are
// those its colour's Sprint puts there, with colour on and off.
func TestPensAppendWhatSprintPrints(t *testing.T) {
	for _, on := range []bool{false, true} {
		p := newPalette(on)
		for name, pn := range map[string]*pen{
			"id": p.id, "addr": p.addr, "head": p.head, "label": p.label, "warn": p.warn,
			"bad": p.bad, "good": p.good, "flags": p.flags, "muted": p.muted, "transition": p.transition,
		} {
			for _, s := range []string{"", "ESTABLISHED", "10.0.0.1:443"} {
				if got, want := string(pn.append(nil, s)), pn.Sprint(s); got != want {
					t.Errorf("colour %v, %s: append(%q) = %q, Sprint gives %q", on, name, s, got, want)
				}
			}
			if on && pn.pre == "" {
				t.Errorf("%s: no escape sequence with colour on", name)
			}
		}
	}
}

// TestAppendedNumbersAreFmts: the appended times and sizes are what the
// fmt verbs they replace print.
func TestAppendedNumbersAreFmts(t *testing.T) {
	for _, ns := range []int64{0, 1, 999, 1_000, 123_456, 999_999_999, 1e9, 61e9 + 5e5, 86_400e9 + 7, -1, -1_500_000, math.MaxInt64, math.MinInt64} {
		if got, want := seconds(ns), fmt.Sprintf("%.6fs", float64(ns)/1e9); got != want {
			t.Errorf("seconds(%d) = %q, want %q", ns, got, want)
		}
		want := "-"
		if ns >= 0 {
			want = fmt.Sprintf("%.3fms", float64(ns)/1e6)
		}
		if got := ms(ns); got != want {
			t.Errorf("ms(%d) = %q, want %q", ns, got, want)
		}
		if ns >= 0 {
			if got, want := clock(ns), time.Unix(0, ns).UTC().Format("15:04:05.000000"); got != want {
				t.Errorf("clock(%d) = %q, want %q", ns, got, want)
			}
		}
	}
	for _, n := range []uint64{0, 1, 9_999, 10_000, 10_049, 10_050, 9_999_999, 10_000_000, 123_456_789, math.MaxUint64} {
		var want string
		switch {
		case n < 10_000:
			want = fmt.Sprintf("%d B", n)
		case n < 10_000_000:
			want = fmt.Sprintf("%.1f kB", float64(n)/1e3)
		default:
			want = fmt.Sprintf("%.1f MB", float64(n)/1e6)
		}
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
