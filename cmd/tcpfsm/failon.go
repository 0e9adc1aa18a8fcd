package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// parseFailOn reads --fail-on: diagnosis, anomaly and label names.
func parseFailOn(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if all := report.FindingNames(); !slices.Contains(all, n) {
			return nil, fmt.Errorf("--fail-on: %q is not a diagnosis, anomaly or label name%s (tcpfsm names lists them)", n, report.Suggest(n, all))
		}
		names = append(names, n)
	}
	return names, nil
}

// findings watches the connections going to the report for the names
// --fail-on gave: anomalies and labels on each connection, diagnoses over
// them all (judged as the report judges them, with the same thresholds).
type findings struct {
	names []string
	conns map[string]int    // name -> connections with it
	first map[string]uint64 // name -> first such connection's id
	diag  *diagnose.Collector
}

func newFindings(names []string, th diagnose.Thresholds) *findings {
	f := &findings{names: names, conns: map[string]int{}, first: map[string]uint64{}}
	for _, n := range names {
		if slices.Contains(diagnose.Names(), n) {
			f.diag = diagnose.New(th)
			break
		}
	}
	return f
}

// watch returns rep with f looking at every connection it is given.
func (f *findings) watch(rep report.Reporter) report.Reporter {
	return &watchedReporter{Reporter: rep, f: f}
}

type watchedReporter struct {
	report.Reporter
	f *findings
}

func (w *watchedReporter) Conn(r *flow.Record) error {
	w.f.add(r)
	return w.Reporter.Conn(r)
}

func (f *findings) add(r *flow.Record) {
	if f.diag != nil {
		f.diag.Add(r)
	}
	for _, n := range f.names {
		has := slices.Contains(r.Labels, n) || slices.ContainsFunc(r.Anomalies, func(a fsm.Anomaly) bool { return a.Name == n })
		if has {
			if f.conns[n] == 0 {
				f.first[n] = r.ID
			}
			f.conns[n]++
		}
	}
}

// report returns one line per name found, in the order given.
func (f *findings) report() []string {
	var lines []string
	var diags []diagnose.Diagnosis
	if f.diag != nil {
		diags = f.diag.Diagnoses()
	}
	for _, n := range f.names {
		for _, d := range diags {
			if d.Name == n {
				lines = append(lines, fmt.Sprintf("found %s at %s (%s)", n, d.Endpoint, plural(d.Connections, "connection")))
			}
		}
		if c := f.conns[n]; c > 0 {
			lines = append(lines, fmt.Sprintf("found %s on %s (the first: connection %d)", n, plural(c, "connection"), f.first[n]))
		}
	}
	return lines
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
