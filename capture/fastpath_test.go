package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
)

// differential runs frames through the fast path and the layered decoder
// side by side, with checksums verified and not. Each side has decoders
// of its own, since the reassembler in each remembers fragments: the fast
// side decodes a frame its fast path declines through its own layers, so
// that both sides see every frame.
type differential struct {
	fast, layered [2]*decoder // without and with VerifyChecksums
	parsers       [2][2]map[linkType]*gopacket.DecodingLayerParser
}

func newDifferential() *differential {
	var d differential
	for i, verify := range []bool{false, true} {
		d.fast[i], d.layered[i] = newDecoder(verify), newDecoder(verify)
		d.parsers[0][i] = make(map[linkType]*gopacket.DecodingLayerParser)
		d.parsers[1][i] = make(map[linkType]*gopacket.DecodingLayerParser)
	}
	return &d
}

// fastOutcome is what one frame gave, checksums verified or not.
type fastOutcome struct {
	accepted [2]bool    // the fast path took the frame
	layered  [2]verdict // the layered decoder's verdict
}

// isTCP reports whether the layered decoder found a TCP segment, which
// with verification may be behind a bad IPv4 header checksum.
func (o fastOutcome) isTCP(verify int) bool {
	return o.layered[verify] == verdictTCP || o.layered[verify] == verdictBadIPChecksum
}

// parser is the parser for link type lt of side's decoder (0 fast, 1
// layered) verify, or false where there is none.
func (d *differential) parser(side, verify int, lt linkType) (*gopacket.DecodingLayerParser, bool) {
	p, ok := d.parsers[side][verify][lt]
	if !ok {
		dec := d.fast[verify]
		if side == 1 {
			dec = d.layered[verify]
		}
		if p, ok = dec.parser(lt); !ok {
			return nil, false
		}
		d.parsers[side][verify][lt] = p
	}
	return p, true
}

// check decodes frame both ways and fails t unless the fast path, where it
// accepts the frame, gives exactly the layered decoder's verdict, error
// and Packet, and leaves the Packet alone where it declines.
func (d *differential) check(t testing.TB, name string, lt linkType, frame []byte, missing int) fastOutcome {
	t.Helper()
	var out fastOutcome
	// A Packet no decoder would produce, so that a field left unwritten
	// shows.
	sentinel := Packet{Index: 77, SrcPort: 7777, IPLen: -5, WindowScale: 99, BadChecksum: true}
	for i := range d.fast {
		pf, ok := d.parser(0, i, lt)
		if !ok {
			return out
		}
		pl, _ := d.parser(1, i, lt)
		fast, layered := sentinel, sentinel
		fv, accepted, ferr := d.fast[i].decodeFast(lt, frame, missing, &fast)
		lv, err := d.layered[i].decodeLayers(pl, frame, missing, &layered)
		out.accepted[i], out.layered[i] = accepted, lv
		if !accepted {
			if fast != sentinel {
				t.Fatalf("%s (verify %v): the fast path declined but wrote %+v", name, i == 1, fast)
			}
			fv, ferr = d.fast[i].decodeLayers(pf, frame, missing, &fast)
		}
		if fv != lv || fmt.Sprint(ferr) != fmt.Sprint(err) || fast != layered {
			t.Fatalf("%s (verify %v, link %d, %d bytes, %d missing, fast path took it %v): fast side verdict %d (%v), packet\n%+v\nlayered verdict %d (%v), packet\n%+v\nframe %x",
				name, i == 1, lt, len(frame), missing, accepted, fv, ferr, fast, lv, err, layered, frame)
		}
	}
	return out
}

// ipVariant is an IP packet for the differential test.
type ipVariant struct {
	name   string
	family byte // 4 or 6: the IP version the link header is to announce
	ip     []byte
	tcp    bool // the layered decoder takes the whole packet for TCP
	fast   bool // it is of a kind the fast path handles
	// fragment: an IP fragment, which the fast path hands to the
	// reassembler; what it gives depends on the fragments before it.
	fragment bool
}

// framing puts an IP packet into a frame of one link type.
type framing struct {
	name  string
	link  linkType
	frame func(family byte, ip []byte) []byte
	only  byte // 4 or 6: for packets of this family only; 0 for both
	tcp   bool // a TCP packet inside stays TCP to the layered decoder
	fast  bool // the fast path handles it
}

