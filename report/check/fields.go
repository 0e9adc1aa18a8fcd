package check

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tcpfsm/tcpfsm/fsm"
)

type fieldKind int

const (
	kindCount fieldKind = iota
	kindDuration
	kindWord
)

func (k fieldKind) String() string {
	return [...]string{"count", "duration", "word"}[k]
}

// field is what a rule can say about one connection, read from its JSON
// record.
type field struct {
	name  string
	kind  fieldKind
	words []string // the values a word may take; nil: any
	// num returns a count, or a duration in seconds; ok is false when the
	// record has no value (an RTT that was not measured).
	num  func(c map[string]any) (v float64, ok bool)
	word func(c map[string]any) string
}

var states = func() []string {
	var s []string
	for st := fsm.Closed; st <= fsm.TimeWait; st++ {
		s = append(s, st.String())
	}
	return s
}()

// connFields are the connection fields rules can name, with the JSON key
// each comes from (README.md, "JSON output").
var connFields = map[string]*field{}

func init() {
	word := func(name, key string, words []string) {
		connFields[name] = &field{name: name, kind: kindWord, words: words,
			word: func(c map[string]any) string { s, _ := c[key].(string); return s }}
	}
	word("handshake", "handshake", fsm.HandshakeOutcomes)
	word("close", "close", fsm.CloseOutcomes)
	word("client_state", "client_state", states)
	word("server_state", "server_state", states)
	word("conn_state", "conn_state", []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"})
	word("history", "history", nil)
	word("reason", "reason", []string{"end", "idle", "evicted", "reused", "zeek_split"})
	connFields["reset_by"] = &field{name: "reset_by", kind: kindWord, words: []string{"client", "server", "none"},
		word: func(c map[string]any) string {
			if by, ok := sub(c, "reset", "by"); ok {
				s, _ := by.(string)
				return s
			}
			return "none"
		}}

	count := func(name string, keys ...string) {
		connFields[name] = &field{name: name, kind: kindCount, num: func(c map[string]any) (float64, bool) {
			v, ok := sub(c, keys...)
			if !ok {
				return 0, false
			}
			return number(v)
		}}
	}
	for _, k := range []string{"syn_retransmits", "synack_retransmits", "keepalives", "zero_windows", "retransmits"} {
		count(k, k)
	}
	for _, k := range []string{"packets", "bytes"} {
		count("client_"+k, k, "client")
		count("server_"+k, k, "server")
		connFields[k] = &field{name: k, kind: kindCount, num: func(c map[string]any) (float64, bool) {
			a, ok1 := connFields["client_"+k].num(c)
			b, ok2 := connFields["server_"+k].num(c)
			return a + b, ok1 && ok2
		}}
	}

	ms := func(name, side string) {
		connFields[name] = &field{name: name, kind: kindDuration, num: func(c map[string]any) (float64, bool) {
			v, ok := sub(c, "handshake_rtt_ms", side)
			if !ok {
				return 0, false
			}
			n, ok := number(v)
			return n / 1e3, ok
		}}
	}
	ms("handshake_rtt", "client") // the client's wait: SYN -> SYN/ACK
	ms("syn_synack_rtt", "client")
	ms("synack_ack_rtt", "server")
	connFields["duration"] = &field{name: "duration", kind: kindDuration, num: func(c map[string]any) (float64, bool) {
		a, ok1 := number(c["ts"])
		b, ok2 := number(c["end_ts"])
		return b - a, ok1 && ok2
	}}
}

func fieldNames() []string {
	var names []string
	for n := range connFields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sub follows keys into nested objects.
func sub(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, v != nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

// Summary counters: the top-level numbers, and the groups whose members
// are counted by name.
var (
	summaryNumbers = []string{"packets", "tcp_packets", "non_tcp", "fragments", "filtered", "malformed", "truncated",
		"bad_checksums", "bad_ip_checksums", "connections", "expired", "evicted", "reused"}
	summaryLists  = []string{"diagnoses", "warnings"} // counted by their length
	summaryGroups = map[string][]string{
		"handshakes": fsm.HandshakeOutcomes,
		"closes":     fsm.CloseOutcomes,
		"census":     states,
		"anomalies":  fsm.AnomalyNames,
	}
)

// counterPath reads the name of a summary counter: "evicted",
// "summary.packets" (the summary's, not the connections' sum),
// "handshakes.refused", "census.CLOSE_WAIT".
func counterPath(name string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(name, "summary."), ".")
	all := counterNames()
	switch {
	case len(parts) == 1 && (slices.Contains(summaryNumbers, parts[0]) || slices.Contains(summaryLists, parts[0])):
		return parts, nil
	case len(parts) == 2 && summaryGroups[parts[0]] != nil:
		if slices.Contains(summaryGroups[parts[0]], parts[1]) {
			return parts, nil
		}
		return nil, fmt.Errorf("%q is not one of the %s (%s)", parts[1], parts[0], strings.Join(summaryGroups[parts[0]], ", "))
	}
	return nil, fmt.Errorf("%q is not a connection field or a summary counter%s", name, suggest(name, all))
}

func counterNames() []string {
	all := append(fieldNames(), summaryNumbers...)
	all = append(all, summaryLists...)
	for g, members := range summaryGroups {
		for _, m := range members {
			all = append(all, g+"."+m)
		}
	}
	return all
}
