package main

// A minimal NFQUEUE client on a raw netlink socket (x/sys/unix only).
//
// Every packet the kernel queues to us is held for a fixed delay and then
// accepted, in arrival order. With an "iptables -A INPUT -i <veth> -p tcp
// -j NFQUEUE" rule in both namespaces this adds a one-way delay to each
// direction, replacing the netem qdisc (not available on the kernel these
// captures were recorded on). Only packet metadata is copied to user space.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// From <linux/netfilter/nfnetlink_queue.h>.
const (
	nfqnlMsgPacket  = 0
	nfqnlMsgVerdict = 1
	nfqnlMsgConfig  = 2

	nfqaPacketHdr  = 1
	nfqaVerdictHdr = 2

	nfqaCfgCmd    = 1
	nfqaCfgParams = 2

	nfqnlCfgCmdBind = 1
	nfqnlCopyMeta   = 1

	nfAccept = 1
)

type queued struct {
	id uint32
	at time.Time
}

type delayer struct {
	ns    string
	fd    int
	queue uint16
	delay time.Duration
	seq   uint32
	held  chan queued
	errc  chan error

	count   atomic.Int64
	maxLate atomicDuration
}

type atomicDuration struct{ v atomic.Int64 }

func (a *atomicDuration) Load() time.Duration   { return time.Duration(a.v.Load()) }
func (a *atomicDuration) Store(d time.Duration) { a.v.Store(int64(d)) }

// stats reports how many packets were delayed and how late the latest
// release was compared with its target time.
func (d *delayer) stats() string {
	return fmt.Sprintf("nfqueue %s: %d packets delayed, released at most %v late", d.ns, d.count.Load(), d.maxLate.Load().Round(time.Microsecond))
}

// startDelayer binds NFQUEUE number queue inside namespace ns and starts
// delaying every queued packet by delay. The caller adds the iptables rule
// afterwards (a rule pointing at an unbound queue drops packets).
func startDelayer(ns string, queue uint16, delay time.Duration) (*delayer, error) {
	d := &delayer{ns: ns, queue: queue, delay: delay, held: make(chan queued, 1<<16), errc: make(chan error, 2)}
	err := inNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		d.fd = fd
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		return nil, fmt.Errorf("nfqueue socket in %s: %w", ns, err)
	}
	// Plenty of room so that a burst never overflows the socket (a packet
	// the kernel cannot hand to us would be dropped).
	_ = unix.SetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)

	bind := make([]byte, 4)
	bind[0] = nfqnlCfgCmdBind
	binary.BigEndian.PutUint16(bind[2:], unix.AF_INET) // ignored by kernels >= 3.8
	if err := d.request(nfqnlMsgConfig, nlattr(nfqaCfgCmd, bind)); err != nil {
		return nil, fmt.Errorf("nfqueue bind %d in %s: %w", queue, ns, err)
	}
	params := make([]byte, 5)
	binary.BigEndian.PutUint32(params[0:], 0)
	params[4] = nfqnlCopyMeta
	if err := d.request(nfqnlMsgConfig, nlattr(nfqaCfgParams, params)); err != nil {
		return nil, fmt.Errorf("nfqueue params in %s: %w", ns, err)
	}
	go d.read()
	go d.release()
	return d, nil
}

// err reports the first failure of the reader or the releaser, if any.
func (d *delayer) err() error {
	select {
	case err := <-d.errc:
		return err
	default:
		return nil
	}
}

func nlattr(typ uint16, data []byte) []byte {
	l := 4 + len(data)
	b := make([]byte, (l+3)&^3)
	binary.NativeEndian.PutUint16(b[0:], uint16(l))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[4:], data)
	return b
}

func (d *delayer) msg(typ uint8, flags uint16, attrs []byte) []byte {
	d.seq++
	b := make([]byte, unix.NLMSG_HDRLEN+4+len(attrs))
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], uint16(unix.NFNL_SUBSYS_QUEUE)<<8|uint16(typ))
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST|flags)
	binary.NativeEndian.PutUint32(b[8:], d.seq)
	b[16] = unix.AF_UNSPEC
	b[17] = unix.NFNETLINK_V0
	binary.BigEndian.PutUint16(b[18:], d.queue)
	copy(b[20:], attrs)
	return b
}

// request sends a config message and waits for the kernel's ack.
func (d *delayer) request(typ uint8, attrs []byte) error {
	if err := unix.Sendto(d.fd, d.msg(typ, unix.NLM_F_ACK, attrs), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(d.fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && m.Header.Seq == d.seq {
				if len(m.Data) < 4 {
					return errors.New("short netlink error message")
				}
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
		}
	}
}

func (d *delayer) read() {
	runtime.LockOSThread()
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(d.fd, buf, 0)
		now := time.Now()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			d.errc <- fmt.Errorf("nfqueue %s: recv: %w (a packet may have been lost)", d.ns, err)
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			d.errc <- fmt.Errorf("nfqueue %s: parse: %w", d.ns, err)
			return
		}
		for _, m := range msgs {
			if m.Header.Type != uint16(unix.NFNL_SUBSYS_QUEUE)<<8|nfqnlMsgPacket || len(m.Data) < 4 {
				continue
			}
			attrs := m.Data[4:]
			for len(attrs) >= 4 {
				l := int(binary.NativeEndian.Uint16(attrs[0:]))
				t := binary.NativeEndian.Uint16(attrs[2:]) & 0x3fff // NLA_TYPE_MASK
				if l < 4 || l > len(attrs) {
					break
				}
				if t == nfqaPacketHdr && l >= 8 {
					d.held <- queued{id: binary.BigEndian.Uint32(attrs[4:]), at: now}
				}
				attrs = attrs[min((l+3)&^3, len(attrs)):]
			}
		}
	}
}

// sleepUntil blocks this OS thread in nanosleep(2) rather than parking the
// goroutine on a Go timer: the thread wakes up by itself, at its own
// (real-time, when record.sh runs the recorder under chrt) priority.
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(d))
		if err := unix.Nanosleep(&ts, nil); err == nil {
			return
		}
	}
}

func (d *delayer) release() {
	runtime.LockOSThread()
	v := make([]byte, 8)
	for q := range d.held {
		target := q.at.Add(d.delay)
		sleepUntil(target)
		if late := time.Since(target); late > d.maxLate.Load() {
			d.maxLate.Store(late)
		}
		d.count.Add(1)
		binary.BigEndian.PutUint32(v[0:], nfAccept)
		binary.BigEndian.PutUint32(v[4:], q.id)
		if err := unix.Sendto(d.fd, d.msg(nfqnlMsgVerdict, 0, nlattr(nfqaVerdictHdr, v)), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			d.errc <- fmt.Errorf("nfqueue %s: verdict: %w", d.ns, err)
			return
		}
	}
}