// ipv4WithOptions inserts words 4-byte words of IP options (NOPs, then an
// end of option list) into an IPv4 packet of IHL 5.
func ipv4WithOptions(ip []byte, words int) []byte {
	opts := bytes.Repeat([]byte{1}, words*4)
	opts[len(opts)-1] = 0
	b := append(append(append([]byte(nil), ip[:20]...), opts...), ip[20:]...)
	b[0] = 0x40 | byte(5+words)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	fixIPv4Checksum(b)
	return withTCPChecksum(b)
}

// edit returns a copy of ip changed by f, with the IPv4 header checksum
// fixed after it.
func edit(ip []byte, f func(b []byte)) []byte {
	b := bytes.Clone(ip)
	f(b)
	if b[0]>>4 == 4 && b[0]&0x0f >= 5 && int(b[0]&0x0f)*4 <= len(b) {
		fixIPv4Checksum(b)
	}
	return b
}

// ipVariants are the IP packets of the differential test: the common
// segments, every TCP option layout the parser treats differently, and
// the cases the fast path must leave alone.
func ipVariants() []ipVariant {
	syn4 := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1000, flags: FlagSYN, window: 64240, options: synOptions}
	tsOpts := []byte{1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 0, 200}
	data4 := seg{src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, seq: 1001, ack: 5001,
		flags: FlagPSH | FlagACK, window: 502, options: tsOpts, payload: 60}
	syn6, data6 := syn4, data4
	syn6.src, syn6.dst = "2001:db8::1", "2001:db8::2"
	data6.src, data6.dst = syn6.src, syn6.dst
	whole := func(s seg) []byte { return withTCPChecksum(s.ipBytes()) }
	withOptions := func(s seg, opts ...byte) []byte {
		s.options = opts
		return whole(s)
	}
	fragment := func(flagsOffset uint16) []byte {
		return edit(whole(data4), func(b []byte) { binary.BigEndian.PutUint16(b[6:], flagsOffset) })
	}
	v4 := func(name string, ip []byte, tcp bool) ipVariant { return ipVariant{name, 4, ip, tcp, true, false} }
	v6 := func(name string, ip []byte, tcp bool) ipVariant { return ipVariant{name, 6, ip, tcp, true, false} }
	frag4 := func(name string, ip []byte) ipVariant { return ipVariant{name, 4, ip, false, true, true} }
	return []ipVariant{
		v4("IPv4 SYN", whole(syn4), true),
		v4("IPv4 data with timestamps", whole(data4), true),
		v4("IPv4 with 1 option word", ipv4WithOptions(data4.ipBytes(), 1), true),
		v4("IPv4 with 3 option words", ipv4WithOptions(syn4.ipBytes(), 3), true),
		v4("IPv4 with 10 option words (IHL 15)", ipv4WithOptions(data4.ipBytes(), 10), true),
		v4("IPv4 bad header checksum", func() []byte { b := whole(data4); b[10] ^= 0xff; return b }(), true),
		v4("IPv4 bad TCP checksum", func() []byte { b := whole(data4); b[20+16] ^= 0xff; return b }(), true),
		v4("IPv4 total length 0 (TSO)", edit(whole(data4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 0) }), true),
		v4("IPv4 padded", append(whole(syn4), make([]byte, 10)...), true),
		v4("IPv4 padded, total length 0", append(edit(whole(syn4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 0) }), 1, 2, 3, 4), true),
		v4("IPv4 every flag and NS", func() []byte { s := data4; s.flags = 0x1ff; return whole(s) }(), true),
		v4("IPv4 no flags", func() []byte { s := data4; s.flags = 0; return whole(s) }(), true),
		frag4("IPv4 more fragments", fragment(0x2000)),
		frag4("IPv4 fragment offset", fragment(0x0010)),
		frag4("IPv4 last fragment", fragment(0x4001)),
		frag4("IPv4 UDP fragment", edit(ipv4Bytes(v4a, v4b, ipProtocolUDP, udpBytes(53, 53, make([]byte, 30))), func(b []byte) { b[6] = 0x20 })),
		v4("IPv4 ICMP fragment", edit(ipv4Bytes(v4a, v4b, 1, make([]byte, 30)), func(b []byte) { b[6] = 0x20 }), false),
		v4("IPv4 reserved flag", fragment(0x8000), true),
		v4("IPv4 UDP", ipv4Bytes(v4a, v4b, ipProtocolUDP, udpBytes(53, 53, make([]byte, 30))), false),
		v4("IPv4 ICMP", ipv4Bytes(v4a, v4b, 1, make([]byte, 30)), false),
		v4("IPv4 ICMP host unreachable quoting a SYN", ipv4Bytes(v4b, v4a, ipProtocolICMP, icmpBytes(3, 1, quoteOf(whole(syn4), 0))), false),
		v4("IPv4 IHL 4", edit(whole(syn4), func(b []byte) { b[0] = 0x44 }), false),
		v4("IPv4 IHL 0", edit(whole(syn4), func(b []byte) { b[0] = 0x40 }), false),
		v4("IPv4 IHL past the packet", edit(whole(seg{src: "10.0.0.1", dst: "10.0.0.2"}), func(b []byte) { b[0] = 0x4f }), false),
		v4("IPv4 total length below the header", edit(whole(syn4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 19) }), false),
		v4("IPv4 total length past the frame", edit(whole(syn4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 2000) }), false),
		v4("IPv4 total length short of the TCP header", edit(whole(syn4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 30) }), false),
		v4("IPv4 total length cuts the options", edit(whole(syn4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 44) }), false),
		v4("IPv4 total length just the TCP header", edit(whole(data4), func(b []byte) { binary.BigEndian.PutUint16(b[2:], 52) }), true),
		v4("IPv4 version 5", edit(whole(syn4), func(b []byte) { b[0] = 0x55 }), false),
		v4("TCP data offset 4", func() []byte { b := whole(syn4); b[20+12] = 0x40; return b }(), false),
		v4("TCP data offset 0 with NS", func() []byte { b := whole(syn4); b[20+12] = 0x01; return b }(), false),
		v4("TCP data offset past the segment", func() []byte {
			s := syn4
			s.options = nil
			b := whole(s)
			b[20+12] = 0xf0
			return b
		}(), false),
		v4("TCP data offset into the payload", func() []byte { b := whole(data4); b[20+12] = 0xf0; return b }(), true),
		v4("TCP no options", withOptions(syn4), true),
		v4("TCP MSS only", withOptions(syn4, 2, 4, 5, 0xb4), true),
		v4("TCP end of options first", withOptions(syn4, 0, 2, 4, 5, 0xb4, 1, 1, 1), true),
		v4("TCP unknown option then MSS", withOptions(syn4, 30, 4, 9, 9, 2, 4, 5, 0xb4), true),
		v4("TCP option length 1", withOptions(syn4, 2, 1, 5, 0xb4), true),
		v4("TCP option length 0", withOptions(syn4, 3, 0, 7, 1), true),
		v4("TCP MSS of length 3", withOptions(syn4, 2, 3, 5, 0xb4, 2, 4, 5, 0xb4), true),
		v4("TCP window scale 15", withOptions(syn4, 3, 3, 15, 1), true),
		v4("TCP window scale of length 4", withOptions(syn4, 3, 4, 7, 1), true),
		v4("TCP SACK permitted of length 3", withOptions(syn4, 4, 3, 0, 1), true),
		v4("TCP timestamps of length 8", withOptions(syn4, 8, 8, 0, 0, 0, 1, 0, 0), true),
		v4("TCP SACK blocks", withOptions(data4, 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2), true),
		v4("TCP option past the header", withOptions(syn4, 1, 1, 8, 40), true),
		v4("TCP kind alone in the last byte", withOptions(syn4, 1, 1, 1, 2), true),
		v4("TCP all NOPs", withOptions(syn4, bytes.Repeat([]byte{1}, 40)...), true),
		v4("TCP every option twice", withOptions(syn4, append(synOptions, synOptions...)...), true),

		v6("IPv6 SYN", whole(syn6), true),
		v6("IPv6 data with timestamps", whole(data6), true),
		v6("IPv6 bad TCP checksum", func() []byte { b := whole(data6); b[40+16] ^= 0xff; return b }(), true),
		v6("IPv6 payload length 0 (TSO)", func() []byte { b := whole(data6); binary.BigEndian.PutUint16(b[4:], 0); return b }(), true),
		v6("IPv6 padded", append(whole(syn6), make([]byte, 6)...), true),
		v6("IPv6 payload length past the frame", func() []byte { b := whole(syn6); binary.BigEndian.PutUint16(b[4:], 2000); return b }(), false),
		v6("IPv6 payload length short of the TCP header", func() []byte { b := whole(syn6); binary.BigEndian.PutUint16(b[4:], 12); return b }(), false),
		v6("IPv6 version 7", func() []byte { b := whole(syn6); b[0] = 0x70; return b }(), false),
		v6("IPv6 ICMPv6 no route quoting a SYN", ipv6Bytes(v6b, v6a, ipProtocolICMPv6, icmpBytes(1, 0, whole(syn6))), false),
		v6("IPv6 UDP", ipv6Bytes(v6a, v6b, ipProtocolUDP, udpBytes(53, 53, make([]byte, 30))), false),
		{"IPv6 fragment header", 6, ipv6Bytes(v6a, v6b, ipProtocolTCP, syn6.tcpBytes(), extFragment), false, true, true},
		// Offset 0 without the M flag (RFC 6946): whole, and TCP.
		{"IPv6 atomic fragment", 6, ipv6Bytes(v6a, v6b, ipProtocolTCP, withTCPChecksum(syn6.ipBytes())[40:], ipv6Ext{44, []byte{0, 0, 0, 0, 0, 0, 43}}), true, true, true},
		{"IPv6 fragment behind a hop-by-hop header", 6, ipv6Bytes(v6a, v6b, ipProtocolTCP, syn6.tcpBytes(), extHopByHop, extFragment), false, false, true},
		v6("IPv6 TCP data offset 4", func() []byte { b := whole(syn6); b[40+12] = 0x40; return b }(), false),
		{"IPv6 hop-by-hop, routing and destination options", 6, ipv6Bytes(v6a, v6b, ipProtocolTCP, syn6.tcpBytes(), extHopByHop, extRouting, extDestOpts), true, false, false},
		{"IPv6 routing header with segments left", 6, ipv6Bytes(v6a, v6b, ipProtocolTCP, syn6.tcpBytes(), ipv6Ext{43, []byte{0, 4, 1, 0, 0, 0, 0}}), true, false, false},
		{"GTP-U tunnel over IPv4", 4, outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(whole(syn4), true))), true, false, false},
		{"Teredo tunnel", 4, outerIP(false, udpBytes(3797, teredoPort, teredo(whole(syn6), false, 0, 0, true))), true, false, false},
		{"IPv4 with a loose source route", 4, edit(ipv4WithOptions(syn4.ipBytes(), 2), func(b []byte) {
			copy(b[20:], []byte{131, 7, 4, 10, 0, 9, 9, 0})
		}), true, false, false},
		{"IPv4 in IPv4", 4, ipInIP(false, whole(syn4)), true, false, false},
		{"IPv6 in IPv4", 4, ipInIP(false, whole(syn6)), true, false, false},
		{"IPv4 in IPv6", 6, ipInIP(true, whole(syn4)), true, false, false},
		{"GRE with key", 4, outerProto(false, ipProtocolGRE, greBytes(greK, etherIPv6, whole(syn6))), true, false, false},
		{"ERSPAN type III", 6, outerProto(true, ipProtocolGRE, erspanIII(ethernetIP(whole(data4)), true)), true, false, false},
		{"VXLAN", 4, outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(whole(data6))))), true, false, false},
		{"Geneve", 6, outerIP(true, udpBytes(genevePort, 1, geneveBytes(0x6558, 2, ethernetIP(whole(syn4))))), true, false, false},
	}
}

