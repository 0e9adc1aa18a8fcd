package capture

import (
	"bufio"
	"encoding/binary"
	"io"
	"time"
)

// saveBufferSize batches records into few writes; the caller's Flush (and
// Close) bound how much a crash can lose.
const saveBufferSize = 64 << 10

// PcapWriter writes a classic pcap file: little-endian, nanosecond
// timestamps, one link type; what LiveOptions.Save receives and tcpdump -w
// would have written, and what programs that make captures (cmd/tcpgen)
// use. It is written here rather than taken from pcapgo because pcapgo's
// link type is a uint8, and because keeping the writer next to the reader
// keeps the two symmetric: whatever one writes the other reads back
// exactly. It buffers (call Flush at the end) and allocates nothing per
// packet.
type PcapWriter struct {
	w   *bufio.Writer
	hdr [pcapRecordHeaderLen]byte // reused: writing a record allocates nothing
}

// NewPcapWriter writes the file header and flushes it at once, so that the
// file is a valid (empty) capture from the start and an unusable writer
// fails here rather than at the first packet. link is a LINKTYPE_ value (1
// for Ethernet, https://www.tcpdump.org/linktypes.html) and snaplen the
// most bytes a record holds, as the header states it. The byte order is
// fixed little-endian, not the host's as in tcpdump, so the output is the
// same everywhere; every reader handles both.
func NewPcapWriter(w io.Writer, link uint32, snaplen int) (*PcapWriter, error) {
	pw := &PcapWriter{w: bufio.NewWriterSize(w, saveBufferSize)}
	var h [pcapFileHeaderLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagicNanos)
	le.PutUint16(h[4:], 2) // version 2.4, the only one
	le.PutUint16(h[6:], 4)
	// h[8:16]: time zone offset and timestamp accuracy, always 0.
	le.PutUint32(h[16:], uint32(snaplen))
	le.PutUint32(h[20:], link)
	if _, err := pw.w.Write(h[:]); err != nil {
		return nil, err
	}
	if err := pw.w.Flush(); err != nil {
		return nil, err
	}
	return pw, nil
}

// WritePacket appends one record: data as captured (possibly cut by the
// snaplen), origLen as on the wire. The seconds field is 32 bits, as in
// every classic pcap file (until 2106).
func (pw *PcapWriter) WritePacket(ts time.Time, data []byte, origLen int) error {
	le := binary.LittleEndian
	le.PutUint32(pw.hdr[0:], uint32(ts.Unix()))
	le.PutUint32(pw.hdr[4:], uint32(ts.Nanosecond()))
	le.PutUint32(pw.hdr[8:], uint32(len(data)))
	le.PutUint32(pw.hdr[12:], uint32(max(origLen, len(data))))
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		return err
	}
	_, err := pw.w.Write(data)
	return err
}

// Flush writes out what is buffered. A write error sticks: every later
// WritePacket and Flush returns it too.
func (pw *PcapWriter) Flush() error { return pw.w.Flush() }
