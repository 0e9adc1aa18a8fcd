package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns or passes to
// Options.Warn wraps exactly one of them, so callers can tell them apart
// with errors.Is while the message keeps the numbers a person needs.
var (
	// ErrNotCapture: the input is neither a pcap nor a pcapng file (nor a
	// gzip-compressed one). Returned by Open and NewReader.
	ErrNotCapture = errors.New("not a pcap or pcapng file")

	// ErrUnsupportedLinkType: the file's link-layer type is one this package
	// cannot decode. Returned by Open and NewReader for classic pcap, and by
	// OpenLive for an interface (a Wi-Fi card in monitor mode, nflog); for
	// a pcapng interface it goes to Warn and that interface's packets are
	// counted as non-TCP.
	ErrUnsupportedLinkType = errors.New("unsupported link type")

	// ErrFilter: libpcap (Options.FilterCompiler) could not compile
	// Options.Filter for the file's link type, or there was no compiler.
	// Returned by Open and NewReader, or by Next when a pcapng interface
	// with a new link type appears later in the file; by OpenLive
	// (capture/libpcap) when libpcap cannot compile it for the interface
	// or the kernel refuses it.
	ErrFilter = errors.New("invalid filter")

	// ErrTruncated: the file ends in the middle of a header or a record.
	// From Open and NewReader when the file header is cut; from Next when a
	// record is cut, after every complete packet before it was delivered.
	ErrTruncated = errors.New("capture truncated")

	// ErrCorrupt: the file's structure is broken past the point of
	// resynchronising (an impossible pcapng block length, a bad section
	// header). Next returns it; packets before it were delivered.
	ErrCorrupt = errors.New("corrupt capture")

	// ErrMalformed: one packet's headers are invalid. The packet is skipped,
	// counted in Stats.Malformed, reported to Warn, and reading goes on.
	ErrMalformed = errors.New("malformed packet")

	// ErrTimeWentBack: a packet's timestamp is earlier than the previous
	// delivered packet's. The packet is still delivered; this goes to Warn.
	ErrTimeWentBack = errors.New("timestamp goes backwards")

	// ErrGap: in a Set, a file starts at least 1.75 times as long after
	// the one before as the files usually start apart (the lower median
	// of those spacings, with three files or more), and nothing was
	// captured for over half that usual spacing in between: as when a
	// file of a rotation is missing, or a tcpdump -G rotation skipped
	// intervals with no packet at all. It goes to Warn.
	ErrGap = errors.New("gap in the capture set")

	// ErrOverlap: in a Set, a file starts before another has ended. Their
	// packets are merged in time order; it goes to Warn, since the files
	// of one rotation never overlap (a file given twice, or captures of
	// the same traffic from two places, would count packets twice).
	ErrOverlap = errors.New("capture files overlap")

	// ErrNoTimestamp: packets of the capture had no time (pcapng simple
	// packet blocks); each was given the time of the packet before it (or
	// 1970-01-01 00:00:00 UTC, with none before it). When the reading
	// ends, one warning to Warn names the first and counts the rest.
	ErrNoTimestamp = errors.New("no timestamp")

	// ErrClosed: Next was called after Close.
	ErrClosed = errors.New("capture reader closed")

	// ErrPermission: OpenLive (capture/libpcap) may not capture on the interface: the process
	// is neither root nor has CAP_NET_RAW. The message says how to grant
	// that, with CAP_NET_ADMIN too as tcpdump's and Wireshark's
	// documentation do.
	ErrPermission = errors.New("no permission to capture")

	// ErrNoSuchInterface: OpenLive was given an interface libpcap does not
	// know. The message lists those it knows, as tcpdump -D would.
	ErrNoSuchInterface = errors.New("no such interface")

	// ErrTimeout: Next on a live capture saw no packet within
	// LiveOptions.Timeout. Unlike every other error from Next it does not
	// end the reading: it gives the caller a chance to notice that time
	// passes (or that it was asked to stop), and Next can be called again.
	// Next returns it bare, so err == ErrTimeout works as for io.EOF.
	ErrTimeout = errors.New("no packet before the read timeout")

	// ErrInterrupted: the reader made by Interruptible was asked to stop.
	// Next returns it (wrapped) when the stop came while it waited for
	// input; the packets before it were delivered.
	ErrInterrupted = errors.New("reading interrupted")

	// ErrSave: a live capture's LiveOptions.Save could not be written
	// (a full disk). Next, Flush or Close returns it with the writer's
	// error; the packet being saved is not delivered.
	ErrSave = errors.New("writing the capture file")
)

// PacketError is a problem with one record of a capture: what Next returns
// for a cut-off or corrupt record, and what Warn receives for a skipped or
// suspicious packet. Its message names the file and the 1-based record
// number, as tcpdump and Wireshark number frames.
type PacketError struct {
	File  string
	Index uint64
	Err   error
}

func (e *PacketError) Error() string {
	return fmt.Sprintf("%s: packet %d: %v", e.File, e.Index, e.Err)
}

func (e *PacketError) Unwrap() error { return e.Err }

// headerError says which header of a packet is malformed and why, e.g.
// "malformed TCP header: data offset 3 (< 5)". It wraps ErrMalformed.
type headerError struct {
	header string // "IPv4", "IPv6", "TCP", "pcapng packet block", ...
	// The detail, formatted only when the message is read: of a file of
	// broken packets only the first few warnings are shown, and making
	// each message was most of the cost of reading past them.
	format string
	args   []any // numbers and strings, never the packet's bytes, which do not outlive the record
}

func (e *headerError) Error() string {
	return "malformed " + e.header + " header: " + fmt.Sprintf(e.format, e.args...)
}

func (e *headerError) Unwrap() error { return ErrMalformed }

// malformed builds a headerError. It allocates, which is fine: it runs only
// for broken packets, never on the steady-state path.
func malformed(header, format string, args ...any) error {
	if vetFormats {
		_ = fmt.Sprintf(format, args...)
	}
	return &headerError{header: header, format: format, args: args}
}

// vetFormats is never true: the call it guards in malformed is there for
// go vet, which then checks each call's format against its arguments as
// it would a call of fmt.Sprintf.
const vetFormats = false

// truncated reports a read that stopped short: what was being read, how
// many bytes its header promised and how many were there.
func truncated(what, promise string, want, have int) error {
	return fmt.Errorf("%w %s (%s %d bytes, %d present)", ErrTruncated, what, promise, want, have)
}

// corrupt reports a broken file structure that reading cannot get past.
// The largest record a pcap file and the largest block a pcapng file may
// hold, as libpcap reads them (MAXIMUM_SNAPLEN, and pcapng's
// MAX_BLOCKSIZE): beyond, the file is corrupt, and a reader that believed
// the length would buffer that much.
const (
	maxRecordLen = 262144
	maxBlockLen  = 16 << 20
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// emptyRecords is the warning for a pcap record that holds no bytes, and
// the more records after it that hold none either. It wraps ErrMalformed:
// no link type's frame is empty.
// format is "pcap record" or "pcapng packet block".
type emptyRecords struct {
	format string
	more   uint64
}

func (e *emptyRecords) Error() string {
	if e.more == 0 {
		return "malformed " + e.format + ": no bytes captured"
	}
	return fmt.Sprintf("malformed %s: no bytes captured, nor in the %d records after it", e.format, e.more)
}

// emptyPacketBlock is the warning for every pcapng packet block that holds
// no bytes: one value, so that a file of them allocates no message each.
var emptyPacketBlock = &emptyRecords{format: "pcapng packet block"}

func (e *emptyRecords) Unwrap() error { return ErrMalformed }
