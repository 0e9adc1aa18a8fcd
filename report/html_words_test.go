package report

import "testing"

// TestNounFor: a count of one is said in the singular, any other count,
// none included, in the plural.
func TestNounFor(t *testing.T) {
	tests := []struct {
		n    uint64
		noun string
		want string
	}{
		{0, "connection", "connections"},
		{1, "connection", "connection"},
		{2, "connection", "connections"},
		{1, "TCP packet", "TCP packet"},
		{5001, "connection", "connections"},
	}
	for _, tc := range tests {
		if got := nounFor(tc.n, tc.noun); got != tc.want {
			t.Errorf("nounFor(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}
