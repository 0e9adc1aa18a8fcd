package main

// The diag-* scenarios: captures of things going wrong at scale (SYN
// floods, leaks, pile-ups, dead peers, scans, stalls), and one of a busy but
// healthy server, for the analyzer's diagnoses. Each lasts at most 15 s.
//
// Some need more client hosts than 10.0.0.1: addClientAddrs gives the
// client namespace 10.0.1.1 ... 10.0.1.n on the same veth, so every packet
// from them is still sent by the kernel in that namespace.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var diagScenarios = []scenario{
	{
		name: "diag-syn-flood-cookies", desc: "200 SYNs from 200 addresses that never complete, listen backlog 8, tcp_syncookies=1: cookie SYN/ACKs (MSS option only); one real client completes meanwhile",
		client: [][2]string{{"net.ipv4.tcp_timestamps", "0"}},
		server: [][2]string{{"net.ipv4.tcp_syncookies", "1"}, {"net.ipv4.tcp_max_syn_backlog", "128"}, {"net.ipv4.tcp_synack_retries", "2"}},
		run:    func(e *env) error { return synFloodScenario(e, true) },
	},
	{
		name: "diag-syn-flood-nocookies", desc: "the same flood with tcp_syncookies=0, tcp_synack_retries=2: a few half-open requests, SYN/ACKs retransmitted, the rest dropped; the real client gets in after 7 s",
		client: [][2]string{{"net.ipv4.tcp_timestamps", "0"}},
		server: [][2]string{{"net.ipv4.tcp_syncookies", "0"}, {"net.ipv4.tcp_max_syn_backlog", "128"}, {"net.ipv4.tcp_synack_retries", "2"}},
		run:    func(e *env) error { return synFloodScenario(e, false) },
	},
	{name: "diag-close-wait-leak", desc: "5 connections closed by their clients, never by the server (CLOSE_WAIT for 8 s); then one healthy connection", run: closeWaitLeak},
	{
		name: "diag-time-wait-pileup", desc: "200 short client-closed connections from one host, 100 source ports used twice each (TIME_WAIT reuse)",
		client: [][2]string{{"net.ipv4.tcp_tw_reuse", "1"}},
		run:    timeWaitPileup,
	},
	{
		name: "diag-half-open-peer", desc: "server vanishes: keepalive probes unanswered then RST on one connection, data retransmitted until timeout on another (tcp_retries2=3)",
		client: [][2]string{{"net.ipv4.tcp_retries2", "3"}},
		run:    halfOpenPeer,
	},
	{name: "diag-port-scan", desc: "SYN scan of 100 ports from one source: closed ports RST, 3 open ports SYN/ACK then RST from the scanner, 3 filtered ports silent", run: portScan},
	{name: "diag-zero-window-stall", desc: "receiver stops reading for 6 s: zero window, probes backing off, window update, normal close", run: func(e *env) error { return zeroWindowFor(e, 6*time.Second) }},
	{name: "diag-keepalive-unanswered", desc: "keepalive (idle 1 s, interval 1 s, count 4): 2 probes answered, then the peer vanishes; 4 unanswered probes and RST", run: keepaliveUnanswered},
	{name: "diag-busy-normal", desc: "320 ordinary connections from 5 client hosts in about 5 s, client-first and server-first closes, some idle: nothing wrong", run: busyNormal},
}

// They follow the other scenarios in "recorder list", and so in record.sh.
func init() { scenarios = append(scenarios, diagScenarios...) }

// clientNet is the extra client subnet of addClientAddrs.
const clientNet = "10.0.1.0/24"

// addClientAddrs adds 10.0.1.1 ... 10.0.1.n to the client's veth and gives
// the server a route to them via 10.0.0.1 (a permanent neighbour, so the
// server never ARPs for them).
func (e *env) addClientAddrs(n int) ([]netip.Addr, error) {
	if e.v6 || n < 1 || n > 254 {
		return nil, fmt.Errorf("addClientAddrs(%d): IPv4 only, 1 to 254", n)
	}
	var b strings.Builder
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)})
		fmt.Fprintf(&b, "address add %s/24 dev %s\n", addrs[i], e.cdev)
	}
	if err := ipBatch(e.cns, b.String()); err != nil {
		return nil, err
	}
	if err := ipBatch(e.sns, fmt.Sprintf("route add %s via %s dev %s\n", clientNet, e.client, e.sdev)); err != nil {
		return nil, err
	}
	logf("client namespace has %s ... %s", addrs[0], addrs[n-1])
	return addrs, nil
}

