package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestREADMEDocumentsJSONKeys: the JSON keys are an interface, so every
// key a conn or summary object carries must be in the README's table for
// that object (the first column of "JSON Lines"); a key added to the
// output and not to the table fails here.
func TestREADMEDocumentsJSONKeys(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "### JSON Lines")
	split := strings.Index(text, "The summary object:")
	end := strings.Index(text, "### The event stream")
	if start < 0 || split < start || end < split {
		t.Fatal("README.md: no JSON Lines section with a conn table, then \"The summary object:\", then \"### The event stream\"")
	}
	connKeys, summaryKeys := tableKeys(text[start:split]), tableKeys(text[split:end])
	if len(connKeys) < 20 || len(summaryKeys) < 20 {
		t.Fatalf("README.md tables read as %d conn and %d summary keys: the parsing is wrong", len(connKeys), len(summaryKeys))
	}

	// Every key of every object, over captures that between them show a
	// reset, retries and the diagnoses (--verify-checksums: its counters).
	seen := map[string]map[string]bool{"conn": {}, "summary": {}}
	// --shard adds the keys of tcpfsm merge.
	for _, args := range [][]string{{"--verify-checksums"}, {"--shard", "0/1"}} {
		for _, path := range kernelCaptures(t) {
			r := tcpfsm(t, nil, append([]string{"-r", path, "--format", "json"}, args...)...)
			if r.code != exitOK {
				t.Fatalf("%s: exit %d: %s", path, r.code, r.stderr)
			}
			for _, o := range jsonLines(t, r.stdout) {
				typ, _ := o["type"].(string)
				for k := range o {
					if seen[typ] != nil {
						seen[typ][k] = true
					}
				}
			}
		}
	}
	for typ, documented := range map[string][]string{"conn": connKeys, "summary": summaryKeys} {
		for k := range seen[typ] {
			// type is documented once, in the first table, for every object.
			if !slices.Contains(documented, k) && k != "type" {
				t.Errorf("%s key %q is not in README.md's %s table", typ, k, typ)
			}
		}
	}
	if len(seen["conn"]) == 0 || len(seen["summary"]) == 0 {
		t.Error("no conn or summary objects read")
	}
}

// tableKeys returns the backquoted names in the first column of the
// markdown table rows in s.
func tableKeys(s string) []string {
	name := regexp.MustCompile("`([a-z_]+)`")
	var keys []string
	for _, line := range strings.Split(s, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| ") || len(cells) < 3 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			keys = append(keys, m[1])
		}
	}
	return keys
}

// TestSetupNeedsGoOnPath: .ci/setup, the README's first step, stops at once
// with a message saying how to put Go on PATH, rather than letting the next
// step fail with "go: command not found".
func TestSetupNeedsGoOnPath(t *testing.T) {
	cmd := exec.Command("bash", "../../.ci/setup")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("without go on PATH: %v, output %q; want exit 1", err, out)
	}
	want := "setup: Go is not installed"
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		want = `setup: Go is in /usr/local/go/bin but not on PATH: export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"`
	}
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("output %q, want it to start %q", out, want)
	}
}

// TestREADMEDocumentsAppOutcomes: every value of the "app" object, and each
// errno name with its number, is in the README's conn table.
func TestREADMEDocumentsAppOutcomes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range fsm.AppOutcomes {
		want := "`" + v + "`"
		if n, ok := fsm.Errnos[v]; ok {
			want += fmt.Sprintf(" (%d)", n)
		}
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not document the app outcome %s", want)
		}
	}
}

// TestCIRunsTheREADMECommand: .ci/run runs the test command "Try it"
// gives (its second command), word for word, so that what the README
// promises is what CI checks.
func TestCIRunsTheREADMECommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	_, try, _ := strings.Cut(string(readme), "## Try it\n")
	try, _, _ = strings.Cut(try, "\n## ")
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(try, -1)
	if len(blocks) != 2 {
		t.Fatalf("README.md's \"Try it\" has %d sh blocks, want 2 (set up, then test)", len(blocks))
	}
	command := strings.TrimSpace(blocks[1][1])
	if !strings.Contains(command, "testdata/duckdb") {
		t.Errorf("README.md's test command %q does not run the DuckDB check", command)
	}
	if !slices.Contains(strings.Split(string(ci), "\n"), command) {
		t.Errorf(".ci/run has no line %q, the README's test command", command)
	}
}

// TestREADMEInstallsBeforeUse: every example runs tcpfsm from PATH, so the
// README's first command that runs it must install it first, from the
// checkout (go install ./cmd/tcpfsm), with the directory go install writes
// to on PATH; and the GitHub Actions example installs it the same way,
// from a checkout of tcpfsm, never by a module path (go install MODULE@V)
// that may not resolve.
func TestREADMEInstallsBeforeUse(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var shell, actions []string // the lines of the code blocks, in order
	var in *[]string
	for _, line := range strings.Split(string(readme), "\n") {
		switch {
		case in == nil && strings.HasPrefix(line, "```yaml"):
			in = &actions
		case in == nil && strings.HasPrefix(line, "```"):
			in = &shell
		case in != nil && line == "```":
			in = nil
		case in != nil:
			*in = append(*in, line)
		}
	}
	runs := regexp.MustCompile(`(^|[;&|(]\s*|sudo\s+)tcpfsm\s`)
	first := slices.IndexFunc(shell, func(l string) bool { return runs.MatchString(l) })
	if first < 0 {
		t.Fatal("README.md: no code block runs tcpfsm")
	}
	before := strings.Join(shell[:first+1], "\n")
	install := strings.Index(before, "go install ./cmd/tcpfsm && ")
	if install < 0 || !strings.Contains(before[:install], `export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"`) {
		t.Errorf("README.md's first command that runs tcpfsm does not put Go's bin directories on PATH and install it first:\n%s", before)
	}

	block := strings.Join(actions, "\n")
	checkout := regexp.MustCompile(`(?m)repository: tcpfsm/tcpfsm, path: (\S+) \}`).FindStringSubmatch(block)
	if checkout == nil {
		t.Fatalf("README.md's GitHub Actions example checks out no tcpfsm:\n%s", block)
	}
	if !strings.Contains(block, "run: cd "+checkout[1]+" && go install ./cmd/tcpfsm") || regexp.MustCompile(`go install \S+@`).MatchString(block) {
		t.Errorf("README.md's GitHub Actions example does not install tcpfsm from its checkout %s:\n%s", checkout[1], block)
	}
	if i, j := strings.Index(block, "go install ./cmd/tcpfsm"), strings.Index(block, "run: tcpfsm "); j < 0 || i > j {
		t.Errorf("README.md's GitHub Actions example runs tcpfsm before it installs it:\n%s", block)
	}
}
