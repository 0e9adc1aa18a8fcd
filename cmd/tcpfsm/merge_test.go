package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/internal/golden"
)

// shardReports runs count shards of capture with --format json and the
// extra flags, and returns the reports' paths.
func shardReports(t *testing.T, capture string, count int, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := range count {
		args := append([]string{"-r", capture, "--shard", fmt.Sprintf("%d/%d", i, count), "--format", "json"}, extra...)
		r := tcpfsm(t, nil, args...)
		if r.code != exitOK {
			t.Fatalf("%s shard %d/%d: exit %d: %s", capture, i, count, r.code, r.stderr)
		}
		path := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// TestMergeIsOneRun: the shards' reports, merged, are the report of one
// run over the whole capture, byte for byte in text and in JSON: the same
// connections with the same ids in the same order, the same census,
// diagnoses (example ids included), listeners and counts, for 1 to 4
// shards, on every kernel capture and on a generated capture with a SYN
// flood past the diagnoses' bounds on sources.
func TestMergeIsOneRun(t *testing.T) {
	captures := append(kernelCaptures(t),
		tcpgenCapture(t, "-seed", "2", "-conns", "400", "-concurrent", "60", "-synflood", "6000", "-data-retransmit", "0.2"))
	sawDiagnoses := 0
	for _, capture := range captures {
		name := filepath.Base(capture)
		want := map[string]string{}
		for _, format := range []string{"text", "json"} {
			r := tcpfsm(t, nil, "-r", capture, "--format", format, "--color", "never")
			if r.code != exitOK {
				t.Fatalf("%s: exit %d: %s", name, r.code, r.stderr)
			}
			want[format] = r.stdout
		}
		if strings.Contains(want["json"], `"diagnoses":[{`) {
			sawDiagnoses++
		}
		for n := 1; n <= 4; n++ {
			reports := shardReports(t, capture, n)
			for _, format := range []string{"text", "json"} {
				r := tcpfsm(t, nil, append([]string{"merge", "--format", format, "--color", "never"}, reports...)...)
				if r.code != exitOK {
					t.Fatalf("%s, %d shards: merge: exit %d: %s", name, n, r.code, r.stderr)
				}
				if r.stdout != want[format] {
					t.Errorf("%s, %d shards, %s: the merge differs from one run:\n%s", name, n, format, golden.Diff(want[format], r.stdout))
				}
			}
		}
	}
	if sawDiagnoses < 5 {
		t.Errorf("only %d captures raised a diagnosis: the test shows little", sawDiagnoses)
	}
}

// TestMergeOfProcesses: 4 shards run as 4 processes at once, as on 4
// machines, merge into the report of one process over the whole capture.
func TestMergeOfProcesses(t *testing.T) {
	bin := tcpfsmBinary(t)
	capture := tcpgenCapture(t, "-seed", "5", "-conns", "300", "-concurrent", "40", "-synflood", "2000")
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var reports []string
	for i := range 4 {
		path := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command(bin, "-r", capture, "--shard", fmt.Sprintf("%d/4", i), "--format", "json")
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, reports = append(cmds, cmd), append(reports, path)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shard %d/4: %v", i, err)
		}
	}
	merged, err := exec.Command(bin, append([]string{"merge", "--format", "json"}, reports...)...).Output()
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	one, err := exec.Command(bin, "-r", capture, "--format", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(merged) != string(one) {
		t.Errorf("the merge of 4 processes differs from one:\n%s", golden.Diff(string(one), string(merged)))
	}
}

// TestMergeRefuses: reports that do not make one run are usage errors
// naming the file and what is wrong.
func TestMergeRefuses(t *testing.T) {
	capture := filepath.Join(kernelDir, "connection-refused.pcap")
	other := filepath.Join(kernelDir, "close-wait.pcap")
	three := shardReports(t, capture, 3)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := write("plain.jsonl", tcpfsm(t, nil, "-r", capture, "--format", "json").stdout)
	whole, _ := os.ReadFile(three[0])
	cut := write("cut.jsonl", string(whole[:len(whole)/2]))
	otherShard := shardReports(t, other, 3)[1]
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no reports", nil, "no reports to merge"},
		{"a shard missing", three[:2], "shard 2/3 of"},
		{"a shard twice", []string{three[0], three[1], three[2], three[1]}, "are both shard 1/3"},
		{"without --shard", []string{plain}, `has no "merge" key`},
		{"cut short", []string{cut}, "cut.jsonl"},
		{"not JSON", []string{write("text.txt", "tcpfsm report\n")}, "line 1: not a line of tcpfsm's JSON report"},
		{"another capture's shard", []string{three[0], otherShard, three[2]}, "missing"},
		{"unknown format", append([]string{"--format", "zeek"}, three...), `unknown --format "zeek"`},
		{"no such file", []string{filepath.Join(dir, "nothing.jsonl")}, "nothing.jsonl"},
	} {
		r := tcpfsm(t, nil, append([]string{"merge"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// TestKubernetesManifest: the Indexed Job of docs/scale.md runs as many
// pods as it has shards, each with its index as its shard.
func TestKubernetesManifest(t *testing.T) {
	b, err := os.ReadFile("../../docs/k8s/tcpfsm-shards.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^\s+` + name + `: (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("the manifest has no %s", name)
		}
		return m[1]
	}
	if mode := field("completionMode"); mode != "Indexed" {
		t.Errorf("completionMode %s, want Indexed", mode)
	}
	shard := regexp.MustCompile(`--shard "\$JOB_COMPLETION_INDEX/(\d+)"`).FindStringSubmatch(text)
	if shard == nil {
		t.Fatal(`no --shard "$JOB_COMPLETION_INDEX/N" in the manifest`)
	}
	if c, p := field("completions"), field("parallelism"); c != shard[1] || p != shard[1] {
		t.Errorf("completions %s and parallelism %s, but --shard .../%s", c, p, shard[1])
	}
	if _, err := flow.ParseShard("0/" + shard[1]); err != nil {
		t.Error(err)
	}
}

// TestMergeHTML: the HTML report of a merge is the same however many
// shards the capture was split into, diagnoses included, and is one run's
// HTML report but for the ladders, which a merge cannot draw (a report
// holds no packets): on every kernel capture.
func TestMergeHTML(t *testing.T) {
	for _, capture := range kernelCaptures(t) {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "report.html")
			if r := tcpfsm(t, nil, "-r", capture, "--html", page); r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			want := withoutLadders(t, readFile(t, page))
			shards := []int{2}
			if filepath.Base(capture) == "accept-overflow-noabort.pcap" {
				shards = []int{1, 3}
				if !strings.Contains(want, "accept_queue_overflow") {
					t.Error("the HTML report does not name the accept_queue_overflow diagnosed")
				}
			}
			for _, n := range shards {
				r := tcpfsm(t, nil, append([]string{"merge", "--html", page}, shardReports(t, capture, n)...)...)
				if r.code != exitOK {
					t.Fatalf("%d shards: exit %d: %s", n, r.code, r.stderr)
				}
				got := readFile(t, page)
				if !strings.Contains(got, `{"flags":null,"notes":null,`) {
					t.Errorf("%d shards: the merged HTML report has ladders", n)
				}
				if got = withoutLadders(t, got); got != want {
					t.Errorf("%d shards: the merged HTML report differs from one run's without its ladders:\n%s", n, golden.Diff(want, got))
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// htmlData finds the HTML report's data: its tables and its rows.
var htmlData = regexp.MustCompile(`(?s)<script id="data" type="application/json">(.*?)</script>`)

// withoutLadders is an HTML report with its ladders taken out: the tables
// they are drawn from (flags, notes, states) and each row's ladder (its
// last column), as a report without packets writes them.
func withoutLadders(t *testing.T, page string) string {
	t.Helper()
	m := htmlData.FindStringSubmatchIndex(page)
	if m == nil {
		t.Fatal("the HTML report has no data element")
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(page[m[2]:m[3]]), &data); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"flags", "notes", "states"} {
		data[table] = nil
	}
	rows, _ := data["conns"].([]any)
	for _, row := range rows {
		cols := row.([]any)
		cols[len(cols)-1] = 0
	}
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return page[:m[2]] + string(b) + page[m[3]:]
}

// splitByHost writes the packets of the capture at path into two captures,
// as two hosts would have captured them: those to or from the servers
// hostA names in a.pcap, the others in b.pcap. Both are classic pcap with
// microsecond stamps, as tcpdump -w writes them, so that packets of the two
// files often share a stamp and the order of ties counts.
func splitByHost(t *testing.T, path string, hostA ...string) (a, b string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	var bufs [2]bytes.Buffer
	var ws [2]*pcapgo.Writer
	for i := range ws {
		ws[i] = pcapgo.NewWriter(&bufs[i])
		if err := ws[i].WriteFileHeader(262144, r.LinkType()); err != nil {
			t.Fatal(err)
		}
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		which := 1
		if nl := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy).NetworkLayer(); nl != nil {
			src, dst := nl.NetworkFlow().Endpoints()
			if slices.Contains(hostA, src.String()) || slices.Contains(hostA, dst.String()) {
				which = 0
			}
		}
		if err := ws[which].WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{a, b} {
		if err := os.WriteFile(name, bufs[i].Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// TestMergeOfASet: the shards of a capture set, merged, are one run over
// the set, byte for byte, as for one file: a rotation of a capture read as
// a directory, and two captures that overlap in time (two hosts' at once,
// their packets often stamped alike) read as one. Their connections are
// numbered and ordered by where their packets come in the merged set, not
// within their own files (which every file numbers from 1), with one core
// and with several.
func TestMergeOfASet(t *testing.T) {
	capture := tcpgenCapture(t, "-seed", "3", "-conns", "600", "-concurrent", "60", "-synflood", "2000", "-data-retransmit", "0.2")
	a, b := splitByHost(t, capture, "198.51.100.10", "198.51.100.11")
	for name, read := range map[string][]string{
		"a rotation":        {"-r", splitCapture(t, capture, 2000)},
		"overlapping files": {"-r", a, "-r", b},
	} {
		t.Run(name, func(t *testing.T) {
			want := map[string]string{}
			for _, format := range []string{"text", "json"} {
				r := tcpfsm(t, nil, append(read, "--format", format, "--color", "never", "-j", "1")...)
				if r.code != exitOK {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				want[format] = r.stdout
			}
			if r := tcpfsm(t, nil, append(read, "--format", "json", "-j", "3")...); r.stdout != want["json"] {
				t.Errorf("-j 3 differs from -j 1:\n%s", golden.Diff(want["json"], r.stdout))
			}
			for n := 1; n <= 4; n++ {
				var reports []string
				dir := t.TempDir()
				for i := range n {
					r := tcpfsm(t, nil, append(read, "--shard", fmt.Sprintf("%d/%d", i, n), "--format", "json", "-j", fmt.Sprint(1+2*(i%2)))...)
					if r.code != exitOK {
						t.Fatalf("shard %d/%d: exit %d: %s", i, n, r.code, r.stderr)
					}
					path := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
					if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
						t.Fatal(err)
					}
					reports = append(reports, path)
				}
				for _, format := range []string{"text", "json"} {
					r := tcpfsm(t, nil, append([]string{"merge", "--format", format, "--color", "never"}, reports...)...)
					if r.code != exitOK {
						t.Fatalf("%d shards: merge: exit %d: %s", n, r.code, r.stderr)
					}
					if r.stdout != want[format] {
						t.Errorf("%d shards, %s: the merge differs from one run:\n%s", n, format, golden.Diff(want[format], r.stdout))
					}
				}
			}
		})
	}
}

// TestMergeOfHosts: the reports of two hosts' captures (one whole, the
// other in two shards) merge into the census, diagnoses, listeners and
// counts of one run over both captures read as one set, and into its
// connections with its ids. What a host's record says of how long its own
// capture went on (an app's why) is that host's, and the order of records
// differs: each host's open connections are reported when its capture
// ends, not the set's.
func TestMergeOfHosts(t *testing.T) {
	capture := tcpgenCapture(t, "-seed", "3", "-conns", "600", "-concurrent", "60", "-synflood", "2000", "-data-retransmit", "0.2")
	a, b := splitByHost(t, capture, "198.51.100.10", "198.51.100.11")
	reports := append(shardReports(t, a, 1), shardReports(t, b, 2)...)
	merged := tcpfsm(t, nil, append([]string{"merge", "--format", "json"}, reports...)...)
	one := tcpfsm(t, nil, "-r", a, "-r", b, "--format", "json")
	if merged.code != exitOK || one.code != exitOK {
		t.Fatalf("exit %d and %d: %s %s", merged.code, one.code, merged.stderr, one.stderr)
	}
	got, want := withoutSource(t, merged.stdout), withoutSource(t, one.stdout)
	if !jsonEqual(t, got[len(got)-1:], want[len(want)-1:]) {
		t.Errorf("summaries differ:\n got %v\nwant %v", got[len(got)-1], want[len(want)-1])
	}
	if !strings.Contains(one.stdout, `"diagnoses":[{"name":"syn_flood"`) {
		t.Errorf("the capture raised no syn_flood diagnosis: the test shows little")
	}
	byID := func(objs []map[string]any) map[float64]map[string]any {
		m := map[float64]map[string]any{}
		for _, o := range objs[:len(objs)-1] {
			delete(o, "app")
			m[o["id"].(float64)] = o
		}
		return m
	}
	g, w := byID(got), byID(want)
	if len(g) != len(w) || len(w) != len(want)-1 {
		t.Fatalf("%d connections merged, %d in one run", len(g), len(w))
	}
	for id, rec := range w {
		if !jsonEqual(t, []map[string]any{g[id]}, []map[string]any{rec}) {
			t.Errorf("connection %v:\n got %v\nwant %v", id, g[id], rec)
		}
	}
}
