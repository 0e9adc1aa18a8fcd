package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/capture/testenv"
	"github.com/tcpfsm/tcpfsm/flow"
)

// small is a capture with every kind of connection, a flood and IPv6: a few
// thousand connections, generated in well under a second.
var small = []string{"-conns", "4000", "-concurrent", "300", "-synflood", "700", "-ipv6", "0.3", "-data-retransmit", "0.2"}

// gen runs tcpgen with args plus -o and -manifest in a temporary
// directory, and returns the capture's path and the manifest.
func genCapture(t testing.TB, args ...string) (string, *manifest) {
	t.Helper()
	dir := t.TempDir()
	out, man := filepath.Join(dir, "gen.pcap"), filepath.Join(dir, "gen.json")
	var stderr bytes.Buffer
	args = append(args, "-o", out, "-manifest", man)
	if code := run(args, io.Discard, &stderr); code != 0 {
		t.Fatalf("tcpgen %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "tcpgen: ") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr is not one summary line: %q", stderr.String())
	}
	b, err := os.ReadFile(man)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return out, &m
}

func fileHash(t testing.TB, name string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// The same flags and seed give the same bytes, to a file or to standard
// output; another seed gives others.
func TestDeterministic(t *testing.T) {
	a, ma := genCapture(t, small...)
	b, _ := genCapture(t, small...)
	if fileHash(t, a) != fileHash(t, b) {
		t.Fatal("two runs with the same flags and seed wrote different files")
	}
	var stdout bytes.Buffer
	if code := run(append([]string{"-o", "-", "-q"}, small...), &stdout, io.Discard); code != 0 {
		t.Fatalf("-o -: exit %d", code)
	}
	if sha256.Sum256(stdout.Bytes()) != fileHash(t, a) {
		t.Error("-o - wrote other bytes than -o FILE")
	}
	c, mc := genCapture(t, append([]string{"-seed", "2"}, small...)...)
	if fileHash(t, a) == fileHash(t, c) {
		t.Error("seeds 1 and 2 wrote the same file")
	}
	if ma.Connections != 4000 || mc.Connections != 4000 || ma.FloodSYNs != 700 {
		t.Errorf("connections %d and %d, flood %d; want 4000, 4000, 700", ma.Connections, mc.Connections, ma.FloodSYNs)
	}
	for _, k := range kindNames {
		if ma.Kinds[k] == 0 {
			t.Errorf("no %s connection in the sample: the tests below would not cover it", k)
		}
	}
}

// readBack reads a capture with tcpfsm's reader, verifying checksums, and
// feeds every packet to a connection table with tcpfsm's defaults.
func readBack(t *testing.T, name string) (capture.Stats, []flow.Record) {
	t.Helper()
	var warns []error
	r, err := capture.Open(name, capture.Options{VerifyChecksums: true, Warn: func(err error) { warns = append(warns, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []flow.Record
	table := flow.New(flow.Config{Done: func(rec *flow.Record) { recs = append(recs, *rec) }})
	var p capture.Packet
	var last int64
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		if ts := p.Timestamp.UnixNano(); ts < last {
			t.Fatalf("packet %d: time goes back", p.Index)
		} else {
			last = ts
		}
		if p.BadChecksum {
			t.Fatalf("packet %d: bad TCP checksum: %v", p.Index, &p)
		}
		table.Add(&p)
	}
	table.Flush()
	if len(warns) > 0 {
		t.Errorf("%d warnings reading back, the first: %v", len(warns), warns[0])
	}
	return r.Stats(), recs
}

// What tcpfsm's analysis reports for a generated capture is what the
// generator says it made: the reader finds no malformed packet and no bad
// checksum, and the handshake and close outcomes match the manifest
// exactly, connection kinds and flood included.
func TestAnalysisMatchesManifest(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"whole", small},
		{"snaplen96", append([]string{"-snaplen", "96", "-seed", "3"}, small...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, m := genCapture(t, tc.args...)
			st, recs := readBack(t, name)
			if st.Packets != m.Packets || st.TCP != m.Packets {
				t.Errorf("read %d packets, %d TCP; the manifest says %d", st.Packets, st.TCP, m.Packets)
			}
			if st.Malformed+st.BadChecksum+st.BadIPChecksum+st.NonTCP+st.TimeWentBack != 0 {
				t.Errorf("malformed %d, bad checksums %d, bad IP checksums %d, not TCP %d, time went back %d; want all 0",
					st.Malformed, st.BadChecksum, st.BadIPChecksum, st.NonTCP, st.TimeWentBack)
			}
			if tc.name == "snaplen96" && st.Truncated == 0 {
				t.Error("-snaplen 96 cut no packet")
			}
			handshakes, closes := map[string]uint64{}, map[string]uint64{}
			var synRetx, synAckRetx, dataRetx, v6 uint64
			for i := range recs {
				r := &recs[i]
				handshakes[r.Handshake]++
				closes[r.Close]++
				synRetx += uint64(r.SynRetransmits)
				synAckRetx += uint64(r.SynAckRetransmits)
				dataRetx += uint64(r.Client.Retransmits + r.Server.Retransmits)
				if r.ClientAddr.Addr().Is6() {
					v6++
				}
				// Nothing goes idle or is evicted: a connection leaves
				// closed, or at the end.
				if r.Reason != flow.ReasonEnd && r.Reason != flow.ReasonClosed {
					t.Errorf("#%d left the table %s, not closed or at the end", r.ID, r.Reason)
				}
			}
			if uint64(len(recs)) != m.TCPConversations {
				t.Errorf("%d connections, want %d", len(recs), m.TCPConversations)
			}
			if !maps.Equal(handshakes, m.Handshakes) {
				t.Errorf("handshakes %v, want %v", handshakes, m.Handshakes)
			}
			if !maps.Equal(closes, m.Closes) {
				t.Errorf("closes %v, want %v", closes, m.Closes)
			}
			if synRetx != m.SYNRetransmits || synAckRetx != m.SynAckRetransmits {
				t.Errorf("SYN retransmissions %d, SYN/ACK %d; want %d, %d", synRetx, synAckRetx, m.SYNRetransmits, m.SynAckRetransmits)
			}
			if dataRetx != m.DataRetransmits {
				t.Errorf("%d data retransmissions, want %d", dataRetx, m.DataRetransmits)
			}
			if v6 != m.IPv6Connections {
				t.Errorf("%d IPv6 connections, want %d", v6, m.IPv6Connections)
			}
		})
	}
}

// The tcpfsm command's own summary agrees with the manifest.
func TestTcpfsmSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tcpfsm")
	}
	bin := filepath.Join(t.TempDir(), "tcpfsm")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tcpfsm")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tcpfsm: %v\n%s", err, out)
	}
	name, m := genCapture(t, append([]string{"-seed", "4"}, small...)...)
	out, err := exec.Command(bin, "-r", name, "--format", "json", "--verify-checksums").Output()
	if err != nil {
		t.Fatalf("tcpfsm: %v", err)
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var sum struct {
		Type        string            `json:"type"`
		Packets     uint64            `json:"packets"`
		Malformed   uint64            `json:"malformed"`
		BadChecksum uint64            `json:"bad_checksums"`
		Connections uint64            `json:"connections"`
		Evicted     uint64            `json:"evicted"`
		Handshakes  map[string]uint64 `json:"handshakes"`
		Closes      map[string]uint64 `json:"closes"`
	}
	if err := json.Unmarshal(lines[len(lines)-1], &sum); err != nil || sum.Type != "summary" {
		t.Fatalf("last line is not the summary (%v): %s", err, lines[len(lines)-1])
	}
	if sum.Packets != m.Packets || sum.Connections != m.TCPConversations || sum.Malformed+sum.BadChecksum+sum.Evicted != 0 {
		t.Errorf("summary: %d packets, %d connections, %d malformed, %d bad checksums, %d evicted; want %d, %d, 0, 0, 0",
			sum.Packets, sum.Connections, sum.Malformed, sum.BadChecksum, sum.Evicted, m.Packets, m.TCPConversations)
	}
	if !maps.Equal(sum.Handshakes, m.Handshakes) || !maps.Equal(sum.Closes, m.Closes) {
		t.Errorf("summary handshakes %v closes %v; manifest %v %v", sum.Handshakes, sum.Closes, m.Handshakes, m.Closes)
	}
}

