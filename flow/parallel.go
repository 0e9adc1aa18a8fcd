package flow

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
)

// Parallel spreads connections over several tables, each run by its own
// goroutine, and delivers exactly what one Table given every packet would:
// the same records in the same order, the same census and statistics. The
// one difference is eviction: with the table full, each of the n shards
// evicts its own least recently active connection (MaxConns is shared out
// between them).
//
// A packet goes to the shard its 5-tuple hashes to, symmetrically, so both
// directions meet in one table. Packets travel in rounds; with each round
// every shard is told the capture's clock (the latest packet time so far),
// so each table expires idle connections when a single table would. Each
// record carries the key of the moment a single table would have written
// it, and the calling goroutine merges the shards' records by that key,
// renumbers connections in the order they started, and calls Config.Done.
//
// Config.Trace is not supported: a per-packet consumer wants packets in
// order, which a single Table gives at no cost.
type Parallel struct {
	cfg    Config
	shards []*shard
	// The packets of the rounds, per shard, in a ring of pipeline+1
	// buffers: round[cur] is being gathered, the others are sent and not
	// yet merged.
	round   [pipeline + 1][][]entry
	cur     int
	inRound int
	roundAt int64 // the clock when the round being gathered began
	// size and span end the round being gathered: at most size packets
	// over at most span of the clock (see recordBudget).
	size     int
	span     int64
	packed   entry // the packet being added, packed before its shard is known
	started  bool
	first    int64
	now      int64 // the capture's clock: latest packet time
	inFlight int   // rounds sent whose output is not merged yet

	nextID uint64
	ids    []idMap // per shard, its live connections' ids in the capture
	live   int
	peak   int
	heads  []int    // per shard, the next of its items to merge
	outs   []*items // the shards' outputs being merged
	// largestOutput is the most items a shard produced in one round
	// (tests hold it to the bound the rounds are cut for).
	largestOutput int
}

// items is a shard's output of one round: what happened, in order, and
// the Records of the connections that left. A round's packets each open or
// end a connection or two, but when the capture's clock jumps, a round ends
// every connection that came due in between, thousands of Records of
// several hundred bytes; chunks hold them without the copies of a growing
// slice, and reset lets the extra ones go.
type items struct {
	list chunked[item]
	recs chunked[Record]
}

func newItems() *items {
	return &items{list: chunked[item]{size: itemChunk}, recs: chunked[Record]{size: recordChunk}}
}

// reset empties b, keeping the chunks an ordinary round needs.
func (b *items) reset() {
	b.list.reset(2 * roundSize / itemChunk)
	b.recs.reset(recordBudget / recordChunk / 2) // a shard's half of a round's budget
}

// Chunk sizes: an item is a few words, a Record several hundred bytes.
const (
	itemChunk   = 1024
	recordChunk = 256
)

// chunked is a list in chunks of size elements.
type chunked[T any] struct {
	chunks [][]T
	n      int
	size   int
}

func (c *chunked[T]) add(v *T) {
	i := c.n / c.size
	if i == len(c.chunks) {
		c.chunks = append(c.chunks, make([]T, 0, c.size))
	}
	c.chunks[i] = append(c.chunks[i], *v)
	c.n++
}

// at returns element i, or nil past the end.
func (c *chunked[T]) at(i int) *T {
	if i >= c.n {
		return nil
	}
	return &c.chunks[i/c.size][i%c.size]
}

// reset empties c, keeping at most keep chunks.
func (c *chunked[T]) reset(keep int) {
	keep = min(len(c.chunks), keep)
	for i := range keep {
		c.chunks[i] = c.chunks[i][:0]
	}
	clear(c.chunks[keep:])
	c.chunks = c.chunks[:keep]
	c.n = 0
}

// pipeline is how many rounds can be sent and not yet merged. The reader
// gathers the next round meanwhile, so it can run that far ahead of the
// slowest shard: a shard whose round took longer (its connections came due
// together) catches up while the others go on, instead of holding
// everyone up at the end of every round.
const pipeline = 2

// roundSize is how many packets a round carries: big enough that handing
// it over costs little per packet, small enough to stay in cache.
const roundSize = 4096

