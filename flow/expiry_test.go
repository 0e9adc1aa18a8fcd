package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
)

// TestQueueOrder drives a queue with random operations, keys that grow as
// packets would make them (often the newest, often not: time steps back,
// small and large), and after each checks front, sorted and all against
// the connections sorted by key.
func TestQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var s slab[Conn]
		q := queue{inOrder: list{s: &s}}
		var in []*Conn // in q
		clock, index := int64(1e9), uint64(0)
		for op := range 300 {
			index++
			switch r := rng.IntN(10); {
			case r < 3 || len(in) == 0: // a new connection
				r, _ := s.alloc()
				c := s.at(r)
				*c = Conn{self: r, at: packetTime(rng, &clock), lastIndex: index}
				q.push(c)
				in = append(in, c)
			case r < 4: // one leaves
				i := rng.IntN(len(in))
				q.remove(in[i])
				s.release(in[i].self)
				in = slices.Delete(in, i, i+1)
			default: // a packet: the latest time is a maximum
				c := in[rng.IntN(len(in))]
				c.at, c.lastIndex = max(c.at, packetTime(rng, &clock)), index
				q.update(c)
			}
			want := slices.SortedFunc(slices.Values(in), func(a, b *Conn) int {
				if a.dueKey().less(b.dueKey()) {
					return -1
				}
				return 1
			})
			got := slices.Collect(q.sorted())
			if !slices.Equal(got, want) {
				t.Fatalf("round %d op %d: sorted %v, want %v", round, op, keys(got), keys(want))
			}
			if front := q.front(); len(want) > 0 && front != want[0] || len(want) == 0 && front != nil {
				t.Fatalf("round %d op %d: front %v, want %v", round, op, keys([]*Conn{front}), keys(want[:min(1, len(want))]))
			}
			all := slices.Collect(q.all())
			if len(all) != len(in) {
				t.Fatalf("round %d op %d: all yields %d, want %d", round, op, len(all), len(in))
			}
			for i, it := range q.late {
				if c := s.at(it.c); c.next != inHeap || c.prev != ref(i+1) || it.key != c.dueKey() {
					t.Fatalf("round %d op %d: heap item %d is marked %d/%d, key %v of %v", round, op, i, c.prev, c.next, it.key, c.dueKey())
				}
			}
		}
	}
}

// packetTime moves the clock on, or now and then back, and returns a
// packet time near it.
func packetTime(rng *rand.Rand, clock *int64) int64 {
	switch r := rng.IntN(20); {
	case r == 0:
		*clock -= 10e9 // an NTP step back
	case r < 4:
		return *clock - rng.Int64N(5e9) // a packet from before: reordered
	default:
		*clock += rng.Int64N(1e6)
	}
	return *clock
}

func keys(cs []*Conn) []string {
	var out []string
	for _, c := range cs {
		if c == nil {
			out = append(out, "nil")
			continue
		}
		out = append(out, fmt.Sprintf("%d/%d", c.at, c.lastIndex))
	}
	return out
}

// TestTimeGoingBackKeepsExpiryOrder: after the capture's clock steps back
// 10 s, connections still expire in the order of their latest packets and
// at their deadlines.
func TestTimeGoingBackKeepsExpiryOrder(t *testing.T) {
	const n = 50
	var order []uint64
	tb := New(Config{IdleTimeout: int64(20 * time.Second), Done: func(r *Record) { order = append(order, r.ID) }})
	g := newTrafficGen(n)
	var p capture.Packet
	ms := int64(0)
	for i := range 4 * n {
		g.packet(i, &p, 1_700_000_000e9+ms*1e6)
		tb.Add(&p)
		ms += 10
	}
	// The clock steps back 10 s, then connections n-1 … 0 each send one
	// more packet: the last one to speak, #1, is due last.
	ms -= 10_000
	for i := n - 1; i >= 0; i-- {
		g.packet(4*n+i, &p, 1_700_000_000e9+ms*1e6)
		p.Src, p.Dst, p.SrcPort, p.DstPort = g.clients[i].Addr(), srv.Addr(), g.clients[i].Port(), srv.Port()
		tb.Add(&p)
		ms += 10
	}
	tb.Advance(1_700_000_000e9 + 100_000e6)
	if len(order) != n {
		t.Fatalf("%d connections expired, want %d", len(order), n)
	}
	// Every connection's latest time is its packet before the step (the
	// later one is older), so they expire in the order of those: #1 first.
	for i, id := range order {
		if id != uint64(i+1) {
			t.Fatalf("expiry order %v, want 1…%d", order, n)
		}
	}
}

