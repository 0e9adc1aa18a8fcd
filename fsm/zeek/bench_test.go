package zeek

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// BenchmarkStep measures the Zeek view alone on an established connection
// moving data one way and ACKs the other, timers advanced before each
// segment as a flow table does.
func BenchmarkStep(b *testing.B) {
	hs := handshake()
	segs := make([]fsm.Segment, len(hs))
	for i, p := range hs {
		segs[i] = toSeg(p)
	}
	c := NewConn(&segs[0], 40000, 9999, nil)
	for i := range segs {
		c.Step(&segs[i], false)
	}
	data := fsm.Segment{Dir: fsm.FromClient, Flags: PA, Seq: cISN + 1, Ack: sISN + 1, Len: 1000, Window: 65535, IPLen: 1040, WindowScale: -1}
	ackSeg := fsm.Segment{Dir: fsm.FromServer, Flags: A, Seq: sISN + 1, Window: 65535, IPLen: 40, WindowScale: -1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		data.Seq = cISN + 1 + uint32(i)*1000
		data.Time = 3*ms + int64(i)
		c.NewConnection(&data)
		c.Step(&data, false)
		ackSeg.Ack = data.Seq + 1000
		ackSeg.Time = data.Time
		c.NewConnection(&ackSeg)
		c.Step(&ackSeg, false)
	}
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "segs/s")
}

// BenchmarkLife measures a whole short connection: handshake, a request,
// a retransmission, a response and both FINs, the Conn reused by Reset.
func BenchmarkLife(b *testing.B) {
	pkts := join(handshake(), []pk{
		c2s(3, PA, cISN+1, sISN+1, 100),
		c2s(4, PA, cISN+1, sISN+1, 100),
		s2c(5, PA, sISN+1, cISN+101, 1000),
		c2s(6, FA, cISN+101, sISN+1001, 0),
		s2c(7, FA, sISN+1001, cISN+102, 0),
		c2s(8, A, cISN+102, sISN+1002, 0),
	})
	segs := make([]fsm.Segment, len(pkts))
	for i, p := range pkts {
		segs[i] = toSeg(p)
	}
	var c Conn
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.Reset(&segs[0], 40000, 9999, nil)
		c.Step(&segs[0], false)
		for i := 1; i < len(segs); i++ {
			c.NewConnection(&segs[i])
			c.Step(&segs[i], false)
		}
		if s := c.Summary(); s.State != "SF" {
			b.Fatalf("state %s, want SF", s.State)
		}
	}
}
