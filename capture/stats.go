package capture

// Stats counts what a Reader has read so far. Every record lands in exactly
// one of Filtered, TCP, NonTCP, Fragments, Malformed and BadIPChecksum, so
//
//	Packets == Filtered + TCP + NonTCP + Fragments + Malformed + BadIPChecksum
//
// Truncated, BadChecksum and TimeWentBack count subsets of TCP;
// ReassembledDatagrams and DroppedDatagrams count datagrams, not records.
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
	// and fragments of protocols that cannot carry TCP (ICMP, ESP, ...).
	NonTCP uint64
	// Fragments: IP fragments (IPv4 MF set or offset > 0, or an IPv6
	// fragment header) of TCP, UDP, GRE or IP in IP, held for reassembly.
	// The fragment that completes a datagram is counted instead as what
	// the reassembled datagram turns out to be (TCP, NonTCP, ...): it is
	// delivered with that fragment's Index and Timestamp.
	Fragments uint64
	// Malformed: skipped because a header was invalid; Warn was told.
	Malformed uint64
	// BadIPChecksum: TCP packets, and IP fragments Fragments would count,
	// skipped, with Options.VerifyChecksums, because their IPv4 header
	// checksum was wrong: a host drops them before TCP or reassembly sees
	// them (and Zeek does too, without a history letter).
	BadIPChecksum uint64

	// Truncated: TCP segments whose payload the snaplen cut short. They are
	// analysed: the lengths come from the IP header.
	Truncated uint64
	// BadChecksum: TCP segments with a wrong checksum, counted only with
	// Options.VerifyChecksums. They are delivered all the same.
	BadChecksum uint64
	// TimeWentBack: TCP segments stamped earlier than the one before.
	TimeWentBack uint64

	// ReassembledDatagrams: IP datagrams reassembled from their
	// fragments (an IPv6 atomic fragment is one, of one fragment), each
	// completed by one record, counted by what it held. So the records
	// that were fragments number Fragments + ReassembledDatagrams.
	ReassembledDatagrams uint64
	// DroppedDatagrams: fragmented datagrams given up, as the receiving
	// host gives them up: overlapping fragments, lengths that disagree,
	// 30 s without completing, pushed out by the limits on what is held
	// (docs/robustness.md), or still incomplete at the end of the capture.
	DroppedDatagrams uint64
}