// sendSYN makes the client kernel send one SYN from src (port 0: an
// ephemeral port) to dst and forgets the connection: non-blocking connect()
// and close() at once. Closing a socket in SYN_SENT sends nothing, so the
// only trace is a genuine Linux SYN (with Linux's options) that no socket
// owns any more; a SYN/ACK for it would meet no socket and be answered
// with a RST unless something drops it first.
func sendSYN(ns string, src, dst netip.AddrPort) error {
	fd, err := newSocket(ns, src.Addr(), reuseAddr(), bindTo(src))
	if err != nil {
		return fmt.Errorf("socket from %v: %w", src, err)
	}
	defer closeFD(fd)
	if err := startConnect(fd, dst); err != nil {
		return fmt.Errorf("connect %v -> %v: %w", src, dst, err)
	}
	return nil
}

// paced calls f(i) for i in [0, n), the i-th call at t0 + i*gap (not before).
func paced(n int, gap time.Duration, f func(i int) error) error {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * gap)))
		if err := f(i); err != nil {
			return err
		}
	}
	return nil
}

// synFloodScenario: 200 SYNs, 2 ms apart, from 10.0.1.1 ... 10.0.1.200 to a
// listener with backlog 8 that accept()s at once; the SYN/ACKs to those
// addresses are dropped in the client namespace before TCP (tcpdump has
// seen them by then), so the handshakes never complete and no RST answers
// them, as from a flooder with spoofed or abandoned source addresses.
// 200 ms into the flood, 10.0.0.1 connects, sends the request, gets the
// response and closes first, as in normal-client-close.
//
// The client namespace has tcp_timestamps=0, so the SYNs carry MSS,
// SACK-permitted and window scale but no timestamp: a SYN-cookie SYN/ACK to
// such a SYN carries the MSS option only (without timestamps there is
// nowhere to encode SACK and window scale), while an ordinary SYN/ACK
// carries all three.
func synFloodScenario(e *env, cookies bool) error {
	t0 := time.Now()
	srcs, err := e.addClientAddrs(200)
	if err != nil {
		return err
	}
	if err := iptables(e.cns, false, "-I", "INPUT", "1", "-d", clientNet, "-p", "tcp", "-j", "DROP"); err != nil {
		return err
	}
	ls, err := e.listen(8)
	if err != nil {
		return err
	}
	flood := goErr(func() error {
		logf("flood: 200 SYNs, 2 ms apart")
		err := paced(len(srcs), 2*time.Millisecond, func(i int) error {
			return sendSYN(e.cns, netip.AddrPortFrom(srcs[i], 0), e.serverAP())
		})
		logf("flood done")
		return err
	})
	time.Sleep(200 * time.Millisecond)
	logf("real client connect()")
	c, err := e.dial()
	if err != nil {
		return fmt.Errorf("real client: %w", err)
	}
	logf("real client connected")
	if err := writeAll(c, request); err != nil {
		return err
	}
	a, err := accept(ls)
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	if err := closeInTurn(c, a, "real client", "server", true); err != nil {
		return err
	}
	logf("real client done")
	if err := <-flood; err != nil {
		return err
	}
	// Cookies: long enough for the requests queued before the listener
	// overflowed to retransmit their SYN/ACKs twice (1 s, 3 s). No cookies:
	// the real client got in at ≈ 7.2 s; stop shortly after it.
	end := 3600 * time.Millisecond
	if !cookies {
		end = time.Since(t0) + 300*time.Millisecond
	}
	time.Sleep(time.Until(t0.Add(end)))
	return nil
}

