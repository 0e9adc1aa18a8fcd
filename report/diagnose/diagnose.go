// Package diagnose names the failures operators hit, from the finished
// connections of a capture: accept-queue overflow, SYN floods, CLOSE_WAIT
// leaks, TIME_WAIT pile-ups, half-open peers, unanswered SYNs and port
// scans, zero-window stalls, keepalive probing.
//
// A Collector sees each connection once, as it leaves the connection table,
// and keeps only bounded aggregates per endpoint; Diagnoses then turns them
// into findings, worst first, each with its evidence (how many
// connections, when, example ids), an explanation and the settings that
// govern it. Every diagnosis needs more than one stray packet: the evidence
// thresholds are in Thresholds and documented in README.md.
package diagnose

import (
	"cmp"
	"maps"
	"net/netip"
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

// Diagnosis names. They are stable: scripts match on them.
const (
	AcceptQueueOverflow = "accept_queue_overflow"
	SynFlood            = "syn_flood"
	CloseWaitLeak       = "close_wait_leak"
	TimeWaitPileup      = "time_wait_pileup"
	HalfOpenPeer        = "half_open_peer"
	SynUnanswered       = "syn_unanswered"
	PortScan            = "port_scan"
	ZeroWindowStall     = "zero_window_stall"
	Keepalive           = "keepalive"
)

// Names lists every diagnosis name.
var Names = []string{
	AcceptQueueOverflow, SynFlood, CloseWaitLeak, TimeWaitPileup, HalfOpenPeer,
	SynUnanswered, PortScan, ZeroWindowStall, Keepalive,
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

// maxKeys bounds the endpoints tracked per diagnosis, and maxSources the
// distinct addresses remembered per aggregate; beyond, only counts grow.
const (
	maxKeys    = 16384
	maxSources = 4096
)

// key identifies an aggregate: a diagnosis at an endpoint (a host has port 0).
type key struct {
	name string
	ep   netip.AddrPort
}

// agg is the evidence gathered for one key.
type agg struct {
	n           int
	first, last int64
	examples    []uint64
	// Per-diagnosis counters; the meaning of each is given where it is
	// filled in (see observe).
	a, b, c   int
	longest   int64
	sum       int64 // see observe.go
	sources   set[netip.Addr]
	targets   set[netip.AddrPort] // port_scan: the host:port pairs tried
	times     []int64             // a retry schedule of the first example (see observe)
	timeWaits timeWaits           // time_wait_pileup
}

func (g *agg) add(r *flow.Record) {
	if g.n == 0 || r.First < g.first {
		g.first = r.First
	}
	g.last = max(g.last, r.Last)
	g.n++
	if len(g.examples) < MaxExamples {
		g.examples = append(g.examples, r.ID)
	}
}

func (g *agg) addSource(a netip.Addr) { g.sources.add(a) }

// set is a set of at most maxSources members that keeps its first two
// inline: most aggregates see one or two (a SYN flood from spoofed
// addresses makes one per source), and a map each would cost more than
// the rest of the aggregate.
type set[T comparable] struct {
	few  [2]T
	n    uint8 // members in few, until many takes over
	many map[T]struct{}
	full bool // a member was left out at the bound
}

func (s *set[T]) add(v T) {
	if s.many == nil {
		for i := range s.n {
			if s.few[i] == v {
				return
			}
		}
		if int(s.n) < len(s.few) {
			s.few[s.n] = v
			s.n++
			return
		}
		s.many = make(map[T]struct{}, 2*len(s.few))
		for _, m := range s.few {
			s.many[m] = struct{}{}
		}
	}
	if _, ok := s.many[v]; ok {
		return
	}
	if len(s.many) < maxSources {
		s.many[v] = struct{}{}
	} else {
		s.full = true
	}
}

func (s *set[T]) len() int {
	if s.many != nil {
		return len(s.many)
	}
	return int(s.n)
}

func (s *set[T]) clone() set[T] {
	c := *s
	c.many = maps.Clone(s.many)
	return c
}

// Collector accumulates evidence. It is not safe for concurrent use.
type Collector struct {
	th      Thresholds
	aggs    map[key]*agg
	keys    map[string]int // aggregates per diagnosis name
	dropped int            // aggregates not kept because maxKeys was reached
	// end is the latest End of the records added: the end of the capture
	// once its last record is in, since the connection of the capture's
	// last packet is reported then.
	end int64
}

// New returns an empty Collector.
func New(th Thresholds) *Collector {
	return &Collector{th: th, aggs: map[key]*agg{}, keys: map[string]int{}}
}

// get returns the aggregate for name at ep, creating it.
func (c *Collector) get(name string, ep netip.AddrPort) *agg {
	k := key{name, ep}
	g := c.aggs[k]
	if g == nil {
		// Each diagnosis has its own budget, so that the hosts of a busy
		// capture, which each may close actively (time_wait_pileup),
		// cannot crowd out its listeners.
		if c.keys[name] >= maxKeys {
			c.dropped++
			return &agg{} // counted nowhere: the caller's update is lost
		}
		c.keys[name]++
		g = &agg{}
		c.aggs[k] = g
	}
	return g
}

// Diagnoses returns the findings, worst first: by severity, then by the
// number of connections, then by name and endpoint so the order is stable.
func (c *Collector) Diagnoses() []Diagnosis {
	var out []Diagnosis
	for k, g := range c.aggs {
		if d, ok := c.judge(k, g); ok {
			d.Name, d.Connections, d.First, d.Last, d.Examples = k.name, g.n, g.first, g.last, g.examples
			if k.ep.Port() == 0 {
				d.Endpoint = k.ep.Addr().Unmap().String()
			} else {
				d.Endpoint = netip.AddrPortFrom(k.ep.Addr().Unmap(), k.ep.Port()).String()
			}
			out = append(out, d)
		}
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
	out := &Collector{th: c.th, aggs: make(map[key]*agg, len(c.aggs)), keys: maps.Clone(c.keys), dropped: c.dropped, end: c.end}
	for k, g := range c.aggs {
		cp := *g
		cp.examples = slices.Clone(g.examples)
		cp.times = slices.Clone(g.times)
		cp.timeWaits = g.timeWaits.clone()
		cp.sources = g.sources.clone()
		cp.targets = g.targets.clone()
		out.aggs[k] = &cp
	}
	return out
}
