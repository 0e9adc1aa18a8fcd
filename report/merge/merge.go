// Package merge combines the JSON reports of the shards of a capture
// (tcpfsm --shard I/N --format json), or of captures taken on several
// hosts, into the report of one run over everything, in any format.
//
// A shard's JSON report carries, besides the keys every report has, what
// the keys do not say exactly (Options.Mergeable): each connection's record
// whole, with its first packet's capture index and its place in the order
// one run reports records (flow.Order), and in the summary the census as
// the counts it was built from (flow.CensusState), the packet times in
// nanoseconds and the diagnoses' thresholds.
//
// The merge rebuilds the records and gives them to a report.Reporter in the
// order one run would have reported them, numbered as one run numbers them
// (by their first packet), so the reporter computes the diagnoses, the
// listeners' statistics and the counts exactly as one run does: the
// diagnoses' evidence keeps the first connections it sees and is bounded,
// so what it concludes depends on the order records come in, and re-feeding
// records in the one run's order is what makes it equal, bounds and
// examples included, without a second, mergeable form of every detector's
// evidence to keep in step with the detectors.
//
// Captures of several hosts are merged as one set of files is read: their
// records are interleaved by when they were reported, capture by capture
// in the order given, numbered by their first packet's time (ties going to
// the capture given first, as a set's do), their packet counts and
// censuses added up. Where no connection is in two of them, that gives
// the census, diagnoses and ids of one run over the captures read as one
// set; a record still says how long its own capture went on.
package merge

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// maxLine bounds one line of a report: a record with every anomaly and
// the longest strings is a few KiB; a summary with the census of 16,384
// hosts and 65,536 listeners is some MiB.
const maxLine = 64 << 20

// Input is one shard's report, read.
type Input struct {
	Name    string // the file, for messages
	Records []flow.Record
	Summary Summary
	shard   flow.Shard
}

// Summary holds the keys of a report's summary the merge adds up.
type Summary struct {
	Source string `json:"source"`
	report.SummaryCounts
	Warnings   []string           `json:"warnings"`
	Incomplete bool               `json:"incomplete"`
	Merge      *report.MergeState `json:"merge"`
}

