package check

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/fsm"
	names "github.com/tcpfsm/tcpfsm/report" // its Suggest and FindingNames
)

// A Rule is one line of an expectations file: a statement about the
// analysis of a capture that holds or fails. The syntax, one rule a line
// and # for comments (README.md, "Regression checks", has the full list):
//
//	no NAME [SCOPE]                                  a diagnosis, anomaly or label never seen
//	every connection [SCOPE] completes its handshake
//	every connection [SCOPE] has FIELD OP VALUE
//	at least N connections [SCOPE]                    also: at most N connections [SCOPE]
//	connections [SCOPE] OP N
//	FIELD [AGGREGATE] [SCOPE] OP VALUE               a connection field over the connections
//	COUNTER OP N                                     a number of the summary: evicted, handshakes.refused
//
// SCOPE is "to ENDPOINT" (the server), "from ENDPOINT" (the client) or
// both; ENDPOINT is an address, a prefix, ":PORT", or ADDR:PORT. AGGREGATE
// is sum (the default for counts), min, max, mean, median or pNN (p99,
// p99.9); durations need one. OP is one of == != < <= > >=.
type Rule struct {
	Text string // the rule as written, without its comment
	File string
	Line int

	kind    ruleKind
	name    string // ruleNo
	scope   scope
	field   *field
	agg     string // "sum", "min", "max", "mean" or "p" with pct
	pct     float64
	op      string
	num     float64 // the value for counts (and seconds for durations)
	word    string  // the value for words
	counter []string
}

type ruleKind int

const (
	ruleNo ruleKind = iota
	ruleEvery
	ruleConnections
	ruleField
	ruleCounter
)

// No returns the rule "no NAME" over the whole capture, for a name
// report.FindingNames lists (one that is not is never found): what
// --fail-on NAME checks.
func No(name string) *Rule {
	return &Rule{Text: "no " + name, kind: ruleNo, name: name}
}

// ParseError is a syntax error, with the line and column it is at.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// maxWord is the longest word a rule can hold (an IPv6 address with a
// prefix or a port is about 50 characters); excerptRunes how much of a
// longer one an error quotes.
const (
	maxWord      = 64
	excerptRunes = 16
)

// ParseRules reads an expectations file; file names it in errors. An
// error quotes the words it is about (%q: escaped), each at most maxWord
// characters, so a file that is not a rules file is never echoed.
func ParseRules(r io.Reader, file string) ([]*Rule, error) {
	var rules []*Rule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if n == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte order mark some editors write
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		toks := tokenize(text)
		if len(toks) == 0 {
			continue
		}
		for _, t := range toks {
			if runes := utf8.RuneCountInString(t.text); runes > maxWord {
				// Not a rules file, perhaps not meant to be read: quote
				// no more of it than a short excerpt.
				return nil, &ParseError{File: file, Line: n, Col: t.col,
					Msg: fmt.Sprintf("%q…: a word of %d characters is part of no rule", string([]rune(t.text)[:excerptRunes]), runes)}
			}
		}
		p := &parser{file: file, line: n, toks: toks}
		rule, err := p.rule()
		if err != nil {
			return nil, err
		}
		rule.Text, rule.File, rule.Line = strings.Join(strings.Fields(text), " "), file, n
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return rules, nil
}

// token is a word or an operator, with its 1-based column.
type token struct {
	text string
	col  int
}

