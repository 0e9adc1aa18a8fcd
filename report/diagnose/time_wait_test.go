package diagnose

import (
	"net/netip"
	"testing"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestTimeWaitPileupAfterManyHosts: client hosts that each close one
// connection first, more of them than the evidence's budget (a server's
// capture), do not hide a host that piles up TIME_WAITs after them: a
// host closing once can pile up nothing, and such hosts are kept apart
// until they close again. Nothing is dropped, so nothing is warned of.
func TestTimeWaitPileupAfterManyHosts(t *testing.T) {
	c := New(DefaultThresholds())
	id := uint64(0)
	closed := func(client netip.AddrPort, at int64) {
		id++
		c.Add(conn(id, 1, func(r *flow.Record) {
			r.ClientAddr = client
			r.First, r.Last, r.Close = at, at+sec, fsm.CloseFIN
			r.Client = fsm.Side{State: fsm.TimeWait, FINAt: at + sec/2, TimeWaitAt: at + sec}
			r.Server = fsm.Side{State: fsm.Closed, FINAt: at + sec}
		}))
	}
	for i := range 2 * maxKeys {
		closed(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), sec)
	}
	proxy := netip.MustParseAddr("192.0.2.7")
	for i := range 150 {
		closed(netip.AddrPortFrom(proxy, uint16(30000+i)), 2*sec+int64(i)*1e6)
	}
	var got []string
	for _, d := range c.Diagnoses() {
		if d.Name == TimeWaitPileup {
			got = append(got, d.Endpoint)
		}
	}
	if len(got) != 1 || got[0] != "192.0.2.7" || c.Dropped() != 0 {
		t.Errorf("time_wait_pileup at %q, %d dropped; want the proxy's alone, none dropped", got, c.Dropped())
	}
}
