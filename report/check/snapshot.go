package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The snapshot file is one JSON document, indented by two spaces, with
// the keys of every record sorted:
//
//	{
//	  "capture": "x.pcap",
//	  "flags": ["--at=2s"],       (omitted for the default flags)
//	  "connections": [ {...}, ... ],
//	  "summary": {...}
//	}
//
// A flood's snapshot holds a million connections: it is written and read
// one connection at a time, never held whole. The bytes are those
// encoding/json writes for the whole document (TestSnapshotWriterBytes).

// A SnapshotWriter writes a snapshot as the analysis is read: the capture
// and flags first, then each connection, then the summary.
type SnapshotWriter struct {
	w     *bufio.Writer
	conns int
	err   error
	buf   bytes.Buffer // one record, compact
	enc   *json.Encoder
	out   bytes.Buffer // and indented
}

// NewSnapshotWriter starts the snapshot of capture, analysed with flags
// (as --name=value, sorted; none for the defaults), on w.
func NewSnapshotWriter(w io.Writer, capture string, flags []string) *SnapshotWriter {
	s := &SnapshotWriter{w: bufio.NewWriterSize(w, 64<<10)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	s.write("{\n  \"capture\": ")
	s.value(capture, "  ")
	if len(flags) > 0 {
		s.write(",\n  \"flags\": ")
		s.value(flags, "  ")
	}
	s.write(",\n  \"connections\": [")
	return s
}

// Conn adds the next connection. An error writing is kept, and returned
// by this and every later call.
func (s *SnapshotWriter) Conn(c map[string]any) error {
	if s.conns == 0 {
		s.write("\n    ")
	} else {
		s.write(",\n    ")
	}
	s.value(c, "    ")
	s.conns++
	return s.err
}

// Conns is how many connections were written.
func (s *SnapshotWriter) Conns() int { return s.conns }

// Finish writes the summary and the end of the document.
func (s *SnapshotWriter) Finish(summary map[string]any) error {
	if s.conns > 0 {
		s.write("\n  ")
	}
	s.write("],\n  \"summary\": ")
	s.value(summary, "  ")
	s.write("\n}\n")
	if s.err == nil {
		s.err = s.w.Flush()
	}
	return s.err
}

func (s *SnapshotWriter) write(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// value writes v as encoding/json's Encoder with SetIndent("", "  ")
// writes it at the depth prefix is the indentation of.
func (s *SnapshotWriter) value(v any, prefix string) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	s.out.Reset()
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	if s.err = json.Indent(&s.out, bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")), prefix, "  "); s.err != nil {
		return
	}
	_, s.err = s.w.Write(s.out.Bytes())
}

// A SnapshotReader reads a snapshot one connection at a time. The capture
// and flags are set once read (before the connections, in a snapshot
// tcpfsm wrote), and the summary once Next has returned io.EOF.
type SnapshotReader struct {
	Capture string
	Flags   []string
	Summary map[string]any

	d       *json.Decoder
	inConns bool // between the connections' [ and ]
	done    bool // past the document's }
	seen    map[string]bool
}

// NewSnapshotReader starts reading a snapshot: it reads up to its first
// connection.
func NewSnapshotReader(r io.Reader) (*SnapshotReader, error) {
	s := &SnapshotReader{d: json.NewDecoder(bufio.NewReaderSize(r, 64<<10)), seen: map[string]bool{}}
	s.d.UseNumber()
	tok, err := s.d.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("not a tcpfsm snapshot: %v", err) // an empty file
	}
	if err != nil {
		return nil, notSnapshot(err)
	}
	if tok != json.Delim('{') {
		return nil, notSnapshot(errors.New("not a JSON object"))
	}
	if err := s.advance(); err != nil {
		return nil, err
	}
	return s, nil
}

// Next returns the next connection, or io.EOF after the last one, when
// the rest of the document has been read and checked.
func (s *SnapshotReader) Next() (map[string]any, error) {
	var c map[string]any
	ok, err := s.next(&c)
	if err != nil || !ok {
		return nil, err
	}
	return c, nil
}

// Skip reads the next connection without decoding it into a record
// (checking the file is faster so); false after the last one.
func (s *SnapshotReader) Skip() (bool, error) {
	var raw json.RawMessage
	ok, err := s.next(&raw)
	if ok {
		// What a record is decoded into: an object, or null.
		if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || (t[0] != '{' && !bytes.HasPrefix(t, []byte("null"))) {
			return false, notSnapshot(fmt.Errorf("a connection is not a JSON object: %.20s", t))
		}
	}
	return ok, err
}

func (s *SnapshotReader) next(into any) (bool, error) {
	for !s.done {
		if s.inConns && s.d.More() {
			if err := s.d.Decode(into); err != nil {
				return false, notSnapshot(err)
			}
			return true, nil
		}
		if s.inConns {
			if _, err := s.d.Token(); err != nil { // the ]
				return false, notSnapshot(err)
			}
			s.inConns = false
		}
		if err := s.advance(); err != nil {
			return false, err
		}
	}
	return false, io.EOF
}

// advance reads the document's members up to the connections' [ or the
// document's end. Names match as encoding/json matches them to a
// struct's fields, whatever their case; members of other names are
// skipped.
func (s *SnapshotReader) advance() error {
	for {
		tok, err := s.d.Token()
		if err != nil {
			return notSnapshot(err)
		}
		if tok == json.Delim('}') {
			s.done = true
			if s.Summary == nil {
				return notSnapshot(errors.New("no summary"))
			}
			return nil
		}
		key, _ := tok.(string)
		lower := strings.ToLower(key)
		switch lower {
		case "capture", "flags", "connections", "summary":
			if s.seen[lower] {
				return notSnapshot(fmt.Errorf("%q twice", key))
			}
			s.seen[lower] = true
		}
		switch lower {
		case "capture":
			err = s.d.Decode(&s.Capture)
		case "flags":
			err = s.d.Decode(&s.Flags)
		case "summary":
			err = s.d.Decode(&s.Summary)
		case "connections":
			tok, err := s.d.Token()
			switch {
			case err != nil:
				return notSnapshot(err)
			case tok == json.Delim('['):
				s.inConns = true
				return nil
			case tok != nil: // null: none
				return notSnapshot(fmt.Errorf("the connections are not a list: %v", tok))
			}
		default:
			var skip json.RawMessage
			err = s.d.Decode(&skip)
		}
		if err != nil {
			return notSnapshot(err)
		}
	}
}

func notSnapshot(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the document was begun
	}
	return fmt.Errorf("not a tcpfsm snapshot: %v", err)
}