// A round also spans at most roundSpan of the capture's clock, and when the
// clock jumps further between two packets, the shards are moved across the
// gap in at most clockSteps rounds of their own: every connection that
// comes due in a round waits in its shard's output, a record of several
// hundred bytes each, until the round is merged, so a round over a long
// stretch of a sparse capture (or over a gap) would hold thousands.
const (
	roundSpan  = int64(100 * time.Millisecond)
	clockSteps = 64
)

// A round's records wait in their shards' outputs until the round is
// merged, pipeline+1 rounds at a time, each Record near a kilobyte. Where
// connections leave as fast as packets come (a flood evicting one
// connection a packet, a burst of connections coming due), a full round
// would hold thousands: a round that produced more than recordBudget
// records halves the packets and the clock of the rounds after it, down
// to minRoundSize packets and minRoundSpan, and rounds grow back while
// they produce less than a quarter of it. The rounds are invisible in the
// output, so only memory and the cost of handing rounds over depend on
// this.
const (
	recordBudget = 1024
	minRoundSize = roundSize / 16
	minRoundSpan = roundSpan / 64
)

// idMap turns the ids a shard gives its connections (1, 2, 3, ... in the
// order it creates them) into ids in the whole capture, for the connections
// still open. Most connections end in about the order they began, so the
// ids are a window over the shard's ids, which the oldest connection still
// open starts; one that stays open long (and would hold an ever longer
// window) is moved to a map. The window holds each capture id as 32 bits,
// counted from the one of its oldest entry: a full table of half a million
// connections at the end of a flood keeps 2 MB of them, not 4.
type idMap struct {
	base  uint64   // the shard's id of win[0]
	first uint64   // the capture id the window's entries count from
	win   []uint32 // per shard id from base: its capture id less first, plus one; 0: ended or in far
	open  int      // nonzero entries in win
	far   map[uint64]uint64
}

// add maps the shard's next id, local, to global.
func (m *idMap) add(local, global uint64) {
	if len(m.win) == 0 {
		m.base, m.first = local, global
	}
	if global-m.first >= math.MaxUint32 {
		m.rebase()
	}
	if off := global - m.first; off < math.MaxUint32 {
		m.win = append(m.win, uint32(off+1))
		m.open++
	} else {
		// The window spans four billion of the capture's connections.
		m.win = append(m.win, 0)
		m.putFar(local, global)
	}
	if len(m.win) >= 2*m.open+1024 {
		// Mostly ended: move what is open in the older half out of the way.
		half := len(m.win) / 2
		for i, v := range m.win[:half] {
			if v != 0 {
				m.putFar(m.base+uint64(i), m.first+uint64(v-1))
				m.open--
			}
		}
		m.win = append(m.win[:0], m.win[half:]...)
		m.base += uint64(half)
		m.trim()
	}
}

func (m *idMap) putFar(local, global uint64) {
	if m.far == nil {
		m.far = map[uint64]uint64{}
	}
	m.far[local] = global
}

// rebase counts the window's entries from its oldest open one.
func (m *idMap) rebase() {
	lowest := uint32(math.MaxUint32)
	for _, v := range m.win {
		if v != 0 {
			lowest = min(lowest, v)
		}
	}
	if lowest == math.MaxUint32 {
		return
	}
	for i, v := range m.win {
		if v != 0 {
			m.win[i] = v - (lowest - 1)
		}
	}
	m.first += uint64(lowest - 1)
}

// take returns the capture's id for the shard's id local, and forgets it.
func (m *idMap) take(local uint64) uint64 {
	if local < m.base || m.win[local-m.base] == 0 {
		g := m.far[local]
		delete(m.far, local)
		if local == m.base {
			m.trim()
		}
		return g
	}
	i := local - m.base
	g := m.first + uint64(m.win[i]-1)
	m.win[i] = 0
	m.open--
	if i == 0 {
		m.trim()
	}
	return g
}

// trim drops the ended connections (and those in the map) at the start
// of the window.
func (m *idMap) trim() {
	n := 0
	for n < len(m.win) && m.win[n] == 0 {
		n++
	}
	m.win = m.win[n:]
	m.base += uint64(n)
}

// Item classes, in the order a single table produces them at one packet:
// records of connections that left (reuse, eviction), then the new one.
const (
	classLeft   = 1 // a record, left because of the packet
	classOpened = 2 // a connection created by the packet
	classIdle   = 3 // a record, expired idle or closed (ordered by deadline)
	classEnd    = 4 // a record of a connection still open at the end (Order only)
)

