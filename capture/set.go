package capture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/internal/minheap"
)

// Set reads several capture files as one capture, as mergecap merges them:
// the TCP segments of every file in time order (ties go to the file given
// first), so that a connection whose packets are spread over the files of
// a rotation (tcpdump -C, -G) is one connection. The files may differ in
// format (pcap, pcapng, gzip) and link type.
//
// Only the files whose time ranges overlap are open at once. OpenSet opens
// each file only to read the time of its first record, then closes it;
// Next opens a file when the merge reaches that time and closes it at its
// end. A rotation of ten thousand files thus needs the memory and file
// descriptors of one or two, whatever their number (MaxOpen says how many
// were open at once).
//
// Problems name their file and the packet number within it, as a Reader's
// do. A file that is cut short or corrupt part-way is reported to Warn (a
// *PacketError) and the other files are read on; Incomplete then says so.
// Warn also hears of a gap in a rotation (ErrGap) and of files that
// overlap by more than a millisecond (ErrOverlap), when the earlier one
// ends.
//
// Packet.Index stays the packet's number within its own file, and
// Packet.File names that file; a set of several files numbers the packets
// it delivers across them in Packet.SetIndex, which orders them in the
// whole capture. Within one
// file the order is the file's: packets stamped earlier than the one before
// (ErrTimeWentBack) are delivered where they are, as mergecap, which merges
// by each file's next record, would place them too.
type Set struct {
	opt   Options
	files []setFile
	// pending lists the files not yet opened (indexes into files), in the
	// order they are opened: by their first record's time, then as given.
	pending []int
	open    minheap.Heap[*setMember] // the member whose next packet comes first on top
	// delivering is the member whose head Next delivered last: the next
	// call reads its next packet before anything else.
	delivering *setMember

	// frags reassembles for every file: a rotation can fall between the
	// fragments of a datagram, as between the segments of a connection.
	// Its datagrams still incomplete are dropped when the last file ends.
	frags *reassembler

	closed     Stats // of the files read to their end
	now        time.Time
	lastEnd    time.Time // the latest packet of the files read to their end
	lastEndOf  int       // the file lastEnd is from
	spacing    time.Duration
	incomplete bool
	// stopped is the error that ended the reading when Options.Stop was
	// closed: Next returns it from then on.
	stopped   error
	delivered uint64 // the packets Next delivered, for Packet.SetIndex
	doneBytes int64  // the sizes of the files read to their end
	size      int64
	maxOpen   int
	// spare holds the read buffers of the files read to their end, for
	// the next ones: a buffer per file of a rotation of thousands would
	// have the collector clear and sweep gigabytes.
	spare []*bufio.Reader
	probe *bufio.Reader // the buffer OpenSet reads each file's first record with
}

// setFile is one file of a Set.
type setFile struct {
	name  string
	size  int64     // 0 for a pipe
	first time.Time // its first record's time; zero if it could not be read
	skip  bool      // nothing to merge: it holds no record, or is no usable capture
	// kept is the file's member when it stayed open after OpenSet looked
	// at it: a pipe cannot be opened twice, and a set of one file need not.
	kept *setMember
}

// setMember is a file being merged: its reader and the packet it will
// deliver next.
type setMember struct {
	file    int
	f       *os.File
	counted *countingReader
	r       *Reader
	buf     *bufio.Reader // the file's read buffer, of bufferSize
	head    Packet
	// overlap is the first file opened while this one was open, which
	// it overlaps if it ends later than that file's first record; -1
	// for none.
	overlap int
}

// overlapTolerance is how far files may overlap unreported: the packets
// of one host's capture are stamped out of order by a microsecond or two
// now and then, and a rotation may fall between two of them.
const overlapTolerance = time.Millisecond

// countingReader counts the bytes read through it, for Set.BytesRead.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// probeBufferSize is the buffer OpenSet reads a file's first record with:
// enough for the file header and a record or two.
const probeBufferSize = 32 << 10

