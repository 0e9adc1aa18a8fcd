// Package golden is the -update flag of tcpfsm's tests and what they do
// with it: compare an output with the golden file kept beside its input,
// or rewrite the file from the output. Goldens are reviewed like code, so a
// difference is shown line by line.
//
// go test hands -update to the test binary of every package it is asked
// to test, and a binary that does not define the flag fails ("flag
// provided but not defined"). So every package with tests imports this
// one (for its flag alone, a blank import in flags_test.go), and `go test
// ./... -update` runs everywhere, rewriting what each package keeps.
package golden

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Updating is whether the tests were asked to rewrite their golden files.
func Updating() bool { return *update }

// Check compares got with the golden file path, or, under -update,
// rewrites the file with got where it differs.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(path)
	if *update {
		if !bytes.Equal(want, got) {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote %s", path)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, Diff(string(want), string(got)))
	}
}

// Diff shows the lines of got that differ from want's, with their numbers,
// at most maxDiffLines of them, each cut to maxDiffWidth bytes: "" when
// the two are the same.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < maxDiffLines; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			shown++
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  - " + cut(wl) + "\n  + " + cut(gl) + "\n")
		}
	}
	return b.String()
}

// A record of JSON Lines can run to kilobytes: the start of each differing
// line says which it is, and the first lines where the outputs part say
// most.
const (
	maxDiffLines = 20
	maxDiffWidth = 400
)

func cut(line string) string {
	if len(line) <= maxDiffWidth {
		return line
	}
	return line[:maxDiffWidth] + "…"
}
