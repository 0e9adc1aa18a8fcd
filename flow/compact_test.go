package flow

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestSlabCompact: compacting a slab keeps every element, moves them
// into the lowest slots (reporting each move), hands the slots above out
// as fresh, zero ones, and keeps one spare chunk.
func TestSlabCompact(t *testing.T) {
	var s slab[[2]int]
	const n = 6 * slabChunk
	for i := range n {
		r, _ := s.alloc()
		*s.at(r) = [2]int{i, int(r)}
	}
	keep := map[int]bool{}
	for i := range n {
		if i%7 == 3 {
			keep[i] = true
			continue
		}
		s.release(ref(i + 1))
	}
	if !s.sparse() {
		t.Fatalf("%d of %d slots used: not sparse", s.live, s.used)
	}
	where := map[ref]ref{} // the slot each moved element came from
	s.compact(func(from, to ref) { where[to] = from })
	if s.used != len(keep) || s.live != len(keep) || len(s.free) != 0 {
		t.Fatalf("after compacting: used %d, live %d, %d free; want %d, %d, 0", s.used, s.live, len(s.free), len(keep), len(keep))
	}
	if want := (len(keep)+slabChunk-1)/slabChunk + 1; len(s.chunks) != want {
		t.Errorf("%d chunks kept, want %d", len(s.chunks), want)
	}
	var got []int
	for r := ref(1); r <= ref(s.used); r++ {
		v := *s.at(r)
		if from, ok := where[r]; ok && ref(v[1]) != from || !ok && ref(v[1]) != r {
			t.Errorf("slot %d holds the element of slot %d; moves reported: %v", r, v[1], where[r])
		}
		got = append(got, v[0])
	}
	slices.Sort(got)
	if len(got) != len(keep) || slices.ContainsFunc(got, func(i int) bool { return !keep[i] }) {
		t.Errorf("the elements kept are %v", got)
	}
	for {
		r, reused := s.alloc()
		if reused {
			t.Fatalf("slot %d handed out as reused after compacting", r)
		}
		if v := *s.at(r); v != [2]int{} {
			t.Fatalf("fresh slot %d holds %v", r, v)
		}
		if int(r) == len(s.chunks)*slabChunk {
			break
		}
	}
}

