package capture

import "encoding/binary"

const (
	tunnelGTP = "GTP-U"

	gtpHeaderLen = 8
	// gtpOptionalLen is the sequence number, N-PDU number and next
	// extension header type, present when any of the E, S, PN flags is.
	gtpOptionalLen   = 4
	gtpVersion1      = 1
	gtpFlagPT        = 0x10 // protocol type GTP, not GTP'
	gtpFlagE         = 0x04
	gtpFlagsOptional = 0x07 // E, S and PN
	gtpMsgGPDU       = 255
)

// gtpInner returns the IP packet a GTPv1-U G-PDU carries (3GPP TS 29.281
// section 5), or nil when body is not one. It judges as Zeek's GTPv1
// analyzer does: version 1, protocol type GTP, message type G-PDU, and
// after the optional fields and extension headers an IPv4 or IPv6 packet
// of at least 20 bytes. Signalling messages (echo, create PDP context)
// carry no user packet and give nil.
//
// body is what was captured of the UDP payload, bodyLen its length on
// the wire.
func gtpInner(body []byte, bodyLen int) []byte {
	if len(body) < gtpHeaderLen {
		return nil
	}
	flags := body[0]
	if flags>>5 != gtpVersion1 || flags&gtpFlagPT == 0 || body[1] != gtpMsgGPDU {
		return nil
	}
	// The length field counts what follows the mandatory 8 bytes.
	end := gtpHeaderLen + int(binary.BigEndian.Uint16(body[2:4]))
	if end > bodyLen {
		return nil
	}
	end = min(end, len(body))
	offset := gtpHeaderLen
	if flags&gtpFlagsOptional != 0 {
		offset += gtpOptionalLen
		if offset > end {
			return nil
		}
		if flags&gtpFlagE != 0 {
			// Each extension header states its length in 4-byte units and
			// ends with the type of the next one, 0 for none. A zero length
			// is invalid, so every step advances and the walk ends.
			for next := body[offset-1]; next != 0; next = body[offset-1] {
				if offset >= end {
					return nil
				}
				n := int(body[offset]) * 4
				if n == 0 || offset+n > end {
					return nil
				}
				offset += n
			}
		}
	}
	if end-offset < ipv4MinHeaderLen {
		return nil
	}
	inner := body[offset:end]
	if version := inner[0] >> 4; version != 4 && version != 6 {
		return nil
	}
	return inner
}
