package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// manifest is what was generated, exactly: written as JSON by -manifest,
// for tests and benchmarks to compare an analyzer's report with.
type manifest struct {
	Generator string `json:"generator"`
	Seed      uint64 `json:"seed"`
	// Packets are the records written; Bytes their wire lengths summed,
	// CapturedBytes what the file holds of them (less with -snaplen).
	Packets       uint64 `json:"packets"`
	Bytes         uint64 `json:"bytes"`
	CapturedBytes uint64 `json:"captured_bytes"`
	First         string `json:"first"` // timestamp of the first packet, RFC 3339
	Last          string `json:"last"`
	FirstNS       int64  `json:"first_ns"`
	LastNS        int64  `json:"last_ns"`
	// Connections counts the scripted connections (not the flood SYNs);
	// Kinds splits them by kind.
	Connections     uint64            `json:"connections"`
	Kinds           map[string]uint64 `json:"kinds"`
	IPv6Connections uint64            `json:"ipv6_connections"`
	Concurrent      int               `json:"concurrent"`
	FloodSYNs       uint64            `json:"flood_syns"`
	// TCPConversations is the number of distinct 5-tuples: connections
	// plus flood SYNs, what tshark -z conv,tcp lists.
	TCPConversations uint64 `json:"tcp_conversations"`
	// Handshakes and Closes are the outcomes tcpfsm should report for all
	// of them (its summary's "handshakes" and "closes"), flood SYNs
	// included as unanswered handshakes that never closed.
	Handshakes map[string]uint64 `json:"handshakes"`
	Closes     map[string]uint64 `json:"closes"`
	// FIN closes by who sent the first FIN, and in three or four segments.
	FINClientFirst uint64 `json:"fin_client_first"`
	FINServerFirst uint64 `json:"fin_server_first"`
	FINThreeWay    uint64 `json:"fin_three_way"`
	// Retransmissions the capture holds: bare SYNs and SYN/ACKs sent again,
	// and data segments sent again (normal connections).
	SYNRetransmits    uint64 `json:"syn_retransmits"`
	SynAckRetransmits uint64 `json:"synack_retransmits"`
	DataRetransmits   uint64 `json:"data_retransmits"`
}

// counts are the generator's running tallies.
type counts struct {
	packets, bytes, captured uint64
	first, last              int64
	kinds                    [numKinds]uint64
	ipv6                     uint64
	flood                    uint64
	rstClient, rstServer     uint64
	finClient, finServer     uint64
	finThreeWay              uint64
	synRetx, synAckRetx      uint64
	dataRetx                 uint64
}

func (g *gen) manifest() *manifest {
	c := &g.n
	m := &manifest{
		Generator: "tcpgen", Seed: g.cfg.seed,
		Packets: c.packets, Bytes: c.bytes, CapturedBytes: c.captured,
		Concurrent: g.cfg.concurrent, IPv6Connections: c.ipv6, FloodSYNs: c.flood,
		Kinds:          map[string]uint64{},
		FINClientFirst: c.finClient, FINServerFirst: c.finServer, FINThreeWay: c.finThreeWay,
		SYNRetransmits: c.synRetx, SynAckRetransmits: c.synAckRetx, DataRetransmits: c.dataRetx,
	}
	if c.packets > 0 {
		m.FirstNS, m.LastNS = c.first, c.last
		m.First = time.Unix(0, c.first).UTC().Format(time.RFC3339Nano)
		m.Last = time.Unix(0, c.last).UTC().Format(time.RFC3339Nano)
	}
	for k, n := range c.kinds {
		m.Kinds[kindNames[k]] = n
		m.Connections += n
	}
	m.TCPConversations = m.Connections + c.flood
	k := &c.kinds
	m.Handshakes = nonZero(map[string]uint64{
		"complete":          k[kindNormal] + k[kindRST] + k[kindSynAckRetransmit],
		"refused":           k[kindRefused],
		"unanswered":        k[kindUnanswered] + c.flood,
		"synack_unanswered": k[kindHalfOpen],
	})
	m.Closes = nonZero(map[string]uint64{
		"fin":        k[kindNormal] + k[kindSynAckRetransmit],
		"rst_client": c.rstClient,
		"rst_server": c.rstServer,
		"none":       k[kindRefused] + k[kindUnanswered] + k[kindHalfOpen] + c.flood,
	})
	return m
}

func nonZero(m map[string]uint64) map[string]uint64 {
	for k, v := range m {
		if v == 0 {
			delete(m, k)
		}
	}
	return m
}

func (m *manifest) writeFile(name string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// line is the one-line summary for standard error.
func (m *manifest) line(out string, elapsed time.Duration) string {
	var kinds []string
	for _, name := range kindNames {
		if n := m.Kinds[name]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", name, n))
		}
	}
	if out == "-" {
		out = "stdout"
	}
	rate := float64(m.Packets) / max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("tcpgen: %s: %d packets, %.1f MB, %d connections (%s), %d IPv6, %d flood SYNs; %.2fs, %.2f M packets/s",
		out, m.Packets, float64(m.CapturedBytes+24+16*m.Packets)/1e6, m.Connections, strings.Join(kinds, ", "),
		m.IPv6Connections, m.FloodSYNs, elapsed.Seconds(), rate/1e6)
}
