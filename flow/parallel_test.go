package flow

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/internal/golden"
)

// replay runs packets through a Table (shards == 1) or a Parallel and
// returns everything it reported, as text.
func replay(pkts []capture.Packet, cfg Config, shards int) string {
	var b, cb strings.Builder
	cfg.Done = func(rec *Record) { fmt.Fprintf(&b, "%+v\n", *rec) }
	// A census is delivered once, during Add or Flush: when is not part
	// of the interface, so it is compared apart.
	cfg.Census = func(c *Census) {
		fmt.Fprintf(&cb, "census %d\n", c.At)
		for _, a := range slices.SortedFunc(maps.Keys(c.Hosts), netip.Addr.Compare) {
			fmt.Fprintf(&cb, "  %s %+v\n", a, *c.Hosts[a])
		}
	}
	var st Stats
	if shards == 1 {
		t := New(cfg)
		for i := range pkts {
			if pkts[i].IsICMPError() {
				t.AddICMPError(&pkts[i])
				continue
			}
			t.Add(&pkts[i])
		}
		t.Flush()
		st = t.Stats()
	} else {
		p := NewParallel(cfg, shards)
		for i := range pkts {
			if pkts[i].IsICMPError() {
				p.AddICMPError(&pkts[i])
				continue
			}
			p.Add(&pkts[i])
		}
		p.Flush()
		st = p.Stats()
	}
	fmt.Fprintf(&b, "%+v\n", st)
	return b.String() + cb.String()
}

func readCapture(t *testing.T, path string) []capture.Packet {
	t.Helper()
	r, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []capture.Packet
	var p capture.Packet
	for r.Next(&p) == nil {
		out = append(out, p)
	}
	return out
}

// manyConnections builds a capture of n connections from many clients to a
// few servers, overlapping, some finishing, some left open or half-open,
// with idle gaps long enough for short idle timeouts to expire some, and
// timestamps that now and then go backwards.
func manyConnections(n int) []capture.Packet {
	var pkts []capture.Packet
	base := time.Unix(1_700_000_000, 0)
	at := int64(0)
	add := func(a, b netip.AddrPort, flags capture.TCPFlags, seq, ack uint32) {
		p := pkt(a, b, flags, seq, ack, 0)
		at += 3e6 // 3 ms
		ts := at
		if len(pkts)%97 == 0 {
			ts -= 5e6 // a packet stamped before the one before it
		}
		p.Timestamp = base.Add(time.Duration(ts))
		p.Index = uint64(len(pkts) + 1)
		pkts = append(pkts, *p)
	}
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(40000+i%7))
		s := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i % 3)}), 9502)
		add(c, s, syn, 100, 0)
		switch i % 5 {
		case 0: // a lone SYN
		case 1: // refused
			add(s, c, rst|ack, 0, 101)
		default:
			add(s, c, synack, 500, 101)
			add(c, s, ack, 101, 501)
			if i%5 == 3 {
				add(c, s, finack, 101, 501)
				add(s, c, finack, 501, 102)
				add(c, s, ack, 102, 502)
			}
		}
		if i%40 == 39 {
			at += 2e9 // a quiet spell
		}
	}
	return pkts
}

// TestParallelIsTheSame: shards give exactly the records, census and
// statistics of one table, in the same order, on every kernel capture and
// on a generated one with expiries, censuses and time going backwards.
func TestParallelIsTheSame(t *testing.T) {
	captures, err := filepath.Glob("../testdata/kernel/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		name string
		pkts []capture.Packet
	}
	var inputs []input
	for _, path := range captures {
		if !strings.Contains(path, ".golden.") {
			inputs = append(inputs, input{filepath.Base(path), readCapture(t, path)})
		}
	}
	inputs = append(inputs, input{"generated", manyConnections(6000)})
	configs := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"zeek", Config{Zeek: true}},
		{"zeek records", Config{ZeekRecords: true}},
		{"idle 1s, census at 2s", Config{IdleTimeout: 1e9, CensusAt: 2e9, CensusFromStart: true}},
	}
	for _, in := range inputs {
		for _, c := range configs {
			want := replay(in.pkts, c.cfg, 1)
			for _, n := range []int{2, 3} {
				if got := replay(in.pkts, c.cfg, n); got != want {
					t.Errorf("%s, %s, %d shards: differs from one table:\n%s", in.name, c.name, n, golden.Diff(want, got))
				}
			}
		}
	}
}

