package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// syntheticCapture writes conns complete connections, each with a
// handshake, ten request/response exchanges and a FIN close, interleaved
// eight at a time, as an Ethernet pcap.
func syntheticCapture(b testing.TB, conns int) (path string, packets int) {
	b.Helper()
	proto := frame(&testing.T{}, true, false, true, false, false, 0, 0, 0)
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	at := time.Unix(1_700_000_000, 0)
	emit := func(conn int, fromClient bool, flags byte, seq, ack uint32, payload int) {
		f := make([]byte, len(proto)+payload)
		copy(f, proto)
		ip, tcp := f[14:], f[34:]
		binary.BigEndian.PutUint16(ip[2:], uint16(40+payload))
		src, sport, dst, dport := []byte{10, 1, byte(conn >> 8), byte(conn)}, uint16(30000+conn%30000), []byte{10, 0, 0, 2}, uint16(9502)
		if !fromClient {
			src, sport, dst, dport = dst, dport, src, sport
		}
		copy(ip[12:16], src)
		copy(ip[16:20], dst)
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[13] = flags
		at = at.Add(10 * time.Microsecond)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(f), Length: len(f)}, f)
		packets++
	}
	const syn, ack, fin, psh = 0x02, 0x10, 0x01, 0x08
	for base := 0; base < conns; base += 8 {
		group := min(8, conns-base)
		for c := base; c < base+group; c++ {
			emit(c, true, syn, 100, 0, 0)
			emit(c, false, syn|ack, 900, 101, 0)
			emit(c, true, ack, 101, 901, 0)
		}
		for i := range uint32(10) {
			for c := base; c < base+group; c++ {
				emit(c, true, psh|ack, 101+i*100, 901+i*1000, 100)
				emit(c, false, psh|ack, 901+i*1000, 201+i*100, 1000)
			}
		}
		for c := base; c < base+group; c++ {
			emit(c, true, fin|ack, 1101, 10901, 0)
			emit(c, false, fin|ack, 10901, 1102, 0)
			emit(c, true, ack, 1102, 10902, 0)
		}
	}
	path = filepath.Join(b.TempDir(), "synthetic.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, packets
}

// BenchmarkPipeline runs the whole command, read → decode → table → state
// machine → report, over a synthetic capture, per output format.
func BenchmarkPipeline(b *testing.B) {
	path, packets := syntheticCapture(b, 2000)
	for _, bc := range []struct{ format, jobs string }{{"json", "1"}, {"text", "1"}, {"json", "2"}} {
		b.Run(bc.format+"/j"+bc.jobs, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if code := run([]string{"-r", path, "--format", bc.format, "-j", bc.jobs, "--color", "never"}, nil, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(packets*b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
