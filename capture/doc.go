// Package capture reads the TCP segments out of packet capture files, or
// captures them live from a network interface, the first stage of tcpfsm
// (capture → flow → fsm → report).
//
// It reads classic pcap (either byte order, microsecond or nanosecond
// timestamps) and pcapng (any number of sections and interfaces, each with
// its own link type), plain or gzip-compressed, from a file or from a pipe:
// the format is recognised by its first bytes, never by the file name, and
// the input is never seeked. Frames may be Ethernet, FDDI, Linux cooked v1
// and v2, BSD and OpenBSD loopback, raw IPv4 and IPv6, PPP (bare, in
// HDLC-like framing, from pppd, with a direction byte, or over Ethernet
// without the Ethernet header), Cisco HDLC, or LLC/SNAP-encapsulated ATM;
// the error for any other link type lists these.
//
// Between the link layer and IP it decodes what Zeek decodes, so that every
// connection Zeek logs is seen: 802.1Q and QinQ tags, MPLS label stacks,
// PPPoE sessions (with the PPP protocol field compressed to one byte or
// not), 802.1ah PBB, Cisco VN-Tag and FabricPath, 802.1BR E-Tag, and 802.2
// LLC/SNAP (FDDI and IEEE 802.3). It looks inside the tunnels Zeek
// decapsulates: GTP-U (UDP port 2152), Teredo (port 3544, or recognised by
// content as Zeek does), VXLAN (port 4789), Geneve (port 6081), IP in IP
// (IPv4 or IPv6 in IPv4 or IPv6), GRE (version 0 with its optional fields,
// ERSPAN types I to III, and PPTP's version 1 carrying PPP), at most two
// levels deep; the Packet then describes the inner packet. IPv6
// hop-by-hop, routing and destination options headers are skipped. IP
// fragments of TCP, UDP, GRE and IP in IP, outside tunnels or inside them,
// are reassembled as the receiving Linux host reassembles them
// (reassembly.go), within bounded memory, on the capture's clock; the
// datagram is decoded as an unfragmented packet and delivered with the
// Index and Timestamp of the fragment that completed it, the moment the
// host had it whole. The corpus test checks all of this against the
// connections Zeek logged for its own test traces.
//
// With Options.ICMPErrors a Reader also delivers the ICMP and ICMPv6 errors
// that quote a TCP segment (destination unreachable but for fragmentation
// needed, time exceeded, parameter problem: the errors Linux's TCP ends a
// connect() on), as a Packet holding the quoted segment's addresses, ports
// and sequence number and the error's type, code and sender
// (Packet.IsICMPError). They stay counted as non-TCP.
//
// Decoding takes one of two paths. The frames nearly every capture is
// made of (Ethernet with at most two VLAN tags, Linux cooked v1 or v2, raw
// IP or BSD loopback, then IPv4 or IPv6 straight to TCP) are read by a
// fast path that looks at the few header fields it needs in place. Every
// other frame, and any the fast path is not sure of (malformed, an IPv6
// extension header other than a fragment header, an IPv4 source route), goes through gopacket's
// DecodingLayerParser over this package's own layers, which alone decide
// what a frame that is not a TCP segment is counted as and what its
// warning says. The fast path hands an IP fragment to the reassembler,
// and the datagram that completes is decoded through the layers. Where
// the fast path takes a frame it gives what the layered decoder gives,
// field for field (TestFastPathAgrees, TestFastPathCorpus, FuzzFastPath,
// FuzzReassembly).
//
// With Options.VerifyChecksums, TCP checksums are verified (inside tunnels
// too, and against the final destination of an IPv4 source route) and a bad one is flagged on the Packet, which is still delivered. A
// Reader fills a caller-owned Packet in place and, once warmed up,
// allocates nothing per packet.
//
// Errors come in three kinds, each naming the file or, live, the interface
// (and the 1-based packet number, counting every record as tcpdump does):
//
//   - The whole file is unusable (missing, not a capture, cut inside its
//     header, unsupported link type, a filter libpcap rejects): Open or
//     NewReader returns the error and no Reader.
//   - The file is cut or broken part-way: Next returns a *PacketError
//     wrapping ErrTruncated or ErrCorrupt after delivering every packet
//     before it, so the caller can report those and then the error.
//   - One packet is malformed, or its timestamp goes backwards: Next skips
//     (or, for time, still delivers) it, counts it in Stats and passes a
//     *PacketError to Options.Warn. Reading goes on.
//
// Every error wraps one of the Err* sentinels for errors.Is. No input,
// however corrupt, makes the package panic; FuzzReader and FuzzDecode check
// that.
//
// OpenSet reads several files as one capture (a rotation by tcpdump -C or
// -G, or files of several hosts), merged in time order as mergecap merges
// them, with only the files whose time ranges overlap open at once;
// SetFiles turns directories and globs into those files. Its problems name
// their file; a file cut short or corrupt part-way is reported to Warn and
// the others are read on, and a gap in a rotation (ErrGap) or files that
// overlap (ErrOverlap) are reported to Warn too.
//
// A live capture (capture/libpcap's OpenLive) is read by the same Reader,
// over a LiveHandle (NewLiveReader): the same decoding, Stats and
// warnings, and no allocation per packet either. The differences are
// those of a capture with no end. The filter runs in the kernel (so
// Stats.Filtered stays 0). Next returns ErrTimeout when nothing arrived
// for LiveOptions.Timeout, and the caller just calls it again, having had
// the chance to notice that time passed (Reader.Now) or that it should
// stop. LiveStats has libpcap's counters of received and dropped packets.
// LiveOptions.Save writes what was captured as a pcap file, as tcpdump -w
// does, which Open reads back packet for packet; the writer is PcapWriter,
// which programs that make captures (cmd/tcpgen) use too.
// LiveOptions.SaveFiles, a RotatingWriter, writes them to a rotation of
// files instead, as tcpdump -w with -C, -G and -W does (the same names:
// Strftime for -G), each file a whole capture, so that a long capture
// cannot fill the disk and OpenSet reads the files back as the one capture
// they were.
//
// This package is pure Go, and builds with CGO_ENABLED=0. What needs
// libpcap's C, as gopacket keeps pcap apart from pcapgo, is in
// capture/libpcap behind two small interfaces: LiveHandle, an interface
// capturing live, and FilterCompiler, which compiles Options.Filter with
// libpcap so that an expression means exactly what it means to tcpdump
// (the caller passes capture/libpcap's Compiler; without one a filter
// fails with ErrFilter). libpcap's names of the link types this package
// cannot decode are a table here (linktype_names.go), which capture/libpcap
// holds to its libpcap's.
package capture
