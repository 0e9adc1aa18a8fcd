package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestHostileSuiteIsCommitted checks that testdata/hostile holds exactly
// what -hostile writes, so that the suite and its generator cannot drift.
func TestHostileSuiteIsCommitted(t *testing.T) {
	const dir = "../../testdata/hostile"
	files := hostileCaptures()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from what tcpgen -hostile writes (%v): run go run ./cmd/tcpgen -hostile testdata/hostile", name, err)
		}
	}
	on, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if len(on) != len(files) {
		t.Errorf("%d captures in %s, tcpgen writes %d", len(on), dir, len(files))
	}
}
