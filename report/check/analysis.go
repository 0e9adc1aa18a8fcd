// Package check compares the analysis of a capture with what a team
// expects of it, for regression checks in CI: a golden snapshot of the
// whole analysis, kept beside the capture and reviewed as a plain diff,
// and assertions a person writes ("no accept_queue_overflow").
//
// It works on the JSON Lines report (report's "json" format): what a
// check sees is exactly what a user of that format sees, and nothing here
// reads packets.
package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Analysis is one capture's report: its connections, in the report's
// order, and its summary, as decoded JSON (numbers kept as written).
type Analysis struct {
	Capture string           // the capture's file name, without directories
	Conns   []map[string]any // the "conn" lines
	Summary map[string]any   // the "summary" line
	// Flags are the analysis flags the report was made with, as
	// --name=value, sorted; none for the defaults.
	Flags []string
}

// Read decodes the JSON Lines report of the capture at path, all of it:
// see ReadReport, which reads it record by record.
func Read(r io.Reader, path string) (*Analysis, error) {
	a := &Analysis{Capture: filepath.Base(path)}
	summary, err := ReadReport(r, path, func(c map[string]any) error {
		a.Conns = append(a.Conns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Summary = summary
	return a, nil
}

// ReadReport reads the JSON Lines report of the capture at path record by
// record, holding one at a time: each connection goes to conn as it is
// read, and the summary is returned at the end. An error from conn stops
// the reading and is returned. Lines other than connections and the
// summary (the --events stream) are skipped. What the report says only
// because of how it was run (the path it was given) or in prose that may
// be reworded (explanations, advice, anomaly details) is left out: see
// canonicalConn and canonicalSummary.
func ReadReport(r io.Reader, path string, conn func(c map[string]any) error) (summary map[string]any, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := decodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("report line %d: %v", n, err)
		}
		switch m["type"] {
		case "conn":
			canonicalConn(m)
			if err := conn(m); err != nil {
				return nil, err
			}
		case "summary":
			summary = m
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if summary == nil {
		return nil, fmt.Errorf("the report of %s has no summary line", path)
	}
	canonicalSummary(summary, path)
	return summary, nil
}

// DecodeConn decodes one "conn" line of the JSON Lines report as
// ReadReport gives it to its caller: for code that has the line from the
// report's writer rather than from a file (--fail-on's rules).
func DecodeConn(line []byte) (map[string]any, error) {
	c, err := decodeLine(line)
	if err != nil {
		return nil, err
	}
	canonicalConn(c)
	return c, nil
}

// DecodeConnFor decodes a "conn" line of the JSON Lines report for the
// tallies of rules: as DecodeConn does, or, when every rule is a "no
// NAME", only what those read of a connection (its id, endpoints, labels
// and anomaly names; see Tally.Add). Decoding the rest, every field into
// a map, for rules that never look at it made --fail-on, which feeds such
// tallies every connection, cost more than the analysis.
func DecodeConnFor(rules []*Rule, line []byte) (map[string]any, error) {
	for _, r := range rules {
		if r.kind != ruleNo {
			return DecodeConn(line)
		}
	}
	var c struct {
		ID        json.Number `json:"id"`
		Client    string      `json:"client"`
		Server    string      `json:"server"`
		Labels    []string    `json:"labels"`
		Anomalies []struct {
			Name string `json:"name"`
		} `json:"anomalies"`
	}
	if err := json.Unmarshal(line, &c); err != nil {
		return nil, err
	}
	labels := make([]any, len(c.Labels))
	for i, l := range c.Labels {
		labels[i] = l
	}
	anomalies := make([]any, len(c.Anomalies))
	for i, a := range c.Anomalies {
		anomalies[i] = map[string]any{"name": a.Name}
	}
	return map[string]any{"id": c.ID, "client": c.Client, "server": c.Server, "labels": labels, "anomalies": anomalies}, nil
}

// DecodeSummary decodes the "summary" line of the JSON Lines report as
// ReadReport returns it, for a report read from no file.
func DecodeSummary(line []byte) (map[string]any, error) {
	s, err := decodeLine(line)
	if err != nil {
		return nil, err
	}
	canonicalSummary(s, "")
	return s, nil
}

// decodeLine decodes one line of the report, numbers kept as written.
func decodeLine(line []byte) (map[string]any, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// canonicalConn and canonicalSummary remove what is not behaviour: the
// "type" tags (implied by where a record sits in a snapshot), the path the
// capture was given by (the summary's source, and in warnings), and prose
// written for people, which a later tcpfsm may put better without
// anything having changed.
func canonicalConn(c map[string]any) {
	delete(c, "type")
	for _, an := range list(c["anomalies"]) {
		if m, ok := an.(map[string]any); ok {
			delete(m, "detail")
		}
	}
}

func canonicalSummary(s map[string]any, path string) {
	delete(s, "type")
	delete(s, "source")
	for _, d := range list(s["diagnoses"]) {
		if m, ok := d.(map[string]any); ok {
			delete(m, "explanation")
			delete(m, "advice")
		}
	}
	if base := filepath.Base(path); path != "" && path != base {
		ws := list(s["warnings"])
		for i, w := range ws {
			if str, ok := w.(string); ok {
				ws[i] = strings.ReplaceAll(str, path, base)
			}
		}
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// Snapshot returns a's canonical JSON, as a SnapshotWriter writes it.
func (a *Analysis) Snapshot() []byte {
	var b bytes.Buffer
	w := NewSnapshotWriter(&b, a.Capture, a.Flags)
	for _, c := range a.Conns {
		w.Conn(c)
	}
	if err := w.Finish(a.Summary); err != nil {
		panic(err) // decoded JSON always encodes, and a bytes.Buffer takes it
	}
	return b.Bytes()
}

// ReadSnapshot decodes a whole file written from Snapshot or a
// SnapshotWriter.
func ReadSnapshot(r io.Reader) (*Analysis, error) {
	s, err := NewSnapshotReader(r)
	if err != nil {
		return nil, err
	}
	a := &Analysis{}
	for {
		c, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		a.Conns = append(a.Conns, c)
	}
	a.Capture, a.Summary, a.Flags = s.Capture, s.Summary, s.Flags
	return a, nil
}
