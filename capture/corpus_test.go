package capture

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Zeek conformance corpus (see its README.md): traces with the TCP
// connections Zeek logged for them, kept unchanged in testdata/zeek.
const (
	zeekCorpusEnv     = "TCPFSM_ZEEK_CORPUS"
	zeekCorpusDefault = "../testdata/zeek"
)

// zeekCorpus returns the corpus directory.
func zeekCorpus(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(zeekCorpusEnv)
	if dir == "" {
		dir = zeekCorpusDefault
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Fatalf("Zeek conformance corpus not found at %s (set %s to its directory): %v", dir, zeekCorpusEnv, err)
	}
	return dir
}

// zeekTraces lists the corpus traces, as paths relative to traces/.
func zeekTraces(t *testing.T, dir string) []string {
	t.Helper()
	root := filepath.Join(dir, "traces")
	var traces []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".pcap" || ext == ".pcapng") {
			rel, err := filepath.Rel(root, path)
			traces = append(traces, rel)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) == 0 {
		t.Fatalf("no traces under %s", root)
	}
	return traces
}

// flowKey is a TCP 5-tuple with its two endpoints in a fixed order, so
// that both directions of a connection give the same key.
type flowKey struct{ a, b netip.AddrPort }

func newFlowKey(a, b netip.AddrPort) flowKey {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flowKey{a, b}
}

func (k flowKey) String() string { return k.a.String() + " <-> " + k.b.String() }

// zeekConns reads the distinct 5-tuples of a .conn.tsv file.
func zeekConns(t *testing.T, path string) []flowKey {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var keys []flowKey
	for line := 0; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if line == 0 {
			if len(fields) < 5 || fields[1] != "orig_h" || fields[4] != "resp_p" {
				t.Fatalf("%s: unexpected header %q", path, sc.Text())
			}
			continue
		}
		if len(fields) < 5 {
			t.Fatalf("%s:%d: %d fields, want at least 5", path, line+1, len(fields))
		}
		orig, err1 := parseAddrPort(fields[1], fields[2])
		resp, err2 := parseAddrPort(fields[3], fields[4])
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s:%d: %v", path, line+1, err)
		}
		if k := newFlowKey(orig, resp); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func parseAddrPort(host, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// corpusRead is what reading one corpus trace gave.
type corpusRead struct {
	flows map[flowKey]bool
	stats Stats
	warns []error
}

func readCorpusTrace(t *testing.T, path string, opt Options) corpusRead {
	t.Helper()
	res := corpusRead{flows: make(map[flowKey]bool)}
	opt.Warn = func(err error) { res.warns = append(res.warns, err) }
	r, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		res.flows[newFlowKey(netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))] = true
	}
	res.stats = r.Stats()
	checkStats(t, res.stats)
	return res
}

// TestZeekCorpusDecodes reads every corpus trace and checks that every
// TCP connection Zeek logged for it was decoded: the link types and
// encapsulations are all handled as Zeek handles them. Flows Zeek did not
// log are fine (smtp.pcap was run with a BPF filter).
func TestZeekCorpusDecodes(t *testing.T) {
	dir := zeekCorpus(t)
	traces := zeekTraces(t, dir)
	for _, trace := range traces {
		t.Run(trace, func(t *testing.T) {
			path := filepath.Join(dir, "traces", trace)
			want := zeekConns(t, strings.TrimSuffix(path, filepath.Ext(path))+".conn.tsv")
			got := readCorpusTrace(t, path, Options{})
			// Some traces do have timestamps going backwards (tshark shows
			// negative deltas); anything else is a decoding problem.
			for _, w := range got.warns {
				if errors.Is(w, ErrTimeWentBack) {
					t.Logf("warning (expected, in the trace): %v", w)
				} else {
					t.Errorf("unexpected warning: %v", w)
				}
			}
			var missed []string
			for _, k := range want {
				if !got.flows[k] {
					missed = append(missed, k.String())
				}
			}
			if len(missed) != 0 {
				t.Errorf("missed %d of the %d connections Zeek logged (stats %+v):\n\t%s",
					len(missed), len(want), got.stats, strings.Join(missed, "\n\t"))
			}
		})
	}
}

