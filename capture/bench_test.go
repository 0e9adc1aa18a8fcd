package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// realisticTraffic serializes, with gopacket, conns TCP connections the way
// a Linux host makes them: handshake with the usual SYN options, a request,
// a bulk response in 1448-byte segments with timestamps, delayed ACKs, and
// a FIN exchange. Every third connection is IPv6. Frames are Ethernet.
func realisticTraffic(tb testing.TB, conns int) (recs []rec, tcpSegments int) {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	ts := t0
	for c := range conns {
		v6 := c%3 == 2
		client, server := net.IP{10, 0, byte(c >> 8), byte(c)}, net.IP{10, 1, 0, 1}
		if v6 {
			client, server = net.ParseIP("2001:db8::1:0").To16(), net.ParseIP("2001:db8::2").To16()
			client[15] = byte(c)
		}
		cport, sport := layers.TCPPort(32768+c), layers.TCPPort(443)
		cseq, sseq := uint32(c)*7919, uint32(c)*104729
		tsOpt := func(val, ecr uint32) []layers.TCPOption {
			b := make([]byte, 8)
			binary.BigEndian.PutUint32(b, val)
			binary.BigEndian.PutUint32(b[4:], ecr)
			return []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: b}}
		}
		send := func(fromClient bool, tcp layers.TCP, payload int) {
			tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack = cport, sport, cseq, sseq
			src, dst := client, server
			if !fromClient {
				tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack = sport, cport, sseq, cseq
				src, dst = server, client
			}
			if !tcp.SYN {
				tcp.ACK = true
			}
			if tcp.Options == nil {
				tcp.Options = tsOpt(uint32(ts.UnixMilli()), uint32(ts.UnixMilli())-1)
			}
			var network gopacket.NetworkLayer
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
			var ipLayer gopacket.SerializableLayer
			if v6 {
				eth.EthernetType = layers.EthernetTypeIPv6
				ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
				network, ipLayer = ip, ip
			} else {
				eth.EthernetType = layers.EthernetTypeIPv4
				ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Flags: layers.IPv4DontFragment}
				network, ipLayer = ip, ip
			}
			tcp.SetNetworkLayerForChecksum(network)
			if err := gopacket.SerializeLayers(buf, opts, eth, ipLayer, &tcp, gopacket.Payload(make([]byte, payload))); err != nil {
				tb.Fatal(err)
			}
			recs = append(recs, rec{ts: ts, data: bytes.Clone(buf.Bytes())})
			tcpSegments++
			ts = ts.Add(37 * time.Microsecond)
			n := uint32(payload)
			if tcp.SYN || tcp.FIN {
				n++
			}
			if fromClient {
				cseq += n
			} else {
				sseq += n
			}
		}
		syn := []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			tsOpt(1, 0)[2], {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}
		send(true, layers.TCP{SYN: true, Window: 64240, Options: syn}, 0)
		send(false, layers.TCP{SYN: true, Window: 65160, Options: syn}, 0)
		send(true, layers.TCP{Window: 502}, 0)
		send(true, layers.TCP{PSH: true, Window: 502}, 517)
		send(false, layers.TCP{Window: 509}, 0)
		for i := range 12 {
			send(false, layers.TCP{Window: 509, PSH: i == 11}, 1448)
			if i%2 == 1 {
				send(true, layers.TCP{Window: 502 + uint16(i)}, 0)
			}
		}
		send(true, layers.TCP{FIN: true, Window: 520}, 0)
		send(false, layers.TCP{FIN: true, Window: 509}, 0)
		send(true, layers.TCP{Window: 520}, 0)
	}
	return recs, tcpSegments
}

// The segments gopacket serialized come back as gopacket built them.
func TestRealisticTraffic(t *testing.T) {
	recs, n := realisticTraffic(t, 30)
	res := readAll(t, "x.pcap", pcapBytes(binary.LittleEndian, true, 1, recs...), Options{})
	if res.err != nil || len(res.packets) != n || res.warns != nil {
		t.Fatalf("err %v, %d of %d packets, warnings %q", res.err, len(res.packets), n, res.warns)
	}
	for i, p := range res.packets {
		decoded := gopacket.NewPacket(recs[i].data, layers.LayerTypeEthernet, gopacket.Default)
		tcp := decoded.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if p.Seq != tcp.Seq || p.Ack != tcp.Ack || p.SrcPort != uint16(tcp.SrcPort) || p.Window != tcp.Window ||
			p.PayloadLen != len(tcp.Payload) || p.IPLen != len(recs[i].data)-14 || !p.Timestamp.Equal(recs[i].ts) {
			t.Fatalf("packet %d: got %v, gopacket says %v", i, &p, decoded)
		}
		if tcp.SYN && (p.MSS != 1460 || p.WindowScale != 7 || !p.SACKPermitted || !p.HasTimestamp) {
			t.Errorf("SYN options: %+v", p)
		}
	}
}