// tokenize splits a line into words and the comparison operators, which
// need no spaces around them ("retransmits<=3").
func tokenize(line string) []token {
	var toks []token
	isOp := func(r rune) bool { return strings.ContainsRune("<>=!", r) }
	start := -1
	flush := func(end int) {
		if start >= 0 {
			toks = append(toks, token{line[start:end], utf8Col(line, start)})
			start = -1
		}
	}
	for i, r := range line {
		switch {
		case r == ' ' || r == '\t':
			flush(i)
		case isOp(r):
			if start >= 0 && !isOp(rune(line[start])) {
				flush(i)
			}
			if start < 0 {
				start = i
			}
		default:
			if start >= 0 && isOp(rune(line[start])) {
				flush(i)
			}
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(line))
	return toks
}

func utf8Col(line string, byteOff int) int { return len([]rune(line[:byteOff])) + 1 }

type parser struct {
	file string
	line int
	toks []token
	i    int
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

// end stands for the end of the line in errors.
func (p *parser) end() token {
	if len(p.toks) == 0 {
		return token{col: 1}
	}
	last := p.toks[len(p.toks)-1]
	return token{col: last.col + len([]rune(last.text))}
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return p.end(), false
}

func (p *parser) next(what string) (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, p.errAt(t, "want %s, found the end of the line", what)
	}
	p.i++
	return t, nil
}

func (p *parser) expect(words ...string) error {
	for _, w := range words {
		t, err := p.next(strconv.Quote(w))
		if err != nil {
			return err
		}
		if t.text != w {
			return p.errAt(t, "want %q, found %q", w, t.text)
		}
	}
	return nil
}

func (p *parser) done() error {
	if t, ok := p.peek(); ok {
		return p.errAt(t, "unexpected %q after a complete rule", t.text)
	}
	return nil
}

func (p *parser) rule() (*Rule, error) {
	t, _ := p.next("a rule")
	r := &Rule{}
	switch t.text {
	case "no":
		r.kind = ruleNo
		n, err := p.next("a diagnosis, anomaly or label name")
		if err != nil {
			return nil, err
		}
		if !slices.Contains(findingNames(), n.text) {
			return nil, p.errAt(n, "%q is not a diagnosis, anomaly or label%s", n.text, suggest(n.text, findingNames()))
		}
		r.name = n.text
		if err := p.scope(&r.scope); err != nil {
			return nil, err
		}
		return r, p.done()
	case "every":
		r.kind = ruleEvery
		if err := p.connectionWord(); err != nil {
			return nil, err
		}
		if err := p.scope(&r.scope); err != nil {
			return nil, err
		}
		v, err := p.next(`"completes its handshake" or "has FIELD OP VALUE"`)
		if err != nil {
			return nil, err
		}
		switch v.text {
		case "completes":
			if err := p.expect("its", "handshake"); err != nil {
				return nil, err
			}
			r.field, r.op, r.word = connFields["handshake"], "==", fsm.HandshakeComplete
		case "has":
			if err := p.comparison(r, true); err != nil {
				return nil, err
			}
		default:
			return nil, p.errAt(v, `want "completes its handshake" or "has FIELD OP VALUE", found %q`, v.text)
		}
		return r, p.done()
	case "at":
		r.kind = ruleConnections
		q, err := p.next(`"least" or "most"`)
		if err != nil {
			return nil, err
		}
		switch q.text {
		case "least":
			r.op = ">="
		case "most":
			r.op = "<="
		default:
			return nil, p.errAt(q, `want "at least" or "at most", found "at %s"`, q.text)
		}
		if r.num, err = p.count(); err != nil {
			return nil, err
		}
		if err := p.connectionWord(); err != nil {
			return nil, err
		}
		if err := p.scope(&r.scope); err != nil {
			return nil, err
		}
		return r, p.done()
	case "connections", "connection":
		r.kind = ruleConnections
		if err := p.scope(&r.scope); err != nil {
			return nil, err
		}
		if r.op, _ = p.operator(); r.op == "" {
			t, _ := p.peek()
			return nil, p.errAt(t, "want an operator (== != < <= > >=)")
		}
		var err error
		r.num, err = p.count()
		if err != nil {
			return nil, err
		}
		return r, p.done()
	}
	if f, ok := connFields[t.text]; ok {
		r.kind, r.field = ruleField, f
		if err := p.aggregate(r, t); err != nil {
			return nil, err
		}
		if err := p.scope(&r.scope); err != nil {
			return nil, err
		}
		if err := p.comparison(r, false); err != nil {
			return nil, err
		}
		return r, p.done()
	}
	path, err := counterPath(t.text)
	if err != nil {
		return nil, p.errAt(t, "%v", err)
	}
	r.kind, r.counter = ruleCounter, path
	if r.op, _ = p.operator(); r.op == "" {
		t, _ := p.peek()
		return nil, p.errAt(t, "want an operator (== != < <= > >=) after %s", path[len(path)-1])
	}
	if r.num, err = p.count(); err != nil {
		return nil, err
	}
	return r, p.done()
}

func (p *parser) connectionWord() error {
	t, err := p.next(`"connection"`)
	if err != nil {
		return err
	}
	if t.text != "connection" && t.text != "connections" {
		return p.errAt(t, `want "connection", found %q`, t.text)
	}
	return nil
}

func (p *parser) scope(s *scope) error {
	for {
		t, ok := p.peek()
		if !ok || t.text != "to" && t.text != "from" {
			return nil
		}
		p.i++
		e, err := p.next("an endpoint (10.0.0.2, 10.0.0.0/8, :9502, 10.0.0.2:9502, [::1]:9502)")
		if err != nil {
			return err
		}
		m, err := parseEndpoint(e.text)
		if err != nil {
			return p.errAt(e, "%v", err)
		}
		dst := &s.to
		if t.text == "from" {
			dst = &s.from
		}
		if *dst != nil {
			return p.errAt(t, "%q given twice", t.text)
		}
		*dst = m
	}
}

func (p *parser) operator() (string, bool) {
	t, ok := p.peek()
	if !ok {
		return "", false
	}
	switch t.text {
	case "==", "!=", "<", "<=", ">", ">=":
		p.i++
		return t.text, true
	}
	return "", false
}

func (p *parser) count() (float64, error) {
	t, err := p.next("a number")
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(t.text, 10, 53)
	if err != nil {
		return 0, p.errAt(t, "want a whole number of connections, found %q", t.text)
	}
	return float64(v), nil
}

// aggregate reads an optional aggregate after the field name at t.
func (p *parser) aggregate(r *Rule, name token) error {
	t, ok := p.peek()
	if ok {
		switch {
		case t.text == "sum" || t.text == "min" || t.text == "max" || t.text == "mean":
			r.agg = t.text
		case t.text == "median":
			r.agg, r.pct = "p", 50
		case strings.HasPrefix(t.text, "p") && len(t.text) > 1 && t.text[1] >= '0' && t.text[1] <= '9':
			v, err := strconv.ParseFloat(t.text[1:], 64)
			if err != nil || v <= 0 || v > 100 {
				return p.errAt(t, "%q: want a percentile from p0.1 to p100", t.text)
			}
			r.agg, r.pct = "p", v
		}
	}
	if r.agg != "" {
		p.i++
	}
	switch {
	case r.agg == "" && r.field.kind == kindCount:
		r.agg = "sum"
	case r.agg == "":
		return p.errAt(name, "%s is a %s: say which over the connections: min, max, mean, median or a percentile (p99)", name.text, r.field.kind)
	case r.agg == "sum" && r.field.kind == kindWord:
		return p.errAt(t, "%s is a word; it has no sum", name.text)
	case r.field.kind == kindWord:
		return p.errAt(t, "%s is a word: compare it with \"every connection has %s == ...\"", name.text, name.text)
	}
	return nil
}

// comparison reads OP VALUE for r.field; every says whether it is
// about each connection (words allowed) or an aggregate.
func (p *parser) comparison(r *Rule, every bool) error {
	if every {
		t, err := p.next("a connection field")
		if err != nil {
			return err
		}
		f, ok := connFields[t.text]
		if !ok {
			return p.errAt(t, "%q is not a connection field%s", t.text, suggest(t.text, fieldNames()))
		}
		r.field = f
	}
	op, ok := p.operator()
	if !ok {
		t, _ := p.peek()
		return p.errAt(t, "want an operator (== != < <= > >=) after %s", r.field.name)
	}
	r.op = op
	v, err := p.next("a value")
	if err != nil {
		return err
	}
	switch r.field.kind {
	case kindWord:
		if op != "==" && op != "!=" {
			return p.errAt(v, "%s is a word: compare it with == or !=", r.field.name)
		}
		if r.field.words != nil && !slices.Contains(r.field.words, v.text) {
			return p.errAt(v, "%q is not a value of %s (%s)", v.text, r.field.name, strings.Join(r.field.words, ", "))
		}
		r.word = v.text
	case kindDuration:
		d, err := time.ParseDuration(v.text)
		if err == nil && d < 0 {
			return p.errAt(v, "%s is a duration, never negative: found %q", r.field.name, v.text)
		}
		if err != nil {
			return p.errAt(v, "%s is a duration: want a value with a unit such as 5ms or 1.5s, found %q", r.field.name, v.text)
		}
		r.num = d.Seconds()
	default:
		n, err := strconv.ParseFloat(v.text, 64)
		if err != nil || math.IsNaN(n) {
			return p.errAt(v, "%s is a count: want a number, found %q", r.field.name, v.text)
		}
		r.num = n
	}
	return nil
}

// findingNames are what "no NAME" accepts.
func findingNames() []string { return names.FindingNames() }

// suggest returns ": did you mean X?" for the closest name, if close.
func suggest(got string, list []string) string { return names.Suggest(got, list) }

// scope restricts a rule to some connections.
type scope struct {
	to, from *endpoint // nil: any
}

func (s scope) String() string {
	var parts []string
	if s.from != nil {
		parts = append(parts, "from "+s.from.text)
	}
	if s.to != nil {
		parts = append(parts, "to "+s.to.text)
	}
	return strings.Join(parts, " ")
}

func (s scope) matches(c map[string]any) bool {
	return s.to.matches(c["server"]) && s.from.matches(c["client"])
}

// endpoint matches an address:port by prefix and port.
type endpoint struct {
	text   string
	prefix netip.Prefix // invalid: any address
	port   uint16       // 0: any port
}

func parseEndpoint(s string) (*endpoint, error) {
	e := &endpoint{text: s}
	host := s
	if ap, err := netip.ParseAddrPort(s); err == nil {
		host, e.port = "", ap.Port()
		e.prefix = netip.PrefixFrom(ap.Addr().Unmap(), ap.Addr().Unmap().BitLen())
	} else if _, err := netip.ParseAddr(s); err == nil {
		// An address alone; "::1" is not a port.
	} else if strings.HasPrefix(s, ":") {
		port, err := strconv.ParseUint(s[1:], 10, 16)
		if err != nil || port == 0 {
			return nil, fmt.Errorf("%q: want a port from 1 to 65535", s)
		}
		host, e.port = "", uint16(port)
	} else if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Contains(s, "/") && !strings.Contains(s[i:], "/") {
		// A prefix with a port: 10.0.0.0/8:443.
		port, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil || port == 0 {
			return nil, fmt.Errorf("%q: want a port from 1 to 65535 after the prefix", s)
		}
		host, e.port = s[:i], uint16(port)
	}
	if host != "" {
		if strings.Contains(host, "/") {
			p, err := netip.ParsePrefix(host)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address prefix", host)
			}
			e.prefix = p.Masked()
		} else {
			a, err := netip.ParseAddr(strings.Trim(host, "[]"))
			if err != nil {
				return nil, fmt.Errorf("%q is not an endpoint: want an address, a prefix, :PORT or ADDR:PORT", s)
			}
			e.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
	}
	return e, nil
}

func (e *endpoint) matches(v any) bool {
	if e == nil {
		return true
	}
	s, _ := v.(string)
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		// A diagnosis about a host names it without a port.
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		return e.port == 0 && (!e.prefix.IsValid() || e.prefix.Contains(a.Unmap()))
	}
	if e.port != 0 && ap.Port() != e.port {
		return false
	}
	return !e.prefix.IsValid() || e.prefix.Contains(ap.Addr().Unmap())
}
