package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// piece is one fragment to cut from a datagram: its data's offset and
// length, and whether it says more fragments follow.
type piece struct {
	offset, length int
	more           bool
}

// in cuts the datagram's data into fragments of the given lengths, in
// order, the last without the more-fragments flag.
func in(lengths ...int) []piece {
	var ps []piece
	offset := 0
	for i, n := range lengths {
		ps = append(ps, piece{offset, n, i < len(lengths)-1})
		offset += n
	}
	return ps
}

// fragment4 is the fragment p of the whole IPv4 packet ip (identification
// id): its header, with the length, flags and offset of p, then p's data.
func fragment4(ip []byte, id uint16, p piece) []byte {
	hl := int(ip[0]&0x0f) * 4
	b := append(bytes.Clone(ip[:hl]), ip[hl+p.offset:hl+p.offset+p.length]...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], id)
	flags := uint16(p.offset / 8)
	if p.more {
		flags |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], flags)
	fixIPv4Checksum(b)
	return b
}

// fragment6 is the fragment p of the whole IPv6 packet ip (identification
// id), whose unfragmentable part is its first unfragmentable bytes, the
// last header of them naming the fragment header at nextAt.
func fragment6(ip []byte, unfragmentable, nextAt int, id uint32, p piece) []byte {
	b := bytes.Clone(ip[:unfragmentable])
	fh := make([]byte, 8)
	fh[0] = b[nextAt]
	b[nextAt] = ipv6Fragment
	offsetFlags := uint16(p.offset)
	if p.more {
		offsetFlags |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], offsetFlags)
	binary.BigEndian.PutUint32(fh[4:], id)
	b = append(append(b, fh...), ip[unfragmentable+p.offset:unfragmentable+p.offset+p.length]...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)-ipv6HeaderLen))
	return b
}

// halves cuts n bytes of data in two fragments, the first a multiple of 8.
func halves(n int) []piece { return in(n/2&^7, n-n/2&^7) }

// fragmented is a datagram cut into fragments.
type fragmented struct {
	whole     []byte // the packet as sent
	fragments [][]byte
}

// fragmentsOf cuts ip, IPv4 or IPv6 (then with unfragmentable bytes and
// nextAt as for fragment6), into the pieces ps, in that order.
func fragmentsOf(ip []byte, unfragmentable, nextAt int, id uint32, ps ...piece) fragmented {
	f := fragmented{whole: ip}
	for _, p := range ps {
		if ip[0]>>4 == 4 {
			f.fragments = append(f.fragments, fragment4(ip, uint16(id), p))
		} else {
			f.fragments = append(f.fragments, fragment6(ip, unfragmentable, nextAt, id, p))
		}
	}
	return f
}

// reassemblyCase is a run of fragments through one reassembler.
type reassemblyCase struct {
	name string
	// frames, each handed to the decoder at its time.
	frames []timedFrame
	// completes is the index of the frame that completes a datagram and
	// is TCP (wantSeg's), or -1.
	completes int
	wantSeg   seg
	truncated int // of the delivered segment's payload, not captured
	extLen    int // IPv6 extension headers the delivered packet has
	want      reassemblyStats
}

type timedFrame struct {
	at      time.Duration
	ip      []byte
	missing int // cut by the snapshot length
}

// frames is fragments of f, picked by index, a millisecond apart.
func frames(f fragmented, order ...int) []timedFrame {
	var out []timedFrame
	for i, k := range order {
		out = append(out, timedFrame{at: time.Duration(i) * time.Millisecond, ip: f.fragments[k]})
	}
	return out
}