// framings are the link layers of the differential test.
func framings() []framing {
	etherType := func(family byte) uint16 {
		if family == 6 {
			return etherIPv6
		}
		return etherIPv4
	}
	ether := func(tpids ...uint16) func(byte, []byte) []byte {
		return func(family byte, ip []byte) []byte { return ethernet(etherType(family), ip, tpids...) }
	}
	loop := func(order byteOrder, family4, family6 uint32) func(byte, []byte) []byte {
		return func(family byte, ip []byte) []byte {
			if family == 6 {
				return loopbackFrame(order, family6, ip)
			}
			return loopbackFrame(order, family4, ip)
		}
	}
	raw := func(_ byte, ip []byte) []byte { return ip }
	le, be := binary.LittleEndian, binary.BigEndian
	fs := []framing{
		{"Ethernet", linkEthernet, ether(), 0, true, true},
		{"Ethernet 802.1Q", linkEthernet, ether(etherVLAN), 0, true, true},
		{"Ethernet 802.1ad", linkEthernet, ether(etherQinQ), 0, true, true},
		{"Ethernet QinQ 802.1ad+802.1Q", linkEthernet, ether(etherQinQ, etherVLAN), 0, true, true},
		{"Ethernet QinQ 0x9100+802.1Q", linkEthernet, ether(etherTypeQinQOld, etherVLAN), 0, true, true},
		{"Ethernet two 802.1Q", linkEthernet, ether(etherVLAN, etherVLAN), 0, true, true},
		{"Ethernet three tags", linkEthernet, ether(etherQinQ, etherVLAN, etherVLAN), 0, true, false},
		{"Ethernet IPv4 EtherType, IPv6 inside", linkEthernet, func(_ byte, ip []byte) []byte { return ethernet(etherIPv4, ip) }, 6, false, true},
		{"Ethernet IPv6 EtherType, IPv4 inside", linkEthernet, func(_ byte, ip []byte) []byte { return ethernet(etherIPv6, ip) }, 4, false, true},
		{"Ethernet ARP EtherType", linkEthernet, func(_ byte, ip []byte) []byte { return ethernet(etherARP, ip) }, 0, false, true},
		{"IEEE 802.3 with LLC/SNAP", linkEthernet, func(_ byte, ip []byte) []byte { return ieee8023Frame(ip, 4) }, 0, true, false},
		{"Linux cooked", linkLinuxSLL, func(family byte, ip []byte) []byte { return linuxSLLFrame(etherType(family), ip) }, 0, true, true},
		{"Linux cooked, 802.1Q", linkLinuxSLL, func(family byte, ip []byte) []byte {
			return linuxSLLFrame(etherVLAN, vlanTag(5, etherType(family), ip))
		}, 0, true, true},
		{"Linux cooked v2", linkLinuxSLL2, func(family byte, ip []byte) []byte { return linuxSLL2Frame(etherType(family), ip) }, 0, true, true},
		{"Linux cooked v2, ARP", linkLinuxSLL2, func(_ byte, ip []byte) []byte { return linuxSLL2Frame(etherARP, ip) }, 0, false, true},
		{"RAW", linkRaw, raw, 0, true, true},
		{"RAW (DLT 12)", linkRawDLT12, raw, 0, true, true},
		{"RAW (DLT 14)", linkRawDLT14, raw, 0, true, true},
		{"IPV4", linkIPv4, raw, 4, true, true},
		{"IPV4 with IPv6 inside", linkIPv4, raw, 6, false, true},
		{"IPV6", linkIPv6, raw, 6, true, true},
		{"IPV6 with IPv4 inside", linkIPv6, raw, 4, false, true},
		{"NULL, little-endian, BSD IPv6", linkNull, loop(le, afINET, afINET6BSD), 0, true, true},
		{"NULL, big-endian, FreeBSD IPv6", linkNull, loop(be, afINET, afINET6FreeBSD), 0, true, true},
		{"NULL, little-endian, Darwin IPv6", linkNull, loop(le, afINET, afINET6Darwin), 6, true, true},
		{"NULL, little-endian, Linux IPv6", linkNull, loop(le, afINET, afINET6Linux), 6, true, true},
		{"NULL, unknown family", linkNull, loop(le, 99, 99), 0, false, true},
		{"NULL, family over 255", linkNull, loop(le, 0x202, 0x202), 0, false, true},
		{"NULL, family in the middle bytes", linkNull, loop(be, 0x200, 0x200), 0, false, true},
		{"LOOP", linkLoop, loop(be, afINET, afINET6BSD), 0, true, true},
		{"FDDI", linkFDDI, func(_ byte, ip []byte) []byte { return fddiFrame(ip) }, 0, true, false},
	}
	// The rarer link types the fast path leaves to the layered decoder.
	for _, link := range []linkType{linkARCNET, linkARCNETLinux, linkJuniperPPPoE, linkJuniperEther, linkJuniperPPP, linkJuniperCHDLC, linkIPoIB} {
		fs = append(fs, framing{link.String(), link, func(_ byte, ip []byte) []byte { return frameFor(uint32(link), ip) }, 0, true, false})
	}
	for i, encap := range encapsulations {
		fs = append(fs, framing{fmt.Sprintf("encapsulation %d", i), linkEthernet, func(_ byte, ip []byte) []byte { return encap(ip) }, 0, true, false})
	}
	return fs
}

