package capture

import (
	"io"
	"time"
)

// PcapWriter writes a classic pcap file: little-endian, nanosecond
// timestamps, one link type. It is the writer LiveOptions.Save uses,
// exported for programs that make captures (cmd/tcpgen), so that whatever
// they write this package reads back exactly. It buffers: call Flush at
// the end. It allocates nothing per packet.
type PcapWriter struct {
	pw *pcapWriter
}

// NewPcapWriter writes the file header to w at once: link is a
// LINKTYPE_ value (1 for Ethernet, https://www.tcpdump.org/linktypes.html)
// and snaplen the most bytes a record holds, as the header states it
// (tcpdump's default is 262144).
func NewPcapWriter(w io.Writer, link uint32, snaplen int) (*PcapWriter, error) {
	pw, err := newPcapWriter(w, linkType(link), snaplen)
	if err != nil {
		return nil, err
	}
	return &PcapWriter{pw: pw}, nil
}

// WritePacket appends one record: data as captured (possibly cut by the
// snaplen) and origLen the packet's length on the wire, at least len(data).
func (w *PcapWriter) WritePacket(ts time.Time, data []byte, origLen int) error {
	return w.pw.write(ts, data, origLen)
}

// Flush writes out what is buffered. A write error sticks: every later
// WritePacket and Flush returns it too.
func (w *PcapWriter) Flush() error { return w.pw.flush() }