func reassemblyCases() []reassemblyCase {
	s4 := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1000, flags: FlagSYN, window: 64240, options: synOptions, payload: 100}
	s6 := s4
	s6.src, s6.dst = "2001:db8::1", "2001:db8::2"
	ip4 := withTCPChecksum(s4.ipBytes())
	ip6 := withTCPChecksum(s6.ipBytes())
	// The TCP segment is 140 bytes: 40 of header, 100 of payload.
	v4 := func(ps ...piece) fragmented { return fragmentsOf(ip4, 0, 0, 7, ps...) }
	v6 := func(ps ...piece) fragmented { return fragmentsOf(ip6, ipv6HeaderLen, 6, 7, ps...) }
	// IPv6 with hop-by-hop and destination options headers before the
	// fragment header: they stay in every fragment, and in the datagram.
	ext := ipv6Bytes(s6.srcAddr(), s6.dstAddr(), ipProtocolTCP, s6.tcpBytes(), extHopByHop, extDestOpts)
	ext = withTCPChecksumAt(ext, len(ext)-len(s6.tcpBytes()))
	extLen := len(ext) - len(s6.tcpBytes())
	v6ext := fragmentsOf(ext, extLen, ipv6HeaderLen+8, 7, in(64, 76)...)

	const none = -1
	return []reassemblyCase{
		{name: "IPv4 in order", frames: frames(v4(in(48, 48, 44)...), 0, 1, 2), completes: 2, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 out of order", frames: frames(v4(in(48, 48, 44)...), 2, 0, 1), completes: 2, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 last first", frames: frames(v4(in(48, 48, 44)...), 2, 1, 0), completes: 2, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 duplicate ignored", frames: frames(v4(in(48, 48, 44)...), 0, 0, 1, 2), completes: 3, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 duplicate inside a fragment", frames: frames(v4(piece{0, 96, true}, piece{96, 44, false}, piece{48, 40, true}), 0, 2, 1), completes: 2, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 overlap drops the datagram", frames: frames(v4(piece{0, 64, true}, piece{48, 92, false}), 0, 1), completes: none, want: reassemblyStats{overlap: 1}},
		{name: "IPv4 overlap, then the rest: never complete", frames: frames(v4(piece{0, 64, true}, piece{48, 48, true}, piece{64, 76, false}), 0, 1, 2), completes: none, want: reassemblyStats{overlap: 1, incomplete: 1}},
		{name: "IPv4 first fragment shorter than the TCP header", frames: frames(v4(in(16, 124)...), 0, 1), completes: 1, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 two last fragments disagree", frames: frames(v4(piece{0, 48, true}, piece{48, 92, false}, piece{96, 8, false}), 1, 2, 0), completes: none, want: reassemblyStats{inconsistent: 1, incomplete: 1}},
		{name: "IPv4 data past the last fragment", frames: frames(v4(piece{48, 48, false}, piece{96, 40, true}), 0, 1), completes: none, want: reassemblyStats{inconsistent: 1}},
		{name: "IPv4 a fragment with no data", frames: frames(v4(piece{0, 48, true}, piece{48, 0, true}), 0, 1), completes: none, want: reassemblyStats{inconsistent: 1}},
		{name: "IPv4 incomplete at the end", frames: frames(v4(in(48, 48, 44)...), 0, 2), completes: none, want: reassemblyStats{incomplete: 1}},
		{name: "IPv4 timed out", frames: []timedFrame{{0, v4(in(48, 92)...).fragments[0], 0}, {fragTimeout, v4(in(48, 92)...).fragments[1], 0}},
			completes: none, want: reassemblyStats{timeout: 1, incomplete: 1}},
		{name: "IPv4 just in time", frames: []timedFrame{{0, v4(in(48, 92)...).fragments[0], 0}, {fragTimeout - time.Microsecond, v4(in(48, 92)...).fragments[1], 0}},
			completes: 1, wantSeg: s4, want: reassemblyStats{reassembled: 1}},
		{name: "IPv4 a fragment cut by the snapshot length", frames: []timedFrame{{0, v4(in(48, 92)...).fragments[1][:20+52], 40}, {time.Millisecond, v4(in(48, 92)...).fragments[0], 0}},
			completes: 1, wantSeg: s4, truncated: 40, want: reassemblyStats{reassembled: 1}},
		{name: "IPv6 in order", frames: frames(v6(in(64, 76)...), 0, 1), completes: 1, wantSeg: s6, want: reassemblyStats{reassembled: 1}},
		{name: "IPv6 out of order", frames: frames(v6(in(48, 48, 44)...), 1, 2, 0), completes: 2, wantSeg: s6, want: reassemblyStats{reassembled: 1}},
		{name: "IPv6 overlap drops the datagram (RFC 5722)", frames: frames(v6(piece{0, 64, true}, piece{56, 84, false}), 0, 1), completes: none, want: reassemblyStats{overlap: 1}},
		{name: "IPv6 extension headers before the fragment header", frames: frames(v6ext, 1, 0), completes: 1, wantSeg: s6, extLen: extLen - ipv6HeaderLen, want: reassemblyStats{reassembled: 1}},
		{name: "IPv6 first fragment shorter than the TCP header is discarded", frames: frames(v6(in(16, 124)...), 0, 1), completes: none, want: reassemblyStats{incomplete: 1}},
		{name: "IPv6 a middle fragment not a multiple of 8 is discarded", frames: frames(v6(piece{0, 48, true}, piece{48, 44, true}, piece{96, 44, false}), 0, 1, 2), completes: none, want: reassemblyStats{incomplete: 1}},
		{name: "IPv6 atomic fragment", frames: frames(v6(piece{0, 140, false}), 0), completes: 0, wantSeg: s6, want: reassemblyStats{reassembled: 1}},
	}
}

// withTCPChecksumAt sets the TCP checksum of the IPv6 packet ip whose TCP
// header is at tcpAt, behind extension headers.
func withTCPChecksumAt(ip []byte, tcpAt int) []byte {
	plain := append(bytes.Clone(ip[:ipv6HeaderLen]), ip[tcpAt:]...)
	plain[6] = ipProtocolTCP
	binary.BigEndian.PutUint16(plain[4:], uint16(len(ip)-tcpAt))
	withTCPChecksum(plain)
	copy(ip[tcpAt+16:tcpAt+18], plain[ipv6HeaderLen+16:ipv6HeaderLen+18])
	return ip
}

// TestReassembly runs each case's frames, raw IP, through a Reader: the
// segment comes whole (or cut where the capture cut it) with the
// completing fragment's index and time, every other fragment is held,
// and the datagrams reassembled and dropped are counted by reason.
func TestReassembly(t *testing.T) {
	for _, tc := range reassemblyCases() {
		t.Run(tc.name, func(t *testing.T) {
			var recs []rec
			for _, f := range tc.frames {
				recs = append(recs, rec{ts: at(f.at), data: f.ip, origLen: len(f.ip) + f.missing})
			}
			r, err := NewReader(bytesReader(pcapBytes(binary.LittleEndian, false, uint32(linkRaw), recs...)), "x.pcap", Options{VerifyChecksums: true})
			if err != nil {
				t.Fatal(err)
			}
			var warns []error
			r.opt.Warn = func(err error) { warns = append(warns, err) }
			err, pkts := drain(r)
			if err != nil || warns != nil {
				t.Fatalf("error %v, warnings %v", err, warns)
			}
			var want []Packet
			if tc.completes >= 0 {
				p := tc.wantSeg.want()
				p.Index, p.Timestamp = uint64(tc.completes+1), at(tc.frames[tc.completes].at)
				p.IPLen += tc.extLen
				if tc.truncated > 0 {
					p.Truncated = true
					p.CapturedPayload -= tc.truncated
				}
				want = append(want, p)
			}
			comparePackets(t, pkts, want)
			if got := r.dec.frags.stats; got != tc.want {
				t.Errorf("reassembler %+v, want %+v", got, tc.want)
			}
			st := r.Stats()
			checkStats(t, st)
			if st.ReassembledDatagrams != tc.want.reassembled || st.DroppedDatagrams != tc.want.dropped() {
				t.Errorf("stats %+v, want %d reassembled and %d dropped", st, tc.want.reassembled, tc.want.dropped())
			}
			if held := uint64(len(tc.frames)) - st.TCP; st.Fragments != held {
				t.Errorf("%d fragments counted, want %d", st.Fragments, held)
			}
			if r.dec.frags.count != 0 || r.dec.frags.bytes != 0 || len(r.dec.frags.pending) != 0 {
				t.Errorf("after the end: %d datagrams, %d bytes still held", r.dec.frags.count, r.dec.frags.bytes)
			}
		})
	}
}

// The limits: past maxPendingDatagrams, or maxPendingBytes, the datagram
// whose first fragment came earliest is dropped, and what is held never
// goes past either.
func TestReassemblyLimits(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: FlagACK, payload: 1460}
	ip := withTCPChecksum(s.ipBytes())
	tests := []struct {
		name      string
		datagrams int
		length    int // of each first fragment's data
		evicted   uint64
	}{
		{"datagrams", maxPendingDatagrams + 10, 8, 10},
		{"bytes", 4000, 1400, 4000 - maxPendingBytes/(1400+20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder(false)
			p, _ := d.parser(linkRaw)
			var pkt Packet
			for i := range tt.datagrams {
				f := fragment4(ip, uint16(i), piece{0, tt.length, true})
				if v, err := d.decode(linkRaw, p, f, 0, &pkt); v != verdictFragment || err != nil {
					t.Fatalf("fragment %d: verdict %d, %v", i, v, err)
				}
				if d.frags.count > maxPendingDatagrams || d.frags.bytes > maxPendingBytes {
					t.Fatalf("after %d: %d datagrams, %d bytes held", i, d.frags.count, d.frags.bytes)
				}
			}
			if got := d.frags.stats.evicted; got != tt.evicted {
				t.Errorf("%d evicted, want %d", got, tt.evicted)
			}
			// The oldest went: the first datagram's last fragment
			// completes nothing, the newest's completes it.
			last := fragment4(ip, 0, piece{tt.length, len(ip) - 20 - tt.length, false})
			if v, _ := d.decode(linkRaw, p, last, 0, &pkt); v != verdictFragment {
				t.Errorf("the oldest datagram's last fragment: verdict %d, want it held", v)
			}
			last = fragment4(ip, uint16(tt.datagrams-1), piece{tt.length, len(ip) - 20 - tt.length, false})
			if v, err := d.decode(linkRaw, p, last, 0, &pkt); v != verdictTCP || err != nil {
				t.Errorf("the newest datagram's last fragment: verdict %d, %v", v, err)
			}
		})
	}
}