// tshark counts as many TCP conversations as the generator made.
func TestTsharkConversations(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		testenv.CannotRun(t, "tshark is not installed")
	}
	if testing.Short() {
		t.Skip("runs tshark")
	}
	name, m := genCapture(t, "-conns", "1500", "-concurrent", "200", "-synflood", "300", "-seed", "5")
	cmd := exec.Command(tshark, "-n", "-r", name, "-q", "-z", "conv,tcp")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no personal preferences
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var convs uint64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "<->") {
			convs++
		}
	}
	if convs != m.TCPConversations {
		t.Errorf("tshark lists %d TCP conversations, the generator made %d", convs, m.TCPConversations)
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-o", "x", "-seed", "7", "--conns=12", "-mix", "refused=1,unanswered=3", "-start", "1700000000.5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.seed != 7 || cfg.conns != 12 || cfg.mix[kindRefused] != 1 || cfg.mix[kindUnanswered] != 3 || cfg.mix[kindNormal] != 0 ||
		cfg.start.UnixNano() != 1_700_000_000_500_000_000 {
		t.Errorf("parsed %+v", cfg)
	}
	for _, bad := range [][]string{
		{},                                 // no -o
		{"-o", "x", "-mix", "bogus=1"},     // unknown kind
		{"-o", "x", "-mix", "normal=0"},    // nothing to generate
		{"-o", "x", "-concurrent", "0"},    // no window
		{"-o", "x", "-ipv6", "2"},          // not a fraction
		{"-o", "x", "-snaplen", "10"},      // shorter than Ethernet
		{"-o", "x", "-start", "yesterday"}, // not a time
		{"-o", "x", "stray"},               // an argument
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, io.Discard, &stderr); code != 0 || !strings.Contains(stderr.String(), "Examples:") {
		t.Errorf("-h: exit %d, usage %q", code, stderr.String())
	}
}

