package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// A handshake, a FIN each way and a reset, over IPv4 and IPv6, plus an ARP
// packet that is not TCP: the counts limitref prints in each mode.
func TestCounts(t *testing.T) {
	type seg struct {
		v6, fromClient       bool
		syn, ack, fin, rst   bool
		client, server, port int
	}
	segs := []seg{
		{syn: true, fromClient: true, client: 1},
		{syn: true, ack: true, client: 1},
		{ack: true, fromClient: true, client: 1},
		{fin: true, ack: true, fromClient: true, client: 1},
		{fin: true, ack: true, client: 1},
		{v6: true, syn: true, fromClient: true, client: 2},
		{v6: true, rst: true, ack: true, client: 2},
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	at := time.Unix(1_700_000_000, 0)
	write := func(ls ...gopacket.SerializableLayer) {
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}, sb.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range segs {
		tcp := &layers.TCP{SrcPort: 40000 + layers.TCPPort(s.client), DstPort: 443, SYN: s.syn, ACK: s.ack, FIN: s.fin, RST: s.rst, Window: 1000}
		if !s.fromClient {
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		eth := &layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}
		var ip gopacket.NetworkLayer
		if s.v6 {
			eth.EthernetType = layers.EthernetTypeIPv6
			src, dst := net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")
			if !s.fromClient {
				src, dst = dst, src
			}
			ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		} else {
			src, dst := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)
			if !s.fromClient {
				src, dst = dst, src
			}
			ip = &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		}
		tcp.SetNetworkLayerForChecksum(ip)
		write(eth, ip.(gopacket.SerializableLayer), tcp)
	}
	write(&layers.Ethernet{SrcMAC: mac, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: mac, SourceProtAddress: []byte{10, 0, 0, 1},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	name := filepath.Join(t.TempDir(), "t.pcap")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for mode, want := range map[string]string{
		"read":  "packets 8 tcp 0 syn 0 synack 0 fin 0 rst 0",
		"parse": "packets 8 tcp 7 syn 2 synack 1 fin 2 rst 1",
		"flows": "packets 8 tcp 7 syn 2 synack 1 fin 2 rst 1 flows 2 fin_both_ways 1",
	} {
		var out bytes.Buffer
		if err := run(name, mode, &out); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got := strings.TrimSpace(out.String()); got != want {
			t.Errorf("-mode %s: %q, want %q", mode, got, want)
		}
	}
}
