package main

// Plain blocking socket system calls, so that every close(), shutdown()
// and setsockopt() happens exactly when a scenario says so.

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

type sockOpt func(fd int) error

func optInt(level, opt, val int) sockOpt {
	return func(fd int) error { return unix.SetsockoptInt(fd, level, opt, val) }
}

func reuseAddr() sockOpt { return optInt(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) }

func rcvBuf(n int) sockOpt { return optInt(unix.SOL_SOCKET, unix.SO_RCVBUF, n) }

func keepAlive(idle, intvl, cnt int) sockOpt {
	return func(fd int) error {
		for _, o := range [][3]int{
			{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, idle},
			{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, intvl},
			{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, cnt},
		} {
			if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
				return err
			}
		}
		return nil
	}
}

func lingerZero(fd int) error {
	return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func bindTo(ap netip.AddrPort) sockOpt {
	return func(fd int) error { return unix.Bind(fd, sockaddr(ap)) }
}

// newSocket creates a TCP socket in namespace ns for the family of addr
// and applies opts in order (bindTo should come last).
func newSocket(ns string, addr netip.Addr, opts ...sockOpt) (int, error) {
	family := unix.AF_INET
	if addr.Is6() {
		family = unix.AF_INET6
	}
	fd := -1
	err := inNS(ns, func() error {
		var err error
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return err
		}
		// A new namespace inherits the host's default congestion control
		// (which may be e.g. bbr, with pacing) and may only switch to the
		// host's "allowed" ones; root may pick any per socket. Use the
		// kernel's default, as on an ordinary host. Accepted sockets inherit
		// it from their listener.
		if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, "cubic"); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TCP_CONGESTION cubic: %w", err)
		}
		for _, o := range opts {
			if err := o(fd); err != nil {
				unix.Close(fd)
				return err
			}
		}
		return nil
	})
	return fd, err
}

// listenOn creates a listening socket with the given backlog (passed to
// listen(2) as is, so 1 really means 1).
func listenOn(ns string, ap netip.AddrPort, backlog int, opts ...sockOpt) (int, error) {
	opts = append([]sockOpt{reuseAddr()}, opts...)
	opts = append(opts, bindTo(ap), func(fd int) error { return unix.Listen(fd, backlog) })
	fd, err := newSocket(ns, ap.Addr(), opts...)
	if err == nil {
		logListen(fd, ap.Port())
	}
	return fd, err
}

func accept(ls int) (int, error) {
	for {
		fd, peer, err := unix.Accept4(ls, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err == nil {
			logAccept(fd, peer)
		}
		return fd, err
	}
}

// startConnect issues a non-blocking connect(); the SYN is on its way when
// it returns. Finish with waitConnect.
func startConnect(fd int, to netip.AddrPort) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return err
	}
	err := unix.Connect(fd, sockaddr(to))
	if err == nil || errors.Is(err, unix.EINPROGRESS) {
		logConnectStart(fd, to.Port())
		return nil
	}
	return err
}

// waitConnect waits for a connect started by startConnect to finish and
// puts the socket back into blocking mode.
func waitConnect(fd int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return fmt.Errorf("connect: no result after %v", timeout)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 1 {
			break
		}
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if soerr != 0 {
		logCall(fd, "connect", "", unix.Errno(soerr))
		return unix.Errno(soerr)
	}
	logCall(fd, "connect", "connected", nil)
	return unix.SetNonblock(fd, false)
}

// dial creates a socket in ns and connects it to `to`, blocking until the
// handshake completes or fails.
func dial(ns string, to netip.AddrPort, opts ...sockOpt) (int, error) {
	fd, err := newSocket(ns, to.Addr(), opts...)
	if err != nil {
		return -1, err
	}
	if err := startConnect(fd, to); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := waitConnect(fd, 60*time.Second); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			logCall(fd, "send", "", err)
			return err
		}
		b = b[n:]
	}
	return nil
}

func read(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			logCall(fd, "recv", "", err)
		} else if n == 0 && len(b) > 0 {
			logCall(fd, "recv", "EOF", nil)
		}
		return n, err
	}
}

// readFull reads exactly n bytes.
func readFull(fd int, n int) error {
	b := make([]byte, n)
	for got := 0; got < n; {
		m, err := read(fd, b[got:])
		if err != nil {
			return err
		}
		if m == 0 {
			return fmt.Errorf("EOF after %d of %d bytes", got, n)
		}
		got += m
	}
	return nil
}

// readEOF reads until the peer's FIN and returns the byte count.
func readEOF(fd int) (int, error) {
	b := make([]byte, 1<<16)
	total := 0
	for {
		m, err := read(fd, b)
		if err != nil {
			return total, err
		}
		if m == 0 {
			return total, nil
		}
		total += m
	}
}

func shutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

func closeFD(fd int) error {
	forgetFD(fd)
	return unix.Close(fd)
}