// closeWaitLeak: five clients, one after the other, each send the request,
// get the response and close() 100 ms later; the server reads each EOF but
// never closes (the leak). 8 s after the last FIN a sixth client does the
// same and this time the server closes too, as in normal-client-close: the
// server is alive, and the capture's end is 8 s after the leaked FINs.
func closeWaitLeak(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	conn := func(i int, leak bool) error {
		c, err := e.dial()
		if err != nil {
			return err
		}
		if err := writeAll(c, request); err != nil {
			return err
		}
		a, err := accept(ls)
		if err != nil {
			return err
		}
		if err := respond(c, a); err != nil {
			return err
		}
		return closeInTurn(c, a, fmt.Sprintf("client %d", i), "server", !leak)
	}
	for i := 1; i <= 5; i++ {
		if err := conn(i, true); err != nil {
			return err
		}
	}
	time.Sleep(8 * time.Second)
	return conn(6, false)
}

// acceptLoop accept()s on ls until it fails and runs serve on each
// connection in its own goroutine; the first error of serve is kept.
type server struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	done chan struct{}
}

func startServer(ls int, serve func(a int) error) *server {
	s := &server{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			a, err := accept(ls)
			if err != nil {
				return // the listener is shut down at the end
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := serve(a); err != nil {
					s.fail(err)
				}
			}()
		}
	}()
	return s
}

