package diagnose

import (
	"net/netip"
	"testing"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestPortScanAfterAFlood: a flood of SYNs from spoofed sources, each
// unanswered once, more sources than the evidence's budget, does not hide
// a real scanner that comes after it: a source failing once is no scan,
// and such sources are kept apart until they fail again.
func TestPortScanAfterAFlood(t *testing.T) {
	c := New(DefaultThresholds())
	scanner := netip.MustParseAddrPort("192.0.2.66:40000")
	id := uint64(0)
	probe := func(port uint16) {
		id++
		c.Add(conn(id, 1, func(r *flow.Record) {
			r.ClientAddr, r.ServerAddr = scanner, netip.AddrPortFrom(listener.Addr(), port)
			r.Handshake, r.Close = fsm.HandshakeRefused, fsm.CloseRSTServer
		}))
	}
	for i := range 3 * maxKeys {
		id++
		c.Add(conn(id, 1, func(r *flow.Record) {
			r.ClientAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1024)
			r.Handshake, r.Close = fsm.HandshakeUnanswered, fsm.CloseNone
		}))
	}
	for port := range uint16(25) {
		probe(1 + port)
	}
	var found *Diagnosis
	for _, d := range c.Diagnoses() {
		if d.Name == PortScan {
			if d.Endpoint != "192.0.2.66" || found != nil {
				t.Fatalf("port_scan at %s", d.Endpoint)
			}
			found = &d
		}
	}
	if found == nil || found.Connections != 25 {
		t.Fatalf("the scanner after the flood: %+v, want port_scan over its 25 probes", found)
	}
	if d := detectorOf[*portScan](c); d.once.len() > maxKeys || len(d.ev.at) != 1 {
		t.Errorf("%d sources kept as failing once (bound %d), %d as evidence (want the scanner's alone)", d.once.len(), maxKeys, len(d.ev.at))
	}
}

// TestPortScanOfOne: with --scan-ports 1, one failure is a scan, and no
// source waits for a second.
func TestPortScanOfOne(t *testing.T) {
	th := DefaultThresholds()
	th.ScanTargets = 1
	refused := conn(1, 1, func(r *flow.Record) { r.Handshake, r.Close = fsm.HandshakeRefused, fsm.CloseRSTServer })
	if got := names(th, refused); len(got) != 1 || got[0] != "port_scan@10.0.1.1" {
		t.Errorf("diagnoses %q, want port_scan@10.0.1.1", got)
	}
}
