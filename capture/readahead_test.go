package capture

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// unevenReader returns its data a random few bytes at a time, then err,
// and says when it has been closed.
type unevenReader struct {
	data   []byte
	err    error
	rng    *rand.Rand
	closed chan struct{}
}

func newUnevenReader(data []byte, err error) *unevenReader {
	return &unevenReader{data: data, err: err, rng: rand.New(rand.NewPCG(1, 2)), closed: make(chan struct{})}
}

func (u *unevenReader) Read(p []byte) (int, error) {
	if len(u.data) == 0 {
		return 0, u.err
	}
	n := copy(p, u.data[:min(len(u.data), 1+u.rng.IntN(3*readAheadChunkSize/2))])
	u.data = u.data[n:]
	return n, nil
}

func (u *unevenReader) Close() error {
	close(u.closed)
	return nil
}

// TestReadAheadReadsEverything: what comes out is what went in, for
// lengths around the chunk size and longer than all the chunks, read in
// small and large pieces, and the source's error comes after it as it is:
// a truncated gzip stream's io.ErrUnexpectedEOF must not read as the end.
func TestReadAheadReadsEverything(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	broken := errors.New("disk on fire")
	for _, size := range []int{0, 1, readAheadChunkSize - 1, readAheadChunkSize, readAheadChunkSize + 1,
		(2*readAheadChunks + 1) * readAheadChunkSize / 2} {
		for _, end := range []error{io.EOF, io.ErrUnexpectedEOF, broken} {
			for _, piece := range []int{7, 64 << 10, 3 * readAheadChunkSize} {
				data := make([]byte, size)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				src := newUnevenReader(data, end)
				ra := newReadAhead(src)
				var got []byte
				var err error
				buf := make([]byte, piece)
				for err == nil {
					var n int
					n, err = ra.Read(buf)
					got = append(got, buf[:n]...)
				}
				if err != end {
					t.Errorf("size %d, pieces of %d: error %v, want %v", size, piece, err, end)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("size %d, pieces of %d: read %d bytes, not the %d written", size, piece, len(got), len(data))
				}
				if _, again := ra.Read(buf); again != end {
					t.Errorf("size %d: a read after the end says %v, want %v again", size, again, end)
				}
				ra.Close()
				<-src.closed
			}
		}
	}
}

// endless is a source that never ends.
type endless struct{ closed chan struct{} }

func (endless) Read(p []byte) (int, error) { return len(p), nil }
func (e endless) Close() error             { close(e.closed); return nil }

// TestReadAheadStops: a reader that stops early (tcpfsm -c 10 on a huge
// capture) and closes leaves no goroutine behind: it closes its source and
// exits, whether it was waiting for a free buffer or for the reader.
func TestReadAheadStops(t *testing.T) {
	for _, read := range []int{0, 1, readAheadChunks + 2} {
		src := endless{closed: make(chan struct{})}
		ra := newReadAhead(src)
		buf := make([]byte, readAheadChunkSize)
		for range read {
			if _, err := io.ReadFull(ra, buf); err != nil {
				t.Fatal(err)
			}
		}
		ra.Close()
		ra.Close() // twice is harmless
		select {
		case <-src.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("after reading %d chunks and Close, the goroutine still reads", read)
		}
		if n, err := ra.Read(buf); err == nil {
			t.Errorf("a read after Close gave %d bytes and no error", n)
		}
	}
}
