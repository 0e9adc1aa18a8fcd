package capture

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// FilterCompilerForTests compiles the filters of this package's tests:
// capture/libpcap's Compiler, which libpcap_cgo_test.go sets when cgo is
// on. Package capture cannot import capture/libpcap (which imports it),
// but its external tests, linked into the same test binary, can.
var FilterCompilerForTests FilterCompiler

// withCompiler is opt with libpcap to compile its Filter, if it has one; a
// test with a filter built without cgo cannot run.
func withCompiler(t testing.TB, opt Options) Options {
	t.Helper()
	if opt.Filter == "" {
		return opt
	}
	if FilterCompilerForTests == nil {
		testenv.CannotRun(t, "filters need capture/libpcap: built without cgo")
	}
	opt.FilterCompiler = FilterCompilerForTests
	return opt
}