func (s *server) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// stop wakes up the accept() (shutdown on a listener makes it fail) and
// waits for the handlers.
func (s *server) stop(ls int) error {
	unix.Shutdown(ls, unix.SHUT_RDWR)
	<-s.done
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// clientsDone waits for the clients of wg, which send their errors to
// errc, and then stops srv and its listener ls: the first error of either.
func clientsDone(wg *sync.WaitGroup, errc chan error, srv *server, ls int) error {
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	return srv.stop(ls)
}

// timeWaitPileup: 200 short connections from 10.0.0.1, each: connect,
// request, response, client close() at once, server close() on EOF. The
// client binds its port explicitly (SO_REUSEADDR): round 1 uses ports
// 41000-41099 (one connection every 10 ms), round 2, 2 s after round 1
// started, uses the same 100 ports again while round 1's connections are
// still in TIME_WAIT on the client. Linux lets connect() take over a
// TIME_WAIT 4-tuple when the old connection used timestamps; the new ISN is
// the old connection's SND.NXT + 65537.
func timeWaitPileup(e *env) error {
	ls, err := e.listen(128)
	if err != nil {
		return err
	}
	srv := startServer(ls, func(a int) error {
		defer closeFD(a)
		if err := readFull(a, len(request)); err != nil {
			return err
		}
		if err := writeAll(a, response); err != nil {
			return err
		}
		n, err := readEOF(a)
		if err != nil || n != 0 {
			return fmt.Errorf("server read %d bytes, %v", n, err)
		}
		return nil
	})
	const ports = 100
	var wg sync.WaitGroup
	errc := make(chan error, 2*ports)
	client := func(port uint16) {
		defer wg.Done()
		c, err := e.dial(reuseAddr(), bindTo(netip.AddrPortFrom(e.client, port)))
		if err != nil {
			errc <- fmt.Errorf("port %d: %w", port, err)
			return
		}
		defer closeFD(c)
		if err := writeAll(c, request); err != nil {
			errc <- err
			return
		}
		if err := readFull(c, len(response)); err != nil {
			errc <- err
		}
	}
	t0 := time.Now()
	for round := 0; round < 2; round++ {
		time.Sleep(time.Until(t0.Add(time.Duration(round) * 2 * time.Second)))
		logf("round %d: ports 41000-%d", round+1, 41000+ports-1)
		paced(ports, 10*time.Millisecond, func(i int) error {
			wg.Add(1)
			go client(uint16(41000 + i))
			return nil
		})
	}
	return clientsDone(&wg, errc, srv, ls)
}

// halfOpenPeer: two connections, each with request and response. A has
// keepalive (idle 1 s, interval 1 s, count 3); its first probe at ≈ 1 s is
// answered. At 1.5 s the server namespace starts dropping all TCP in and
// out (the server host vanishes, its sockets stay ESTABLISHED). A's next 3
// probes go unanswered and the client resets the connection. B (no
// keepalive) sends 18 more bytes at 1.6 s: retransmitted with backoff until
// the client gives up silently (tcp_retries2=3).
func halfOpenPeer(e *env) error {
	t0 := time.Now()
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	var c, a [2]int
	for i, opts := range [][]sockOpt{{keepAlive(1, 1, 3)}, nil} {
		if c[i], err = e.dial(opts...); err != nil {
			return err
		}
		if err := writeAll(c[i], request); err != nil {
			return err
		}
		if a[i], err = accept(ls); err != nil {
			return err
		}
		if err := respond(c[i], a[i]); err != nil {
			return err
		}
	}
	cA, cB := c[0], c[1]
	logf("both connections idle")
	time.Sleep(time.Until(t0.Add(1500 * time.Millisecond)))
	if err := vanish(e); err != nil {
		return err
	}
	readA := goErr(func() error {
		_, err := read(cA, make([]byte, 100))
		return expectErr("connection A (keepalive) read", err, unix.ETIMEDOUT)
	})
	time.Sleep(100 * time.Millisecond)
	logf("connection B: client sends 18 bytes")
	if err := writeAll(cB, request); err != nil {
		return err
	}
	_, err = read(cB, make([]byte, 100))
	errB := expectErr("connection B read", err, unix.ETIMEDOUT)
	return errors.Join(<-readA, errB)
}

// vanish cuts the server host off: its namespace drops all TCP in and out.
func vanish(e *env) error {
	logf("server namespace drops all TCP in and out")
	for _, ch := range []string{"INPUT", "OUTPUT"} {
		if err := e.ipt("-I", ch, "1", "-p", "tcp", "-j", "DROP"); err != nil {
			return err
		}
	}
	return nil
}

// keepaliveUnanswered: like keepalive, with count 4; after 2 answered
// probes (≈ 1 s and 2 s) the server vanishes at 2.5 s; probes at ≈ 3, 4, 5,
// 6 s are unanswered, and at ≈ 7 s the client resets the connection.
func keepaliveUnanswered(e *env) error {
	t0 := time.Now()
	c, a, err := connectPair(e, request, keepAlive(1, 1, 4))
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	logf("idle")
	time.Sleep(time.Until(t0.Add(2500 * time.Millisecond)))
	if err := vanish(e); err != nil {
		return err
	}
	_, err = read(c, make([]byte, 100))
	return expectErr("client read", err, unix.ETIMEDOUT)
}

// portScan: a SYN scan from 10.0.0.1, source port 45000, of ports
// 8000-8099 in a fixed shuffled order, one SYN every 5 ms. Listeners on
// 8022, 8080 and 8088; the server's firewall drops SYNs to 8023, 8025 and
// 8053. Each SYN comes from a socket closed right after connect() (see
// sendSYN): a closed port answers RST/ACK (ignored: no socket), an open
// port SYN/ACK, which the client kernel answers with a RST as no socket
// owns it any more (exactly what a raw-socket SYN scanner's host does).
func portScan(e *env) error {
	open := []uint16{8022, 8080, 8088}
	filtered := []uint16{8023, 8025, 8053}
	for _, p := range open {
		if _, err := listenOn(e.sns, netip.AddrPortFrom(e.server, p), 16); err != nil {
			return err
		}
	}
	for _, p := range filtered {
		if err := e.ipt("-I", "INPUT", "1", "-p", "tcp", "--dport", fmt.Sprint(p), "-j", "DROP"); err != nil {
			return err
		}
	}
	order := make([]uint16, 100)
	for i := range order {
		order[i] = uint16(8000 + i)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	src := netip.AddrPortFrom(e.client, 45000)
	logf("scanning 100 ports from %v", src)
	err := paced(len(order), 5*time.Millisecond, func(i int) error {
		return sendSYN(e.cns, src, netip.AddrPortFrom(e.server, order[i]))
	})
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	return nil
}

// Requests of busyNormal, 18 bytes each like request: the first word tells
// the server what to do.
var (
	reqKeep  = []byte("hello from client\n") // answer 18 bytes, keep the connection
	reqClose = []byte("close from client\n") // answer 18 bytes, then close first
	reqLarge = []byte("large from client\n") // answer 4000 bytes, keep the connection
)

const largeLen = 4000

// busyNormal: 320 ordinary connections, one started every 12 ms (3.8 s),
// from 10.0.0.1 and 10.0.1.1-10.0.1.4 in turn, to a server that accept()s
// and serves each at once. Connection i binds port 50000+i: with ports
// chosen by connect(), a client port whose last connection the server
// closed first (server TIME_WAIT) was now and then taken again for the
// same server, and the SYN then reuses a 4-tuple, which is not what this
// capture is about. By connection number i (mod 16):
//
//	0-7:   request, 18-byte response, client closes first, server on EOF
//	8-11:  request, response, server closes first, client on EOF
//	12-13: request, 4000-byte response, client closes first
//	14:    request, 4000-byte response, then a request that makes the
//	       server close first
//	15:    as 0-7, but every other one (10 in all) idles 1.5 s between
//	       the first and a second request
//
// No keepalive, no loss, no reset: a healthy server.
func busyNormal(e *env) error {
	extra, err := e.addClientAddrs(4)
	if err != nil {
		return err
	}
	hosts := append([]netip.Addr{e.client}, extra...)
	ls, err := e.listen(128)
	if err != nil {
		return err
	}
	srv := startServer(ls, func(a int) error {
		defer closeFD(a)
		for {
			b := make([]byte, len(reqKeep))
			n, err := read(a, b[:1])
			if err != nil {
				return err
			}
			if n == 0 {
				return nil // the client closed first
			}
			if err := readFull(a, len(b)-1); err != nil {
				return err
			}
			switch b[0] {
			case 'h':
				err = writeAll(a, response)
			case 'l':
				err = writeAll(a, make([]byte, largeLen))
			case 'c':
				return writeAll(a, response) // and close first
			default:
				return fmt.Errorf("bad request %q", b[0])
			}
			if err != nil {
				return err
			}
		}
	})
	const n = 320
	var wg sync.WaitGroup
	errc := make(chan error, n)
	client := func(i int) error {
		c, err := e.dial(bindTo(netip.AddrPortFrom(hosts[i%len(hosts)], uint16(50000+i))))
		if err != nil {
			return err
		}
		defer closeFD(c)
		ask := func(req []byte, want int) error {
			if err := writeAll(c, req); err != nil {
				return err
			}
			// Read when the answer is there (it takes 10 ms). A reader
			// blocked in read() races the kernel's ACK of the segment that
			// wakes it, and Linux then now and then sends the same ACK
			// twice (Wireshark: "Dup ACK"): harmless, but noise here.
			time.Sleep(15 * time.Millisecond)
			return readFull(c, want)
		}
		waitEOF := func() error {
			if m, err := readEOF(c); err != nil || m != 0 {
				return fmt.Errorf("client read %d bytes, %v", m, err)
			}
			return nil
		}
		switch k := i % 16; {
		case k <= 7:
			return ask(reqKeep, len(response))
		case k <= 11:
			if err := ask(reqClose, len(response)); err != nil {
				return err
			}
			return waitEOF()
		case k <= 13:
			return ask(reqLarge, largeLen)
		case k == 14:
			if err := ask(reqLarge, largeLen); err != nil {
				return err
			}
			if err := ask(reqClose, len(response)); err != nil {
				return err
			}
			return waitEOF()
		default:
			if err := ask(reqKeep, len(response)); err != nil {
				return err
			}
			if i%32 == 15 {
				time.Sleep(1500 * time.Millisecond)
				return ask(reqKeep, len(response))
			}
			return nil
		}
	}
	logf("%d connections from %d hosts", n, len(hosts))
	paced(n, 12*time.Millisecond, func(i int) error {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := client(i); err != nil {
				errc <- fmt.Errorf("connection %d: %w", i, err)
			}
		}()
		return nil
	})
	return clientsDone(&wg, errc, srv, ls)
}
