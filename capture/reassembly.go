package capture

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"
)

// IP fragment reassembly, as the receiving Linux host does it
// (net/ipv4/ip_fragment.c, net/ipv6/reassembly.c, net/ipv4/inet_fragment.c),
// so that a TCP segment the network fragmented reaches the analysis as it
// reached the host's TCP: whole, or not at all. The host's rules:
//
//   - Fragments belong together by source, destination, identification
//     and (IPv4) protocol; here also by tunnel depth, so that an outer and
//     an inner datagram never mix.
//   - A fragment that lies wholly inside one already received is a
//     duplicate and is ignored; any other overlap drops the whole datagram
//     (Linux since 4.19 for IPv4, RFC 5722 for IPv6).
//   - A last fragment that ends short of data already received, or a
//     second last fragment that ends elsewhere, or data past a last
//     fragment, or a fragment with no data, drops the datagram.
//   - A fragment other than the last whose length is not a multiple of 8
//     is cut to one (IPv4) or discarded (IPv6, RFC 8200 section 4.5).
//   - An IPv6 first fragment that does not hold the whole header chain
//     through the transport header is discarded (RFC 8200 section 4.5),
//     so its datagram is never completed.
//   - A datagram not completed within fragTimeout of its first fragment
//     is dropped, as is one that would be longer than 65,535 bytes.
//
// The clock is packet time: a capture's timestamps, never the wall clock,
// so that reading a capture gives the same answer however fast it is read.
// Memory is bounded by maxPendingDatagrams and maxPendingBytes: past
// either, the datagram whose first fragment came earliest is dropped.

const (
	// fragTimeout is Linux's net.ipv4.ipfrag_time and
	// net.ipv6.ip6frag_time default.
	fragTimeout = 30 * time.Second
	// maxPendingDatagrams bounds the datagrams awaiting fragments.
	maxPendingDatagrams = 4096
	// maxPendingBytes bounds the fragment bytes held, headers included:
	// Linux's net.ipv4.ipfrag_high_thresh default, 4 MiB.
	maxPendingBytes = 4 << 20
	// maxFragmentsPerDatagram bounds the fragments of one datagram, so
	// that a datagram cut into pieces of 8 bytes (8,192 of them) cannot
	// make each insertion slow. A 64 KiB datagram over the smallest IPv4
	// MTU (68 bytes, 48 of payload a fragment) takes 1,366.
	maxFragmentsPerDatagram = 2048
	// maxDatagramPayload is the most an IP length field can say: a
	// reassembled IPv4 packet (header included) or IPv6 payload longer
	// than this is dropped.
	maxDatagramPayload = 65535
	// keptFreeDatagrams is how many finished datagrams' buffers are kept
	// for reuse.
	keptFreeDatagrams = 16
)

// ipFragment is one IP fragment as its IP header describes it. The slices
// alias the frame, which the reassembler copies from.
type ipFragment struct {
	v6       bool
	src, dst netip.Addr
	id       uint32
	// protocol is the IPv4 protocol, or the IPv6 header that follows the
	// fragment header.
	protocol uint8
	offset   int // of the fragment's data in the datagram's, in bytes
	more     bool
	// header is the IPv4 header with its options, or the IPv6 header and
	// the extension headers before the fragment header: what the
	// reassembled packet begins with, taken from the first fragment.
	header []byte
	// nextHeaderAt is where in header the byte naming the fragment header
	// is (IPv6): in the reassembled packet it names protocol instead.
	nextHeaderAt int
	data         []byte // what the capture holds of the fragment's data
	dataLen      int    // the fragment's data on the wire, from the IP header
}

// fragmentOfIPv4 describes the IPv4 fragment ip, whose header of headerLen
// bytes states totalLen.
func fragmentOfIPv4(ip []byte, totalLen, headerLen int) ipFragment {
	return ipFragment{
		src:      netip.AddrFrom4([4]byte(ip[12:16])),
		dst:      netip.AddrFrom4([4]byte(ip[16:20])),
		id:       uint32(binary.BigEndian.Uint16(ip[4:6])),
		protocol: ip[9],
		offset:   int(binary.BigEndian.Uint16(ip[6:8])&0x1fff) * 8,
		more:     ip[6]&0x20 != 0,
		header:   ip[:headerLen],
		data:     ip[headerLen:min(totalLen, len(ip))],
		dataLen:  totalLen - headerLen,
	}
}

