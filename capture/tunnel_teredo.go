package capture

import "encoding/binary"

const (
	tunnelTeredo = "Teredo"

	teredoAuthTag   = 0x0001
	teredoOriginTag = 0x0000
	// teredoAuthFixedLen is an authentication header without its client
	// ID and authentication value: indicator, their two lengths, nonce and
	// confirmation byte.
	teredoAuthFixedLen = 2 + 2 + 8 + 1
	teredoOriginLen    = 8
)

// teredoInner returns the IPv6 packet in a Teredo datagram (RFC 4380
// section 5.1.1), or nil when body is not one. It judges as Zeek's Teredo
// analyzer does: at most one authentication header, then at most one
// origin indication, then an IPv6 header whose payload length accounts for
// exactly the rest of the datagram. Off the Teredo port (onPort false)
// Zeek's detection heuristic must hold as well: there is an origin
// indication, or a bare IPv6 header has an address in the Teredo prefix
// 2001:0::/32. That keeps DNS, QUIC and other UDP that happens to start
// with a 6 nibble out.
//
// body is what was captured of the UDP payload, bodyLen its length on
// the wire.
func teredoInner(body []byte, bodyLen int, onPort bool) []byte {
	offset := 0
	sawAuth, sawOrigin := false, false
	// Each pass consumes a header or ends, and each header may appear once:
	// at most three passes.
	for {
		if offset+2 > len(body) {
			return nil
		}
		if body[offset]>>4 == 6 {
			break
		}
		switch tag := binary.BigEndian.Uint16(body[offset:]); {
		case tag == teredoAuthTag && !sawAuth && !sawOrigin:
			if offset+4 > len(body) {
				return nil
			}
			offset += teredoAuthFixedLen + int(body[offset+2]) + int(body[offset+3])
			sawAuth = true
		case tag == teredoOriginTag && !sawOrigin:
			offset += teredoOriginLen
			sawOrigin = true
		default:
			return nil
		}
	}
	if offset+ipv6HeaderLen > len(body) {
		return nil
	}
	ip := body[offset:]
	if ipv6HeaderLen+int(binary.BigEndian.Uint16(ip[4:6])) != bodyLen-offset {
		return nil
	}
	if !onPort && !sawOrigin && (offset != 0 || !isTeredoAddr(ip[8:24]) && !isTeredoAddr(ip[24:40])) {
		return nil
	}
	return ip
}

// isTeredoAddr reports whether a 16-byte IPv6 address is in 2001:0::/32.
func isTeredoAddr(a []byte) bool {
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0
}
