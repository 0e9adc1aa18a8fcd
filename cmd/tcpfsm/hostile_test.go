package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostileDir holds the hostile-capture suite, written by
// "go run ./cmd/tcpgen -hostile testdata/hostile" (testdata/hostile/README.md).
const hostileDir = "../../testdata/hostile"

// TestHostileCaptures runs tcpfsm over every file of the hostile suite and
// checks, for each, the exact messages, the exit status, and the
// connections still reported. Each file is built around one to three
// whole connections (8 packets each, all completing their handshakes):
// what was readable must all be there.
func TestHostileCaptures(t *testing.T) {
	tests := []struct {
		file       string
		code       int
		stderr     string // every line, prefixed "tcpfsm: " here
		handshakes string // the summary's, as JSON; "" when there is no report
		extra      string // other summary counters that must be set, as k=v
	}{
		{"bad-magic.pcap", exitUsage, "bad-magic.pcap: not a pcap or pcapng file (magic 0x3c68746d)", "", ""},
		{"global-header-cut.pcap", exitUsage, "global-header-cut.pcap: capture truncated in the file header (need 24 bytes, 10 present)", "", ""},
		{"record-header-cut.pcap", exitOK, "warning: record-header-cut.pcap: packet 12: capture truncated mid-record header (need 16 bytes, 7 present)",
			`{"complete":2}`, "incomplete=true"},
		{"record-cut.pcap", exitOK, "warning: record-cut.pcap: packet 12: capture truncated mid-record (record header says 154 bytes, 30 present)",
			`{"complete":2}`, "incomplete=true"},
		// libpcap reads records longer than the file's snapshot length
		// (a writer that changed its mind); so does tcpfsm, silently.
		{"record-over-snaplen.pcap", exitOK, "", `{"complete":2}`, ""},
		{"record-over-256k.pcap", exitOK, "warning: record-over-256k.pcap: packet 11: corrupt capture: record of 300000 bytes, more than 262144 (libpcap's limit)",
			`{"complete":1,"synack_unanswered":1}`, "incomplete=true"},
		{"pcapng-unknown-blocks.pcapng", exitOK, "", `{"complete":3}`, ""},
		{"ipv4-options.pcap", exitOK, "", `{"complete":1}`, ""},
		{"ipv4-bad-ihl.pcap", exitOK, "warning: ipv4-bad-ihl.pcap: packet 9: malformed IPv4 header: IHL 4 (< 5)\n" +
			"warning: ipv4-bad-ihl.pcap: packet 10: malformed IPv4 header: IHL 15 (60 bytes) past the end of the packet (40 bytes)",
			`{"complete":1}`, "malformed=2"},
		{"ipv6-ext-headers.pcap", exitOK, "", `{"complete":1}`, ""},
		// Fragments are reassembled: the connections in IPv4 fragments
		// (the second of each first) and IPv6 fragments are whole, and
		// the retransmission in overlapping fragments is dropped, as the
		// receiving host drops it.
		{"fragments.pcap", exitOK, "", `{"complete":3}`, "fragments=12 reassembled_datagrams=10 dropped_datagrams=1"},
		{"tcp-bad-offset.pcap", exitOK, "warning: tcp-bad-offset.pcap: packet 9: malformed TCP header: data offset 4 (< 5)\n" +
			"warning: tcp-bad-offset.pcap: packet 10: malformed TCP header: data offset 15 (60 bytes) past the end of the segment (20 bytes)",
			`{"complete":1}`, "malformed=2"},
		// Options are read up to the first that lies about its length;
		// the segment itself is sound.
		{"tcp-bad-options.pcap", exitOK, "", `{"complete":1}`, ""},
		{"timestamps-extreme.pcap", exitOK, "", `{"complete":2}`, ""},
		{"time-backwards.pcap", exitOK, "warning: time-backwards.pcap: packet 4: timestamp goes backwards by 9.999s", `{"complete":1}`, ""},
		{"zero-length-records.pcap", exitOK, "warning: zero-length-records.pcap: packet 3: malformed pcap record: no bytes captured",
			`{"complete":1}`, "malformed=1"},
	}
	t.Chdir(hostileDir)
	all, err := filepath.Glob("*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tc := range tests {
		listed = append(listed, tc.file)
		t.Run(tc.file, func(t *testing.T) {
			code, out, errOut := runCmd("-r", tc.file, "--format", "json")
			want := ""
			if tc.stderr != "" {
				want = "tcpfsm: " + strings.ReplaceAll(tc.stderr, "\n", "\ntcpfsm: ") + "\n"
			}
			if code != tc.code || errOut != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", code, errOut, tc.code, want)
			}
			if tc.handshakes == "" {
				if out != "" {
					t.Errorf("a report for an unreadable file:\n%s", out)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var sum map[string]json.RawMessage
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
				t.Fatalf("no summary: %v", err)
			}
			if got := string(sum["handshakes"]); got != tc.handshakes {
				t.Errorf("handshakes %s, want %s", got, tc.handshakes)
			}
			for _, kv := range strings.Fields(tc.extra) {
				k, v, _ := strings.Cut(kv, "=")
				if got := string(sum[k]); got != v {
					t.Errorf("%s = %s, want %s", k, got, v)
				}
			}
			// Every connection is in the report before the summary.
			if n := fmt.Sprint(len(lines) - 1); string(sum["connections"]) != n {
				t.Errorf("%s connections in the summary, %s reported", sum["connections"], n)
			}
		})
	}
	slices.Sort(all)
	slices.Sort(listed)
	if !slices.Equal(all, listed) {
		t.Errorf("files in %s: %v; the table has %v", hostileDir, all, listed)
	}
}
