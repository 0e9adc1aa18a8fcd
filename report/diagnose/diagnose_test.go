package diagnose

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

const sec = int64(time.Second)

var listener = netip.MustParseAddrPort("10.0.0.2:8080")

// conn builds a record from 10.0.1.<n>:40000 to the listener, complete and
// open unless edit changes it.
func conn(id uint64, n int, edit func(r *flow.Record)) *flow.Record {
	r := &flow.Record{
		ID:         id,
		ClientAddr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(n)}), 40000),
		ServerAddr: listener,
		End:        100 * sec,
		Result: fsm.Result{
			First: 1 * sec, Last: 2 * sec,
			Handshake: fsm.HandshakeComplete, Close: fsm.CloseOpen,
			Client: fsm.Side{State: fsm.Established}, Server: fsm.Side{State: fsm.Established},
		},
	}
	if edit != nil {
		edit(r)
	}
	return r
}

// names runs records through a Collector and returns "name@endpoint" for
// each diagnosis, in order.
func names(th Thresholds, recs ...*flow.Record) []string {
	c := New(th)
	for _, r := range recs {
		c.Add(r)
	}
	var out []string
	for _, d := range c.Diagnoses() {
		out = append(out, d.Name+"@"+d.Endpoint)
	}
	return out
}

func many(n int, edit func(r *flow.Record)) []*flow.Record {
	var recs []*flow.Record
	for i := range n {
		recs = append(recs, conn(uint64(i+1), i%250+1, edit))
	}
	return recs
}

