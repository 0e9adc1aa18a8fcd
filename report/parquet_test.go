package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// rowAsJSON is a row read back from Parquet as the JSON "conn" object it
// stands for, decoded with UseNumber: what the schema promises to keep.
func rowAsJSON(c *parquetConn) map[string]any {
	num := func(v int64) json.Number { return json.Number(strconv.FormatInt(v, 10)) }
	ts := func(us int64) json.Number { return json.Number(appendUnixTime(nil, us*1000)) }
	ms := func(v *float64) any {
		if v == nil {
			return nil
		}
		return json.Number(strconv.FormatFloat(*v, 'f', 3, 64))
	}
	gaps := func(g []float64) []any {
		out := []any{}
		for i := range g {
			out = append(out, ms(&g[i]))
		}
		return out
	}
	// id, packets and bytes are uint64 in the JSON: INT64 keeps their
	// bits (no capture reaches 2^63).
	unum := func(v int64) json.Number { return json.Number(strconv.FormatUint(uint64(v), 10)) }
	sides := func(s parquetSides) map[string]any {
		return map[string]any{"client": unum(s.Client), "server": unum(s.Server)}
	}
	app := func(s parquetAppSide) map[string]any {
		m := map[string]any{}
		for k, v := range map[string]*string{"connect": s.Connect, "accept": s.Accept, "recv": s.Recv, "send": s.Send, "why": s.Why} {
			if v != nil {
				m[k] = *v
			}
		}
		if s.Errno != nil {
			m["errno"] = num(*s.Errno)
		}
		if s.SetupTS != nil {
			m["setup_ts"] = ts(*s.SetupTS)
		}
		if s.TS != nil {
			m["ts"] = ts(*s.TS)
		}
		return m
	}
	m := map[string]any{
		"id": unum(c.ID), "ts": ts(c.TS), "end_ts": ts(c.EndTS), "client": c.Client, "server": c.Server,
		"handshake": c.Handshake, "close": c.Close, "client_state": c.ClientState, "server_state": c.ServerState,
		"syn_retransmits": num(c.SynRetransmits), "synack_retransmits": num(c.SynAckRetransmits),
		"keepalives": num(c.Keepalives), "zero_windows": num(c.ZeroWindows), "retransmits": num(c.Retransmits),
		"handshake_rtt_ms": map[string]any{"client": ms(c.HandshakeRTT.Client), "server": ms(c.HandshakeRTT.Server)},
		"retry_gaps_ms":    map[string]any{"client": gaps(c.RetryGaps.Client), "server": gaps(c.RetryGaps.Server)},
		"packets":          sides(c.Packets), "bytes": sides(c.Bytes),
		"reason": c.Reason, "conn_state": c.ConnState, "history": c.History,
		"app": map[string]any{"client": app(c.App.Client), "server": app(c.App.Server)},
	}
	labels := []any{}
	for _, l := range c.Labels {
		labels = append(labels, l)
	}
	m["labels"] = labels
	anomalies := []any{}
	for _, a := range c.Anomalies {
		anomalies = append(anomalies, map[string]any{"name": a.Name, "ts": ts(a.TS), "from": a.From, "detail": a.Detail, "count": num(a.Count)})
	}
	m["anomalies"] = anomalies
	if c.Reset != nil {
		m["reset"] = map[string]any{"by": c.Reset.By, "state": c.Reset.State, "peer_state": c.Reset.PeerState}
	}
	if e := c.ICMP; e != nil {
		m["icmp"] = map[string]any{"ts": ts(e.TS), "from": e.From, "type": num(e.Type), "code": num(e.Code), "what": e.What}
	}
	if e := c.SynAckICMP; e != nil {
		m["synack_icmp"] = map[string]any{"dropped": num(e.Dropped), "ts": ts(e.TS), "from": e.From, "type": num(e.Type), "code": num(e.Code), "what": e.What}
	}
	return m
}

func decodeJSONLine(t *testing.T, line string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return m
}

// writeBoth runs records through the Parquet and the JSON reporters.
func writeBoth(t *testing.T, records []*flow.Record, mergeable bool) (pq []byte, jsonLines []string) {
	t.Helper()
	var pb, jb bytes.Buffer
	p := newParquet(&pb, diagnose.DefaultThresholds(), mergeable)
	j := newJSON(&jb, diagnose.DefaultThresholds(), false)
	j.mergeable = mergeable
	for _, r := range records {
		if err := p.Conn(r); err != nil {
			t.Fatal(err)
		}
		if err := j.Conn(r); err != nil {
			t.Fatal(err)
		}
	}
	tot := &Totals{Source: "x.pcap", Packets: 42, First: 1_700_000_000_000_000_000, Last: 1_700_000_009_000_000_000}
	if mergeable {
		tot.Shard = flow.Shard{Index: 1, Count: 4}
	}
	for _, rep := range []Reporter{p, j} {
		if err := rep.Finish(tot); err != nil {
			t.Fatal(err)
		}
	}
	return pb.Bytes(), strings.Split(strings.TrimSuffix(jb.String(), "\n"), "\n")
}

