package capture

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestInterruptibleReadsEverything: with no stop, what comes out is what
// went in, read in small and large pieces, and the source's error comes
// after it as it is.
func TestInterruptibleReadsEverything(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	broken := errors.New("disk on fire")
	for _, size := range []int{0, 1, interruptibleChunk - 1, interruptibleChunk + 1, 5*interruptibleChunk + 3} {
		for _, end := range []error{io.EOF, io.ErrUnexpectedEOF, broken} {
			for _, piece := range []int{7, 3 * interruptibleChunk} {
				data := make([]byte, size)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				r := Interruptible(newUnevenReader(data, end), make(chan struct{}))
				var got []byte
				var err error
				buf := make([]byte, piece)
				for err == nil {
					var n int
					n, err = r.Read(buf)
					got = append(got, buf[:n]...)
				}
				if err != end || !bytes.Equal(got, data) {
					t.Errorf("size %d, pieces of %d: read %d bytes and %v; want %d and %v", size, piece, len(got), err, len(data), end)
				}
			}
		}
	}
}

// TestInterruptibleStopsABlockedRead: a source that sends some bytes and
// then blocks for ever (a FIFO whose writer stalled) gives its bytes, and
// once stop closes the blocked Read returns ErrInterrupted, as does every
// Read after it.
func TestInterruptibleStopsABlockedRead(t *testing.T) {
	for _, sent := range []int{0, 10, interruptibleChunk} {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		data := bytes.Repeat([]byte{7}, sent)
		go pw.Write(data)
		stop := make(chan struct{})
		r := Interruptible(pr, stop)
		got := make([]byte, sent)
		if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("sent %d: read %v, want the bytes sent", sent, err)
		}
		result := make(chan error, 1)
		go func() {
			_, err := r.Read(make([]byte, 10))
			result <- err
		}()
		close(stop)
		select {
		case err := <-result:
			if err != ErrInterrupted {
				t.Errorf("sent %d: the blocked read returned %v, want ErrInterrupted", sent, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("sent %d: the read blocked on the stalled source did not return after stop", sent)
		}
		if _, err := r.Read(make([]byte, 10)); err != ErrInterrupted {
			t.Errorf("sent %d: a read after the stop says %v, want ErrInterrupted", sent, err)
		}
	}
}
