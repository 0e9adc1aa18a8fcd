package check

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDecodeConnForAgrees: on the JSON reports of every kernel capture,
// tallies of "no NAME" fed the connections as DecodeConnFor decodes them
// for such rules say what tallies fed the whole connections say, for
// every label and anomaly the reports hold, scoped and not, and for rules
// of another kind DecodeConnFor decodes it all.
func TestDecodeConnForAgrees(t *testing.T) {
	reports, err := filepath.Glob("../../testdata/kernel/*.golden.jsonl")
	if err != nil || len(reports) == 0 {
		t.Fatalf("no reports: %v", err)
	}
	for _, path := range reports {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lines [][]byte
		var summary map[string]any
		names := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			line := slices.Clone(sc.Bytes())
			m, err := decodeLine(line)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch m["type"] {
			case "conn":
				lines = append(lines, line)
				for _, l := range list(m["labels"]) {
					names[l.(string)] = true
				}
				for _, a := range list(m["anomalies"]) {
					names[a.(map[string]any)["name"].(string)] = true
				}
			case "summary":
				canonicalSummary(m, "")
				summary = m
			}
		}
		var rules []*Rule
		for n := range names {
			rules = append(rules, No(n))
			scoped, err := ParseRules(bytes.NewReader([]byte("no "+n+" to :8080\n")), "x")
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, scoped...)
		}
		if len(rules) == 0 {
			continue
		}
		whole, reduced := make([]*Tally, len(rules)), make([]*Tally, len(rules))
		for i, r := range rules {
			whole[i], reduced[i] = r.NewTally(), r.NewTally()
		}
		for _, line := range lines {
			all, err := DecodeConn(line)
			if err != nil {
				t.Fatal(err)
			}
			some, err := DecodeConnFor(rules, line)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rules {
				whole[i].Add(all)
				reduced[i].Add(some)
			}
		}
		for i, r := range rules {
			okW, whyW := whole[i].Result(summary)
			okR, whyR := reduced[i].Result(summary)
			if okW != okR || whyW != whyR {
				t.Errorf("%s, %q: fed whole connections %v %q, fed what the rule reads %v %q", filepath.Base(path), r.Text, okW, whyW, okR, whyR)
			}
		}
	}
	every, err := ParseRules(bytes.NewReader([]byte("every connection completes its handshake\n")), "x")
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"type":"conn","id":1,"handshake":"complete","labels":[],"anomalies":[]}`)
	if c, err := DecodeConnFor(append(every, No("x")), line); err != nil || c["handshake"] != "complete" {
		t.Errorf("for a rule that is not a no, DecodeConnFor gives %v, %v: want the whole connection", c, err)
	}
}
