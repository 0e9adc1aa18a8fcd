package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
)

// scriptCapture turns fuzz bytes into a pcap file, 8 bytes a packet: a
// few hosts and ports so that connections meet again, any TCP flags,
// sequence and acknowledgement numbers near each other and near the wrap,
// payload, windows and time steps that can be long or go backwards. It is
// how the whole analyser meets nonsense flag combinations, RST storms,
// SYN+FIN, data on closed connections and wrapped sequence numbers.
func scriptCapture(script []byte) []byte {
	be := binary.BigEndian
	var out bytes.Buffer
	w, _ := capture.NewPcapWriter(&out, 1, 65535) // writing to memory cannot fail
	at := int64(1_700_000_000e9)
	for i := 0; i+8 <= len(script) && i < 8*2048; i += 8 {
		b := script[i : i+8]
		switch step := int64(b[2]); {
		case step < 200:
			at += step * 1e6
		case step < 250:
			at += (step - 199) * 30e9 // up to 25 minutes: idle expiry
		default:
			at -= 1e9 // time goes backwards
		}
		payload := int(b[7] & 0x1f)
		frame := make([]byte, 14+20+20+payload)
		copy(frame, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0})
		ip, tcp := frame[14:], frame[34:]
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		be.PutUint16(ip[2:], uint16(40+payload))
		client, server := []byte{10, 0, 0, 1 + b[0]&3}, []byte{10, 0, 1, 1 + b[0]>>6}
		cport, sport := 40000+uint16(b[1]&3), uint16(9502)
		if b[1]&4 != 0 {
			client, server, cport, sport = server, client, sport, cport
		}
		copy(ip[12:], client)
		copy(ip[16:], server)
		be.PutUint16(tcp[0:], cport)
		be.PutUint16(tcp[2:], sport)
		base := uint32(0)
		if b[1]&8 != 0 {
			base = 0xffffff00 // next to the wrap
		}
		be.PutUint32(tcp[4:], base+uint32(b[4])*50)
		be.PutUint32(tcp[8:], base+uint32(b[5])*50)
		tcp[12] = 5 << 4
		tcp[13] = b[3]
		be.PutUint16(tcp[14:], uint16(b[6])<<8)
		w.WritePacket(time.Unix(0, at), frame, len(frame))
	}
	w.Flush()
	return out.Bytes()
}

// FuzzAnalyse runs the whole analyser, command line to report, on a
// capture: the bytes themselves (raw), or a packet script (scriptCapture).
// The mode picks the format, --events, -j and the table's limits. Nothing
// may panic; a readable capture gives a report whose summary counts the
// connections it lists, and an unreadable one exit status 2 and a
// one-line error.
func FuzzAnalyse(f *testing.F) {
	for _, dir := range []string{kernelDir, hostileDir} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		for _, p := range paths {
			if strings.Contains(p, ".golden.") {
				continue
			}
			if data, err := os.ReadFile(p); err == nil && len(data) <= 8<<10 {
				f.Add(data, true, uint8(len(p)))
			}
		}
	}
	// A handshake, data, FINs; a RST storm; SYN+FIN and no flags.
	f.Add([]byte{
		0, 0, 1, 0x02, 0, 0, 255, 0, 0, 4, 1, 0x12, 10, 1, 255, 0, 0, 0, 1, 0x10, 1, 11, 255, 0,
		0, 0, 1, 0x18, 1, 11, 255, 10, 0, 0, 1, 0x11, 2, 11, 255, 0, 0, 4, 1, 0x11, 11, 3, 255, 0,
	}, false, uint8(1))
	f.Add(bytes.Repeat([]byte{0, 4, 0, 0x04, 9, 0, 0, 0}, 20), false, uint8(2))
	f.Add([]byte{0, 0, 1, 0x03, 0, 0, 0, 5, 0, 0, 1, 0x00, 0, 0, 0, 5, 0, 0, 1, 0x3f, 0, 0, 0, 0}, false, uint8(3))
	// The ladders, the trace and the HTML report over the handshake.
	f.Add([]byte{
		0, 0, 1, 0x02, 0, 0, 255, 0, 0, 4, 1, 0x12, 10, 1, 255, 0, 0, 0, 1, 0x10, 1, 11, 255, 0,
	}, false, uint8(1|64|128))

	f.Fuzz(func(t *testing.T, data []byte, raw bool, mode uint8) {
		capture := data
		if !raw {
			capture = scriptCapture(data)
		}
		format := []string{"json", "text", "zeek", "parquet"}[int(mode)%4]
		args := []string{"-r", "-", "--format", format, "-j", []string{"1", "2"}[mode>>2&1]}
		if mode&8 != 0 {
			args = append(args, "--events", "--interval", "1s")
		}
		if mode&16 != 0 {
			args = append(args, "--max-conns", "3", "--idle-timeout", "10s")
		}
		if mode&32 != 0 {
			args = append(args, "--verify-checksums", "--at", "1s")
		}
		if mode&64 != 0 && format == "text" {
			args = append(args, "--ladder", "all", "-v")
		}
		if mode&128 != 0 {
			args = append(args, "--html", filepath.Join(t.TempDir(), "r.html"))
		}
		var out, errOut bytes.Buffer
		code := run(args, bytes.NewReader(capture), &out, &errOut)
		switch code {
		case exitOK:
		case exitUsage:
			if out.Len() > 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.HasPrefix(errOut.String(), "tcpfsm: ") {
				t.Fatalf("exit 2 with stdout %q and stderr %q: want one line of error and no report", out.String(), errOut.String())
			}
			return
		default:
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if format == "parquet" {
			checkParquetCounts(t, out.Bytes())
			return
		}
		if format != "json" {
			return
		}
		conns := 0
		var summary map[string]any
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("not JSON: %q: %v", sc.Text(), err)
			}
			switch m["type"] {
			case "conn":
				conns++
			case "summary":
				summary = m
			}
		}
		if summary == nil || summary["connections"] != float64(conns) {
			t.Fatalf("%d connections listed, summary %v", conns, summary)
		}
	})
}
