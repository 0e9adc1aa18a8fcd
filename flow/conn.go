package flow

import (
	"net/netip"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// Conn is a connection in the table. The table holds its connections by
// value in a slab, and their state machines in another (see state), so a
// Conn holds no pointer: those to other connections are refs, and its
// state machines are found through the table (Table.Snapshot).
//
// Its fields are ordered so that it packs into 72 bytes (an IPv6
// connection's addresses take 36 more, in the table's pairs slab): a SYN
// flood's connections are mostly this and a slot of the index.
type Conn struct {
	ID    uint64
	addrs addrs // the connection's key (see Table.keyOf)
	lone  loneSYN

	clientIsLo bool     // the client is the key's lo endpoint
	form       addrForm // how addrs holds the addresses, and how they are shown
	ended      bool     // in Table.ended: it has ended, and waits for CloseDelay
	tomb       tomb     // nonzero: reported, and kept only as a tombstone

	// prev and next link c in its queue's list (see queue), or, while it
	// is in the queue's heap instead, prev is its position there plus one
	// and next is inHeap.
	prev, next ref
	self       ref // c's own slot
	// st holds c's state machines; 0 while it is a lone SYN (see lone) or
	// a tombstone. Every method of Table that needs them builds them
	// first (see follow).
	st ref

	// at is the time of the latest packet, or, for a tombstone, when it
	// is forgotten: what orders the connections' expiry (see dueKey).
	at        int64
	lastIndex uint64 // capture index of the latest packet, which orders ties in the LRU list
}

// inHeap in Conn.next marks a connection in its queue's heap.
const inHeap = ^ref(0)

// loneSYN is the first SYN of a connection that has seen nothing else,
// kept instead of the state machines: most of a SYN flood's connections
// never see a second packet, and this makes them cheap (see Config.Trace
// for when it is not used). The second packet replays it into the state
// machines first, so the outcome is the same.
//
// It holds only what a bare SYN without payload says: no acknowledgement
// (the ACK flag is clear, so nothing reads the field) and no data. Its
// time is Conn.at, and its capture index Conn.lastIndex.
type loneSYN struct {
	seq          uint32
	flags        fsm.Flags
	window, mss  uint16
	ipLen        uint16
	wscale       int8
	sackOK, tsOK bool
}

// tomb is what remains of a connection reported while a side of it was
// still in TIME_WAIT: a tombstone keeps its 5-tuple in the table (so that a
// new SYN on it is a port reuse) and what the census needs (which sides are
// in TIME_WAIT, until when, whether the server was listening), without its
// state machines. Its Conn.at is when it leaves; its TIME_WAIT ends
// Config.CloseDelay before that.
type tomb uint8

const (
	tombstone     tomb = 1 << iota // set in every tombstone
	tombClientTW                   // the client is in TIME_WAIT
	tombServerTW                   // the server is in TIME_WAIT
	tombListening                  // the server answered a SYN (fsm.Conn.Listening)
)

// keyOf returns c's key.
func (t *Table) keyOf(c *Conn) key { return c.addrs.key(c.form, &t.pairs) }

// Endpoints returns the client's and the server's address and port of c,
// a connection of t (as Config.Trace and Config.TraceICMP are given).
func (t *Table) Endpoints(c *Conn) (client, server netip.AddrPort) { return t.endpoints(c) }

func (t *Table) endpoints(c *Conn) (client, server netip.AddrPort) {
	k := t.keyOf(c)
	lo, hi := netip.AddrFrom16(k.loAddr), netip.AddrFrom16(k.hiAddr)
	if c.form == formIPv4 {
		lo, hi = lo.Unmap(), hi.Unmap()
	}
	client, server = netip.AddrPortFrom(lo, k.loPort), netip.AddrPortFrom(hi, k.hiPort)
	if !c.clientIsLo {
		client, server = server, client
	}
	return client, server
}

// ports returns c's client and server ports.
func (c *Conn) ports() (client, server uint16) {
	if c.clientIsLo {
		return c.addrs.loPort, c.addrs.hiPort
	}
	return c.addrs.hiPort, c.addrs.loPort
}

// fsmOf returns the state machine of c, nil while it has none (a lone
// SYN, a tombstone). The pointer is valid while c is in the table.
func (t *Table) fsmOf(c *Conn) *fsm.Conn {
	if c.st == 0 {
		return nil
	}
	return &t.states.at(c.st).fsm
}

// zeekOf returns the Zeek view of c, nil while it has none or when the
// table keeps none.
func (t *Table) zeekOf(c *Conn) *zeek.Conn {
	if c.st == 0 {
		return nil
	}
	_, z := t.states.both(c.st)
	return z
}

// first is the time of c's first packet.
func (t *Table) first(c *Conn) int64 {
	if c.st == 0 {
		return c.at
	}
	return t.states.at(c.st).fsm.First()
}

// firstIndex is the capture index of the first packet of c, a connection
// being followed (its state machines built).
func (t *Table) firstIndex(c *Conn) uint64 { return t.states.at(c.st).firstIndex }

// follow builds the state machines of a connection kept as a lone SYN, by
// feeding them that SYN.
func (t *Table) follow(c *Conn) {
	if c.st != 0 {
		return
	}
	l := &c.lone
	seg := fsm.Segment{
		Time: c.at, Dir: fsm.FromClient, Flags: l.flags, Seq: l.seq, Window: l.window,
		IPLen: int(l.ipLen), MSS: l.mss, WindowScale: l.wscale, SACKOK: l.sackOK, Timestamps: l.tsOK,
	}
	t.start(c, &seg, c.lastIndex) // a lone SYN's only packet is its first
	if z := t.zeekOf(c); z != nil {
		z.StepCaptured(&seg, false, 0)
	}
	t.fsmOf(c).Step(&seg)
}

// start creates the state machines of c from its first segment, the
// packet of capture index first, in a slot of the table's slabs: a slot
// that held a connection removed before, or a fresh one.
func (t *Table) start(c *Conn, seg *fsm.Segment, first uint64) {
	r, reused := t.states.alloc()
	st, z := t.states.both(r)
	if reused {
		st.fsm.Reset(seg)
	} else {
		st.fsm.Start(seg)
	}
	st.firstIndex, st.owner = first, c.self
	c.st = r
	if z == nil {
		return
	}
	client, server := c.ports()
	if reused {
		z.Reset(seg, client, server, t.cfg.ZeekServerPorts)
	} else {
		z.Start(seg, client, server, t.cfg.ZeekServerPorts)
	}
}

// release gives c's state machines back to their slabs.
func (t *Table) release(c *Conn) {
	if c.st == 0 {
		return
	}
	t.states.release(c.st)
	c.st = 0
}
