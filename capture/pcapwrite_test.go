package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

var leOrder = binary.LittleEndian

// writeRecords writes recs with the pcap writer, as a live capture would.
func writeRecords(t *testing.T, w io.Writer, link linkType, snaplen int, recs []rec) {
	t.Helper()
	pw, err := NewPcapWriter(w, uint32(link), snaplen)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := pw.WritePacket(r.ts, r.data, r.wireLen()); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// The writer writes what the hand-made builder does, byte for byte, and the
// reader reads it back: nanoseconds, lengths and link types beyond a uint8
// included.
func TestPcapWriter(t *testing.T) {
	segs := handshake("10.0.0.1", "192.0.2.7", 40000, 443)
	recs := recordsOf(ethernetIP, segs)
	for i := range recs {
		recs[i].ts = t0.Add(time.Duration(i) * 1234567) // nanoseconds that count
	}
	// A record cut by the snaplen: 30 of its 100 payload bytes kept.
	cut := recs[3]
	cut.origLen = len(cut.data)
	cut.data = cut.data[:len(cut.data)-70]
	recs[3] = cut

	var buf bytes.Buffer
	writeRecords(t, &buf, linkEthernet, 262144, recs)
	if want := pcapBytes(leOrder, true, 1, recs...); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("written file differs from the hand-built one:\n got % x\nwant % x", buf.Bytes(), want)
	}

	res := readAll(t, "w.pcap", buf.Bytes(), Options{})
	if res.err != nil || len(res.warns) != 0 {
		t.Fatalf("reading back: %v, warnings %v", res.err, res.warns)
	}
	want := wants(segs)
	for i := range want {
		want[i].Index = uint64(i + 1)
		want[i].Timestamp = recs[i].ts
	}
	want[3].Truncated, want[3].CapturedPayload = true, 30
	comparePackets(t, res.packets, want)

	// Linux cooked v2 (276) needs more than the uint8 gopacket's writer has.
	buf.Reset()
	sll2 := recordsOf(func(ip []byte) []byte { return linuxSLL2Frame(etherIPv4, ip) }, segs)
	writeRecords(t, &buf, linkLinuxSLL2, DefaultLiveSnaplen, sll2)
	if h := buf.Bytes(); leOrder.Uint32(h[16:]) != DefaultLiveSnaplen || leOrder.Uint32(h[20:]) != 276 {
		t.Errorf("header snaplen %d, link type %d; want %d, 276", leOrder.Uint32(h[16:]), leOrder.Uint32(h[20:]), DefaultLiveSnaplen)
	}
	res = readAll(t, "sll2.pcap", buf.Bytes(), Options{})
	if res.err != nil || len(res.packets) != len(segs) {
		t.Fatalf("reading back SLL2: %v, %d packets, want %d", res.err, len(res.packets), len(segs))
	}
}

// tcpdump reads the writer's files too, nanoseconds and all.
func TestPcapWriterTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		testenv.CannotRun(t, "no tcpdump")
	}
	recs := recordsOf(ethernetIP, handshake("10.0.0.1", "192.0.2.7", 40000, 443))
	path := filepath.Join(t.TempDir(), "w.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, f, linkEthernet, DefaultLiveSnaplen, recs)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tcpdump, "-nn", "--nano", "-tt", "-r", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, out)
	}
	var lines []string
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "reading from file") {
			lines = append(lines, line)
		}
	}
	if len(lines) != len(recs) {
		t.Fatalf("tcpdump read %d packets, want %d:\n%s", len(lines), len(recs), out)
	}
	first := recs[0].ts
	prefix := fmt.Sprintf("%d.%09d IP 10.0.0.1.40000 > 192.0.2.7.443: Flags [S]", first.Unix(), first.Nanosecond())
	if !strings.HasPrefix(lines[0], prefix) {
		t.Errorf("tcpdump's first line:\n%s\nwant it to start %q", lines[0], prefix)
	}
}

// A writer that cannot write fails at once, at the file header.
func TestPcapWriterError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "closed.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := NewPcapWriter(f, uint32(linkEthernet), DefaultLiveSnaplen); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("NewPcapWriter on a closed file: %v, want the write error", err)
	}
}

// Writing a record allocates nothing.
func TestPcapWriterAllocatesNothing(t *testing.T) {
	pw, err := NewPcapWriter(io.Discard, uint32(linkEthernet), DefaultLiveSnaplen)
	if err != nil {
		t.Fatal(err)
	}
	r := recordsOf(ethernetIP, handshake("10.0.0.1", "192.0.2.7", 40000, 443))[3]
	if allocs := testing.AllocsPerRun(1000, func() { pw.WritePacket(r.ts, r.data, len(r.data)) }); allocs != 0 {
		t.Errorf("write allocates %.2f times per record, want 0", allocs)
	}
}