// fragmentOfIPv6 describes the IPv6 fragment ip, totalLen bytes long on the
// wire, whose fragment header is at fragAt and is named by the byte at
// nextHeaderAt. The caller has checked that the fragment header was
// captured.
func fragmentOfIPv6(ip []byte, totalLen, fragAt, nextHeaderAt int) ipFragment {
	fh := ip[fragAt : fragAt+ipv6FragmentLen]
	offsetFlags := binary.BigEndian.Uint16(fh[2:4])
	start := fragAt + ipv6FragmentLen
	return ipFragment{
		v6:           true,
		src:          netip.AddrFrom16([16]byte(ip[8:24])),
		dst:          netip.AddrFrom16([16]byte(ip[24:40])),
		id:           binary.BigEndian.Uint32(fh[4:8]),
		protocol:     fh[0],
		offset:       int(offsetFlags &^ 7),
		more:         offsetFlags&1 != 0,
		header:       ip[:fragAt],
		nextHeaderAt: nextHeaderAt,
		data:         ip[start:min(totalLen, len(ip))],
		dataLen:      totalLen - start,
	}
}

// reassembles reports whether a fragment of protocol, tunnels deep, is
// worth reassembling: it may hold TCP, directly or in a tunnel this
// package follows. Others (ICMP, ESP, ...) are counted as non-TCP.
func reassembles(protocol uint8, v6 bool, tunnels int) bool {
	switch protocol {
	case ipProtocolTCP:
		return true
	case ipv6DestOptions:
		// Options for the destination only, then the transport header.
		return v6
	case ipProtocolUDP, ipProtocolGRE, ipProtocolIPv4, ipProtocolIPv6:
		return tunnels < maxTunnelDepth
	}
	return false
}

// fragKey identifies the fragments of one datagram.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	protocol uint8 // IPv4 only: IPv6 does not key on it
	tunnels  uint8
}

// fragPiece is one fragment held: bytes [offset, end) of the datagram's
// data on the wire, of which [offset, offset+captured) are in the
// datagram's buffer at at.
type fragPiece struct {
	offset, end, captured, at int
}

// pendingDatagram is a datagram awaiting fragments.
type pendingDatagram struct {
	key   fragKey
	first time.Time // when its first fragment came, which starts its timeout
	// tunnel is the innermost tunnel it was found in, for messages.
	tunnel string
	// length is the data's length once the last fragment came (haveLast).
	length   int
	haveLast bool
	received int         // data bytes received, on the wire
	pieces   []fragPiece // sorted by offset, none overlapping
	// buf holds the first fragment's header (header bytes at headerAt)
	// and every fragment's captured data, in the order they came.
	buf          []byte
	haveFirst    bool
	headerAt     int
	headerLen    int
	nextHeaderAt int   // IPv6: see ipFragment
	protocol     uint8 // of the first fragment
	v6           bool
	// older and newer link the pending datagrams in the order their first
	// fragments came.
	older, newer *pendingDatagram
}

// ReassemblyStats counts what became of fragmented datagrams.
type reassemblyStats struct {
	reassembled uint64
	// Datagrams dropped: overlapping fragments; timed out; pushed out by
	// the limits on datagrams or bytes held; inconsistent (lengths that
	// disagree, no data, longer than 65,535 bytes, too many fragments);
	// still incomplete when the capture ended.
	overlap, timeout, evicted, inconsistent, incomplete uint64
}

func (s reassemblyStats) dropped() uint64 {
	return s.overlap + s.timeout + s.evicted + s.inconsistent + s.incomplete
}

// reassembler holds the fragments of the datagrams not yet complete.
type reassembler struct {
	pending        map[fragKey]*pendingDatagram
	oldest, newest *pendingDatagram
	count          int // datagrams pending
	bytes          int // their buffers' lengths, summed
	free           []*pendingDatagram
	out            []byte // the last reassembled packet
	stats          reassemblyStats
}

func newReassembler() *reassembler {
	return &reassembler{pending: make(map[fragKey]*pendingDatagram)}
}

