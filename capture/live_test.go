package capture

// A live capture's Reader over a LiveHandle that replays frames, so that
// what NewLiveReader does with a handle (the order it checks things in,
// Save, the timeout, the counters) is tested without libpcap or root.
// capture/libpcap's tests capture on a real interface.

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// fakeHandle is a LiveHandle that delivers frames, then ErrTimeout, then
// readErr if set.
type fakeHandle struct {
	link      uint32
	frames    [][]byte
	ts        time.Time
	filterErr error // what SetFilter returns
	readErr   error // what ReadPacket returns once the frames are delivered and timedOut
	timedOut  bool
	filter    string
	stats     [][3]uint32 // what Stats returns, call after call (the last one thereafter)
	closed    int
}

func (h *fakeHandle) ReadPacket() ([]byte, time.Time, int, error) {
	if h.closed > 0 {
		return nil, time.Time{}, 0, io.EOF
	}
	if len(h.frames) == 0 {
		if !h.timedOut || h.readErr == nil {
			h.timedOut = true
			return nil, time.Time{}, 0, ErrTimeout
		}
		return nil, time.Time{}, 0, h.readErr
	}
	f := h.frames[0]
	h.frames = h.frames[1:]
	return f, h.ts, len(f), nil
}

func (h *fakeHandle) LinkType() uint32 { return h.link }
func (h *fakeHandle) SnapLen() int     { return 256 }
func (h *fakeHandle) SetFilter(expr string) error {
	h.filter = expr
	return h.filterErr
}

func (h *fakeHandle) Stats() (uint32, uint32, uint32, error) {
	if len(h.stats) == 0 {
		return 0, 0, 0, errors.New("no stats")
	}
	s := h.stats[0]
	if len(h.stats) > 1 {
		h.stats = h.stats[1:]
	}
	return s[0], s[1], s[2], nil
}

func (h *fakeHandle) Close() { h.closed++ }

// NewLiveReader checks the link type, then sets the filter, then starts
// Save, each failure closing the handle with nothing written; a Reader it
// returns delivers the frames, says ErrTimeout when there are none (and
// goes on), and ends on a read error.
func TestNewLiveReader(t *testing.T) {
	syn := ethernetIP(handshake("10.0.0.1", "10.0.0.2", 40000, 80)[0].ipBytes())
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	for _, tt := range []struct {
		name      string
		handle    fakeHandle
		filter    string
		wantErr   string
		wantIs    error
		wantSaved int // bytes written to Save
	}{
		{name: "packets, then a timeout, then a read error", handle: fakeHandle{link: 1, frames: [][]byte{syn, syn}, readErr: errors.New("Read Error: the device went away")},
			filter: "tcp", wantSaved: 24 + 2*(16+len(syn))},
		{name: "unsupported link type", handle: fakeHandle{link: 239},
			filter: "tcp", wantErr: "nflog: unsupported link type NFLOG (239) (supported: ", wantIs: ErrUnsupportedLinkType},
		{name: "a filter the kernel refuses", handle: fakeHandle{link: 1, filterErr: errors.New("syntax error")},
			filter: "tcp prot 80", wantErr: `nflog: invalid filter "tcp prot 80": syntax error`, wantIs: ErrFilter},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handle
			h.ts = ts
			var save bytes.Buffer
			r, err := NewLiveReader("nflog", &h, LiveOptions{Save: &save}, Options{Filter: tt.filter})
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, tt.wantIs) || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr {
					t.Fatalf("NewLiveReader: %v, want %q... (%v)", err, tt.wantErr, tt.wantIs)
				}
				if h.closed != 1 || save.Len() != 0 {
					t.Errorf("handle closed %d times, %d bytes saved; want it closed once and nothing saved", h.closed, save.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.filter != tt.filter {
				t.Errorf("filter set on the handle %q, want %q", h.filter, tt.filter)
			}
			var p Packet
			for i := range 2 {
				if err := r.Next(&p); err != nil {
					t.Fatalf("Next %d: %v", i+1, err)
				}
				if p.Index != uint64(i+1) || !p.Timestamp.Equal(ts) || p.Timestamp.Location() != time.UTC {
					t.Errorf("packet %d: index %d at %v, want %d at %v in UTC", i+1, p.Index, p.Timestamp, i+1, ts)
				}
			}
			if err := r.Next(&p); err != ErrTimeout {
				t.Fatalf("Next with nothing captured: %v, want ErrTimeout", err)
			}
			err = r.Next(&p)
			if want := "nflog: packet 3: Read Error: the device went away"; err == nil || err.Error() != want {
				t.Errorf("Next after a read error: %v, want %q", err, want)
			}
			if st := r.Stats(); st.Packets != 2 || st.TCP != 2 || st.Filtered != 0 {
				t.Errorf("Stats() = %+v, want 2 packets, both TCP, none filtered in user space", st)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if h.closed != 1 || save.Len() != tt.wantSaved {
				t.Errorf("after Close: handle closed %d times, %d bytes saved; want once and %d", h.closed, save.Len(), tt.wantSaved)
			}
		})
	}
}

// libpcap's 32-bit counters wrap; LiveStats goes on counting past 2^32.
func TestLiveStatsWrap(t *testing.T) {
	h := &fakeHandle{link: 1, stats: [][3]uint32{{4294967000, 10, 0}, {200, 20, 1}, {300, 20, 1}}}
	r, err := NewLiveReader("lo", h, LiveOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []LiveStats{
		{Received: 4294967000, Dropped: 10},
		{Received: 1<<32 + 200, Dropped: 20, IfDropped: 1},
	} {
		if got, ok := r.LiveStats(); !ok || got != want {
			t.Errorf("LiveStats() = %+v, %v; want %+v, true", got, ok, want)
		}
	}
	r.Close() // reads the counters a last time
	want := LiveStats{Received: 1<<32 + 300, Dropped: 20, IfDropped: 1}
	if got, ok := r.LiveStats(); !ok || got != want {
		t.Errorf("LiveStats() after Close = %+v, %v; want the counters as they were at Close, %+v", got, ok, want)
	}
}

// A file's Reader has no live parts: its clock is its packets'.
func TestFileReaderLiveParts(t *testing.T) {
	recs := recordsOf(ethernetIP, handshake("10.0.0.1", "10.0.0.2", 40000, 80))
	r, err := NewReader(bytes.NewReader(pcapBytes(leOrder, true, 1, recs...)), "x.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if now := r.Now(); !now.IsZero() {
		t.Errorf("Now() before the first packet = %v, want zero", now)
	}
	var p Packet
	for i := range 2 {
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
		if now := r.Now(); !now.Equal(recs[i].ts) {
			t.Errorf("Now() after packet %d = %v, want %v", i+1, now, recs[i].ts)
		}
	}
	if st, ok := r.LiveStats(); ok || st != (LiveStats{}) {
		t.Errorf("LiveStats() = %+v, %v for a file, want false", st, ok)
	}
	if err := r.Flush(); err != nil {
		t.Errorf("Flush() = %v for a file, want nil", err)
	}
}
