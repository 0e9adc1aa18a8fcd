package flow

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/internal/golden"
)

// TestCensusStatesMerge: the censuses of N shards (--shard), each turned
// into its state, through JSON and back, and merged, are the census of one
// table, on every kernel capture, on a generated capture with expiries,
// and on a SYN flood from more hosts than a census tells apart.
func TestCensusStatesMerge(t *testing.T) {
	captures, err := filepath.Glob("../testdata/kernel/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]capture.Packet{"generated": manyConnections(3000), "past the host bound": pastTheHostBound()}
	for _, path := range captures {
		if !strings.Contains(path, ".golden.") {
			inputs[filepath.Base(path)] = readCapture(t, path)
		}
	}
	census := func(pkts []capture.Packet, cfg Config) *Census {
		var out *Census
		cfg.Census = func(c *Census) { out = c }
		tb := New(cfg)
		for i := range pkts {
			tb.Add(&pkts[i])
		}
		tb.Flush()
		return out
	}
	text := func(c *Census) string {
		var b strings.Builder
		fmt.Fprintf(&b, "at %d, client only %d\n", c.At, c.ClientOnlyEstablished)
		for _, a := range slices.SortedFunc(maps.Keys(c.Hosts), netip.Addr.Compare) {
			fmt.Fprintf(&b, "  %s %+v\n", a, *c.Hosts[a])
		}
		return b.String()
	}
	for name, pkts := range inputs {
		for _, cfg := range []Config{{}, {IdleTimeout: 1e9, CensusAt: 2e9, CensusFromStart: true}} {
			want := text(census(pkts, cfg))
			for n := 1; n <= 4; n++ {
				var states []CensusState
				for i := range n {
					cfg.Shard = Shard{i, n}
					b, err := json.Marshal(census(pkts, cfg).State())
					if err != nil {
						t.Fatal(err)
					}
					var st CensusState
					if err := json.Unmarshal(b, &st); err != nil {
						t.Fatal(err)
					}
					states = append(states, st)
				}
				if got := text(MergeCensuses(states)); got != want {
					t.Errorf("%s, %d shards: the merged census differs from one table's:\n%s", name, n, golden.Diff(want, got))
				}
			}
		}
	}
}
