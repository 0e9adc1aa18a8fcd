package main

import (
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/internal/minheap"
)

const linkTypeEthernet = 1

// Address plan.
const (
	clients4      = 1 << 16 // IPv4 clients, in 10.0.0.0/8
	clients6      = 1 << 13 // IPv6 clients, in 2001:db8:c::/64
	servers       = 4       // listening servers, 198.51.100.10+i and 2001:db8:5::10+i
	downServer    = servers // 198.51.100.14: the host unanswered SYNs go to
	portLow       = 32768   // Linux's ip_local_port_range
	portCount     = 61000 - portLow
	defaultSnap   = 262144 // the snaplen in the file header without -snaplen: tcpdump's
	floodPort     = 80
	rampGap       = 60_000    // ns: the first connections start 0–60 µs apart
	restartGap    = 1_000_000 // ns: a connection starts 0–1 ms after one ends
	floodOnlyGap  = 10_000    // ns: flood SYNs without connections, 100,000/s
	secondNS      = int64(time.Second)
	millisecondNS = int64(time.Millisecond)
	microsecondNS = int64(time.Microsecond)
)

var floodTarget = [4]byte{198, 51, 100, 10}

// entry is a connection in the queue, keyed by its next packet's time.
type entry struct {
	t    int64
	slot int32
}

// gen is the generator's state.
type gen struct {
	cfg   *config
	w     *capture.PcapWriter
	snap  int
	cum   [numKinds]float64 // cumulative mix, normalised to 1
	pcg   rand.PCG          // reseeded per connection
	rng   *rand.Rand
	slots []conn
	heap  minheap.Heap[entry]
	buf   [1600]byte
	opts  [40]byte
	frame tcpFrame

	scripted  int   // connections scripted so far
	begun     int   // connections whose first packet is written
	lastBegin int64 // when the latest of them began
	t0        int64

	portNext4 []uint16 // per client: ports used so far
	portNext6 []uint16

	flood struct {
		total, done int
		next        int64
		pcg         rand.PCG
		rng         *rand.Rand
		key         uint32
		addr        uint32 // counter behind the distinct source addresses
	}
	n   counts
	err error
}

// generate writes the capture cfg asks for to out.
func generate(cfg *config, out io.Writer) (*manifest, error) {
	snap := cfg.snaplen
	hdrSnap := snap
	if snap == 0 {
		hdrSnap = defaultSnap
	}
	w, err := capture.NewPcapWriter(out, linkTypeEthernet, hdrSnap)
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, w: w, snap: snap, t0: cfg.start.UnixNano()}
	g.rng = rand.New(&g.pcg)
	var total float64
	for k, wt := range cfg.mix {
		total += wt
		g.cum[k] = total
	}
	for k := range g.cum {
		g.cum[k] /= total
	}
	g.portNext4 = make([]uint16, clients4)
	g.portNext6 = make([]uint16, clients6)
	f := &g.flood
	f.total = cfg.synflood
	f.pcg.Seed(cfg.seed, 0x666c6f6f64) // "flood"
	f.rng = rand.New(&f.pcg)
	f.key = f.rng.Uint32()
	f.next = math.MaxInt64
	if f.total > 0 {
		f.next = g.t0
		if cfg.conns > 0 {
			f.next = g.t0 + 1
		}
	}

	nslots := min(cfg.concurrent, cfg.conns)
	g.slots = make([]conn, nslots)
	g.heap = minheap.Heap[entry]{Items: make([]entry, 0, nslots), Less: func(a, b *entry) bool {
		return a.t < b.t || a.t == b.t && a.slot < b.slot
	}}
	at := g.t0
	for i := range nslots {
		c := &g.slots[i]
		c.pkts = make([]pkt, 0, 32)
		at = g.script(c, at, rampGap, i == 0)
		g.heap.Push(entry{c.pkts[0].t, int32(i)})
	}
	g.loop()
	if g.err == nil {
		g.err = w.Flush()
	}
	return g.manifest(), g.err
}

// loop writes every packet in time order: the earliest of the connection
// queue and the flood.
func (g *gen) loop() {
	f := &g.flood
	for g.err == nil && (g.heap.Len() > 0 || f.done < f.total) {
		if f.done < f.total && (g.heap.Len() == 0 || f.next < g.heap.Items[0].t) {
			t := f.next
			g.emitFlood(t)
			f.done++
			g.scheduleFlood(t)
			continue
		}
		e := &g.heap.Items[0]
		c := &g.slots[e.slot]
		p := &c.pkts[c.next]
		if c.next == 0 {
			g.begun++
			g.lastBegin = p.t
		}
		g.emitConn(c, p)
		c.next++
		if c.next < len(c.pkts) {
			e.t = c.pkts[c.next].t
			g.heap.Fix(0)
			continue
		}
		if g.scripted < g.cfg.conns {
			g.script(c, p.t, restartGap, false)
			e.t = c.pkts[0].t
			g.heap.Fix(0)
			continue
		}
		g.heap.Pop()
	}
}

