package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// The tests of the files tcpfsm must not harm, and of what it prints
// about them.

// TestOutputThatIsAnInputIsRefused: an output naming the capture being
// read (or a file of a check), by any path to the same file, is a usage
// error, and the file is left as it was.
func TestOutputThatIsAnInputIsRefused(t *testing.T) {
	capture := writePcap(t, handshakeFrames(t))
	tests := []struct {
		name string
		args func(dir string) []string
		want string
	}{
		{"--html the capture", func(string) []string { return []string{"-r", "x.pcap", "--html", "x.pcap"} },
			"tcpfsm: --html x.pcap is the file x.pcap, which this run reads: refusing to write over it\n"},
		{"--html a symbolic link to it", func(string) []string { return []string{"-r", "x.pcap", "--html", "symlink.pcap"} },
			"tcpfsm: --html symlink.pcap is the file x.pcap, which this run reads: refusing to write over it\n"},
		{"--html a hard link to it", func(string) []string { return []string{"-r", "hardlink.pcap", "--html", "./x.pcap"} },
			"tcpfsm: --html ./x.pcap is the file hardlink.pcap, which this run reads: refusing to write over it\n"},
		{"--cpuprofile", func(string) []string { return []string{"-r", "x.pcap", "--cpuprofile", "x.pcap"} },
			"tcpfsm: --cpuprofile x.pcap is the file x.pcap, which this run reads: refusing to write over it\n"},
		{"--memprofile", func(dir string) []string {
			return []string{"-r", "x.pcap", "--memprofile", filepath.Join(dir, "x.pcap")}
		}, "is the file x.pcap, which this run reads: refusing to write over it\n"},
		{"check --junit a capture", func(string) []string { return []string{"check", "--expect", "rules", "--junit", "x.pcap", "x.pcap"} },
			"tcpfsm: --junit x.pcap is the file x.pcap, which this run reads: refusing to write over it\n"},
		{"check --junit the rules", func(string) []string { return []string{"check", "--expect", "rules", "--junit", "rules", "x.pcap"} },
			"tcpfsm: --junit rules is the file rules, which this run reads: refusing to write over it\n"},
		{"check --junit a capture's rules", func(string) []string { return []string{"check", "--junit", "x.pcap.expect", "x.pcap"} },
			"tcpfsm: --junit x.pcap.expect is the file x.pcap.expect, which this run reads: refusing to write over it\n"},
		{"check --update over a capture", func(string) []string { return []string{"check", "--update", "x.pcap", "x.pcap.golden.json"} },
			"tcpfsm: --update: the snapshot x.pcap.golden.json is the file x.pcap.golden.json, which this run reads: refusing to write over it\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			writeHere(t, "x.pcap", string(capture))
			writeHere(t, "x.pcap.golden.json", string(capture)) // a capture too, named as a snapshot
			writeHere(t, "x.pcap.expect", "at least 1 connection\n")
			writeHere(t, "rules", "at least 1 connection\n")
			if err := os.Symlink("x.pcap", "symlink.pcap"); err != nil {
				t.Fatal(err)
			}
			if err := os.Link("x.pcap", "hardlink.pcap"); err != nil {
				t.Fatal(err)
			}
			res := tcpfsm(t, nil, tc.args(dir)...)
			if res.code != exitUsage || !strings.HasSuffix(res.stderr, tc.want) || strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("exit %d (want 2), stderr %q, want it to end %q", res.code, res.stderr, tc.want)
			}
			for _, name := range []string{"x.pcap", "x.pcap.golden.json"} {
				if b, _ := os.ReadFile(name); !bytes.Equal(b, capture) {
					t.Errorf("%s was written over", name)
				}
			}
			for name, want := range map[string]string{"rules": "at least 1 connection\n", "x.pcap.expect": "at least 1 connection\n"} {
				if b, _ := os.ReadFile(name); string(b) != want {
					t.Errorf("%s was written over: %q", name, b)
				}
			}
		})
	}

	// -r - with standard input redirected from the file: the same file.
	t.Run("--html the file standard input reads", func(t *testing.T) {
		path := writeFile(t, "x.pcap", capture)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out, errOut bytes.Buffer
		code := run([]string{"-r", "-", "--html", path}, f, &out, &errOut)
		if want := "is the file standard input, which this run reads: refusing to write over it\n"; code != exitUsage || !strings.HasSuffix(errOut.String(), want) {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, capture) {
			t.Error("the capture was written over")
		}
	})
}