// OpenSet opens the capture files names (in the order given, which breaks
// ties of time) as one capture. It looks at each file's header and first
// record. A file that cannot be opened (missing, unreadable) or a filter
// libpcap rejects is an error, and so is any problem with the only file of
// a set of one, exactly as for Open. In a set of several, a file that is no
// usable capture (not a capture, cut inside its header, an unsupported link
// type) is reported to Warn and left out, and Incomplete says so.
func OpenSet(names []string, opt Options) (*Set, error) {
	if len(names) == 0 {
		return nil, errors.New("no capture files")
	}
	s := &Set{opt: opt, files: make([]setFile, len(names)), frags: newReassembler(), open: minheap.Heap[*setMember]{Less: before}}
	for i, name := range names {
		if err := s.look(i, name, len(names) == 1); err != nil {
			s.Close()
			return nil, err
		}
	}
	for i := range s.files {
		if s.files[i].kept == nil {
			s.pending = append(s.pending, i)
		}
	}
	slices.SortStableFunc(s.pending, func(a, b int) int { return s.files[a].first.Compare(s.files[b].first) })
	s.spacing = typicalSpacing(s.files, s.pending)
	if numberedInSequence(s.files, s.pending) {
		// The names prove that no file is missing: a silence between two
		// files is one of the traffic's.
		s.spacing = 0
	}
	for i := range s.files {
		if m := s.files[i].kept; m != nil {
			s.files[i].kept = nil
			s.push(m)
		}
	}
	return s, nil
}

// look opens file i, name, to learn its size and its first record's time,
// and closes it again unless it is a pipe or the set's only file.
func (s *Set) look(i int, name string, only bool) error {
	f, err := os.Open(name)
	if err != nil {
		return s.fileError(name, err)
	}
	sf := &s.files[i]
	sf.name = name
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return s.fileError(name, err)
	}
	if only || !fi.Mode().IsRegular() {
		if fi.Mode().IsRegular() {
			sf.size = fi.Size()
			s.size += sf.size
		}
		m, err := s.member(i, f)
		if err != nil {
			sf.skip = true // a pipe cannot be read again
			return s.unusable(name, err, only)
		}
		sf.kept = m
		return nil
	}
	sf.size = fi.Size()
	s.size += sf.size
	defer f.Close()
	if s.probe == nil {
		s.probe = bufio.NewReaderSize(f, probeBufferSize)
	}
	s.probe.Reset(f)
	src, closer, err := detectSource(s.probe, probeBufferSize, false)
	if err != nil {
		sf.skip = true
		return s.unusable(name, s.fileError(name, err), false)
	}
	var closers []io.Closer
	if closer != nil {
		closers = append(closers, closer)
	}
	// newReader sets up the link types of the header, so that a filter
	// libpcap rejects, or a link type that cannot be read, is found now.
	r, err := newReader(s.show(name), src, s.opt, closers...)
	if err != nil {
		sf.skip = true
		return s.unusable(name, err, false)
	}
	defer r.Close()
	var rec record
	switch err := src.next(&rec); err {
	case nil:
		sf.first = rec.ts
	case io.EOF:
		sf.skip = true
		s.doneBytes += sf.size
	default:
		// A cut first record: with no time, the file is opened first,
		// and its reader reports the problem with its packet number.
	}
	return nil
}

// unusable decides what a file that is no usable capture means: an error
// for a set of one, or for a filter libpcap rejects; otherwise a warning,
// and the set goes on without it.
func (s *Set) unusable(name string, err error, only bool) error {
	if only || errors.Is(err, ErrFilter) {
		return err
	}
	s.incomplete = true
	s.warn(fmt.Errorf("%w; the file is left out of the set", err))
	return nil
}

