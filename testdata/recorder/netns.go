package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inNS runs f on a fresh OS thread that has joined the named network
// namespace (created by "ip netns add", so /run/netns/<ns> exists).
//
// Only socket creation depends on the thread's namespace: a socket keeps
// the namespace it was created in, and can then be used from any goroutine.
// The thread is never handed back to the Go scheduler (the goroutine exits
// while still locked, so the runtime destroys the thread), which means no
// other goroutine can ever run in the wrong namespace by accident.
func inNS(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// nsExec runs a command inside a namespace with "ip netns exec" and returns
// an error that includes the command's output when it fails.
func nsExec(ns string, name string, args ...string) error {
	full := append([]string{"netns", "exec", ns, name}, args...)
	cmd := exec.Command("ip", full...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(full, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// sysctl sets a sysctl inside a namespace. Keys the running kernel does not
// have are skipped when optional is true (e.g. tcp_syn_linear_timeouts,
// which only newer kernels have).
func sysctl(ns, key, val string, optional bool) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if _, err := os.Stat(path); err != nil {
		if optional {
			logf("sysctl %s not present on this kernel, skipped", key)
			return nil
		}
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	return nsExec(ns, "sysctl", "-qw", key+"="+val)
}

// iptables runs iptables (v4) or ip6tables (v6) inside a namespace.
func iptables(ns string, v6 bool, args ...string) error {
	bin := "iptables"
	if v6 {
		bin = "ip6tables"
	}
	return nsExec(ns, bin, append([]string{"-w"}, args...)...)
}

// disableOffloads turns off checksum offload, TSO, GSO and GRO on a device
// with the legacy SIOCETHTOOL ioctls (ethtool is not needed). Without this,
// veth hands whole 64 KiB GSO super-packets to tcpdump and the captured TCP
// checksums are left unfilled, neither of which a real wire would show.
func disableOffloads(ns, dev string) error {
	return inNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, c := range []struct {
			cmd  uint32
			name string
		}{
			{unix.ETHTOOL_STXCSUM, "tx-checksum"},
			{unix.ETHTOOL_STSO, "tso"},
			{unix.ETHTOOL_SGSO, "gso"},
			{unix.ETHTOOL_SGRO, "gro"},
		} {
			if err := ethtoolSet(fd, dev, c.cmd, 0); err != nil {
				return fmt.Errorf("%s: disable %s: %w", dev, c.name, err)
			}
		}
		return nil
	})
}

type ethtoolValue struct {
	cmd  uint32
	data uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

func ethtoolSet(fd int, dev string, cmd, val uint32) error {
	ev := &ethtoolValue{cmd: cmd, data: val}
	var ifr ifreqData
	copy(ifr.name[:], dev)
	ifr.data = uintptr(unsafe.Pointer(ev))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(ev)
	if errno != 0 {
		return errno
	}
	return nil
}

// ipBatch runs "ip -n NS -batch -" with the given commands, one per line
// (hundreds of addresses at once, without one process per address).
func ipBatch(ns, cmds string) error {
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, strings.TrimSpace(out.String()))
	}
	return nil
}