// add takes fragment f, which came at now, found tunnels deep in the
// innermost tunnel named tunnel. When it completes its datagram, add
// returns the reassembled IP packet, which is valid until the next call,
// and how many of its bytes the capture did not hold (a fragment cut by
// the snapshot length leaves the datagram cut from there on); ok is false
// otherwise.
func (r *reassembler) add(f *ipFragment, now time.Time, tunnels int, tunnel string) (packet []byte, missing int, ok bool) {
	r.expire(now)
	if f.v6 && f.offset == 0 && !f.more {
		// An atomic fragment (RFC 6946): a whole packet with a fragment
		// header, which Linux takes as it is, apart from any datagram.
		return r.whole(f)
	}
	key := fragKey{src: f.src, dst: f.dst, id: f.id, tunnels: uint8(tunnels)}
	if !f.v6 {
		key.protocol = f.protocol
	}
	d := r.pending[key]
	if d == nil {
		d = r.open(key, now, tunnel, f.v6)
	}

	end := f.offset + f.dataLen
	if f.more && f.dataLen&7 != 0 {
		if f.v6 {
			return nil, 0, false // discarded; the datagram waits on
		}
		end &^= 7
	}
	if f.v6 && f.offset == 0 && f.more && !ipv6ChainComplete(f) {
		return nil, 0, false
	}
	switch {
	case end <= f.offset,
		!f.more && (end < d.lastEnd() || d.haveLast && end != d.length),
		f.more && d.haveLast && end > d.length:
		r.drop(d, &r.stats.inconsistent)
		return nil, 0, false
	}

	// The first piece ending after this fragment's start is the only one
	// that can hold it whole; any piece it meets makes it an overlap.
	i, _ := slices.BinarySearchFunc(d.pieces, f.offset, func(p fragPiece, offset int) int {
		if p.end <= offset {
			return -1
		}
		return 1
	})
	if i < len(d.pieces) && d.pieces[i].offset < end {
		if p := d.pieces[i]; f.offset >= p.offset && end <= p.end {
			return nil, 0, false // a duplicate
		}
		r.drop(d, &r.stats.overlap)
		return nil, 0, false
	}
	if len(d.pieces) == maxFragmentsPerDatagram {
		r.drop(d, &r.stats.inconsistent)
		return nil, 0, false
	}

	captured := min(len(f.data), end-f.offset)
	need := captured
	if f.offset == 0 {
		need += len(f.header)
	}
	r.makeRoom(need, d)
	before := len(d.buf)
	if f.offset == 0 {
		d.haveFirst = true
		d.headerAt, d.headerLen = len(d.buf), len(f.header)
		d.nextHeaderAt, d.protocol = f.nextHeaderAt, f.protocol
		d.buf = append(d.buf, f.header...)
	}
	d.pieces = slices.Insert(d.pieces, i, fragPiece{offset: f.offset, end: end, captured: captured, at: len(d.buf)})
	d.buf = append(d.buf, f.data[:captured]...)
	r.bytes += len(d.buf) - before
	d.received += end - f.offset
	if !f.more {
		d.haveLast, d.length = true, end
	}
	if !d.haveFirst || !d.haveLast || d.received != d.length {
		return nil, 0, false
	}
	return r.finish(d)
}

// lastEnd is where the data received so far ends.
func (d *pendingDatagram) lastEnd() int {
	if len(d.pieces) == 0 {
		return 0
	}
	return d.pieces[len(d.pieces)-1].end
}

// ipv6ChainComplete reports whether the first fragment f holds the
// extension headers after its fragment header and the start of the
// transport header (RFC 8200 section 4.5; Linux's
// ipv6frag_thdr_truncated): for TCP the 20-byte fixed header, for UDP
// the 8-byte header, else one byte. What the snapshot length cut off is
// taken to have been there.
func ipv6ChainComplete(f *ipFragment) bool {
	next, offset := f.protocol, 0
	for next == ipv6HopByHop || next == ipv6Routing || next == ipv6DestOptions {
		if offset+2 > len(f.data) {
			// Not captured: there if the fragment is long enough.
			return offset+2 <= f.dataLen
		}
		next, offset = f.data[offset], offset+(int(f.data[offset+1])+1)*8
	}
	switch next {
	case ipProtocolTCP:
		offset += tcpMinHeaderLen
	case ipProtocolUDP:
		offset += udpHeaderLen
	default:
		offset++
	}
	return offset <= f.dataLen
}