// item is something a shard produced, keyed by when a single table would
// have produced it.
type item struct {
	at    int64  // the capture clock, or an idle connection's deadline
	index uint64 // the packet's capture index, or the idle connection's latest
	id    uint64 // shard-local connection id
	rec   int32  // classLeft, classIdle: the Record's place in items.recs
	class uint8  // see the class constants
	sub   uint8  // order within one packet
}

func (a *item) compare(b *item) int {
	return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.class, b.class),
		cmp.Compare(a.index, b.index), cmp.Compare(a.sub, b.sub))
}

// shard is one table and its goroutine.
type shard struct {
	table *Table
	in    chan job
	out   chan *items
	items *items
	// free holds the output buffers the merger has delivered: pipeline+1
	// of them go round, so a shard never waits for the merger while it is
	// at most pipeline rounds behind.
	free   chan *items
	cur    *entry // the packet being added, for the keys of what it causes
	clock  entry  // stands for the round's end when the clock moves with no packet
	sub    uint8
	census *census // the census as the shard's table counted it, nil until taken
	// Flush streams the records of the connections still open through
	// flushOut, in chunks, in the shard's order of creation; the merger
	// hands each chunk back through flushFree once it is delivered, so
	// the end of a capture of a million open connections reuses a few
	// chunks instead of allocating a record for each.
	flushOut  chan []Record
	flushFree chan []Record
	chunk     []Record
}

// newChunk returns an empty chunk for Flush's records, a delivered one if
// the merger has handed one back.
func (s *shard) newChunk() []Record {
	select {
	case c := <-s.flushFree:
		return c[:0]
	default:
		return make([]Record, 0, flushChunk)
	}
}

// flushChunk is how many records a shard hands over at a time at the end:
// up to five chunks a shard are in hands at once (the one being filled,
// one in the channel, one being delivered, two spares), near a kilobyte a
// record.
const flushChunk = 256

type job struct {
	entries []entry
	now     int64
	first   int64 // the capture's first packet time, for the census
	flush   bool
}

// NewParallel returns n shards (n >= 2) configured by cfg.
func NewParallel(cfg Config, n int) *Parallel {
	cfg = cfg.withDefaults()
	p := &Parallel{cfg: cfg, ids: make([]idMap, n), size: roundSize, span: roundSpan}
	for i := range n {
		s := &shard{in: make(chan job, pipeline), out: make(chan *items, pipeline+1), free: make(chan *items, pipeline+1),
			flushOut: make(chan []Record, 1), flushFree: make(chan []Record, 2)}
		scfg := cfg
		scfg.MaxConns = (cfg.MaxConns + n - 1) / n
		scfg.Trace, scfg.TraceICMP = nil, nil
		scfg.Done = s.done
		scfg.Census, scfg.censusTaken = nil, func(c *census) { s.census = c }
		scfg.opened = s.opened
		s.table = New(scfg)
		p.shards = append(p.shards, s)
		for r := range p.round {
			if p.round[r] == nil {
				p.round[r] = make([][]entry, n)
			}
			p.round[r][i] = make([]entry, 0, 2*roundSize/n)
			s.free <- newItems()
		}
		go s.run()
	}
	return p
}

// done receives a record from the shard's table and keys it.
func (s *shard) done(r *Record) {
	it := item{id: r.ID}
	switch {
	case s.cur == nil: // Flush: merged by id at the end
		s.chunk = append(s.chunk, *r)
		if len(s.chunk) == flushChunk {
			s.flushOut <- s.chunk
			s.chunk = s.newChunk()
		}
		return
	case r.Reason == ReasonIdle || r.Reason == ReasonClosed:
		it.at, it.class, it.index = r.End, classIdle, r.lastIndex
	default:
		it.at, it.class, it.index, it.sub = s.cur.now, classLeft, s.cur.index, s.sub
		s.sub++
	}
	it.rec = int32(s.items.recs.n)
	s.items.recs.add(r)
	s.items.list.add(&it)
}

func (s *shard) opened(id uint64) {
	s.items.list.add(&item{at: s.cur.now, class: classOpened, index: s.cur.index, sub: s.sub, id: id})
	s.sub++
}