func TestDiagnoses(t *testing.T) {
	th := DefaultThresholds()
	synackAfterAck := func(count int) fsm.Anomaly { return fsm.Anomaly{Name: fsm.AnomalySynAckAfterAck, Count: count} }
	tests := []struct {
		name string
		recs []*flow.Record
		want []string
	}{
		{"ordinary connections: nothing", many(300, func(r *flow.Record) {
			r.Close = fsm.CloseFIN
			r.Client.FINAt, r.Server.FINAt = 3*sec, 3*sec+1e6
			r.Client.State, r.Server.State = fsm.TimeWait, fsm.Closed
		}), nil},
		{"one lost final ACK is not an overflow", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Anomalies = []fsm.Anomaly{synackAfterAck(1)}
		})}, nil},
		{"SYN/ACK resent twice after the ACK", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Anomalies = []fsm.Anomaly{synackAfterAck(2)}
			r.Server.State = fsm.SynRcvd
		})}, []string{"accept_queue_overflow@10.0.0.2:8080"}},
		{"RST from SYN_RCVD after the handshake", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Reset, r.ResetBy, r.ResetFrom, r.Close = true, fsm.FromServer, fsm.SynRcvd, fsm.CloseRSTServer
		})}, []string{"accept_queue_overflow@10.0.0.2:8080"}},
		{"RST from an ESTABLISHED server is an application's abort", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Reset, r.ResetBy, r.ResetFrom, r.Close = true, fsm.FromServer, fsm.Established, fsm.CloseRSTServer
		})}, nil},
		{"SYN flood with cookies", many(60, func(r *flow.Record) {
			r.Handshake, r.SynAckOptionsReduced = fsm.HandshakeSynAckUnanswered, true
			r.Server.State, r.Client.State = fsm.SynRcvd, fsm.SynSent
		}), []string{"syn_flood@10.0.0.2:8080"}},
		{"SYN flood whose SYN/ACKs met ICMP errors", many(60, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeSynAckUnanswered
			r.Server.State, r.Client.State = fsm.Listen, fsm.SynSent
			r.HalfOpenDropped, r.HalfOpenDrop = 1, fsm.ICMPError{Time: 2 * sec, Dir: fsm.FromServer, Type: 3, Code: 1, From: netip.MustParseAddr("192.0.2.1")}
		}), []string{"syn_flood@10.0.0.2:8080"}},
		{"half-open connections from too few sources are not a flood", many(60, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeSynAckUnanswered
			r.ClientAddr = netip.MustParseAddrPort("10.0.1.1:40000")
		}), nil},
		{"CLOSE_WAIT past the threshold", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Server.State, r.Server.CloseWaitAt = fsm.CloseWait, r.End-6*sec
		}), conn(2, 2, func(r *flow.Record) {
			r.Server.State, r.Server.CloseWaitAt = fsm.CloseWait, r.End-1*sec // too recent
		})}, []string{"close_wait_leak@10.0.0.2:8080"}},
		{"a host closing many connections", many(150, func(r *flow.Record) {
			r.ClientAddr = netip.AddrPortFrom(netip.MustParseAddr("10.0.1.9"), uint16(40000+r.ID))
			r.Client.FINAt, r.Server.FINAt = 3*sec, 3*sec+1e6
			r.Client.State, r.Server.State = fsm.TimeWait, fsm.Closed
		}), []string{"time_wait_pileup@10.0.1.9"}},
		{"a peer that stopped answering", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Client.Unanswered, r.Client.UnansweredBackoff = 4, true
			r.Client.UnansweredFirst, r.Client.UnansweredLast = 3*sec, 10*sec
		})}, []string{"half_open_peer@10.0.0.2:8080"}},
		{"retransmissions without backoff are not enough", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Client.Unanswered = 4
		})}, nil},
		{"SYNs retried, never answered", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Handshake, r.SynRetransmits = fsm.HandshakeUnanswered, 3
			r.Client.SYNTimes = []int64{0, 1 * sec, 3 * sec, 7 * sec}
		})}, []string{"syn_unanswered@10.0.0.2:8080"}},
		{"one unanswered SYN at the end of a capture is nothing", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeUnanswered
		})}, nil},
		{"a port scan", many(30, func(r *flow.Record) {
			r.ClientAddr = netip.MustParseAddrPort("10.0.1.66:50000")
			r.ServerAddr = netip.AddrPortFrom(listener.Addr(), uint16(r.ID))
			r.Handshake = fsm.HandshakeRefused
		}), []string{"port_scan@10.0.1.66"}},
		{"a port scan a firewall rejected with ICMP errors", many(30, func(r *flow.Record) {
			r.ClientAddr = netip.MustParseAddrPort("10.0.1.66:50000")
			r.ServerAddr = netip.AddrPortFrom(listener.Addr(), uint16(r.ID))
			r.Handshake = fsm.HandshakeUnreachable
		}), []string{"port_scan@10.0.1.66"}},
		{"SYNs retried, then an ICMP error: answered, not syn_unanswered", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Handshake, r.SynRetransmits = fsm.HandshakeUnreachable, 3
			r.Client.SYNTimes = []int64{0, 1 * sec, 3 * sec, 7 * sec}
		})}, nil},
		{"attempts ended by ICMP errors from many sources are no SYN flood", many(60, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeUnreachable
			r.Client.State, r.Server.State = fsm.Closed, fsm.Listen
		}), nil},
		{"a zero window held too long", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Server.ZeroWindowLongest, r.Client.WindowProbes = 3*sec, 4
		})}, []string{"zero_window_stall@10.0.0.2:8080"}},
		{"keepalives", []*flow.Record{conn(1, 1, func(r *flow.Record) {
			r.Client.Keepalives, r.Client.KeepaliveFirst, r.Client.KeepaliveLast = 3, 10*sec, 12*sec
		})}, []string{"keepalive@10.0.0.2:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(th, tt.recs...); !slices.Equal(got, tt.want) {
				t.Errorf("diagnoses %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDiagnosisDetails(t *testing.T) {
	c := New(DefaultThresholds())
	for i := range 8 {
		c.Add(conn(uint64(i+1), i+1, func(r *flow.Record) {
			r.Reset, r.ResetBy, r.ResetFrom = true, fsm.FromServer, fsm.SynRcvd
			r.First, r.Last = int64(i+1)*sec, int64(i+1)*sec+5e6
		}))
	}
	c.Add(conn(9, 9, func(r *flow.Record) {
		r.Client.Keepalives, r.Client.KeepaliveFirst, r.Client.KeepaliveLast = 5, 10*sec, 14*sec
		r.Client.KeepalivesUnanswered = 2
	}))
	ds := c.Diagnoses()
	if len(ds) != 2 {
		t.Fatalf("%d diagnoses: %+v", len(ds), ds)
	}
	d := ds[0]
	if d.Name != AcceptQueueOverflow || d.Severity != Critical || d.Connections != 8 ||
		d.First != 1*sec || d.Last != 8*sec+5e6 || !slices.Equal(d.Examples, []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("overflow: %+v", d)
	}
	for _, want := range []string{"8 connections were answered with a RST", "tcp_abort_on_overflow=1"} {
		if !strings.Contains(d.Explanation, want) {
			t.Errorf("explanation lacks %q: %s", want, d.Explanation)
		}
	}
	for _, want := range []string{"somaxconn", "ss -lnt", "netstat -s | grep -i listen"} {
		if !strings.Contains(d.Advice, want) {
			t.Errorf("advice lacks %q: %s", want, d.Advice)
		}
	}
	k := ds[1]
	if k.Name != Keepalive || k.Severity != Warning || !strings.Contains(k.Explanation, "every 1s") || !strings.Contains(k.Explanation, "2 went unanswered") {
		t.Errorf("keepalive: %+v", k)
	}
}

// TestPortScanCounts: the explanation of a port scan counts each way its
// probes failed, the ICMP errors only where there were some.
func TestPortScanCounts(t *testing.T) {
	scan := func(handshakes ...string) []*flow.Record {
		return many(len(handshakes), func(r *flow.Record) {
			r.ClientAddr = netip.MustParseAddrPort("10.0.1.66:50000")
			r.ServerAddr = netip.AddrPortFrom(listener.Addr(), uint16(r.ID))
			r.Handshake = handshakes[r.ID-1]
		})
	}
	refused, unreachable, unanswered := fsm.HandshakeRefused, fsm.HandshakeUnreachable, fsm.HandshakeUnanswered
	tests := []struct {
		name string
		recs []*flow.Record
		want string
	}{
		{"refused and unanswered", scan(slices.Repeat([]string{refused, unanswered}, 10)...),
			": 10 refused, 10 unanswered, 0 answered and then aborted"},
		{"with ICMP errors", scan(slices.Concat(slices.Repeat([]string{refused}, 12), slices.Repeat([]string{unreachable}, 7), []string{unanswered})...),
			": 12 refused, 7 answered by an ICMP error, 1 unanswered, 0 answered and then aborted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(DefaultThresholds())
			for _, r := range tt.recs {
				c.Add(r)
			}
			ds := c.Diagnoses()
			if len(ds) != 1 || ds[0].Name != PortScan {
				t.Fatalf("diagnoses %+v, want one port_scan", ds)
			}
			if !strings.Contains(ds[0].Explanation, tt.want) {
				t.Errorf("explanation %q lacks %q", ds[0].Explanation, tt.want)
			}
		})
	}
}

// TestBounded feeds a flood of distinct listeners: the collector stops
// adding aggregates at its bound instead of growing without limit.
func TestBounded(t *testing.T) {
	c := New(DefaultThresholds())
	for i := range maxKeys + 100 {
		c.Add(conn(uint64(i), 1, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeUnanswered
			r.ServerAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), uint16(i>>16+1))
		}))
	}
	for i, n := range []int{len(detectorOf[*synFlood](c).ev.at), len(detectorOf[*portScan](c).ev.at), len(detectorOf[*synUnanswered](c).ev.at)} {
		if n > maxKeys {
			t.Errorf("detector %d: %d endpoints, want at most %d", i, n, maxKeys)
		}
	}
	if c.dropped == 0 {
		t.Error("none dropped")
	}
	// One source trying all of them is a port scan, and the only finding.
	if ds := c.Diagnoses(); len(ds) != 1 || ds[0].Name != PortScan || ds[0].Endpoint != "10.0.1.1" {
		t.Errorf("diagnoses %+v, want one port_scan from 10.0.1.1", ds)
	}
}

