package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tcpfsm/tcpfsm/report"
)

// TestParquetOutput: on every kernel capture, whole and as shards, the
// Parquet file holds a row per connection of the JSON report and, in its
// metadata, the JSON report's summary line.
func TestParquetOutput(t *testing.T) {
	for _, path := range kernelCaptures(t) {
		for _, shard := range [][]string{nil, {"--shard", "1/3"}} {
			args := append([]string{"-r", path}, shard...)
			js := tcpfsm(t, nil, append(args, "--format", "json")...)
			pq := tcpfsm(t, nil, append(args, "--format", "parquet")...)
			if js.code != exitOK || pq.code != exitOK {
				t.Fatalf("%s %v: exit %d (json), %d (parquet): %s%s", path, shard, js.code, pq.code, js.stderr, pq.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(js.stdout, "\n"), "\n")
			f, err := parquet.OpenFile(strings.NewReader(pq.stdout), int64(len(pq.stdout)))
			if err != nil {
				t.Fatalf("%s %v: %v", path, shard, err)
			}
			if got, want := f.NumRows(), int64(len(lines)-1); got != want {
				t.Errorf("%s %v: %d rows, want %d (the JSON's conn objects)", path, shard, got, want)
			}
			if sum, _ := f.Lookup(report.ParquetSummaryKey); sum != lines[len(lines)-1] {
				t.Errorf("%s %v: summary metadata\n got %s\nwant %s", path, shard, sum, lines[len(lines)-1])
			}
		}
	}
}

// TestParquetRefusals: Parquet is binary, so a terminal gets a message
// instead; and a trace has no place in it.
func TestParquetRefusals(t *testing.T) {
	path := kernelCaptures(t)[0]
	tty := openTerminal(t)
	var stderr bytes.Buffer
	if code := run([]string{"-r", path, "--format", "parquet"}, strings.NewReader(""), tty, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "--format parquet writes a binary file: redirect standard output") {
		t.Errorf("parquet to a terminal: exit %d, %q; want exit 2 and the advice to redirect", code, stderr.String())
	}
	r := tcpfsm(t, nil, "-r", path, "--format", "parquet", "-v")
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "a Parquet file holds the connections only") {
		t.Errorf("parquet with -v: exit %d, stdout %d bytes, %q; want exit 2 and nothing written", r.code, len(r.stdout), r.stderr)
	}
	// A pipe or a file is written.
	var out bytes.Buffer
	if code := run([]string{"-r", path, "--format", "parquet"}, strings.NewReader(""), struct{ io.Writer }{&out}, io.Discard); code != exitOK ||
		!bytes.HasPrefix(out.Bytes(), []byte("PAR1")) {
		t.Errorf("parquet to a pipe: exit %d, starts %q", code, out.Bytes()[:min(4, out.Len())])
	}
}

// checkParquetCounts: a Parquet report opens, and its summary, in the
// metadata, counts the rows it holds.
func checkParquetCounts(t *testing.T, file []byte) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("the Parquet report does not open: %v", err)
	}
	meta, _ := f.Lookup(report.ParquetSummaryKey)
	var sum struct {
		Type        string `json:"type"`
		Connections int64  `json:"connections"`
	}
	if err := json.Unmarshal([]byte(meta), &sum); err != nil || sum.Type != "summary" || sum.Connections != f.NumRows() {
		t.Fatalf("%d rows, summary %q (%v)", f.NumRows(), meta, err)
	}
}
