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
	"unsafe"

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
	errc  chan error

	count     atomic.Int64
	maxLate   atomicDuration
	maxLateAt atomic.Int64 // when (Unix ns)
}

type atomicDuration struct{ v atomic.Int64 }

func (a *atomicDuration) Load() time.Duration   { return time.Duration(a.v.Load()) }
func (a *atomicDuration) Store(d time.Duration) { a.v.Store(int64(d)) }

// stats reports how many packets were delayed, how late the latest release
// was compared with its target time, and when (in the scenario's time).
func (d *delayer) stats() string {
	return fmt.Sprintf("nfqueue %s: %d packets delayed, released at most %v late (at %.3fs)", d.ns, d.count.Load(), d.maxLate.Load().Round(time.Microsecond), time.Unix(0, d.maxLateAt.Load()).Sub(start).Seconds())
}

// startDelayer binds NFQUEUE number queue inside namespace ns and starts
// delaying every queued packet by delay. The caller adds the iptables rule
// afterwards (a rule pointing at an unbound queue drops packets).
func startDelayer(ns string, queue uint16, delay time.Duration) (*delayer, error) {
	d := &delayer{ns: ns, queue: queue, delay: delay, errc: make(chan error, 1)}
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
	go d.run()
	return d, nil
}

// err reports the failure of the delay queue, if any.
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

// run is the delay queue: one OS thread that receives the queued packets,
// holds each for the delay and then accepts it, in arrival order. It
// waits in ppoll(2) with a nanosecond timeout for whichever comes first,
// the next packet or the next release, so that no Go channel or goroutine
// hand-off (which can wait for the Go scheduler) stands between a packet's
// due time and its release.
func (d *delayer) run() {
	runtime.LockOSThread()
	boostThread()
	buf := make([]byte, 1<<16)
	v := make([]byte, 8)
	var held []queued // FIFO: all have the same delay
	pfd := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	for {
		for len(held) > 0 {
			target := held[0].at.Add(d.delay)
			if time.Now().Before(target) {
				break
			}
			if late := time.Since(target); late > d.maxLate.Load() {
				d.maxLate.Store(late)
				d.maxLateAt.Store(time.Now().UnixNano())
			}
			d.count.Add(1)
			binary.BigEndian.PutUint32(v[0:], nfAccept)
			binary.BigEndian.PutUint32(v[4:], held[0].id)
			if err := unix.Sendto(d.fd, d.msg(nfqnlMsgVerdict, 0, nlattr(nfqaVerdictHdr, v)), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
				d.errc <- fmt.Errorf("nfqueue %s: verdict: %w", d.ns, err)
				return
			}
			held = held[1:]
		}
		var timeout *unix.Timespec
		if len(held) > 0 {
			ts := unix.NsecToTimespec(max(int64(time.Until(held[0].at.Add(d.delay))), 0))
			timeout = &ts
		}
		n, err := rawPpoll(pfd, timeout)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			d.errc <- fmt.Errorf("nfqueue %s: ppoll: %w", d.ns, err)
			return
		}
		// Take everything that has arrived.
		for {
			n, _, err := unix.Recvfrom(d.fd, buf, unix.MSG_DONTWAIT)
			now := time.Now()
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				break
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
						held = append(held, queued{id: binary.BigEndian.Uint32(attrs[4:]), at: now})
					}
					attrs = attrs[min((l+3)&^3, len(attrs)):]
				}
			}
		}
	}
}

// rawPpoll is ppoll(2) as a raw system call: the thread keeps its P (the
// Go scheduler's right to run Go code) while it waits, so it runs on at
// once when the next packet is due. Through unix.Ppoll, which gives the P
// up for the duration, the return to Go sometimes waited milliseconds for
// a P in the busiest diag-* scenarios. A long wait is interrupted now and
// then by the runtime's preemption signal (EINTR), which is harmless here.
func rawPpoll(pfd []unix.PollFd, timeout *unix.Timespec) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), uintptr(len(pfd)), uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
	runtime.KeepAlive(pfd)
	runtime.KeepAlive(timeout)
	if errno != 0 {
		return int(r), errno
	}
	return int(r), nil
}

// boostThread raises the calling thread (locked to its goroutine for good)
// 5 real-time priority steps above the rest of the recorder, if the
// recorder runs with SCHED_FIFO (record.sh uses chrt -f 10). Every thread
// of the process has the same FIFO priority otherwise, and a FIFO thread is
// not preempted by one of equal priority: in the diag-* scenarios, with
// hundreds of sockets in use at once, the delay queue could wait for a
// socket thread.
func boostThread() {
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil || attr.Policy != unix.SCHED_FIFO {
		return
	}
	attr.Size = unix.SizeofSchedAttr
	attr.Priority += 5
	_ = unix.SchedSetAttr(0, attr, 0)
}
