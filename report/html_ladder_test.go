package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// ladderShape writes lines as "s" for a segment (with its time when
// withTime), "~N" for a fold of N segments and "+N" for N cut, and checks
// that they account for every one of want segments.
func ladderShape(t *testing.T, lines []hline, want int, withTime bool) string {
	t.Helper()
	var parts []string
	total := 0
	for _, l := range lines {
		switch l.kind {
		case lineSegment:
			total++
			if withTime {
				parts = append(parts, fmt.Sprintf("s%d", l.seg.time))
			} else {
				parts = append(parts, "s")
			}
		case lineFold:
			total += l.count.segs
			parts = append(parts, fmt.Sprintf("~%d", l.count.segs))
		case lineCut:
			total += l.count.segs
			parts = append(parts, fmt.Sprintf("+%d", l.count.segs))
		}
	}
	if total != want {
		t.Errorf("the lines account for %d segments, want %d", total, want)
	}
	return strings.Join(parts, " ")
}

// plainSeg and oddSeg are segments of an established connection: data
// that changes nothing, and a retransmission.
func plainSeg(at int64) *TraceLine {
	est := [2]fsm.State{fsm.Established, fsm.Established}
	return &TraceLine{Seg: fsm.Segment{Time: at, Flags: fsm.ACK | fsm.PSH, Len: 100},
		Result: fsm.StepResult{Kind: fsm.KindNewData, Before: est, After: est}}
}

func oddSeg(at int64) *TraceLine {
	l := plainSeg(at)
	l.Result.Kind = fsm.KindRetransmission
	return l
}

// TestHTMLLadderFoldsLikeText: a run of more than foldAbove plain
// segments keeps its first foldHead and last foldTail, as the text ladder
// draws it; shorter runs are drawn whole; a segment that is not plain
// ends a run and is always drawn, however long the runs around it.
func TestHTMLLadderFoldsLikeText(t *testing.T) {
	for _, c := range []struct {
		name  string
		segs  string // p: plain, o: odd, n: plain but an anomaly's first
		shape string
	}{
		{"an anomaly's first segment ends a run", "pppppppppnpppppppppp", "s s s ~4 s s s s s s ~5 s s"},
		{"short run", strings.Repeat("p", foldAbove), strings.TrimSpace(strings.Repeat("s ", foldAbove))},
		{"one too many", strings.Repeat("p", foldAbove+1), "s s s ~4 s s"},
		{"odd between long runs", "o" + strings.Repeat("p", 10_000) + "o" + strings.Repeat("p", 10_000) + "o",
			"s s s s ~9995 s s s s s s ~9995 s s s"},
		{"odd ones end runs", "pppppppppoppppppppppo", "s s s ~4 s s s s s s ~5 s s s"},
	} {
		l := newLadder(htmlLadderLines)
		for i, s := range c.segs {
			switch s {
			case 'o':
				l.add(oddSeg(int64(i)))
			case 'n':
				seg := plainSeg(int64(i))
				seg.Result.Noted = true
				l.add(seg)
			default:
				l.add(plainSeg(int64(i)))
			}
		}
		if got := ladderShape(t, l.lines(), len(c.segs), false); got != c.shape {
			t.Errorf("%s: %s, want %s", c.name, got, c.shape)
		}
	}
}

// TestHTMLLadderIsBounded: a connection of many segments that are not
// plain keeps its first and last htmlLadderLines/2 lines, and counts the
// ones between in one line.
func TestHTMLLadderIsBounded(t *testing.T) {
	l := newLadder(htmlLadderLines)
	const n = 1000
	for i := range n {
		l.add(oddSeg(int64(i)))
	}
	lines := l.lines()
	var want []string
	for i := range htmlLadderLines / 2 {
		want = append(want, fmt.Sprintf("s%d", i))
	}
	want = append(want, fmt.Sprintf("+%d", n-htmlLadderLines))
	for i := n - htmlLadderLines/2; i < n; i++ {
		want = append(want, fmt.Sprintf("s%d", i))
	}
	if got := ladderShape(t, lines, n, true); got != strings.Join(want, " ") {
		t.Errorf("lines %s\nwant %s", got, strings.Join(want, " "))
	}
	if len(lines) != htmlLadderLines+1 {
		t.Errorf("%d lines, want %d", len(lines), htmlLadderLines+1)
	}
}

