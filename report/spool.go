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
//
// What is held is the file's bytes, then mem's. A spool never refuses a
// write: when the temporary file cannot be made or written ($TMPDIR
// read-only or full), the rest is held in memory and failed says why, so
// that a report is never lost for want of a place to hold it.
type spool struct {
	mem    bytes.Buffer
	file   *os.File
	failed error
}

func (s *spool) Write(p []byte) (int, error) {
	if s.failed != nil || s.file == nil && s.mem.Len()+len(p) <= spoolMemory {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "tcpfsm-report-*")
		if err != nil {
			s.failed = err
			return s.mem.Write(p)
		}
		os.Remove(f.Name())
		s.file = f
		// On an error, what mem.WriteTo wrote is in the file and the
		// rest still in mem: in order.
		if _, err := s.mem.WriteTo(f); err != nil {
			s.failed = err
			return s.mem.Write(p)
		}
	}
	n, err := s.file.Write(p)
	if err != nil {
		s.failed = err
		s.mem.Write(p[n:])
	}
	return len(p), nil
}

// WriteTo writes everything held to w, and lets go of it.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if f := s.file; f != nil {
		s.file = nil
		defer f.Close()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		m, err := io.Copy(w, f)
		if n += m; err != nil {
			return n, err
		}
	}
	m, err := s.mem.WriteTo(w)
	return n + m, err
}

// warning says, when the temporary file failed, that the report was held
// in memory instead.
func (s *spool) warning() string {
	if s.failed == nil {
		return ""
	}
	return fmt.Sprintf("the report was held in memory, not in a temporary file: %v", s.failed)
}

// Close lets go of what is held without writing it.
func (s *spool) Close() error {
	s.mem = bytes.Buffer{}
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}
