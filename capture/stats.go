package capture

// Stats counts what a Reader has read so far. Every record lands in exactly
// one of Filtered, TCP, NonTCP, Fragments, Malformed and BadIPChecksum, so
//
//	Packets == Filtered + TCP + NonTCP + Fragments + Malformed + BadIPChecksum
//
// Truncated, BadChecksum and TimeWentBack count subsets of TCP.
type Stats struct {
	// Packets: records in the file, or captured live (those the filter
	// passed), whatever they hold.
	Packets uint64

	// Filtered: rejected by Options.Filter, checked before decoding as
	// tcpdump does. Always 0 for a live capture, whose filter runs in the
	// kernel: what it rejects never reaches the Reader.
	Filtered uint64
	TCP      uint64 // TCP segments delivered by Next
	// NonTCP: ARP, UDP, ICMP, IPv6 ESP ..., packets of a pcapng interface
	// whose link type is unsupported, and packets nested deeper than this
	// package looks (more than 8 link-layer headers, or a third tunnel),
	// and IP-in-IP or GRE packets that are fragments.
	NonTCP uint64
	// Fragments: TCP carried in an IP fragment (IPv4 MF set or offset > 0,
	// or an IPv6 fragment header). Reassembly is out of scope, so these
	// are not analysed. The exception is a UDP tunnel (GTP-U, Teredo,
	// VXLAN, Geneve) whose datagram was fragmented: its first fragment
	// holds the inner IP and TCP headers, so the segment is delivered (and
	// counted as TCP and Truncated) from there.
	Fragments uint64
	// Malformed: skipped because a header was invalid; Warn was told.
	Malformed uint64
	// BadIPChecksum: TCP packets skipped, with Options.VerifyChecksums,
	// because their IPv4 header checksum was wrong: a host drops them
	// before TCP sees them (and Zeek does too, without a history letter).
	BadIPChecksum uint64

	// Truncated: TCP segments whose payload the snaplen cut short. They are
	// analysed: the lengths come from the IP header.
	Truncated uint64
	// BadChecksum: TCP segments with a wrong checksum, counted only with
	// Options.VerifyChecksums. They are delivered all the same.
	BadChecksum uint64
	// TimeWentBack: TCP segments stamped earlier than the one before.
	TimeWentBack uint64
}
