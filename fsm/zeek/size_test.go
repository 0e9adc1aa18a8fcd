package zeek

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestConnSize: a Conn is 392 bytes (flow keeps one by value for every
// followed connection), with the reassembler's hole blocks allocated only
// for a connection that has holes.
func TestConnSize(t *testing.T) {
	for _, tt := range []struct {
		name      string
		size, max uintptr
		why       string
	}{
		{"Conn", unsafe.Sizeof(Conn{}), 392, "a field out of order, or one packed again?"},
		{"endpoint", unsafe.Sizeof(endpoint{}), 136, "a field out of order?"},
		{"reassembler", unsafe.Sizeof(reassembler{}), 40, "are the hole blocks inline again?"},
	} {
		if tt.size > tt.max {
			t.Errorf("%s is %d bytes, over %d: %s", tt.name, tt.size, tt.max, tt.why)
		}
	}
}

// zeekScaled is Connection::ScaledHistoryEntry as Zeek writes it: a
// counter and a 32-bit threshold multiplied by ten each time it is reached.
type zeekScaled struct{ cnt, thresh uint32 }

func (s *zeekScaled) hit() bool {
	if s.thresh == 0 {
		s.thresh = 1
	}
	s.cnt++
	if s.cnt != s.thresh {
		return false
	}
	if t := s.thresh * 10; t <= s.thresh {
		s.cnt = 0 // wrapped around: keep the threshold
	} else {
		s.thresh = t
	}
	return true
}

// TestScaledIsZeeks: the scaled counters, keeping an index for the
// threshold, add their letter exactly when Zeek's counter and threshold
// would, through every threshold and past the last one, where Zeek's
// threshold stops growing and the counter starts again.
func TestScaledIsZeeks(t *testing.T) {
	last := len(scaledThresholds) - 1
	if got, want := scaledThresholds[last], uint32(1410065408); got != want {
		t.Fatalf("last threshold %d, want 10^10 mod 2^32 = %d", got, want)
	}
	for _, tt := range []struct {
		name        string
		fresh       bool   // both zero values, as a new connection has them
		exp         uint8  // else start at this threshold
		below       uint32 // this far below it
		hits        int
		wantLetters int
	}{
		{"from zero", true, 0, 0, 12_000, 5},
		{"at 10^3", false, 3, 5, 20, 1},
		{"at 10^9", false, 9, 5, 20, 1},
		{"at the last threshold, which stays", false, uint8(last), 5, 20, 1},
		{"just after the wrap", false, uint8(last), scaledThresholds[last], 20, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s scaledSet
			var ref zeekScaled
			k := scaledRexmit
			if !tt.fresh {
				s.exp[k], s.cnt[k] = tt.exp, scaledThresholds[tt.exp]-tt.below
				ref = zeekScaled{s.cnt[k], scaledThresholds[tt.exp]}
			}
			letters := 0
			for i := range tt.hits {
				got, want := s.hit(k), ref.hit()
				if got != want || s.cnt[k] != ref.cnt || scaledThresholds[s.exp[k]] != ref.thresh {
					t.Fatalf("hit %d: letter %v cnt %d threshold %d, Zeek's %v %d %d",
						i, got, s.cnt[k], scaledThresholds[s.exp[k]], want, ref.cnt, ref.thresh)
				}
				if got {
					letters++
				}
			}
			if letters != tt.wantLetters {
				t.Errorf("%d letters in %d hits, want %d", letters, tt.hits, tt.wantLetters)
			}
			for j := range nScaled {
				if j != k && (s.cnt[j] != 0 || s.exp[j] != 0) {
					t.Errorf("counter %d moved: %d, %d", j, s.cnt[j], s.exp[j])
				}
			}
		})
	}
}

// TestHistoryPacking: every letter of the alphabet reads back as written at
// every position, a letter overwritten leaves its neighbours alone, and
// letters past MaxHistory are dropped.
func TestHistoryPacking(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one", 1},
		{"a word", histPerWord},
		{"a word and one", histPerWord + 1},
		{"full", MaxHistory},
		{"past the bound", MaxHistory + 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for round := range len(histAlphabet) {
				var c Conn
				var want []byte
				for i := range tt.n {
					b := histAlphabet[(round+i)%len(histAlphabet)]
					if round > 0 {
						b = histAlphabet[rng.IntN(len(histAlphabet))]
					}
					c.addByte(b)
					if len(want) < MaxHistory {
						want = append(want, b)
					}
				}
				if got := c.history(); got != string(want) {
					t.Fatalf("history %q, want %q", got, want)
				}
				if len(want) > 1 {
					i := rng.IntN(len(want))
					b := histAlphabet[rng.IntN(len(histAlphabet))]
					c.setLetter(i, b)
					want[i] = b
					if got := c.history(); got != string(want) {
						t.Fatalf("after letter %d set to %c: history %q, want %q", i, b, got, want)
					}
				}
			}
		})
	}
	for _, b := range []byte("CWTIQSHFRDAG") {
		if !strings.ContainsRune(histAlphabet, rune(b)) || !strings.ContainsRune(histAlphabet, rune(b+'a'-'A')) {
			t.Errorf("letter %c or its lower case is not in the alphabet", b)
		}
	}
}

// TestTimerOrder: the ranks order the armed timers as the sequence numbers
// Zeek's queue would give them, through random arming, clearing and
// cancelling.
func TestTimerOrder(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 0))
		var c Conn
		var seq [nTimers]uint64
		var next uint64
		for step := range 5000 {
			switch op := rng.IntN(10); {
			case op < 7:
				k := rng.IntN(nTimers)
				next++
				seq[k] = next
				c.setTimer(k, 0)
			case op < 9:
				c.clearTimer(rng.IntN(nTimers))
			default:
				c.cancelAnalyzerTimers()
			}
			for i := range nTimers {
				for j := range nTimers {
					if i == j || c.timerSet&(1<<i) == 0 || c.timerSet&(1<<j) == 0 {
						continue
					}
					if (c.rank(i) < c.rank(j)) != (seq[i] < seq[j]) {
						t.Fatalf("seed %d step %d: timers %d and %d ranked %d, %d, set as %d, %d",
							seed, step, i, j, c.rank(i), c.rank(j), seq[i], seq[j])
					}
				}
			}
		}
	}
}