// finish reassembles the complete datagram d into r.out and forgets d.
func (r *reassembler) finish(d *pendingDatagram) ([]byte, int, bool) {
	header := d.buf[d.headerAt : d.headerAt+d.headerLen]
	total := d.headerLen + d.length
	if !d.v6 && total > maxDatagramPayload || d.v6 && total-ipv6HeaderLen > maxDatagramPayload {
		r.drop(d, &r.stats.inconsistent)
		return nil, 0, false
	}
	out := wholeHeader(r.out[:0], header, d.v6, d.nextHeaderAt, d.protocol, total)
	// The capture holds the data up to the first fragment it cut.
	for _, p := range d.pieces {
		out = append(out, d.buf[p.at:p.at+p.captured]...)
		if p.captured < p.end-p.offset {
			break
		}
	}
	r.out = out
	r.stats.reassembled++
	r.forget(d)
	return out, total - len(out), true
}

// whole returns the atomic fragment f as the packet it is.
func (r *reassembler) whole(f *ipFragment) ([]byte, int, bool) {
	total := len(f.header) + f.dataLen
	if total-ipv6HeaderLen > maxDatagramPayload {
		r.stats.inconsistent++
		return nil, 0, false
	}
	r.out = append(wholeHeader(r.out[:0], f.header, true, f.nextHeaderAt, f.protocol, total), f.data...)
	r.stats.reassembled++
	return r.out, total - len(r.out), true
}

// wholeHeader appends to out the header of a reassembled packet total
// bytes long that begins as header, the first fragment's, did: the IPv6
// payload length set and the fragment header's next header put in its
// place; the IPv4 total length set, the more-fragments bit and the offset
// cleared (don't-fragment and the reserved bit stay as they were) and the
// checksum computed again.
func wholeHeader(out, header []byte, v6 bool, nextHeaderAt int, protocol uint8, total int) []byte {
	out = append(out, header...)
	if v6 {
		binary.BigEndian.PutUint16(out[4:6], uint16(total-ipv6HeaderLen))
		out[nextHeaderAt] = protocol
		return out
	}
	binary.BigEndian.PutUint16(out[2:4], uint16(total))
	out[6] &= 0xc0
	out[7] = 0
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], ^foldSum(onesSum(0, out)))
	return out
}

// open starts a datagram for key, whose first fragment came at now, making
// room for it under maxPendingDatagrams.
func (r *reassembler) open(key fragKey, now time.Time, tunnel string, v6 bool) *pendingDatagram {
	if r.count >= maxPendingDatagrams {
		r.drop(r.oldest, &r.stats.evicted)
	}
	var d *pendingDatagram
	if n := len(r.free); n > 0 {
		d, r.free = r.free[n-1], r.free[:n-1]
		*d = pendingDatagram{pieces: d.pieces[:0], buf: d.buf[:0]}
	} else {
		d = &pendingDatagram{}
	}
	d.key, d.first, d.tunnel, d.v6 = key, now, tunnel, v6
	d.older = r.newest
	if r.newest != nil {
		r.newest.newer = d
	} else {
		r.oldest = d
	}
	r.newest = d
	r.pending[key] = d
	r.count++
	return d
}

// makeRoom drops the oldest datagrams other than keep until need more
// bytes fit under maxPendingBytes.
func (r *reassembler) makeRoom(need int, keep *pendingDatagram) {
	for d := r.oldest; d != nil && r.bytes+need > maxPendingBytes; {
		next := d.newer
		if d != keep {
			r.drop(d, &r.stats.evicted)
		}
		d = next
	}
}

// expire drops the datagrams whose first fragment came fragTimeout or more
// before now. A clock that went back expires nothing.
func (r *reassembler) expire(now time.Time) {
	for r.oldest != nil && now.Sub(r.oldest.first) >= fragTimeout {
		r.drop(r.oldest, &r.stats.timeout)
	}
}

// endOfCapture drops every datagram still incomplete: the capture has no
// more fragments for them.
func (r *reassembler) endOfCapture() {
	for r.oldest != nil {
		r.drop(r.oldest, &r.stats.incomplete)
	}
}

// drop forgets d, counting it in *reason.
func (r *reassembler) drop(d *pendingDatagram, reason *uint64) {
	*reason++
	r.forget(d)
}

// forget unlinks d and keeps its buffers for a later datagram.
func (r *reassembler) forget(d *pendingDatagram) {
	if d.older != nil {
		d.older.newer = d.newer
	} else {
		r.oldest = d.newer
	}
	if d.newer != nil {
		d.newer.older = d.older
	} else {
		r.newest = d.older
	}
	delete(r.pending, d.key)
	r.count--
	r.bytes -= len(d.buf)
	if len(r.free) < keptFreeDatagrams {
		d.older, d.newer = nil, nil
		r.free = append(r.free, d)
	}
}
