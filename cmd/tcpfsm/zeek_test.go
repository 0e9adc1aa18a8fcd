package main

import (
	"bufio"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The Zeek conformance corpus: Zeek's own test traces with the conn.log rows
// Zeek's baselines expect (see its README.md), kept unchanged in
// testdata/zeek; TCPFSM_ZEEK_CORPUS points at another copy.
const defaultZeekCorpus = "../../testdata/zeek"

// The agreement bars, outside llc.pcap. They only go up: raise them when
// tcpfsm gets better. The issue asked for 98%, 98% and 95%; these are what
// was reached (272/272, 219/220, 263/269), and docs/zeek.md explains every
// remaining disagreement.
const (
	minFound        = 1.0   // Zeek rows matched by a tcpfsm connection
	minStateAgree   = 0.995 // conn_state equal, of matched rows that carry one
	minHistoryAgree = 0.977 // history equal, of matched rows that carry one
	minPktsAgree    = 0.99  // orig_pkts and resp_pkts both equal, of matched rows that carry them
	minOrientAgree  = 1.0   // the same endpoint is the originator
	maxExtra        = 0     // tcpfsm connections Zeek has no row for
)

// The corpus this test was written against: a smaller count means traces or
// rows went missing, and the agreement above would be measured on less.
const (
	corpusTraces = 123
	corpusRows   = 1605
	llcRows      = 1333 // llc.pcap's lone RSTs, held to full agreement apart
)

// zeekRow is one connection in Zeek's conn.log terms.
type zeekRow struct {
	ts                 float64
	orig, resp         netip.AddrPort
	state, history     string
	origPkts, respPkts string
	origBytes          string
}

// key is the direction-independent 5-tuple.
func (r zeekRow) key() string {
	a, b := r.orig.String(), r.resp.String()
	if a > b {
		a, b = b, a
	}
	return a + " " + b
}

func (r zeekRow) String() string {
	return fmt.Sprintf("%.6f %s → %s %s %s", r.ts, r.orig, r.resp, r.state, r.history)
}

// readZeekRows reads a TSV with a header line naming the columns; Zeek's
// own format (#fields) and the corpus's plain header both work.
func readZeekRows(t *testing.T, text string) []zeekRow {
	t.Helper()
	var cols map[string]int
	var rows []zeekRow
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#fields\t") || cols == nil && !strings.HasPrefix(line, "#") {
			cols = map[string]int{}
			for i, name := range strings.Split(strings.TrimPrefix(line, "#fields\t"), "\t") {
				cols[strings.TrimPrefix(name, "id.")] = i
			}
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(f) {
				return f[i]
			}
			return "-"
		}
		ts, err := strconv.ParseFloat(get("ts"), 64)
		if err != nil {
			t.Fatalf("bad ts in %q: %v", line, err)
		}
		endpoint := func(h, p string) netip.AddrPort {
			ap, err := netip.ParseAddrPort(hostPort(get(h), get(p)))
			if err != nil {
				t.Fatalf("bad endpoint in %q: %v", line, err)
			}
			return ap
		}
		rows = append(rows, zeekRow{
			ts: ts, orig: endpoint("orig_h", "orig_p"), resp: endpoint("resp_h", "resp_p"),
			state: get("conn_state"), history: get("history"),
			origPkts: get("orig_pkts"), respPkts: get("resp_pkts"), origBytes: get("orig_bytes"),
		})
	}
	return rows
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// agreement counts matches between Zeek's rows and ours.
type agreement struct {
	rows, found, ours        int
	stateRows, stateAgree    int
	historyRows, histAgree   int
	pktsRows, pktsAgree      int
	orientRows, orientAgree  int
	missed, extra, disagreed []string
}

func (a *agreement) add(b *agreement) {
	a.rows += b.rows
	a.found += b.found
	a.ours += b.ours
	a.stateRows += b.stateRows
	a.stateAgree += b.stateAgree
	a.historyRows += b.historyRows
	a.histAgree += b.histAgree
	a.pktsRows += b.pktsRows
	a.pktsAgree += b.pktsAgree
	a.extra = append(a.extra, b.extra...)
	a.orientRows += b.orientRows
	a.orientAgree += b.orientAgree
}

