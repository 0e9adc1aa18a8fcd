package capture

import (
	"encoding/binary"
	"io"
	"math"
	"math/bits"
	"time"
)

// pcapng block types and constants (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html).
const (
	ngBlockSection         = 0x0a0d0d0a // a palindrome: the same in both byte orders
	ngBlockInterface       = 1
	ngBlockPacketObsolete  = 2
	ngBlockSimplePacket    = 3
	ngBlockEnhancedPacket  = 6
	ngByteOrderMagic       = 0x1a2b3c4d
	ngOptionEnd            = 0
	ngOptionTSResolution   = 9  // if_tsresol
	ngOptionTSOffset       = 14 // if_tsoffset
	ngMinBlockLen          = 12 // type, length, trailing length
	ngMinSectionLen        = 28
	ngPacketHeaderLen      = 20 // interface, timestamp (2), captured and original length
	ngInterfaceFixedLen    = 8  // link type, reserved, snaplen
	ngDefaultTSExponent    = 6  // microseconds, when if_tsresol is absent
	ngMaxDecimalTSExponent = 19 // 10^19 is the largest power of ten in a uint64

	// maxInterfaces bounds the interface descriptions kept per section
	// (32 bytes each, 2 MiB in all): an interface block is 20 bytes, so
	// a file of them would otherwise hold more than it is long. Real
	// captures have a few, a host with many containers some thousands.
	maxInterfaces = 1 << 16
)

// pcapngFile reads pcapng packet blocks. It is hand-written rather than
// pcapgo.NgReader (gopacket v1.1.19) because that reader truncates link
// types to a uint8 (LINUX_SLL2, 276, becomes 20), panics with a division by
// zero on an if_tsresol of 10^-64 or finer, allocates whatever a block
// header claims, and reports a file cut mid-block as a clean io.EOF.
type pcapngFile struct {
	r      io.Reader
	order  binary.ByteOrder // of the current section
	ifaces []ngInterface    // of the current section, the first maxInterfaces
	// ignored counts the current section's interfaces past maxInterfaces.
	ignored int
	seen    []linkType      // every distinct link type so far, in order
	seenSet [1 << 10]uint64 // seen as a set of the 2^16 link types an interface can have
	head    [12]byte
	buf     []byte

	// packets counts the packet blocks read, as the Reader numbers them.
	packets uint64
	// lastTime is the time of the latest packet block that had one: a
	// simple packet block, which has none, is given it.
	lastTime time.Time
	// untimed counts the simple packet blocks, first is the number of
	// the first.
	untimed, firstUntimed uint64

	// A packet block read ahead by newPcapngFile while looking for the
	// first interface, to be returned by the first next.
	pending     bool
	pendingType uint32
	pendingBody []byte
}

// ngInterface is what packet decoding needs from an interface description
// block.
type ngInterface struct {
	link    linkType
	snaplen uint32
	// Timestamps count units of 2^-exp (binary) or 10^-exp seconds.
	binary      bool
	exp         uint8
	unitsPerSec uint64 // decimal only
	offset      int64  // if_tsoffset, seconds
}

func isPcapngMagic(b []byte) bool {
	return binary.LittleEndian.Uint32(b) == ngBlockSection
}

