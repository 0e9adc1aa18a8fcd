package main

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// errStdoutClosed is what writing the report meets when tcpfsm was
// started with its standard output closed (>&-).
var errStdoutClosed = errors.New("standard output is closed: the report has nowhere to go (redirect it to a file, or to /dev/null to discard it)")

// closedWriter stands for a closed standard output.
type closedWriter struct{}

func (closedWriter) Write([]byte) (int, error) { return 0, errStdoutClosed }

// standardOutput is os.Stdout, or a closedWriter when it was closed.
func standardOutput() io.Writer {
	if stdoutClosed() {
		return closedWriter{}
	}
	return os.Stdout
}

// stdoutClosed tells whether tcpfsm was started with descriptor 1 closed.
// Go's runtime then opens /dev/null in its place before main runs, so
// that the descriptor is not reused by the next file opened; but then the
// report would vanish unseen with exit status 0. It opens /dev/null
// read-write, where a shell's >/dev/null opens it write-only: /dev/null
// open read-write on descriptor 1 is taken as closed. (A shell's
// 1<>/dev/null reads the same way; redirect with > to discard the report.)
func stdoutClosed() bool {
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, 1, syscall.F_GETFL, 0)
	if errno != 0 || flags&syscall.O_ACCMODE != syscall.O_RDWR {
		return false
	}
	var out, null syscall.Stat_t
	if syscall.Fstat(1, &out) != nil || syscall.Stat(os.DevNull, &null) != nil {
		return false
	}
	return out.Mode&syscall.S_IFMT == syscall.S_IFCHR && out.Rdev == null.Rdev
}
