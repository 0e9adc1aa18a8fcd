package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// The hostile captures: files a careless or malicious writer could
// produce, each built around one or two ordinary connections so that what
// survives can be counted. cmd/tcpfsm's TestHostileCaptures says, for
// each, the exact message, the connections still reported and the exit
// status; testdata/hostile/README.md lists them.

// hostileCaptures returns the suite by file name.
func hostileCaptures() map[string][]byte {
	a := story(0, "10.0.0.1", 40000, "10.0.0.2", 9502)
	b := story(10, "10.0.0.3", 40001, "10.0.0.2", 9502)
	eth := func(s []hpkt) []hrec { return records(s, ethernet) }
	whole := pcapFile(1, 65535, append(eth(a), eth(b)...)...)
	cut := len(pcapFile(1, 65535, append(eth(a), eth(b)[:3]...)...)) // through b's third packet

	files := map[string][]byte{
		"bad-magic.pcap":         []byte("<html><body>404 Not Found</body></html>\n"),
		"global-header-cut.pcap": whole[:10],
		// b's fourth record: 7 bytes of its header, then 30 of its frame.
		"record-header-cut.pcap": whole[:cut+7],
		"record-cut.pcap":        whole[:cut+16+30],
	}

	// A record longer than the file's snapshot length (96), and one
	// longer than any capture holds (256 KiB): both say the file is
	// corrupt from there on.
	over := eth(b)
	over[2].data = append(over[2].data, make([]byte, 200)...)
	files["record-over-snaplen.pcap"] = pcapFile(1, 96, append(eth(a), over...)...)
	// The 300,000 bytes are all there, and b's remaining packets after
	// them: only the length says the file is corrupt.
	giant := pcapFile(1, 65535, append(eth(a), eth(b)[:2]...)...)
	giant = append(giant, recordHeader(b[2].at, 300_000, 300_000)...)
	giant = append(giant, make([]byte, 300_000)...)
	files["record-over-256k.pcap"] = append(giant, pcapFile(1, 65535, eth(b)[2:]...)[24:]...)

	// pcapng: three interfaces of three link types, a connection on each,
	// and blocks no reader knows between the packets.
	c := story(0, "2001:db8::1", 40002, "2001:db8::2", 443)
	d := story(0, "10.0.0.4", 40003, "10.0.0.2", 22)
	le := binary.LittleEndian
	epb := func(iface uint32, ts int64, data []byte) []byte {
		return pcapngtest.EnhancedPacket(le, iface, uint64(ts), data, len(data))
	}
	var ng []byte
	ng = append(ng, pcapngtest.SectionHeader(le)...)
	ng = append(ng, pcapngtest.Interface{Link: 1}.Block(le)...)               // Ethernet
	ng = append(ng, pcapngtest.Interface{Link: 101}.Block(le)...)             // raw IP
	ng = append(ng, pcapngtest.Interface{Link: 276, TSResol: 9}.Block(le)...) // Linux SLL2, nanoseconds
	ng = append(ng, pcapngtest.Block(le, 0x0BAD0001, []byte("unknown block, skip me"))...)
	for i := range a {
		ng = append(ng, epb(0, a[i].at/1000, ethernet(a[i].ip))...)
		ng = append(ng, epb(1, c[i].at/1000, c[i].ip)...)
		ng = append(ng, epb(2, d[i].at, sll2(d[i].ip))...)
		if i == 2 {
			ng = append(ng, pcapngtest.Block(le, 0x40000BAD, make([]byte, 12))...) // a custom block
		}
	}
	files["pcapng-unknown-blocks.pcapng"] = ng

	// IPv4 with options (IHL 7: record route), and with an IHL that
	// cannot be: below 5, or past the packet.
	opts := story(0, "10.0.0.1", 40000, "10.0.0.2", 9502)
	for i := range opts {
		opts[i].ip = withIPv4Options(opts[i].ip, []byte{7, 7, 4, 0, 0, 0, 0, 1})
	}
	files["ipv4-options.pcap"] = pcapFile(1, 65535, eth(opts)...)
	badIHL := eth(a)
	low, high := ethernet(cloneBytes(b[0].ip)), ethernet(cloneBytes(b[1].ip))
	low[14] = 0x44
	high[14] = 0x4f
	badIHL = append(badIHL, hrec{b[0].at, low}, hrec{b[1].at, high})
	files["ipv4-bad-ihl.pcap"] = pcapFile(1, 65535, badIHL...)

	// IPv6 with hop-by-hop, routing and destination options headers.
	ext := story(0, "2001:db8::1", 40000, "2001:db8::2", 443)
	for i := range ext {
		ext[i].ip = withIPv6Extensions(ext[i].ip)
	}
	files["ipv6-ext-headers.pcap"] = pcapFile(1, 65535, eth(ext)...)

	// Fragments: every packet of b in two IPv4 fragments, the second
	// first; c's data segments in two IPv6 fragments (its others are too
	// short: an IPv6 first fragment must hold the whole TCP header); then
	// b's request again in two fragments that overlap, which the receiver
	// drops.
	frags := eth(a)
	for i, p := range b {
		first, second := fragment(p.ip, 8, uint32(100+i))
		frags = append(frags, hrec{p.at, ethernet(second)}, hrec{p.at + 100, ethernet(first)})
	}
	first, _ := fragment(b[3].ip, 64, 300)
	_, second := fragment(b[3].ip, 40, 300)
	frags = append(frags, hrec{b[7].at + 1e6, ethernet(first)}, hrec{b[7].at + 1e6 + 100, ethernet(second)})
	c6 := story(20, "2001:db8::3", 40004, "2001:db8::2", 443)
	for i, p := range c6 {
		if len(p.ip) == 40+20 {
			frags = append(frags, hrec{p.at, ethernet(p.ip)})
			continue
		}
		first, second := fragment(p.ip, 24, uint32(200+i))
		frags = append(frags, hrec{p.at, ethernet(first)}, hrec{p.at + 100, ethernet(second)})
	}
	files["fragments.pcap"] = pcapFile(1, 65535, frags...)

	// TCP data offset below 5, and past the end of the packet.
	offs := eth(a)
	short, long := cloneBytes(b[0].ip), cloneBytes(b[1].ip)
	short[20+12] = 4 << 4
	long[20+12] = 15 << 4
	offs = append(offs, hrec{b[0].at, ethernet(short)}, hrec{b[1].at, ethernet(long)})
	files["tcp-bad-offset.pcap"] = pcapFile(1, 65535, offs...)

	// TCP options whose lengths lie: 0, 1, and past the header; the SYNs
	// still open their connections.
	lies := story(0, "10.0.0.1", 40000, "10.0.0.2", 9502)
	lies[0].ip = withTCPOptions(lies[0].ip, []byte{2, 0, 5, 0xb4, 1, 1, 1, 1})           // MSS of length 0
	lies[1].ip = withTCPOptions(lies[1].ip, []byte{3, 1, 7, 1, 8, 40, 0, 0})             // window scale of length 1
	lies[2].ip = withTCPOptions(lies[2].ip, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}) // timestamps past the end
	files["tcp-bad-options.pcap"] = pcapFile(1, 65535, eth(lies)...)

	// Timestamps at the ends of what pcap holds: 1970 and 2106.
	zero := story(0, "10.0.0.1", 40000, "10.0.0.2", 9502)
	for i := range zero {
		zero[i].at = int64(i) * 1000
	}
	far := story(0, "10.0.0.3", 40001, "10.0.0.2", 9502)
	for i := range far {
		far[i].at = (1<<32-1)*1e9 + int64(i)*1000
	}
	files["timestamps-extreme.pcap"] = pcapFile(1, 65535, append(eth(zero), eth(far)...)...)

	// Time going backwards by ten seconds in the middle of a connection.
	back := story(0, "10.0.0.1", 40000, "10.0.0.2", 9502)
	for i := 3; i < len(back); i++ {
		back[i].at -= 10e9
	}
	files["time-backwards.pcap"] = pcapFile(1, 65535, eth(back)...)

	// Records of zero bytes between the packets.
	empty := eth(a)
	empty = append(empty[:2], append([]hrec{{empty[1].at, nil}}, empty[2:]...)...)
	files["zero-length-records.pcap"] = pcapFile(1, 65535, empty...)
	return files
}

