package fsm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNameListsAreComplete checks AnomalyNames, LabelNames,
// HandshakeOutcomes and CloseOutcomes against the constants in the source,
// so that a new name cannot be left out of the lists tools check names by.
func TestNameListsAreComplete(t *testing.T) {
	fset := token.NewFileSet()
	consts := map[string][]string{} // prefix -> values
	for _, file := range []string{"anomaly.go", "result.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					for _, prefix := range []string{"Anomaly", "Label", "Handshake", "Close"} {
						if strings.HasPrefix(name.Name, prefix) {
							consts[prefix] = append(consts[prefix], v)
						}
					}
				}
			}
		}
	}
	for prefix, list := range map[string][]string{"Anomaly": AnomalyNames, "Label": LabelNames, "Handshake": HandshakeOutcomes, "Close": CloseOutcomes} {
		want := slices.Sorted(slices.Values(consts[prefix]))
		got := slices.Sorted(slices.Values(list))
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s list %v, constants %v", prefix, got, want)
		}
	}
}
