package capture

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The exported PcapWriter writes what the live capture's writer does, byte
// for byte, and the Reader reads it back.
func TestExportedPcapWriter(t *testing.T) {
	segs := handshake("10.0.0.1", "192.0.2.7", 40000, 443)
	recs := recordsOf(ethernetIP, segs)
	for i := range recs {
		recs[i].ts = t0.Add(time.Duration(i) * 1234567)
	}
	cut := recs[3] // cut by a snaplen: 30 of its 100 payload bytes kept
	cut.origLen = len(cut.data)
	cut.data = cut.data[:len(cut.data)-70]
	recs[3] = cut

	var want bytes.Buffer
	writeRecords(t, &want, linkEthernet, 262144, recs)

	var got bytes.Buffer
	w, err := NewPcapWriter(&got, 1, 262144)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(r.ts, r.data, r.wireLen()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("PcapWriter output differs from the live writer's:\n got % x\nwant % x", got.Bytes(), want.Bytes())
	}
	res := readAll(t, "w.pcap", got.Bytes(), Options{})
	if res.err != nil || len(res.warns) != 0 || len(res.packets) != len(segs) {
		t.Fatalf("reading back: %v, warnings %v, %d packets, want %d", res.err, res.warns, len(res.packets), len(segs))
	}
	if !res.packets[3].Truncated {
		t.Error("the record cut by the snaplen does not read as truncated")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A writer that cannot write fails at once, not at the first packet.
func TestExportedPcapWriterError(t *testing.T) {
	if _, err := NewPcapWriter(failWriter{}, 1, 65535); err == nil {
		t.Fatal("NewPcapWriter on a failing writer: no error")
	}
}