// writeHostile writes the suite into dir.
func writeHostile(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range hostileCaptures() {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostileEpoch is the first packet time of the suite: 2026-01-01 UTC.
const hostileEpoch = 1_767_225_600e9

// hpkt is one IP packet of a story, at a time in nanoseconds.
type hpkt struct {
	at int64
	ip []byte
}

type hrec struct {
	at   int64
	data []byte
}

// story is a whole connection from client to server, starting sec
// seconds after hostileEpoch: handshake, a request and an answer, and a
// FIN from each side; 8 packets a millisecond apart.
func story(sec int64, client string, cport uint16, server string, sport uint16) []hpkt {
	const cisn, sisn = 1000, 5000
	type seg struct {
		fromClient bool
		flags      uint8
		seq, ack   uint32
		data       int
	}
	const syn, ack, psh, fin = 0x02, 0x10, 0x08, 0x01
	segs := []seg{
		{true, syn, cisn, 0, 0},
		{false, syn | ack, sisn, cisn + 1, 0},
		{true, ack, cisn + 1, sisn + 1, 0},
		{true, psh | ack, cisn + 1, sisn + 1, 100},
		{false, psh | ack, sisn + 1, cisn + 101, 200},
		{true, fin | ack, cisn + 101, sisn + 201, 0},
		{false, fin | ack, sisn + 201, cisn + 102, 0},
		{true, ack, cisn + 102, sisn + 202, 0},
	}
	var out []hpkt
	for i, s := range segs {
		src, dst, sp, dp := client, server, cport, sport
		if !s.fromClient {
			src, dst, sp, dp = server, client, sport, cport
		}
		out = append(out, hpkt{hostileEpoch + sec*1e9 + int64(i)*1e6, ipPacket(src, dst, tcpHeader(sp, dp, s.seq, s.ack, s.flags, s.data))})
	}
	return out
}

func records(s []hpkt, frame func([]byte) []byte) []hrec {
	out := make([]hrec, len(s))
	for i, p := range s {
		out[i] = hrec{p.at, frame(p.ip)}
	}
	return out
}

func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }

// tcpHeader is a 20-byte header followed by n bytes of payload; the
// checksum is left zero (as offloading leaves it) and not checked.
func tcpHeader(sport, dport uint16, seq, ack uint32, flags uint8, n int) []byte {
	h := make([]byte, 20+n)
	be := binary.BigEndian
	be.PutUint16(h[0:], sport)
	be.PutUint16(h[2:], dport)
	be.PutUint32(h[4:], seq)
	be.PutUint32(h[8:], ack)
	h[12] = 5 << 4
	h[13] = flags
	be.PutUint16(h[14:], 65535)
	for i := 20; i < len(h); i++ {
		h[i] = 'a' + byte(i%26)
	}
	return h
}

// ipPacket wraps a TCP segment in IPv4 or IPv6, by the addresses.
func ipPacket(src, dst string, tcp []byte) []byte {
	s, d := parseIP(src), parseIP(dst)
	be := binary.BigEndian
	if len(s) == 4 {
		h := make([]byte, 20, 20+len(tcp))
		h[0] = 0x45
		be.PutUint16(h[2:], uint16(20+len(tcp)))
		h[8], h[9] = 64, 6
		copy(h[12:], s)
		copy(h[16:], d)
		be.PutUint16(h[10:], ^fold32(sum(h)))
		return append(h, tcp...)
	}
	h := make([]byte, 40, 40+len(tcp))
	h[0] = 0x60
	be.PutUint16(h[4:], uint16(len(tcp)))
	h[6], h[7] = 6, 64
	copy(h[8:], s)
	copy(h[24:], d)
	return append(h, tcp...)
}

func parseIP(s string) []byte {
	var a [16]byte
	if n, _ := fmt.Sscanf(s, "%d.%d.%d.%d", &a[0], &a[1], &a[2], &a[3]); n == 4 {
		return a[:4]
	}
	// The suite's IPv6 addresses are 2001:db8::N.
	var n int
	fmt.Sscanf(s, "2001:db8::%x", &n)
	a[0], a[1], a[2], a[3], a[15] = 0x20, 0x01, 0x0d, 0xb8, byte(n)
	return a[:]
}

func sum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return s
}