// write appends one frame of wire length n to the capture.
func (g *gen) write(t int64, n int) {
	capLen := n
	if g.snap > 0 && capLen > g.snap {
		capLen = g.snap
	}
	if g.n.packets == 0 {
		g.n.first = t
	}
	g.n.last = t
	g.n.packets++
	g.n.bytes += uint64(n)
	g.n.captured += uint64(capLen)
	if err := g.w.WritePacket(time.Unix(0, t), g.buf[:capLen], n); err != nil && g.err == nil {
		g.err = err
	}
}

// scheduleFlood sets the time of the next flood SYN after one at t. The
// flood keeps pace with the connection starts: SYN k goes out as
// connection k·conns/synflood begins, predicted from the average gap
// between starts so far.
func (g *gen) scheduleFlood(t int64) {
	f := &g.flood
	if f.done >= f.total {
		f.next = math.MaxInt64
		return
	}
	n, m := uint64(g.cfg.conns), uint64(f.total)
	switch {
	case n == 0:
		f.next = t + floodOnlyGap/2 + f.rng.Int64N(floodOnlyGap)
	case g.begun == 0:
		f.next = t + 1
	case g.begun >= g.cfg.conns:
		// Every connection has begun: the rest at the pace so far.
		avg := max((t-g.t0)/int64(f.done), microsecondNS)
		f.next = t + avg/2 + f.rng.Int64N(avg)
	default:
		// In units of 1/m connection starts: where SYN f.done is due,
		// and where the latest start was.
		due := uint64(f.done) * n
		cur := uint64(g.begun-1) * m
		if due <= cur {
			f.next = t + f.rng.Int64N(microsecondNS) // behind: catch up
			return
		}
		// The average gap between starts, with one ramp gap as a prior
		// so that the first few starts do not make it 0.
		avg := uint64(max((g.lastBegin-g.t0+rampGap/2)/int64(g.begun), microsecondNS))
		d := due - cur
		f.next = max(t, g.lastBegin+int64(d/m*avg+d%m*avg/m))
	}
}

// emitFlood writes one spoofed SYN at time t.
func (g *gen) emitFlood(t int64) {
	f := &g.flood
	r := f.rng
	var src [4]byte
	for {
		// A bijection of the counter: every address is different.
		binary.BigEndian.PutUint32(src[:], mix32(f.addr^f.key))
		f.addr++
		if routable(src) {
			break
		}
	}
	fr := &g.frame
	*fr = tcpFrame{
		dmac: &serverMACs[0], smac: &routerMAC,
		ttl: uint8(40 + r.IntN(200)), ipid: uint16(r.Uint32()),
		sport: uint16(1024 + r.IntN(65536-1024)), dport: floodPort,
		seq: r.Uint32(), flags: fSYN, win: floodWindows[r.IntN(len(floodWindows))],
	}
	if r.IntN(2) == 0 {
		o := g.opts[:4]
		o[0], o[1] = optKindMSS, 4
		be.PutUint16(o[2:], 1460)
		fr.opts = o
	}
	copy(fr.src[:], src[:])
	copy(fr.dst[:], floodTarget[:])
	fr.pseudo = sum16(sum16(0, src[:]), floodTarget[:])
	g.write(t, build(g.buf[:], fr))
	g.n.flood++
}

var floodWindows = []uint16{512, 1024, 2048, 4096, 5840, 8192, 14600, 16384, 29200, 64240, 65535}

// mix32 is a bijection on 32 bits (lowbias32).
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// routable says whether a is a plausible public unicast IPv4 source, and
// outside the capture's own client and server ranges.
func routable(a [4]byte) bool {
	switch {
	case a[0] == 0, a[0] == 10, a[0] == 127, a[0] >= 224:
		return false
	case a[0] == 100 && a[1]&0xc0 == 64: // 100.64/10
		return false
	case a[0] == 169 && a[1] == 254, a[0] == 172 && a[1]&0xf0 == 16, a[0] == 192 && a[1] == 168:
		return false
	case a[0] == 192 && a[1] == 0 && a[2] == 2, a[0] == 198 && a[1]&0xfe == 18,
		a[0] == 198 && a[1] == 51 && a[2] == 100, a[0] == 203 && a[1] == 0 && a[2] == 113:
		return false
	case a[3] == 0 || a[3] == 255:
		return false
	}
	return true
}