// Fragments inside a tunnel, and a tunnel's packet fragmented outside it:
// each is reassembled and the inner segment delivered.
func TestReassemblyInTunnels(t *testing.T) {
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1000, flags: FlagSYN, window: 64240, options: synOptions, payload: 100}
	inner := withTCPChecksum(s.ipBytes())
	innerFrags := fragmentsOf(inner, 0, 0, 9, in(48, 92)...).fragments
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{"inner fragments in IP in IP", [][]byte{ipInIP(false, innerFrags[1]), ipInIP(false, innerFrags[0])}},
		{"inner fragments in GRE", [][]byte{
			outerProto(false, ipProtocolGRE, greBytes(greK, etherIPv4, innerFrags[0])),
			outerProto(false, ipProtocolGRE, greBytes(greK, etherIPv4, innerFrags[1]))}},
		{"inner fragments in VXLAN", [][]byte{
			outerIP(true, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(innerFrags[0])))),
			outerIP(true, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(innerFrags[1]))))}},
		{"outer fragments of IP in IP", fragmentsOf(ipInIP(false, inner), 0, 0, 3, halves(len(inner))...).fragments},
		{"outer fragments of GRE over IPv6", func() [][]byte {
			gre := outerProto(true, ipProtocolGRE, greBytes(greK, etherIPv4, inner))
			return fragmentsOf(gre, ipv6HeaderLen, 6, 3, halves(len(gre)-ipv6HeaderLen)...).fragments
		}()},
		{"outer and inner fragments of VXLAN", func() [][]byte {
			var out [][]byte
			for _, f := range innerFrags {
				outer := outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(f))))
				out = append(out, fragmentsOf(outer, 0, 0, 4, halves(len(outer)-20)...).fragments...)
			}
			return out
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []rec
			for i, f := range tt.frames {
				recs = append(recs, rec{ts: at(time.Duration(i) * time.Millisecond), data: ethernetIP(f)})
			}
			res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, false, 1, recs...), Options{VerifyChecksums: true})
			if res.err != nil || res.warns != nil {
				t.Fatalf("error %v, warnings %q", res.err, res.warns)
			}
			n := len(tt.frames)
			want := s.want()
			want.Index, want.Timestamp = uint64(n), at(time.Duration(n-1)*time.Millisecond)
			comparePackets(t, res.packets, []Packet{want})
			if res.stats.Fragments != uint64(n-1) || res.stats.DroppedDatagrams != 0 {
				t.Errorf("stats %+v, want %d fragments held and none dropped", res.stats, n-1)
			}
		})
	}
}