// TestOutputsThatAreNotFilesAreWrittenTo: --html and check --junit
// naming what is not a regular file (a device such as /dev/null, a FIFO,
// a symbolic link such as /dev/stdout) write to it, as a person naming it
// means, and leave it what it was; writing beside it and renaming, as a
// regular file is replaced, put a regular file in its place (as root,
// --html /dev/null made /dev/null a regular file holding the page).
func TestOutputsThatAreNotFilesAreWrittenTo(t *testing.T) {
	capture := writePcap(t, handshakeFrames(t))
	outputs := []struct {
		name string
		args func(out string) []string
		want string // what the output begins with
	}{
		{"--html", func(out string) []string { return []string{"-r", "x.pcap", "--html", out} }, "<!doctype html>"},
		{"merge --html", func(out string) []string { return []string{"merge", "--html", out, "shard.jsonl"} }, "<!doctype html>"},
		{"check --junit", func(out string) []string { return []string{"check", "--expect", "rules", "--junit", out, "x.pcap"} }, "<?xml"},
	}
	kinds := []struct {
		name string
		// make makes the output "out" and returns what was written to it.
		make func(t *testing.T) (written func() string)
		mode fs.FileMode // its type afterwards, as Lstat says
	}{
		{"a device", func(t *testing.T) func() string {
			// A null device of its own: the test must never risk /dev/null.
			if err := unix.Mknod("out", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				testenv.CannotRun(t, "making a device node needs root: "+err.Error())
			}
			return nil
		}, fs.ModeDevice | fs.ModeCharDevice},
		{"a FIFO", func(t *testing.T) func() string {
			if err := unix.Mkfifo("out", 0o644); err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			go func() {
				b, _ := os.ReadFile("out")
				got <- string(b)
			}()
			t.Cleanup(func() {
				// A writer that never came: open it to let the reader go.
				if f, err := os.OpenFile("out", os.O_RDWR|unix.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			})
			return func() string { return <-got }
		}, fs.ModeNamedPipe},
		{"a symbolic link", func(t *testing.T) func() string {
			if err := os.Symlink("target", "out"); err != nil {
				t.Fatal(err)
			}
			writeHere(t, "target", "an older report\n")
			return func() string { b, _ := os.ReadFile("target"); return string(b) }
		}, fs.ModeSymlink},
	}
	for _, output := range outputs {
		for _, kind := range kinds {
			t.Run(output.name+" to "+kind.name, func(t *testing.T) {
				t.Chdir(t.TempDir())
				writeHere(t, "x.pcap", string(capture))
				writeHere(t, "rules", "at least 1 connection\n")
				shard := tcpfsm(t, nil, "-r", "x.pcap", "--shard", "0/1", "--format", "json")
				if shard.code != exitOK {
					t.Fatalf("the shard's report: exit %d: %s", shard.code, shard.stderr)
				}
				writeHere(t, "shard.jsonl", shard.stdout)
				written := kind.make(t)
				res := tcpfsm(t, nil, output.args("out")...)
				if res.code != exitOK {
					t.Fatalf("exit %d: %s", res.code, res.stderr)
				}
				fi, err := os.Lstat("out")
				if err != nil || fi.Mode().Type() != kind.mode {
					t.Fatalf("out is now %v (%v), want %v", fi.Mode().Type(), err, kind.mode)
				}
				if written != nil {
					if got := written(); !strings.HasPrefix(got, output.want) {
						t.Errorf("what was written to it begins %q, want %q", got[:min(len(got), 40)], output.want)
					}
				}
				if left, _ := filepath.Glob(".*tmp*"); len(left) > 0 {
					t.Errorf("temporary files left: %q", left)
				}
			})
		}
	}
}

// TestOutputInADirectoryThatTakesNoNewFile: a report the user may write,
// in a directory where the user may create nothing (so no temporary file
// beside it), is written in place rather than refused; a new report there
// is an error naming it. Run with -Z nobody, which tcpfsm becomes before
// it opens the report: root may create files anywhere.
func TestOutputInADirectoryThatTakesNoNewFile(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.CannotRun(t, "-Z nobody needs root")
	}
	capture := writeFile(t, "x.pcap", writePcap(t, handshakeFrames(t)))
	bin := tcpfsmBinary(t)
	for _, tc := range []struct {
		name   string
		exists bool
		code   int
		stderr string
	}{
		{"a report nobody may write", true, exitOK, ""},
		{"a new report", false, exitUsage, "tcpfsm: --html: %s: permission denied\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// nobody must reach it: the test's directories are root's alone.
			for _, d := range []string{filepath.Dir(dir), dir} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			report := filepath.Join(dir, "report.html")
			if tc.exists {
				if err := os.WriteFile(report, []byte("an older report\n"), 0o666); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(report, 0o666); err != nil { // whatever the umask
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			cmd := exec.Command(bin, "-r", capture, "-Z", "nobody", "--html", report)
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			cmd.Run()
			want := tc.stderr
			if want != "" {
				want = fmt.Sprintf(want, report)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code || errOut.String() != want {
				t.Errorf("exit %d (want %d), stderr %q, want %q", code, tc.code, errOut.String(), want)
			}
			if b, _ := os.ReadFile(report); tc.exists && !strings.HasPrefix(string(b), "<!doctype html>") {
				t.Errorf("the report holds %q", b[:min(len(b), 40)])
			}
		})
	}
}

// TestReplacedOutputKeepsItsMode: an output written beside the old one
// and renamed over it keeps the old one's mode, as writing it in place
// did, so a private report stays private; a new one gets the mode a
// new file gets (0666 less the umask). Run as root, it keeps the old
// one's owners too.
func TestReplacedOutputKeepsItsMode(t *testing.T) {
	capture := writePcap(t, handshakeFrames(t))
	mask := unix.Umask(0)
	unix.Umask(mask)
	for _, tc := range []struct {
		name   string
		output string
		args   []string
	}{
		{"--html", "report.html", []string{"-r", "x.pcap", "--html", "report.html"}},
		{"check --update", "x.pcap.golden.json", []string{"check", "--update", "x.pcap"}},
		{"check --junit", "junit.xml", []string{"check", "--expect", "rules", "--junit", "junit.xml", "x.pcap"}},
	} {
		for _, old := range []fs.FileMode{0o600, 0o640, 0} {
			over := "a new file"
			if old != 0 {
				over = old.String()
			}
			t.Run(tc.name+" over "+over, func(t *testing.T) {
				t.Chdir(t.TempDir())
				writeHere(t, "x.pcap", string(capture))
				writeHere(t, "rules", "at least 1 connection\n")
				want := 0o666 &^ fs.FileMode(mask)
				if old != 0 {
					if tc.name == "check --update" {
						if code, _, errOut := runCmd("check", "--update", "x.pcap"); code != exitOK {
							t.Fatalf("the old snapshot: exit %d: %s", code, errOut)
						}
					} else {
						writeHere(t, tc.output, "an older report\n")
					}
					if err := os.Chmod(tc.output, old); err != nil {
						t.Fatal(err)
					}
					want = old
				}
				uid, gid := os.Geteuid(), os.Getegid()
				if old != 0 && uid == 0 {
					uid, gid = 65534, 65534 // nobody's
					if err := os.Chown(tc.output, uid, gid); err != nil {
						t.Fatal(err)
					}
				}
				if code, _, errOut := runCmd(tc.args...); code != exitOK {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				fi, err := os.Stat(tc.output)
				if err != nil || fi.Mode().Perm() != want {
					t.Fatalf("%s is %v (%v), want %v", tc.output, fi.Mode().Perm(), err, want)
				}
				if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid {
					t.Errorf("%s is owned by %d:%d, want %d:%d", tc.output, st.Uid, st.Gid, uid, gid)
				}
			})
		}
	}
}

// TestCheckNeverFollowsLinks: a snapshot or a capture's rules file that is
// a symbolic link is refused, whether to compare or to update, so that
// neither the link's target is written over nor its content quoted; a
// snapshot is replaced by renaming, leaving what another hard link names
// as it was.
func TestCheckNeverFollowsLinks(t *testing.T) {
	const secret = "root:$6$secret-hash:19000:0:99999:7:::\n"
	tests := []struct {
		name, link string
		args       []string
		want       string
	}{
		{"snapshot to compare", "close-wait.pcap.golden.json", []string{"check", "close-wait.pcap"},
			"tcpfsm: close-wait.pcap.golden.json: a symbolic link: tcpfsm check reads and writes snapshots and CAPTURE.expect files only as regular files, not through links\n"},
		{"snapshot to update", "close-wait.pcap.golden.json", []string{"check", "--update", "close-wait.pcap"},
			"tcpfsm: close-wait.pcap.golden.json: a symbolic link: tcpfsm check reads and writes snapshots and CAPTURE.expect files only as regular files, not through links\n"},
		{"rules", "close-wait.pcap.expect", []string{"check", "close-wait.pcap"},
			"tcpfsm: close-wait.pcap.expect: a symbolic link: tcpfsm check reads and writes snapshots and CAPTURE.expect files only as regular files, not through links\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scratch(t, false, "close-wait.pcap")
			writeHere(t, "secret", secret)
			if err := os.Symlink("secret", tc.link); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCmd(tc.args...)
			if code != exitUsage || errOut != tc.want {
				t.Errorf("exit %d (want 2), stderr %q, want %q", code, errOut, tc.want)
			}
			if strings.Contains(out+errOut, "secret-hash") {
				t.Errorf("the link's target was quoted: %q %q", out, errOut)
			}
			if b, _ := os.ReadFile("secret"); string(b) != secret {
				t.Errorf("the link's target was written over: %q", b)
			}
		})
	}

	t.Run("update by rename", func(t *testing.T) {
		scratch(t, true, "close-wait.pcap")
		writeHere(t, "close-wait.pcap.golden.json", "{}\n")
		if err := os.Link("close-wait.pcap.golden.json", "other-name"); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := runCmd("check", "--update", "close-wait.pcap"); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if b, _ := os.ReadFile("other-name"); string(b) != "{}\n" {
			t.Errorf("the snapshot was written in place, through another link to it: %q", b)
		}
		if code, _, errOut := runCmd("check", "close-wait.pcap"); code != exitOK {
			t.Errorf("the snapshot written does not pass: exit %d: %s", code, errOut)
		}
		if left, _ := filepath.Glob(".*tmp*"); len(left) > 0 {
			t.Errorf("temporary files left: %q", left)
		}
	})
}

// hostileName is a file name that holds a terminal escape (clear the
// screen, red) and a newline.
const hostileName = "x\x1b[2J\x1b[31m\n.pcap"

// TestNamesAreQuoted: a file name with control characters is printed
// quoted (%q) in errors, the text summary and check's FAIL lines, so no
// escape reaches the terminal raw and every message stays one line; an
// ordinary name stays as it is.
func TestNamesAreQuoted(t *testing.T) {
	const quoted = `"x\x1b[2J\x1b[31m\n.pcap"`
	capture := writePcap(t, handshakeFrames(t))
	tests := []struct {
		name    string
		files   map[string]string
		args    []string
		code    int
		stdout  string // what stdout holds
		stderr  string // what stderr is, exactly
		anyTail bool   // stderr ends with it, rather than is it
	}{
		{"no such file", nil, []string{"-r", hostileName}, exitUsage, "",
			"tcpfsm: " + quoted + ": open " + quoted + ": no such file or directory\n", false},
		{"not a capture", map[string]string{hostileName: "<html>not a capture"}, []string{"-r", hostileName}, exitUsage, "",
			"tcpfsm: " + quoted + ": not a pcap or pcapng file (magic 0x3c68746d)\n", false},
		{"the summary", map[string]string{hostileName: string(capture)}, []string{"-r", hostileName, "--color", "never"}, exitOK,
			"Summary " + quoted + "  2023-11-14", "", false},
		{"a cut capture", map[string]string{hostileName: string(capture[:len(capture)-5])}, []string{"-r", hostileName, "--color", "never"}, exitOK,
			"warning: " + quoted + ": packet 7: capture truncated", "tcpfsm: warning: " + quoted + ": packet 7: capture truncated", false},
		{"--html into no directory", map[string]string{"x.pcap": string(capture)}, []string{"-r", "x.pcap", "--html", "no/" + hostileName}, exitUsage, "",
			"tcpfsm: --html: \"no/x\\x1b[2J\\x1b[31m\\n.pcap\": no such file or directory\n", false},
		{"check FAIL", map[string]string{hostileName: string(capture), "rules": "at least 5 connections\n"},
			[]string{"check", "--color", "never", "--expect", "rules", hostileName}, exitCheck,
			"FAIL " + quoted + ": rules:1: at least 5 connections: ", "", false},
		{"no such interface", nil, []string{"-i", hostileName}, exitUsage, "", "tcpfsm: " + quoted + ": no such interface", false},
		{"check, nothing to check against", map[string]string{hostileName: string(capture)}, []string{"check", hostileName}, exitUsage,
			"", "tcpfsm: " + quoted + ": nothing to check it against: write " + `"x\x1b[2J\x1b[31m\n.pcap.expect"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for name, text := range tc.files {
				writeHere(t, name, text)
			}
			res := tcpfsm(t, nil, tc.args...)
			if res.code != tc.code || !strings.Contains(res.stdout, tc.stdout) ||
				!(res.stderr == tc.stderr || strings.HasPrefix(res.stderr, tc.stderr) && tc.stderr != "") {
				t.Errorf("exit %d (want %d)\nstdout %q, want it to hold %q\nstderr %q, want %q", res.code, tc.code, res.stdout, tc.stdout, res.stderr, tc.stderr)
			}
			if strings.Contains(res.stdout+res.stderr, "\x1b") {
				t.Errorf("an escape reached the output raw:\n%q\n%q", res.stdout, res.stderr)
			}
		})
	}
}

// failingWriter fails every write, as standard output on a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestLostStandardOutputFails: a report that cannot be written to standard
// output, closed (>&-) or failing, is exit status 2 with one message on
// standard error, for the analysis and for check alike; discarding it to
// /dev/null is not an error.
func TestLostStandardOutputFails(t *testing.T) {
	path := writeFile(t, "x.pcap", writePcap(t, handshakeFrames(t)))
	rules := writeFile(t, "rules", []byte("at least 1 connection\n"))
	for _, args := range [][]string{
		{"-r", path},
		{"-r", path, "--format", "json"},
		{"check", "--expect", rules, path},
	} {
		var errOut bytes.Buffer
		code := run(args, nil, failingWriter{}, &errOut)
		if code != exitUsage || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "no space left on device") {
			t.Errorf("%q to a failing standard output: exit %d (want 2), stderr %q", args, code, errOut.String())
		}
	}

	bin := tcpfsmBinary(t)
	for _, tc := range []struct {
		redirect string
		code     int
		stderr   string
	}{
		{">&-", exitUsage, "tcpfsm: writing the report: standard output is closed: the report has nowhere to go (redirect it to a file, or to /dev/null to discard it)\n"},
		{">/dev/null", exitOK, ""},
	} {
		for _, args := range []string{`-r "$1"`, `check --expect "$2" "$1"`} {
			cmd := exec.Command("sh", "-c", `"$0" `+args+" "+tc.redirect, bin, path, rules)
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			cmd.Run()
			want := tc.stderr
			if strings.HasPrefix(args, "check") && want != "" {
				want = strings.Replace(want, "writing the report", "writing to standard output", 1)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code || errOut.String() != want {
				t.Errorf("tcpfsm %s %s: exit %d (want %d), stderr %q, want %q", args, tc.redirect, code, tc.code, errOut.String(), want)
			}
		}
	}
}
