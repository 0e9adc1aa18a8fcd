package report

import (
	"encoding/json"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// A JSONTap passes everything to the reporter it wraps, and gives code that
// reads the json format (report/check's rules, which --fail-on evaluates)
// what that format says of the analysis, whatever format is written: each
// connection's line as it goes by, and, once the connections are in, the
// summary's diagnoses. The diagnoses are the wrapped reporter's own, judged
// once: the tap judges only for a format that writes none (zeek).
type JSONTap struct {
	Reporter
	conn func(line []byte) error
	buf  []byte
	// diag judges the connections when the wrapped reporter does not.
	diag *diagnose.Collector
}

// diagnoser is a reporter that judges the diagnoses its summary writes.
type diagnoser interface {
	judged() []diagnose.Diagnosis
}

func (t *textReporter) judged() []diagnose.Diagnosis    { return t.sum.diag.Diagnoses() }
func (j *jsonReporter) judged() []diagnose.Diagnosis    { return j.sum.diag.Diagnoses() }
func (p *parquetReporter) judged() []diagnose.Diagnosis { return p.sum.judged() }
func (h *htmlReporter) judged() []diagnose.Diagnosis    { return h.sum.diag.Diagnoses() }

// TapJSON returns inner with conn given the JSON line of each connection
// (without its newline, valid only during the call) before inner is given
// the connection; an error from conn is the reporter's. th are inner's
// thresholds, used only when inner judges no diagnoses.
func TapJSON(inner Reporter, th diagnose.Thresholds, conn func(line []byte) error) *JSONTap {
	t := &JSONTap{Reporter: inner, conn: conn}
	if _, ok := inner.(diagnoser); !ok {
		t.diag = diagnose.New(th)
	}
	return t
}

// Conn gives the connection's JSON line to the tap's reader, then the
// connection to the wrapped reporter.
func (t *JSONTap) Conn(r *flow.Record) error {
	if t.diag != nil {
		t.diag.Add(r)
	}
	t.buf = appendConnJSON(t.buf[:0], r)
	if err := t.conn(t.buf); err != nil {
		return err
	}
	return t.Reporter.Conn(r)
}

// Summary returns the json format's summary line as far as the judging of
// the connections given so far goes: its type and its diagnoses.
func (t *JSONTap) Summary() ([]byte, error) {
	var ds []diagnose.Diagnosis
	if t.diag != nil {
		ds = t.diag.Diagnoses()
	} else {
		ds = t.Reporter.(diagnoser).judged()
	}
	return json.Marshal(struct {
		Type      string     `json:"type"`
		Diagnoses []jsonDiag `json:"diagnoses"`
	}{"summary", diagJSON(ds)})
}