// cuts are the snapshot lengths a frame is cut to: every length through
// the headers, then a few into the payload.
func cuts(n int) []int {
	var out []int
	for c := 0; c <= n; c++ {
		if c <= 160 || c%37 == 0 || c == n {
			out = append(out, c)
		}
	}
	return out
}

// The fast path agrees with the layered decoder on every frame of every
// link type it handles, whole and cut by the snapshot length at every
// offset through the headers, checksums verified or not; it takes every
// such frame the layered decoder finds TCP in, and leaves every other kind
// of frame alone.
func TestFastPathAgrees(t *testing.T) {
	d := newDifferential()
	accepted := map[linkType]int{}
	cutAccepted := 0
	for _, f := range framings() {
		for _, v := range ipVariants() {
			if f.only != 0 && v.family != f.only {
				continue
			}
			frame := f.frame(v.family, v.ip)
			name := f.name + ", " + v.name
			inDomain := f.fast && v.fast
			// An FCS the capture did not keep: whole but for 4 bytes.
			for _, extra := range []int{0, 4} {
				out := d.check(t, name, f.link, frame, extra)
				if want := f.tcp && v.tcp; out.isTCP(0) != want {
					t.Errorf("%s: layered verdict %d, want TCP %v (a bad test case)", name, out.layered[0], want)
				}
				if out.accepted[0] {
					accepted[f.link]++
				}
				if inDomain && f.tcp && v.fragment && !out.accepted[0] {
					t.Errorf("%s: the fast path declined a whole fragment", name)
				}
			}
			for _, cut := range cuts(len(frame)) {
				out := d.check(t, fmt.Sprintf("%s, cut to %d", name, cut), f.link, frame[:cut], len(frame)-cut)
				for verify := range 2 {
					switch {
					case inDomain && v.fragment:
						// Taken or not by the cut's place; the
						// differential check holds what it gives.
					case inDomain && out.accepted[verify] != out.isTCP(verify):
						t.Errorf("%s, cut to %d of %d (verify %d): fast path accepted %v, layered verdict %d",
							name, cut, len(frame), verify, out.accepted[verify], out.layered[verify])
					case !inDomain && out.accepted[verify]:
						t.Errorf("%s, cut to %d: the fast path took a frame it does not handle", name, cut)
					}
				}
				if out.accepted[0] && cut < len(frame) {
					cutAccepted++
				}
			}
		}
	}
	for _, lt := range []linkType{linkEthernet, linkLinuxSLL, linkLinuxSLL2, linkRaw, linkRawDLT12, linkRawDLT14, linkIPv4, linkIPv6, linkNull, linkLoop} {
		if accepted[lt] == 0 {
			t.Errorf("the fast path took no whole frame of link type %s", lt)
		}
	}
	if accepted[linkFDDI] != 0 {
		t.Errorf("the fast path took %d FDDI frames", accepted[linkFDDI])
	}
	if cutAccepted == 0 {
		t.Error("the fast path took no frame cut by the snapshot length")
	}
	t.Logf("whole frames taken by the fast path, by link type: %v; cut frames: %d", accepted, cutAccepted)
}

