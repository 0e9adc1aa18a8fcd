package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Classic pcap magics as read little-endian from the first four bytes
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html).
const (
	pcapMagicMicros        = 0xa1b2c3d4 // written little-endian, microsecond stamps
	pcapMagicNanos         = 0xa1b23c4d // written little-endian, nanosecond stamps
	pcapMagicMicrosSwapped = 0xd4c3b2a1 // written big-endian, microsecond stamps
	pcapMagicNanosSwapped  = 0x4d3cb2a1 // written big-endian, nanosecond stamps

	// Alexey Kuznetzov's patched libpcap (old Red Hat tcpdump): microsecond
	// stamps and 8 more bytes per record header (interface index, protocol,
	// packet type), which libpcap still reads.
	pcapMagicKuznetzov        = 0xa1b2cd34
	pcapMagicKuznetzovSwapped = 0x34cdb2a1
	kuznetzovExtraLen         = 8
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// pcapFile reads classic pcap records. It is hand-written rather than
// pcapgo.Reader because the error contract needs what pcapgo discards: how
// many bytes of a cut-off record were present, and the distinction between
// a clean end and a cut record header. It also never allocates more than
// the data present, whatever a record header claims.
type pcapFile struct {
	r       io.Reader
	br      *bufio.Reader // r, when it is one: records are read in place
	order   binary.ByteOrder
	swapped bool // order is big-endian
	nanos   bool // nanosecond timestamps; else microseconds
	snaplen uint32
	link    linkType
	header  [pcapRecordHeaderLen + kuznetzovExtraLen]byte
	// headerLen is how much of header a record header fills.
	headerLen int
	buf       []byte
}

// isPcapMagic reports whether the first four bytes of a file are a classic
// pcap magic in either byte order.
func isPcapMagic(b []byte) bool {
	switch binary.LittleEndian.Uint32(b) {
	case pcapMagicMicros, pcapMagicNanos, pcapMagicMicrosSwapped, pcapMagicNanosSwapped,
		pcapMagicKuznetzov, pcapMagicKuznetzovSwapped:
		return true
	}
	return false
}

// newPcapFile reads the file header. The caller has checked the magic.
func newPcapFile(r io.Reader) (*pcapFile, error) {
	var h [pcapFileHeaderLen]byte
	got, err := io.ReadFull(r, h[:])
	if err := shortRead(err, got, false, func() error {
		return truncated("in the file header", "need", pcapFileHeaderLen, got)
	}); err != nil {
		return nil, err
	}
	f := &pcapFile{r: r, order: binary.LittleEndian, headerLen: pcapRecordHeaderLen}
	switch binary.LittleEndian.Uint32(h[0:4]) {
	case pcapMagicNanos:
		f.nanos = true
	case pcapMagicMicrosSwapped:
		f.order = binary.BigEndian
	case pcapMagicNanosSwapped:
		f.order, f.nanos = binary.BigEndian, true
	case pcapMagicKuznetzov:
		f.headerLen += kuznetzovExtraLen
	case pcapMagicKuznetzovSwapped:
		f.order, f.headerLen = binary.BigEndian, f.headerLen+kuznetzovExtraLen
	}
	if major := f.order.Uint16(h[4:6]); major != 2 {
		// libpcap refuses these too; version 2 has been the only one since 1998.
		return nil, fmt.Errorf("%w: pcap version %d.%d, only 2.x is supported",
			ErrNotCapture, major, f.order.Uint16(h[6:8]))
	}
	f.snaplen = f.order.Uint32(h[16:20])
	// The upper bits of the link type field carry FCS information
	// (LT_LINKTYPE in libpcap); the link type is the low 26 bits.
	f.link = linkType(f.order.Uint32(h[20:24]) & 0x03ffffff)
	f.br, _ = r.(*bufio.Reader)
	f.swapped = f.order == binary.BigEndian
	return f, nil
}

// u32 reads a record header's field, in the file's byte order without a
// call through the interface.
func (f *pcapFile) u32(b []byte) uint32 {
	if f.swapped {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *pcapFile) linkTypes() []linkType { return []linkType{f.link} }

func (f *pcapFile) next(rec *record) error {
	br, buffered := f.br, f.br != nil
	var h []byte
	var err error
	if buffered {
		// Read the header where it lies in the buffer, as the record below.
		h, err = br.Peek(f.headerLen)
	} else {
		var got int
		got, err = io.ReadFull(f.r, f.header[:f.headerLen])
		h = f.header[:got]
	}
	if err := shortRead(err, len(h), true, func() error {
		return truncated("mid-record header", "need", f.headerLen, len(h))
	}); err != nil {
		return err
	}
	sec := f.u32(h[0:4])
	frac := f.u32(h[4:8])
	capLen := f.u32(h[8:12])
	origLen := f.u32(h[12:16])
	if buffered {
		br.Discard(f.headerLen)
	}

	if capLen > maxRecordLen {
		// No capture tool writes this: the length is corrupt, and so is
		// everything after it (libpcap stops here too). Reading on would
		// also buffer whatever the length says.
		return corrupt("record of %d bytes, more than %d (libpcap's limit)", capLen, maxRecordLen)
	}
	if capLen == 0 {
		// A record that holds no bytes is no packet. A run of them is
		// what a file padded or overwritten with zeros reads as, one
		// every 16 bytes: it is counted as one record standing for the
		// run, so that the run costs a scan, not a decode and a warning
		// per 16 bytes.
		var more uint64
		if buffered {
			more = f.skipEmpty(br)
		}
		*rec = record{origLen: int(origLen), link: f.link, bad: &emptyRecords{format: "pcap record", more: more}, more: more}
		return nil
	}
	want := int(capLen)
	var data []byte
	if buffered && want <= br.Size() {
		// The record is in the read buffer: hand it over where it lies
		// instead of copying it (valid until the next read, as
		// record.data must be).
		data, err = br.Peek(want)
		br.Discard(len(data))
	} else {
		f.buf, _, err = readFull(f.r, f.buf, want)
		data = f.buf
	}
	if err := shortRead(err, len(data), false, func() error {
		return truncated("mid-record", "record header says", want, len(data))
	}); err != nil {
		return err
	}

	nsec := int64(frac)
	if !f.nanos {
		nsec *= 1000
	}
	*rec = record{
		data:    data,
		origLen: int(origLen),
		ts:      time.Unix(int64(sec), nsec).UTC(),
		link:    f.link,
	}
	return nil
}

// skipEmpty reads past the records with no captured bytes that follow in
// br, and returns how many it read. It stops at the first record that
// holds bytes, at the end of the file or at a record header cut short,
// leaving those for next to read; it waits for input only as next would,
// for the next record header.
func (f *pcapFile) skipEmpty(br *bufio.Reader) uint64 {
	var skipped uint64
	for {
		if br.Buffered() < f.headerLen {
			if _, err := br.Peek(f.headerLen); err != nil {
				return skipped
			}
		}
		b, _ := br.Peek(br.Buffered())
		n := 0
		for len(b)-n >= f.headerLen && f.order.Uint32(b[n+8:n+12]) == 0 {
			n += f.headerLen
		}
		br.Discard(n)
		skipped += uint64(n / f.headerLen)
		if len(b)-n >= f.headerLen {
			return skipped // a record with bytes
		}
	}
}