// member opens a Reader over f, counting the bytes it reads.
func (s *Set) member(i int, f *os.File) (*setMember, error) {
	var src io.Reader = f
	if fi, err := f.Stat(); s.opt.Stop != nil && (err != nil || !fi.Mode().IsRegular()) {
		src = Interruptible(f, s.opt.Stop)
	}
	m := &setMember{file: i, f: f, counted: &countingReader{r: src}, overlap: -1}
	if n := len(s.spare); n > 0 {
		m.buf, s.spare = s.spare[n-1], s.spare[:n-1]
		m.buf.Reset(m.counted)
	} else {
		m.buf = bufio.NewReaderSize(m.counted, bufferSize)
	}
	// The format readers buffer with bufio.NewReaderSize, which takes a
	// bufio.Reader of the size as it is.
	r, err := NewReader(m.buf, s.show(s.files[i].name), s.opt)
	if err != nil {
		f.Close()
		s.spare = append(s.spare, m.buf)
		return nil, err
	}
	r.shareReassembler(s.frags)
	m.r = r
	return m, nil
}

// typicalSpacing is how far apart the first packets of consecutive files
// usually are (the lower median of those spacings), from which a gap is
// judged; 0 when there are too few files to say.
func typicalSpacing(files []setFile, order []int) time.Duration {
	var gaps []time.Duration
	for k := 1; k < len(order); k++ {
		a, b := files[order[k-1]].first, files[order[k]].first
		if !a.IsZero() && !b.IsZero() {
			gaps = append(gaps, b.Sub(a))
		}
	}
	if len(gaps) < 2 {
		return 0
	}
	slices.Sort(gaps)
	return gaps[(len(gaps)-1)/2]
}

// numberedInSequence reports whether the files, in order, are named as a
// rotation numbers them, every number there: names alike but for one
// decimal number that counts up by one, as tcpdump -C appends it
// (trace.pcap, trace.pcap1, trace.pcap2, ...: the first without one) or
// editcap -c puts it (out_00000_20241201093000.pcap, out_00001_...: the
// numbers after it may be anything), or, with tcpdump -W, zero-padded and
// reused in a ring (trace.pcap08, trace.pcap09, trace.pcap00: after the
// largest comes 0). The number is the leftmost that differs between any
// two consecutive names. A rotation by size or count is bursty in time,
// so its files' spacing says nothing of a file missing, where the names
// do. Names that step otherwise (a number missing, tcpdump -G's strftime
// times, whose leftmost differing field changes at midnight) leave the
// judging to time, and so do files that hold no packet (empty, or no
// usable capture), as if missing.
func numberedInSequence(files []setFile, order []int) bool {
	var runs [][]string
	for _, i := range order {
		if !files[i].skip { // a file with no packet to merge is no file of the rotation
			runs = append(runs, splitDigits(files[i].name))
		}
	}
	if len(runs) < 2 {
		return false
	}
	// tcpdump -C's first file has no number: it is the 0th.
	if first, second := runs[0], runs[1]; len(first)+1 == len(second) && len(second)%2 == 0 {
		runs[0] = append(slices.Clone(first), "0")
	}
	counter, largest := -1, 0
	nums := make([]int, len(runs))
	for k := range runs {
		if len(runs[k]) != len(runs[0]) {
			return false
		}
		if k == 0 {
			continue
		}
		j := 0
		for j < len(runs[k]) && runs[k][j] == runs[k-1][j] {
			j++
		}
		if j == len(runs[k]) || j%2 == 0 || counter >= 0 && j != counter {
			return false // the same name twice, a difference outside a number, or another number
		}
		counter = j
	}
	for k := range runs {
		for j := 0; j < counter; j += 2 {
			if runs[k][j] != runs[0][j] {
				return false
			}
		}
		n, err := strconv.Atoi(runs[k][counter])
		if err != nil {
			return false
		}
		nums[k], largest = n, max(largest, n)
	}
	for k := 1; k < len(nums); k++ {
		if prev, n := nums[k-1], nums[k]; n != prev+1 && !(prev == largest && n == 0) {
			return false
		}
	}
	return true
}

