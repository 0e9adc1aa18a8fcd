package capture

import (
	"os"
	"testing"
)

// cannotRun skips a test whose tool or privilege this machine lacks, unless
// TCPFSM_REQUIRE_ALL is set, as .ci/run sets it: there a test that cannot
// run fails, so that CI never passes by skipping what it should check.
func cannotRun(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("TCPFSM_REQUIRE_ALL") != "" {
		t.Fatal(what + " (TCPFSM_REQUIRE_ALL is set: every test must run)")
	}
	t.Skip(what)
}
