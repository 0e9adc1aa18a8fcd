package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/check"
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

// failOn is --fail-on NAME,...: for each name, the rule "no NAME" of
// tcpfsm check, evaluated by check's own code on the connections and the
// diagnoses as the json format writes them, so that a name is found here
// exactly when a check of the same capture finds it.
type failOn struct {
	tap     *report.JSONTap
	tallies []*check.Tally
}

// watchFailOn returns rep with the rules of --fail-on's names checked
// against every connection it is given; th are rep's thresholds.
func watchFailOn(names []string, rep report.Reporter, th diagnose.Thresholds) (*failOn, report.Reporter) {
	f := &failOn{}
	var rules []*check.Rule
	for _, n := range names {
		r := check.No(n)
		rules = append(rules, r)
		f.tallies = append(f.tallies, r.NewTally())
	}
	f.tap = report.TapJSON(rep, th, func(line []byte) error {
		c, err := check.DecodeConnFor(rules, line)
		if err != nil {
			return err
		}
		for _, t := range f.tallies {
			t.Add(c)
		}
		return nil
	})
	return f, f.tap
}

// failures returns, once the report is finished, a line for each finding
// of each name, in the order given: check's account of the rule's failure,
// a finding a line.
func (f *failOn) failures() ([]string, error) {
	line, err := f.tap.Summary()
	if err != nil {
		return nil, err
	}
	summary, err := check.DecodeSummary(line)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, t := range f.tallies {
		// One finding a line: a flood's diagnosis can name dozens of
		// listeners, which check's one line for the rule would join.
		for _, found := range t.Found(summary) {
			lines = append(lines, "found "+found)
		}
	}
	return lines, nil
}
