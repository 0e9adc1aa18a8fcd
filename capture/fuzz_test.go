package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// seedCaptures are the in-test captures the fuzz targets start from.
func seedCaptures(tb testing.TB) [][]byte {
	le, be := binary.LittleEndian, binary.BigEndian
	segs := append(handshake("10.0.0.1", "10.0.0.2", 40000, 9502), handshake("2001:db8::1", "2001:db8::2", 40001, 443)...)
	traffic, _ := realisticTraffic(tb, 2)
	mixed := make([]rec, len(segs))
	for i, s := range segs {
		mixed[i] = rec{ts: at(time.Duration(i)), data: frameFor([]uint32{276, 0, 1}[i%3], s.ipBytes()), iface: i % 3}
	}
	withExt := rec{ts: at(0), data: ipv6Bytes(v6a, v6b, 6, segs[0].tcpBytes(), extHopByHop, extRouting, extDestOpts)}
	frag := rec{ts: at(0), data: ipv6Bytes(v6a, v6b, 6, segs[0].tcpBytes(), extFragment)}
	// Small files, one record each, give the fuzzer room to mutate.
	var small [][]byte
	for _, link := range []uint32{1, 0, 108, 101, 113, 276, 228, 229, 9, 50, 51, 100, 104, 166, 204, 205, 7, 129, 167, 178, 179, 181, 242} {
		s := synSeg
		if link == 228 {
			s.src, s.dst = "10.0.0.1", "10.0.0.2"
		}
		r := rec{ts: at(0), data: frameFor(link, s.ipBytes())}
		small = append(small, pcapBytes(le, false, link, r), pcapngBytes(be, []pcapngtest.Interface{{Link: uint16(link)}}, r))
	}
	small = append(small, pcapWithMagic(le, pcapMagicKuznetzov, 101, rec{ts: at(0), data: segs[0].ipBytes()}))
	// One frame of each encapsulation and tunnel, IPv4 and IPv6 inside.
	for _, frame := range append(append(encapsulations, tunnels...), func(ip []byte) []byte { return ieee8023Frame(ip, 6) }) {
		for _, s := range []seg{segs[0], segs[len(segs)-1]} {
			small = append(small, pcapBytes(le, false, 1, rec{ts: at(0), data: frame(s.ipBytes())}))
		}
	}
	small = append(small, pcapBytes(le, false, 10, rec{ts: at(0), data: fddiFrame(segs[1].ipBytes())}))
	// The first fragment of a GTP-U datagram, holding the inner headers.
	firstFragment := outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(segs[3].ipBytes(), false))[:80])
	binary.BigEndian.PutUint16(firstFragment[6:], 0x2000)
	small = append(small, pcapBytes(le, false, 1, rec{ts: at(0), data: ethernetIP(firstFragment)}))
	return append(small,
		pcapBytes(le, false, 1, traffic...),
		pcapBytes(be, true, 113, recordsOf(func(ip []byte) []byte { return frameFor(113, ip) }, segs)...),
		pcapBytes(le, false, 108, recordsOf(func(ip []byte) []byte { return frameFor(108, ip) }, segs)...),
		pcapBytes(le, false, 101, withExt, frag),
		pcapngBytes(be, []pcapngtest.Interface{{Link: 276, TSResol: 9}, {Link: 0, TSResol: 0x80 | 20}, {Link: 1, HasOffset: true, TSOffset: 100}}, mixed...),
		gzipped(tb, pcapBytes(le, false, 1, recordsOf(ethernetIP, segs)...)),
		pcapngtest.SectionHeader(le),
		[]byte("<html>"),
	)
}

