package flow

import "github.com/tcpfsm/tcpfsm/capture"

// key is a 5-tuple (the protocol is always TCP) in canonical order: the
// endpoint that sorts lower first, so both directions of a connection map to
// the same key. It is a comparable value without pointers, cheap to hash;
// IPv4 addresses are stored in their IPv4-mapped IPv6 form.
type key struct {
	loAddr, hiAddr [16]byte
	loPort, hiPort uint16
}

// makeKey returns p's key and whether p's source is the key's lo endpoint.
func makeKey(p *capture.Packet) (key, bool) {
	src, dst := p.Src.As16(), p.Dst.As16()
	if less(src, p.SrcPort, dst, p.DstPort) {
		return key{loAddr: src, hiAddr: dst, loPort: p.SrcPort, hiPort: p.DstPort}, true
	}
	return key{loAddr: dst, hiAddr: src, loPort: p.DstPort, hiPort: p.SrcPort}, false
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return ap < bp
}