// Once warmed up, Next allocates nothing, whatever the format, link type
// or filter.
func TestNextAllocatesNothing(t *testing.T) {
	recs, _ := realisticTraffic(t, 80)
	le := binary.LittleEndian
	mixed := make([]rec, len(recs))
	for i, r := range recs {
		ip := r.data[14:]
		mixed[i] = rec{ts: r.ts, iface: i % 3}
		mixed[i].data = frameFor([]uint32{276, 0, 101}[i%3], ip)
	}
	tests := []struct {
		name string
		file []byte
		opt  Options
	}{
		{"pcap", pcapBytes(le, false, 1, recs...), Options{}},
		{"pcap with a filter", pcapBytes(le, false, 1, recs...), Options{Filter: "tcp and not port 9"}},
		{"pcapng, three link types", pcapngBytes(le, []pcapngtest.Interface{{Link: 276}, {Link: 0}, {Link: 101}}, mixed...), Options{}},
		{"gzip pcapng", gzipped(t, pcapngBytes(le, []pcapngtest.Interface{{Link: 1, TSResol: 9}}, recs...)), Options{}},
		{"with Warn set", pcapBytes(le, true, 1, recs...), Options{Warn: func(error) { t.Error("unexpected warning") }}},
		{"verifying checksums", pcapBytes(le, false, 1, recs...), Options{VerifyChecksums: true}},
		{"MPLS, PPPoE, PBB, VN-Tag, FabricPath, E-Tag", pcapBytes(le, false, 1, reframe(recs, encapsulations)...), Options{}},
		{"GTP-U, Teredo, IP-in-IP, GRE, ERSPAN, VXLAN, Geneve, verifying checksums", pcapBytes(le, false, 1, reframe(recs, tunnels)...), Options{VerifyChecksums: true}},
		{"FDDI", pcapBytes(le, false, 10, reframe(recs, []func([]byte) []byte{fddiFrame})...), Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.file), "x", withCompiler(t, tt.opt))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var p Packet
			var failed error
			allocs := testing.AllocsPerRun(1000, func() {
				if err := r.Next(&p); err != nil && failed == nil {
					failed = err
				}
			})
			if failed != nil {
				t.Fatalf("Next: %v (capture too small?)", failed)
			}
			if allocs != 0 {
				t.Errorf("Next allocates %.2f times per packet, want 0", allocs)
			}
		})
	}
}

// The encapsulations and tunnels the zero-allocation test and the
// benchmark cycle through, each wrapping an IP packet into an Ethernet
// frame.
var (
	encapsulations = []func(ip []byte) []byte{
		func(ip []byte) []byte { return ethernet(etherMPLS, mplsStack(2, ip), etherVLAN) },
		func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeSession(ip), etherQinQ, etherVLAN) },
		func(ip []byte) []byte { return ethernet(etherPBB, pbbITag(etherTypeOf(ip), ip), etherVLAN) },
		func(ip []byte) []byte {
			return ethernet(etherVNTag, vnTag(etherVLAN, vlanTag(250, etherTypeOf(ip), ip)), etherVLAN)
		},
		func(ip []byte) []byte { return fabricPath(ethernetIP(ip)) },
		func(ip []byte) []byte { return ethernet(etherPPPoE, pppoeCompressed(ip), etherVLAN) },
		func(ip []byte) []byte { return ethernet(etherETag, eTag(etherTypeOf(ip), ip)) },
	}
	tunnels = []func(ip []byte) []byte{
		func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(gtpUserPort, gtpUserPort, gtpU(ip, true, []byte{1, 2}))))
		},
		func(ip []byte) []byte {
			if ip[0]>>4 != 6 {
				return ethernetIP(outerIP(true, udpBytes(gtpUserPort, 5906, gtpU(ip, false))))
			}
			return ethernetIP(outerIP(false, udpBytes(3797, teredoPort, teredo(ip, false, 0, 0, true))))
		},
		func(ip []byte) []byte { return ethernetIP(ipInIP(false, ip)) },
		func(ip []byte) []byte {
			return ethernetIP(outerProto(true, ipProtocolGRE, greBytes(greC|greK|greS, etherTypeOf(ip), ip)))
		},
		func(ip []byte) []byte { return ethernetIP(outerProto(false, ipProtocolGRE, erspanII(ethernetIP(ip)))) },
		func(ip []byte) []byte {
			return ethernetIP(outerProto(false, ipProtocolGRE, erspanIII(ethernetIP(ip), true)))
		},
		func(ip []byte) []byte {
			return ethernetIP(outerProto(false, ipProtocolGRE, pptpGRE(pppFrame(ip, true, true))))
		},
		func(ip []byte) []byte {
			return ethernetIP(outerIP(false, udpBytes(1, vxlanPort, vxlanBytes(ethernetIP(ip)))))
		},
		func(ip []byte) []byte {
			return ethernetIP(outerIP(true, udpBytes(genevePort, 1, geneveBytes(0x6558, 2, ethernetIP(ip)))))
		},
	}
)

