package libpcap

import (
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// needsCgo are the packages that may need cgo: this one, and the command
// that opens live captures and compiles filters with it.
var needsCgo = map[string]bool{
	"github.com/tcpfsm/tcpfsm/capture/libpcap": true,
	"github.com/tcpfsm/tcpfsm/cmd/tcpfsm":      true,
}

// Every other package of tcpfsm builds with CGO_ENABLED=0: the cgo is in
// this package alone. A package that imports it, gopacket/pcap or C
// without being listed in needsCgo is named with the imports that pull
// the cgo in; the build without cgo is the final word.
func TestOnlyLibpcapNeedsCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.CannotRun(t, "needs the go command")
	}
	run := func(env string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s go %s: %v\n%s", env, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	var pure []string
	for pkg := range strings.FieldsSeq(run("CGO_ENABLED=1", "list", "./...")) {
		if !needsCgo[pkg] {
			pure = append(pure, pkg)
		}
	}
	if len(pure) < 10 {
		t.Fatalf("go list ./... gave %d packages besides %v: %q", len(pure), slices.Sorted(maps.Keys(needsCgo)), pure)
	}

	// The import graph with cgo on, where a package's files that import C
	// are listed as such. The standard library builds either way.
	imports := map[string][]string{}
	cgo := map[string]bool{}
	listing := run("CGO_ENABLED=1", append([]string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Standard}}\t{{len .CgoFiles}}\t{{join .Imports \" \"}}"}, pure...)...)
	for line := range strings.Lines(listing) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 4 || f[1] == "true" {
			continue
		}
		imports[f[0]] = strings.Fields(f[3])
		cgo[f[0]] = f[2] != "0" || needsCgo[f[0]]
	}
	for _, pkg := range pure {
		if chain := cgoChain(pkg, imports, cgo, map[string]bool{}); chain != nil {
			t.Errorf("%s needs cgo: %s", pkg, strings.Join(chain, " imports "))
		}
	}
	run("CGO_ENABLED=0", append([]string{"build"}, pure...)...)
	t.Logf("%d packages build without cgo", len(pure))
}

// cgoChain is the chain of imports from pkg to a package with cgo, or nil.
func cgoChain(pkg string, imports map[string][]string, cgo, seen map[string]bool) []string {
	if cgo[pkg] {
		return []string{pkg}
	}
	seen[pkg] = true
	for _, imp := range imports[pkg] {
		if seen[imp] {
			continue
		}
		if chain := cgoChain(imp, imports, cgo, seen); chain != nil {
			return append([]string{pkg}, chain...)
		}
	}
	return nil
}
