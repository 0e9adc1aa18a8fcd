package report

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// QuoteName returns a file or interface name fit to print for a person.
// An ordinary name (every character printable, spaces included) is
// returned as it is, so x.pcap reads as x.pcap; any other is quoted as
// Go's %q quotes it, so that a name holding a newline, a terminal escape,
// a bidirectional override or bytes that are not UTF-8 cannot break a
// one-line message or reach the terminal raw.
func QuoteName(name string) string {
	if !utf8.ValidString(name) {
		return strconv.Quote(name)
	}
	for _, r := range name {
		if !strconv.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// FindingNames lists every name a person can ask about (--fail-on, a
// check's "no NAME"): the diagnoses, the anomalies and the labels.
func FindingNames() []string {
	var all []string
	all = append(all, diagnose.Names()...)
	all = append(all, fsm.AnomalyNames...)
	return append(all, fsm.LabelNames...)
}

// Suggest returns ": did you mean X?" for the name closest to got, if
// close (at most 3 edits), and "" otherwise: the end of an error about a
// misspelt name.
func Suggest(got string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := distance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %s?", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