// captureFrames is every frame of the committed captures (testdata/kernel,
// testdata/hostile and the Zeek corpus), and of the FuzzDecode seed
// corpus, named.
type namedFrame struct {
	name    string
	link    linkType
	data    []byte
	missing int
}

func captureFrames(t *testing.T) []namedFrame {
	t.Helper()
	var frames []namedFrame
	var paths []string
	for _, pattern := range []string{"../testdata/kernel/*.pcap*", "../testdata/hostile/*.pcap*", zeekCorpus(t) + "/traces/*/*.pcap*", zeekCorpus(t) + "/traces/*.pcap*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	for _, path := range paths {
		if strings.Contains(path, ".golden.") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src, _, err := openSource(bytes.NewReader(data))
		if err != nil {
			continue // the hostile files that are not captures
		}
		var rec record
		for i := 1; src.next(&rec) == nil; i++ {
			frames = append(frames, namedFrame{fmt.Sprintf("%s #%d", path, i), rec.link, bytes.Clone(rec.data), max(0, rec.origLen-len(rec.data))})
		}
	}
	seeds, err := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range seeds {
		link, frame, missing, err := readDecodeSeed(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frames = append(frames, namedFrame{path, linkType(link), frame, max(0, missing%100000)})
	}
	return frames
}

// readDecodeSeed reads a FuzzDecode corpus file: "go test fuzz v1", then
// uint16(link), []byte("frame") and int(missing), one a line.
func readDecodeSeed(path string) (link uint16, frame []byte, missing int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, 0, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return 0, nil, 0, err
	}
	if len(lines) != 4 || lines[0] != "go test fuzz v1" {
		return 0, nil, 0, fmt.Errorf("not a FuzzDecode corpus file: %q", lines)
	}
	value := func(line, typ string) (string, error) {
		if !strings.HasPrefix(line, typ+"(") || !strings.HasSuffix(line, ")") {
			return "", fmt.Errorf("%q is not a %s", line, typ)
		}
		return line[len(typ)+1 : len(line)-1], nil
	}
	s, err := value(lines[1], "uint16")
	if err != nil {
		return 0, nil, 0, err
	}
	l, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, nil, 0, err
	}
	if s, err = value(lines[2], "[]byte"); err != nil {
		return 0, nil, 0, err
	}
	b, err := strconv.Unquote(s)
	if err != nil {
		return 0, nil, 0, err
	}
	if s, err = value(lines[3], "int"); err != nil {
		return 0, nil, 0, err
	}
	m, err := strconv.Atoi(s)
	return uint16(l), []byte(b), m, err
}

