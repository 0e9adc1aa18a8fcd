package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/report"
)

// The files tcpfsm writes, and the care it takes not to harm others.

// quoteName is a file name as messages print it; see report.QuoteName.
func quoteName(name string) string { return report.QuoteName(name) }

// quotePath quotes the name inside an *fs.PathError (what os.Open and
// os.Create return), so that the error prints safely.
func quotePath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = quoteName(pe.Path)
	}
	return err
}

// oneLine escapes what a message printed for a person must not hold raw:
// control characters (a newline would break the one-line error, an escape
// sequence would reach the terminal) and other unprintable runes, as %q
// escapes them. Names are quoted where they are put in a message
// (quoteName); this catches whatever else an error carries from the input.
func oneLine(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		if (r == utf8.RuneError && size == 1) || !strconv.IsPrint(r) {
			if b.Len() == 0 {
				b.WriteString(msg[:i])
			}
			q := strconv.Quote(msg[i : i+size])
			b.WriteString(q[1 : len(q)-1])
		} else if b.Len() > 0 {
			b.WriteString(msg[i : i+size])
		}
		i += size
	}
	if b.Len() == 0 {
		return msg // nothing to escape: no copy
	}
	return b.String()
}

// printf writes one message line to a person, escaped by oneLine.
func printf(w io.Writer, format string, args ...any) {
	fmt.Fprintln(w, oneLine(fmt.Sprintf(format, args...)))
}

// plural says "1 capture", "2 captures".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// atomicFile is an output written beside its final name and renamed over
// it once complete, so that a run that dies part way (killed, a second
// Ctrl-C, a full disk) leaves the file as it was, never empty or cut
// short. The temporary file is named .NAME.tmp-RANDOM in the same
// directory, the only place a rename is atomic; a run killed before it
// renames leaves it behind.
type atomicFile struct {
	*os.File
	name string
	// inPlace: not a temporary file but name itself, which createOutput
	// opened because a rename would replace it rather than write to it.
	inPlace bool
}

// createOutput starts writing an output named on the command line
// (--html, --junit): atomically, as createAtomic does, when the name is a
// regular file or nothing yet, and in place, as os.Create writes, when it
// is anything else: a device (/dev/null), a FIFO, a symbolic link
// (/dev/stdout is one). The rename would replace those, not write to them:
// as root, --html /dev/null made /dev/null a regular file holding the page.
// A file that may be written in a directory that takes no new file (a
// report made for this user beside others' files) is written in place
// too, rather than refused for want of a temporary file.
func createOutput(name string) (*atomicFile, error) {
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", quoteName(name), unwrapPath(err))
		}
		return &atomicFile{File: f, name: name, inPlace: true}, nil
	}
	a, err := createAtomic(name)
	if errors.Is(err, fs.ErrPermission) {
		if f, inPlaceErr := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0); inPlaceErr == nil {
			return &atomicFile{File: f, name: name, inPlace: true}, nil
		}
	}
	return a, err
}

func createAtomic(name string) (*atomicFile, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", quoteName(name), unwrapPath(err))
	}
	// CreateTemp makes the file private; give it the mode os.Create
	// would: a new file's under the umask, or the mode and owners of the
	// file it replaces, as writing it in place kept them, so replacing a
	// report does not change who may read it (a private report became
	// readable by all). Owners as far as this user may give them.
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	perm := 0o666 &^ fs.FileMode(mask)
	if fi, err := os.Lstat(name); err == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.Chown(int(st.Uid), int(st.Gid))
		}
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("%s: %w", quoteName(name), unwrapPath(err))
	}
	return &atomicFile{File: f, name: name}, nil
}

// commit closes the file and puts it in place.
func (a *atomicFile) commit() error {
	err := a.Close()
	if err == nil && !a.inPlace {
		err = os.Rename(a.File.Name(), a.name)
	}
	if err != nil {
		if !a.inPlace {
			os.Remove(a.File.Name())
		}
		return fmt.Errorf("%s: %w", quoteName(a.name), unwrapPath(err))
	}
	return nil
}

// discard closes and removes the file, leaving the old one as it was; a
// file written in place is only closed, never removed.
func (a *atomicFile) discard() {
	a.Close()
	if !a.inPlace {
		os.Remove(a.File.Name())
	}
}

// writeOutput writes data to name through createOutput.
func writeOutput(name string, data []byte) error {
	f, err := createOutput(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.discard()
		return fmt.Errorf("%s: %w", quoteName(name), unwrapPath(err))
	}
	return f.commit()
}

// unwrapPath is the error inside an *fs.PathError or *os.LinkError, whose
// message repeats a name the caller puts first already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// outputIsInput refuses an output file that is one of the inputs (the
// same device and inode, through any name or link): writing the report
// would destroy what it reports on. stdin is standard input, the input
// "-" names. An output that does not exist yet is no input.
func outputIsInput(flag, output string, stdin io.Reader, inputs ...string) error {
	if output == "" {
		return nil
	}
	out, err := os.Stat(output)
	if err != nil {
		return nil
	}
	for _, in := range inputs {
		var fi fs.FileInfo
		if in == "-" {
			if f, ok := stdin.(*os.File); ok {
				fi, _ = f.Stat()
			}
		} else {
			fi, _ = os.Stat(in)
		}
		if fi != nil && os.SameFile(fi, out) {
			what := quoteName(in)
			if in == "-" {
				what = "standard input"
			}
			return fmt.Errorf("%s %s is the file %s, which this run reads: refusing to write over it", flag, quoteName(output), what)
		}
	}
	return nil
}
