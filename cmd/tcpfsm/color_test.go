package main

import (
	"os"
	"strconv"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
	"golang.org/x/sys/unix"
)

// openTerminal returns the follower side of a new pseudo-terminal: a real
// terminal for isatty, without needing one attached to the test.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	_, follower := openPTY(t)
	return follower
}

// openPTY opens a new pseudo-terminal and returns its leader side, to
// type on and read the screen from, and its follower side, the terminal
// a program is given. Both are closed when the test ends.
func openPTY(t *testing.T) (leader, follower *os.File) {
	t.Helper()
	leader, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.CannotRun(t, "no pseudo-terminals here: "+err.Error())
	}
	t.Cleanup(func() { leader.Close() })
	if err := unix.IoctlSetPointerInt(int(leader.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(leader.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	follower, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follower.Close() })
	return leader, follower
}

func TestUseColor(t *testing.T) {
	tty := openTerminal(t)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()

	tests := []struct {
		name string
		mode string
		out  *os.File
		env  map[string]string
		want bool
	}{
		{"auto on a terminal", "auto", tty, nil, true},
		{"auto on a pipe", "auto", pipeW, nil, false},
		{"auto with NO_COLOR", "auto", tty, map[string]string{"NO_COLOR": "1"}, false},
		{"auto with an empty NO_COLOR", "auto", tty, map[string]string{"NO_COLOR": ""}, true},
		{"auto on a dumb terminal", "auto", tty, map[string]string{"TERM": "dumb"}, false},
		{"always on a pipe", "always", pipeW, nil, true},
		{"never on a terminal", "never", tty, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", "") // restored after the test
			os.Unsetenv("NO_COLOR")
			t.Setenv("TERM", "xterm")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if got := useColor(tt.mode, tt.out); got != tt.want {
				t.Errorf("useColor(%q) = %v, want %v", tt.mode, got, tt.want)
			}
		})
	}
}
