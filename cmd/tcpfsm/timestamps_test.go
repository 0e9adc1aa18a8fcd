package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
)

// A connection whose packets after the SYN come in pcapng simple packet
// blocks, which have no timestamp: each is given the time of the packet
// before it, so the report stays in the capture's year with RTTs of 0,
// and a warning counts them. Their zero time read as the year 1754 with
// an RTT of 8.5e12 ms.
func TestSimplePacketBlocksHaveNoTime(t *testing.T) {
	le := binary.LittleEndian
	file := pcapngtest.SectionHeader(le)
	file = append(file, pcapngtest.Interface{Link: 1}.Block(le)...) // Ethernet, microseconds
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, f := range handshakeFrames(t) {
		if i == 0 || i == len(handshakeFrames(t))-1 {
			us := start.Add(time.Duration(i) * time.Millisecond).UnixMicro()
			file = append(file, pcapngtest.EnhancedPacket(le, 0, uint64(us), f, len(f))...)
			continue
		}
		file = append(file, pcapngtest.SimplePacket(le, f)...)
	}
	path := filepath.Join(t.TempDir(), "spb.pcapng")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("-r", path, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "spb.pcapng: packet 2: no timestamp (a pcapng simple packet block), nor in 4 more packets: each was given the time of the packet before it"; !strings.Contains(errOut, want) {
		t.Errorf("no %q in:\n%s", want, errOut)
	}
	var conn struct {
		TS  float64
		RTT struct{ Client, Server *float64 } `json:"handshake_rtt_ms"`
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"type":"conn"`) {
			if err := json.Unmarshal([]byte(line), &conn); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ts := time.Unix(int64(conn.TS), 0).UTC(); ts.Year() != 2024 {
		t.Errorf("the connection starts at %v, want in 2024", ts)
	}
	if conn.RTT.Client == nil || *conn.RTT.Client != 0 || conn.RTT.Server == nil || *conn.RTT.Server != 0 {
		t.Errorf("handshake RTTs %v and %v ms, want 0 and 0 (the SYN's time, given to the rest)", conn.RTT.Client, conn.RTT.Server)
	}
}