func fold32(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func ethernet(ip []byte) []byte {
	f := make([]byte, 14, 14+len(ip))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1})
	if ip[0]>>4 == 6 {
		f[12], f[13] = 0x86, 0xdd
	} else {
		f[12], f[13] = 0x08, 0x00
	}
	return append(f, ip...)
}

// sll2 is a Linux cooked v2 header (tcpdump -i any) for an IPv4 packet.
func sll2(ip []byte) []byte {
	f := make([]byte, 20, 20+len(ip))
	f[0], f[1] = 0x08, 0x00 // protocol
	f[7] = 2                // interface index
	f[8], f[9] = 0, 1       // ARPHRD_ETHER
	f[10] = 0               // to us
	f[11] = 6               // address length
	copy(f[12:], []byte{2, 0, 0, 0, 0, 1})
	return append(f, ip...)
}

func withIPv4Options(ip, opts []byte) []byte {
	ihl := int(ip[0]&0x0f) * 4
	out := append(append(cloneBytes(ip[:ihl]), opts...), ip[ihl:]...)
	out[0] = 0x40 | byte((ihl+len(opts))/4)
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:], ^fold32(sum(out[:ihl+len(opts)])))
	return out
}

// withIPv6Extensions inserts hop-by-hop, routing (type 0, no addresses
// left) and destination options headers before the TCP header.
func withIPv6Extensions(ip []byte) []byte {
	hop := []byte{43, 0, 1, 4, 0, 0, 0, 0}     // next: routing; PadN
	routing := []byte{60, 0, 0, 0, 0, 0, 0, 0} // next: destination options
	dest := []byte{6, 0, 1, 4, 0, 0, 0, 0}     // next: TCP
	out := append(cloneBytes(ip[:40]), hop...)
	out = append(append(append(out, routing...), dest...), ip[40:]...)
	out[6] = 0 // hop-by-hop first
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// fragment splits an IPv4 or IPv6 packet's payload in two fragments of
// identification id, the first holding at least min bytes of it (rounded
// up to a multiple of 8) or half of it, whichever is more.
func fragment(ip []byte, min int, id uint32) (first, second []byte) {
	be := binary.BigEndian
	if ip[0]>>4 == 6 {
		payload := ip[40:]
		cut := max(len(payload)/2, min+7) / 8 * 8
		frag := func(offset int, more bool, data []byte) []byte {
			h := append(cloneBytes(ip[:40]), make([]byte, 8)...)
			h[6], h[40] = 44, ip[6]
			word := uint16(offset)
			if more {
				word |= 1
			}
			be.PutUint16(h[42:], word)
			be.PutUint32(h[44:], id)
			be.PutUint16(h[4:], uint16(8+len(data)))
			return append(h, data...)
		}
		return frag(0, true, payload[:cut]), frag(cut, false, payload[cut:])
	}
	payload := ip[20:]
	cut := max(len(payload)/2, min+7) / 8 * 8
	first = append(cloneBytes(ip[:20]), payload[:cut]...)
	second = append(cloneBytes(ip[:20]), payload[cut:]...)
	be.PutUint16(first[2:], uint16(len(first)))
	be.PutUint16(first[6:], 0x2000) // more fragments
	be.PutUint16(second[2:], uint16(len(second)))
	be.PutUint16(second[6:], uint16(cut/8))
	for _, f := range [][]byte{first, second} {
		be.PutUint16(f[4:], uint16(id))
		f[10], f[11] = 0, 0
		be.PutUint16(f[10:], ^fold32(sum(f[:20])))
	}
	return first, second
}

// withTCPOptions appends options (a multiple of 4 bytes) to the TCP
// header of an IPv4 packet.
func withTCPOptions(ip, opts []byte) []byte {
	out := append(append(cloneBytes(ip[:40]), opts...), ip[40:]...)
	out[20+12] = byte((20+len(opts))/4) << 4
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:], ^fold32(sum(out[:20])))
	return out
}

// pcapFile is a pcap file, written as tcpfsm -w writes one
// (capture.PcapWriter: nanosecond timestamps, little-endian).
func pcapFile(link uint32, snaplen int, recs ...hrec) []byte {
	var b bytes.Buffer
	w, _ := capture.NewPcapWriter(&b, link, snaplen) // writing to memory cannot fail
	for _, r := range recs {
		w.WritePacket(time.Unix(0, r.at), r.data, len(r.data))
	}
	w.Flush()
	return b.Bytes()
}

// recordHeader is a record header of pcapFile's kind that says what it is
// told, true or not.
func recordHeader(at int64, incl, orig int) []byte {
	le := binary.LittleEndian
	h := make([]byte, 16)
	le.PutUint32(h[0:], uint32(at/1e9))
	le.PutUint32(h[4:], uint32(at%1e9))
	le.PutUint32(h[8:], uint32(incl))
	le.PutUint32(h[12:], uint32(orig))
	return h
}