func pct(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

func (a *agreement) String() string {
	return fmt.Sprintf("rows %4d found %4d (%5.1f%%)  conn_state %4d/%-4d (%5.1f%%)  history %4d/%-4d (%5.1f%%)  packets %4d/%-4d (%5.1f%%)  orientation %5.1f%%  extra %d",
		a.rows, a.found, 100*pct(a.found, a.rows), a.stateAgree, a.stateRows, 100*pct(a.stateAgree, a.stateRows),
		a.histAgree, a.historyRows, 100*pct(a.histAgree, a.historyRows),
		a.pktsAgree, a.pktsRows, 100*pct(a.pktsAgree, a.pktsRows), 100*pct(a.orientAgree, a.orientRows), len(a.extra))
}

// compare matches rows by 5-tuple and a start time within 1 ms, as the
// corpus README prescribes, and counts what agrees.
func compare(want, got []zeekRow) *agreement {
	a := &agreement{rows: len(want), ours: len(got)}
	byKey := map[string][]int{}
	for i, g := range got {
		byKey[g.key()] = append(byKey[g.key()], i)
	}
	used := make([]bool, len(got))
	for _, w := range want {
		match := -1
		for _, i := range byKey[w.key()] {
			if !used[i] && math.Abs(got[i].ts-w.ts) <= 0.001 {
				match = i
				break
			}
		}
		if match < 0 {
			a.missed = append(a.missed, "missed "+w.String())
			continue
		}
		used[match] = true
		g := got[match]
		a.found++
		a.orientRows++
		if g.orig == w.orig {
			a.orientAgree++
		}
		var diffs []string
		if w.state != "-" {
			a.stateRows++
			if g.state == w.state {
				a.stateAgree++
			} else {
				diffs = append(diffs, "conn_state "+g.state+" want "+w.state)
			}
		}
		if w.history != "-" {
			a.historyRows++
			if g.history == w.history {
				a.histAgree++
			} else {
				diffs = append(diffs, "history "+g.history+" want "+w.history)
			}
		}
		if w.origPkts != "-" && w.respPkts != "-" {
			a.pktsRows++
			if g.origPkts == w.origPkts && g.respPkts == w.respPkts {
				a.pktsAgree++
			} else {
				diffs = append(diffs, "packets "+g.origPkts+"/"+g.respPkts+" want "+w.origPkts+"/"+w.respPkts)
			}
		}
		if g.orig != w.orig {
			diffs = append(diffs, "originator "+g.orig.String()+" want "+w.orig.String())
		}
		if len(diffs) > 0 {
			a.disagreed = append(a.disagreed, fmt.Sprintf("%.6f %s ↔ %s: %s", w.ts, w.orig, w.resp, strings.Join(diffs, "; ")))
		}
	}
	for i, g := range got {
		if !used[i] {
			a.extra = append(a.extra, "extra "+g.String())
		}
	}
	return a
}

// manifestEntry is one row of the corpus MANIFEST.tsv.
type manifestEntry struct {
	trace, notes string
}

func readManifest(t *testing.T, dir string) []manifestEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []manifestEntry
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 5 {
			continue
		}
		out = append(out, manifestEntry{trace: f[0], notes: f[4]})
	}
	return out
}

// bareModeTraces ran in Zeek with an empty likely_server_ports: bare mode
// (-b) with only base/protocols/conn loads no script that adds ports. It
// decides the orientation of a connection that starts with a SYN/ACK.
var bareModeTraces = map[string]string{
	"traces/tcp/handshake-reorder.pcap":        "core/connection_flipped.zeek: redef likely_server_ports = {}",
	"traces/chksums/localhost-bad-chksum.pcap": "core/checksums_ignore_nets.test: -b, @load base/protocols/conn only",
	"traces/tcp/one-sided-2745.pcap":           "core/conn-size-flip.zeek: -b, @load base/protocols/conn only",
	"traces/tcp/ctu-64702-888.pcap":            "core/conn-size-flip.zeek: -b, @load base/protocols/conn only",
	"traces/vntag_vlan_sandwich_clean.pcap":    "core/vntag-in-vlan.zeek: -b, @load base/protocols/conn only",
}

