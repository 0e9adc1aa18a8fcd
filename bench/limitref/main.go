// Command limitref is the benchmarks' reference loop: the least a Go
// program built on gopacket does to look at every TCP segment of a pcap
// file, and so the practical limit of the library on this machine.
//
//	limitref [-mode read|parse|flows] FILE
//
// -mode parse (the default) reads each record with pcapgo's
// ZeroCopyReadPacketData (from a 1 MiB buffered reader) and decodes it
// with a gopacket.DecodingLayerParser for Ethernet, IPv4, IPv6 and TCP,
// counting packets and the SYN, SYN/ACK, FIN and RST flags: no flow state.
// -mode read only reads the records; -mode flows adds a Go map from the
// 5-tuple to per-direction packet and flag counts, the cheapest possible
// connection table. It prints one line of counts.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

type counts struct {
	packets, tcp, syn, synAck, fin, rst uint64
}

// flowKey is a 5-tuple in canonical order (the lower endpoint first).
type flowKey struct {
	a, b         netip.Addr
	aPort, bPort uint16
}

type flowVal struct {
	packets [2]uint32
	flags   [2]uint8
}

func main() {
	mode := flag.String("mode", "parse", "read (records only), parse (decode and count flags) or flows (and a 5-tuple map)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: limitref [-mode read|parse|flows] FILE.pcap\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (*mode != "read" && *mode != "parse" && *mode != "flows") {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *mode, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "limitref: %v\n", err)
		os.Exit(1)
	}
}

func run(name, mode string, out io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return fmt.Errorf("%s: link type %v: only Ethernet is decoded", name, r.LinkType())
	}

	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded = make([]gopacket.LayerType, 0, 4)
		c       counts
		flows   map[flowKey]*flowVal
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true // the TCP payload, IPv6 extension headers, ARP ...
	if mode == "flows" {
		flows = make(map[flowKey]*flowVal)
	}
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: packet %d: %w", name, c.packets+1, err)
		}
		c.packets++
		if mode == "read" {
			continue
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			continue // truncated or malformed: not counted as TCP
		}
		var src, dst netip.Addr
		isTCP := false
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				src, _ = netip.AddrFromSlice(ip4.SrcIP)
				dst, _ = netip.AddrFromSlice(ip4.DstIP)
			case layers.LayerTypeIPv6:
				src, _ = netip.AddrFromSlice(ip6.SrcIP)
				dst, _ = netip.AddrFromSlice(ip6.DstIP)
			case layers.LayerTypeTCP:
				isTCP = true
			}
		}
		if !isTCP {
			continue
		}
		c.tcp++
		var fl uint8
		switch {
		case tcp.SYN && tcp.ACK:
			c.synAck++
			fl |= 2
		case tcp.SYN:
			c.syn++
			fl |= 1
		}
		if tcp.FIN {
			c.fin++
			fl |= 4
		}
		if tcp.RST {
			c.rst++
			fl |= 8
		}
		if flows != nil {
			sp, dp := uint16(tcp.SrcPort), uint16(tcp.DstPort)
			k, dir := flowKey{src, dst, sp, dp}, 0
			if c := dst.Compare(src); c < 0 || c == 0 && dp < sp {
				k, dir = flowKey{dst, src, dp, sp}, 1
			}
			v := flows[k]
			if v == nil {
				v = new(flowVal)
				flows[k] = v
			}
			v.packets[dir]++
			v.flags[dir] |= fl
		}
	}
	fmt.Fprintf(out, "packets %d tcp %d syn %d synack %d fin %d rst %d", c.packets, c.tcp, c.syn, c.synAck, c.fin, c.rst)
	if flows != nil {
		finBoth := 0
		for _, v := range flows {
			if v.flags[0]&4 != 0 && v.flags[1]&4 != 0 {
				finBoth++
			}
		}
		fmt.Fprintf(out, " flows %d fin_both_ways %d", len(flows), finBoth)
	}
	fmt.Fprintln(out)
	return nil
}
