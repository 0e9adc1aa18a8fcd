// Package testenv says what tcpfsm's tests need of the machine they run
// on, as Go's own internal/testenv does for the standard library: a test
// that needs root, a network namespace, tcpdump, tshark or libpcap and
// finds it missing calls CannotRun. It lives beside capture, whose tests
// need the most of the machine, and imports nothing of tcpfsm's, so that
// every package's tests can use it.
package testenv

import (
	"os"
	"testing"
)

// RequireAll is the environment variable that makes every test run: CI
// sets it (.ci/run).
const RequireAll = "TCPFSM_REQUIRE_ALL"

// CannotRun skips a test whose tool or privilege this machine lacks,
// saying what is missing, unless RequireAll is set: there a test that
// cannot run fails, so that CI never passes by skipping what it should
// check.
func CannotRun(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireAll) != "" {
		t.Fatal(what + " (" + RequireAll + " is set: every test must run)")
	}
	t.Skip(what)
}
