package capture

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Rotation says how a live capture's save file is split into several, as
// tcpdump's -w with -C, -G and -W: so that a long capture cannot fill the
// disk, and so that the files, read back as one capture (OpenSet), give
// the report the live capture gave.
type Rotation struct {
	// Name is the file's name (-w). With Interval it is a strftime(3)
	// pattern, expanded with the local time the file's interval began
	// ("trace-%H%M%S.pcap"), as tcpdump does; without, it is taken as is.
	Name string
	// FileSize (-C) is the most bytes a file holds: a record that would
	// take the file past it starts the next file. 0: no limit. A record
	// bigger than a whole file still goes in a file of its own.
	FileSize int64
	// Interval (-G) starts a new file at the first packet this long (of
	// packet time) after the current file's interval began. 0: never.
	Interval time.Duration
	// Files (-W): with FileSize, at most this many files, whose names are
	// reused cyclically (the oldest file is overwritten); with Interval
	// alone, the capture ends once this many files are written
	// (ErrFileLimit). 0: no limit.
	Files int
	// Now gives the time the first interval begins at; time.Now if nil.
	Now func() time.Time
}

// ErrFileLimit is what RotatingWriter.WritePacket returns for the packet
// that would start file Files+1 of a rotation by Interval alone: the
// capture is complete, as tcpdump -G -W ends it. The packet is not written.
var ErrFileLimit = errors.New("the last file of the rotation is written")

// RotatingWriter writes a live capture's records to one file, or to a
// rotation of files as Rotation says, each a whole classic pcap file with
// its own header (what PcapWriter writes): every file is a valid capture,
// and a file changes only between records. It is not safe for concurrent
// use.
type RotatingWriter struct {
	rot     Rotation
	link    uint32
	snaplen int

	f     *os.File
	pw    *PcapWriter
	name  string    // the current file's name
	size  int64     // bytes written to the current file
	begun time.Time // when the current interval began
	seq   int       // the current file's number within the interval (-C)
	files int       // intervals begun (-G), for Files without FileSize
	done  bool      // ErrFileLimit was returned
}

// NewRotatingWriter checks rot; no file is created before Start.
func NewRotatingWriter(rot Rotation) (*RotatingWriter, error) {
	switch {
	case rot.Name == "":
		return nil, errors.New("an empty string is not a file name")
	case rot.FileSize < 0 || rot.Interval < 0 || rot.Files < 0:
		return nil, errors.New("file size, interval and file count cannot be negative")
	}
	if rot.Now == nil {
		rot.Now = time.Now
	}
	return &RotatingWriter{rot: rot}, nil
}

// Start creates the first file and writes its header: link is its
// LINKTYPE_ value and snaplen the most bytes a record holds, as
// NewPcapWriter takes them and every later file repeats them.
func (w *RotatingWriter) Start(link uint32, snaplen int) error {
	w.link, w.snaplen = link, snaplen
	w.begun = w.rot.Now()
	w.files = 1
	return w.open()
}

// fileHeaderSize and recordHeaderSize are what PcapWriter writes besides
// the packets' bytes.
const (
	fileHeaderSize   = pcapFileHeaderLen
	recordHeaderSize = pcapRecordHeaderLen
)

// WritePacket writes one record to the current file, first starting the
// next file when the interval has passed or the record would take the
// file past FileSize. It returns ErrFileLimit, writing nothing, when the
// rotation is complete.
func (w *RotatingWriter) WritePacket(ts time.Time, data []byte, origLen int) error {
	if w.pw == nil {
		return errors.New("the capture file is closed")
	}
	if iv := w.rot.Interval; iv > 0 && ts.Sub(w.begun) >= iv {
		if w.rot.FileSize == 0 && w.rot.Files > 0 && w.files >= w.rot.Files {
			w.done = true
			return ErrFileLimit
		}
		w.begun, w.seq = ts, 0
		w.files++
		if err := w.next(); err != nil {
			return err
		}
	}
	rec := int64(recordHeaderSize + len(data))
	if w.rot.FileSize > 0 && w.size > fileHeaderSize && w.size+rec > w.rot.FileSize {
		w.seq++
		if w.rot.Files > 0 && w.seq >= w.rot.Files {
			w.seq = 0
		}
		if err := w.next(); err != nil {
			return err
		}
	}
	if err := w.pw.WritePacket(ts, data, origLen); err != nil {
		return err
	}
	w.size += rec
	return nil
}

// next closes the current file and opens the one its numbers now name.
func (w *RotatingWriter) next() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	return w.open()
}

func (w *RotatingWriter) open() error {
	w.name = w.fileName()
	f, err := os.Create(w.name)
	if err != nil {
		return err
	}
	pw, err := NewPcapWriter(f, w.link, w.snaplen)
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.pw, w.size = f, pw, fileHeaderSize
	return nil
}

// fileName is tcpdump's name for the current file (MakeFilename in
// tcpdump.c): the name, through strftime with an interval; then, with a
// file size, the file's number, padded with zeros to the width of the
// largest number -W allows. The first file of an interval has no number
// unless -W pads it (file, file1, file2 …; with -W 10: file0 … file9).
func (w *RotatingWriter) fileName() string {
	name := w.rot.Name
	if w.rot.Interval > 0 {
		name = Strftime(name, w.begun.Local())
	}
	if w.rot.FileSize == 0 {
		return name
	}
	width := numberWidth(w.rot.Files)
	if w.seq == 0 && width == 0 {
		return name
	}
	return fmt.Sprintf("%s%0*d", name, width, w.seq)
}

// numberWidth is how many digits the largest file number of files needs
// (tcpdump's getWflagChars): 0 without -W or with -W 1, whose one file has
// no number.
func numberWidth(files int) int {
	if files <= 1 {
		return 0
	}
	return len(strconv.Itoa(files - 1))
}

// Complete tells whether the rotation ended the capture (ErrFileLimit).
func (w *RotatingWriter) Complete() bool { return w != nil && w.done }

// Name is the current file's name, to name it in an error.
func (w *RotatingWriter) Name() string {
	if w.name == "" {
		return w.rot.Name
	}
	return w.name
}

// File is the current file once Start created it (for its owner to be
// changed), else nil.
func (w *RotatingWriter) File() *os.File {
	if w == nil {
		return nil
	}
	return w.f
}

// Flush writes out what is buffered for the current file.
func (w *RotatingWriter) Flush() error {
	if w.pw == nil {
		return nil
	}
	return w.pw.Flush()
}

// Close flushes and closes the current file; later writes fail.
func (w *RotatingWriter) Close() error {
	if w == nil {
		return nil
	}
	return w.closeFile()
}

func (w *RotatingWriter) closeFile() error {
	if w.f == nil {
		return nil
	}
	err := w.pw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f, w.pw = nil, nil
	return err
}

// Remove closes and deletes the first file, for a capture that could not
// start after all; it does nothing once a second file was begun.
func (w *RotatingWriter) Remove() {
	if w == nil || w.f == nil || w.files > 1 || w.seq > 0 {
		return
	}
	w.f.Close()
	os.Remove(w.name)
	w.f, w.pw = nil, nil
}
