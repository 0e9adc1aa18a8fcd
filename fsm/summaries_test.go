package fsm

import "testing"

// TestSummaries: every anomaly and label has its line, and no line is for
// a name that is not one.
func TestSummaries(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		names   []string
		summary func(string) string
		all     map[string]string
	}{
		{"anomaly", AnomalyNames, AnomalySummary, anomalySummaries},
		{"label", LabelNames, LabelSummary, labelSummaries},
	} {
		for _, n := range tc.names {
			if tc.summary(n) == "" {
				t.Errorf("%s %s has no summary", tc.kind, n)
			}
		}
		if len(tc.all) != len(tc.names) {
			t.Errorf("%d %s summaries for %d names", len(tc.all), tc.kind, len(tc.names))
		}
		if tc.summary("no_such_name") != "" {
			t.Errorf("a %s summary for a name that is not one", tc.kind)
		}
	}
}