// trafficGen makes established connections' packets without allocating:
// n clients of srv, each with its handshake done by its first packets.
type trafficGen struct {
	clients []netip.AddrPort
}

func newTrafficGen(n int) *trafficGen {
	g := &trafficGen{}
	for i := range n {
		g.clients = append(g.clients, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(32768+i%28000)))
	}
	return g
}

// packet fills p with packet i of the round-robin over the clients, at
// time at: for each client its SYN, the SYN/ACK, the ACK, then data both
// ways.
func (g *trafficGen) packet(i int, p *capture.Packet, at int64) {
	n := len(g.clients)
	c, round := g.clients[i%n], uint32(i/n)
	*p = capture.Packet{
		Index: uint64(i + 1), Timestamp: time.Unix(0, at), Src: c.Addr(), Dst: srv.Addr(), SrcPort: c.Port(), DstPort: srv.Port(),
		Window: 65535, IPLen: 40, WindowScale: -1,
	}
	switch {
	case round == 0:
		p.Flags, p.Seq = syn, 100
	case round == 1:
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		p.Flags, p.Seq, p.Ack = synack, 500, 101
	case round%2 == 0:
		p.Flags, p.Seq, p.Ack, p.PayloadLen = ack|capture.FlagPSH, 101+(round-2)/2*100, 501, 100
	default:
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		p.Flags, p.Seq, p.Ack = ack, 501, 101+(round-1)/2*100
	}
	p.IPLen += p.PayloadLen
}

// BenchmarkTimeGoesBack measures the table's cost per packet when the
// capture's clock goes backwards, against the same packets in time order,
// at 10^5 and 10^6 packets: the cost per packet must not grow with the
// number of packets nor depend on the timestamps.
//
//   - in-order: 20,000 established connections, round robin, 1 µs apart;
//   - step-back: the same, but the clock steps back 10 s every 1,000
//     packets (every packet after the first thousand is older than the
//     capture's clock);
//   - ntp-step: the same, with one step back of 10 s once the handshakes
//     are done, after the first 60,000 packets (an NTP correction), so
//     that 40,000 or 940,000 packets come after it;
//   - lone-syns-in-order: SYNs to distinct clients, 1 µs apart;
//   - lone-syns-back: the same, each stamped 1 µs earlier than the one
//     before.
func BenchmarkTimeGoesBack(b *testing.B) {
	const conns = 20_000
	base := int64(1_700_000_000e9)
	shapes := []struct {
		name string
		lone bool
		at   func(i int) int64
	}{
		{"in-order", false, func(i int) int64 { return base + int64(i)*1e3 }},
		{"step-back", false, func(i int) int64 { return base + int64(i)*1e3 - int64(i/1000)*10e9 }},
		{"ntp-step", false, func(i int) int64 {
			if i >= 3*conns {
				return base + int64(i)*1e3 - 10e9
			}
			return base + int64(i)*1e3
		}},
		{"lone-syns-in-order", true, func(i int) int64 { return base + int64(i)*1e3 }},
		{"lone-syns-back", true, func(i int) int64 { return base - int64(i)*1e3 }},
	}
	for _, shape := range shapes {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
				g := newTrafficGen(conns)
				var p capture.Packet
				b.ReportAllocs()
				for range b.N {
					tb := New(Config{IdleTimeout: -1})
					for i := range n {
						if shape.lone {
							c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
							p = capture.Packet{Index: uint64(i + 1), Timestamp: time.Unix(0, shape.at(i)),
								Src: c.Addr(), Dst: srv.Addr(), SrcPort: c.Port(), DstPort: srv.Port(),
								Flags: syn, Seq: 1, Window: 65535, IPLen: 40, WindowScale: -1}
						} else {
							g.packet(i, &p, shape.at(i))
						}
						tb.Add(&p)
					}
					tb.Flush()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
			})
		}
	}
}
