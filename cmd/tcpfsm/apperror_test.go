package main

import (
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/report"
)

func TestParseAppError(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"ECONNRESET", "ECONNRESET", ""},
		{"econnreset", "ECONNRESET", ""},
		{"104", "ECONNRESET", ""},
		{"111", "ECONNREFUSED", ""},
		{" 110 ", "ETIMEDOUT", ""},
		{"32", "EPIPE", ""},
		{"113", "EHOSTUNREACH", ""},
		{"enetunreach", "ENETUNREACH", ""},
		{"EAGAIN", "", `--app-error "EAGAIN": want one of EACCES (13), ECONNREFUSED (111), ECONNRESET (104), EHOSTDOWN (112), EHOSTUNREACH (113), EINPROGRESS (115), ENETUNREACH (101), ENONET (64), ENOPROTOOPT (92), EOPNOTSUPP (95), EPIPE (32), EPROTO (71), ETIMEDOUT (110), by name or number`},
		{"42", "", "want one of"},
	} {
		got, err := report.ParseAppError(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAppError(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestAppErrorLookup: --app-error lists only the connections where a side
// saw the error, grouped by server with the diagnoses that can cause it,
// while the summary still counts every connection, in text and JSON.
func TestAppErrorLookup(t *testing.T) {
	const dir = "../../testdata/kernel/"
	for _, tt := range []struct {
		capture, app string
		ids          []float64 // the connections listed
		server       string
		calls        string
		diagnoses    []any
	}{
		// The accept queue was full and tcp_abort_on_overflow=1: the
		// client that believed it was connected got ECONNRESET.
		{"accept-overflow-abort.pcap", "104", []float64{3}, "10.0.0.2:8080", "client recv", []any{"accept_queue_overflow"}},
		// The server closed with unread data: a RST, and no diagnosis.
		{"close-unread-rst.pcap", "ECONNRESET", []float64{1}, "10.0.0.2:8080", "client recv", []any{}},
		{"connection-refused.pcap", "econnrefused", []float64{1}, "10.0.0.2:8081", "client connect", []any{}},
		{"normal-client-close.pcap", "ECONNRESET", nil, "", "", nil},
	} {
		t.Run(tt.capture+"/"+tt.app, func(t *testing.T) {
			r := tcpfsm(t, nil, "-r", dir+tt.capture, "--app-error", tt.app, "--format", "json")
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			all := tcpfsm(t, nil, "-r", dir+tt.capture, "--format", "json")
			objs := jsonLines(t, r.stdout)
			var ids []float64
			var sum map[string]any
			for _, o := range objs {
				switch o["type"] {
				case "conn":
					ids = append(ids, o["id"].(float64))
				case "summary":
					sum = o
				}
			}
			if len(ids) != len(tt.ids) || len(ids) > 0 && ids[0] != tt.ids[0] {
				t.Errorf("connections listed %v, want %v", ids, tt.ids)
			}
			allObjs := jsonLines(t, all.stdout)
			if want := allObjs[len(allObjs)-1]["connections"]; sum["connections"] != want {
				t.Errorf("summary counts %v connections, want every one: %v", sum["connections"], want)
			}
			ae := sum["app_error"].(map[string]any)
			if int(ae["connections"].(float64)) != len(tt.ids) {
				t.Errorf("app_error %v", ae)
			}
			servers := ae["servers"].([]any)
			if tt.server == "" {
				if len(servers) != 0 {
					t.Errorf("servers %v, want none", servers)
				}
				return
			}
			g := servers[0].(map[string]any)
			if g["server"] != tt.server || g["calls"].(map[string]any)[tt.calls] == nil || len(g["diagnoses"].([]any)) != len(tt.diagnoses) ||
				len(tt.diagnoses) > 0 && g["diagnoses"].([]any)[0] != tt.diagnoses[0] {
				t.Errorf("group %v, want server %s, calls %s, diagnoses %v", g, tt.server, tt.calls, tt.diagnoses)
			}
			text := tcpfsm(t, nil, "-r", dir+tt.capture, "--app-error", tt.app, "--color", "never")
			if !strings.Contains(text.stdout, "Application error ") || strings.Count(text.stdout, "\n#") != len(tt.ids) {
				t.Errorf("text report:\n%s", text.stdout)
			}
		})
	}
	if r := tcpfsm(t, nil, "-r", dir+"close-unread-rst.pcap", "--app-error", "EAGAIN"); r.code != exitUsage || !strings.Contains(r.stderr, "want one of") {
		t.Errorf("an unknown error: exit %d, %q", r.code, r.stderr)
	}
	if r := tcpfsm(t, nil, "-r", dir+"close-unread-rst.pcap", "--app-error", "104", "--format", "zeek"); r.code != exitUsage || !strings.Contains(r.stderr, "not zeek") {
		t.Errorf("zeek: exit %d, %q", r.code, r.stderr)
	}
}
