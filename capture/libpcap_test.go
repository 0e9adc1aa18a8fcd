//go:build cgo

package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcap"
	"github.com/tcpfsm/tcpfsm/capture/pcapngtest"
	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// compareWithLibpcap reads path with this package and with libpcap
// (pcap_open_offline) and checks that they agree: the same number of
// records, and for every TCP packet delivered, the record libpcap has at
// that index carries the same timestamp and the same TCP ports, sequence
// and acknowledgement numbers (a reassembled segment's: its header is in
// its first fragment, a record since the last packet delivered).
func compareWithLibpcap(t *testing.T, path string) (pkts []Packet) {
	t.Helper()
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err, pkts = drain(r)
	if err != nil {
		t.Fatal(err)
	}
	mine := r.Stats()

	h, err := pcap.OpenOffline(path) // nanosecond precision: gopacket asks libpcap for it
	if err != nil {
		t.Fatalf("libpcap: %v", err)
	}
	defer h.Close()
	next := 0
	var records uint64
	var since [][]byte // the records since the last packet delivered
	for {
		data, ci, err := h.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("libpcap record %d: %v", records+1, err)
		}
		records++
		since = append(since, data)
		if next == len(pkts) || pkts[next].Index != records {
			continue
		}
		p := pkts[next]
		next++
		if !ci.Timestamp.Equal(p.Timestamp) {
			t.Errorf("packet %d: timestamp %v, libpcap says %v", p.Index, p.Timestamp, ci.Timestamp)
		}
		var tcp [12]byte
		binary.BigEndian.PutUint16(tcp[0:], p.SrcPort)
		binary.BigEndian.PutUint16(tcp[2:], p.DstPort)
		binary.BigEndian.PutUint32(tcp[4:], p.Seq)
		binary.BigEndian.PutUint32(tcp[8:], p.Ack)
		if !slices.ContainsFunc(since, func(b []byte) bool { return bytes.Contains(b, tcp[:]) }) {
			t.Errorf("packet %d (%v): neither libpcap's record %d nor one since the packet before has such a TCP header", p.Index, &p, records)
		}
		since = since[:0]
	}
	if records != mine.Packets {
		t.Errorf("libpcap read %d records, this package %d", records, mine.Packets)
	}
	if next != len(pkts) {
		t.Errorf("%d packets delivered past libpcap's last record", len(pkts)-next)
	}
	return pkts
}

// The in-test captures, written to files and read by libpcap too.
func TestAgreesWithLibpcapOnBuiltCaptures(t *testing.T) {
	segs := append(handshake("10.0.0.1", "10.0.0.2", 40000, 9502), handshake("2001:db8::1", "2001:db8::2", 40001, 443)...)
	recs, _ := nanoRecords(ethernetIP)
	le, be := binary.LittleEndian, binary.BigEndian
	withARP := append(recordsOf(ethernetIP, segs), rec{ts: at(time.Hour), data: ethernet(etherARP, make([]byte, 28))})
	files := map[string][]byte{
		"ethernet.pcap": pcapBytes(le, false, 1, withARP...),
		"qinq-be.pcap": pcapBytes(be, false, 1, recordsOf(func(ip []byte) []byte {
			return ethernet(binary.BigEndian.Uint16(frameFor(1, ip)[12:]), ip, etherQinQ, etherVLAN)
		}, segs)...),
		"nanos.pcap":      pcapBytes(be, true, 1, recs...),
		"kuznetzov.pcap":  pcapWithMagic(be, pcapMagicKuznetzov, 1, withARP...),
		"sll.pcap":        pcapBytes(le, false, 113, recordsOf(func(ip []byte) []byte { return frameFor(113, ip) }, segs)...),
		"sll2.pcap":       pcapBytes(le, false, 276, recordsOf(func(ip []byte) []byte { return frameFor(276, ip) }, segs)...),
		"null.pcap":       pcapBytes(le, false, 0, recordsOf(func(ip []byte) []byte { return frameFor(0, ip) }, segs)...),
		"raw.pcap":        pcapBytes(le, false, 101, recordsOf(func(ip []byte) []byte { return ip }, segs)...),
		"ethernet.pcapng": pcapngBytes(le, []pcapngtest.Interface{{Link: 1, TSResol: 9}}, recs...),
		"two-ifaces.pcapng": pcapngBytes(be, []pcapngtest.Interface{{Link: 1, TSResol: 9}, {Link: 1, TSResol: 3}},
			append(recs, rec{ts: t0.Truncate(time.Millisecond), data: recs[0].data, iface: 1})...),
		// libpcap refuses pcapng files whose interfaces have different link
		// types, so TestPcapngMixedInterfaces is this package's alone.
	}
	dir := t.TempDir()
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			compareWithLibpcap(t, path)
		})
	}
}