// TestHTMLLadderEncoding: the encoding leaves out what the page can work
// out (sequence numbers that follow on, a window or states unchanged, no
// note) and writes the rest in base 36.
func TestHTMLLadderEncoding(t *testing.T) {
	cl := [2]fsm.State{fsm.SynSent, fsm.Listen}
	rcvd := [2]fsm.State{fsm.SynSent, fsm.SynRcvd}
	est := [2]fsm.State{fsm.Established, fsm.Established}
	trace := []*TraceLine{
		{Seg: fsm.Segment{Time: 1_000_000_000, Dir: fsm.FromClient, Flags: fsm.SYN, Seq: 5000, Window: 64240},
			Result: fsm.StepResult{Before: cl, After: cl}},
		{Seg: fsm.Segment{Time: 1_000_100_400, Dir: fsm.FromServer, Flags: fsm.SYN | fsm.ACK, Seq: 9000, Ack: 5001, Window: 65160},
			Result: fsm.StepResult{Before: cl, After: rcvd}},
		{Seg: fsm.Segment{Time: 1_000_200_600, Dir: fsm.FromClient, Flags: fsm.ACK, Seq: 5001, Ack: 9001, Window: 64240},
			Result: fsm.StepResult{Before: rcvd, After: est}},
		{Seg: fsm.Segment{Time: 1_000_200_600, Dir: fsm.FromClient, Flags: fsm.ACK | fsm.PSH, Seq: 5001, Ack: 9001, Len: 36, Window: 501},
			Result: fsm.StepResult{Kind: fsm.KindNewData, Before: est, After: est}},
		{Seg: fsm.Segment{Time: 1_300_000_000, Dir: fsm.FromClient, Flags: fsm.ACK | fsm.PSH, Seq: 5001, Ack: 9001, Len: 36, Window: 501},
			Result: fsm.StepResult{Kind: fsm.KindRetransmission, Before: est, After: est}},
	}
	l := newLadder(htmlLadderLines)
	for _, tl := range trace {
		l.add(tl)
	}
	var tab htmlTables
	anomalies := []fsm.Anomaly{{Name: "late", Time: 1_300_000_000, Dir: fsm.FromClient}}
	got := string(tab.encodeLadder(nil, &l.seqBase, l.lines(), anomalies))
	// µs since the previous, flags·2+dir, len, window, states, seq, ack, note
	want := strings.Join([]string{
		"0,0,,1dkg,0",        // SYN: window 64240, states 0
		"2s,3,,1ea0,1",       // SYN/ACK 100 µs later (100.4 rounds down): window 65160, states 1
		"2t,4,,,2",           // ACK at 201 µs (200.6 rounds up): window as before, states 2
		"0,6,10,dx",          // PSH/ACK: len 36, window 501
		"6fbr,6,10,,,-10,,0", // 299,799 µs later, 36 back in sequence: note 0
	}, ";")
	if got != want {
		t.Errorf("encoded %q\nwant    %q", got, want)
	}
	if !slices.Equal(tab.notes.values, []string{"retransmission ! late"}) {
		t.Errorf("notes %q", tab.notes.values)
	}
	var flags []string
	for _, f := range tab.flags.values {
		flags = append(flags, flagWord(f))
	}
	if !slices.Equal(flags, []string{"SYN", "SYN/ACK", "ACK", "PSH/ACK"}) {
		t.Errorf("flags %q", flags)
	}
}

// TestTimelineStartsAreBounded: past htmlTimelineStarts connections the
// timeline keeps a regular sample, each standing for weight of them.
func TestTimelineStartsAreBounded(t *testing.T) {
	var h htmlReporter
	const n = 3*htmlTimelineStarts + 5
	for i := range n {
		h.addStart(timelineStart{first: int64(i)})
	}
	if len(h.starts) > htmlTimelineStarts || h.weight != 4 {
		t.Fatalf("%d starts kept, weight %d; want at most %d, weight 4", len(h.starts), h.weight, htmlTimelineStarts)
	}
	for i, s := range h.starts {
		if s.first != int64(i*h.weight) {
			t.Fatalf("start %d is connection %d, want %d: not a regular sample", i, s.first, i*h.weight)
		}
	}
	if got := len(h.starts) * h.weight; got < n-h.weight || got > n+h.weight {
		t.Errorf("the sample stands for %d connections, want about %d", got, n)
	}
}
