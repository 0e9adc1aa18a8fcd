package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spoolMemory is how much of a held report stays in memory; the rest goes
// to a temporary file, so that a capture of a million connections holds
// a few MiB of memory, not the hundreds its report takes.
const spoolMemory = 4 << 20

// spool holds what a report writes until it can be written in its place:
// the text report's connections come after the diagnoses, which are known
// only once the last connection has ended. The temporary file is removed
// as soon as it is created, so nothing is left behind however tcpfsm ends.
type spool struct {
	mem  bytes.Buffer
	file *os.File
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= spoolMemory {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "tcpfsm-report-*")
		if err != nil {
			return 0, fmt.Errorf("holding the report's connections: %w", err)
		}
		os.Remove(f.Name())
		s.file = f
		if _, err := s.mem.WriteTo(f); err != nil {
			return 0, fmt.Errorf("holding the report's connections: %w", err)
		}
	}
	return s.file.Write(p)
}

// WriteTo writes everything held to w, and lets go of it.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.file == nil {
		return s.mem.WriteTo(w)
	}
	f := s.file
	s.file = nil
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, f)
}

// Close lets go of what is held without writing it.
func (s *spool) Close() error {
	s.mem = bytes.Buffer{}
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}