// On every frame of the committed captures and fuzz seeds, the fast path
// agrees with the layered decoder wherever it takes a frame, and it takes
// the plain TCP frames: all of them in the kernel captures (loopback and
// Ethernet, recorded from Linux) but for the tunnelled ones, which it
// leaves to the layered decoder, and most of them in the Zeek corpus.
func TestFastPathCorpus(t *testing.T) {
	d := newDifferential()
	type tally struct{ tcp, accepted int }
	tallies := map[string]*tally{}
	for _, f := range captureFrames(t) {
		out := d.check(t, f.name, f.link, f.data, f.missing)
		kind := "other"
		for _, k := range []string{"vxlan", "testdata/kernel", "testdata/hostile", "traces", "FuzzDecode"} {
			if strings.Contains(f.name, k) {
				kind = k
				break
			}
		}
		if tallies[kind] == nil {
			tallies[kind] = &tally{}
		}
		if out.isTCP(0) {
			tallies[kind].tcp++
		}
		if out.accepted[0] {
			tallies[kind].accepted++
		}
	}
	for _, want := range []struct {
		kind     string
		fraction float64 // of the TCP frames, at least
	}{
		{"testdata/kernel", 1},
		{"testdata/hostile", 0.5},
		{"traces", 0.8},
		{"FuzzDecode", 0.5},
	} {
		got := tallies[want.kind]
		if got == nil || got.tcp == 0 {
			t.Errorf("%s: no TCP frames", want.kind)
			continue
		}
		t.Logf("%s: the fast path took %d of %d TCP frames", want.kind, got.accepted, got.tcp)
		if float64(got.accepted) < want.fraction*float64(got.tcp) {
			t.Errorf("%s: the fast path took %d of %d TCP frames, want at least %.0f%%", want.kind, got.accepted, got.tcp, 100*want.fraction)
		}
	}
}

// FuzzFastPath feeds arbitrary bytes as one frame of each link type to
// the fast path and the layered decoder: wherever the fast path takes a
// frame, it gives the layered decoder's verdict and Packet.
func FuzzFastPath(f *testing.F) {
	for _, fr := range framings() {
		for _, v := range ipVariants() {
			if fr.only != 0 && v.family != fr.only {
				continue
			}
			frame := fr.frame(v.family, v.ip)
			f.Add(uint16(fr.link), frame, 0)
			// The usual tcpdump snapshot length cuts into the options or
			// the payload.
			if len(frame) > 96 {
				f.Add(uint16(fr.link), frame[:96], len(frame)-96)
			}
		}
	}
	d := newDifferential()
	f.Fuzz(func(t *testing.T, link uint16, frame []byte, missing int) {
		d.check(t, "fuzz", linkType(link), frame, max(0, missing%100000))
	})
}
