package report

import "testing"

func TestQuoteName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"x.pcap", "x.pcap"},
		{"dir/my capture.pcap", "dir/my capture.pcap"},
		{"café.pcap", "café.pcap"},
		{"-", "-"},
		{"x\n.pcap", `"x\n.pcap"`},
		{"\x1b[31mred.pcap", `"\x1b[31mred.pcap"`},
		{"tab\there", `"tab\there"`},
		{"a\u202egnp.pcap", `"a\u202egnp.pcap"`}, // right-to-left override
		{"bad\xffutf8", `"bad\xffutf8"`},
	}
	for _, tc := range tests {
		if got := QuoteName(tc.name); got != tc.want {
			t.Errorf("QuoteName(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}