// FuzzReassembly feeds fragments cut from one datagram at arbitrary
// offsets and lengths, in arbitrary order, with arbitrary identifications
// and times, to a decoder with a pcap Reader's clock: nothing panics,
// what is held stays within the limits and is accounted for, a datagram
// that completes is the one sent where its fragments were cut from it
// whole, and the fast path and the layered decoder agree on every frame.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 48, 1, 0, 0, 48, 48, 1, 0, 0, 96, 44, 0, 0, 0}, false)
	f.Add([]byte{96, 44, 0, 0, 0, 0, 48, 1, 0, 0, 48, 48, 1, 0, 0}, true)
	f.Add([]byte{0, 64, 1, 0, 0, 48, 92, 0, 0, 0}, false)
	f.Add([]byte{0, 16, 1, 0, 0, 16, 124, 0, 0, 200}, true)
	s := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1000, flags: FlagSYN, window: 64240, options: synOptions, payload: 100}
	s6 := s
	s6.src, s6.dst = "2001:db8::1", "2001:db8::2"
	ip4, ip6 := withTCPChecksum(s.ipBytes()), withTCPChecksum(s6.ipBytes())
	f.Fuzz(func(t *testing.T, script []byte, v6 bool) {
		ip, unfragmentable := ip4, 20
		if v6 {
			ip, unfragmentable = ip6, ipv6HeaderLen
		}
		dataLen := len(ip) - unfragmentable
		d := newDifferential()
		var now time.Duration
		// Five bytes a fragment: offset/2, length, flags (bit 0 more,
		// bit 1 a second identification), then seconds to wait, and
		// how much of the fragment the capture cut.
		for i := 0; i+5 <= len(script) && i < 5*64; i += 5 {
			offset := int(script[i]) * 2 % dataLen &^ 7
			length := min(int(script[i+1]), dataLen-offset)
			p := piece{offset, length, script[i+2]&1 != 0}
			id := uint32(7 + script[i+2]>>1&1)
			now += time.Duration(script[i+3]) * time.Second
			var frame []byte
			if v6 {
				frame = fragment6(ip, unfragmentable, 6, id, p)
			} else {
				frame = fragment4(ip, uint16(id), p)
			}
			cut := min(int(script[i+4]), len(frame))
			frame, missing := frame[:len(frame)-cut], cut
			for side := range d.fast {
				d.fast[side].now, d.layered[side].now = at(now), at(now)
			}
			d.check(t, fmt.Sprintf("fragment %d", i/5), linkRaw, frame, missing)
			r := d.layered[0].frags
			if r.count > maxPendingDatagrams || r.bytes > maxPendingBytes || r.count != len(r.pending) {
				t.Fatalf("%d datagrams (%d in the map), %d bytes held", r.count, len(r.pending), r.bytes)
			}
			if out := r.out; r.stats.reassembled > 0 {
				// Whatever completed was cut from ip: its data is ip's.
				hl := unfragmentable
				if !bytes.Equal(out[hl:], ip[unfragmentable:unfragmentable+len(out)-hl]) {
					t.Fatalf("reassembled %x, not a prefix of the datagram %x", out, ip)
				}
			}
		}
		r := d.layered[0].frags
		pending := uint64(r.count)
		r.endOfCapture()
		if r.stats.incomplete < pending || r.count != 0 || r.bytes != 0 {
			t.Fatalf("at the end: %d incomplete of %d pending; %d datagrams, %d bytes held", r.stats.incomplete, pending, r.count, r.bytes)
		}
	})
}
