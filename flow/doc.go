// Package flow groups TCP packets into connections and drives one
// fsm.Conn per connection.
//
// The table is keyed by the 5-tuple in canonical order, so both directions
// of a connection find the same entry. It decides who the client is (the
// sender of the first SYN), splits a reused 5-tuple into separate
// connections, and keeps memory bounded: a connection that has ended is
// reported once it has been quiet for Config.CloseDelay (as with Zeek's
// tcp_close_delay) and kept, while a side of it is in TIME_WAIT, as a
// tombstone of its 5-tuple only; connections idle for longer than
// Config.IdleTimeout (in packet time, never wall-clock time) are expired;
// and when Config.MaxConns are tracked, a tombstone or else the least
// recently active connection is evicted.
// Every connection leaves the table exactly once, through Config.Done, with
// the reason it left.
//
// Where things are: table.go is the table and a packet's way through it;
// conn.go a connection as the table holds it, and state.go its state
// machines; record.go what leaves the table; key.go and index.go how a
// packet finds its connection; expiry.go, list.go and compact.go when
// connections leave and how memory follows; slab.go and arena.go where
// they live in memory; census.go the count of endpoint states; entry.go,
// shard.go and parallel.go the split of one capture over several cores.
package flow
