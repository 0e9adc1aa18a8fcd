package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGC: without GOGC the collector's target is gcPercent; with it,
// GOGC's stays.
func TestTuneGC(t *testing.T) {
	was, had := os.LookupEnv("GOGC")
	defer func() {
		if had {
			os.Setenv("GOGC", was)
		} else {
			os.Unsetenv("GOGC")
		}
	}()
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	tuneGC()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: target %d%%, want %d%%", got, gcPercent)
	}

	os.Setenv("GOGC", "100")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: target %d%%, want GOGC's 100%%", got)
	}
}
