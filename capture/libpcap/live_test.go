package libpcap

// Live capture on the loopback interface, with real connections between
// real sockets. Capturing needs root or CAP_NET_RAW, so most of these skip
// without it; CI runs them as root.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// liveDeadline bounds how long a test waits for packets it caused.
const liveDeadline = 10 * time.Second

func needLive(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.CannotRun(t, "live capture needs root or CAP_NET_RAW: run the tests as root to include them")
	}
}

var localhost = netip.MustParseAddr("127.0.0.1")

// listen starts a TCP server on 127.0.0.1 (a port the kernel picks) that
// reads each connection to its end, then closes it.
func listen(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(liveDeadline))
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// converse connects to port, sends payload and closes the connection the
// orderly way: the client's FIN, then the server's once it has read
// everything. It returns the client's port.
func converse(t *testing.T, port uint16, payload []byte) uint16 {
	t.Helper()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), liveDeadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(liveDeadline))
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil { // until the server's FIN
		t.Fatal(err)
	}
	return uint16(c.LocalAddr().(*net.TCPAddr).Port)
}

// missing says what of an exchange between client port cport and server
// port sport, carrying n bytes, pkts lacks; "" when it has it all.
func missing(pkts []capture.Packet, cport, sport uint16, n int) string {
	var syn, synAck, data, clientFIN, serverFIN bool
	for _, p := range pkts {
		fromClient := p.SrcPort == cport && p.DstPort == sport
		fromServer := p.SrcPort == sport && p.DstPort == cport
		switch {
		case fromClient && p.Flags == capture.FlagSYN:
			syn = true
		case fromServer && p.Flags == capture.FlagSYN|capture.FlagACK:
			synAck = true
		}
		if fromClient && p.PayloadLen == n {
			data = true
		}
		if p.Flags.Has(capture.FlagFIN) {
			clientFIN = clientFIN || fromClient
			serverFIN = serverFIN || fromServer
		}
	}
	for _, m := range []struct {
		seen bool
		what string
	}{{syn, "SYN"}, {synAck, "SYN/ACK"}, {data, "data"}, {clientFIN, "client FIN"}, {serverFIN, "server FIN"}} {
		if !m.seen {
			return m.what
		}
	}
	return ""
}

