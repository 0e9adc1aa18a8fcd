package fsm

import (
	"encoding/binary"
	"testing"
)

// eventsFrom decodes fuzz input as a run of 12-byte segments: direction,
// flags, sequence and acknowledgement offsets, length and window. Offsets
// are small so the fuzzer meets in-window numbers often, and the base is
// near 2^32 so it meets the wrap too. For each segment it also returns the
// ICMP error to give the connection before it, if the record's last byte
// has its top bit set: quoting the segment's sequence number from its
// direction, with the type in the low bits of that byte, ICMPv6 with bit
// 6, and the code in the window-scale byte.
func eventsFrom(data []byte) ([]Segment, []*ICMPError) {
	var segs []Segment
	var icmp []*ICMPError
	for len(data) >= 12 {
		b := data[:12]
		data = data[12:]
		var m *ICMPError
		if b[11]&0x80 != 0 {
			m = &ICMPError{Time: int64(len(segs)) * 1e6, Dir: Dir(b[0] & 1),
				Seq: 0xffff_ff00 + uint32(binary.BigEndian.Uint16(b[3:5])), V6: b[11]&0x40 != 0, Type: b[11] & 0x0f, Code: b[10]}
		}
		icmp = append(icmp, m)
		segs = append(segs, Segment{
			Time:   int64(len(segs)) * 1e6,
			Dir:    Dir(b[0] & 1),
			Flags:  Flags(binary.BigEndian.Uint16(b[1:3]) & 0x1ff),
			Seq:    0xffff_ff00 + uint32(binary.BigEndian.Uint16(b[3:5])),
			Ack:    0xffff_ff00 + uint32(binary.BigEndian.Uint16(b[5:7])),
			Len:    int(b[7]),
			Window: binary.BigEndian.Uint16(b[8:10]),
			IPLen:  40 + int(b[7]),
			// Window scale from the option byte, or absent.
			WindowScale: int8(b[10]%16) - 1,
		})
	}
	return segs, icmp
}

// FuzzConn feeds arbitrary segment sequences (nonsense flag combinations,
// wrapped sequence numbers, RST storms, data on closed connections), with
// ICMP errors among them, and checks the machine's invariants: no panic,
// valid states, complete results, nothing moved by a segment dropped
// beyond its receiver's window, and no anomaly counted less than once.
func FuzzConn(f *testing.F) {
	// Seeds: a normal connection, a simultaneous open, an RST storm.
	seed := func(segs ...[12]byte) []byte {
		var b []byte
		for _, s := range segs {
			b = append(b, s[:]...)
		}
		return b
	}
	f.Add(seed(
		[12]byte{0, 0, byte(SYN), 0, 0, 0, 0, 0, 0xff, 0xff, 8},
		[12]byte{1, 0, byte(SYNACK), 0, 9, 0, 1, 0, 0xff, 0xff, 8},
		[12]byte{0, 0, byte(ACK), 0, 1, 0, 10, 0, 0xff, 0xff},
		[12]byte{0, 0, byte(FIN | ACK), 0, 1, 0, 10, 0, 0xff, 0xff},
		[12]byte{1, 0, byte(FIN | ACK), 0, 10, 0, 2, 0, 0xff, 0xff},
		[12]byte{0, 0, byte(ACK), 0, 2, 0, 11, 0, 0xff, 0xff},
	))
	f.Add(seed(
		[12]byte{0, 0, byte(SYN)}, [12]byte{1, 0, byte(SYN), 0, 50},
		[12]byte{0, 0, byte(SYNACK), 0, 0, 0, 51}, [12]byte{1, 0, byte(SYNACK), 0, 50, 0, 1},
	))
	f.Add(seed([12]byte{1, 0, byte(RST)}, [12]byte{0, 0, byte(RST | ACK), 1, 0}, [12]byte{1, 0, byte(SYN | FIN | RST)}))
	// A SYN, a SYN/ACK, host unreachable quoting it (the server drops its
	// half-open connection), the SYN again, a SYN/ACK with a new ISN.
	f.Add(seed(
		[12]byte{0, 0, byte(SYN), 0, 0, 0, 0, 0, 0xff, 0xff, 8},
		[12]byte{1, 0, byte(SYNACK), 0, 9, 0, 1, 0, 0xff, 0xff, 8},
		[12]byte{1, 0, byte(SYNACK), 0, 9, 0, 1, 0, 0xff, 0xff, 1, 0x83},
		[12]byte{0, 0, byte(SYN), 0, 0, 0, 0, 0, 0xff, 0xff, 8},
		[12]byte{1, 0, byte(SYNACK), 0, 90, 0, 1, 0, 0xff, 0xff, 8},
	))
	f.Fuzz(func(t *testing.T, data []byte) {
		segs, icmp := eventsFrom(data)
		if len(segs) == 0 {
			return
		}
		c := NewConn(&segs[0])
		for i := range segs {
			if c.IsNewAttempt(&segs[i]) {
				c = NewConn(&segs[i])
			}
			if m := icmp[i]; m != nil {
				c.ICMPError(m)
				if cl, sv := c.StatesAt(m.Time); cl >= numStates || sv >= numStates {
					t.Fatalf("ICMP error %d left invalid states %d, %d", i, cl, sv)
				}
			}
			sender := &c.ep[segs[i].Dir]
			nxt, bytes, retransmits := sender.tx.nxt, sender.bytes, sender.retransmits
			res := c.Step(&segs[i])
			if res.Rule == RuleBeyondWindow && (sender.tx.nxt != nxt || sender.bytes != bytes || sender.retransmits != retransmits) {
				t.Fatalf("segment %d, dropped beyond the window, moved next seq %d -> %d, bytes %d -> %d, retransmits %d -> %d",
					i, nxt, sender.tx.nxt, bytes, sender.bytes, retransmits, sender.retransmits)
			}
			for _, s := range res.After {
				if s >= numStates {
					t.Fatalf("segment %d left an invalid state %d", i, s)
				}
			}
		}
		r := c.Result(c.Last())
		if r.Handshake == "" || r.Close == "" || r.Client.State.String() == "" || r.Server.State.String() == "" {
			t.Fatalf("incomplete result %+v", r)
		}
		if len(r.Anomalies) > maxAnomalyKinds {
			t.Fatalf("%d anomaly kinds", len(r.Anomalies))
		}
		for _, a := range r.Anomalies {
			// An acknowledgement taking back segments dropped beyond the
			// window (takeBack) removes their anomaly, never leaves it at 0.
			if a.Count < 1 {
				t.Fatalf("anomaly %s counted %d times", a.Name, a.Count)
			}
		}
	})
}
