package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

type env struct {
	cns, sns       string
	cdev, sdev     string
	v6             bool
	client, server netip.Addr
	port           uint16
	delayed        bool // incoming TCP on cdev and sdev goes through the NFQUEUE delay
}

func (e *env) serverAP() netip.AddrPort { return netip.AddrPortFrom(e.server, e.port) }

func (e *env) listen(backlog int, opts ...sockOpt) (int, error) {
	return listenOn(e.sns, e.serverAP(), backlog, opts...)
}

func (e *env) dial(opts ...sockOpt) (int, error) { return dial(e.cns, e.serverAP(), opts...) }

// ipt runs iptables in the server namespace for the scenario's family.
func (e *env) ipt(args ...string) error { return iptables(e.sns, e.v6, args...) }

type scenario struct {
	name   string
	desc   string
	v6     bool
	client [][2]string // sysctls in the client namespace
	server [][2]string // sysctls in the server namespace
	run    func(e *env) error
}

var (
	request  = []byte("hello from client\n")
	response = []byte("hello from server\n")
)

// goErr runs f in a goroutine and returns a channel with its result.
func goErr(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

func expectErr(what string, err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("%s: got %v, want %v", what, err, want)
	}
	logf("%s: %v (as expected)", what, err)
	return nil
}

var scenarios = []scenario{
	{name: "normal-client-close", desc: "request/response, client closes first, then the server", run: normalClientClose},
	{name: "normal-server-close", desc: "request/response, server closes first, then the client", run: normalServerClose},
	{name: "connection-refused", desc: "SYN to a closed port, answered with RST/ACK", run: refused},
	{name: "close-wait", desc: "client closes, server never closes (stays in CLOSE_WAIT)", run: closeWait},
	{
		name: "accept-overflow-noabort", desc: "listen backlog 1, never accept(), tcp_abort_on_overflow=0: SYN/ACK retransmitted, SYNs dropped",
		server: [][2]string{{"net.ipv4.tcp_syncookies", "0"}, {"net.ipv4.tcp_abort_on_overflow", "0"}, {"net.ipv4.tcp_synack_retries", "3"}},
		run:    func(e *env) error { return acceptOverflow(e, 8*time.Second) },
	},
	{
		name: "accept-overflow-abort", desc: "listen backlog 1, never accept(), tcp_abort_on_overflow=1: the overflowing handshake is reset",
		server: [][2]string{{"net.ipv4.tcp_syncookies", "0"}, {"net.ipv4.tcp_abort_on_overflow", "1"}, {"net.ipv4.tcp_synack_retries", "3"}},
		run:    func(e *env) error { return acceptOverflow(e, 4*time.Second) },
	},
	{
		name: "accept-overflow-syndrop", desc: "listen backlog 1, never accept(): two clients complete and fill the accept queue, a third's SYNs are dropped without an answer",
		server: [][2]string{{"net.ipv4.tcp_syncookies", "1"}, {"net.ipv4.tcp_abort_on_overflow", "0"}},
		run:    acceptOverflowSYNDrop,
	},
	{name: "keepalive", desc: "idle connection, client keepalive (idle 1 s, interval 1 s), probes answered", run: keepalive},
	{name: "close-unread-rst", desc: "server close()s with unread data in its receive queue: RST instead of FIN", run: closeUnread},
	{name: "linger0-rst", desc: "client sets SO_LINGER 0 and closes: RST instead of FIN", run: lingerZeroRST},
	{name: "simultaneous-open", desc: "both ends connect() to each other at once: SYN, SYN, SYN/ACK, SYN/ACK", run: simultaneousOpen},
	{name: "simultaneous-close", desc: "both ends shutdown(SHUT_WR) at once: FINs cross, CLOSING, TIME_WAIT on both", run: simultaneousClose},
	{name: "zero-window", desc: "server with small SO_RCVBUF stops reading: zero window, probes, window update", run: zeroWindow},
	{name: "half-close", desc: "client shutdown(SHUT_WR) after its request, server keeps sending, then closes", run: halfClose},
	{
		name: "syn-timeout", desc: "SYNs silently dropped by the server's firewall; client gives up (tcp_syn_retries=2)",
		client: [][2]string{{"net.ipv4.tcp_syn_retries", "2"}},
		run:    synTimeout,
	},
	{name: "ipv6-normal", desc: "request/response over IPv6, client closes first", v6: true, run: normalClientClose},
	{name: "port-reuse", desc: "two connections on the same 4-tuple; the second SYN reuses the server's TIME_WAIT", run: portReuse},
	{
		name: "data-retransmit-timeout", desc: "peer vanishes (firewall drops all): data retransmitted with backoff until the client gives up (tcp_retries2=4)",
		client: [][2]string{{"net.ipv4.tcp_retries2", "4"}},
		run:    dataRetransmitTimeout,
	},
	{name: "synack-retransmit", desc: "client's handshake ACK lost once: server retransmits its SYN/ACK, then normal", run: synackRetransmit},
	{name: "rst-in-window", desc: "a RST injected 2000 bytes past the server's RCV.NXT: challenge ACK, the connection goes on (RFC 5961)", run: func(e *env) error { return injectRST(e, 2000) }},
	{name: "rst-out-of-window", desc: "a RST injected 2^30 bytes past the server's RCV.NXT: dropped, the connection goes on", run: func(e *env) error { return injectRST(e, 1<<30) }},
	{name: "rst-exact", desc: "a RST injected at the server's RCV.NXT: the server is reset, and resets the client's next request", run: func(e *env) error { return injectRST(e, 0) }},
	{name: "synsent-stray", desc: "the first SYN dropped; a bare RST and a stray ACK injected into the client's SYN_SENT: the first dropped, the second answered with a RST; the SYN retry completes (RFC 9293 3.10.7.3)", run: synSentStray},
	{name: "vxlan-normal", desc: "request/response over a VXLAN overlay (VNI 42, UDP 4789) between the namespaces, client closes first: every segment captured inside a UDP datagram", run: overVXLAN(false, normalClientClose)},
	{name: "vxlan-fragmented", desc: "a request and a response of 1400 bytes over a VXLAN overlay with the veth's MTU and no DF on its datagrams: the sending kernel fragments each data segment's datagram in two, the receiving kernel reassembles it; client closes first", run: overVXLAN(true, largeExchange)},
	{name: "syn-established", desc: "a SYN with a new ISN injected into the established connection: challenge ACK, the connection goes on (RFC 5961)", run: injectSYN},
	{name: "data-beyond-window", desc: "data injected 2^24 bytes past the server's RCV.NXT, beyond its window: answered with an ACK and dropped, the connection goes on (RFC 9293 section 3.10.7.4)", run: injectBeyondWindow},
	{
		name: "app-connect-timeout", desc: "SYNs dropped by the server's firewall until connect() returns ETIMEDOUT (tcp_syn_retries=2); then a second connection",
		client: [][2]string{{"net.ipv4.tcp_syn_retries", "2"}},
		run:    appConnectTimeout,
	},
	{
		name: "app-retransmit-timeout", desc: "peer vanishes: data retransmitted until the client's read() returns ETIMEDOUT (tcp_retries2=4); then a second connection",
		client: [][2]string{{"net.ipv4.tcp_retries2", "4"}},
		run:    appRetransmitTimeout,
	},
	{name: "app-keepalive-timeout", desc: "peer vanishes: 2 keepalive probes unanswered, the client resets and its read() returns ETIMEDOUT; then a second connection", run: appKeepaliveTimeout},
	{name: "app-write-epipe", desc: "the server closes, the client in CLOSE_WAIT writes: RST, and its next write() returns EPIPE; then a second connection", run: appWriteEPIPE},
	{name: "app-resets", desc: "connect() refused (ECONNREFUSED); a server closing with unread data (the client's read() ECONNRESET); a client closing with SO_LINGER 0 (the server's read() ECONNRESET)", run: appResets},
	{
		name: "app-icmp-unreachable", desc: "connect()s ended by ICMP errors from the server's namespace as a router: no route (net unreachable, ENETUNREACH), an unreachable route (host unreachable, EHOSTUNREACH), a prohibit route (communication administratively prohibited, EHOSTUNREACH), and its firewall's REJECT (port unreachable, ECONNREFUSED)",
		server: [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv4.icmp_ratelimit", "0"}},
		run:    appICMPUnreachable,
	},
	{
		name: "app-icmp-unreachable-ipv6", desc: "as app-icmp-unreachable over IPv6: no route and an unreachable route (ICMPv6 no route, ENETUNREACH), a prohibit route (administratively prohibited, EACCES), a firewall's REJECT in forwarding (address unreachable, EHOSTUNREACH) and at the server (port unreachable, ECONNREFUSED)",
		v6:     true,
		server: [][2]string{{"net.ipv6.conf.all.forwarding", "1"}, {"net.ipv6.icmp.ratelimit", "0"}},
		run:    appICMPUnreachable,
	},
	{
		name: "synack-icmp-dropped", desc: "the client's firewall answers every SYN/ACK with an ICMP error quoting it: host unreachable, on which Linux drops the server's half-open connection (tcp_req_err), so each SYN retry meets a new one with a new ISN; then administratively prohibited, which Linux ignores in SYN_RECV, so the server resends its SYN/ACK; both connect()s end in ETIMEDOUT (tcp_syn_retries=2, tcp_synack_retries=2); then one ordinary connection",
		client: [][2]string{{"net.ipv4.tcp_syn_retries", "2"}, {"net.ipv4.icmp_ratelimit", "0"}},
		server: [][2]string{{"net.ipv4.tcp_synack_retries", "2"}},
		run:    synAckICMPDropped,
	},
	{
		name: "app-accept-overflow-abort", desc: "as accept-overflow-abort, with the call log: the accept queue drained at the end, the reset client never accepted",
		server: [][2]string{{"net.ipv4.tcp_syncookies", "0"}, {"net.ipv4.tcp_abort_on_overflow", "1"}, {"net.ipv4.tcp_synack_retries", "3"}},
		run:    func(e *env) error { return acceptOverflow(e, 4*time.Second) },
	},
	{
		name: "app-accept-overflow-noabort", desc: "as accept-overflow-noabort, with the call log: the accept queue drained at the end, the client whose ACK overflowed it never accepted",
		server: [][2]string{{"net.ipv4.tcp_syncookies", "0"}, {"net.ipv4.tcp_abort_on_overflow", "0"}, {"net.ipv4.tcp_synack_retries", "3"}},
		run:    func(e *env) error { return acceptOverflow(e, 8*time.Second) },
	},
}

// exchange sends the request from c and the response from a.
func exchange(c, a int) error {
	if err := writeAll(c, request); err != nil {
		return err
	}
	return respond(c, a)
}

// respond reads the request on a, answers it and reads the answer on c.
func respond(c, a int) error {
	if err := readFull(a, len(request)); err != nil {
		return err
	}
	if err := writeAll(a, response); err != nil {
		return err
	}
	return readFull(c, len(response))
}

// connectPair opens a connection to a fresh listener and returns both ends.
// If first is not nil the client sends it as soon as connect() returns,
// as a real client would, before the server has accept()ed.
func connectPair(e *env, first []byte, copts ...sockOpt) (c, a int, err error) {
	ls, err := e.listen(16)
	if err != nil {
		return
	}
	c, err = e.dial(copts...)
	if err != nil {
		return
	}
	if first != nil {
		if err = writeAll(c, first); err != nil {
			return
		}
	}
	a, err = accept(ls)
	logf("connected")
	return
}

func normalClientClose(e *env) error { return normalClose(e, true) }

func normalServerClose(e *env) error { return normalClose(e, false) }

// normalClose exchanges a request and a response, then the active closer
// (the client or the server) closes first and the other follows on EOF.
func normalClose(e *env, clientFirst bool) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	if clientFirst {
		return closeInTurn(c, a, "client", "server", true)
	}
	return closeInTurn(a, c, "server", "client", true)
}

