package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/merge"
)

const mergeUsageHead = `Usage: tcpfsm merge [options] REPORT...

Combines the JSON reports of the shards of a capture, written by
  tcpfsm -r CAPTURE --shard I/N --format json > REPORT
for I from 0 to N-1 (on as many machines as there are shards), into the
report one run over the whole capture writes: the same connections, ids,
diagnoses, census and counts, in any format. Reports of captures taken on
several hosts (each written with --shard 0/1, or sharded) merge too: their
connections interleaved by time, their counts and censuses added up. A
REPORT of - is standard input.

Examples:
  tcpfsm merge shard-*.jsonl                      # the text report
  tcpfsm merge --format json shard-*.jsonl > all.jsonl
  tcpfsm merge --html report.html shard-*.jsonl

Options:
`

const mergeUsageTail = `
Exit status: 0 success, 1 a --fail-on name was found, 2 usage or input
error (a report that cannot be read, a shard missing or given twice).
`

type mergeOptions struct {
	format string
	color  string
	html   string
	failOn string
}

func parseMergeFlags(args []string, stderr io.Writer) (*mergeOptions, []string, error) {
	var o mergeOptions
	fs := pflag.NewFlagSet("tcpfsm merge", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text or json (JSON Lines)")
	fs.StringVar(&o.html, "html", "", "also write a self-contained HTML report to `FILE` (without ladders: a report holds no packets)")
	fs.StringVar(&o.color, "color", "auto", "colour the text report: `WHEN` = auto, always or never")
	fs.StringVar(&o.failOn, "fail-on", "", "exit with status 1 when any of these `NAMES` (comma-separated diagnoses, anomalies\nor labels) is found")
	fs.Usage = func() {
		fmt.Fprint(stderr, mergeUsageHead)
		fmt.Fprint(stderr, flagUsages(fs))
		fmt.Fprint(stderr, mergeUsageTail)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	switch {
	case fs.NArg() == 0:
		return nil, nil, errors.New("merge: no reports to merge: give the JSON reports of the shards")
	case o.format != "text" && o.format != "json":
		return nil, nil, fmt.Errorf("merge: unknown --format %q: want text or json", o.format)
	case o.color != "auto" && o.color != "always" && o.color != "never":
		return nil, nil, fmt.Errorf("unknown --color %q: want auto, always or never", o.color)
	}
	if _, err := parseFailOn(o.failOn); err != nil {
		return nil, nil, err
	}
	return &o, fs.Args(), nil
}

// runMerge is "tcpfsm merge": report/merge does the work.
func runMerge(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, names, err := parseMergeFlags(args, stderr)
	if code, ok := flagsParsed(err, "tcpfsm merge --help", stderr); !ok {
		return code
	}
	var inputs []*merge.Input
	for _, name := range names {
		in, err := readReport(name, stdin)
		if err != nil {
			printf(stderr, "tcpfsm: merge: %v", quotePath(err))
			return exitUsage
		}
		inputs = append(inputs, in)
	}
	set, err := merge.New(inputs)
	if err != nil {
		printf(stderr, "tcpfsm: merge: %v", err)
		return exitUsage
	}
	th := set.Thresholds()
	rep, err := report.New(stdout, report.Options{Format: o.format, Color: useColor(o.color, stdout), Thresholds: &th})
	if err != nil {
		printf(stderr, "tcpfsm: %v", err)
		return exitUsage
	}
	var html *atomicFile
	if o.html != "" {
		if err := outputIsInput("--html", o.html, stdin, names...); err != nil {
			printf(stderr, "tcpfsm: %v", err)
			return exitUsage
		}
		if html, err = createOutput(o.html); err != nil {
			printf(stderr, "tcpfsm: --html: %v", err)
			return exitUsage
		}
		defer func() {
			if html != nil {
				html.discard()
			}
		}()
		rep = report.WithHTML(rep, html, th, false)
	}
	var found *failOn
	if o.failOn != "" {
		names, _ := parseFailOn(o.failOn)
		found, rep = watchFailOn(names, rep, th)
	}
	if err := set.Write(rep); err != nil {
		printf(stderr, "tcpfsm: writing the report: %v", err)
		return exitUsage
	}
	if html != nil {
		err, html = html.commit(), nil
		if err != nil {
			printf(stderr, "tcpfsm: --html: %v", err)
			return exitUsage
		}
	}
	if found != nil {
		lines, err := found.failures()
		if err != nil {
			printf(stderr, "tcpfsm: --fail-on: %v", err)
			return exitUsage
		}
		for _, l := range lines {
			printf(stderr, "tcpfsm: --fail-on: %s", l)
		}
		if len(lines) > 0 {
			return exitCheck
		}
	}
	return exitOK
}

// readReport reads one shard's report: a file, or - for standard input.
func readReport(name string, stdin io.Reader) (*merge.Input, error) {
	if name == "-" {
		return merge.Read(stdin, "stdin")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return merge.Read(f, quoteName(name))
}