// TestParallelCensusPastTheHostBound: with more hosts than a census names
// (a flood from spoofed sources), which hosts are named and what is counted
// under :: is still the same with shards as with one table.
func TestParallelCensusPastTheHostBound(t *testing.T) {
	pkts := pastTheHostBound()
	want := replay(pkts, Config{}, 1)
	if !strings.Contains(want, "\n  :: ") {
		t.Fatalf("one table: no hosts counted under ::, the test does not reach the bound")
	}
	if !strings.Contains(want, "\n  192.0.2.80 ") {
		t.Errorf("one table: the server is not named in the census")
	}
	for _, n := range []int{2, 3} {
		if got := replay(pkts, Config{}, n); got != want {
			t.Errorf("%d shards: differs from one table:\n%s", n, golden.Diff(want, got))
		}
	}
}

// pastTheHostBound is a SYN flood from more sources than a census tells
// apart, a third of them answered.
func pastTheHostBound() []capture.Packet {
	var pkts []capture.Packet
	base := time.Unix(1_700_000_000, 0)
	server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 80}), 80)
	for i := range maxCensusHosts + 3000 {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		if i%2 == 1 {
			// Spread the sources over the address space, out of order.
			c = netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, byte(i), byte(i >> 8), byte(i >> 16)}), 40000)
		}
		p := pkt(c, server, syn, 100, 0, 0)
		p.Timestamp = base.Add(time.Duration(i) * time.Microsecond)
		p.Index = uint64(len(pkts) + 1)
		pkts = append(pkts, *p)
		if i%3 == 0 {
			p = pkt(server, c, synack, 500, 101, 0)
			p.Timestamp = base.Add(time.Duration(i)*time.Microsecond + 500)
			p.Index = uint64(len(pkts) + 1)
			pkts = append(pkts, *p)
		}
	}
	return pkts
}

// TestBottomKIgnoresOrder: the keys kept, their values and the rest are
// the same whatever order the keys come in, and when two halves are merged.
func TestBottomKIgnoresOrder(t *testing.T) {
	add := func(into, from *int) { *into += *from }
	keys := make([]int, 0, 300)
	for i := range 300 {
		keys = append(keys, (i*7919)%211) // repeats, out of order
	}
	fill := func(b *bottomK[int, int], ks []int) {
		for _, k := range ks {
			*b.get(k) += k + 1
		}
	}
	describe := func(b *bottomK[int, int]) string {
		var s strings.Builder
		for _, k := range slices.Sorted(maps.Keys(b.m)) {
			fmt.Fprintf(&s, "%d=%d ", k, *b.m[k])
		}
		fmt.Fprintf(&s, "rest=%d", b.rest)
		return s.String()
	}
	forward := newBottomK(20, cmp.Compare[int], add)
	fill(forward, keys)
	backward := newBottomK(20, cmp.Compare[int], add)
	reversed := slices.Clone(keys)
	slices.Reverse(reversed)
	fill(backward, reversed)
	halves := newBottomK(20, cmp.Compare[int], add)
	other := newBottomK(20, cmp.Compare[int], add)
	fill(halves, keys[:150])
	fill(other, keys[150:])
	halves.merge(other)

	want := describe(forward)
	if len(forward.m) != 20 || !strings.HasPrefix(want, "0=") {
		t.Fatalf("forward: %s: want the 20 smallest keys", want)
	}
	for name, b := range map[string]*bottomK[int, int]{"backward": backward, "merged halves": halves} {
		if got := describe(b); got != want {
			t.Errorf("%s: %s\nwant %s", name, got, want)
		}
	}
}

