package flow

import (
	"cmp"
	"iter"
	"math"
	"runtime"
	"slices"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// Defaults for Config.
const (
	// DefaultIdleTimeout matches Zeek's tcp_inactivity_timeout: a
	// connection silent for longer is reported and forgotten; a later packet
	// on its 5-tuple starts a new, mid-stream connection.
	DefaultIdleTimeout int64 = 5 * 60e9
	// DefaultCloseDelay matches Zeek's tcp_close_delay and tcp_reset_delay:
	// how long an ended connection stays whole for the stray segments that
	// follow a close or a reset (a retransmitted FIN, data in flight).
	DefaultCloseDelay int64 = 5e9
	// DefaultMaxConns bounds memory on floods: each tracked connection costs
	// a few hundred bytes.
	DefaultMaxConns = 500_000
)

// Config sets up a Table.
type Config struct {
	IdleTimeout int64 // packet-time nanoseconds; 0 means DefaultIdleTimeout, <0 never
	// CloseDelay is how long, in packet time, a connection that has ended
	// (closed or reset) stays after its latest packet before it is
	// reported, with ReasonClosed. One with a side still in TIME_WAIT then
	// stays as a tombstone until CloseDelay after its TIME_WAIT has run
	// out: until then a new SYN on its 5-tuple is a port reuse
	// (LabelPortReuse), and a census counts its TIME_WAIT. 0 means
	// DefaultCloseDelay, <0 keeps a connection whole until it goes idle.
	// ZeekRecords ignores it: Zeek's own timers say when its records end.
	CloseDelay int64
	MaxConns   int // 0 means DefaultMaxConns
	// ZeekRecords delimits connections as Zeek does (its timers and its
	// reuse rules, see zeek.Conn.NewConnection) instead of by tcpfsm's
	// rules, so that records match a Zeek conn.log one for one.
	ZeekRecords bool
	// Zeek follows every connection as Zeek would too, for Record.Zeek
	// (conn_state and history); it costs a Zeek tracker per connection
	// and a step per packet, so reports that show neither leave it off.
	// ZeekRecords implies it.
	Zeek bool
	// ZeekServerPorts is Zeek's likely_server_ports, which orients a
	// connection whose first packet is not a bare SYN; nil means Zeek's
	// defaults (zeek.DefaultLikelyServerPorts).
	ZeekServerPorts *zeek.Ports
	// Done receives every connection once, as it leaves the table. The
	// Record is valid only during the call.
	Done func(*Record)
	// CensusAt is the instant of the census (Unix nanoseconds), or with
	// CensusFromStart an offset from the first packet; 0 means the end of
	// the capture. Census receives it once, during Add or Flush.
	CensusAt        int64
	CensusFromStart bool
	Census          func(*Census)
	// Trace, if set, is called after every packet with its connection and
	// what the packet did (tcpfsm -v, and the events of a live display).
	// Without it, a connection whose only packet so far is a SYN is kept
	// as that SYN alone, which is what makes a SYN flood cheap to track.
	Trace func(c *Conn, p *capture.Packet, seg *fsm.Segment, res fsm.StepResult)
	// TraceICMP, if set, is called after every ICMP error given to
	// AddICMPError (tcpfsm -v) with the connection it quotes a segment of,
	// nil if none is followed, the error as that connection reads it, and
	// both sides' states as netstat shows them at the error's time, before
	// and after it, and the events it caused (fsm.EventUnreachable).
	TraceICMP func(c *Conn, p *capture.Packet, m *fsm.ICMPError, before, after [2]fsm.State, ev fsm.Event)
	// Shard, when its Count is over 1, follows only the connections of
	// shard Shard.Index: those of another are passed over, their packets
	// only moving the capture's clock, so that the connections followed
	// are reported exactly as when every one is.
	Shard Shard

	// opened, if set, is told the id of every connection created (Parallel).
	opened func(id uint64)
	// censusTaken, if set, is given the census as the table counted it,
	// instead of Census its result (Parallel, which adds the shards'
	// counts up before building one).
	censusTaken func(*census)
}

// Stats counts what the table did.
type Stats struct {
	Connections uint64 // connections created
	Idle        uint64 // expired after the idle timeout
	Evicted     uint64 // evicted because the table was full
	Closed      uint64 // reported CloseDelay after they ended (ReasonClosed)
	Reused      uint64 // 5-tuples that carried a new connection after an old one
	Peak        int    // most connections tracked at once (tombstones aside)
}

// Table is the connection table. It is not safe for concurrent use.
type Table struct {
	cfg   Config
	conns index
	// The connections, least recently active first, in two queues (see
	// expiry.go): lru those that have not ended, ended those that have
	// (each due CloseDelay after its latest packet); and the tombstones in
	// a list, in the order they were made (each due CloseDelay after its
	// TIME_WAIT, a minute later, nearly in that order: see expire).
	lru, ended queue
	tombs      list
	nTombs     int // the tombstones
	nextID     uint64
	now        int64 // latest packet time seen
	// curIndex is the capture index of the packet being added, and
	// curSub counts the records it made leave so far (see order).
	curIndex uint64
	curSub   uint8
	stats    Stats
	seg      fsm.Segment
	tracing  *capture.Packet // during AddAt, its packet, for Config.Trace
	rec      Record
	census   *census

	// The table's memory: its connections, their state machines and
	// their Zeek views (when it keeps them), each by value in a slab that
	// reuses the slots of connections removed. A slab keeps the most it
	// has held at once (at most Config.MaxConns connections): a flood's
	// connections are followed by as many new ones.
	slots  slab[Conn]
	states states
	pairs  slab[addrPair] // the addresses of the connections not IPv4 (see addrs)
	// arena holds the slabs without pointers, and the index, out of the
	// Go heap; the arena is given back when the table is collected, and
	// what it holds when the table is flushed.
	arena *arena
}

// New returns an empty table.
func New(cfg Config) *Table {
	t := &Table{cfg: cfg.withDefaults(), arena: new(arena)}
	t.slots.keepIn(t.arena)
	t.pairs.keepIn(t.arena)
	t.states.init(t.cfg.Zeek || t.cfg.ZeekRecords, t.arena)
	t.conns = newIndex(&t.slots, &t.pairs, t.arena)
	runtime.AddCleanup(t, (*arena).release, t.arena)
	t.lru.inOrder.s, t.ended.inOrder.s, t.tombs.s = &t.slots, &t.slots, &t.slots
	return t
}

// withDefaults fills in what the zero values of cfg mean.
func (cfg Config) withDefaults() Config {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.CloseDelay == 0 {
		cfg.CloseDelay = DefaultCloseDelay
	}
	if cfg.ZeekRecords {
		cfg.CloseDelay = -1
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	// Connections name each other by 32-bit refs.
	cfg.MaxConns = min(cfg.MaxConns, math.MaxInt32)
	if cfg.Done == nil {
		cfg.Done = func(*Record) {}
	}
	return cfg
}

// Add feeds one TCP packet. Packets must come in capture order.
func (t *Table) Add(p *capture.Packet) {
	t.AddAt(p, max(t.now, p.Timestamp.UnixNano()))
}

// AddAt feeds one TCP packet when the capture's clock, the latest packet
// time of the whole capture, is now (at least the packet's own time). Add
// passes the table's own clock; a table that sees only a share of the
// packets (Parallel) is told the capture's.
func (t *Table) AddAt(p *capture.Packet, now int64) {
	var e entry
	e.pack(p, now)
	if !t.cfg.Shard.follows(&e.key) {
		t.clockAt(e.ts, e.now)
		return
	}
	if t.cfg.Trace == nil {
		t.add(&e)
		return
	}
	t.tracing = p
	t.add(&e)
	t.tracing = nil
}

// add follows one packet (AddAt's, or a shard's from Parallel).
func (t *Table) add(p *entry) {
	now, k := p.now, &p.key
	t.curIndex, t.curSub = p.index, 0
	t.clockAt(p.ts, now)
	c := t.conns.get(k)
	reused := false
	if c != nil && c.tomb != 0 {
		// The connection was reported: a new SYN is a reuse of its
		// 5-tuple, anything else a stray segment that starts a
		// connection of its own, as after it left.
		reused = p.flags&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == capture.FlagSYN && !t.expired(c, now)
		t.bury(c, false) // the new connection holds the 5-tuple now
		c = nil
	}
	if c != nil {
		t.follow(c)
		t.segment(&t.seg, c, p)
		switch {
		case t.cfg.ZeekRecords && t.zeekOf(c).NewConnection(&t.seg):
			t.remove(c, ReasonZeekSplit)
			c = t.open(p, false)
		case !t.cfg.ZeekRecords && t.fsmOf(c).IsNewAttempt(&t.seg):
			t.stats.Reused++
			t.remove(c, ReasonReused)
			c = t.open(p, false)
			t.fsmOf(c).MarkReused()
		}
	} else if reused {
		t.stats.Reused++
		c = t.open(p, false)
		t.fsmOf(c).MarkReused()
	} else {
		c = t.open(p, t.cfg.Trace == nil) // fills t.seg
		if c.st == 0 {
			t.touch(c, nil, p.index)
			return // kept as a lone SYN
		}
	}
	// The state machines of c, in one record: looked up once.
	st, z := t.states.both(c.st)
	m := &st.fsm
	if z != nil {
		z.StepCaptured(&t.seg, p.badChecksum, int(p.captured))
	}
	var res fsm.StepResult
	if p.badChecksum {
		res = m.StepBadChecksum(&t.seg)
	} else {
		res = m.Step(&t.seg)
	}
	c.at = m.Last()
	t.touch(c, m, p.index)
	if t.cfg.Trace != nil {
		t.cfg.Trace(c, t.tracing, &t.seg, res)
	}
}

// AddICMPError feeds an ICMP or ICMPv6 error quoting a TCP segment
// (capture.Packet.IsICMPError), in capture order with the TCP packets. It
// is no packet of the connection: it reaches the state machines of the
// connection whose segment it quotes, if that one is followed (fsm.Conn.
// ICMPError says what they make of it), and changes nothing else: no
// connection is created, no count, clock or activity moves.
func (t *Table) AddICMPError(p *capture.Packet) {
	var e entry
	e.pack(p, t.now)
	if !t.cfg.Shard.follows(&e.key) {
		return
	}
	if t.cfg.TraceICMP == nil {
		t.addICMPError(&e, nil)
		return
	}
	var states [2][2]fsm.State
	c, m, ev := t.addICMPError(&e, &states)
	t.cfg.TraceICMP(c, p, &m, states[0], states[1], ev)
}

// addICMPError hands the ICMP error e to the connection it quotes a
// segment of, and returns that connection (nil if none is followed) and
// the error as it reads it, and the events it caused. With states, it fills in the connection's
// states at the error's time, before and after it.
func (t *Table) addICMPError(e *entry, states *[2][2]fsm.State) (*Conn, fsm.ICMPError, fsm.Event) {
	m := fsm.ICMPError{Time: e.ts, Dir: fsm.FromClient, Seq: e.seq, V6: !e.is4, Type: e.icmpType, Code: e.icmpCode, From: e.icmpSender()}
	if t.census != nil && !t.census.done && e.ts > t.census.at {
		// An error may change a state (fsm.Conn.ICMPError): a census due
		// before it counts the states it found, as before a packet.
		t.takeCensus()
	}
	c := t.conns.get(&e.key)
	if c == nil || c.tomb != 0 {
		return nil, m, 0
	}
	t.follow(c)
	if e.srcIsLo != c.clientIsLo {
		m.Dir = fsm.FromServer
	}
	f := t.fsmOf(c)
	if states != nil {
		states[0][0], states[0][1] = f.StatesAt(e.ts)
	}
	ev := f.ICMPError(&m)
	if states != nil {
		states[1][0], states[1][1] = f.StatesAt(e.ts)
	}
	// An error that ended the connect() ends a connection that nothing
	// else took part in: it leaves CloseDelay after its latest packet, as
	// a refused one does, instead of when it goes idle.
	t.requeue(c, f)
	return c, m, ev
}

// clockAt moves the table to a packet at ts when the capture's clock is
// now: the census falls due, and connections expire, before the packet.
func (t *Table) clockAt(ts, now int64) {
	t.begin(ts)
	if !t.census.done && now > t.census.at {
		t.takeCensus()
	}
	if now > t.now {
		t.now = now
		t.expire(now)
	}
}

// open starts a connection whose first packet is p. With mayWait, a bare
// SYN is kept as a lone SYN instead of starting the state machines.
func (t *Table) open(p *entry, mayWait bool) *Conn {
	switch {
	case t.conns.n < t.cfg.MaxConns:
	case t.tombs.front() != nil:
		// A tombstone goes first: its connection is reported already.
		t.bury(t.tombs.front(), false)
	default:
		t.stats.Evicted++
		t.remove(t.leastRecent(), ReasonEvicted)
	}
	t.nextID++
	t.stats.Connections++
	if t.cfg.opened != nil {
		t.cfg.opened(t.nextID)
	}
	r, _ := t.slots.alloc()
	c := t.slots.at(r)
	*c = Conn{ID: t.nextID, self: r, at: p.ts, lastIndex: p.index}
	t.hold(c, &p.key, p.is4)
	c.clientIsLo = p.srcIsLo == srcIsClient(p)
	t.segment(&t.seg, c, p)
	if mayWait && p.flags&(capture.FlagSYN|capture.FlagACK|capture.FlagRST|capture.FlagFIN) == capture.FlagSYN &&
		!p.badChecksum && t.seg.Len == 0 && t.seg.IPLen <= math.MaxUint16 {
		s := &t.seg
		c.lone = loneSYN{
			seq: s.Seq, flags: s.Flags, window: s.Window, mss: s.MSS, ipLen: uint16(s.IPLen),
			wscale: s.WindowScale, sackOK: s.SACKOK, tsOK: s.Timestamps,
		}
	} else {
		t.start(c, &t.seg, p.index)
	}
	t.conns.put(c, &p.key)
	t.lru.push(c)
	t.stats.Peak = max(t.stats.Peak, t.conns.n-t.nTombs)
	return c
}

// srcIsClient orients a connection from its first packet. The sender of a
// bare SYN is the client, and the receiver of a SYN/ACK. Otherwise the
// connection was picked up mid-stream and the server is taken to be the
// endpoint with the lower port (services listen on low, well-known ports;
// clients use ephemeral ports from 32768 up on Linux, 49152 up elsewhere),
// or, with equal ports, the destination of the first packet.
func srcIsClient(p *entry) bool {
	switch src, dst := p.ports(); {
	case p.flags&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == capture.FlagSYN:
		return true
	case p.flags&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == capture.FlagSYN|capture.FlagACK:
		return false
	case src != dst:
		return src > dst
	}
	return true
}

// segment fills seg from p for connection c.
func (t *Table) segment(seg *fsm.Segment, c *Conn, p *entry) {
	dir := fsm.FromServer
	if p.srcIsLo == c.clientIsLo {
		dir = fsm.FromClient
	}
	*seg = fsm.Segment{
		Time: p.ts, Dir: dir, Flags: p.flags,
		Seq: p.seq, Ack: p.ack, Window: p.window, Len: int(p.payloadLen), IPLen: int(p.ipLen),
		MSS: p.mss, WindowScale: p.wscale, SACKOK: p.sackOK, Timestamps: p.tsOK,
	}
}

// Advance tells the table that the capture's clock has reached now with no
// packet since the last one: a live capture between packets. Connections
// idle for longer than the timeout leave, and a census due by then is
// taken. Times stay those of packets: a connection's end and the census at
// the end of the capture are still the last packet's time, so a live
// session and a replay of its packets report the same.
func (t *Table) Advance(now int64) {
	if t.census != nil && !t.census.done && now > t.census.at {
		t.takeCensus()
	}
	t.expire(now)
}

// advanceTo moves the table's clock to now, the capture's, expiring what
// a table given every packet would have expired by then (Parallel).
func (t *Table) advanceTo(now int64) {
	if now > t.now {
		t.now = now
		t.expire(now)
	}
}

// remove takes c out of the table and hands its record to Done.
func (t *Table) remove(c *Conn, why Reason) {
	t.follow(c)
	m := t.fsmOf(c)
	end := t.now
	switch why {
	case ReasonIdle:
		// An idle connection's states are those of its last packet plus
		// the timeout: TIME_WAIT may have run out by then.
		end = m.Last() + t.cfg.IdleTimeout
	case ReasonClosed:
		end = m.Last() + t.cfg.CloseDelay
	}
	client, server := t.endpoints(c)
	t.rec = Record{ID: c.ID, ClientAddr: client, ServerAddr: server, Reason: why, End: end, Result: m.Result(end),
		FirstIndex: t.firstIndex(c), Order: t.order(c, why, end), lastIndex: c.lastIndex}
	if z := t.zeekOf(c); z != nil {
		t.rec.Zeek = z.Summary()
	}
	if why == ReasonClosed {
		if closed, _ := m.ClosedFrom(); closed > end {
			t.entomb(c, closed)
			return
		}
	}
	if t.census != nil && !t.census.done && why.countedAfter() {
		// Left before the census: counted in the state it was left in.
		t.census.count(c, t)
	}
	t.queueOf(c).remove(c)
	t.conns.remove(c)
	t.cfg.Done(&t.rec)
	t.forget(c)
}

// order is where the record of c, leaving for why with its states as of
// end, falls among the capture's records (see Order).
func (t *Table) order(c *Conn, why Reason, end int64) Order {
	switch why {
	case ReasonIdle, ReasonClosed:
		return Order{At: end, Class: classIdle, Index: c.lastIndex}
	case ReasonEnd:
		return Order{At: math.MaxInt64, Class: classEnd, Index: t.firstIndex(c)}
	}
	// Left because of the packet being added: a reuse, an eviction.
	o := Order{At: t.now, Class: classLeft, Index: t.curIndex, Sub: t.curSub}
	t.curSub++
	return o
}

// entomb reports c, whose record is in t.rec, and keeps it as a tombstone
// until CloseDelay after closed, when its TIME_WAIT has run out.
func (t *Table) entomb(c *Conn, closed int64) {
	m := t.fsmOf(c)
	tb := tombstone
	cl, sv := m.States()
	if cl == fsm.TimeWait {
		tb |= tombClientTW
	}
	if sv == fsm.TimeWait { // both, after a simultaneous close
		tb |= tombServerTW
	}
	if m.Listening() {
		tb |= tombListening
	}
	t.queueOf(c).remove(c)
	t.cfg.Done(&t.rec)
	t.release(c)
	c.tomb, c.ended = tb, false
	c.at = closed + t.cfg.CloseDelay
	t.tombs.pushBack(c)
	t.nTombs++
}

// bury forgets the tombstone c; count says whether a census still to be
// taken counts it (see Reason.countedAfter).
func (t *Table) bury(c *Conn, count bool) {
	if count && t.census != nil && !t.census.done {
		t.census.count(c, t)
	}
	t.tombs.remove(c)
	t.nTombs--
	t.conns.remove(c)
	t.forget(c)
}

// forget gives c, out of the table now, and its state machines if it
// still has them, back to their slabs for connections to come: a
// capture's connections leave at the rate they come. Done has copied
// what it keeps (a Record holds values).
func (t *Table) forget(c *Conn) {
	t.release(c)
	if c.form == formIPv6 {
		t.pairs.release(c.addrs.pairRef())
	}
	t.slots.release(c.self)
}

// hold stores k in c, which a packet of the IPv4 or IPv6 family is4 says
// opened.
func (t *Table) hold(c *Conn, k *key, is4 bool) { c.form = c.addrs.set(k, is4, c.self, &t.pairs) }

// Open yields a Record for every connection still in the table that
// started at least minAge before time at, as it stands then (Reason
// ReasonOpen): what a live display judges before the connections end.
// The age keeps a handshake still in flight from looking unanswered. The
// Record is valid only until the next iteration; the table must not change
// during the loop.
func (t *Table) Open(at, minAge int64) iter.Seq[*Record] {
	return func(yield func(*Record) bool) {
		var rec Record
		for c := range t.live() {
			if at-t.first(c) < minAge {
				continue
			}
			t.follow(c)
			t.Snapshot(c, at, &rec)
			if !yield(&rec) {
				return
			}
		}
	}
}

// Snapshot fills r with the connection as it stands at time at (or its
// latest packet, if later), with Reason ReasonOpen. The table's Config.Trace
// receives only connections that can be snapshot; Open makes sure of it.
func (t *Table) Snapshot(c *Conn, at int64, r *Record) {
	m := t.fsmOf(c)
	if m == nil {
		panic("flow: Snapshot of a lone SYN; use Table.Open")
	}
	at = max(at, m.Last())
	client, server := t.endpoints(c)
	*r = Record{ID: c.ID, ClientAddr: client, ServerAddr: server, Reason: ReasonOpen, End: at, Result: m.Result(at)}
	if z := t.zeekOf(c); z != nil {
		r.Zeek = z.Summary()
	}
}

// CensusNow counts the endpoint states of the connections in the table at
// time at, for a running census. Connections that already left the table
// are not in it: they ended, or went idle.
func (t *Table) CensusNow(at int64) *Census {
	cs := newCensus(at)
	t.countAll(cs)
	return cs.result()
}

// Flush reports every connection still in the table, in the order they
// started, as the capture ends.
func (t *Table) Flush() {
	t.begin(0)
	if !t.census.done {
		t.takeCensus()
	}
	all := make([]*Conn, 0, t.conns.n)
	for _, q := range [2]*queue{&t.lru, &t.ended} {
		all = slices.AppendSeq(all, q.all())
	}
	slices.SortFunc(all, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range all {
		t.remove(c, ReasonEnd)
	}
	for c := t.tombs.front(); c != nil; c = t.tombs.front() {
		t.bury(c, true)
	}
	// Empty now: give the memory of the busiest moment back.
	t.slots.reset()
	t.pairs.reset()
	t.states.reset()
	t.conns.resize(minIndexSlots)
}

// Stats returns the counters so far.
func (t *Table) Stats() Stats { return t.stats }