// TestCompactionChangesNothing: a burst of connections (some closed, in
// TIME_WAIT, some lone SYNs, some going on for minutes) and then the calm
// after it, when most of them left: with the table compacting its slabs,
// the records and the census are exactly those of a table that does not,
// the table's structures stay consistent throughout, and the memory of
// the burst is given back.
func TestCompactionChangesNothing(t *testing.T) {
	type sizes struct{ conns, states, pairs, index int }
	run := func(compact bool) (out []string, calm sizes) {
		was := compaction
		compaction = compact
		defer func() { compaction = was }()
		tb := New(Config{Zeek: true, IdleTimeout: int64(30 * time.Second), Done: func(r *Record) {
			out = append(out, fmt.Sprintf("%+v", *r))
		}})
		const burst = 20_000
		// Every other connection is IPv6, its addresses out of its Conn.
		addr := func(i int) netip.AddrPort {
			if i%2 == 1 {
				return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), uint16(32768+i%28000))
			}
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), uint16(32768+i%28000))
		}
		srv6 := netip.MustParseAddrPort("[2001:db8::2]:9502")
		server := func(i int) netip.AddrPort {
			if i%2 == 1 {
				return srv6
			}
			return srv
		}
		ms := int64(0)
		for i := range burst {
			c := addr(i)
			ms = int64(i) / 20 // 20 connections a millisecond
			tb.Add(pkt(c, server(i), syn, 100, 0, ms))
			if i%5 == 0 {
				continue // a lone SYN
			}
			tb.Add(pkt(server(i), c, synack, 500, 101, ms))
			tb.Add(pkt(c, server(i), ack, 101, 501, ms))
			if i%5 <= 2 {
				// Closed by the client: a tombstone in TIME_WAIT.
				tb.Add(pkt(c, server(i), finack, 101, 501, ms))
				tb.Add(pkt(server(i), c, finack, 501, 102, ms))
				tb.Add(pkt(c, server(i), ack, 102, 502, ms))
			}
			if i%1000 == 1 {
				checkTable(t, tb)
			}
		}
		// The calm: the connections left every few seconds of 10 minutes
		// send a segment each, one in a hundred of those of the burst.
		seq := uint32(101)
		for at := ms + 5000; at < ms+600_000; at += 5000 {
			for i := 4; i < burst; i += 100 {
				if i%700 != 4 {
					tb.Add(pkt(addr(i), server(i), ack, seq, 501, at))
				}
			}
			// Some segments stamped 2.5 s earlier than the latest (merged
			// out of order): their connections wait in the heap of their
			// queue rather than its list.
			for i := 4; i < burst; i += 700 {
				tb.Add(pkt(addr(i), server(i), ack, seq, 501, at-2500))
			}
			seq++
			checkTable(t, tb)
		}
		census := tb.CensusNow(pkt(cli, srv, ack, 0, 0, ms+600_000).Timestamp.UnixNano())
		for _, a := range slices.SortedFunc(maps.Keys(census.Hosts), netip.Addr.Compare) {
			out = append(out, fmt.Sprintf("census %s %+v", a, *census.Hosts[a]))
		}
		calm = sizes{len(tb.slots.chunks), len(tb.states.zeek.chunks), len(tb.pairs.chunks), len(tb.conns.slots)}
		tb.Flush()
		return out, calm
	}
	want, plain := run(false)
	got, compacted := run(true)
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("record %d of %d:\n got %s\nwant %s", i, len(want), got[i], want[i])
			}
		}
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for _, s := range []struct {
		what          string
		plain, packed int
	}{
		{"connection chunks", plain.conns, compacted.conns},
		{"state chunks (with their Zeek views)", plain.states, compacted.states},
		{"IPv6 address chunks", plain.pairs, compacted.pairs},
		{"index slots", plain.index, compacted.index},
	} {
		if 4*s.packed > s.plain {
			t.Errorf("%s: %d after the burst left, against %d without compacting", s.what, s.packed, s.plain)
		}
	}
}

// checkTable checks that every reference in tb leads where it should:
// each connection's own slot, its links in its list or its place in its
// queue's heap, the index, and its state's owner.
func checkTable(t *testing.T, tb *Table) {
	t.Helper()
	n := 0
	check := func(c *Conn) {
		n++
		if tb.slots.at(c.self) != c {
			t.Fatalf("connection %d: self %d is not its slot", c.ID, c.self)
		}
		if k := tb.keyOf(c); tb.conns.get(&k) != c {
			t.Fatalf("connection %d: the index does not find it", c.ID)
		}
		if c.form == formIPv6 && tb.pairs.at(c.addrs.pairRef()).owner != c.self {
			t.Fatalf("connection %d: its address pair's owner is %d, not %d", c.ID, tb.pairs.at(c.addrs.pairRef()).owner, c.self)
		}
		if c.st != 0 && tb.states.at(c.st).owner != c.self {
			t.Fatalf("connection %d: its state's owner is %d, not %d", c.ID, tb.states.at(c.st).owner, c.self)
		}
	}
	for _, l := range []*list{&tb.lru.inOrder, &tb.ended.inOrder, &tb.tombs} {
		prev := ref(0)
		for c := range l.all() {
			if c.prev != prev {
				t.Fatalf("connection %d: prev %d, want %d", c.ID, c.prev, prev)
			}
			prev = c.self
			check(c)
		}
		if l.tail != prev {
			t.Fatalf("a list's tail is %d, its last connection %d", l.tail, prev)
		}
	}
	for _, q := range []*queue{&tb.lru, &tb.ended} {
		for i, it := range q.late {
			c := tb.slots.at(it.c)
			if c.next != inHeap || c.prev != ref(i+1) {
				t.Fatalf("connection %d: heap item %d marked %d/%d", c.ID, i, c.prev, c.next)
			}
			check(c)
		}
	}
	if n != tb.conns.n || n != tb.slots.live {
		t.Fatalf("%d connections in the queues, %d in the index, %d slots live", n, tb.conns.n, tb.slots.live)
	}
}