// TestIDMap opens and ends connections, a few of them long-lived, and checks
// every id against a plain map, and that the window stays short; also
// where the capture's ids leap by more than the window's 32 bits hold
// (another shard's four billion connections in between).
func TestIDMap(t *testing.T) {
	for _, tt := range []struct {
		name   string
		global func(local uint64) uint64
	}{
		{"steady", func(local uint64) uint64 { return local*3 + 7 }},
		{"leaps", func(local uint64) uint64 { return local*3 + 7 + local/50_000*(1<<32+5) }},
	} {
		var m idMap
		want := map[uint64]uint64{}
		var open []uint64 // shard ids still open, oldest first
		next := uint64(1)
		for step := range 200_000 {
			m.add(next, tt.global(next))
			want[next] = tt.global(next)
			open = append(open, next)
			next++
			if len(open) > 50 {
				// End the oldest but one, except every 1000th, which stays
				// open to the end.
				i := 1
				if open[i]%1000 == 0 {
					i = 2
				}
				local := open[i]
				open = slices.Delete(open, i, i+1)
				if got := m.take(local); got != want[local] {
					t.Fatalf("%s, step %d: take(%d) = %d, want %d", tt.name, step, local, got, want[local])
				}
				delete(want, local)
			}
			if len(m.win) > 2*len(want)+2048 {
				t.Fatalf("%s, step %d: window of %d for %d open", tt.name, step, len(m.win), len(want))
			}
		}
		for _, local := range open {
			if got := m.take(local); got != want[local] {
				t.Fatalf("%s, at the end: take(%d) = %d, want %d", tt.name, local, got, want[local])
			}
		}
		if m.open != 0 || len(m.far) != 0 {
			t.Errorf("%s: after taking every id: %d open in the window, %d in the map", tt.name, m.open, len(m.far))
		}
	}
}

// makeKey returns p's key and whether p's source is the key's lo endpoint,
// as plainly as it can be written: entry.pack builds the key in place.
func makeKey(p *capture.Packet) (key, bool) {
	src, dst := p.Src.As16(), p.Dst.As16()
	if less(src, p.SrcPort, dst, p.DstPort) {
		return key{loAddr: src, hiAddr: dst, loPort: p.SrcPort, hiPort: p.DstPort}, true
	}
	return key{loAddr: dst, hiAddr: src, loPort: p.DstPort, hiPort: p.SrcPort}, false
}