// zeekArgs returns the tcpfsm arguments that run a trace the way its Zeek
// test ran it: checksums validated unless the test passed -C, the test's
// BPF filter, and its likely_server_ports.
func zeekArgs(trace, path, notes string) []string {
	args := []string{"-r", path, "--format", "zeek"}
	if _, ok := bareModeTraces[trace]; ok {
		args = append(args, "--zeek-server-ports", "none")
	}
	if strings.Contains(notes, "checksums validated") {
		args = append(args, "--verify-checksums")
	}
	if i := strings.Index(notes, "BPF filter '"); i >= 0 {
		rest := notes[i+len("BPF filter '"):]
		args = append(args, strings.Fields(rest[:strings.IndexByte(rest, '\'')])...)
	}
	return args
}

// TestZeekConformance runs every trace of the corpus through tcpfsm
// --format zeek and compares with Zeek's rows. Run it with -v to see the
// agreement per trace and in total.
func TestZeekConformance(t *testing.T) {
	dir := os.Getenv("TCPFSM_ZEEK_CORPUS")
	if dir == "" {
		dir = defaultZeekCorpus
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Fatalf("Zeek conformance corpus not found at %s (set TCPFSM_ZEEK_CORPUS): %v", dir, err)
	}
	var total, llc agreement
	var lines []string
	manifest := readManifest(t, dir)
	for _, m := range manifest {
		path := filepath.Join(dir, m.trace)
		ext := filepath.Ext(path)
		wantText, err := os.ReadFile(strings.TrimSuffix(path, ext) + ".conn.tsv")
		if err != nil {
			t.Fatal(err)
		}
		r := tcpfsm(t, nil, zeekArgs(m.trace, path, m.notes)...)
		if r.code != exitOK {
			t.Errorf("%s: exit %d: %s", m.trace, r.code, r.stderr)
			continue
		}
		a := compare(readZeekRows(t, string(wantText)), readZeekRows(t, r.stdout))
		name := strings.TrimPrefix(m.trace, "traces/")
		lines = append(lines, fmt.Sprintf("%-55s %s", name, a))
		for _, d := range append(append(a.missed, a.disagreed...), a.extra...) {
			lines = append(lines, "    "+d)
		}
		if name == "llc.pcap" {
			llc.add(a)
		} else {
			total.add(a)
		}
	}
	t.Logf("Zeek conformance, per trace:\n%s", strings.Join(lines, "\n"))
	t.Logf("llc.pcap (lone RSTs, reported alone): %s", &llc)
	t.Logf("all other traces:                    %s", &total)
	if len(manifest) < corpusTraces || total.rows+llc.rows < corpusRows {
		t.Errorf("the corpus holds %d traces and %d rows, want at least %d and %d", len(manifest), total.rows+llc.rows, corpusTraces, corpusRows)
	}
	for _, bar := range []struct {
		what      string
		got, want float64
	}{
		{"rows found", pct(total.found, total.rows), minFound},
		{"conn_state agreement", pct(total.stateAgree, total.stateRows), minStateAgree},
		{"history agreement", pct(total.histAgree, total.historyRows), minHistoryAgree},
		{"packet count agreement", pct(total.pktsAgree, total.pktsRows), minPktsAgree},
		{"orientation agreement", pct(total.orientAgree, total.orientRows), minOrientAgree},
	} {
		if bar.got < bar.want {
			t.Errorf("%s %.1f%% is below the bar of %.1f%%", bar.what, 100*bar.got, 100*bar.want)
		}
	}
	if len(total.extra) > maxExtra {
		t.Errorf("%d connections Zeek has no row for, at most %d allowed", len(total.extra), maxExtra)
	}
	if llc.rows != llcRows || llc.found != llc.rows || llc.stateAgree != llc.stateRows ||
		llc.histAgree != llc.historyRows || llc.pktsAgree != llc.pktsRows || len(llc.extra) > 0 {
		t.Errorf("llc.pcap: %s, want all %d rows found and agreeing", &llc, llcRows)
	}
}