// closeInTurn is the end of an exchange: 100 ms after the response, first
// close()s; second reads the EOF and, if secondCloses, closes in turn
// (otherwise it keeps the socket: a CLOSE_WAIT leak).
func closeInTurn(first, second int, firstName, secondName string, secondCloses bool) error {
	time.Sleep(100 * time.Millisecond)
	logf("%s close()", firstName)
	closeFD(first)
	n, err := readEOF(second)
	if err != nil || n != 0 {
		return fmt.Errorf("%s read: %d bytes, %v", secondName, n, err)
	}
	if !secondCloses {
		logf("%s read EOF and keeps the socket", secondName)
		return nil // closed when the recorder exits, after the capture
	}
	logf("%s read EOF, %s close()", secondName, secondName)
	return closeFD(second)
}

func refused(e *env) error {
	_, err := dial(e.cns, netip.AddrPortFrom(e.server, 8081))
	return expectErr("connect to closed port 8081", err, unix.ECONNREFUSED)
}

func closeWait(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	logf("client close()")
	closeFD(c)
	if n, err := readEOF(a); err != nil || n != 0 {
		return fmt.Errorf("server read: %d bytes, %v", n, err)
	}
	logf("server read EOF and keeps the socket open")
	time.Sleep(3 * time.Second)
	return nil // a is closed only after the capture has stopped
}

