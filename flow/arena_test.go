package flow

import (
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// TestPointerFree: what decides whether a slab lives out of the Go heap.
// The connections, their IPv6 address pairs and the index must: they are
// the bulk of a flood.
func TestPointerFree(t *testing.T) {
	for _, tc := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[Conn](), true},
		{reflect.TypeFor[addrPair](), true},
		{reflect.TypeFor[uint64](), true},
		{reflect.TypeFor[[4]struct{ a, b uint32 }](), true},
		{reflect.TypeFor[state](), false}, // fsm.Conn's rare evidence
		{reflect.TypeFor[zeek.Conn](), false},
		{reflect.TypeFor[netip.Addr](), false},
		{reflect.TypeFor[[]byte](), false},
		{reflect.TypeFor[string](), false},
		{reflect.TypeFor[[1]*int](), false},
		{reflect.TypeFor[[0]*int](), true},
	} {
		if got := pointerFree(tc.t); got != tc.want {
			t.Errorf("pointerFree(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

// floodTable is a table holding n lone SYNs.
func floodTable(n int) *Table {
	tb := New(Config{MaxConns: 2 * n})
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(32768+i%28000))
		tb.Add(pkt(c, srv, syn, 100, 0, int64(i)))
	}
	return tb
}

// TestFloodOutOfHeap: a flood's connections and their index are held out
// of the Go heap, where the collector's goal does not double them; and
// the table gives that memory back when flushed.
func TestFloodOutOfHeap(t *testing.T) {
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := floodTable(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	out := float64(tb.arena.size()) / n
	if heap > 16 || out < 72 {
		t.Errorf("a lone SYN holds %.1f B of heap and %.1f B out of it; want at most 16 in it, and its connection (72 B) out", heap, out)
	}
	tb.Flush()
	if got, want := tb.arena.size(), minIndexSlots*8; got != want {
		t.Errorf("flushed, the table holds %d bytes out of the heap, want %d (an empty index)", got, want)
	}
	runtime.KeepAlive(tb)
}

// TestArenaGoesWithItsTable: a table dropped without a flush (an analysis
// cut short) gives its memory back once collected.
func TestArenaGoesWithItsTable(t *testing.T) {
	a := floodTable(10_000).arena
	if a.size() == 0 {
		t.Fatal("the table holds nothing out of the heap")
	}
	for range 100 {
		runtime.GC()
		time.Sleep(time.Millisecond) // cleanups run on their own goroutine
		if a.size() == 0 {
			return
		}
	}
	t.Errorf("a dropped table still holds %d bytes out of the heap", a.size())
}
