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

// Read decodes the JSON Lines report of the capture at path. Lines other
// than connections and the summary (the --events stream) are skipped.
// What the report says only because of how it was run (the path it was
// given) or in prose that may be reworded (explanations, advice, anomaly
// details) is left out: see canonical.
func Read(r io.Reader, path string) (*Analysis, error) {
	a := &Analysis{Capture: filepath.Base(path)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			return nil, fmt.Errorf("report line %d: %v", n, err)
		}
		switch m["type"] {
		case "conn":
			a.Conns = append(a.Conns, m)
		case "summary":
			a.Summary = m
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if a.Summary == nil {
		return nil, fmt.Errorf("the report of %s has no summary line", path)
	}
	a.canonical(path)
	return a, nil
}

// canonical removes what is not behaviour: the "type" tags (implied by
// where a record sits in a snapshot), the path the capture was given by
// (the summary's source, and in warnings), and prose written for people,
// which a later tcpfsm may put better without anything having changed.
func (a *Analysis) canonical(path string) {
	for _, c := range a.Conns {
		delete(c, "type")
		for _, an := range list(c["anomalies"]) {
			if m, ok := an.(map[string]any); ok {
				delete(m, "detail")
			}
		}
	}
	s := a.Summary
	delete(s, "type")
	delete(s, "source")
	for _, d := range list(s["diagnoses"]) {
		if m, ok := d.(map[string]any); ok {
			delete(m, "explanation")
			delete(m, "advice")
		}
	}
	if path != "" && path != a.Capture {
		ws := list(s["warnings"])
		for i, w := range ws {
			if str, ok := w.(string); ok {
				ws[i] = strings.ReplaceAll(str, path, a.Capture)
			}
		}
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// snapshot is the file form of an Analysis.
type snapshot struct {
	Capture     string           `json:"capture"`
	Flags       []string         `json:"flags,omitempty"`
	Connections []map[string]any `json:"connections"`
	Summary     map[string]any   `json:"summary"`
}

// Snapshot returns a's canonical JSON: one document, indented, with the
// capture, its connections and its summary, and the keys of every record
// in sorted order, so that the same analysis always gives the same bytes
// and a changed one a readable diff.
func (a *Analysis) Snapshot() []byte {
	conns := a.Conns
	if conns == nil {
		conns = []map[string]any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snapshot{a.Capture, a.Flags, conns, a.Summary}); err != nil {
		panic(err) // decoded JSON always encodes
	}
	return b.Bytes()
}

// ReadSnapshot decodes a file written from Snapshot.
func ReadSnapshot(r io.Reader) (*Analysis, error) {
	d := json.NewDecoder(r)
	d.UseNumber()
	var s snapshot
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a tcpfsm snapshot: %v", err)
	}
	if s.Summary == nil {
		return nil, fmt.Errorf("not a tcpfsm snapshot: no summary")
	}
	return &Analysis{Capture: s.Capture, Conns: s.Connections, Summary: s.Summary, Flags: s.Flags}, nil
}
