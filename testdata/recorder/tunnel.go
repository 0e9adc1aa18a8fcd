package main

import (
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
func (e *env) vxlanOverlay() (*env, error) {
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
		cmds := fmt.Sprintf("link add vx0 type vxlan id 42 local %s remote %s dstport 4789 dev %s\nlink set vx0 up\naddress add %s/24 dev vx0\n",
			s.local, s.remote, s.dev, s.overlay)
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
	logf("VXLAN overlay: client %s, server %s (VNI 42 over %s-%s)", o.client, o.server, e.client, e.server)
	return &o, nil
}

// overVXLAN runs scenario f over a VXLAN overlay.
func overVXLAN(f func(*env) error) func(*env) error {
	return func(e *env) error {
		o, err := e.vxlanOverlay()
		if err != nil {
			return err
		}
		return f(o)
	}
}