// TestEntryKeepsWhatTheTableReads: a packet packed for the table keeps
// every field the table reads, for IPv4, IPv6 and IPv4-mapped IPv6
// addresses, in both directions.
func TestEntryKeepsWhatTheTableReads(t *testing.T) {
	for _, addrs := range [][2]string{
		{"10.0.0.1", "192.0.2.7"},
		{"2001:db8::1", "2001:db8::2"},
		{"::ffff:10.0.0.1", "::ffff:192.0.2.7"},
	} {
		for _, swap := range []bool{false, true} {
			a, b := netip.MustParseAddr(addrs[0]), netip.MustParseAddr(addrs[1])
			if swap {
				a, b = b, a
			}
			p := capture.Packet{
				Index: 77, Timestamp: time.Unix(1_700_000_000, 123_456_789),
				Src: a, Dst: b, SrcPort: 40000, DstPort: 443, IPLen: 65575,
				Seq: 0xfffffff0, Ack: 7, Flags: capture.FlagSYN | capture.FlagACK | capture.FlagNS, Window: 65535,
				PayloadLen: 65515, CapturedPayload: 1200, Truncated: true, OptionsTruncated: true, BadChecksum: true,
				MSS: 1460, WindowScale: 7, SACKPermitted: true, HasTimestamp: true, TSVal: 1, TSEcr: 0xffffffff,
			}
			var e entry
			e.pack(&p, 5)
			k, srcIsLo := makeKey(&p)
			if e.key != k || e.srcIsLo != srcIsLo {
				t.Errorf("%v swapped %v: key %+v (source is lo: %v), want %+v (%v)", addrs, swap, e.key, e.srcIsLo, k, srcIsLo)
			}
			name := fmt.Sprintf("%v swapped %v", addrs, swap)
			if src, dst := e.ports(); src != p.SrcPort || dst != p.DstPort {
				t.Errorf("%s: ports %d, %d, want %d, %d", name, src, dst, p.SrcPort, p.DstPort)
			}
			if e.is4 != p.Src.Is4() || e.ts != p.Timestamp.UnixNano() || e.now != 5 || e.index != p.Index ||
				e.badChecksum != p.BadChecksum || int(e.captured) != p.CapturedPayload {
				t.Errorf("%s: entry %+v lost a field of %+v", name, e, p)
			}
			var got fsm.Segment
			new(Table).segment(&got, &Conn{clientIsLo: srcIsLo}, &e)
			want := fsm.Segment{
				Time: p.Timestamp.UnixNano(), Dir: fsm.FromClient, Flags: fsm.Flags(p.Flags),
				Seq: p.Seq, Ack: p.Ack, Window: p.Window, Len: p.PayloadLen, IPLen: p.IPLen,
				MSS: p.MSS, WindowScale: p.WindowScale, SACKOK: p.SACKPermitted, Timestamps: p.HasTimestamp,
			}
			if got != want {
				t.Errorf("%s: segment\n got %+v\nwant %+v", name, got, want)
			}
		}
	}
	if size := unsafe.Sizeof(entry{}); size > 96 {
		t.Errorf("an entry is %d bytes: more than a cache line and a half", size)
	}
}

// TestEntryKeepsTheICMPSender: an ICMP error packed for the table keeps
// its sender, in the fields it has no use for, of either family, and its
// type, code and quoted sequence number.
func TestEntryKeepsTheICMPSender(t *testing.T) {
	for _, tt := range []struct{ quoted, from string }{
		{"10.0.0.1", "192.0.2.254"},
		{"10.0.0.1", "255.255.255.255"},
		{"2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"},
		{"2001:db8::1", "fe80::1"},
	} {
		a := netip.MustParseAddr(tt.quoted)
		p := capture.Packet{
			Index: 9, Timestamp: time.Unix(1_700_000_000, 0), Src: a, Dst: a.Next(), SrcPort: 40000, DstPort: 80,
			Seq: 0xfffffff0, Ack: 7, IPLen: 56, PayloadLen: 3, CapturedPayload: 3,
			ICMP: capture.ICMPError{From: netip.MustParseAddr(tt.from), Type: 3, Code: 13},
		}
		var e entry
		e.pack(&p, 5)
		if !e.icmpError() || e.icmpSender() != p.ICMP.From || e.icmpType != 3 || e.icmpCode != 13 || e.seq != p.Seq {
			t.Errorf("%s from %s: entry %+v: sender %s, type %d, code %d, seq %d", tt.quoted, tt.from, e, e.icmpSender(), e.icmpType, e.icmpCode, e.seq)
		}
	}
}

// TestGapsAreCrossedInSteps: when the clock jumps, the connections that
// come due in the gap leave over several rounds, not all in the round of
// the packet after it, where each would wait as a record to be merged.
func TestGapsAreCrossedInSteps(t *testing.T) {
	var pkts []capture.Packet
	const n = 6000
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 40000)
		// A refused connection every millisecond: each due 5 s later.
		for _, p := range []*capture.Packet{pkt(c, srv, syn, 100, 0, int64(i)), pkt(srv, c, rst|ack, 0, 101, int64(i))} {
			p.Index = uint64(len(pkts) + 1)
			pkts = append(pkts, *p)
		}
	}
	last := pkt(cli, srv, syn, 100, 0, 120_000) // two minutes later
	last.Index = uint64(len(pkts) + 1)
	pkts = append(pkts, *last)

	want := replay(pkts, Config{}, 1)
	p := NewParallel(Config{Done: func(*Record) {}}, 2)
	for i := range pkts {
		p.Add(&pkts[i])
	}
	p.Flush()
	if p.largestOutput > n/2/2 {
		t.Errorf("a shard produced %d items in one round; want the %d that came due in the gap spread over rounds", p.largestOutput, n)
	}
	if got := replay(pkts, Config{}, 2); got != want {
		t.Errorf("2 shards differ from one table:\n%s", golden.Diff(want, got))
	}
}