// splitDigits cuts name into runs of non-digits and digits, alternating,
// the first a run of non-digits (empty if name starts with a digit).
func splitDigits(name string) []string {
	var out []string
	start, digits := 0, false
	for i := 0; i <= len(name); i++ {
		if i == len(name) || (name[i] >= '0' && name[i] <= '9') != digits {
			out = append(out, name[start:i])
			start, digits = i, !digits
		}
	}
	return out
}

// Next fills p with the next TCP segment of the set, the earliest of the
// open files' next ones. It returns io.EOF once every file is read: a file
// cut short or corrupt part-way is reported to Options.Warn, with its name
// and packet number, and the others are read on. Once warmed up it
// allocates nothing.
func (s *Set) Next(p *Packet) error {
	if m := s.delivering; m != nil && s.stopped == nil {
		// The packet delivered last is replaced by its file's next one
		// only now, when the caller asks for a packet: reading it at once
		// would hold the one delivered until the next arrived, which on a
		// pipe (tcpdump -U -w - | tcpfsm -r -) may be a long while. The
		// last file to read, often the only one, has nothing to merge
		// with: its reader decodes straight into p.
		s.delivering = nil
		last := len(s.pending) == 0 && s.open.Len() == 1
		into := &m.head
		if last {
			into = p
		}
		switch err := m.r.Next(into); {
		case err != nil:
			s.finish(m, err)
			s.open.Pop()
		case last:
			s.deliver(m, p)
			return nil
		default:
			s.open.Fix(0)
		}
	}
	if s.stopped != nil {
		s.frags.endOfCapture()
		return s.stopped
	}
	s.openDue()
	if s.open.Len() == 0 {
		s.frags.endOfCapture()
		return io.EOF
	}
	m := s.open.Items[0]
	*p = m.head
	s.deliver(m, p)
	return nil
}

// deliver notes p, the next packet of m, as the one delivered.
func (s *Set) deliver(m *setMember, p *Packet) {
	if len(s.files) > 1 {
		s.delivered++
		p.SetIndex, p.File = s.delivered, s.files[m.file].name
	}
	s.now = p.Timestamp
	s.delivering = m
}

// openDue opens the files whose first record is due: not later than the
// next packet of those open, or any at all when none is.
func (s *Set) openDue() {
	for len(s.pending) > 0 {
		i := s.pending[0]
		first := s.files[i].first
		if s.open.Len() > 0 && first.After(s.open.Items[0].head.Timestamp) {
			return
		}
		s.pending = s.pending[1:]
		if s.files[i].skip {
			continue
		}
		f, err := os.Open(s.files[i].name)
		if err != nil {
			s.incomplete = true
			s.warn(s.fileError(s.files[i].name, err))
			continue
		}
		m, err := s.member(i, f)
		if err != nil {
			// It could be read moments ago: it changed since.
			s.incomplete = true
			s.warn(err)
			continue
		}
		s.noteSeam(i, m)
		s.push(m)
	}
}

// noteSeam warns of a gap before file i, about to be opened as m, and
// notes which files it may overlap (see finish): those open, or, for a
// pipe kept open from the start that begins after it, m the pipe.
func (s *Set) noteSeam(i int, m *setMember) {
	first := s.files[i].first
	if first.IsZero() {
		return
	}
	for _, o := range s.open.Items {
		switch {
		case !first.Before(s.files[o.file].first):
			if o.overlap < 0 {
				o.overlap = i
			}
		case m.overlap < 0:
			m.overlap = o.file
		}
	}
	if s.open.Len() > 0 || s.lastEnd.IsZero() || s.spacing <= 0 {
		return
	}
	prev := s.files[s.lastEndOf].first
	if silence, apart := first.Sub(s.lastEnd), first.Sub(prev); 2*silence > s.spacing && 4*apart >= 7*s.spacing {
		s.warn(fmt.Errorf("%w: no packet for %v between %s (ends %s) and %s (starts %s, %v after the other started, where the files of this set usually start %v apart): a file may be missing",
			ErrGap, silence, s.show(s.files[s.lastEndOf].name), stamp(s.lastEnd), s.show(s.files[i].name), stamp(first), apart, s.spacing))
	}
}

