package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/internal/golden"
)

// packetsFrom turns fuzz bytes into a packet sequence: 8 bytes a packet,
// over a few hosts and ports so that connections meet again, with any flag
// combination, sequence numbers near each other, time steps that can be
// long (idle expiry) or go backwards, and each host's address as IPv4,
// IPv6 or IPv4-mapped IPv6 (one connection with IPv4 as far as the key
// goes), which the table keeps in different forms.
func packetsFrom(data []byte) []capture.Packet {
	var out []capture.Packet
	at := int64(1_700_000_000e9)
	for i := 0; i+8 <= len(data) && len(out) < 4096; i += 8 {
		b := data[i : i+8]
		a := netip.AddrPortFrom(family(b[1], [4]byte{10, 0, 0, b[0] & 7}), 40000+uint16(b[1]&3))
		s := netip.AddrPortFrom(family(b[1], [4]byte{10, 0, 1, b[0] >> 5}), 9502)
		if b[1]&4 != 0 {
			a, s = s, a
		}
		switch step := int64(b[2]); {
		case step < 200:
			// Steps of 0.1 s, so that deadlines (a packet time plus a
			// whole idle timeout) often fall exactly on a later packet.
			at += step % 20 * 1e8
		case step < 250:
			at += (step - 199) * 1e9 // up to 50 s: idle timeouts of a few seconds expire
		default:
			at -= 5e6 // time goes backwards
		}
		p := capture.Packet{
			Index: uint64(len(out) + 1), Timestamp: time.Unix(0, at),
			Src: a.Addr(), Dst: s.Addr(), SrcPort: a.Port(), DstPort: s.Port(),
			Flags: capture.TCPFlags(b[3]) & 0x3f, Seq: uint32(b[4]) * 100, Ack: uint32(b[5]) * 100,
			Window: uint16(b[6]) << 8, PayloadLen: int(b[7] & 0x0f), IPLen: 40 + int(b[7]&0x0f), WindowScale: -1,
		}
		out = append(out, p)
	}
	return out
}

// family returns v4 as the packet's second byte b says: IPv4, the
// IPv4-mapped IPv6 address, or an IPv6 address of its own.
func family(b byte, v4 [4]byte) netip.Addr {
	switch b >> 3 & 3 {
	case 1:
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
	case 2:
		return netip.AddrFrom16(netip.AddrFrom4(v4).As16())
	}
	return netip.AddrFrom4(v4)
}

// FuzzParallel: on any packet sequence, shards report exactly what one
// table does, and a table keeping lone SYNs what one following every
// packet does. Nothing panics.
func FuzzParallel(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0x02, 1, 0, 255, 0, 0, 4, 1, 0x12, 5, 1, 255, 0, 0, 0, 1, 0x10, 1, 5, 255, 3})
	f.Add(make([]byte, 64))
	f.Add([]byte{7, 3, 250, 0x3f, 9, 9, 0, 15, 1, 2, 255, 0x04, 1, 1, 1, 1, 2, 1, 220, 0x11, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts := packetsFrom(data)
		for _, cfg := range []Config{
			{IdleTimeout: 3e9, CensusAt: 1e9, CensusFromStart: true},
			{Zeek: true},
			{ZeekRecords: true, IdleTimeout: 5e9},
		} {
			one := replay(pkts, cfg, 1)
			if got := replay(pkts, cfg, 3); got != one {
				t.Fatalf("3 shards differ from one table:\n%s", golden.Diff(one, got))
			}
			traced := cfg
			traced.Trace = func(*Conn, *capture.Packet, *fsm.Segment, fsm.StepResult) {}
			if got := replay(pkts, traced, 1); got != one {
				t.Fatalf("lone SYNs change the records:\n%s", golden.Diff(one, got))
			}
		}
	})
}
