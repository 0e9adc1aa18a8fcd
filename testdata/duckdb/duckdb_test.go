package duckdb

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// The capture: tcpgen's, with refusals, resets, unanswered SYNs and a SYN
// flood, among hundreds of clients and dozens of servers. docs/scale.md's
// reset query names one of its clients.
var tcpgenArgs = []string{"-q", "-seed", "2", "-conns", "2000", "-concurrent", "200", "-synflood", "500"}

const shards = 4

// root is the tcpfsm module's directory.
const root = "../.."

// build builds tcpfsm and tcpgen from the enclosing module into dir.
func build(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/tcpfsm", "./cmd/tcpgen")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tcpfsm: %v\n%s", err, out)
	}
}

// runTo runs a program, its standard output to the file out.
func runTo(t *testing.T, out string, prog string, args ...string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(prog, args...)
	cmd.Stdout, cmd.Stderr = f, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, stderr.String())
	}
}

// conn is what the checks read of a JSON conn object.
type conn struct {
	TS        json.Number `json:"ts"`
	Client    string      `json:"client"`
	Server    string      `json:"server"`
	Handshake string      `json:"handshake"`
	RTT       struct {
		Client *float64 `json:"client"`
		Server *float64 `json:"server"`
	} `json:"handshake_rtt_ms"`
	Reset *struct {
		By        string `json:"by"`
		State     string `json:"state"`
		PeerState string `json:"peer_state"`
	} `json:"reset"`
	App struct {
		Client struct {
			Recv *string `json:"recv"`
		} `json:"client"`
	} `json:"app"`
}

type summary struct {
	Connections int64            `json:"connections"`
	Handshakes  map[string]int64 `json:"handshakes"`
	Closes      map[string]int64 `json:"closes"`
}

// readJSON reads a JSON report: its conn objects and its summary.
func readJSON(t *testing.T, path string) ([]conn, summary) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var conns []conn
	var sum summary
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var typ struct{ Type string }
		if err := json.Unmarshal([]byte(line), &typ); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		switch typ.Type {
		case "conn":
			var c conn
			if err := d.Decode(&c); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		case "summary":
			if err := d.Decode(&sum); err != nil {
				t.Fatal(err)
			}
		}
	}
	return conns, sum
}

// docQueries returns the SQL blocks of docs/scale.md's "DuckDB" section
// under "Querying the results".
func docQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs", "scale.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, after, ok := strings.Cut(doc, "\n## Querying the results\n")
	if !ok {
		t.Fatal(`docs/scale.md: no "## Querying the results" section`)
	}
	_, section, ok := strings.Cut(after, "\n### DuckDB\n")
	if !ok {
		t.Fatal(`docs/scale.md: no "### DuckDB" under "Querying the results"`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	var queries []string
	for {
		_, rest, ok := strings.Cut(section, "```sql\n")
		if !ok {
			return queries
		}
		q, rest, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("docs/scale.md: a ```sql block is not closed")
		}
		queries = append(queries, strings.TrimSpace(q))
		section = rest
	}
}

// cell spells a value as the checks compare it: times as the JSON's
// seconds with microseconds, doubles with the JSON's three decimals.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		us := v.UnixMicro()
		return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
	case float64:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case *float64:
		if v == nil {
			return "NULL"
		}
		return cell(*v)
	case *string:
		if v == nil {
			return "NULL"
		}
		return *v
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// query runs q and returns its rows, each cell spelt by cell.
func query(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = cell(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func row(cells ...any) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = cell(c)
	}
	return out
}

// The answers the three queries of docs/scale.md should give, worked out
// from the conn objects of one unsharded JSON report.

func outcomesPerServer(conns []conn) [][]string {
	type counts struct{ attempts, complete, refused, unanswered int64 }
	by := map[string]*counts{}
	for _, c := range conns {
		n := by[c.Server]
		if n == nil {
			n = &counts{}
			by[c.Server] = n
		}
		n.attempts++
		switch c.Handshake {
		case "complete":
			n.complete++
		case "refused":
			n.refused++
		case "unanswered", "synack_unanswered":
			n.unanswered++
		}
	}
	servers := make([]string, 0, len(by))
	for s := range by {
		servers = append(servers, s)
	}
	slices.SortFunc(servers, func(a, b string) int {
		return cmp.Or(cmp.Compare(by[b].attempts, by[a].attempts), strings.Compare(a, b))
	})
	var out [][]string
	for _, s := range servers {
		n := by[s]
		out = append(out, row(s, n.attempts, n.complete, n.refused, n.unanswered))
	}
	return out
}

