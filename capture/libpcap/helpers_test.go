package libpcap

import (
	"io"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture"
)

// The classic pcap file header Save writes: its length, and the magic
// number of its nanosecond timestamps.
const (
	pcapFileHeaderLen = 24
	pcapMagicNanos    = 0xa1b23c4d
)

// readBack reads the capture file at path to its end and returns its
// Reader (closed when the test ends), for the counts and the clock, and
// its packets.
func readBack(t *testing.T, path string) (*capture.Reader, []capture.Packet) {
	t.Helper()
	r, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var pkts []capture.Packet
	for {
		var p capture.Packet
		switch err := r.Next(&p); err {
		case nil:
			pkts = append(pkts, p)
		case io.EOF:
			return r, pkts
		default:
			t.Fatalf("reading %s back: %v", path, err)
		}
	}
}

// checkStats checks that s's categories add up as capture.Stats says.
func checkStats(t testing.TB, s capture.Stats) {
	t.Helper()
	if sum := s.Filtered + s.TCP + s.NonTCP + s.Fragments + s.Malformed + s.BadIPChecksum; sum != s.Packets {
		t.Errorf("stats %+v: categories add up to %d, not Packets", s, sum)
	}
	if s.Truncated > s.TCP || s.TimeWentBack > s.TCP {
		t.Errorf("stats %+v: Truncated and TimeWentBack must count TCP packets", s)
	}
}

func packetList(pkts []capture.Packet) string {
	var b strings.Builder
	for i := range pkts {
		b.WriteString(pkts[i].String())
		b.WriteByte('\n')
	}
	return b.String()
}
