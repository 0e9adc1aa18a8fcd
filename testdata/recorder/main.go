// Command recorder drives the scenarios that testdata/record.sh records.
//
// It is run as root in the host namespace after record.sh has created the
// two namespaces. It creates each socket in the right namespace itself
// (setns on a dedicated thread), so one process can coordinate both ends of
// a connection to the microsecond (simultaneous open/close need that). For
// each scenario it: disables veth offloads, sets sysctls, starts the NFQUEUE
// delayers, starts tcpdump in the client namespace, runs the scenario, stops
// tcpdump, and only then closes whatever sockets are still open, so the
// capture ends with the connection in the state the scenario left it in.
//
//	recorder list
//	recorder run -scenario NAME -out FILE.pcap [-errno NAME.errno.json] [-link LINUX_SLL2] [-delay 5ms]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

var start = time.Now()

// commonSysctls are set in both namespaces for every scenario.
var commonSysctls = [][3]string{
	// Exponential SYN backoff (1, 2, 4 s ...) as on an ordinary host; newer
	// kernels default to 4 linear 1 s retries first.
	{"net.ipv4.tcp_syn_linear_timeouts", "0", "optional"},
	// Early demux attaches the socket to a packet in PREROUTING, before the
	// NFQUEUE delay in INPUT; 5 ms later that socket can be stale (a request
	// socket that has meanwhile become a full socket), which makes the kernel
	// act in ways no real network would cause. Look sockets up on delivery.
	{"net.ipv4.ip_early_demux", "0", ""},
	{"net.ipv4.tcp_early_demux", "0", ""},
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  [%7.3fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "list":
		for _, s := range scenarios {
			fmt.Println(s.name)
		}
	case "describe":
		for _, s := range scenarios {
			fmt.Printf("%-28s %s\n", s.name, s.desc)
		}
	case "run":
		if err := run(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "recorder: %v\n", err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: recorder list | describe | run -scenario NAME -out FILE [-link LINUX_SLL2] [-delay 5ms]")
	os.Exit(2)
}

func run(args []string) error {
	// Plenty of Ps, so that a thread returning from a blocking system call
	// (the delay queue's nanosleep and recvfrom) finds an idle P at once
	// instead of waiting for one on a busy 2-CPU machine. A P stays with a
	// thread blocked in a system call until sysmon takes it back (after up
	// to 10 ms), so there must be more Ps than goroutines that can be
	// blocked at once: the diag-* scenarios have dozens (a client and a
	// server goroutine per open connection).
	runtime.GOMAXPROCS(256)
	// No garbage collection: a run lasts seconds and allocates little, and
	// the collector's stop-the-world pauses and mark workers (real-time
	// threads too, under chrt) held the delay queue up for several
	// milliseconds in the diag-* scenarios with hundreds of connections.
	debug.SetGCPercent(-1)
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	name := fs.String("scenario", "", "scenario to record")
	out := fs.String("out", "", "pcap file to write")
	link := fs.String("link", "", "tcpdump link type; LINUX_SLL2 captures on the 'any' device")
	delay := fs.Duration("delay", 5*time.Millisecond, "one-way delay added in each direction via NFQUEUE (0 disables)")
	cns := fs.String("cns", "tcpfsm-c", "client namespace")
	sns := fs.String("sns", "tcpfsm-s", "server namespace")
	cdev := fs.String("cdev", "veth-c", "veth device in the client namespace")
	sdev := fs.String("sdev", "veth-s", "veth device in the server namespace")
	debug := fs.Bool("debug", false, "log ss and nstat output of both namespaces when the scenario ends")
	counters := fs.String("counters", "", "write the TCP and IP counters (nstat) of both namespaces when the scenario ends to this file, one \"client|server NAME VALUE\" a line, for record.sh's checks")
	errnoLog := fs.String("errno", "", "write what each socket call returned, per connection, to this file (JSON)")
	fs.Parse(args)

	var sc *scenario
	for i := range scenarios {
		if scenarios[i].name == *name {
			sc = &scenarios[i]
		}
	}
	if sc == nil || *out == "" {
		return fmt.Errorf("unknown scenario %q or no -out", *name)
	}
	e := &env{cns: *cns, sns: *sns, cdev: *cdev, sdev: *sdev, port: 8080, v6: sc.v6}
	if sc.v6 {
		e.client, e.server = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	} else {
		e.client, e.server = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	}

	for _, nd := range [][2]string{{e.cns, e.cdev}, {e.sns, e.sdev}} {
		if err := disableOffloads(nd[0], nd[1]); err != nil {
			return err
		}
		for _, kv := range commonSysctls {
			if err := sysctl(nd[0], kv[0], kv[1], kv[2] == "optional"); err != nil {
				return err
			}
		}
	}
	for _, kv := range sc.client {
		if err := sysctl(e.cns, kv[0], kv[1], false); err != nil {
			return err
		}
	}
	for _, kv := range sc.server {
		if err := sysctl(e.sns, kv[0], kv[1], false); err != nil {
			return err
		}
	}

	var delayers []*delayer
	if *delay > 0 {
		e.delayed = true
		for _, nd := range [][2]string{{e.cns, e.cdev}, {e.sns, e.sdev}} {
			d, err := startDelayer(nd[0], 0, *delay)
			if err != nil {
				return err
			}
			delayers = append(delayers, d)
			for _, v6 := range []bool{false, true} {
				if err := iptables(nd[0], v6, "-A", "INPUT", "-i", nd[1], "-p", "tcp", "-j", "NFQUEUE", "--queue-num", "0"); err != nil {
					return err
				}
			}
		}
	}

	td, err := startTcpdump(e.cns, e.cdev, *link, *out)
	if err != nil {
		return err
	}
	start = time.Now()
	logf("scenario %s: %s", sc.name, sc.desc)
	scErr := sc.run(e)
	// Let the last packets through the delay queue and into the file.
	time.Sleep(300 * time.Millisecond)
	if *debug {
		for _, ns := range []string{e.cns, e.sns} {
			out, _ := exec.Command("ip", "netns", "exec", ns, "ss", "-tanoi").CombinedOutput()
			logf("ss in %s:\n%s", ns, out)
			// -s: leave nstat's history file alone.
			out, _ = exec.Command("ip", "netns", "exec", ns, "nstat", "-asz").CombinedOutput()
			for _, l := range strings.Split(string(out), "\n") {
				f := strings.Fields(l)
				if len(f) >= 2 && f[1] != "0" && strings.HasPrefix(f[0], "Tcp") {
					logf("nstat %s: %s", ns, l)
				}
			}
		}
	}
	if *counters != "" {
		if err := writeCounters(*counters, e); err != nil {
			return err
		}
	}
	if err := td.stop(); err != nil {
		return err
	}
	if *errnoLog != "" {
		if err := writeCallLog(*errnoLog); err != nil {
			return err
		}
	}
	if scErr != nil {
		return fmt.Errorf("scenario %s: %w", sc.name, scErr)
	}
	for _, d := range delayers {
		logf("%s", d.stats())
		if err := d.err(); err != nil {
			return err
		}
		if late := d.maxLate.Load(); late > 2*time.Millisecond {
			return fmt.Errorf("the delay queue in %s released a packet %v late: timing not trustworthy", d.ns, late)
		}
	}
	return nil
}

// writeCounters writes the TCP and IP counters of both namespaces to path,
// as "client NAME VALUE" and "server NAME VALUE" lines: what the kernels
// say they did (challenge ACKs sent, connections reset, datagrams
// reassembled), which record.sh checks against what the scenario did.
func writeCounters(path string, e *env) error {
	var b strings.Builder
	for _, side := range []struct{ name, ns string }{{"client", e.cns}, {"server", e.sns}} {
		c, err := netCounters(side.ns)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(c)) {
			fmt.Fprintf(&b, "%s %s %d\n", side.name, name, c[name])
			if c[name] != 0 && (strings.Contains(name, "Challenge") || strings.Contains(name, "Reset") || strings.Contains(name, "Rst")) {
				logf("nstat %s: %s %d", side.name, name, c[name])
			}
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

type tcpdump struct {
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	stderr strings.Builder
}

func startTcpdump(ns, dev, link, out string) (*tcpdump, error) {
	args := []string{"netns", "exec", ns, "tcpdump", "-n", "-s", "0", "--immediate-mode", "-U", "-Z", "root", "-w", out}
	if link == "LINUX_SLL2" {
		args = append(args, "-i", "any", "-y", link)
	} else {
		args = append(args, "-i", dev)
		if link != "" {
			args = append(args, "-y", link)
		}
	}
	// TCP; TCP over the VXLAN overlay (vxlan-normal): UDP port 4789, then
	// the 8-byte VXLAN header and an inner Ethernet header whose IPv4
	// packet carries TCP, not the overlay's own neighbour discovery; and
	// the fragments of a UDP datagram after its first (vxlan-fragmented:
	// the filter reads the ports and the VXLAN payload in the first alone),
	// which no other scenario sends; and the ICMP errors that can end a
	// connect() (app-icmp-*): destination unreachable, which no other
	// scenario provokes.
	args = append(args, "tcp or (udp port 4789 and udp[28:2] == 0x0800 and udp[39] == 6) or (ip proto 17 and ip[6:2] & 0x1fff != 0) or icmp[icmptype] == icmp-unreach or icmp6[icmp6type] == icmp6-destinationunreach")
	t := &tcpdump{cmd: exec.Command("ip", args...), done: make(chan struct{})}
	pipe, err := t.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan struct{})
	go func() {
		defer close(t.done)
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			t.mu.Lock()
			t.stderr.WriteString(line + "\n")
			t.mu.Unlock()
			if strings.Contains(line, "listening on") {
				once.Do(func() { close(listening) })
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	select {
	case <-listening:
	case <-t.done:
		t.cmd.Wait()
		return nil, fmt.Errorf("tcpdump exited: %s", t.stderr.String())
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		return nil, fmt.Errorf("tcpdump did not start: %s", t.stderr.String())
	}
	// tcpdump prints "listening" once the capture is active; give it a
	// moment more before any traffic.
	time.Sleep(300 * time.Millisecond)
	return t, nil
}

func (t *tcpdump) stop() error {
	t.cmd.Process.Signal(syscall.SIGINT)
	<-t.done
	err := t.cmd.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSpace(t.stderr.String()), "\n") {
		if strings.Contains(l, "packets") {
			logf("tcpdump: %s", l)
		}
	}
	if err != nil {
		return fmt.Errorf("tcpdump: %v: %s", err, t.stderr.String())
	}
	return nil
}