// acceptOverflow fills a backlog-1 listener that never accepts.
//
// Linux lets a listener with backlog B hold B+1 established children
// (sk_acceptq_is_full is "> B") and B+1 pending requests. So: client 1
// completes and waits in the accept queue; clients 2 and 3 send their SYNs
// together, both get a SYN/ACK (accept queue not yet full), the first ACK
// fills the accept queue and the second overflows; client 4's SYNs are
// dropped outright because the accept queue is full when they arrive.
func acceptOverflow(e *env, length time.Duration) error {
	t0 := time.Now()
	ls, err := e.listen(1)
	if err != nil {
		return err
	}
	_ = ls // never accept()ed
	c1, err := e.dial()
	if err != nil {
		return err
	}
	if err := writeAll(c1, []byte("hello from client 1\n")); err != nil {
		return err
	}
	logf("client 1 connected")
	time.Sleep(100 * time.Millisecond)

	var fds [3]int
	for i := range fds {
		if fds[i], err = newSocket(e.cns, e.server); err != nil {
			return err
		}
	}
	// Clients 2 and 3: SYNs back to back.
	for i := 0; i < 2; i++ {
		if err := startConnect(fds[i], e.serverAP()); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := waitConnect(fds[i], 5*time.Second); err != nil {
				logf("client %d: connect: %v", i+2, err)
				return
			}
			logf("client %d connected (as far as it knows)", i+2)
			if err := writeAll(fds[i], fmt.Appendf(nil, "hello from client %d\n", i+2)); err != nil {
				logf("client %d: write: %v", i+2, err)
			}
		}(i)
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	// Client 4: SYN while the accept queue is full.
	if err := startConnect(fds[2], e.serverAP()); err != nil {
		return err
	}
	logf("client 4 connecting")
	time.Sleep(length - time.Since(t0))
	for i := range fds {
		if soerr, _ := unix.GetsockoptInt(fds[i], unix.SOL_SOCKET, unix.SO_ERROR); soerr != 0 {
			logf("client %d: socket error %v", i+2, unix.Errno(soerr))
		}
	}
	return nil
}