// TestParquetIsTheJSON: each row of the Parquet file, read back, is the
// JSON report's "conn" object (its keys typed), the rows in the JSON's
// order, and the footer holds the JSON's summary line; over varied
// records (every key, NULLs, escapes, invalid UTF-8), with and without
// --shard's merge keys. The summary is compared over the hand-picked
// records only: among the random ones, diagnoses that tie are listed in
// no fixed order, in the JSON as here.
func TestParquetIsTheJSON(t *testing.T) {
	for _, random := range []int{0, 300} {
		testParquetIsTheJSON(t, random, random == 0)
	}
}

func testParquetIsTheJSON(t *testing.T, random int, compareSummary bool) {
	var records []*flow.Record
	for _, a := range variedArgs(random) {
		r := a.record()
		// The summary's counts quote handshake, close and anomaly names
		// as Go does (orderedCount), which is JSON only for names that
		// need no escape: they are tcpfsm's own identifiers.
		plain := func(s string) string {
			if strconv.Quote(s) != string(appendJSONString(nil, s)) {
				return "name_" + strconv.Itoa(len(s))
			}
			return s
		}
		r.Handshake, r.Close = plain(r.Handshake), plain(r.Close)
		for i := range r.Anomalies {
			r.Anomalies[i].Name = plain(r.Anomalies[i].Name)
		}
		records = append(records, r)
	}
	records = append(records, record())
	for _, mergeable := range []bool{false, true} {
		pq, lines := writeBoth(t, records, mergeable)
		f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parquet.Read[parquetConn](bytes.NewReader(pq), int64(len(pq)))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(records) || len(lines) != len(records)+1 {
			t.Fatalf("%d rows and %d JSON lines for %d records", len(rows), len(lines), len(records))
		}
		for i := range rows {
			want := decodeJSONLine(t, lines[i])
			delete(want, "type")
			delete(want, "merge") // the record whole, for tcpfsm merge, which reads JSON
			if got := rowAsJSON(&rows[i]); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("mergeable %v: row %d\n got %s\nwant %s", mergeable, i, g, w)
			}
		}
		sum, ok := f.Lookup(ParquetSummaryKey)
		if !compareSummary {
			continue
		}
		if want := lines[len(lines)-1]; !ok || sum != want {
			i := 0
			for i < min(len(sum), len(want)) && sum[i] == want[i] {
				i++
			}
			t.Fatalf("mergeable %v: summary metadata (present %v) differs from the JSON's at byte %d:\n got …%.80q\nwant …%.80q",
				mergeable, ok, i, sum[i:], want[i:])
		}
	}
}

// TestParquetSchema holds the schema to what README.md documents: the
// columns, their types, and the times as UTC microsecond timestamps.
func TestParquetSchema(t *testing.T) {
	pq, _ := writeBoth(t, []*flow.Record{record()}, false)
	f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"id", "int64 (INT(64,true))"},
		{"ts", "int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
		{"end_ts", "int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
		{"client", "byte_array (STRING)"},
		{"syn_retransmits", "int64 (INT(64,true))"},
		{"handshake_rtt_ms.client", "optional double"},
		{"retry_gaps_ms.client.list.element", "double"},
		{"packets.server", "int64 (INT(64,true))"},
		{"reset.peer_state", "byte_array (STRING)"},
		{"icmp.ts", "int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
		{"icmp.code", "int64 (INT(64,true))"},
		{"synack_icmp.dropped", "int64 (INT(64,true))"},
		{"synack_icmp.what", "byte_array (STRING)"},
		{"labels.list.element", "byte_array (STRING)"},
		{"anomalies.list.element.ts", "int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
		{"anomalies.list.element.count", "int64 (INT(64,true))"},
		{"app.server.accept", "optional byte_array (STRING)"},
		{"app.client.errno", "optional int64 (INT(64,true))"},
		{"app.client.setup_ts", "optional int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
		{"app.client.ts", "optional int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"},
	} {
		col, ok := f.Schema().Lookup(strings.Split(tc.path, ".")...)
		if !ok {
			t.Errorf("no column %s", tc.path)
			continue
		}
		desc := describeLeaf(col.Node)
		if desc != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, desc, tc.want)
		}
	}
}

// describeLeaf spells a leaf's type as TestParquetSchema's table does.
func describeLeaf(n parquet.Node) string {
	s := strings.ToLower(n.Type().Kind().String())
	if lt := n.Type().LogicalType(); lt != nil {
		s += " (" + lt.String() + ")"
	}
	if n.Optional() {
		s = "optional " + s
	}
	return s
}

// TestParquetRowGroups: the rows are written out a row group at a time,
// so that memory does not grow with the connections.
func TestParquetRowGroups(t *testing.T) {
	records := make([]*flow.Record, parquetRowGroup+1)
	r := record()
	for i := range records {
		records[i] = r
	}
	pq, _ := writeBoth(t, records, false)
	f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, g := range f.RowGroups() {
		sizes = append(sizes, g.NumRows())
	}
	if want := []int64{parquetRowGroup, 1}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("row groups of %v rows, want %v", sizes, want)
	}
}