// FuzzReader feeds arbitrary bytes as a capture file: no panic, Next ends,
// every error is one of the documented kinds, every packet delivered (ICMP
// errors too) holds up, and the stats add up.
func FuzzReader(f *testing.F) {
	for _, seed := range seedCaptures(f) {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, filter bool) {
		// ICMP errors too: what they deliver must hold up as well.
		opt := Options{ICMPErrors: true}
		if filter {
			opt.Filter = "tcp port 9502 or ip6"
		}
		warnings := 0 // the malformed records warned of
		opt.Warn = func(err error) {
			warnings++
			if e := (*emptyRecords)(nil); errors.As(err, &e) {
				warnings += int(e.more) // a run of empty records is one warning
			}
			var pe *PacketError
			if !errors.As(err, &pe) {
				t.Fatalf("warning %T %v is not a *PacketError", err, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTimeWentBack) && !errors.Is(err, ErrUnsupportedLinkType) &&
				!errors.Is(err, ErrNoTimestamp) {
				t.Fatalf("warning %q wraps no documented sentinel", err)
			}
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("a decoder panicked: %v", err)
			}
		}
		r, err := NewReader(bytes.NewReader(data), "fuzz", opt)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer r.Close()
		// Each record takes at least 16 bytes of input (more once gzip is
		// undone, but never more than 1032 records per input byte).
		limit := 1032*len(data) + 10
		var p Packet
		for i := 0; ; i++ {
			if i > limit {
				t.Fatalf("Next did not end after %d calls", i)
			}
			err := r.Next(&p)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFilter) &&
					!strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "flate") {
					t.Fatalf("unexpected kind of error: %v", err)
				}
				break
			}
			if p.IsICMPError() {
				checkICMPError(t, &p)
			} else {
				checkPacket(t, &p)
			}
		}
		s := r.Stats()
		checkStats(t, s)
		if uint64(warnings) < s.Malformed {
			t.Fatalf("%d malformed packets but %d warnings", s.Malformed, warnings)
		}
	})
}

// FuzzDecode feeds arbitrary bytes as one frame of each link type.
func FuzzDecode(f *testing.F) {
	// Every frame of the seed captures, with its link type.
	for _, seed := range seedCaptures(f) {
		src, _, err := openSource(bytes.NewReader(seed))
		if err != nil {
			continue
		}
		var rec record
		for src.next(&rec) == nil {
			f.Add(uint16(rec.link), bytes.Clone(rec.data), rec.origLen-len(rec.data))
		}
	}
	f.Add(uint16(1), ethernet(etherIPv6, ipv6Bytes(v6a, v6b, 6, synSeg.tcpBytes(), extHopByHop, extRouting, extDestOpts), etherQinQ, etherVLAN), 100)
	f.Add(uint16(1), ethernet(etherIPv6, ipv6Bytes(v6b, v6a, ipProtocolICMPv6, icmpBytes(1, 3, synSeg.ipBytes()))), 0)
	f.Add(uint16(1), ethernet(etherIPv4, ipv4Bytes(v4b, v4a, ipProtocolICMP, icmpBytes(3, 13, quoteOf(ipv4Bytes(v4a, v4b, 6, synSeg.tcpBytes()), 0)))), 0)

	d := newDecoder(true)
	f.Fuzz(func(t *testing.T, link uint16, frame []byte, missing int) {
		p, ok := d.parser(linkType(link))
		if !ok {
			return
		}
		missing = max(0, missing%100000)
		var pkt Packet
		v, err := d.decode(linkType(link), p, frame, missing, &pkt)
		switch {
		case v == verdictMalformed && err == nil:
			t.Fatal("malformed without an error")
		case v == verdictMalformed && !errors.Is(err, ErrMalformed):
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		case v == verdictMalformed && strings.Contains(err.Error(), "panic"):
			t.Fatalf("a decoder panicked: %v", err)
		case v != verdictMalformed && err != nil:
			t.Fatalf("verdict %d with error %v", v, err)
		case v == verdictTCP:
			checkPacket(t, &pkt)
		case v == verdictICMPError:
			checkICMPError(t, &pkt)
		}
	})
}

var synSeg = seg{src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2, flags: FlagSYN, options: synOptions}

// checkPacket checks what must hold of any delivered packet.
func checkPacket(t *testing.T, p *Packet) {
	t.Helper()
	minIP := 20
	if p.Src.Is6() {
		minIP = 40
	}
	if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
		t.Fatalf("bad addresses: %+v", p)
	}
	if p.PayloadLen < 0 || p.IPLen < minIP+20+p.PayloadLen {
		t.Fatalf("impossible lengths: %+v", p)
	}
	if p.WindowScale < -1 || p.WindowScale > 14 {
		t.Fatalf("window scale %d", p.WindowScale)
	}
}

// checkICMPError checks what must hold of any ICMP error delivered: the
// quoted addresses of one family, the sender's of the error's own.
func checkICMPError(t *testing.T, p *Packet) {
	t.Helper()
	if !p.IsICMPError() || !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() || p.Src.Is4() != p.ICMP.From.Is4() {
		t.Fatalf("bad addresses: %+v", p)
	}
	if p.Flags != 0 || p.PayloadLen != 0 || p.WindowScale != -1 {
		t.Fatalf("TCP fields set on an ICMP error: %+v", p)
	}
}