// acceptOverflowSYNDrop fills the accept queue with completed handshakes,
// one after the other, so that no SYN/ACK is ever resent: the next client's
// SYNs are then dropped (Linux tcp_conn_request, ListenDrops), the silent
// form of an accept-queue overflow, with SYN cookies on as by default.
func acceptOverflowSYNDrop(e *env) error {
	t0 := time.Now()
	ls, err := e.listen(1)
	if err != nil {
		return err
	}
	_ = ls // never accept()ed
	for i := 1; i <= 2; i++ {
		c, err := e.dial()
		if err != nil {
			return err
		}
		if err := writeAll(c, fmt.Appendf(nil, "hello from client %d\n", i)); err != nil {
			return err
		}
		logf("client %d connected", i)
		time.Sleep(100 * time.Millisecond)
	}
	fd, err := newSocket(e.cns, e.server)
	if err != nil {
		return err
	}
	if err := startConnect(fd, e.serverAP()); err != nil {
		return err
	}
	logf("client 3 connecting while the accept queue is full")
	time.Sleep(8*time.Second - time.Since(t0))
	if err := waitConnect(fd, 10*time.Millisecond); err != nil {
		logf("client 3: connect: %v (its SYNs were dropped)", err)
	} else {
		return errors.New("client 3 connected: the accept queue was not full")
	}
	return nil
}

func keepalive(e *env) error {
	c, a, err := connectPair(e, request, keepAlive(1, 1, 3))
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	logf("idle")
	time.Sleep(4 * time.Second)
	return nil
}

func closeUnread(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	return unreadReset(c, a, 200*time.Millisecond)
}

// unreadReset has the server, wait after the client's request, close
// socket a without reading it: a RST instead of a FIN, and the client's
// read() on c returns ECONNRESET.
func unreadReset(c, a int, wait time.Duration) error {
	time.Sleep(wait)
	logf("server close() without reading the request")
	closeFD(a)
	_, err := read(c, make([]byte, 100))
	if err := expectErr("client read", err, unix.ECONNRESET); err != nil {
		return err
	}
	closeFD(c)
	return nil
}

// lingerReset has client socket c close with SO_LINGER {on, 0}: a RST
// instead of a FIN, and the server's read() on a returns ECONNRESET.
func lingerReset(c, a int) error {
	if err := lingerZero(c); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	logf("client close() with SO_LINGER {on, 0}")
	closeFD(c)
	_, err := read(a, make([]byte, 100))
	if err := expectErr("server read", err, unix.ECONNRESET); err != nil {
		return err
	}
	closeFD(a)
	return nil
}

func lingerZeroRST(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	return lingerReset(c, a)
}

// simultaneousOpen: each end binds a fixed port and connects to the other.
// The connect() calls are microseconds apart and each SYN is held 5 ms by
// the delay queue, so each SYN reaches an end that is already in SYN_SENT.
func simultaneousOpen(e *env) error {
	cAP := netip.AddrPortFrom(e.client, 40001)
	sap := netip.AddrPortFrom(e.server, 40002)
	c, err := newSocket(e.cns, e.client, reuseAddr(), bindTo(cAP))
	if err != nil {
		return err
	}
	s, err := newSocket(e.sns, e.server, reuseAddr(), bindTo(sap))
	if err != nil {
		return err
	}
	if err := startConnect(c, sap); err != nil {
		return err
	}
	if err := startConnect(s, cAP); err != nil {
		return err
	}
	if err := waitConnect(c, 5*time.Second); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := waitConnect(s, 5*time.Second); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	logf("both connected")
	if err := exchange(c, s); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	logf("client close()")
	closeFD(c)
	if _, err := readEOF(s); err != nil {
		return err
	}
	logf("server close()")
	closeFD(s)
	return nil
}

func simultaneousClose(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	if err := respond(c, a); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // everything acknowledged
	logf("both shutdown(SHUT_WR)")
	if err := shutdownWrite(c); err != nil {
		return err
	}
	if err := shutdownWrite(a); err != nil {
		return err
	}
	for _, fd := range []int{c, a} {
		if _, err := readEOF(fd); err != nil {
			return err
		}
	}
	time.Sleep(100 * time.Millisecond)
	logf("both close()")
	closeFD(c)
	closeFD(a)
	return nil
}

func zeroWindow(e *env) error { return zeroWindowFor(e, 2500*time.Millisecond) }

// zeroWindowFor: the server does not read for stall, then reads everything.
func zeroWindowFor(e *env, stall time.Duration) error {
	const total = 16 << 10
	ls, err := e.listen(16, rcvBuf(4096)) // inherited by the accepted socket
	if err != nil {
		return err
	}
	c, err := e.dial()
	if err != nil {
		return err
	}
	a, err := accept(ls)
	if err != nil {
		return err
	}
	logf("connected; client writes %d bytes, server does not read for %v", total, stall)
	wrote := goErr(func() error {
		if err := writeAll(c, make([]byte, total)); err != nil {
			return err
		}
		logf("client write done, client close()")
		return closeFD(c)
	})
	time.Sleep(stall)
	logf("server starts reading")
	n, err := readEOF(a)
	if err != nil {
		return err
	}
	if n != total {
		return fmt.Errorf("server read %d bytes, want %d", n, total)
	}
	if err := <-wrote; err != nil {
		return err
	}
	logf("server read %d bytes and EOF, server close()", n)
	closeFD(a)
	return nil
}

