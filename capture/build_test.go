package capture

// Builders for hand-made frames and capture files. Hand-made rather than
// gopacket.SerializeLayers so that the tests can also build what no
// serializer would: bad header lengths, odd link types, cut-off files.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// seg describes one TCP segment to build.
type seg struct {
	src, dst     string // IPv4 or IPv6 literal; the family picks the IP version
	sport, dport uint16
	seq, ack     uint32
	flags        TCPFlags
	window       uint16
	options      []byte // raw option bytes, padded with NOPs... by the caller
	payload      int    // payload bytes (zeros)
}

// synOptions is a typical Linux SYN: MSS 1460, SACK permitted, timestamps,
// NOP, window scale 7.
var synOptions = []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}

func (s seg) srcAddr() netip.Addr { return netip.MustParseAddr(s.src) }
func (s seg) dstAddr() netip.Addr { return netip.MustParseAddr(s.dst) }

// tcpBytes is the TCP header and payload.
func (s seg) tcpBytes() []byte {
	hl := 20 + len(s.options)
	if hl%4 != 0 {
		panic("options not padded to 4 bytes")
	}
	b := make([]byte, hl+s.payload)
	binary.BigEndian.PutUint16(b[0:], s.sport)
	binary.BigEndian.PutUint16(b[2:], s.dport)
	binary.BigEndian.PutUint32(b[4:], s.seq)
	binary.BigEndian.PutUint32(b[8:], s.ack)
	b[12] = byte(hl/4)<<4 | byte(s.flags>>8&1)
	b[13] = byte(s.flags)
	binary.BigEndian.PutUint16(b[14:], s.window)
	copy(b[20:], s.options)
	for i := hl; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

// ipBytes wraps the segment in IPv4 or IPv6.
func (s seg) ipBytes() []byte {
	if s.srcAddr().Is4() {
		return ipv4Bytes(s.srcAddr(), s.dstAddr(), 6, s.tcpBytes())
	}
	return ipv6Bytes(s.srcAddr(), s.dstAddr(), 6, s.tcpBytes())
}

// want is the Packet the segment should decode to (Index and Timestamp
// left for the caller).
func (s seg) want() Packet {
	p := Packet{
		Src: s.srcAddr(), Dst: s.dstAddr(), SrcPort: s.sport, DstPort: s.dport,
		Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.window,
		PayloadLen: s.payload, CapturedPayload: s.payload, WindowScale: -1,
	}
	hdr := 40
	if p.Src.Is4() {
		hdr = 20
	}
	p.IPLen = hdr + 20 + len(s.options) + s.payload
	var o tcpOptions
	o.parse(s.options)
	p.MSS, p.WindowScale, p.SACKPermitted = o.mss, o.windowScale, o.sackPermitted
	p.HasTimestamp, p.TSVal, p.TSEcr = o.timestamps, o.tsVal, o.tsEcr
	return p
}

func ipv4Bytes(src, dst netip.Addr, proto byte, l4 []byte) []byte {
	b := make([]byte, 20+len(l4))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	b[6] = 0x40 // don't fragment
	b[8] = 64
	b[9] = proto
	s4, d4 := src.As4(), dst.As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	copy(b[20:], l4)
	fixIPv4Checksum(b)
	return b
}

// ipv6Bytes builds an IPv6 packet; ext are extension headers as
// (next-header value, body) pairs, chained in order before l4.
func ipv6Bytes(src, dst netip.Addr, proto byte, l4 []byte, ext ...ipv6Ext) []byte {
	var chain []byte
	next := proto
	for i := len(ext) - 1; i >= 0; i-- {
		h := append([]byte{next}, ext[i].body...)
		chain = append(h, chain...)
		next = ext[i].kind
	}
	b := make([]byte, 40, 40+len(chain)+len(l4))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(chain)+len(l4)))
	b[6] = next
	b[7] = 64
	s16, d16 := src.As16(), dst.As16()
	copy(b[8:], s16[:])
	copy(b[24:], d16[:])
	return append(append(b, chain...), l4...)
}

// ipv6Ext is one extension header; body excludes the next-header byte and
// must make the header a multiple of 8 bytes (length byte first for
// options and routing headers).
type ipv6Ext struct {
	kind byte
	body []byte
}

var (
	extHopByHop = ipv6Ext{0, []byte{0, 1, 4, 0, 0, 0, 0}}           // PadN
	extRouting  = ipv6Ext{43, []byte{0, 4, 0, 0, 0, 0, 0}}          // type 4 (SRH-ish), no segments left
	extDestOpts = ipv6Ext{60, []byte{1, 1, 12, 0, 0, 0, 0, 0, 0, 0, // PadN 12 bytes
		0, 0, 0, 0, 0}}
	extFragment = ipv6Ext{44, []byte{0, 0, 1, 0, 0, 0, 42}} // offset 0, M flag set
)

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherVLAN = 0x8100
	etherQinQ = 0x88a8
)

// ethernet frames payload; vlans are (TPID) tags from the outside in.
func ethernet(etherType uint16, payload []byte, tpids ...uint16) []byte {
	b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	for i, tpid := range tpids {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, uint16(100+i))
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

func linuxSLLFrame(protocol uint16, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	binary.BigEndian.PutUint16(b[0:], 0) // to us
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	copy(b[6:], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[14:], protocol)
	return append(b, payload...)
}

func linuxSLL2Frame(protocol uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:], protocol)
	binary.BigEndian.PutUint32(b[4:], 3) // interface index
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[10] = 0                            // to us
	b[11] = 6
	copy(b[12:], []byte{2, 0, 0, 0, 0, 1})
	return append(b, payload...)
}

