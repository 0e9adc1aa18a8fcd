package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// bufferSize is large enough that a pipe (tcpdump -w - | tcpfsm -r -) is
// read in few system calls.
const bufferSize = 256 << 10

// openSource recognises the format by its first bytes, never by the file
// name, and never seeks, so a pipe works. A gzip stream is unwrapped once
// and recognised again, and decompressed on a goroutine of its own (see
// readAhead): closer stops it.
func openSource(r io.Reader) (src recordSource, closer io.Closer, err error) {
	return detectSource(r, bufferSize, true)
}

// detectSource is openSource with a buffer of size bytes, and a gzip
// stream decompressed on a goroutine of its own only with readAhead: a
// look at a file's first record (Set) would have the goroutine decompress
// a megabyte nobody reads.
func detectSource(r io.Reader, size int, readAhead bool) (src recordSource, closer io.Closer, err error) {
	br := bufio.NewReaderSize(r, size)
	magic, peekErr := br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("reading gzip header: %w", err)
		}
		// A multi-member gzip file (cat a.gz b.gz) is one stream: that
		// is gzip.Reader's default and what zcat does.
		if readAhead {
			ra := newReadAhead(gz)
			br = bufio.NewReaderSize(ra, size)
			closer = ra
		} else {
			br = bufio.NewReaderSize(gz, size)
			closer = gz
		}
		magic, peekErr = br.Peek(4)
	}
	switch {
	case len(magic) == 4 && isPcapMagic(magic):
		src, err = newPcapFile(br)
	case len(magic) == 4 && isPcapngMagic(magic):
		src, err = newPcapngFile(br)
	case len(magic) == 4:
		err = fmt.Errorf("%w (magic 0x%08x)", ErrNotCapture, binary.BigEndian.Uint32(magic))
	case peekErr != nil && peekErr != io.EOF:
		err = peekErr // a read error, or corrupt gzip data
	case len(magic) == 0:
		err = fmt.Errorf("%w (empty)", ErrNotCapture)
	default:
		err = fmt.Errorf("%w (only %d bytes)", ErrNotCapture, len(magic))
	}
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, nil, err
	}
	return src, closer, nil
}