func halfClose(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	logf("client shutdown(SHUT_WR)")
	if err := shutdownWrite(c); err != nil {
		return err
	}
	got := goErr(func() error {
		n, err := readEOF(c)
		logf("client read %d bytes and EOF, client close()", n)
		closeFD(c)
		return err
	})
	if n, err := readEOF(a); err != nil || n != len(request) {
		return fmt.Errorf("server read %d bytes, %v", n, err)
	}
	logf("server read request and EOF; sends 5 chunks 200 ms apart")
	chunk := make([]byte, 1000)
	for i := 0; i < 5; i++ {
		if err := writeAll(a, chunk); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	logf("server close()")
	closeFD(a)
	return <-got
}

func synTimeout(e *env) error {
	if _, err := e.listen(16); err != nil {
		return err
	}
	if err := e.ipt("-I", "INPUT", "1", "-p", "tcp", "--dport", "8080", "--syn", "-j", "DROP"); err != nil {
		return err
	}
	_, err := e.dial()
	return expectErr("connect", err, unix.ETIMEDOUT)
}

func portReuse(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	cAP := netip.AddrPortFrom(e.client, 40000)
	for i := 1; i <= 2; i++ {
		c, err := e.dial(reuseAddr(), bindTo(cAP))
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := writeAll(c, request); err != nil {
			return err
		}
		a, err := accept(ls)
		if err != nil {
			return err
		}
		logf("connection %d from port %d established", i, cAP.Port())
		if err := respond(c, a); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		logf("server close() (TIME_WAIT on the server)")
		closeFD(a)
		if _, err := readEOF(c); err != nil {
			return err
		}
		closeFD(c)
		time.Sleep(time.Second)
	}
	return nil
}

func dataRetransmitTimeout(e *env) error {
	c, a, err := connectPair(e, request)
	if err != nil {
		return err
	}
	// The server process stays, but its host is cut off.
	if err := respond(c, a); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	logf("server namespace drops all TCP in and out")
	for _, ch := range []string{"INPUT", "OUTPUT"} {
		if err := e.ipt("-I", ch, "1", "-p", "tcp", "-j", "DROP"); err != nil {
			return err
		}
	}
	if err := writeAll(c, request); err != nil {
		return err
	}
	_, err = read(c, make([]byte, 100))
	return expectErr("client read", err, unix.ETIMEDOUT)
}

func synackRetransmit(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	rule := []string{"INPUT", "-p", "tcp", "--dport", "8080", "--tcp-flags", "ALL", "ACK", "-j", "DROP"}
	if err := e.ipt(append([]string{"-I"}, rule...)...); err != nil {
		return err
	}
	acc := make(chan int, 1)
	go func() {
		a, err := accept(ls)
		if err != nil {
			logf("accept: %v", err)
			a = -1
		}
		logf("server accept() returned")
		acc <- a
	}()
	c, err := e.dial()
	if err != nil {
		return err
	}
	logf("client connected; its ACK is dropped once")
	time.Sleep(300 * time.Millisecond)
	if err := e.ipt(append([]string{"-D"}, rule...)...); err != nil {
		return err
	}
	logf("drop rule removed; client stays quiet")
	time.Sleep(1500 * time.Millisecond)
	a := <-acc
	if a < 0 {
		return errors.New("accept failed")
	}
	if err := exchange(c, a); err != nil {
		return err
	}
	return closeInTurn(c, a, "client", "server", true)
}

// injectRST: request and response, then a RST from the client's address
// and port at the server's RCV.NXT + offset, sent from a raw socket (the
// client's own socket knows nothing of it). Then a second exchange and a
// close from the client. Unless the RST was exact, the server answers it
// with a challenge ACK (offset in its window) or drops it, and the second
// exchange and the close are ordinary; an exact RST resets the server,
// which answers the client's second request with a RST.
func injectRST(e *env, offset uint32) error {
	c, a, err := exchanged(e)
	if err != nil {
		return err
	}
	if err := injectFrom(e, c, tcpRST, offset, 0, nil, "RST"); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	if offset == 0 {
		if err := writeAll(c, request); err != nil {
			return err
		}
		_, err := read(c, make([]byte, 100))
		if err := expectErr("client read after the server was reset", err, unix.ECONNRESET); err != nil {
			return err
		}
		_, err = read(a, make([]byte, 100))
		if err := expectErr("server read", err, unix.ECONNRESET); err != nil {
			return err
		}
		closeFD(c)
		closeFD(a)
		return nil
	}
	return goesOn(c, a, "the RST")
}

// goesOn is the end of an inject scenario whose connection went on after
// what was injected: a second exchange, and the client closes first.
func goesOn(c, a int, injected string) error {
	if err := exchange(c, a); err != nil {
		return fmt.Errorf("second exchange after %s: %w", injected, err)
	}
	return closeInTurn(c, a, "client", "server", true)
}

// injectSYN: request and response, then a bare SYN from the client's
// address and port with a new ISN (the client's SND.NXT + 1000000, far
// outside the server's window), sent from a raw socket; the server answers
// with a challenge ACK. Then a second exchange and a close from the client.
func injectSYN(e *env) error {
	c, a, err := exchanged(e)
	if err != nil {
		return err
	}
	if err := injectFrom(e, c, tcpSYN, 1000000, 0, nil, "SYN"); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	return goesOn(c, a, "the SYN")
}

// injectBeyondWindow: request and response, then 100 bytes with ACK (a
// segment without it is discarded before any test, Linux
// tcp_rcv_established) from the client's address and port, 2^24 bytes
// past the server's RCV.NXT: far beyond any window the server can have
// advertised (tcp_rmem's largest buffer is 6 MB by default). The server
// answers with an ACK and drops it (Linux tcp_validate_incoming: counter
// TcpExtBeyondWindow, checked by record.sh). Its TCP_INFO, which ss -i
// prints, shows no byte of it received. Then a second exchange and a close
// from the client.
func injectBeyondWindow(e *env) error {
	c, a, err := exchanged(e)
	if err != nil {
		return err
	}
	before, err := bytesReceived(a)
	if err != nil {
		return err
	}
	ack, err := sndNxt(a)
	if err != nil {
		return err
	}
	payload := []byte(strings.Repeat("beyond the window\n", 6)[:100])
	if err := injectFrom(e, c, tcpPSH|tcpACK, 1<<24, ack, payload, "data"); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	after, err := bytesReceived(a)
	if err != nil {
		return err
	}
	logf("server bytes_received %d before the injected data, %d after", before, after)
	if after != before {
		return fmt.Errorf("the server received %d bytes of the injected data", after-before)
	}
	return goesOn(c, a, "the injected data")
}

// exchanged connects a client to the server and sends a request and its
// response, and waits until everything is acknowledged: the connection
// the inject* scenarios send their segment into.
func exchanged(e *env) (c, a int, err error) {
	c, a, err = connectPair(e, request)
	if err != nil {
		return
	}
	if err = respond(c, a); err != nil {
		return
	}
	time.Sleep(100 * time.Millisecond) // everything acknowledged
	return
}

// bytesReceived returns the bytes socket fd has received in order: TCP_INFO's
// tcpi_bytes_received, which ss -i prints as bytes_received.
func bytesReceived(fd int) (uint64, error) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	return info.Bytes_received, nil
}