// Read reads one report written with --shard and --format json.
func Read(r io.Reader, name string) (*Input, error) {
	in := &Input{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line, summaries := 0, 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var head struct {
			Type  string          `json:"type"`
			Merge json.RawMessage `json:"merge"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return nil, fmt.Errorf("%s: line %d: not a line of tcpfsm's JSON report: %v", name, line, err)
		}
		switch head.Type {
		case "conn":
			if summaries > 0 {
				return nil, fmt.Errorf("%s: line %d: a conn object after the summary: more than one report in the file", name, line)
			}
			if head.Merge == nil {
				return nil, fmt.Errorf("%s: line %d: the conn object has no \"merge\" key: write the reports to merge with --shard I/N --format json (--shard 0/1 for a whole capture)", name, line)
			}
			var rec flow.Record
			if err := json.Unmarshal(head.Merge, &rec); err != nil {
				return nil, fmt.Errorf("%s: line %d: the conn object's \"merge\" key: %v", name, line, err)
			}
			in.Records = append(in.Records, rec)
		case "summary":
			summaries++
			if summaries > 1 {
				return nil, fmt.Errorf("%s: line %d: a second summary: more than one report in the file", name, line)
			}
			if err := json.Unmarshal(b, &in.Summary); err != nil {
				return nil, fmt.Errorf("%s: line %d: the summary: %v", name, line, err)
			}
			m := in.Summary.Merge
			switch {
			case m == nil:
				return nil, fmt.Errorf("%s: line %d: the summary has no \"merge\" key: write the reports to merge with --shard I/N --format json (--shard 0/1 for a whole capture)", name, line)
			case m.Version != report.MergeVersion:
				return nil, fmt.Errorf("%s: line %d: \"merge\" keys of version %d; this tcpfsm reads version %d: merge with the tcpfsm that wrote them", name, line, m.Version, report.MergeVersion)
			}
			sh, err := flow.ParseShard(m.Shard)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: the summary's shard: %v", name, line, err)
			}
			in.shard = sh
		default:
			return nil, fmt.Errorf("%s: line %d: a %q object: merge reads reports written without --events or -v", name, line, head.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %v", name, line+1, err)
	}
	if summaries == 0 {
		return nil, fmt.Errorf("%s: no summary: the report is cut short (or empty)", name)
	}
	if uint64(len(in.Records)) != in.Summary.Connections {
		return nil, fmt.Errorf("%s: %d conn objects, but the summary counts %d connections: the report is damaged", name, len(in.Records), in.Summary.Connections)
	}
	return in, nil
}

// Set is the reports to merge, checked.
type Set struct {
	inputs []*Input
	groups [][]*Input // the shards of each capture, in the order given
	th     diagnose.Thresholds
}

// New checks that the inputs can be merged: every shard of each capture
// there once, the same thresholds throughout.
func New(inputs []*Input) (*Set, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no reports to merge")
	}
	s := &Set{inputs: inputs, th: inputs[0].Summary.Merge.Thresholds}
	type capture struct {
		source string
		count  int
	}
	index := map[capture]int{}
	for _, in := range inputs {
		if in.Summary.Merge.Thresholds != s.th {
			return nil, fmt.Errorf("%s was judged with other diagnosis thresholds than %s: give the shards the same options", in.Name, inputs[0].Name)
		}
		c := capture{in.Summary.Source, in.shard.Count}
		g, ok := index[c]
		if !ok {
			g = len(s.groups)
			index[c] = g
			s.groups = append(s.groups, nil)
		}
		for _, o := range s.groups[g] {
			if o.shard.Index == in.shard.Index {
				return nil, fmt.Errorf("%s and %s are both shard %s of %s", o.Name, in.Name, in.shard, quote(c.source))
			}
			if o.Summary.Packets != in.Summary.Packets || o.Summary.Merge.First != in.Summary.Merge.First || o.Summary.Merge.Last != in.Summary.Merge.Last {
				return nil, fmt.Errorf("%s and %s are shards of different captures named %s: %d packets against %d", o.Name, in.Name, quote(c.source), o.Summary.Packets, in.Summary.Packets)
			}
		}
		s.groups[g] = append(s.groups[g], in)
	}
	for _, g := range s.groups {
		if len(g) != g[0].shard.Count {
			have := make([]bool, g[0].shard.Count)
			for _, in := range g {
				have[in.shard.Index] = true
			}
			missing := slices.Index(have, false)
			return nil, fmt.Errorf("shard %d/%d of %s is missing: %d of its %d shards given", missing, len(have), quote(g[0].Summary.Source), len(g), len(have))
		}
	}
	return s, nil
}

// Thresholds are those the shards judged by, which the merged report's
// diagnoses must be judged by too.
func (s *Set) Thresholds() diagnose.Thresholds { return s.th }

// Write gives rep every record, in the order and with the ids of one run,
// then the totals.
func (s *Set) Write(rep report.Reporter) error {
	type placed struct {
		rec   *flow.Record
		group int
	}
	var all []placed
	for g, ins := range s.groups {
		for _, in := range ins {
			for i := range in.Records {
				all = append(all, placed{&in.Records[i], g})
			}
		}
	}
	// The ids: one run numbers connections as they start.
	byStart := slices.Clone(all)
	slices.SortFunc(byStart, func(a, b placed) int {
		if len(s.groups) > 1 {
			if c := cmp.Compare(a.rec.First, b.rec.First); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.rec.FirstIndex, b.rec.FirstIndex))
	})
	for i, p := range byStart {
		p.rec.ID = uint64(i + 1)
	}
	slices.SortFunc(all, func(a, b placed) int {
		x, y := a.rec.Order, b.rec.Order
		return cmp.Or(cmp.Compare(x.At, y.At), cmp.Compare(a.group, b.group), x.Compare(y))
	})
	for _, p := range all {
		if err := rep.Conn(p.rec); err != nil {
			return err
		}
	}
	return rep.Finish(s.totals())
}

// totals adds up the summaries: a capture's packets once (every shard
// read all of them), its connections' counters over its shards.
func (s *Set) totals() *report.Totals {
	t := &report.Totals{}
	var sources []string
	var censuses []flow.CensusState
	seen := map[string]bool{}
	for gi, g := range s.groups {
		sum := &g[0].Summary
		sources = append(sources, sum.Source)
		t.Packets += sum.Packets
		t.TCPPackets += sum.TCPPackets
		t.NonTCP += sum.NonTCP
		t.Fragments += sum.Fragments
		t.Reassembled += sum.Reassembled
		t.DroppedDatagrams += sum.DroppedDatagrams
		t.ICMPErrors += sum.ICMPErrors
		t.Filtered += sum.Filtered
		t.Malformed += sum.Malformed
		t.Truncated += sum.Truncated
		t.BadChecksum += sum.BadChecksum
		t.BadIPChecksum += sum.BadIPSum
		if m := sum.Merge; gi == 0 || m.First < t.First {
			t.First = m.First
		}
		t.Last = max(t.Last, sum.Merge.Last)
		for _, in := range g {
			t.Flow.Idle += in.Summary.Expired
			t.Flow.Evicted += in.Summary.Evicted
			t.Flow.Reused += in.Summary.Reused
			t.Incomplete = t.Incomplete || in.Summary.Incomplete
			// Every shard met the problems of reading the capture.
			for _, w := range in.Summary.Warnings {
				if !seen[w] {
					seen[w] = true
					t.Warnings = append(t.Warnings, w)
				}
			}
			if c := in.Summary.Merge.Census; c != nil {
				censuses = append(censuses, *c)
			}
		}
	}
	t.Source = strings.Join(sources, " + ")
	t.Census = flow.MergeCensuses(censuses)
	return t
}

// quote names a capture in a message.
func quote(source string) string { return fmt.Sprintf("%q", source) }