// TestServerTimeWaitIsNotAPileup: a server closing first holds TIME_WAIT on
// its listening port's 4-tuples, which exhausts no ports.
func TestServerTimeWaitIsNotAPileup(t *testing.T) {
	recs := many(150, func(r *flow.Record) {
		r.Server.FINAt, r.Client.FINAt = 3*sec, 3*sec+1e6
		r.Server.State, r.Client.State = fsm.TimeWait, fsm.Closed
	})
	if got := names(DefaultThresholds(), recs...); len(got) != 0 {
		t.Errorf("diagnoses %q, want none", got)
	}
}

func TestBackoffReadings(t *testing.T) {
	for _, tt := range []struct {
		times     []int64
		what      string
		want, not string
	}{
		{[]int64{0, 1, 3, 7}, "SYN", "after 1s, 2s, 4s: exponential backoff, as Linux resends a SYN, so tcp_syn_retries allowed at least 3 retries.", ""},
		{[]int64{0, 1, 2, 3}, "SYN", "after 1s, 1s, 1s: a constant interval, as Linux keeps for the first tcp_syn_linear_timeouts retries of a SYN, so tcp_syn_retries allowed at least 3 retries.", "exponential"},
		{[]int64{0, 1, 2, 3, 5, 9}, "SYN", "after 1s, 1s, 1s, 2s, 4s: the first 3 at a constant interval (tcp_syn_linear_timeouts), then exponential backoff, so tcp_syn_retries allowed at least 5 retries.", ""},
		{[]int64{0, 1, 2, 3}, "SYN/ACK", "after 1s, 1s, 1s.", "linear"},
		{[]int64{0, 1, 4, 5}, "SYN", "after 1s, 3s, 1s.", "backoff"},
		{[]int64{0, 1}, "SYN", "after 1s.", "backoff"},
	} {
		times := make([]int64, len(tt.times))
		for i, s := range tt.times {
			times[i] = s * sec
		}
		knob := "tcp_syn_retries"
		if tt.what != "SYN" {
			knob = "tcp_synack_retries"
		}
		got := backoff(times, tt.what, knob)
		if !strings.HasSuffix(got, tt.want) || tt.not != "" && strings.Contains(got, tt.not) {
			t.Errorf("%v %s: %q, want it to end %q without %q", tt.times, tt.what, got, tt.want, tt.not)
		}
	}
}