// injectFrom sends a segment with flags, acknowledgement number ack and
// payload from client socket c's address and port to the server, at c's
// SND.NXT (the server's RCV.NXT, all of it having been acknowledged) +
// offset.
func injectFrom(e *env, c int, flags uint8, offset, ack uint32, payload []byte, what string) error {
	nxt, err := sndNxt(c)
	if err != nil {
		return err
	}
	from, err := localAddr(c)
	if err != nil {
		return err
	}
	if err := inject(e.cns, from, e.serverAP(), flags, nxt+offset, ack, 64240, payload); err != nil {
		return err
	}
	logf("injected %s seq %d: the server's RCV.NXT %d + %d", what, nxt+offset, nxt, offset)
	return nil
}

// synSentStray: the server's firewall drops the client's first SYN, so the
// client sits in SYN_SENT. Meanwhile two segments from the server's
// address and port, sent from a raw socket in the server namespace, reach
// it: a RST without the ACK bit (dropped: RFC 9293 section 3.10.7.3
// accepts a RST in SYN_SENT only with an ACK of the SYN), then a bare ACK
// acknowledging nothing the client sent (answered with a RST whose
// sequence number is that ACK's acknowledgement number, the client
// staying in SYN_SENT). The rule goes, the SYN's retry 1 s later
// completes the handshake, and an exchange and a client-first close follow.
func synSentStray(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	rule := []string{"INPUT", "-p", "tcp", "--dport", "8080", "--syn", "-j", "DROP"}
	if err := e.ipt(append([]string{"-I"}, rule...)...); err != nil {
		return err
	}
	c, err := newSocket(e.cns, e.server)
	if err != nil {
		return err
	}
	if err := startConnect(c, e.serverAP()); err != nil {
		return err
	}
	client, err := localAddr(c)
	if err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	if err := inject(e.sns, e.serverAP(), client, tcpRST, 12345, 0, 0, nil); err != nil {
		return err
	}
	logf("injected a RST without ACK into the client's SYN_SENT")
	time.Sleep(100 * time.Millisecond)
	if err := inject(e.sns, e.serverAP(), client, tcpACK, 555555, 424242, 64240, nil); err != nil {
		return err
	}
	logf("injected a stray ACK (ack 424242) into the client's SYN_SENT")
	time.Sleep(100 * time.Millisecond)
	if err := e.ipt(append([]string{"-D"}, rule...)...); err != nil {
		return err
	}
	logf("drop rule removed; waiting for the SYN's retry")
	if err := waitConnect(c, 5*time.Second); err != nil {
		return fmt.Errorf("connect after the stray segments: %w", err)
	}
	a, err := accept(ls)
	if err != nil {
		return err
	}
	logf("connected")
	if err := exchange(c, a); err != nil {
		return err
	}
	return closeInTurn(c, a, "client", "server", true)
}

