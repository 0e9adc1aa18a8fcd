// Package diagnose names the failures operators hit, from the finished
// connections of a capture: accept-queue overflow, SYN floods, CLOSE_WAIT
// leaks, TIME_WAIT pile-ups, half-open peers, unanswered SYNs and port
// scans, zero-window stalls, keepalive probing.
//
// Each diagnosis is a detector in a file of its own (accept_queue.go,
// syn_flood.go, ...) that registers itself: it observes every finished
// connection, keeping bounded evidence per endpoint in named fields, and
// judges that evidence. A Collector runs every registered detector: it sees
// each connection once, as it leaves the connection table; Diagnoses then
// turns the evidence into findings, worst first, each with its evidence
// (how many connections, when, example ids), an explanation and the
// settings that govern it. Every diagnosis needs more than one stray
// packet: the evidence thresholds are in Thresholds and documented in
// README.md.
package diagnose

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcpfsm/tcpfsm/flow"
)

// Severity orders diagnoses, worst first.
type Severity uint8

// Severities.
const (
	Critical Severity = iota // the service is failing clients now
	Warning                  // resources leak or connections hang
	Notice                   // suspicious, or failing for someone else
	Info                     // worth knowing
)

func (s Severity) String() string {
	return [...]string{"critical", "warning", "notice", "info"}[s]
}

// Diagnosis is one finding.
type Diagnosis struct {
	Name        string
	Severity    Severity
	Endpoint    string // "ip:port" of a listener or endpoint, or "ip" of a host
	Connections int
	First, Last int64    // Unix nanoseconds: the evidence's first and last connection times
	Examples    []uint64 // ids of example connections, at most MaxExamples
	Explanation string   // what the capture shows and what it means
	Advice      string   // the settings and commands that govern it
}

// MaxExamples bounds the example connection ids per diagnosis.
const MaxExamples = 5

// Thresholds are the evidence a diagnosis needs before it is raised.
type Thresholds struct {
	CloseWait        time.Duration // a side in CLOSE_WAIT at least this long after the peer's FIN
	TimeWaits        int           // connections one host holds in TIME_WAIT at once, having closed them actively
	SynFloodHalfOpen int           // half-open connections on one listener
	SynFloodSources  int           // from at least this many source addresses
	ScanTargets      int           // distinct host:port pairs one source tried and failed or aborted
	ZeroWindow       time.Duration // a receiver advertising a zero window at least this long
	Unanswered       int           // retransmissions or probes in a row with no answer
	SynRetries       int           // SYN retransmissions of an unanswered connection attempt
}

// DefaultThresholds are the defaults of tcpfsm's flags.
func DefaultThresholds() Thresholds {
	return Thresholds{
		CloseWait:        5 * time.Second,
		TimeWaits:        100,
		SynFloodHalfOpen: 50,
		SynFloodSources:  10,
		ScanTargets:      20,
		ZeroWindow:       2 * time.Second,
		Unanswered:       3,
		SynRetries:       2,
	}
}

// A detector is one diagnosis: what it looks for in each finished
// connection, the evidence it keeps, and how it judges it.
type detector interface {
	// observe takes one finished connection.
	observe(r *flow.Record, c *Collector)
	// findings judges the evidence kept, appending the diagnoses raised;
	// Collector.Diagnoses fills in what evidence[E] holds for every one.
	findings(c *Collector, out []Diagnosis) []Diagnosis
	// clone returns an independent copy (see Collector.Clone).
	clone() detector
}

// kind is a registered diagnosis.
type kind struct {
	name    string
	summary string // one line: what it means, for tcpfsm's list of names
	new     func() detector
}

// kinds are the registered diagnoses, in the order of their names.
var kinds []kind

// register adds a diagnosis. Each detector's file registers its own, from
// an init function.
func register(name, summary string, newDetector func() detector) {
	k := kind{name, summary, newDetector}
	i, _ := slices.BinarySearchFunc(kinds, name, func(k kind, name string) int { return cmp.Compare(k.name, name) })
	kinds = slices.Insert(kinds, i, k)
}

// Names lists every diagnosis name, in alphabetical order.
func Names() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

// Summary is a one-line description of the diagnosis name, or "" for a
// name that is not one.
func Summary(name string) string {
	for _, k := range kinds {
		if k.name == name {
			return k.summary
		}
	}
	return ""
}

// Collector accumulates evidence. It is not safe for concurrent use.
type Collector struct {
	th        Thresholds
	detectors []detector // one for each of kinds, in its order
	dropped   int        // endpoints not kept because maxKeys was reached
	// end is the latest End of the records added: the end of the capture
	// once its last record is in, since the connection of the capture's
	// last packet is reported then.
	end int64
}

// New returns an empty Collector.
func New(th Thresholds) *Collector {
	c := &Collector{th: th}
	for _, k := range kinds {
		c.detectors = append(c.detectors, k.new())
	}
	return c
}

// Add takes one finished connection's evidence.
func (c *Collector) Add(r *flow.Record) {
	c.end = max(c.end, r.End)
	for _, d := range c.detectors {
		d.observe(r, c)
	}
}

// Dropped is how many connections' evidence a diagnosis did not keep
// because it already followed MaxEndpoints endpoints.
func (c *Collector) Dropped() int { return c.dropped }

// Diagnoses returns the findings, worst first: by severity, then by the
// number of connections, then by name and endpoint so the order is stable.
func (c *Collector) Diagnoses() []Diagnosis {
	var out []Diagnosis
	for _, d := range c.detectors {
		out = d.findings(c, out)
	}
	slices.SortFunc(out, func(x, y Diagnosis) int {
		return cmp.Or(cmp.Compare(x.Severity, y.Severity), cmp.Compare(y.Connections, x.Connections),
			cmp.Compare(x.Name, y.Name), cmp.Compare(x.Endpoint, y.Endpoint))
	})
	return out
}

// Clone returns an independent copy of the collector, so that connections
// still open can be judged provisionally (a live display asks "what would
// be diagnosed now?") without their evidence being counted twice when they
// end.
func (c *Collector) Clone() *Collector {
	out := &Collector{th: c.th, dropped: c.dropped, end: c.end}
	for _, d := range c.detectors {
		out.detectors = append(out.detectors, d.clone())
	}
	return out
}

// detectorOf returns the collector's detector of type D, for a diagnosis
// whose words draw on another's evidence.
func detectorOf[D detector](c *Collector) D {
	for _, d := range c.detectors {
		if x, ok := d.(D); ok {
			return x
		}
	}
	panic("diagnose: detector not registered")
}