// stamp writes a packet time for a warning.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000") }

// push reads m's first packet and adds m to the heap, or finishes it.
func (s *Set) push(m *setMember) {
	if err := m.r.Next(&m.head); err != nil {
		s.finish(m, err)
		return
	}
	if f := &s.files[m.file]; f.first.IsZero() {
		f.first = m.head.Timestamp // a file kept open from the start
	}
	s.open.Push(m)
	s.maxOpen = max(s.maxOpen, s.open.Len())
}

// finish closes m, whose reader returned err: io.EOF at its end, or the
// truncation or corruption that ended it, which goes to Warn.
func (s *Set) finish(m *setMember, err error) {
	switch {
	case errors.Is(err, ErrInterrupted):
		// Options.Stop ended a read blocked on a pipe: the reading ends
		// here, as asked, and the file is not damaged.
		s.stopped = err
	case err != io.EOF:
		s.incomplete = true
		s.warn(err)
	}
	st := m.r.Stats()
	s.closed.add(&st)
	end := m.r.Now()
	if end.After(s.lastEnd) {
		s.lastEnd, s.lastEndOf = end, m.file
	}
	if m.overlap >= 0 {
		if first := s.files[m.overlap].first; end.Sub(first) > overlapTolerance {
			s.warn(fmt.Errorf("%w: %s starts at %s, %v before %s ends (%s); their packets are merged in time order",
				ErrOverlap, s.show(s.files[m.overlap].name), stamp(first), end.Sub(first), s.show(s.files[m.file].name), stamp(end)))
		}
	}
	m.r.Close()
	m.f.Close()
	m.buf.Reset(nil)
	s.spare = append(s.spare, m.buf)
	s.doneBytes += max(s.files[m.file].size, m.counted.n)
}

// fileError is err about the file name, named as messages print it, in
// the error and in the *fs.PathError it may hold (an open's).
func (s *Set) fileError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = s.show(pe.Path)
	}
	return fmt.Errorf("%s: %w", s.show(name), err)
}

// show is how messages print the file name.
func (s *Set) show(name string) string {
	if s.opt.ShowName != nil {
		return s.opt.ShowName(name)
	}
	return name
}

func (s *Set) warn(err error) {
	if s.opt.Warn != nil {
		s.opt.Warn(err)
	}
}

// before orders the open members, a heap: by their next packet's time,
// then by the order the files were given in.
func before(a, b **setMember) bool {
	if c := (*a).head.Timestamp.Compare((*b).head.Timestamp); c != 0 {
		return c < 0
	}
	return (*a).file < (*b).file
}

// Stats returns the counts so far over every file: the packets delivered,
// and the records each open file skipped on its way to the packet it
// delivers next (that packet is not counted until it is delivered).
func (s *Set) Stats() Stats {
	st := s.closed
	st.ReassembledDatagrams = s.frags.stats.reassembled
	st.DroppedDatagrams = s.frags.stats.dropped()
	for _, m := range s.open.Items {
		ms := m.r.Stats()
		if m == s.delivering {
			st.add(&ms) // its head is delivered, and counted
			continue
		}
		ms.Packets--
		ms.TCP--
		if m.head.Truncated {
			ms.Truncated--
		}
		if m.head.BadChecksum {
			ms.BadChecksum--
		}
		st.add(&ms)
	}
	return st
}

// add adds o's counts to s.
func (s *Stats) add(o *Stats) {
	s.Packets += o.Packets
	s.Filtered += o.Filtered
	s.TCP += o.TCP
	s.NonTCP += o.NonTCP
	s.Fragments += o.Fragments
	s.Malformed += o.Malformed
	s.BadIPChecksum += o.BadIPChecksum
	s.Truncated += o.Truncated
	s.BadChecksum += o.BadChecksum
	s.TimeWentBack += o.TimeWentBack
	s.ReassembledDatagrams += o.ReassembledDatagrams
	s.DroppedDatagrams += o.DroppedDatagrams
}

