package fsm

import "testing"

// BenchmarkStep measures the state machine alone on an established
// connection moving data one way and ACKs the other.
func BenchmarkStep(b *testing.B) {
	data := Segment{Dir: FromClient, Flags: ACK | PSH, Seq: 1001, Ack: 5001, Len: 1000, Window: 65535, IPLen: 1040}
	ackSeg := Segment{Dir: FromServer, Flags: ACK, Seq: 5001, Window: 65535, IPLen: 40}
	c := run(&testing.T{}, cISN, sISN, handshake)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		data.Seq = 1001 + uint32(i)*1000
		data.Time = int64(i)
		c.Step(&data)
		ackSeg.Ack = data.Seq + 1000
		ackSeg.Time = int64(i)
		c.Step(&ackSeg)
	}
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "segs/s")
}