// TestFloodRoundsShrink: where connections end as fast as packets come
// (a flood of SYNs, each given up 50 ms later), the rounds shrink until
// each produces about recordBudget records, which wait in memory until
// merged, instead of one a packet of a full round; and they grow back
// once the flood is over. The output is one table's.
func TestFloodRoundsShrink(t *testing.T) {
	var pkts []capture.Packet
	add := func(p *capture.Packet) {
		p.Index = uint64(len(pkts) + 1)
		pkts = append(pkts, *p)
	}
	const flood = 40_000
	for i := range flood {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)}), uint16(1024+i%60000))
		add(pkt(c, srv, syn, uint32(i), 0, int64(i/100))) // 100 SYNs a millisecond
	}
	// Then an ordinary stretch: a connection every 5 packets.
	for i := range 8000 {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)}), 40000)
		ms := int64(flood/100 + i/10)
		add(pkt(c, srv, syn, 100, 0, ms))
		add(pkt(srv, c, synack, 500, 101, ms))
		add(pkt(c, srv, ack, 101, 501, ms))
		add(pkt(c, srv, ack, 101, 501, ms))
		add(pkt(c, srv, ack, 101, 501, ms))
	}
	cfg := Config{IdleTimeout: int64(50 * time.Millisecond)}
	p := NewParallel(Config{IdleTimeout: cfg.IdleTimeout, Done: func(*Record) {}}, 2)
	for i := range pkts {
		p.Add(&pkts[i])
		if i == flood-1 && p.size > roundSize/4 {
			t.Errorf("rounds of %d packets at the end of the flood, want at most %d", p.size, roundSize/4)
		}
	}
	p.Flush()
	if p.size != roundSize {
		t.Errorf("rounds of %d packets after the flood, want them back at %d", p.size, roundSize)
	}
	if got, want := replay(pkts, cfg, 2), replay(pkts, cfg, 1); got != want {
		t.Errorf("2 shards differ from one table:\n%s", golden.Diff(want, got))
	}
}

// TestShardsShareTheKeys: the shard of a 5-tuple is the same from both
// ends, and random 5-tuples spread evenly over the shards (a shard
// function that favoured one would leave the other cores idle, which no
// comparison of outputs would notice).
func TestShardsShareTheKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{2, 3, 8} {
		counts := make([]int, n)
		const keys = 60_000
		for range keys {
			var a, b [4]byte
			binary.BigEndian.PutUint32(a[:], rng.Uint32())
			binary.BigEndian.PutUint32(b[:], rng.Uint32())
			p := capture.Packet{Src: netip.AddrFrom4(a), Dst: netip.AddrFrom4(b), SrcPort: uint16(rng.Uint32()), DstPort: 443}
			var there, back entry
			there.pack(&p, 0)
			p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			back.pack(&p, 0)
			s := there.key.shard(n)
			if s != back.key.shard(n) {
				t.Fatalf("%v: shard %d one way, %d the other", p, s, back.key.shard(n))
			}
			counts[s]++
		}
		for i, c := range counts {
			if want := keys / n; c < want*9/10 || c > want*11/10 {
				t.Errorf("%d shards: shard %d has %d of %d keys, want about %d: %v", n, i, c, keys, want, counts)
			}
		}
	}
}
