package capture

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readPackets reads every packet of r and the error that ended the reading.
func readPackets(r *Reader) ([]Packet, error) {
	var out []Packet
	for {
		var p Packet
		if err := r.Next(&p); err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// TestMappedReadsTheSame: a capture read through a memory map gives the
// packets, statistics and final error it gives through read(2), for every
// kernel capture (pcap, pcapng, gzip) and every hostile one.
func TestMappedReadsTheSame(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"../testdata/kernel/*.pcap*", "../testdata/hostile/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if !strings.Contains(p, ".golden.") && !strings.HasSuffix(p, ".md") {
				paths = append(paths, p)
			}
		}
	}
	mappedFiles := 0
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		mapped, mapErr := NewReader(f, path, Options{})
		f2, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// A reader that is not an *os.File is read, not mapped.
		plain, plainErr := NewReader(struct{ io.Reader }{f2}, path, Options{})
		if (mapErr == nil) != (plainErr == nil) || mapErr != nil && mapErr.Error() != plainErr.Error() {
			t.Errorf("%s: opening mapped: %v; read: %v", path, mapErr, plainErr)
		}
		if mapErr == nil && plainErr == nil {
			if !mapped.mapped || plain.mapped {
				t.Errorf("%s: mapped %v, read %v: want the file mapped, the reader not", path, mapped.mapped, plain.mapped)
			}
			mappedFiles++
			a, aErr := readPackets(mapped)
			b, bErr := readPackets(plain)
			if len(a) != len(b) || aErr.Error() != bErr.Error() || mapped.Stats() != plain.Stats() {
				t.Errorf("%s: mapped %d packets, %v, %+v; read %d, %v, %+v", path, len(a), aErr, mapped.Stats(), len(b), bErr, plain.Stats())
			} else {
				for i := range a {
					if a[i] != b[i] {
						t.Errorf("%s: packet %d differs:\nmapped %v\nread   %v", path, i+1, &a[i], &b[i])
						break
					}
				}
			}
			mapped.Close()
			plain.Close()
		}
		f.Close()
		f2.Close()
	}
	if mappedFiles < 20 {
		t.Errorf("only %d captures compared", mappedFiles)
	}
}

// TestMappedFileShrinks: a mapped capture truncated by another program
// while it is read ends with a truncation error naming the record, not a
// crash, and the packets before it were delivered.
func TestMappedFileShrinks(t *testing.T) {
	data, err := os.ReadFile("../testdata/kernel/diag-busy-normal.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shrinking.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.mapped {
		t.Fatal("the file was not mapped")
	}
	var p Packet
	for range 10 {
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
	}
	const keep = 16 << 10 // bytes left: a few pages, past the packets read
	if err := os.Truncate(path, keep); err != nil {
		t.Fatal(err)
	}
	got, err := readPackets(r)
	var pe *PacketError
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "shrank") || !errors.As(err, &pe) {
		t.Fatalf("after the file shrank: %v, want a truncation error saying it shrank", err)
	}
	if len(got) == 0 || pe.Index != uint64(10+len(got)+1) {
		t.Errorf("%d more packets before the error, which names record %d", len(got), pe.Index)
	}
	if again := r.Next(&p); again != err {
		t.Errorf("Next after the error: %v, want the same error", again)
	}
}