func slowestHandshakes(conns []conn) [][]string {
	var complete []conn
	for _, c := range conns {
		if c.Handshake == "complete" {
			complete = append(complete, c)
		}
	}
	total := func(c conn) float64 {
		if c.RTT.Client == nil || c.RTT.Server == nil {
			return math.Inf(-1) // NULL, last
		}
		return *c.RTT.Client + *c.RTT.Server
	}
	slices.SortStableFunc(complete, func(a, b conn) int {
		return cmp.Or(cmp.Compare(total(b), total(a)), strings.Compare(string(a.TS), string(b.TS)), strings.Compare(a.Client, b.Client))
	})
	var out [][]string
	for _, c := range complete[:min(10, len(complete))] {
		out = append(out, row(c.TS, c.Client, c.Server, c.RTT.Client, c.RTT.Server))
	}
	return out
}

func resetsSeenBy(conns []conn, client string) [][]string {
	var out [][]string
	for _, c := range conns {
		if strings.HasPrefix(c.Client, client+":") && c.Reset != nil {
			out = append(out, row(c.TS, c.Server, c.Handshake, c.Reset.By, c.Reset.State, c.Reset.PeerState, c.App.Client.Recv))
		}
	}
	slices.SortStableFunc(out, func(a, b []string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return out
}

// TestDocumentedQueries: tcpfsm writes a tcpgen capture's connections as
// four shards' Parquet files; DuckDB reads them as one table, and its
// totals and the answers of docs/scale.md's queries, as the doc writes
// them, are those of one unsharded run's JSON report.
func TestDocumentedQueries(t *testing.T) {
	dir := t.TempDir()
	build(t, dir)
	tcpfsm, capture := filepath.Join(dir, "tcpfsm"), filepath.Join(dir, "capture.pcap")
	cmd := exec.Command(filepath.Join(dir, "tcpgen"), append(tcpgenArgs, "-o", capture)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tcpgen: %v\n%s", err, out)
	}
	runTo(t, filepath.Join(dir, "all.jsonl"), tcpfsm, "-q", "-r", capture, "--format", "json")
	conns, sum := readJSON(t, filepath.Join(dir, "all.jsonl"))
	if len(conns) < 1000 || sum.Connections != int64(len(conns)) {
		t.Fatalf("the JSON report has %d conn objects, its summary %d connections", len(conns), sum.Connections)
	}
	for i := range shards {
		runTo(t, filepath.Join(dir, fmt.Sprintf("shard-%d.parquet", i)), tcpfsm,
			"-q", "-r", capture, "--shard", fmt.Sprintf("%d/%d", i, shards), "--format", "parquet")
	}
	queries := docQueries(t)
	// The doc's queries name the files relative to where they are.
	t.Chdir(dir)

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("totals", func(t *testing.T) {
		files := query(t, db, "SELECT count(DISTINCT filename) FROM read_parquet('shard-*.parquet', filename = true)")
		if files[0][0] != strconv.Itoa(shards) {
			t.Fatalf("DuckDB read %s files, want %d", files[0][0], shards)
		}
		if got := query(t, db, "SELECT count(*) FROM read_parquet('shard-*.parquet')"); got[0][0] != strconv.FormatInt(sum.Connections, 10) {
			t.Errorf("%s connections, want the summary's %d", got[0][0], sum.Connections)
		}
		for _, c := range []struct {
			column string
			want   map[string]int64
		}{{"handshake", sum.Handshakes}, {"close", sum.Closes}} {
			got := map[string]int64{}
			for _, r := range query(t, db, fmt.Sprintf(`SELECT "%s", count(*) FROM read_parquet('shard-*.parquet') GROUP BY ALL`, c.column)) {
				n, _ := strconv.ParseInt(r[1], 10, 64)
				got[r[0]] = n
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want the summary's %v", c.column, got, c.want)
			}
		}
	})

	want := [][][]string{outcomesPerServer(conns), slowestHandshakes(conns), resetsSeenBy(conns, "10.136.124.254")}
	if len(queries) != len(want) {
		t.Fatalf("docs/scale.md's DuckDB section shows %d queries, want %d: per server, slowest, resets", len(queries), len(want))
	}
	for i, name := range []string{"outcomes per server", "slowest handshakes", "one client's resets"} {
		t.Run(name, func(t *testing.T) {
			if len(want[i]) == 0 {
				t.Fatal("the capture gives this query nothing to find: the check would be empty")
			}
			got := query(t, db, queries[i])
			if !slices.EqualFunc(got, want[i], slices.Equal) {
				t.Errorf("%s\n got %v\nwant %v", queries[i], got, want[i])
			}
		})
	}
}