// Captures someone put in ../testdata.
func TestAgreesWithLibpcapOnTestdata(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"../testdata/*.pcap", "../testdata/*.pcapng", "../testdata/*/*.pcap", "../testdata/*/*.pcapng"} {
		m, _ := filepath.Glob(pattern)
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("no captures in ../testdata")
	}
	for _, path := range paths {
		if filepath.Base(filepath.Dir(path)) == "hostile" {
			// Broken on purpose, where libpcap and tcpfsm part ways by
			// design (cmd/tcpfsm's TestHostileCaptures holds what tcpfsm
			// does): libpcap stops at the first bad record, refuses pcapng
			// interfaces of different link types, and reads a pcap
			// timestamp's seconds as signed, where the format says
			// unsigned (draft-ietf-opsawg-pcap: 2106, not 1969).
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			if r, err := Open(path, Options{}); err != nil {
				t.Skipf("not readable here: %v", err)
			} else {
				r.Close()
			}
			compareWithLibpcap(t, path)
		})
	}
}

// A real capture: tcpdump records TCP connections over loopback, IPv4 and
// IPv6, on "lo" (Ethernet framing) and on "any" (Linux cooked v2), with
// microsecond and nanosecond timestamps. (tcpdump 4.99 cannot write
// pcapng.) Needs root and tcpdump; skipped otherwise and with -short.
func TestLiveCaptureWithTcpdump(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil || os.Geteuid() != 0 {
		testenv.CannotRun(t, "needs tcpdump and root")
	}
	for _, tt := range []struct {
		name      string
		args      []string
		wantLinks string
	}{
		{"lo.pcap", []string{"-i", "lo"}, "EN10MB (Ethernet)"},
		{"any.pcap", []string{"-i", "any"}, "LINUX_SLL2 (Linux cooked v2)"},
		{"lo-nanos.pcap", []string{"-i", "lo", "--time-stamp-precision", "nano"}, "EN10MB (Ethernet)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln4, err4 := net.Listen("tcp4", "127.0.0.1:0")
			if err4 != nil {
				t.Skip(err4)
			}
			defer ln4.Close()
			port := ln4.Addr().(*net.TCPAddr).Port
			ln6, err6 := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port))
			if err6 == nil {
				defer ln6.Close()
			}

			path := filepath.Join(t.TempDir(), tt.name)
			args := append(tt.args, "-Z", "root", "--immediate-mode", "-U", "-n", "-s", "0", "-w", path, fmt.Sprintf("tcp port %d", port))
			cmd := exec.Command(tcpdump, args...)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Skip(err)
			}
			listening := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				var all strings.Builder
				for sc.Scan() {
					all.WriteString(sc.Text() + "\n")
					if strings.Contains(sc.Text(), "listening on") {
						listening <- ""
					}
				}
				listening <- all.String()
			}()
			select {
			case msg := <-listening:
				if msg != "" {
					cmd.Wait()
					t.Skipf("tcpdump could not start: %s", msg)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Skip("tcpdump did not start")
			}

			conns := 0
			for _, ln := range []net.Listener{ln4, ln6} {
				if ln == nil {
					continue
				}
				for range 3 {
					exchange(t, ln)
					conns++
				}
			}
			time.Sleep(300 * time.Millisecond) // let tcpdump see the last packets
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()

			pkts := compareWithLibpcap(t, path)
			syns := 0
			for _, p := range pkts {
				if p.Flags == FlagSYN {
					syns++
					if p.MSS == 0 || p.WindowScale < 0 || !p.SACKPermitted || !p.HasTimestamp {
						t.Errorf("Linux SYN without the usual options: %+v", p)
					}
				}
			}
			// The capture itself may miss packets (packet sockets drop under
			// load, and in some VMs at will): what matters is agreeing with
			// libpcap on what is in the file.
			if syns == 0 {
				t.Skipf("tcpdump captured no SYN for %d connections", conns)
			}
			if syns != conns {
				t.Logf("tcpdump captured %d SYNs for %d connections", syns, conns)
			}
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			drain(r)
			if got := r.LinkType(); got != tt.wantLinks {
				t.Errorf("LinkType() = %q, want %q", got, tt.wantLinks)
			}
			r.Close()
		})
	}
}

// exchange makes one short connection to ln: request, response, close.
func exchange(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 100)
		n, _ := c.Read(buf)
		c.Write(bytes.Repeat(buf[:n], 10))
	}()
	c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello, tcpfsm"))
	io.Copy(io.Discard, c)
	c.Close()
	<-done
}