// The app-* scenarios end each socket call the application-view test
// compares with tcpfsm (NAME.errno.json) in an error, and go on with
// one more ordinary connection afterwards, so that the capture runs past
// the moment the kernel gave up: a timeout sends nothing, and only a
// capture that goes on shows that the next retry never came.

// laterConnection is one ordinary exchange on ls, the client closing
// first, started after a pause of wait.
func laterConnection(e *env, ls int, wait time.Duration) error {
	time.Sleep(wait)
	logf("one more connection")
	c, a, err := exchangeOn(e, ls)
	if err != nil {
		return fmt.Errorf("later connection: %w", err)
	}
	return closeInTurn(c, a, "client", "server", true)
}

// timeOutThenReconnect reads on c, whose peer vanished, until read()
// returns ETIMEDOUT; then the server is reachable again and, 1 s later, a
// second connection goes to ls.
func timeOutThenReconnect(e *env, c, ls int) error {
	_, err := read(c, make([]byte, 100))
	if err := expectErr("client read", err, unix.ETIMEDOUT); err != nil {
		return err
	}
	if err := unvanish(e); err != nil {
		return err
	}
	return laterConnection(e, ls, time.Second)
}

// served is a listener, and on it a connection that exchanged a request
// and its response (see exchangeOn).
func served(e *env, copts ...sockOpt) (ls, c, a int, err error) {
	if ls, err = e.listen(16); err != nil {
		return
	}
	c, a, err = exchangeOn(e, ls, copts...)
	return
}

// exchangeOn connects to listener ls, with the client socket's options
// copts, and exchanges a request and its response.
func exchangeOn(e *env, ls int, copts ...sockOpt) (c, a int, err error) {
	if c, err = e.dial(copts...); err != nil {
		return
	}
	if err = writeAll(c, request); err != nil {
		return
	}
	if a, err = accept(ls); err != nil {
		return
	}
	err = respond(c, a)
	return
}

// unvanish lifts vanish's rules (the two inserted first in INPUT and
// OUTPUT), keeping the delay queue's.
func unvanish(e *env) error {
	logf("server namespace reachable again")
	for _, ch := range []string{"INPUT", "OUTPUT"} {
		if err := e.ipt("-D", ch, "1"); err != nil {
			return err
		}
	}
	return nil
}

// appConnectTimeout: connect() with tcp_syn_retries=2 to a port whose SYNs
// the server's firewall drops: SYNs at ≈ 0, 1, 3 s, ETIMEDOUT at ≈ 7 s;
// then the rule is lifted and, 1 s later, a second connection completes.
func appConnectTimeout(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	if err := e.ipt("-I", "INPUT", "1", "-p", "tcp", "--dport", "8080", "--syn", "-j", "DROP"); err != nil {
		return err
	}
	_, err = e.dial()
	if err := expectErr("connect", err, unix.ETIMEDOUT); err != nil {
		return err
	}
	if err := e.ipt("-D", "INPUT", "1"); err != nil {
		return err
	}
	return laterConnection(e, ls, time.Second)
}

// appRetransmitTimeout: like data-retransmit-timeout (tcp_retries2=4), but
// the client's read() returning ETIMEDOUT at ≈ 7.2 s is followed, 1 s
// later, by a second connection once the server is reachable again.
func appRetransmitTimeout(e *env) error {
	ls, c, _, err := served(e)
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	if err := vanish(e); err != nil {
		return err
	}
	if err := writeAll(c, request); err != nil {
		return err
	}
	return timeOutThenReconnect(e, c, ls)
}

// appKeepaliveTimeout: keepalive idle 1 s, interval 1 s, count 2 on the
// client; the server vanishes right after the exchange: probes at ≈ 1 and
// 2 s go unanswered, at ≈ 3 s the client resets the connection (dropped by
// the server's firewall) and its read() returns ETIMEDOUT; 1 s later a
// second connection once the server is reachable again.
func appKeepaliveTimeout(e *env) error {
	ls, c, _, err := served(e, keepAlive(1, 1, 2))
	if err != nil {
		return err
	}
	if err := vanish(e); err != nil {
		return err
	}
	return timeOutThenReconnect(e, c, ls)
}

// appWriteEPIPE: the server answers and close()s; the client reads the
// response and EOF (CLOSE_WAIT) and writes again: the server, closed,
// answers the data with a RST, and the client's next write() fails with
// EPIPE. Then a second connection.
func appWriteEPIPE(e *env) error {
	ls, c, a, err := served(e)
	if err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	logf("server close()")
	closeFD(a)
	if _, err := readEOF(c); err != nil {
		return err
	}
	logf("client read EOF (CLOSE_WAIT) and writes again")
	if err := writeAll(c, request); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	err = writeAll(c, request)
	if err := expectErr("client write after the server's RST", err, unix.EPIPE); err != nil {
		return err
	}
	closeFD(c)
	return laterConnection(e, ls, 200*time.Millisecond)
}