// Only the flood, and a mix of one kind: the corner cases of the scheduler.
func TestCorners(t *testing.T) {
	_, m := genCapture(t, "-conns", "0", "-synflood", "1000")
	if m.Packets != 1000 || m.FloodSYNs != 1000 || m.Handshakes["unanswered"] != 1000 {
		t.Errorf("flood only: %+v", m)
	}
	_, m = genCapture(t, "-conns", "50", "-concurrent", "5000", "-mix", "refused=1")
	if m.Kinds["refused"] != 50 || m.Packets != 100 {
		t.Errorf("refused only: %+v", m)
	}
	_, m = genCapture(t, "-conns", "0")
	if m.Packets != 0 {
		t.Errorf("nothing: %+v", m)
	}
}

// Writing a packet allocates nothing once warmed up.
func TestNoAllocPerPacket(t *testing.T) {
	cfg, err := parseFlags(append([]string{"-o", "-"}, small...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1, func() {
		if _, err := generate(cfg, io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	_, m := genCapture(t, small...)
	// Setup allocates (slots, port tables, the manifest); per packet, nothing.
	if perPacket := allocs / float64(m.Packets); perPacket > 0.01 {
		t.Errorf("%.0f allocations for %d packets", allocs, m.Packets)
	}
}

// A response's head announces exactly the body bytes that follow it.
func TestContentLength(t *testing.T) {
	for total := minHTTPResponse; total <= 6*maxPayload; total++ {
		cl, pad := contentLength(total)
		if httpHeadLen(cl, pad)+cl != total {
			t.Fatalf("total %d: Content-Length %d with a %d-byte head", total, cl, httpHeadLen(cl, pad))
		}
	}
}
