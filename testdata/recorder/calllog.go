package main

// The call log: what each socket call of a scenario returned, per
// connection, written beside the capture as NAME.errno.json so that a
// test can compare it with what tcpfsm reads off the packets (the "app"
// object). Only a call's outcome is logged: connect() and accept()
// succeeding or failing, recv() returning 0 or an error, send() failing;
// reads and writes that moved data are not outcomes.

import (
	"encoding/json"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// loggedConn is one connection's calls, named as tcpfsm's "app" object
// names them, with the errno names Linux uses (ECONNREFUSED, ETIMEDOUT,
// ECONNRESET, EPIPE) or connected, accepted and EOF.
type loggedConn struct {
	// ClientPort is the client's port: with the order of the connects,
	// what identifies the connection in the capture.
	ClientPort uint16            `json:"client_port"`
	Client     map[string]string `json:"client,omitempty"`
	Server     map[string]string `json:"server,omitempty"`
	serverPort uint16            // the port its connect() went to
}

type fdSide struct {
	conn *loggedConn
	side string // "client" or "server"
}

var callLog struct {
	mu        sync.Mutex
	conns     []*loggedConn // in the order of the connects
	fds       map[int]fdSide
	listeners map[int]uint16 // listening socket → its port
}

// logListen registers a listening socket on port: when the log is
// written, whatever its accept queue still holds is accepted, and the
// connections to port it never returned are logged as accept "never".
func logListen(fd int, port uint16) {
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	if callLog.listeners == nil {
		callLog.listeners = map[int]uint16{}
	}
	callLog.listeners[fd] = port
}

// logConnectStart registers fd, whose connect() to port `to` has just
// sent its SYN, as a new connection's client, or, when a connect() from
// `to` already waits for its answer (the two ends of a simultaneous open),
// as that connection's server.
func logConnectStart(fd int, to uint16) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return
	}
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	if callLog.fds == nil {
		callLog.fds = map[int]fdSide{}
	}
	for _, s := range callLog.fds {
		if s.side == "client" && s.conn.ClientPort == to && s.conn.Client["connect"] == "" && s.conn.Server == nil {
			s.conn.Server = map[string]string{}
			callLog.fds[fd] = fdSide{s.conn, "server"}
			return
		}
	}
	c := &loggedConn{ClientPort: uint16(sockaddrPort(sa)), serverPort: to}
	callLog.conns = append(callLog.conns, c)
	callLog.fds[fd] = fdSide{c, "client"}
}

// logAccept registers fd, returned by accept() for a peer at port, as the
// server of the latest connection from that port not yet accepted.
func logAccept(fd int, peer unix.Sockaddr) {
	port := uint16(sockaddrPort(peer))
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	for i := len(callLog.conns) - 1; i >= 0; i-- {
		c := callLog.conns[i]
		if c.ClientPort == port && c.Server["accept"] == "" {
			if c.Server == nil {
				c.Server = map[string]string{}
			}
			c.Server["accept"] = "accepted"
			callLog.fds[fd] = fdSide{c, "server"}
			return
		}
	}
}

// logCall records what call returned on fd: err's errno name, or result
// when err is nil. Calls on sockets of no logged connection (listeners,
// raw sockets) and errors that are no errno are ignored.
func logCall(fd int, call, result string, err error) {
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			return
		}
		result = unix.ErrnoName(errno)
	}
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	s, ok := callLog.fds[fd]
	if !ok {
		return
	}
	m := &s.conn.Client
	if s.side == "server" {
		m = &s.conn.Server
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[call] = result
}

// forgetFD drops fd from the log when it is closed, so that a later socket
// with the same number is not taken for it.
func forgetFD(fd int) {
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	delete(callLog.fds, fd)
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// writeCallLog writes the log as {"connections":[…]}, one connection a
// line. It is called when the scenario has ended and the capture has
// stopped: a non-blocking connect() still waiting for its answer then is
// logged as EINPROGRESS, what tcpfsm calls a connect() pending at the end;
// each listener's accept queue is drained (accept() sends nothing), and a
// connection to it that accept() never returned is logged as "never".
func writeCallLog(path string) error {
	callLog.mu.Lock()
	drained := map[uint16]bool{}
	var queued []struct {
		fd   int
		peer unix.Sockaddr
	}
	for ls, port := range callLog.listeners {
		if err := unix.SetNonblock(ls, true); err != nil {
			continue // closed by its scenario
		}
		for {
			fd, peer, err := unix.Accept4(ls, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			queued = append(queued, struct {
				fd   int
				peer unix.Sockaddr
			}{fd, peer})
		}
		drained[port] = true
	}
	callLog.mu.Unlock()
	for _, q := range queued {
		logAccept(q.fd, q.peer)
	}
	callLog.mu.Lock()
	defer callLog.mu.Unlock()
	for _, c := range callLog.conns {
		if drained[c.serverPort] && c.Server["accept"] == "" && c.Server["connect"] == "" {
			if c.Server == nil {
				c.Server = map[string]string{}
			}
			c.Server["accept"] = "never"
		}
	}
	for fd, s := range callLog.fds {
		if s.side != "client" || s.conn.Client["connect"] != "" {
			continue
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err == nil && n == 0 {
			if s.conn.Client == nil {
				s.conn.Client = map[string]string{}
			}
			s.conn.Client["connect"] = "EINPROGRESS"
		}
	}
	b := []byte("{\"connections\": [\n")
	for i, c := range callLog.conns {
		line, err := json.Marshal(c)
		if err != nil {
			return err
		}
		b = append(b, "  "...)
		b = append(b, line...)
		if i < len(callLog.conns)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, "]}\n"...)
	return os.WriteFile(path, b, 0o644)
}
