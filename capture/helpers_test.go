package capture

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// result is everything a test looks at after reading a whole capture.
type result struct {
	packets []Packet
	warns   []string
	stats   Stats
	err     error // from Next; nil at a clean end
}

// readAll reads a capture held in memory to its end.
func readAll(t testing.TB, name string, data []byte, opt Options) result {
	t.Helper()
	return readFrom(t, name, bytes.NewReader(data), opt)
}

func readFrom(t testing.TB, name string, in io.Reader, opt Options) result {
	t.Helper()
	var res result
	opt.Warn = func(err error) {
		var pe *PacketError
		if !errors.As(err, &pe) {
			t.Errorf("Warn got a %T, want a *PacketError: %v", err, err)
		}
		res.warns = append(res.warns, err.Error())
	}
	r, err := NewReader(in, name, opt)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	res.err, res.packets = drain(r)
	res.stats = r.Stats()
	checkStats(t, res.stats)
	return res
}

// drain calls Next until it fails; a clean end gives a nil error.
func drain(r *Reader) (error, []Packet) {
	var pkts []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return nil, pkts
		}
		if err != nil {
			return err, pkts
		}
		pkts = append(pkts, p)
	}
}

// checkStats checks the invariant documented on Stats.
func checkStats(t testing.TB, s Stats) {
	t.Helper()
	if sum := s.Filtered + s.TCP + s.NonTCP + s.Fragments + s.Malformed + s.BadIPChecksum; sum != s.Packets {
		t.Errorf("stats %+v: categories add up to %d, not Packets", s, sum)
	}
	if s.Truncated > s.TCP || s.TimeWentBack > s.TCP {
		t.Errorf("stats %+v: Truncated and TimeWentBack must count TCP packets", s)
	}
}

// comparePackets checks got against want, ignoring Index and Timestamp
// when want leaves them zero.
func comparePackets(t testing.TB, got []Packet, want []Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets, want %d:\n%s", len(got), len(want), packetList(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if w.Index == 0 {
			g.Index = 0
		}
		if w.Timestamp.IsZero() {
			g.Timestamp = w.Timestamp
		}
		if g != w {
			t.Errorf("packet %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func packetList(pkts []Packet) string {
	var b strings.Builder
	for i := range pkts {
		b.WriteString(pkts[i].String())
		b.WriteByte('\n')
	}
	return b.String()
}

func wants(segs []seg) []Packet {
	out := make([]Packet, len(segs))
	for i, s := range segs {
		out[i] = s.want()
	}
	return out
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