func loopbackFrame(order byteOrder, family uint32, payload []byte) []byte {
	b := order.AppendUint32(nil, family)
	return append(b, payload...)
}

// rec is one record of a capture file to build.
type rec struct {
	ts      time.Time
	data    []byte
	origLen int // 0: len(data)
	iface   int // pcapng only
}

func (r rec) wireLen() int {
	if r.origLen != 0 {
		return r.origLen
	}
	return len(r.data)
}

// pcapBytes writes a classic pcap file by hand, for the byte orders, link
// types and magics pcapgo.Writer cannot produce.
func pcapBytes(order byteOrder, nanos bool, link uint32, recs ...rec) []byte {
	magic := uint32(pcapMagicMicros)
	if nanos {
		magic = pcapMagicNanos
	}
	return pcapWithMagic(order, magic, link, recs...)
}

// pcapWithMagic writes a classic pcap file with the given magic, which
// decides the timestamp unit and the record header size.
func pcapWithMagic(order byteOrder, magic, link uint32, recs ...rec) []byte {
	nanos := magic == pcapMagicNanos
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, link)
	for _, r := range recs {
		frac := r.ts.Nanosecond()
		if !nanos {
			frac /= 1000
		}
		b = order.AppendUint32(b, uint32(r.ts.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, uint32(r.wireLen()))
		if magic == pcapMagicKuznetzov {
			b = order.AppendUint32(b, 2)         // interface index
			b = order.AppendUint16(b, etherIPv4) // protocol
			b = append(b, 0, 0)                  // packet type, padding
		}
		b = append(b, r.data...)
	}
	return b
}

// pcapngBytes writes a one-section pcapng file by hand.
func pcapngBytes(order byteOrder, ifaces []pcapngtest.Interface, recs ...rec) []byte {
	b := pcapngtest.SectionHeader(order)
	for _, i := range ifaces {
		b = append(b, i.Block(order)...)
	}
	for _, r := range recs {
		b = append(b, pcapngEPB(order, ifaces[r.iface], r)...)
	}
	return b
}

// pcapngEPB is the enhanced packet block of r on interface i, its time in
// i's units.
func pcapngEPB(order byteOrder, i pcapngtest.Interface, r rec) []byte {
	units := uint64(r.ts.Unix()-i.TSOffset)*pow10(6) + uint64(r.ts.Nanosecond()/1000)
	if i.TSResol != 0 {
		if i.TSResol&0x80 != 0 {
			exp := i.TSResol & 0x7f
			units = uint64(r.ts.Unix()-i.TSOffset)<<exp | uint64(r.ts.Nanosecond())<<exp/1e9
		} else {
			u := pow10(i.TSResol)
			units = uint64(r.ts.Unix()-i.TSOffset)*u + uint64(r.ts.Nanosecond())*u/1e9
		}
	}
	return pcapngtest.EnhancedPacket(order, uint32(r.iface), units, r.data, r.wireLen())
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// t0 is the capture's start: a time with nanoseconds, to catch a reader
// rounding them away.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// at is t0 plus d, rounded to the microsecond as a microsecond file stores it.
func at(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond) }

// handshake is a client/server exchange: SYN, SYN/ACK, ACK, data, ACK, FIN.
func handshake(client, server string, cport, sport uint16) []seg {
	c2s := func(s seg) seg { s.src, s.dst, s.sport, s.dport = client, server, cport, sport; return s }
	s2c := func(s seg) seg { s.src, s.dst, s.sport, s.dport = server, client, sport, cport; return s }
	return []seg{
		c2s(seg{seq: 1000, flags: FlagSYN, window: 64240, options: synOptions}),
		s2c(seg{seq: 5000, ack: 1001, flags: FlagSYN | FlagACK, window: 65160, options: synOptions}),
		c2s(seg{seq: 1001, ack: 5001, flags: FlagACK, window: 502}),
		c2s(seg{seq: 1001, ack: 5001, flags: FlagPSH | FlagACK, window: 502, payload: 100}),
		s2c(seg{seq: 5001, ack: 1101, flags: FlagACK, window: 509}),
		c2s(seg{seq: 1101, ack: 5001, flags: FlagFIN | FlagACK, window: 502}),
	}
}

// recordsOf frames segments with frame and stamps them 1 ms apart.
func recordsOf(frame func([]byte) []byte, segs []seg) []rec {
	recs := make([]rec, len(segs))
	for i, s := range segs {
		recs[i] = rec{ts: at(time.Duration(i) * time.Millisecond), data: frame(s.ipBytes())}
	}
	return recs
}

// ethernetIP frames an IP packet in Ethernet, choosing the EtherType by
// the version nibble.
func ethernetIP(ip []byte) []byte {
	if ip[0]>>4 == 6 {
		return ethernet(etherIPv6, ip)
	}
	return ethernet(etherIPv4, ip)
}

// byteOrder is what binary.LittleEndian and binary.BigEndian both are.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