func (s *shard) run() {
	for j := range s.in {
		s.items = <-s.free
		s.items.reset()
		if j.first != 0 || len(j.entries) > 0 {
			s.table.begin(j.first)
		}
		for i := range j.entries {
			e := &j.entries[i]
			s.cur, s.sub = e, 0
			// Expire first with the capture's clock, as a single table
			// would have at the packets of other shards.
			s.table.advanceTo(e.now)
			if e.icmpError() {
				s.table.addICMPError(e, nil)
			} else {
				s.table.add(e)
			}
		}
		s.clock.now = j.now
		s.cur = &s.clock
		s.table.advanceTo(j.now)
		s.out <- s.items
		if j.flush {
			s.cur = nil
			s.chunk = s.newChunk()
			s.table.Flush()
			s.flushOut <- s.chunk
			close(s.flushOut)
		}
	}
	close(s.out)
}

// Add feeds one TCP packet, in capture order. Records are delivered to
// Config.Done during Add and Flush, on the caller's goroutine.
func (p *Parallel) Add(pkt *capture.Packet) {
	ts := pkt.Timestamp.UnixNano()
	if !p.started {
		p.started, p.first = true, ts
	}
	if ts > p.now+p.span && p.started {
		p.crossGap(ts)
	}
	p.now = max(p.now, ts)
	if p.inRound == 0 {
		p.roundAt = p.now
	}
	p.packed.pack(pkt, p.now)
	if !p.cfg.Shard.follows(&p.packed.key) {
		// Another process's connection: only the clock moves, and the
		// rounds tell the shards of it.
		if p.inRound > 0 && p.now-p.roundAt > p.span {
			p.send(false)
		}
		return
	}
	r := &p.round[p.cur][p.packed.key.shard(len(p.shards))]
	*r = append(*r, p.packed)
	p.inRound++
	if p.inRound >= p.size || p.now-p.roundAt > p.span {
		p.send(false)
	}
}

// AddICMPError feeds an ICMP or ICMPv6 error quoting a TCP segment, in
// capture order with the TCP packets, to the shard of the connection it
// quotes a segment of, as Table.AddICMPError does: it moves no clock.
func (p *Parallel) AddICMPError(pkt *capture.Packet) {
	if !p.started {
		return // no connection yet
	}
	p.packed.pack(pkt, p.now)
	if !p.cfg.Shard.follows(&p.packed.key) {
		return
	}
	r := &p.round[p.cur][p.packed.key.shard(len(p.shards))]
	*r = append(*r, p.packed)
	p.inRound++
	if p.inRound >= p.size {
		p.send(false)
	}
}

// crossGap moves the capture's clock towards ts, the time of a packet far
// ahead of it, in rounds without packets, so that the connections that
// come due in the gap leave over several rounds.
func (p *Parallel) crossGap(ts int64) {
	step := max(p.span, (ts-p.now)/clockSteps)
	for p.now+step < ts {
		p.now += step
		p.send(false)
	}
}

// send hands the round to the shards, then, once pipeline rounds are in
// their hands, merges the oldest one's output and starts gathering the
// next round in the buffer that round has released.
func (p *Parallel) send(flush bool) {
	first := int64(0)
	if p.started {
		first = p.first
	}
	for i, s := range p.shards {
		s.in <- job{entries: p.round[p.cur][i], now: p.now, first: first, flush: flush}
	}
	p.inFlight++
	if p.inFlight > pipeline {
		p.collect()
	}
	p.cur = (p.cur + 1) % len(p.round)
	for i := range p.round[p.cur] {
		p.round[p.cur][i] = p.round[p.cur][i][:0]
	}
	p.inRound = 0
}

// collect waits for every shard's output of the oldest round in flight,
// delivers it in order and hands the buffers back. All of it can go: each
// shard has been told the round's clock, so nothing it produces later
// sorts before it.
func (p *Parallel) collect() {
	p.inFlight--
	outs := p.outs[:0]
	for _, s := range p.shards {
		out := <-s.out
		p.largestOutput = max(p.largestOutput, out.list.n)
		outs = append(outs, out)
	}
	p.outs = outs
	p.heads = p.heads[:0]
	for range outs {
		p.heads = append(p.heads, 0)
	}
	for {
		best := -1
		var bestItem *item
		for i, o := range outs {
			if it := o.list.at(p.heads[i]); it != nil && (best < 0 || it.compare(bestItem) < 0) {
				best, bestItem = i, it
			}
		}
		if best < 0 {
			records := 0
			for i, s := range p.shards {
				records += outs[i].recs.n
				s.free <- outs[i]
			}
			p.adapt(records)
			return
		}
		p.heads[best]++
		p.deliver(best, bestItem)
	}
}