// TestSilentAcceptQueueOverflow: SYNs retried with no answer while the same
// listener held connections it had answered are the silent form of an
// accept-queue overflow; with nothing else of the listener seen, only
// syn_unanswered, saying what fits.
func TestSilentAcceptQueueOverflow(t *testing.T) {
	held := many(2, nil) // complete, still open at the end (100 s)
	dropped := conn(10, 20, func(r *flow.Record) {
		r.First, r.Last = 5*sec, 12*sec
		r.Handshake, r.SynRetransmits = fsm.HandshakeUnanswered, 3
		r.Client.State, r.Server.State = fsm.SynSent, fsm.Listen
	})
	for i := range held {
		held[i].Server.SYNACKs = 1
	}
	c := New(DefaultThresholds())
	for _, r := range append(held, dropped) {
		c.Add(r)
	}
	ds := c.Diagnoses()
	if len(ds) != 2 || ds[0].Name != AcceptQueueOverflow || ds[0].Connections != 1 || ds[0].Examples[0] != 10 || ds[1].Name != SynUnanswered {
		t.Fatalf("diagnoses %+v, want accept_queue_overflow on the dropped attempt, then syn_unanswered", ds)
	}
	if !strings.Contains(ds[0].Explanation, "answered 2 others and still held them") || !strings.Contains(ds[1].Explanation, "see accept_queue_overflow") {
		t.Errorf("explanations: %q / %q", ds[0].Explanation, ds[1].Explanation)
	}

	// The listener's connections were over before the SYNs came: no queue.
	for i := range held {
		held[i].Server.State, held[i].Client.State = fsm.Closed, fsm.TimeWait
	}
	if got := names(DefaultThresholds(), append(held, dropped)...); len(got) != 1 || !strings.HasPrefix(got[0], SynUnanswered) {
		t.Errorf("listener closed before the SYNs: %v, want only syn_unanswered", got)
	}

	// Nothing else of the listener: say what fits.
	c = New(DefaultThresholds())
	c.Add(dropped)
	if ds := c.Diagnoses(); len(ds) != 1 || !strings.Contains(ds[0].Explanation, "a filter dropping the SYNs and a full accept queue all fit") {
		t.Errorf("alone: %+v", ds)
	}
}

func TestBackoffReading(t *testing.T) {
	if got := backoff([]int64{0, 1 * sec, 3 * sec, 7 * sec}, "SYN", "tcp_syn_retries"); !strings.Contains(got, "after 1s, 2s, 4s: exponential backoff") || !strings.Contains(got, "at least 3 retries") {
		t.Errorf("doubling: %q", got)
	}
	if got := backoff([]int64{0, 1 * sec, 2 * sec, 3 * sec}, "SYN", "tcp_syn_retries"); strings.Contains(got, "exponential") {
		t.Errorf("linear 1 s retries read as exponential: %q", got)
	}
}