// newPcapngFile reads the section header, then blocks up to the first
// interface description, so that the link type (and a filter compiled for
// it) is known before the first packet. The caller has checked the magic.
func newPcapngFile(r io.Reader) (*pcapngFile, error) {
	f := &pcapngFile{r: r, order: binary.LittleEndian}
	typ, body, err := f.readBlock()
	if err != nil {
		if err == io.EOF {
			err = truncated("in the file header", "need", ngMinSectionLen, 0)
		}
		return nil, err
	}
	if err := f.section(typ, body); err != nil {
		return nil, err
	}
	for len(f.ifaces) == 0 {
		typ, body, err := f.readBlock()
		if err == io.EOF {
			return f, nil // a capture with no packets
		}
		if err != nil {
			return nil, err
		}
		if isPacketBlock(typ) {
			f.pending, f.pendingType, f.pendingBody = true, typ, body
			return f, nil
		}
		if err := f.control(typ, body); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *pcapngFile) linkTypes() []linkType { return f.seen }

func (f *pcapngFile) next(rec *record) error {
	for {
		var typ uint32
		var body []byte
		if f.pending {
			typ, body, f.pending = f.pendingType, f.pendingBody, false
		} else {
			var err error
			if typ, body, err = f.readBlock(); err != nil {
				return err
			}
		}
		if isPacketBlock(typ) {
			f.packet(typ, body, rec)
			return nil
		}
		if err := f.control(typ, body); err != nil {
			return err
		}
	}
}

func isPacketBlock(typ uint32) bool {
	return typ == ngBlockEnhancedPacket || typ == ngBlockSimplePacket || typ == ngBlockPacketObsolete
}

// control handles a block that is not a packet: a new section, a new
// interface, or anything else, which is skipped.
func (f *pcapngFile) control(typ uint32, body []byte) error {
	switch typ {
	case ngBlockSection:
		return f.section(typ, body)
	case ngBlockInterface:
		return f.addInterface(body)
	}
	return nil
}

// readBlock reads one whole block and returns its type and body (what lies
// between the length fields; for a section header, after the byte-order
// magic). body aliases f.buf.
func (f *pcapngFile) readBlock() (uint32, []byte, error) {
	got, err := io.ReadFull(f.r, f.head[:8])
	if err := shortRead(err, got, true, func() error {
		return truncated("mid-block header", "need", 8, got)
	}); err != nil {
		return 0, nil, err
	}
	typ := f.order.Uint32(f.head[0:4])
	headLen := 8
	if typ == ngBlockSection {
		// The section header carries the byte order of everything after it,
		// its own length included.
		got, err := io.ReadFull(f.r, f.head[8:12])
		if err := shortRead(err, got, false, func() error {
			return truncated("mid-block header", "need", 12, 8+got)
		}); err != nil {
			return 0, nil, err
		}
		switch magic := binary.LittleEndian.Uint32(f.head[8:12]); magic {
		case ngByteOrderMagic:
			f.order = binary.LittleEndian
		case bits.ReverseBytes32(ngByteOrderMagic):
			f.order = binary.BigEndian
		default:
			return 0, nil, corrupt("pcapng section header with byte-order magic 0x%08x", magic)
		}
		headLen = 12
	}
	length := f.order.Uint32(f.head[4:8])
	minLen := uint32(ngMinBlockLen)
	if typ == ngBlockSection {
		minLen = ngMinSectionLen
	}
	if length < minLen || length%4 != 0 {
		return 0, nil, corrupt("pcapng block type %d with length %d (must be a multiple of 4, at least %d)", typ, length, minLen)
	}
	if length > maxBlockLen {
		return 0, nil, corrupt("pcapng block type %d of %d bytes, more than %d (libpcap's limit)", typ, length, maxBlockLen)
	}
	rest := int(length) - headLen // body and trailing length
	var n int
	f.buf, n, err = readFull(f.r, f.buf, rest)
	if err := shortRead(err, n, false, func() error {
		return truncated("mid-block", "block header says", int(length), headLen+n)
	}); err != nil {
		return 0, nil, err
	}
	if trailer := f.order.Uint32(f.buf[rest-4:]); trailer != length {
		return 0, nil, corrupt("pcapng block type %d says length %d at its start and %d at its end", typ, length, trailer)
	}
	return typ, f.buf[:rest-4], nil
}

// section starts a new section: interfaces are numbered afresh.
func (f *pcapngFile) section(typ uint32, body []byte) error {
	if typ != ngBlockSection {
		return corrupt("pcapng file starts with block type %d, not a section header", typ)
	}
	if major, minor := f.order.Uint16(body[0:2]), f.order.Uint16(body[2:4]); major != 1 {
		return corrupt("pcapng section version %d.%d, only 1.x is supported", major, minor)
	}
	f.ifaces, f.ignored = f.ifaces[:0], 0
	return nil
}

func (f *pcapngFile) addInterface(body []byte) error {
	if len(body) < ngInterfaceFixedLen {
		return corrupt("pcapng interface description of %d bytes (< %d)", len(body), ngInterfaceFixedLen)
	}
	if len(f.ifaces) == maxInterfaces {
		f.ignored++ // its packets are malformed, and say why
		return nil
	}
	iface := ngInterface{
		link:    linkType(f.order.Uint16(body[0:2])),
		snaplen: f.order.Uint32(body[4:8]),
		exp:     ngDefaultTSExponent,
	}
	resolution := byte(ngDefaultTSExponent)
	for opts := body[ngInterfaceFixedLen:]; len(opts) >= 4; {
		code, n := f.order.Uint16(opts[0:2]), int(f.order.Uint16(opts[2:4]))
		if code == ngOptionEnd || 4+n > len(opts) {
			break // an option running past the block is ignored with the rest
		}
		value := opts[4 : 4+n]
		switch {
		case code == ngOptionTSResolution && n >= 1:
			resolution = value[0]
			iface.binary, iface.exp = resolution&0x80 != 0, resolution&0x7f
		case code == ngOptionTSOffset && n >= 8:
			iface.offset = int64(f.order.Uint64(value))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	if iface.binary && iface.exp > 63 || !iface.binary && iface.exp > ngMaxDecimalTSExponent {
		return corrupt("pcapng interface %d: timestamp resolution 0x%02x not supported", len(f.ifaces), resolution)
	}
	if !iface.binary {
		iface.unitsPerSec = pow10(iface.exp)
	}
	f.ifaces = append(f.ifaces, iface)
	// A set, not a search of seen: a file of interface blocks may bring
	// every link type there is.
	if word, bit := iface.link>>6, uint64(1)<<(iface.link&63); f.seenSet[word]&bit == 0 {
		f.seenSet[word] |= bit
		f.seen = append(f.seen, iface.link)
	}
	return nil
}

// packet fills rec from an enhanced, simple or obsolete packet block. A
// block that cannot be a packet is reported in rec.bad: the block framing
// was fine, so the next block can still be read.
func (f *pcapngFile) packet(typ uint32, body []byte, rec *record) {
	*rec = record{}
	f.packets++
	if typ == ngBlockSimplePacket {
		// No interface field (it is always interface 0) and no timestamp.
		if len(f.ifaces) == 0 {
			rec.bad = malformed("pcapng packet block", "simple packet block before any interface description")
			return
		}
		if len(body) < 4 {
			rec.bad = malformed("pcapng packet block", "simple packet block of %d bytes (< 4)", len(body))
			return
		}
		origLen := int(f.order.Uint32(body[0:4]))
		data := body[4:]
		if origLen < len(data) {
			data = data[:origLen] // the rest is padding
		}
		if snap := int(f.ifaces[0].snaplen); snap > 0 && snap < len(data) {
			data = data[:snap]
		}
		// No time: the packet before it is the best guess there is (a
		// zero time would read as the year 1 and make every time
		// difference absurd), and the Reader says how many were given one.
		if f.untimed == 0 {
			f.firstUntimed = f.packets
		}
		f.untimed++
		if f.lastTime.IsZero() {
			f.lastTime = time.Unix(0, 0).UTC() // none before it
		}
		*rec = record{data: data, origLen: origLen, ts: f.lastTime, link: f.ifaces[0].link}
		if len(data) == 0 {
			rec.bad = emptyPacketBlock
		}
		return
	}

	if len(body) < ngPacketHeaderLen {
		rec.bad = malformed("pcapng packet block", "%d bytes (< %d)", len(body), ngPacketHeaderLen)
		return
	}
	var iface int
	if typ == ngBlockPacketObsolete {
		iface = int(f.order.Uint16(body[0:2])) // then 2 bytes of drop count
	} else {
		iface = int(f.order.Uint32(body[0:4]))
	}
	if iface < 0 || iface >= len(f.ifaces) {
		if iface >= 0 && iface < len(f.ifaces)+f.ignored {
			rec.bad = malformed("pcapng packet block", "interface %d not kept (a section keeps its first %d interface descriptions; this one has %d)",
				iface, maxInterfaces, len(f.ifaces)+f.ignored)
			return
		}
		rec.bad = malformed("pcapng packet block", "interface %d not described (%d interfaces)", iface, len(f.ifaces)+f.ignored)
		return
	}
	capLen := f.order.Uint32(body[12:16])
	origLen := f.order.Uint32(body[16:20])
	data := body[ngPacketHeaderLen:]
	if uint64(capLen) > uint64(len(data)) {
		rec.bad = malformed("pcapng packet block", "captured length %d past the block end (%d bytes)", capLen, len(data))
		return
	}
	ts, err := f.ifaces[iface].time(uint64(f.order.Uint32(body[4:8]))<<32 | uint64(f.order.Uint32(body[8:12])))
	if err != nil {
		rec.bad = err
		return
	}
	f.lastTime = ts
	if capLen == 0 {
		// No frame is empty; and the message is made once, not for each
		// block of a file of them.
		*rec = record{origLen: int(origLen), link: f.ifaces[iface].link, iface: iface, bad: emptyPacketBlock}
		return
	}
	*rec = record{
		data:    data[:capLen],
		origLen: int(origLen),
		ts:      ts,
		link:    f.ifaces[iface].link,
		iface:   iface,
	}
}

// The earliest and latest times a packet can have: what nanoseconds
// since 1970 in an int64 hold, as time differences and every report
// count them. A pcapng timestamp can say far more (2^64 microseconds, and
// an if_tsoffset of any number of seconds either way).
var (
	earliestTime = time.Unix(0, math.MinInt64).UTC() // 1677-09-21 00:12:43.145224192 UTC
	latestTime   = time.Unix(0, math.MaxInt64).UTC() // 2262-04-11 23:47:16.854775807 UTC
)

// time converts a timestamp in the interface's units, or says why it
// cannot be a packet's time.
func (i *ngInterface) time(ts uint64) (time.Time, error) {
	var sec, nsec uint64
	if i.binary {
		sec = ts >> i.exp
		frac := ts & (1<<i.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9) // frac * 1e9 / 2^exp without overflow
		nsec = hi<<(64-i.exp) | lo>>i.exp
	} else {
		sec, nsec = ts/i.unitsPerSec, ts%i.unitsPerSec
		if i.exp <= 9 {
			nsec *= pow10(9 - i.exp)
		} else {
			nsec /= pow10(i.exp - 9)
		}
	}
	// sec + offset, where neither the sum nor sec itself may overflow.
	late := sec > math.MaxInt64 || i.offset > 0 && int64(sec) > math.MaxInt64-i.offset
	if !late {
		t := time.Unix(int64(sec)+i.offset, int64(nsec)).UTC()
		if t.Before(earliestTime) {
			return time.Time{}, malformed("pcapng packet block", "timestamp before %s, the earliest a packet can have", earliestTime.Format(time.DateTime))
		}
		late = t.After(latestTime)
		if !late {
			return t, nil
		}
	}
	return time.Time{}, malformed("pcapng packet block", "timestamp after %s, the latest a packet can have", latestTime.Format(time.DateTime))
}

func pow10(exp uint8) uint64 {
	p := uint64(1)
	for range exp {
		p *= 10
	}
	return p
}

// untimedPackets says how many simple packet blocks were read, which have
// no timestamp, and the number of the first.
func (f *pcapngFile) untimedPackets() (n, first uint64) { return f.untimed, f.firstUntimed }
