package pipeline

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/report"
)

// recorder is a Reporter that keeps what it is given, and fails from the
// failAt'th connection on if failAt is set.
type recorder struct {
	conns  []uint64 // ids, in the order reported
	traces int
	events int
	ticks  []int64
	failAt int
}

var errFull = errors.New("disk full")

func (r *recorder) Conn(rec *flow.Record) error {
	r.conns = append(r.conns, rec.ID)
	if r.failAt > 0 && len(r.conns) >= r.failAt {
		return errFull
	}
	return nil
}
func (r *recorder) Trace(*report.TraceLine) error { r.traces++; return nil }
func (r *recorder) Event(*report.Event) error     { r.events++; return nil }
func (r *recorder) Tick(t *report.Tick) error     { r.ticks = append(r.ticks, t.Time); return nil }
func (r *recorder) Finish(*report.Totals) error   { return nil }

// kernel is a capture the kernel recorded, in testdata/kernel.
func kernel(name string) string { return filepath.Join("..", "..", "..", "testdata", "kernel", name) }

// outcome is one Run over a capture file, with what it reported.
type outcome struct {
	res      Result
	err      error
	rep      *recorder
	tot      *report.Totals
	warnings []string
	closed   int
}

// runOn runs the pipeline over the capture at path with opt's settings
// (Source, Close, Reporter, Totals and Warn are filled in here).
func runOn(t *testing.T, path string, opt Options, rep *recorder) *outcome {
	t.Helper()
	a := &outcome{rep: rep, tot: &report.Totals{}}
	warn := func(err error) { a.warnings = append(a.warnings, err.Error()) }
	r, err := capture.Open(path, capture.Options{Warn: warn})
	if err != nil {
		t.Fatal(err)
	}
	opt.Source, opt.Reporter, opt.Totals, opt.Warn = r, rep, a.tot, warn
	opt.Close = func() error { a.closed++; return r.Close() }
	opt.Flow.IdleTimeout, opt.Flow.CloseDelay = flow.DefaultIdleTimeout, flow.DefaultCloseDelay
	a.res, a.err = Run(opt)
	if a.closed != 1 {
		t.Errorf("source closed %d times, want once", a.closed)
	}
	return a
}

// Run reads a capture to its end and reports every connection in it,
// with the same connections whichever number of tables share the work;
// Count and Duration stop it early, at the packet they name.
func TestRun(t *testing.T) {
	whole := runOn(t, kernel("diag-busy-normal.pcap"), Options{Jobs: 1}, &recorder{})
	if whole.err != nil || whole.res != (Result{}) || len(whole.warnings) > 0 {
		t.Fatalf("Run: %+v, %v, warnings %q", whole.res, whole.err, whole.warnings)
	}
	tot := whole.tot
	if len(whole.rep.conns) < 10 || tot.TCPPackets < 100 || tot.TCPPackets != tot.Packets || tot.Incomplete {
		t.Fatalf("%d connections, totals %+v: want a complete capture of some size", len(whole.rep.conns), tot)
	}
	duration := time.Duration(tot.Last-tot.First) / 2

	for _, tt := range []struct {
		name        string
		opt         Options
		wantPackets func(p uint64) bool
	}{
		{"4 tables", Options{Jobs: 4}, func(p uint64) bool { return p == tot.TCPPackets }},
		{"Count", Options{Jobs: 1, Count: 25}, func(p uint64) bool { return p == 25 }},
		{"Duration", Options{Jobs: 1, Duration: duration}, func(p uint64) bool { return p > 0 && p < tot.TCPPackets }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := runOn(t, kernel("diag-busy-normal.pcap"), tt.opt, &recorder{})
			if a.err != nil || a.res != (Result{}) {
				t.Fatalf("Run: %+v, %v", a.res, a.err)
			}
			if !tt.wantPackets(a.tot.TCPPackets) || a.tot.Packets != a.tot.TCPPackets {
				t.Errorf("%d TCP packets of %d read", a.tot.TCPPackets, a.tot.Packets)
			}
			if tt.opt.Duration > 0 && time.Duration(a.tot.Last-a.tot.First) >= tt.opt.Duration {
				t.Errorf("packets from %d to %d: past the duration %v", a.tot.First, a.tot.Last, tt.opt.Duration)
			}
			if tt.opt.Jobs > 1 {
				got, want := slices.Sorted(slices.Values(a.rep.conns)), slices.Sorted(slices.Values(whole.rep.conns))
				if !slices.Equal(got, want) {
					t.Errorf("connections %v, want those of one table %v", got, want)
				}
			}
		})
	}
}

