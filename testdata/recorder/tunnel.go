package main

import (
	"bytes"
	"fmt"
	"net/netip"
)

// Tunnels between the namespaces: the scenario runs between addresses of
// an overlay carried over the veth, and tcpdump, on the veth, captures
// every segment inside the tunnel's packets.

// vxlanOverlay gives each namespace a VXLAN device over its veth (VNI 42,
// UDP port 4789, the other namespace's veth address as the remote end),
// addressed 10.0.2.1 (client) and 10.0.2.2 (server), and returns the env
// of a scenario between those addresses.
//
// fragmenting gives the overlay the veth's own MTU (1500) and outer
// datagrams without DF ("df unset"), so the sending kernel fragments every
// datagram longer than the veth carries, as a tunnel over a path with a
// smaller MTU does. The device is then not bound to the veth ("dev"):
// Linux holds a bound VXLAN device's MTU to its lower device's less the 50
// bytes of encapsulation; the route to the remote end still leaves by the
// veth.
func (e *env) vxlanOverlay(fragmenting bool) (*env, error) {
	if e.v6 {
		return nil, fmt.Errorf("vxlanOverlay: IPv4 only")
	}
	o := *e
	o.client, o.server = netip.MustParseAddr("10.0.2.1"), netip.MustParseAddr("10.0.2.2")
	o.cdev, o.sdev = "vx0", "vx0"
	for _, s := range []struct {
		ns, dev       string
		local, remote netip.Addr
		overlay       netip.Addr
	}{
		{e.cns, e.cdev, e.client, e.server, o.client},
		{e.sns, e.sdev, e.server, e.client, o.server},
	} {
		link := fmt.Sprintf("link add vx0 type vxlan id 42 local %s remote %s dstport 4789 dev %s\n", s.local, s.remote, s.dev)
		if fragmenting {
			link = fmt.Sprintf("link add vx0 type vxlan id 42 local %s remote %s dstport 4789 df unset\nlink set vx0 mtu 1500\n", s.local, s.remote)
		}
		cmds := link + fmt.Sprintf("link set vx0 up\naddress add %s/24 dev vx0\n", s.overlay)
		if err := ipBatch(s.ns, cmds); err != nil {
			return nil, err
		}
		if err := disableOffloads(s.ns, "vx0"); err != nil {
			return nil, err
		}
		if e.delayed {
			// The segments arrive on vx0, once out of the tunnel: delay
			// them there as they are delayed on the veth.
			if err := iptables(s.ns, false, "-A", "INPUT", "-i", "vx0", "-p", "tcp", "-j", "NFQUEUE", "--queue-num", "0"); err != nil {
				return nil, err
			}
		}
	}
	logf("VXLAN overlay: client %s, server %s (VNI 42 over %s-%s, fragmenting %v)", o.client, o.server, e.client, e.server, fragmenting)
	return &o, nil
}

// overVXLAN runs scenario f over a VXLAN overlay, fragmenting its outer
// datagrams or not (vxlanOverlay).
func overVXLAN(fragmenting bool, f func(*env) error) func(*env) error {
	return func(e *env) error {
		o, err := e.vxlanOverlay(fragmenting)
		if err != nil {
			return err
		}
		return f(o)
	}
}

// fullSegment is the payload of one full-sized segment on the fragmenting
// overlay (MSS 1460 at its MTU of 1500, less 12 bytes of timestamps, the
// 48 left over keeping it clear of the edge), whose datagram (1502 bytes
// with the 50 of VXLAN) the veth carries in two fragments.
const fullSegment = 1400

// largeExchange exchanges a request and a response of fullSegment bytes
// each, one segment each way, then the client closes first. It logs what
// each receiver took (TCP_INFO bytes_received): every byte, or the
// exchange could not have ended.
func largeExchange(e *env) error {
	req, resp := bytes.Repeat([]byte("q"), fullSegment), bytes.Repeat([]byte("r"), fullSegment)
	c, a, err := connectPair(e, req)
	if err != nil {
		return err
	}
	if err := readFull(a, len(req)); err != nil {
		return err
	}
	if err := writeAll(a, resp); err != nil {
		return err
	}
	if err := readFull(c, len(resp)); err != nil {
		return err
	}
	for _, side := range []struct {
		name string
		fd   int
	}{{"server", a}, {"client", c}} {
		n, err := bytesReceived(side.fd)
		if err != nil {
			return err
		}
		logf("%s bytes_received %d", side.name, n)
	}
	return closeInTurn(c, a, "client", "server", true)
}