// readUntil reads r until done says the packets so far are enough, going
// on through capture.ErrTimeout, and fails the test after liveDeadline.
func readUntil(t *testing.T, r *capture.Reader, done func([]capture.Packet) string) []capture.Packet {
	t.Helper()
	var pkts []capture.Packet
	deadline := time.Now().Add(liveDeadline)
	for {
		what := done(pkts)
		if what == "" {
			return pkts
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v; got:\n%s", what, liveDeadline, packetList(pkts))
		}
		var p capture.Packet
		err := r.Next(&p)
		if err == capture.ErrTimeout {
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		pkts = append(pkts, p)
	}
}

// drainLive reads what is left, up to the first capture.ErrTimeout: the last ACK
// of a close comes after both FINs.
func drainLive(t *testing.T, r *capture.Reader, pkts []capture.Packet) []capture.Packet {
	t.Helper()
	for {
		var p capture.Packet
		err := r.Next(&p)
		if err == capture.ErrTimeout {
			return pkts
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		pkts = append(pkts, p)
	}
}

// A connection on lo, seen whole through a kernel filter that keeps out
// another port's connection.
func TestLiveCapture(t *testing.T) {
	needLive(t)
	port, other := listen(t), listen(t)
	before := time.Now()
	r, err := OpenLive("lo", capture.LiveOptions{Timeout: 100 * time.Millisecond}, capture.Options{
		Filter: fmt.Sprintf("tcp port %d", port),
		Warn:   func(err error) { t.Errorf("warning: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.LinkType(), "EN10MB (Ethernet)"; got != want {
		t.Errorf("LinkType() = %q, want %q", got, want)
	}

	// First a connection the filter rejects: were it let through, its
	// packets would come first.
	converse(t, other, []byte("not for us"))
	// 1000 bytes: more than DefaultLiveSnaplen keeps.
	payload := bytes.Repeat([]byte("tcpfsm"), 1000/6+1)[:1000]
	cport := converse(t, port, payload)
	pkts := readUntil(t, r, func(pkts []capture.Packet) string { return missing(pkts, cport, port, len(payload)) })
	pkts = drainLive(t, r, pkts)
	after := time.Now()

	var syn *capture.Packet
	subMicro := 0
	for i := range pkts {
		p := &pkts[i]
		if p.Src != localhost || p.Dst != localhost {
			t.Errorf("%v: addresses not 127.0.0.1", p)
		}
		if !(p.SrcPort == cport && p.DstPort == port || p.SrcPort == port && p.DstPort == cport) {
			t.Errorf("%v: not the filtered connection %d <-> %d", p, cport, port)
		}
		if p.Index != uint64(i+1) {
			t.Errorf("%v: Index %d, want %d: every record is this connection's", p, p.Index, i+1)
		}
		if p.Timestamp.Before(before) || p.Timestamp.After(after) || p.Timestamp.Location() != time.UTC {
			t.Errorf("%v: timestamp %v not a UTC time within the test (%v to %v)", p, p.Timestamp, before, after)
		}
		if i > 0 && p.Timestamp.Before(pkts[i-1].Timestamp) {
			t.Errorf("%v: timestamp before the previous packet's", p)
		}
		if p.Timestamp.Nanosecond()%1000 != 0 {
			subMicro++
		}
		switch {
		case p.Flags == capture.FlagSYN:
			syn = p
			if p.MSS == 0 || p.WindowScale < 0 || !p.SACKPermitted || !p.HasTimestamp {
				t.Errorf("%v: SYN options missing: %+v", p, *p)
			}
		case p.Flags == capture.FlagSYN|capture.FlagACK:
			if syn == nil || p.Ack != syn.Seq+1 {
				t.Errorf("%v: SYN/ACK does not acknowledge the SYN %v", p, syn)
			}
		case p.PayloadLen == len(payload):
			if syn == nil || p.Seq != syn.Seq+1 {
				t.Errorf("%v: data does not follow the SYN %v", p, syn)
			}
			if !p.Truncated || p.CapturedPayload >= len(payload) || p.CapturedPayload <= 0 {
				t.Errorf("%v: want the payload cut by the snaplen (%d of %d bytes captured, Truncated %v)",
					p, p.CapturedPayload, len(payload), p.Truncated)
			}
		}
	}
	// Nanosecond timestamps: with microseconds every one would end in
	// 000; with nanoseconds, all of them doing so has odds of 1e-3 each.
	if subMicro == 0 {
		t.Errorf("all %d timestamps are whole microseconds: not nanosecond precision", len(pkts))
	}
	t.Logf("%d packets; %d timestamps with sub-microsecond digits, e.g. %v",
		len(pkts), subMicro, pkts[0].Timestamp.Format(time.RFC3339Nano))

	st := r.Stats()
	checkStats(t, st)
	if st.Filtered != 0 {
		t.Errorf("Stats().Filtered = %d, want 0: the kernel filters", st.Filtered)
	}
	if st.Packets != uint64(len(pkts)) || st.TCP != uint64(len(pkts)) || st.Truncated == 0 {
		t.Errorf("Stats() = %+v, want Packets and TCP %d and Truncated > 0", st, len(pkts))
	}
	ls, ok := r.LiveStats()
	if !ok || ls.Received < st.Packets {
		t.Errorf("LiveStats() = %+v, %v; want ok and Received >= %d", ls, ok, st.Packets)
	}
	if now := r.Now(); now.Before(after) || now.After(time.Now()) {
		t.Errorf("Now() = %v, not the wall clock", now)
	}

	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if closed, ok := r.LiveStats(); !ok || closed.Received < ls.Received {
		t.Errorf("LiveStats() after Close = %+v, %v; want the final counters (>= %+v)", closed, ok, ls)
	}
	if err := r.Next(new(capture.Packet)); !errors.Is(err, capture.ErrClosed) {
		t.Errorf("Next after Close: %v, want capture.ErrClosed", err)
	}
}

// Next gives up after the timeout without ending the capture.
func TestLiveTimeout(t *testing.T) {
	needLive(t)
	port := listen(t)
	const timeout = 50 * time.Millisecond
	r, err := OpenLive("lo", capture.LiveOptions{Timeout: timeout}, capture.Options{Filter: fmt.Sprintf("tcp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p capture.Packet
	// The kernel retires the ring's block on a timer of its own, which
	// started when the capture opened: one wait may end early, but three
	// in a row take at least one timeout, and none much longer.
	var waited time.Duration
	for i := range 3 {
		start := time.Now()
		err := r.Next(&p)
		elapsed := time.Since(start)
		waited += elapsed
		if err != capture.ErrTimeout || !errors.Is(err, capture.ErrTimeout) {
			t.Fatalf("Next with nothing to read: %v, want capture.ErrTimeout", err)
		}
		t.Logf("ErrTimeout %d after %v", i+1, elapsed)
		if elapsed > timeout+2*time.Second {
			t.Errorf("ErrTimeout after %v, want about %v", elapsed, timeout)
		}
	}
	if waited < timeout {
		t.Errorf("three ErrTimeouts in %v, less than one timeout (%v)", waited, timeout)
	}
	cport := converse(t, port, []byte("after the timeouts"))
	pkts := readUntil(t, r, func(pkts []capture.Packet) string { return missing(pkts, cport, port, 18) })
	if pkts[0].Flags != capture.FlagSYN || pkts[0].Index != 1 {
		t.Errorf("first packet after the timeouts: %v, want the SYN, numbered 1", &pkts[0])
	}
	if st := r.Stats(); st.Packets != uint64(len(pkts)) {
		t.Errorf("Stats().Packets = %d, want %d: a timeout is no record", st.Packets, len(pkts))
	}
}

// In immediate mode Next delivers a packet as soon as it is captured.
// Without it, Linux would hold the packet until the ring's block is full or
// its timeout passes, which libpcap sets to capture.LiveOptions.Timeout: here 10 s,
// so a delivery within 3 s is immediate mode's doing whatever the load.
func TestLiveImmediateMode(t *testing.T) {
	needLive(t)
	port := listen(t)
	const timeout = 10 * time.Second
	r, err := OpenLive("lo", capture.LiveOptions{Timeout: timeout}, capture.Options{Filter: fmt.Sprintf("tcp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dialed := make(chan time.Time, 1)
	go func() {
		// Next is waiting by then; if not, the packet waits for Next and
		// is still delivered at once.
		time.Sleep(100 * time.Millisecond)
		dialed <- time.Now()
		if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), liveDeadline); err == nil {
			c.Close()
		}
	}()
	var p capture.Packet
	if err := r.Next(&p); err != nil {
		t.Fatalf("Next: %v", err)
	}
	delay := time.Since(<-dialed)
	t.Logf("SYN delivered %v after the dial", delay)
	if p.Flags != capture.FlagSYN || delay > 3*time.Second {
		t.Errorf("first packet %v delivered %v after the dial: want the SYN, at once (the block timeout is %v)", &p, delay, timeout)
	}
}

// What Save writes, Open reads back as the very packets Next delivered.
func TestLiveSave(t *testing.T) {
	needLive(t)
	port := listen(t)
	path := filepath.Join(t.TempDir(), "live.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := OpenLive("lo", capture.LiveOptions{Timeout: 100 * time.Millisecond, Save: f},
		capture.Options{Filter: fmt.Sprintf("tcp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	size := func() int64 {
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if n := size(); n != pcapFileHeaderLen {
		t.Errorf("file is %d bytes after OpenLive, want the %d-byte header written at once", n, pcapFileHeaderLen)
	}

	cport := converse(t, port, []byte("saved for later"))
	live := readUntil(t, r, func(pkts []capture.Packet) string {
		if len(pkts) == 0 {
			return "packet"
		}
		return ""
	})
	if n := size(); n != pcapFileHeaderLen {
		t.Errorf("file is %d bytes before Flush, want the records still buffered", n)
	}
	if err := r.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n := size(); n <= pcapFileHeaderLen {
		t.Errorf("file is %d bytes after Flush, want the first record in it", n)
	}
	live = append(live, readUntil(t, r, func(pkts []capture.Packet) string {
		return missing(append(live[:len(live):len(live)], pkts...), cport, port, 15)
	})...)
	live = drainLive(t, r, live)
	liveStats := r.Stats()
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	head, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := func(off int) uint32 {
		return uint32(head[off]) | uint32(head[off+1])<<8 | uint32(head[off+2])<<16 | uint32(head[off+3])<<24
	}
	if magic, snaplen, link := le(0), le(16), le(20); magic != pcapMagicNanos || snaplen != capture.DefaultLiveSnaplen || link != 1 {
		t.Errorf("file header: magic %#x, snaplen %d, link type %d; want %#x, %d, 1",
			magic, snaplen, link, pcapMagicNanos, capture.DefaultLiveSnaplen)
	}

	fr, saved := readBack(t, path)
	// Close may have saved a record or two that came after the last Next.
	if len(saved) < len(live) {
		t.Fatalf("saved %d packets, read %d live", len(saved), len(live))
	}
	for i := range live {
		l, s := live[i], saved[i]
		if !l.Timestamp.Equal(s.Timestamp) {
			t.Errorf("packet %d: saved timestamp %v, live %v", i+1, s.Timestamp, l.Timestamp)
		}
		if l != s {
			t.Errorf("packet %d:\nsaved %+v\n live %+v", i+1, s, l)
		}
	}
	if st := fr.Stats(); st.Packets < liveStats.Packets || st.TCP < liveStats.TCP {
		t.Errorf("file Stats() = %+v, live %+v: every record captured must be saved", st, liveStats)
	}
	if got, want := fr.Now(), saved[len(saved)-1].Timestamp; !got.Equal(want) {
		t.Errorf("file Now() = %v, want the last packet's time %v", got, want)
	}
}

// Once warmed up, Next on a live capture allocates nothing either, Save
// included.
func TestLiveNextAllocatesNothing(t *testing.T) {
	needLive(t)
	port := listen(t)
	r, err := OpenLive("lo", capture.LiveOptions{Timeout: 20 * time.Millisecond, Save: io.Discard},
		capture.Options{Filter: fmt.Sprintf("tcp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// About 9 packets each, all captured before the measurement starts.
	for range 40 {
		converse(t, port, []byte("x"))
	}
	var p capture.Packet
	delivered := 0
	var failed error
	allocs := testing.AllocsPerRun(200, func() {
		switch err := r.Next(&p); err {
		case nil:
			delivered++
		case capture.ErrTimeout:
		default:
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if delivered < 150 {
		t.Fatalf("only %d of 201 calls delivered a packet: the measurement means little", delivered)
	}
	if allocs != 0 {
		t.Errorf("Next allocates %.2f times per packet, want 0", allocs)
	}
}

func TestOpenLiveNoSuchInterface(t *testing.T) {
	needLive(t) // without the permission, libpcap reports that first
	_, err := OpenLive("nosuch9", capture.LiveOptions{}, capture.Options{})
	if !errors.Is(err, capture.ErrNoSuchInterface) {
		t.Fatalf("OpenLive(nosuch9): %v, want capture.ErrNoSuchInterface", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "nosuch9: no such interface (interfaces: ") || !strings.Contains(msg, "lo") {
		t.Errorf("error %q: want the interface named and the ones there are listed, lo among them", msg)
	}
}

func TestOpenLiveBadFilter(t *testing.T) {
	needLive(t)
	_, err := OpenLive("lo", capture.LiveOptions{}, capture.Options{Filter: "tcp prot 80"})
	if !errors.Is(err, capture.ErrFilter) {
		t.Fatalf("OpenLive with a bad filter: %v, want capture.ErrFilter", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `lo: invalid filter "tcp prot 80": `) || !strings.Contains(msg, "syntax error") {
		t.Errorf("error %q: want the interface, the filter and libpcap's syntax error", msg)
	}
}

// An interface that is down: libpcap's own words, after its name.
func TestOpenLiveInterfaceDown(t *testing.T) {
	needLive(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	down := ""
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			down = ifc.Name
			break
		}
	}
	if down == "" {
		t.Skip("no interface is down")
	}
	r, err := OpenLive(down, capture.LiveOptions{}, capture.Options{})
	if err == nil {
		r.Close()
		t.Fatalf("OpenLive(%s) succeeded on an interface that is down", down)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, down+": ") || !strings.Contains(msg, "not up") ||
		errors.Is(err, capture.ErrPermission) || errors.Is(err, capture.ErrNoSuchInterface) {
		t.Errorf("OpenLive(%s): %q, want the name and libpcap's \"That device is not up\"", down, msg)
	}
}

// Linux's nflog pseudo-interface delivers netfilter log messages (link
// type NFLOG), which hold no frames this package decodes.
func TestOpenLiveUnsupportedLinkType(t *testing.T) {
	needLive(t)
	ifs, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ifc := range ifs {
		found = found || ifc.Name == "nflog"
	}
	if !found {
		t.Skip("no nflog interface")
	}
	r, err := OpenLive("nflog", capture.LiveOptions{}, capture.Options{Filter: "tcp"})
	if err == nil {
		r.Close()
		t.Fatal("OpenLive(nflog) succeeded")
	}
	if !errors.Is(err, capture.ErrUnsupportedLinkType) {
		t.Skipf("nflog cannot be opened here: %v", err)
	}
	if got, want := err.Error(), "nflog: unsupported link type NFLOG (239) (supported: NULL (0), EN10MB (1), "; !strings.HasPrefix(got, want) {
		t.Errorf("error %q, want %q...", got, want)
	}
}

// helperEnv makes the test binary, run again, act as TestHelperOpenLive.
const helperEnv = "TCPFSM_TEST_HELPER_OPENLIVE"

// TestHelperOpenLive is not a test: TestOpenLivePermission runs the test
// binary as an unprivileged user to call OpenLive there.
func TestHelperOpenLive(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper for TestOpenLivePermission")
	}
	r, err := OpenLive("lo", capture.LiveOptions{}, capture.Options{})
	if err == nil {
		r.Close()
	}
	fmt.Printf("uid %d\nerror: %v\nErrPermission: %v\n", os.Geteuid(), err, errors.Is(err, capture.ErrPermission))
}

// Without root or the capabilities, the error says how to get them.
func TestOpenLivePermission(t *testing.T) {
	needLive(t) // to switch to another user
	// The test binary must be reachable by that user: the build directory
	// and t.TempDir() are private.
	dir, err := os.MkdirTemp("/tmp", "tcpfsm-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "libpcap.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(exe, "-test.run=^TestHelperOpenLive$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	// nobody: changing uid from 0 drops every capability.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, fs.ErrPermission) {
		t.Skipf("nobody cannot run %s (/tmp mounted noexec?): %v", exe, err)
	}
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var msg string
	for line := range strings.Lines(string(out)) {
		if m, ok := strings.CutPrefix(line, "error: "); ok {
			msg = strings.TrimSpace(m)
		}
	}
	t.Logf("as nobody: %s", msg)
	if !strings.Contains(string(out), "uid 65534\n") || !strings.Contains(string(out), "ErrPermission: true\n") {
		t.Errorf("helper output, want uid 65534 and capture.ErrPermission:\n%s", out)
	}
	if !strings.HasPrefix(msg, "lo: ") || !strings.Contains(msg, "root") ||
		!strings.Contains(strings.ToLower(msg), "cap_net_raw") || !strings.Contains(msg, "setcap") ||
		!strings.Contains(msg, exe) {
		t.Errorf("error %q: want the interface, root or CAP_NET_RAW, and the setcap command for %s", msg, exe)
	}
}

// Interfaces needs no privilege, and spells the flags as tcpdump -D does.
func TestInterfaces(t *testing.T) {
	ifs, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var lo *Interface
	for i := range ifs {
		if ifs[i].Name == "lo" {
			lo = &ifs[i]
		}
	}
	if lo == nil {
		t.Fatalf("no lo in %+v", ifs)
	}
	if got := strings.Join(lo.Flags, ", "); got != "Up, Running, Loopback" {
		t.Errorf("lo flags %q, want \"Up, Running, Loopback\"", got)
	}
	found := false
	for _, a := range lo.Addresses {
		found = found || a == localhost
	}
	if !found {
		t.Errorf("lo addresses %v lack 127.0.0.1", lo.Addresses)
	}

	// The same listing as tcpdump's, when there is a tcpdump.
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("no tcpdump to compare with")
	}
	out, err := exec.Command(tcpdump, "-D").Output()
	if err != nil {
		t.Skipf("tcpdump -D: %v", err)
	}
	var b strings.Builder
	for i, ifc := range ifs {
		fmt.Fprintf(&b, "%d.%s", i+1, ifc.Name)
		if ifc.Description != "" {
			fmt.Fprintf(&b, " (%s)", ifc.Description)
		}
		if len(ifc.Flags) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(ifc.Flags, ", "))
		}
		b.WriteByte('\n')
	}
	// tcpdump writes "none" where no flag bit is set: Flags leaves it out.
	want := strings.NewReplacer(" [none]", "", "[none, ", "[").Replace(string(out))
	if b.String() != want {
		t.Errorf("listing:\n%s\ntcpdump -D:\n%s", b.String(), out)
	}
}

// writeCounter counts the writes it is given.
type writeCounter struct{ n int }

func (w *writeCounter) Write(b []byte) (int, error) { w.n++; return len(b), nil }

// OpenLive writes nothing to Save unless the interface and the filter
// open, so that the caller can create the file at the first write.
func TestOpenLiveFailureWritesNoSave(t *testing.T) {
	needLive(t)
	for _, c := range []struct{ iface, filter string }{{"nosuch9", ""}, {"lo", "tcp prot 80"}} {
		var w writeCounter
		if r, err := OpenLive(c.iface, capture.LiveOptions{Save: &w}, capture.Options{Filter: c.filter}); err == nil {
			r.Close()
			t.Fatalf("OpenLive(%s, %q) opened", c.iface, c.filter)
		}
		if w.n != 0 {
			t.Errorf("OpenLive(%s, %q) failed after %d writes to Save, want none", c.iface, c.filter, w.n)
		}
	}
	var w writeCounter
	r, err := OpenLive("lo", capture.LiveOptions{Save: &w}, capture.Options{Filter: "tcp"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if w.n != 1 {
		t.Errorf("OpenLive wrote %d times to Save, want once (the header)", w.n)
	}
}