// Now is the set's clock: the time of the latest packet delivered (zero
// before the first), as Reader.Now is for one file.
func (s *Set) Now() time.Time { return s.now }

// Incomplete reports whether a file of the set could not be read to its
// end (or at all); Warn was told which and why.
func (s *Set) Incomplete() bool { return s.incomplete }

// Size is the bytes of the set's regular files; BytesRead how many of them
// have been read so far, for a progress bar.
func (s *Set) Size() int64 { return s.size }

// BytesRead: see Size.
func (s *Set) BytesRead() int64 {
	n := s.doneBytes
	for _, m := range s.open.Items {
		n += m.counted.n
	}
	return n
}

// MaxOpen is the most files that were open at once.
func (s *Set) MaxOpen() int { return s.maxOpen }

// Close closes the files still open.
func (s *Set) Close() error {
	var errs []error
	for _, m := range s.open.Items {
		errs = append(errs, m.r.Close(), m.f.Close())
	}
	s.open.Items = nil
	for i := range s.files {
		if m := s.files[i].kept; m != nil {
			errs = append(errs, m.r.Close(), m.f.Close())
			s.files[i].kept = nil
		}
	}
	s.pending = nil
	return errors.Join(errs...)
}

// SetFiles turns the names a user gives for one capture into its files. A
// file is itself. A directory stands for the capture files in it (not in
// its subdirectories), sorted by name: those whose first bytes are a pcap
// or pcapng magic, or a gzip stream holding one, so that tcpdump's
// rotations (trace.pcap, trace.pcap1, ... with -C; any strftime name with
// -G; .gz with -z gzip) are found whatever their names, and whatever else
// lies beside them is passed over. A name that does not exist and holds a
// glob pattern (*, ?, [) stands for the names it matches, sorted, as the
// shell would have expanded them (each a file or a directory as above);
// matching none is an error. A name that does not exist otherwise is left
// for OpenSet to report. A file named twice is read once.
func SetFiles(names []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(name string) {
		if clean := filepath.Clean(name); !seen[clean] {
			seen[clean] = true
			files = append(files, name)
		}
	}
	var expand func(name string, fromGlob bool) error
	expand = func(name string, fromGlob bool) error {
		fi, err := os.Stat(name)
		switch {
		case err == nil && fi.IsDir():
			entries, err := os.ReadDir(name)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			n := 0
			for _, e := range entries { // sorted by name
				path := filepath.Join(name, e.Name())
				if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
					continue
				}
				if isCaptureFile(path) {
					add(path)
					n++
				}
			}
			if n == 0 {
				return fmt.Errorf("%s: no capture files in the directory", name)
			}
		case err == nil || fromGlob || !strings.ContainsAny(name, "*?["):
			add(name)
		default:
			matches, err := filepath.Glob(name)
			if errors.Is(err, filepath.ErrBadPattern) {
				add(name) // no pattern after all: a name, which opening will find or not
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if len(matches) == 0 {
				return fmt.Errorf("%s: no files match", name)
			}
			for _, m := range matches {
				if err := expand(m, true); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range names {
		if err := expand(name, false); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// isCaptureFile reports whether the file at path starts as a capture:
// a pcap or pcapng magic, plain or gzip-compressed.
func isCaptureFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	var r io.Reader = f
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:2]); err != nil {
		return false
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return false
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			return false
		}
		defer gz.Close()
		if _, err := io.ReadFull(gz, magic[:]); err != nil {
			return false
		}
	} else if _, err := io.ReadFull(r, magic[2:]); err != nil {
		return false
	}
	return isPcapMagic(magic[:]) || isPcapngMagic(magic[:])
}
