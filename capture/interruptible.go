package capture

import "io"

// interruptibleChunk is how much one read of the source may return: a
// pipe holds 64 KiB.
const interruptibleChunk = 64 << 10

// Interruptible returns a reader of r whose Read returns ErrInterrupted as
// soon as stop is closed, even while a read of r is blocked: a FIFO or a
// pipe whose writer stalled would otherwise hold the caller, and the
// report it was asked to write, for as long as the writer sleeps.
//
// r is read on a goroutine of its own, one read ahead of the caller. Each
// read is handed over as it returns, however short, so a capture trickling
// down a pipe is analysed as it arrives. A read of r still blocked when
// stop closes stays blocked until r returns or is closed; its data is
// dropped. A regular file never blocks for long, and does not need this.
func Interruptible(r io.Reader, stop <-chan struct{}) io.Reader {
	ir := &interruptible{
		stop: stop,
		full: make(chan readChunk, 2),
		free: make(chan []byte, 2),
	}
	for range 2 {
		ir.free <- make([]byte, interruptibleChunk)
	}
	go ir.fill(r)
	return ir
}

type interruptible struct {
	stop <-chan struct{}
	full chan readChunk // reads of the source, in order
	free chan []byte    // buffers for the goroutine to read into

	cur []byte // what is left of the chunk being read
	buf []byte // the buffer cur is in, to hand back once read
	err error  // the error that ends the stream, once cur is read
}

// fill runs on its own goroutine until the source fails (io.EOF included)
// or stop closes.
func (ir *interruptible) fill(src io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-ir.free:
		case <-ir.stop:
			return
		}
		n, err := src.Read(buf)
		// Never blocks: a read needs one of the two buffers, and full
		// holds two. What was read is handed over even if stop closed
		// meanwhile: it was taken out of the pipe, and only this reader
		// has it now.
		ir.full <- readChunk{data: buf[:n], err: err}
		if err != nil {
			return
		}
	}
}

func (ir *interruptible) Read(p []byte) (int, error) {
	for len(ir.cur) == 0 {
		if ir.err != nil {
			return 0, ir.err
		}
		if ir.buf != nil {
			ir.free <- ir.buf[:cap(ir.buf)] // never blocks: two buffers, two places
			ir.buf = nil
		}
		// What was read already comes first; only a read that would
		// wait ends at stop.
		select {
		case c := <-ir.full:
			ir.cur, ir.buf, ir.err = c.data, c.data, c.err
			continue
		default:
		}
		select {
		case c := <-ir.full:
			ir.cur, ir.buf, ir.err = c.data, c.data, c.err
		case <-ir.stop:
			ir.err = ErrInterrupted
		}
	}
	n := copy(p, ir.cur)
	ir.cur = ir.cur[n:]
	return n, nil
}