// TestCloneIsIndependent: evidence added to a clone (connections still
// open, judged provisionally) does not reach the original.
func TestCloneIsIndependent(t *testing.T) {
	c := New(DefaultThresholds())
	flood := many(60, func(r *flow.Record) { r.Handshake = fsm.HandshakeSynAckUnanswered })
	for _, r := range flood[:30] {
		c.Add(r)
	}
	cl := c.Clone()
	for _, r := range flood[30:] {
		cl.Add(r)
	}
	if ds := c.Diagnoses(); len(ds) != 0 {
		t.Errorf("original after clone: %+v, want nothing (30 half-open, below 50)", ds)
	}
	if ds := cl.Diagnoses(); len(ds) != 1 || ds[0].Name != SynFlood || ds[0].Connections != 60 {
		t.Errorf("clone: %+v, want one syn_flood over 60 connections", ds)
	}
	if g := detectorOf[*synFlood](c).ev.at[flood[0].ServerAddr]; g.n != 30 || g.sources.len() != 30 {
		t.Errorf("original aggregate changed: n %d, %d sources", g.n, g.sources.len())
	}
}

func TestSet(t *testing.T) {
	var s set[int]
	for _, v := range []int{1, 2, 1, 2} {
		s.add(v)
	}
	if s.len() != 2 || s.many != nil {
		t.Errorf("two members: len %d, map %v", s.len(), s.many)
	}
	for v := range maxSources + 10 {
		s.add(v)
	}
	if s.len() != maxSources || !s.full {
		t.Errorf("after %d members: len %d, full %v; want %d, true", maxSources+10, s.len(), s.full, maxSources)
	}
	c := s.clone()
	c.add(-1)
	delete(c.many, 0)
	if _, ok := s.many[0]; !ok || s.len() != maxSources {
		t.Error("clone shares its map")
	}
}

// TestTimeWaitAtTheEnd: connections are reported while their TIME_WAIT
// runs (5 s after their last packet); the pile-up counts those whose
// TIME_WAIT still ran at the end of the capture, the latest record's End,
// and the most that ran at once (one close a second: 60).
func TestTimeWaitAtTheEnd(t *testing.T) {
	// 150 active closes, one a second from 0 s, each reported 5 s later.
	var recs []*flow.Record
	for i := range 150 {
		at := int64(i) * sec
		recs = append(recs, conn(uint64(i+1), 1, func(r *flow.Record) {
			r.ClientAddr = netip.AddrPortFrom(netip.MustParseAddr("10.0.1.9"), uint16(40000+i))
			r.First, r.Last, r.End = at, at+2e6, at+2e6+5*sec
			r.Client.FINAt, r.Server.FINAt = at+1e6, at+15e5
			r.Client.State, r.Client.TimeWaitAt, r.Server.State = fsm.TimeWait, at+2e6, fsm.Closed
			r.Close = fsm.CloseFIN
		}))
	}
	th := DefaultThresholds()
	th.TimeWaits = 50
	for _, tt := range []struct {
		end  int64 // the End of the capture's last record
		want string
	}{
		{155*sec + 2e6, "up to 60 at once, and 55 at the end"}, // those closed at 95 s and after
		{300 * sec, "up to 60 at once, and 0 at the end"},
	} {
		c := New(th)
		for _, r := range recs {
			c.Add(r)
		}
		c.Add(conn(999, 2, func(r *flow.Record) { r.End = tt.end }))
		ds := c.Diagnoses()
		if len(ds) != 1 || ds[0].Name != TimeWaitPileup || !strings.Contains(ds[0].Explanation, tt.want) {
			t.Errorf("capture ending at %d s: %+v, want time_wait_pileup saying %q", tt.end/sec, ds, tt.want)
		}
	}
}

