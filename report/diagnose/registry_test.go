package diagnose

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestRegistry: every diagnosis registers a name and a summary once, and
// the README's table of diagnoses lists exactly the registered ones.
func TestRegistry(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no diagnosis registered")
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("names %v: want sorted and distinct", names)
	}
	for _, n := range names {
		if Summary(n) == "" {
			t.Errorf("%s: no summary", n)
		}
	}
	if Summary("no_such_diagnosis") != "" {
		t.Error("a summary for a name that is not registered")
	}
	if got := len(New(DefaultThresholds()).detectors); got != len(names) {
		t.Errorf("a collector runs %d detectors, want %d", got, len(names))
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)### Diagnoses\n(.*?)\n###? `).FindSubmatch(readme)
	if section == nil {
		t.Fatal("README.md has no Diagnoses section")
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (critical|warning|notice|info)").FindAllSubmatch(section[1], -1) {
		documented = append(documented, string(m[1]))
	}
	slices.Sort(documented)
	if !slices.Equal(documented, names) {
		t.Errorf("README's diagnoses %v, registered %v", documented, names)
	}
}
