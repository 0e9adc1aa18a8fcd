package flow

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Shard is one of Count parts of a capture's connections, numbered from 0
// as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX and a Slurm array's
// SLURM_ARRAY_TASK_ID (with --array=0-N-1) number their tasks: Count
// processes, each given its Index, follow every connection exactly once
// between them. The zero Shard (Count 0) is the whole capture.
//
// A connection's shard is a hash of its 5-tuple in canonical order, so both
// directions agree, with fixed constants, so every machine and every run
// agree too (unlike the table's index, whose hash is seeded at random), and
// independent of the hash that spreads connections over Parallel's cores,
// so that -j still spreads a shard's connections over all of them.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N": shard I of N, 0 <= I < N.
func ParseShard(spec string) (Shard, error) {
	i, n, ok := strings.Cut(spec, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("--shard %q: want INDEX/COUNT, such as 0/4 (shards are numbered from 0)", spec)
	case count < 1:
		return Shard{}, fmt.Errorf("--shard %q: the count of shards must be at least 1", spec)
	case index < 0 || index >= count:
		return Shard{}, fmt.Errorf("--shard %q: the index must be from 0 to %d (shards are numbered from 0)", spec, count-1)
	}
	return Shard{Index: index, Count: count}, nil
}

// String writes the shard as ParseShard reads it.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// follows reports whether the connection of key k is the shard's.
func (s Shard) follows(k *key) bool {
	return s.Count <= 1 || k.shardHash(s.Count) == s.Index
}

// Of returns the shard (of count) the connection between a and b falls in,
// whichever of them is the client: what a Table with Shard{i, count}
// follows when it is i.
func Of(a, b netip.AddrPort, count int) int {
	if count <= 1 {
		return 0
	}
	var k key
	aa, ba := a.Addr().As16(), b.Addr().As16()
	if less(aa, a.Port(), ba, b.Port()) {
		k = key{loAddr: aa, hiAddr: ba, loPort: a.Port(), hiPort: b.Port()}
	} else {
		k = key{loAddr: ba, hiAddr: aa, loPort: b.Port(), hiPort: a.Port()}
	}
	return k.shardHash(count)
}

// shardHash scales a hash of the key to [0, count): splitmix64's finaliser
// over the key's words, IPv4 addresses in their IPv4-mapped form, each
// address as two big-endian words, then the ports (lo's above hi's).
func (k *key) shardHash(count int) int {
	be := binary.BigEndian
	h := uint64(0x9e3779b97f4a7c15)
	for _, w := range [...]uint64{
		be.Uint64(k.loAddr[:8]), be.Uint64(k.loAddr[8:]),
		be.Uint64(k.hiAddr[:8]), be.Uint64(k.hiAddr[8:]),
		uint64(k.loPort)<<16 | uint64(k.hiPort),
	} {
		h = splitmix(h ^ w)
	}
	hi, _ := bits.Mul64(h, uint64(count))
	return int(hi)
}

func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Order is where a record falls among all the records of a capture, in
// the order one Table given every packet reports them, which is the order
// Parallel delivers them in too: by At, then Class, Index and Sub.
//
//   - A connection that went idle, or ended and then stayed quiet for the
//     close delay, leaves at its deadline: At is that deadline (its End)
//     and Index the capture index of its latest packet.
//   - One that left because of a packet (a new connection on its 5-tuple,
//     an eviction) has At the capture's clock at that packet, Index the
//     packet's, and Sub the order among those it made leave.
//   - Those still open when the capture ends come last, At the largest
//     int64, in the order they started: Index is their first packet's.
//
// Every shard of a capture reads all of its packets, so the keys of
// different shards' records compare as if one table had made them all:
// sorting the shards' records by Order gives the order of one run.
type Order struct {
	At    int64  `json:"at"`
	Class uint8  `json:"class"`
	Index uint64 `json:"index"`
	Sub   uint8  `json:"sub"`
}

// Compare orders a before b when one table reports a first.
func (a Order) Compare(b Order) int {
	return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Class, b.Class),
		cmp.Compare(a.Index, b.Index), cmp.Compare(a.Sub, b.Sub))
}
