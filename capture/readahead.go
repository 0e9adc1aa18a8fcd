package capture

import "io"

// readAhead reads its source on a goroutine of its own, up to
// readAheadChunks chunks ahead of its reader. A gzip capture is read
// through one, so that decompressing it (about as much work as analysing
// what comes out) runs beside the analysis instead of before it, on
// another core.
//
// Close stops the goroutine without waiting for it: it may be blocked
// reading a pipe that sends nothing more. It exits as soon as that read
// returns, and closes the source (a gzip.Reader, which is not safe to
// close while it is being read) itself.
type readAhead struct {
	full chan readChunk // filled chunks, in order; closed after the last
	free chan []byte    // emptied buffers, for the goroutine to fill
	done chan struct{}  // closed by Close

	cur  []byte // what is left of the chunk being read
	buf  []byte // the buffer cur is in, to hand back once read
	err  error  // the error that ends the stream, once cur is read
	shut bool
}

type readChunk struct {
	data []byte
	err  error // after data: io.EOF or what the source returned
}

const (
	readAheadChunks    = 4
	readAheadChunkSize = 256 << 10
)

func newReadAhead(src io.ReadCloser) *readAhead {
	ra := &readAhead{
		full: make(chan readChunk, readAheadChunks),
		free: make(chan []byte, readAheadChunks),
		done: make(chan struct{}),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, readAheadChunkSize)
	}
	go ra.fill(src)
	return ra
}

// fill runs on its own goroutine: it fills free buffers from src and sends
// them in order, until src returns an error (io.EOF included) or Close.
func (ra *readAhead) fill(src io.ReadCloser) {
	defer src.Close()
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		// Fill the buffer, keeping the source's error as it is (a
		// truncated gzip stream's io.ErrUnexpectedEOF is not the end).
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = src.Read(buf[n:])
			n += m
		}
		select {
		case ra.full <- readChunk{data: buf[:n], err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if ra.shut {
		return 0, io.ErrClosedPipe
	}
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		c, ok := <-ra.full
		if !ok { // fill sends the chunk with the error before it closes full
			return 0, io.ErrClosedPipe
		}
		ra.cur, ra.buf, ra.err = c.data, c.data, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine; see readAhead.
func (ra *readAhead) Close() error {
	if !ra.shut {
		ra.shut = true
		close(ra.done)
	}
	return nil
}