// manifestBadChecksums reads from MANIFEST.tsv the number of segments
// tshark flagged with a bad TCP checksum, which the corpus notes for the
// traces Zeek ran on with checksum validation. Keyed by path under traces/.
func manifestBadChecksums(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	flagged := regexp.MustCompile(`tshark flags (\d+) TCP packet`)
	counts := make(map[string]int)
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		fields := strings.Split(line, "\t")
		if len(fields) < 5 {
			t.Fatalf("MANIFEST.tsv:%d: %d fields, want 5", i+2, len(fields))
		}
		if m := flagged.FindStringSubmatch(fields[4]); m != nil {
			n, _ := strconv.Atoi(m[1])
			counts[strings.TrimPrefix(fields[0], "traces/")] = n
		}
	}
	return counts
}

// tsharkBadChecksums counts the frames in which tshark finds a TCP
// segment with a bad checksum. TCP headers quoted in ICMP errors are left
// out: they are not segments (and are cut short anyway).
func tsharkBadChecksums(t *testing.T, tshark, path string) int {
	t.Helper()
	// Segments behind a bad IPv4 header checksum never reach TCP: the
	// reader drops them first, as a host and Zeek do.
	cmd := exec.Command(tshark, "-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "tcp.checksum.status == 0 && !(ip.checksum.status == 0) && !icmp && !icmpv6", "-T", "fields", "-e", "frame.number")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, stderr.String())
	}
	return len(strings.Fields(string(out)))
}

// TestZeekCorpusBadChecksums counts, with Options.VerifyChecksums, the
// segments of every corpus trace whose TCP checksum is bad: those Zeek
// ignores apart from a C/c in the history when it validates checksums.
// The counts are compared with the MANIFEST's notes and with tshark (on
// every trace, or with -short only on those the MANIFEST notes; skipped
// without tshark).
func TestZeekCorpusBadChecksums(t *testing.T) {
	dir := zeekCorpus(t)
	noted := manifestBadChecksums(t, dir)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Logf("tshark not found, comparing with the MANIFEST only: %v", err)
	}
	// Where tshark's count is not what Zeek sees.
	disagreements := map[string]struct {
		want int
		why  string
	}{
		"pppoe-over-qinq.pcap": {0, "tshark cuts each IP packet to the PPPoE length field; in 6 ACKs that is 40 " +
			"of the 46 bytes the IPv4 total length states, and the TCP checksum is right for the 46. " +
			"Zeek ignores the PPPoE length: it counted all 86 packets (44+42), so it dropped none"},
		"smtp.pcap": {0, "the MANIFEST's 4 are TCP headers quoted in ICMP fragmentation-needed errors, not segments"},
		"auth_change_session_keys.pcap": {0, "the MANIFEST's 3 segments also have an IPv4 header checksum of 0, " +
			"so they are dropped before TCP looks at them, as Zeek does (no c in its history)"},
	}
	for _, trace := range zeekTraces(t, dir) {
		t.Run(trace, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, "traces", trace)
			got := int(readCorpusTrace(t, path, Options{VerifyChecksums: true}).stats.BadChecksum)
			known, isKnown := disagreements[trace]
			if isKnown && got != known.want {
				t.Errorf("%d bad checksums, want %d: %s", got, known.want, known.why)
			}
			if n, ok := noted[trace]; ok {
				switch {
				case isKnown:
					t.Logf("MANIFEST notes %d bad checksums, we count %d: %s", n, got, known.why)
				case got != n:
					t.Errorf("%d bad checksums, the MANIFEST notes %d", got, n)
				}
			}
			_, isNoted := noted[trace]
			if tshark == "" || testing.Short() && !isNoted && !isKnown {
				return
			}
			switch n := tsharkBadChecksums(t, tshark, path); {
			case isKnown:
				t.Logf("tshark counts %d bad checksums, we count %d: %s", n, got, known.why)
			case got != n:
				t.Errorf("%d bad checksums, tshark counts %d", got, n)
			case n != 0:
				t.Logf("%d bad checksums, as tshark counts", got)
			}
		})
	}
}