// appResets: three connections, each ending in a reset one side's
// application is told of. 1: connect() to the closed port 8081,
// ECONNREFUSED. 2: the server close()s with the request unread (RST), the
// client's read() returns ECONNRESET. 3: the client close()s with
// SO_LINGER 0 (RST), the server's read() returns ECONNRESET.
func appResets(e *env) error {
	_, err := dial(e.cns, netip.AddrPortFrom(e.server, 8081))
	if err := expectErr("connect to closed port 8081", err, unix.ECONNREFUSED); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
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
	if err := unreadReset(c, a, 100*time.Millisecond); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	if c, a, err = exchangeOn(e, ls); err != nil {
		return err
	}
	return lingerReset(c, a)
}

// synAckICMPDropped: the client's firewall rejects every SYN/ACK from the
// server's port with an ICMP error. Linux's tcp_v4_err hands an error
// quoting the SYN/ACK of a connection still in SYN_RECV to tcp_req_err,
// which drops the request (and counts a ListenDrop) for net or host
// unreachable, time exceeded and parameter problem, and ignores the rest.
// The first connect() meets host unreachable, the second administratively
// prohibited; the client's own TCP never sees a SYN/ACK, so both time out.
// One ordinary connection follows, so that the capture runs past the
// second give-up.
func synAckICMPDropped(e *env) error {
	ls, err := e.listen(16)
	if err != nil {
		return err
	}
	for _, reject := range []string{"icmp-host-unreachable", "icmp-admin-prohibited"} {
		rule := []string{"INPUT", "-p", "tcp", "--sport", fmt.Sprint(e.port), "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "REJECT", "--reject-with", reject}
		if err := iptables(e.cns, e.v6, append([]string{"-I"}, rule...)...); err != nil {
			return err
		}
		_, err := e.dial()
		if err := expectErr("connect, SYN/ACKs rejected with "+reject, err, unix.ETIMEDOUT); err != nil {
			return err
		}
		if err := iptables(e.cns, e.v6, append([]string{"-D"}, rule...)...); err != nil {
			return err
		}
	}
	return laterConnection(e, ls, time.Second)
}

// icmpTarget is a connect() an ICMP error is to end: where it goes and
// the errno Linux gives the error.
type icmpTarget struct {
	to   netip.AddrPort
	want unix.Errno
}

// appICMPUnreachable routes networks beyond the server's namespace through
// it, which has no way to them: no route at all, an unreachable route, a
// prohibit route and, over IPv6, a route whose forwarding a firewall
// rejects; and its firewall rejects port 8081. Each connect() is ended by
// the ICMP error that answers its SYN, with the errno icmp_err_convert or
// icmpv6_err_convert gives it.
func appICMPUnreachable(e *env) error {
	var client, router string
	var rules [][]string // the router's firewall
	var targets []icmpTarget
	ap := func(s string, port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(s), port) }
	if e.v6 {
		client = "route add fd00:8::/30 via fd00::2 dev " + e.cdev + "\n"
		router = "route add unreachable fd00:9::/64\nroute add prohibit fd00:a::/64\nroute add fd00:b::/64 via fd00::1 dev " + e.sdev + "\n"
		rules = [][]string{
			{"-A", "FORWARD", "-d", "fd00:b::/64", "-j", "REJECT", "--reject-with", "icmp6-addr-unreachable"},
			{"-I", "INPUT", "1", "-p", "tcp", "--dport", "8081", "-j", "REJECT", "--reject-with", "icmp6-port-unreachable"},
		}
		targets = []icmpTarget{
			{ap("fd00:8::1", 8080), unix.ENETUNREACH},
			{ap("fd00:9::1", 8080), unix.ENETUNREACH},
			{ap("fd00:a::1", 8080), unix.EACCES},
			{ap("fd00:b::1", 8080), unix.EHOSTUNREACH},
			{netip.AddrPortFrom(e.server, 8081), unix.ECONNREFUSED},
		}
	} else {
		client = "route add 10.0.8.0/22 via 10.0.0.2 dev " + e.cdev + "\n"
		router = "route add unreachable 10.0.9.0/24\nroute add prohibit 10.0.10.0/24\n"
		rules = [][]string{{"-I", "INPUT", "1", "-p", "tcp", "--dport", "8081", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"}}
		targets = []icmpTarget{
			{ap("10.0.8.1", 8080), unix.ENETUNREACH},
			{ap("10.0.9.1", 8080), unix.EHOSTUNREACH},
			{ap("10.0.10.1", 8080), unix.EHOSTUNREACH},
			{netip.AddrPortFrom(e.server, 8081), unix.ECONNREFUSED},
		}
	}
	for _, r := range rules {
		if err := e.ipt(r...); err != nil {
			return err
		}
	}
	if err := ipBatch(e.cns, client); err != nil {
		return err
	}
	if err := ipBatch(e.sns, router); err != nil {
		return err
	}
	for _, t := range targets {
		_, err := dial(e.cns, t.to)
		if err := expectErr("connect to "+t.to.String(), err, t.want); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