// Trace and Events reach the reporter only when asked for, and a census
// comes every Interval of capture time, on its boundaries.
func TestRunStream(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		opt                  Options
		traces, events, tick bool
	}{
		{"neither", Options{Jobs: 4}, false, false, false},
		{"Trace", Options{Jobs: 4, Trace: true}, true, false, false},
		{"Events", Options{Jobs: 4, Events: true}, false, true, false},
		{"Events and Interval", Options{Jobs: 4, Events: true, Interval: 100 * time.Millisecond}, false, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := runOn(t, kernel("diag-busy-normal.pcap"), tt.opt, &recorder{})
			if a.err != nil {
				t.Fatal(a.err)
			}
			r := a.rep
			if (r.traces > 0) != tt.traces || (r.events > 0) != tt.events || (len(r.ticks) > 0) != tt.tick {
				t.Errorf("%d trace lines, %d events, %d census ticks; want them: %v, %v, %v", r.traces, r.events, len(r.ticks), tt.traces, tt.events, tt.tick)
			}
			if tt.traces && uint64(r.traces) != a.tot.TCPPackets {
				t.Errorf("%d trace lines for %d TCP packets", r.traces, a.tot.TCPPackets)
			}
			for i, at := range r.ticks {
				if (at-a.tot.First)%int64(tt.opt.Interval) != 0 || at > a.tot.Last || (i > 0 && at <= r.ticks[i-1]) {
					t.Errorf("census %d at %d: not a boundary of %v from %d, in order, within the capture", i, at, tt.opt.Interval, a.tot.First)
				}
			}
		})
	}
}

// How the reading ends otherwise: a stop request, a report that cannot be
// written, a capture cut short, a source whose Close fails.
func TestRunEnds(t *testing.T) {
	stopped := new(atomic.Bool)
	stopped.Store(true)
	whole := runOn(t, kernel("diag-busy-normal.pcap"), Options{Jobs: 1}, &recorder{})
	for _, tt := range []struct {
		name    string
		path    string
		opt     Options
		rep     recorder
		wantErr error
		want    Result
		check   func(a *outcome) string
	}{
		{name: "a stop request", path: kernel("diag-busy-normal.pcap"), opt: Options{Jobs: 1, Stop: stopped},
			want: Result{Interrupted: true}, check: func(a *outcome) string {
				if a.tot.Packets != 0 || len(a.rep.conns) != 0 {
					return fmt.Sprintf("%d packets read, %d connections reported after the stop", a.tot.Packets, len(a.rep.conns))
				}
				return ""
			}},
		{name: "the report cannot be written", path: kernel("diag-busy-normal.pcap"), opt: Options{Jobs: 1}, rep: recorder{failAt: 2},
			wantErr: errFull, check: func(a *outcome) string {
				// The connections still open are flushed all the same.
				if a.tot.TCPPackets >= whole.tot.TCPPackets {
					return fmt.Sprintf("%d TCP packets read, of %d: the reading went on after the error", a.tot.TCPPackets, whole.tot.TCPPackets)
				}
				return ""
			}},
		{name: "a capture cut short", path: filepath.Join("..", "..", "..", "testdata", "hostile", "record-cut.pcap"), opt: Options{Jobs: 1},
			check: func(a *outcome) string {
				if !a.tot.Incomplete || len(a.warnings) != 1 || !strings.Contains(a.warnings[0], "record-cut.pcap: packet") {
					return fmt.Sprintf("incomplete %v, warnings %q: want incomplete, and the file's error", a.tot.Incomplete, a.warnings)
				}
				return ""
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.rep
			a := runOn(t, tt.path, tt.opt, &rep)
			if !errors.Is(a.err, tt.wantErr) || (a.err == nil) != (tt.wantErr == nil) || a.res != tt.want {
				t.Errorf("Run: %+v, %v; want %+v, %v", a.res, a.err, tt.want, tt.wantErr)
			}
			if msg := tt.check(a); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// Close's error: a -w file that cannot be written goes to SaveFailed and
// into the Result; another to Warn, unless the report failed first.
func TestRunCloseError(t *testing.T) {
	saveErr := fmt.Errorf("%w: %w", capture.ErrSave, errFull)
	other := errors.New("closing: input/output error")
	for _, tt := range []struct {
		name         string
		closeErr     error
		saveFailed   bool // SaveFailed set
		failReport   bool
		want         Result
		wantSaid     []string // what SaveFailed was told
		wantWarnings []string
	}{
		{"-w failed", saveErr, true, false, Result{SaveErr: saveErr}, []string{saveErr.Error()}, nil},
		{"-w failed, no SaveFailed", saveErr, false, false, Result{SaveErr: saveErr}, nil, []string{saveErr.Error()}},
		{"another error", other, true, false, Result{}, nil, []string{other.Error()}},
		{"another error after the report failed", other, true, true, Result{}, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var said, warnings []string
			r, err := capture.Open(kernel("normal-client-close.pcap"), capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep := &recorder{}
			if tt.failReport {
				rep.failAt = 1
			}
			opt := Options{
				Source: r, Close: func() error { r.Close(); return tt.closeErr },
				Reporter: rep, Totals: &report.Totals{}, Jobs: 1,
				Warn: func(err error) { warnings = append(warnings, err.Error()) },
			}
			if tt.saveFailed {
				opt.SaveFailed = func(err error) { said = append(said, err.Error()) }
			}
			res, _ := Run(opt)
			if res != tt.want || !slices.Equal(said, tt.wantSaid) || !slices.Equal(warnings, tt.wantWarnings) {
				t.Errorf("Run: %+v, SaveFailed told %q, warnings %q; want %+v, %q, %q", res, said, warnings, tt.want, tt.wantSaid, tt.wantWarnings)
			}
		})
	}
}