// adapt sets the size and span of the rounds to come from the records the
// round just merged produced (see recordBudget).
func (p *Parallel) adapt(records int) {
	switch {
	case records > recordBudget && p.size > minRoundSize:
		p.size, p.span = p.size/2, max(p.span/2, minRoundSpan)
	case 4*records < recordBudget && p.size < roundSize:
		p.size, p.span = 2*p.size, min(2*p.span, roundSpan)
	}
}

func (p *Parallel) deliver(shard int, it *item) {
	if it.class == classOpened {
		p.nextID++
		p.ids[shard].add(it.id, p.nextID)
		p.live++
		p.peak = max(p.peak, p.live)
		return
	}
	rec := p.outs[shard].recs.at(int(it.rec))
	rec.ID = p.ids[shard].take(it.id)
	p.live--
	p.cfg.Done(rec)
}

// Flush reports every connection still open, as Table.Flush does, and
// stops the shards' goroutines.
func (p *Parallel) Flush() {
	p.send(true)
	for p.inFlight > 0 {
		p.collect()
	}
	// Each shard flushes in its own order of creation, which is the
	// global one restricted to it: merge them as they come.
	heads := make([][]Record, len(p.shards))
	chunks := make([][]Record, len(p.shards)) // what heads[i] is the rest of
	next := func(i int) {
		s := p.shards[i]
		for len(heads[i]) == 0 {
			if chunks[i] != nil {
				select {
				case s.flushFree <- chunks[i]:
				default: // the shard has spares enough
				}
			}
			chunk, ok := <-s.flushOut
			if !ok {
				heads[i], chunks[i] = nil, nil
				return
			}
			for j := range chunk {
				chunk[j].ID = p.ids[i].take(chunk[j].ID)
			}
			heads[i], chunks[i] = chunk, chunk
		}
	}
	for i, s := range p.shards {
		next(i)
		close(s.in)
	}
	for {
		best := -1
		for i, h := range heads {
			if len(h) > 0 && (best < 0 || h[0].ID < heads[best][0].ID) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		p.cfg.Done(&heads[best][0])
		heads[best] = heads[best][1:]
		if len(heads[best]) == 0 {
			next(best)
		}
	}
	if p.cfg.Census != nil {
		p.cfg.Census(p.mergeCensus())
	}
}

// mergeCensus adds up the shards' censuses. Listening endpoints are
// counted once however many shards saw them.
func (p *Parallel) mergeCensus() *Census {
	var out *census
	for _, s := range p.shards {
		if s.census == nil {
			continue
		}
		if out == nil {
			out = newCensus(s.census.at)
		}
		out.merge(s.census)
	}
	if out == nil {
		return newCensus(math.MaxInt64).result()
	}
	return out.result()
}

// Stats returns the counters, summed over the shards; Peak is the most
// connections open at once over all of them.
func (p *Parallel) Stats() Stats {
	var st Stats
	for _, s := range p.shards {
		ss := s.table.Stats()
		st.Connections += ss.Connections
		st.Idle += ss.Idle
		st.Closed += ss.Closed
		st.Evicted += ss.Evicted
		st.Reused += ss.Reused
	}
	st.Peak = p.peak
	return st
}

// shard picks one of n shards for the key. The key is in canonical order,
// so both directions of a connection get the same one.
func (k *key) shard(n int) int {
	h := uint64(14695981039346656037)
	for _, w := range [...]uint64{
		binary.LittleEndian.Uint64(k.loAddr[:8]), binary.LittleEndian.Uint64(k.loAddr[8:]),
		binary.LittleEndian.Uint64(k.hiAddr[:8]), binary.LittleEndian.Uint64(k.hiAddr[8:]),
		uint64(k.loPort)<<16 | uint64(k.hiPort),
	} {
		h = (h ^ w) * 1099511628211
		h ^= h >> 29
	}
	hi, _ := bits.Mul64(h, uint64(n)) // h·n / 2⁶⁴: h scaled to [0, n), without a division
	return int(hi)
}
