package flow

import (
	"net/netip"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// maxCensusHosts bounds the hosts a census tells apart; the rest are
// counted under the unspecified address.
const maxCensusHosts = 65536

// Census is what netstat -nat would have shown on every host of the
// capture at one instant: endpoints per state, per host.
type Census struct {
	At    int64 // Unix nanoseconds
	Hosts map[netip.Addr]*HostCensus

	listeners map[netip.AddrPort]struct{} // the listening endpoints counted, to merge censuses
}

// HostCensus counts one host's endpoints.
type HostCensus struct {
	States    [16]uint32 // indexed by fsm.State; CLOSED and UNKNOWN are never counted
	Listeners uint32     // distinct ports seen answering a SYN
}

// census builds a Census as of time at.
type census struct {
	at        int64
	done      bool
	result    Census
	listeners map[netip.AddrPort]struct{}
}

func newCensus(at int64) *census {
	return &census{at: at, result: Census{At: at, Hosts: map[netip.Addr]*HostCensus{}},
		listeners: map[netip.AddrPort]struct{}{}}
}

func (cs *census) host(a netip.Addr) *HostCensus {
	h := cs.result.Hosts[a]
	if h == nil {
		if len(cs.result.Hosts) >= maxCensusHosts {
			a = netip.IPv6Unspecified()
			if h = cs.result.Hosts[a]; h != nil {
				return h
			}
		}
		h = &HostCensus{}
		cs.result.Hosts[a] = h
	}
	return h
}

// count adds connection c, as it stands at the census time.
func (cs *census) count(c *Conn) {
	if c.first() > cs.at {
		return // it had not started yet
	}
	cl, sv := fsm.SynSent, fsm.Listen // a lone SYN
	if c.FSM != nil {
		cl, sv = c.FSM.StatesAt(cs.at)
	}
	for _, e := range [2]struct {
		ep netip.AddrPort
		st fsm.State
	}{{c.Client(), cl}, {c.Server(), sv}} {
		// netstat lists neither closed sockets nor, per connection, the
		// listener it came from: LISTEN is counted per listening port.
		if e.st != fsm.Closed && e.st != fsm.Unknown && e.st != fsm.Listen {
			cs.host(e.ep.Addr().Unmap()).States[e.st]++
		}
	}
	if c.FSM != nil && c.FSM.Listening() {
		server := c.Server()
		if _, ok := cs.listeners[server]; !ok && len(cs.listeners) < maxCensusHosts {
			cs.listeners[server] = struct{}{}
			cs.host(server.Addr().Unmap()).Listeners++
		}
	}
}