// reframe moves the IP packets of Ethernet records into other frames, the
// i-th record into frames[i%len(frames)].
func reframe(recs []rec, frames []func(ip []byte) []byte) []rec {
	out := make([]rec, len(recs))
	for i, r := range recs {
		out[i] = rec{ts: r.ts, data: frames[i%len(frames)](r.data[14:])}
	}
	return out
}

// BenchmarkReader reads a capture of realistic traffic from memory; one
// op is one TCP segment delivered.
func BenchmarkReader(b *testing.B) {
	recs, n := realisticTraffic(b, 200)
	le := binary.LittleEndian
	for _, bc := range []struct {
		name string
		file []byte
		opt  Options
	}{
		{"pcap", pcapBytes(le, false, 1, recs...), Options{}},
		{"pcapng", pcapngBytes(le, []pcapngtest.Interface{{Link: 1, TSResol: 9}}, recs...), Options{}},
		{"pcap+filter", pcapBytes(le, false, 1, recs...), Options{Filter: "tcp port 443"}},
		{"pcap.gz", gzipped(b, pcapBytes(le, false, 1, recs...)), Options{}},
		{"pcap+checksums", pcapBytes(le, false, 1, recs...), Options{VerifyChecksums: true}},
		{"encapsulations", pcapBytes(le, false, 1, reframe(recs, encapsulations)...), Options{}},
		{"tunnels", pcapBytes(le, false, 1, reframe(recs, tunnels)...), Options{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			open := func() *Reader {
				r, err := NewReader(bytes.NewReader(bc.file), "bench", withCompiler(b, bc.opt))
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			r := open()
			var p Packet
			b.SetBytes(int64(len(bc.file) / n))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				err := r.Next(&p)
				if err == io.EOF {
					r.Close()
					r = open() // amortised over len(recs) packets
					err = r.Next(&p)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packets/s")
			r.Close()
		})
	}
}

// BenchmarkDecode decodes the same frames with the layered decoder and
// with the fast path that takes them in its place; one op is one frame.
// The frames are those of BenchmarkReader's realistic traffic, framed
// for the link layers the fast path reads, and cut by tcpdump's old
// default snapshot length.
func BenchmarkDecode(b *testing.B) {
	recs, _ := realisticTraffic(b, 50)
	ether := make([][]byte, len(recs))
	for i, r := range recs {
		ether[i] = r.data
	}
	reframed := func(frame func(ip []byte) []byte) [][]byte {
		out := make([][]byte, len(ether))
		for i, e := range ether {
			out[i] = frame(e[ethernetHeaderLen:])
		}
		return out
	}
	for _, bc := range []struct {
		name   string
		link   linkType
		frames [][]byte
		snap   int // 0: whole frames
		verify bool
	}{
		{"Ethernet", linkEthernet, ether, 0, false},
		// One data segment over and over, its headers in the cache: the
		// decoding alone, without the cache misses of reading new frames.
		{"Ethernet-hot", linkEthernet, ether[3:4], 0, false},
		{"Ethernet+checksums", linkEthernet, ether, 0, true},
		{"Ethernet-s96", linkEthernet, ether, 96, false},
		{"QinQ", linkEthernet, reframed(func(ip []byte) []byte { return ethernet(etherTypeOf(ip), ip, etherQinQ, etherVLAN) }), 0, false},
		{"SLL2", linkLinuxSLL2, reframed(func(ip []byte) []byte { return linuxSLL2Frame(etherTypeOf(ip), ip) }), 0, false},
		{"RAW", linkRaw, reframed(func(ip []byte) []byte { return ip }), 0, false},
	} {
		d := newDecoder(bc.verify)
		p, _ := d.parser(bc.link)
		missing := make([]int, len(bc.frames))
		frames := make([][]byte, len(bc.frames))
		for i, f := range bc.frames {
			frames[i] = f
			if bc.snap > 0 && len(f) > bc.snap {
				frames[i], missing[i] = f[:bc.snap], len(f)-bc.snap
			}
		}
		decoders := []struct {
			name   string
			decode func(frame []byte, missing int, pkt *Packet) verdict
		}{
			{"layered", func(frame []byte, missing int, pkt *Packet) verdict {
				v, _ := d.decodeLayers(p, frame, missing, pkt)
				return v
			}},
			{"fast", func(frame []byte, missing int, pkt *Packet) verdict {
				v, ok, _ := d.decodeFast(bc.link, frame, missing, pkt)
				if !ok {
					b.Fatal("the fast path declined a benchmark frame")
				}
				return v
			}},
		}
		for _, dec := range decoders {
			b.Run(bc.name+"/"+dec.name, func(b *testing.B) {
				var pkt Packet
				b.ReportAllocs()
				b.ResetTimer()
				j := 0
				for range b.N {
					if dec.decode(frames[j], missing[j], &pkt) != verdictTCP {
						b.Fatal("not TCP")
					}
					if j++; j == len(frames) {
						j = 0
					}
				}
			})
		}
	}
}