// TestTimeWaitsAtOnce: time_wait_pileup counts the TIME_WAITs a host
// holds at once, not its closes over a long capture, and a 5-tuple reused
// ends its predecessor's TIME_WAIT.
func TestTimeWaitsAtOnce(t *testing.T) {
	client := netip.MustParseAddr("10.0.1.9")
	closes := func(n int, every int64, ports int, reusers ...func(*flow.Record)) []*flow.Record {
		var recs []*flow.Record
		for i := range n {
			at := int64(i) * every
			recs = append(recs, conn(uint64(i+1), 1, func(r *flow.Record) {
				r.ClientAddr = netip.AddrPortFrom(client, uint16(40000+i%ports))
				r.First, r.Last, r.End = at, at+2e6, at+2e6+5*sec
				r.Client.FINAt, r.Server.FINAt = at+1e6, at+15e5
				r.Client.State, r.Client.TimeWaitAt, r.Server.State = fsm.TimeWait, at+2e6, fsm.Closed
				r.Close = fsm.CloseFIN
				if i >= ports {
					r.Labels = []string{fsm.LabelPortReuse}
					for _, f := range reusers {
						f(r)
					}
				}
			}))
		}
		return recs
	}
	tests := []struct {
		name string
		recs []*flow.Record
		want string // "" for no diagnosis
	}{
		{"200 closes, one every 10 s: 6 at once", closes(200, 10*sec, 200), ""},
		{"200 closes in 2 s", closes(200, sec/100, 200), "up to 200 at once, and 200 at the end"},
		{"200 closes in 2 s on 100 ports reused", closes(200, sec/100, 100), "up to 100 at once, and 100 at the end"},
		{"200 closes in 2 s on 50 ports reused", closes(200, sec/100, 50), ""},
		// The reuse ends the TIME_WAIT before it whatever the new
		// connection does: here the server refuses it.
		{"100 closes, then 100 refused on the same ports", closes(200, sec/100, 100, func(r *flow.Record) {
			r.Handshake, r.Close, r.Reset, r.ResetBy = fsm.HandshakeRefused, fsm.CloseRSTServer, true, fsm.FromServer
			r.Client.FINAt, r.Server.FINAt, r.Client.State, r.Client.TimeWaitAt = 0, 0, fsm.Closed, 0
		}), "up to 100 at once, and 0 at the end"},
	}
	for _, tc := range tests {
		c := New(DefaultThresholds())
		for _, r := range tc.recs {
			c.Add(r)
		}
		ds := c.Diagnoses()
		switch {
		case tc.want == "" && len(ds) != 0:
			t.Errorf("%s: %+v, want no diagnosis", tc.name, ds)
		case tc.want != "" && (len(ds) != 1 || !strings.Contains(ds[0].Explanation, tc.want)):
			t.Errorf("%s: %+v, want time_wait_pileup saying %q", tc.name, ds, tc.want)
		}
	}
}

// TestBudgetsPerDiagnosis: hosts that each close a connection first, more
// of them than a diagnosis keeps, do not crowd out a SYN flood reported
// after them.
func TestBudgetsPerDiagnosis(t *testing.T) {
	c := New(DefaultThresholds())
	for i := range maxKeys + 100 {
		c.Add(conn(uint64(i+1), 1, func(r *flow.Record) {
			r.ClientAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 8, byte(i >> 8), byte(i)}), 40000)
			r.Client.FINAt, r.Server.FINAt = 3*sec, 3*sec+1e6
			r.Client.State, r.Server.State = fsm.TimeWait, fsm.Closed
			r.Close = fsm.CloseFIN
		}))
	}
	for i := range 200 {
		c.Add(conn(uint64(100_000+i), 1, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeSynAckUnanswered
			r.ClientAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 40000)
		}))
	}
	var found bool
	for _, d := range c.Diagnoses() {
		found = found || d.Name == SynFlood && d.Endpoint == listener.String()
	}
	if !found {
		t.Errorf("no syn_flood on %s after %d hosts closing actively", listener, maxKeys+100)
	}
}

// TestSynFloodICMPDrops: a SYN flood whose SYN/ACKs met ICMP errors, on
// which Linux dropped the half-open connections, says how many and the
// latest error; one without says nothing of ICMP.
func TestSynFloodICMPDrops(t *testing.T) {
	flood := func(dropped int) string {
		c := New(DefaultThresholds())
		for _, r := range many(60, func(r *flow.Record) {
			r.Handshake = fsm.HandshakeSynAckUnanswered
			r.HalfOpenDropped = dropped
			if dropped > 0 {
				r.HalfOpenDrop = fsm.ICMPError{Time: 2 * sec, Dir: fsm.FromServer, Type: 3, Code: 1, From: netip.MustParseAddr("192.0.2.1")}
			}
		}) {
			c.Add(r)
		}
		ds := c.Diagnoses()
		if len(ds) != 1 || ds[0].Name != SynFlood {
			t.Fatalf("diagnoses %+v, want one syn_flood", ds)
		}
		return ds[0].Explanation
	}
	if got, want := flood(2), "the server dropped 120 half-open connections on them (the latest an ICMP host unreachable (type 3, code 1) from 192.0.2.1)"; !strings.Contains(got, want) {
		t.Errorf("explanation %q lacks %q", got, want)
	}
	if got := flood(0); strings.Contains(got, "ICMP") {
		t.Errorf("explanation %q speaks of ICMP errors that never came", got)
	}
}
