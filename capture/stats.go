package capture

// Stats counts what a Reader has read so far. Every record lands in exactly
// one of Filtered, TCP, NonTCP, Fragments and Malformed, so
//
//	Packets == Filtered + TCP + NonTCP + Fragments + Malformed
//
// Truncated and TimeWentBack count a subset of TCP.
type Stats struct {
	Packets uint64 // records in the file, whatever they hold

	Filtered uint64 // rejected by Options.Filter (checked before decoding, as tcpdump does)
	TCP      uint64 // TCP segments delivered by Next
	// NonTCP: ARP, UDP, ICMP, IPv6 ESP ..., and packets of a pcapng
	// interface whose link type is unsupported.
	NonTCP uint64
	// Fragments: TCP carried in an IP fragment (IPv4 MF set or offset > 0,
	// or an IPv6 fragment header). Reassembly is out of scope, so these
	// are not analysed.
	Fragments uint64
	// Malformed: skipped because a header was invalid; Warn was told.
	Malformed uint64

	// Truncated: TCP segments whose payload the snaplen cut short. They are
	// analysed: the lengths come from the IP header.
	Truncated uint64
	// TimeWentBack: TCP segments stamped earlier than the one before.
	TimeWentBack uint64
}
