package main

// Crafted segments, sent into a live connection from a raw socket, for the
// scenarios that show what a receiver accepts (RFC 5961, RFC 9293 section
// 3.10.7.4): a RST at the receiver's RCV.NXT, inside its window, outside
// it, a SYN on the established connection, and data beyond the window.
// The sequence numbers come from the kernel itself (TCP_REPAIR), so the
// segment lands exactly where the scenario says.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// From <linux/tcp.h>: the queues TCP_REPAIR_QUEUE selects.
const (
	tcpRecvQueue = 1
	tcpSendQueue = 2
)

// sndNxt returns the sequence number socket fd sends next (its write_seq:
// once everything written was sent, SND.NXT, which the peer, once all of
// it arrived, has as RCV.NXT). It puts the socket into repair mode for the
// moment it takes to read it, and leaves it without the window probe that
// leaving repair mode would otherwise send (TCP_REPAIR_OFF_NO_WP), so
// nothing appears in the capture.
func sndNxt(fd int) (uint32, error) {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1); err != nil {
		return 0, fmt.Errorf("TCP_REPAIR on: %w", err)
	}
	defer unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, unix.TCP_REPAIR_OFF_NO_WP)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR_QUEUE, tcpSendQueue); err != nil {
		return 0, fmt.Errorf("TCP_REPAIR_QUEUE: %w", err)
	}
	seq, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_QUEUE_SEQ)
	if err != nil {
		return 0, fmt.Errorf("TCP_QUEUE_SEQ: %w", err)
	}
	return uint32(seq), nil
}

// localAddr returns the address and port socket fd is bound to.
func localAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if sa4, ok := sa.(*unix.SockaddrInet4); ok {
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(sa4.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockname: %T, want IPv4", sa)
}

// TCP header flags.
const (
	tcpFIN = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
)

// inject sends one TCP segment carrying payload (none when nil) from src
// to dst through a raw socket created in namespace ns: it leaves that
// namespace's interface as any segment of the connection would, so the
// capture shows it and the peer's delay queue holds it like the rest.
// IPv4 only.
func inject(ns string, src, dst netip.AddrPort, flags uint8, seq, ack uint32, window uint16, payload []byte) error {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return fmt.Errorf("inject: %v > %v: IPv4 only", src, dst)
	}
	fd := -1
	err := inNS(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	})
	if err != nil {
		return fmt.Errorf("raw socket in %s: %w", ns, err)
	}
	defer unix.Close(fd)
	pkt := make([]byte, 40+len(payload))
	// IPv4 header; the kernel fills in the checksum (and the ID when 0).
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	binary.BigEndian.PutUint16(pkt[6:], 0x4000) // DF, as Linux sends TCP
	pkt[8] = 64
	pkt[9] = unix.IPPROTO_TCP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(pkt[12:], s4[:])
	copy(pkt[16:], d4[:])
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], window)
	copy(tcp[20:], payload)
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksum(s4, d4, tcp))
	return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: d4})
}

// tcpChecksum is the TCP checksum of segment over the IPv4 pseudo-header
// (RFC 9293 section 3.1), with the checksum field zero.
func tcpChecksum(src, dst [4]byte, segment []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += unix.IPPROTO_TCP + uint32(len(segment))
	add(segment)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// netCounters returns the kernel's TCP and IP counters in namespace ns,
// absolute since the namespace was made (nstat -a; -s leaves its history
// file alone), by name: TcpEstabResets, TcpExtTCPChallengeACK, IpReasmOKs,
// ...
func netCounters(ns string) (map[string]uint64, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "nstat", "-asz").Output()
	if err != nil {
		return nil, fmt.Errorf("nstat in %s: %w", ns, err)
	}
	counters := map[string]uint64{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (strings.HasPrefix(f[0], "Tcp") || strings.HasPrefix(f[0], "Ip")) {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				counters[f[0]] = v
			}
		}
	}
	return counters, nil
}
