package golden

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

func TestDiff(t *testing.T) {
	long := strings.Repeat("x", maxDiffWidth+10)
	for _, tt := range []struct {
		name, want, got string
		diff            string
	}{
		{"the same", "a\nb\n", "a\nb\n", ""},
		{"one line", "a\nb\nc", "a\nB\nc", "line 2:\n  - b\n  + B\n"},
		{"a line more", "a", "a\nb", "line 2:\n  - \n  + b\n"},
		{"a long line, cut", long, "short", "line 1:\n  - " + long[:maxDiffWidth] + "…\n  + short\n"},
		{"two lines of three", "a\nb\nc", "A\nb\nC", "line 1:\n  - a\n  + A\nline 3:\n  - c\n  + C\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.want, tt.got); got != tt.diff {
				t.Errorf("Diff = %q, want %q", got, tt.diff)
			}
		})
	}
	// Past maxDiffLines differing lines, the rest are not shown.
	if n := strings.Count(Diff(strings.Repeat("a\n", 3*maxDiffLines), strings.Repeat("b\n", 3*maxDiffLines)), "line "); n != maxDiffLines {
		t.Errorf("Diff shows %d lines, want %d", n, maxDiffLines)
	}
}

// failures is a testing.TB that keeps the failures Check reports.
type failures struct {
	testing.TB
	errors []string
}

func (f *failures) Errorf(format string, args ...any) { f.errors = append(f.errors, format) }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden.txt")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		updating bool
		got      string
		fails    bool
		file     string // the golden file afterwards
	}{
		{"the same", false, "a\nb\n", false, "a\nb\n"},
		{"a difference", false, "a\nc\n", true, "a\nb\n"},
		{"a difference under -update", true, "a\nc\n", false, "a\nc\n"},
		{"the same again", false, "a\nc\n", false, "a\nc\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func(was bool) { *update = was }(*update)
			*update = tt.updating
			f := &failures{TB: t}
			Check(f, path, []byte(tt.got))
			if failed := len(f.errors) > 0; failed != tt.fails {
				t.Errorf("failed %v, want %v", failed, tt.fails)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.file {
				t.Errorf("golden file %q, want %q", b, tt.file)
			}
		})
	}
}

// Every package of tcpfsm that has tests takes -update, so that go test
// ./... -update, which hands the flag to every test binary, runs
// everywhere: each test binary links this package.
func TestEveryPackageTakesUpdate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.CannotRun(t, "needs the go command")
	}
	const self = "github.com/tcpfsm/tcpfsm/internal/golden"
	cmd := exec.Command(goTool, "list", "-test", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	binaries := 0
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		// A package's test binary is listed as the package "P.test".
		if len(f) != 2 || !strings.HasSuffix(f[0], ".test") {
			continue
		}
		binaries++
		pkg := strings.TrimSuffix(f[0], ".test")
		if pkg != self && !strings.Contains(" "+f[1]+" ", " "+self+" ") {
			t.Errorf("%s: its tests do not import %s, so go test ./... -update fails there (flag provided but not defined)", pkg, self)
		}
	}
	if binaries < 10 {
		t.Fatalf("go list found %d test binaries:\n%s", binaries, out)
	}
	t.Logf("%d test binaries take -update", binaries)
}
