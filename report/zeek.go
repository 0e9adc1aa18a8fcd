package report

import (
	"bufio"
	"encoding/binary"
	"hash/fnv"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpfsm/tcpfsm/flow"
)

// The Zeek format is a conn.log in Zeek's TSV layout, header lines
// included, so that zeek-cut and existing log pipelines read it. Times come
// from the capture, never the clock, so the same capture gives the same log.

var zeekFields = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
	"duration", "orig_bytes", "resp_bytes", "conn_state", "history",
	"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
}

var zeekTypes = []string{
	"time", "string", "addr", "port", "addr", "port", "enum",
	"interval", "count", "count", "string", "string",
	"count", "count", "count", "count",
}

type zeekReporter struct {
	w      *bufio.Writer
	header bool
	line   []byte
	stream bool // write every row out at once
}

func newZeek(w io.Writer, stream bool) *zeekReporter {
	return &zeekReporter{w: bufio.NewWriterSize(w, 64<<10), stream: stream}
}

// zeekTime formats a log timestamp as Zeek's #open and #close lines do.
func zeekTime(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02-15-04-05") }

func (z *zeekReporter) writeHeader(first int64) {
	z.header = true
	z.w.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
	z.w.WriteString("#open\t" + zeekTime(first) + "\n#fields")
	for _, f := range zeekFields {
		z.w.WriteString("\t" + f)
	}
	z.w.WriteString("\n#types")
	for _, t := range zeekTypes {
		z.w.WriteString("\t" + t)
	}
	z.w.WriteByte('\n')
}

func (z *zeekReporter) Conn(r *flow.Record) error {
	if !z.header {
		z.writeHeader(r.First)
	}
	s := &r.Zeek
	orig, resp := r.ClientAddr, r.ServerAddr
	if !s.OrigIsClient {
		orig, resp = resp, orig
	}
	b := z.line[:0]
	b = appendZeekTime(b, r.First)
	b = append(b, '\t')
	b = append(b, zeekUID(r)...)
	b = appendEndpoint(b, orig)
	b = appendEndpoint(b, resp)
	b = append(b, "\ttcp\t"...)
	if s.Duration > 0 {
		b = appendZeekTime(b, s.Duration)
	} else {
		b = append(b, '-')
	}
	if s.HaveBytes {
		b = append(b, '\t')
		b = strconv.AppendUint(b, s.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, s.RespBytes, 10)
	} else {
		b = append(b, "\t-\t-"...)
	}
	b = append(b, '\t')
	b = append(b, s.State...)
	b = append(b, '\t')
	if s.History == "" {
		b = append(b, '-')
	} else {
		b = append(b, s.History...)
	}
	for _, n := range [...]uint64{s.OrigPkts, s.OrigIPBytes, s.RespPkts, s.RespIPBytes} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, n, 10)
	}
	b = append(b, '\n')
	z.line = b
	if _, err := z.w.Write(b); err != nil || !z.stream {
		return err
	}
	return z.w.Flush()
}

// Trace lines, events and censuses have no place in a conn.log.
func (z *zeekReporter) Trace(*TraceLine) error { return nil }
func (z *zeekReporter) Event(*Event) error     { return nil }
func (z *zeekReporter) Tick(*Tick) error       { return nil }

func (z *zeekReporter) Finish(t *Totals) error {
	if !z.header {
		z.writeHeader(t.First)
	}
	if !t.Interrupted {
		z.w.WriteString("#close\t" + zeekTime(t.Last) + "\n")
	}
	return z.w.Flush()
}

// appendZeekTime writes seconds with six decimals, as Zeek logs time and
// interval values.
func appendZeekTime(b []byte, ns int64) []byte {
	t, _ := unixTime(ns).MarshalJSON()
	return append(b, t...)
}

func appendEndpoint(b []byte, ap netip.AddrPort) []byte {
	b = append(b, '\t')
	b = ap.Addr().Unmap().AppendTo(b)
	b = append(b, '\t')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// zeekUID is a Zeek-shaped connection id ("C" and 17 base-62 digits), made
// by hashing the connection's endpoints and start time rather than drawn at
// random, so that the same capture always gives the same ids.
func zeekUID(r *flow.Record) []byte {
	var key [2*18 + 8]byte
	for i, ap := range [2]netip.AddrPort{r.ClientAddr, r.ServerAddr} {
		a := ap.Addr().As16()
		copy(key[i*18:], a[:])
		binary.BigEndian.PutUint16(key[i*18+16:], ap.Port())
	}
	binary.BigEndian.PutUint64(key[36:], uint64(r.First))
	h := fnv.New64a()
	h.Write(key[:])
	hi := h.Sum64()
	h.Write([]byte{0}) // a second, different 64-bit value for the last digits
	lo := h.Sum64()

	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	uid := make([]byte, 18)
	uid[0] = 'C'
	for i := 1; i < 18; i++ {
		v := &hi
		if i > 9 {
			v = &lo
		}
		uid[i] = digits[*v%62]
		*v /= 62
	}
	return uid
}
