package capture

import (
	"io"
	"slices"
	"time"
)

// record is one packet record as a file format reader hands it over,
// before any decoding. data aliases the format reader's buffer and is valid
// until the next call.
type record struct {
	data    []byte
	origLen int // length on the wire; >= len(data) unless the file lies
	ts      time.Time
	link    linkType
	iface   int // pcapng interface index; 0 for classic pcap
	// bad is set when the record's framing is intact (the next record can
	// be found) but the record itself is unusable, e.g. a pcapng packet
	// block naming an interface that does not exist. It is counted as
	// malformed and reading goes on.
	bad error
	// more is how many records after this one it stands for: a run of
	// empty pcap records is read as one (see pcapFile.skipEmpty), with
	// bad set, and numbered and counted as the records it stands for.
	more uint64
}

// recordSource is a capture file format: classic pcap or pcapng.
type recordSource interface {
	// next reads the next record into rec. It returns io.EOF at a clean
	// end of file, and a truncation or corruption error otherwise; either
	// ends the reading.
	next(rec *record) error
	// linkTypes lists the link types seen so far, the first one first.
	linkTypes() []linkType
}

// readFull reads exactly n bytes from r into buf's storage and returns the
// (possibly regrown) buffer and how many bytes were read. The length comes
// from an untrusted header, so the buffer grows only as data actually
// arrives: a corrupt length of 4 GB in a 100-byte file costs a few
// kilobytes, not 4 GB. In steady state buf is big enough and nothing is
// allocated.
func readFull(r io.Reader, buf []byte, n int) ([]byte, int, error) {
	if n <= cap(buf) {
		buf = buf[:n]
		got, err := io.ReadFull(r, buf)
		return buf, got, err
	}
	const firstStep = 64 << 10
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), max(firstStep, len(buf)))
		buf = slices.Grow(buf, step)
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+got]
		if err != nil {
			return buf, len(buf), err
		}
	}
	return buf, n, nil
}

// shortRead turns the error of a read that wanted n bytes and got got into
// what the caller should see: nil when complete, io.EOF when nothing at all
// was there and eofOK says a clean end may fall here, errTrunc for a partial
// read, and any other error (a gzip checksum, a disk error) as it is.
func shortRead(err error, got int, eofOK bool, errTrunc func() error) error {
	switch {
	case err == nil:
		return nil
	case got == 0 && eofOK && err == io.EOF:
		return io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return errTrunc()
	}
	return err
}
