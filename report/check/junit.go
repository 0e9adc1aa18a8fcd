package check

import (
	"encoding/xml"
	"io"
	"strings"
)

// Case is one checked expectation, for the JUnit report: the snapshot of
// a capture, or one rule.
type Case struct {
	Capture  string   // the suite: the capture's path
	Name     string   // "snapshot x.pcap.golden.json", or "x.pcap.expect:3: no syn_flood"
	Failures []string // why it failed, one line each; none: it passed
	// Error says why the capture or its expectations could not be read,
	// so nothing of it was checked: JUnit's <error>, which CI systems
	// show as a broken test rather than leaving the capture out.
	Error string
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure"`
	Error     *junitFailure `xml:"error"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the cases as a JUnit XML report, one test suite per
// capture in the order first seen, which CI systems show as tests.
func WriteJUnit(w io.Writer, cases []Case) error {
	all := junitSuites{Name: "tcpfsm check"}
	index := map[string]int{}
	for _, c := range cases {
		i, ok := index[c.Capture]
		if !ok {
			i = len(all.Suites)
			index[c.Capture] = i
			all.Suites = append(all.Suites, junitSuite{Name: c.Capture})
		}
		s := &all.Suites[i]
		jc := junitCase{Name: c.Name, ClassName: c.Capture}
		switch {
		case c.Error != "":
			jc.Error = &junitFailure{Message: c.Error, Text: c.Error}
			s.Errors++
			all.Errors++
		case len(c.Failures) > 0:
			jc.Failure = &junitFailure{Message: c.Failures[0], Text: strings.Join(c.Failures, "\n")}
			s.Failures++
			all.Failures++
		}
		s.Tests++
		all.Tests++
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
