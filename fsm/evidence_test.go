package fsm

import (
	"slices"
	"testing"
)

func TestEvidence(t *testing.T) {
	ms := func(v int64) int64 { return 1_700_000_000e9 + v*1e6 }
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, r Result)
	}{
		{"SYN backoff times", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromClient, flags: SYN, at: 1000},
			{dir: FromClient, flags: SYN, at: 3000},
			{dir: FromClient, flags: SYN, at: 7000},
		}, func(t *testing.T, r Result) {
			want := []int64{ms(0), ms(1000), ms(3000), ms(7000)}
			if !slices.Equal(r.Client.SYNTimes, want) {
				t.Errorf("SYN times %v, want %v", r.Client.SYNTimes, want)
			}
			if r.Client.Unanswered != 3 || !r.Client.UnansweredBackoff {
				t.Errorf("unanswered %d backoff %v, want 3 true", r.Client.Unanswered, r.Client.UnansweredBackoff)
			}
		}},
		{"CLOSE_WAIT since the client's FIN was acknowledged", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, at: 100},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 2, at: 110},
		), func(t *testing.T, r Result) {
			if r.Server.CloseWaitAt != ms(110) || r.Client.CloseWaitAt != 0 {
				t.Errorf("CloseWaitAt server %d client %d", r.Server.CloseWaitAt, r.Client.CloseWaitAt)
			}
		}},
		{"zero window held 2 s, with probes", with(handshake,
			step{dir: FromServer, flags: ACK, seq: 1, ack: 1, win: 1, at: 100},
			step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 300},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 1, win: 1, at: 301},
			step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 700},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 1, win: 9000, at: 2100},
		), func(t *testing.T, r Result) {
			if r.Server.ZeroWindowLongest != 2000e6 || r.Client.WindowProbes != 2 {
				t.Errorf("longest %d probes %d", r.Server.ZeroWindowLongest, r.Client.WindowProbes)
			}
		}},
		{"keepalives, the last two unanswered, then a RST", with(handshake,
			step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 1000},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 1, at: 1001},
			step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 2000},
			step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 3000},
			step{dir: FromClient, flags: RST, seq: 1, at: 4000},
		), func(t *testing.T, r Result) {
			c := r.Client
			if c.Keepalives != 3 || c.KeepalivesUnanswered != 2 || c.KeepaliveFirst != ms(1000) || c.KeepaliveLast != ms(3000) {
				t.Errorf("keepalives %d unanswered %d first %d last %d", c.Keepalives, c.KeepalivesUnanswered, c.KeepaliveFirst, c.KeepaliveLast)
			}
			if c.Unanswered != 2 || c.UnansweredFirst != ms(2000) {
				t.Errorf("unanswered tail %d from %d", c.Unanswered, c.UnansweredFirst)
			}
		}},
		{"an answer ends the unanswered tail", with(handshake,
			step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 10, at: 100},
			step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 10, at: 300},
			step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 10, at: 700},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 11, at: 710},
		), func(t *testing.T, r Result) {
			if r.Client.Unanswered != 0 || r.Client.Retransmits != 2 {
				t.Errorf("unanswered %d retransmits %d", r.Client.Unanswered, r.Client.Retransmits)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps)
			tt.check(t, c.Result(c.Last()))
		})
	}
}

// TestSynCookieShape: a SYN offering window scaling and SACK without
// timestamps, answered by a SYN/ACK with neither.
func TestSynCookieShape(t *testing.T) {
	syn := Segment{Dir: FromClient, Flags: SYN, Seq: 1, MSS: 1460, WindowScale: 7, SACKOK: true}
	cookie := Segment{Dir: FromServer, Flags: SYNACK, Seq: 9, Ack: 2, MSS: 1460, WindowScale: -1}
	normal := cookie
	normal.WindowScale, normal.SACKOK = 7, true
	for _, tt := range []struct {
		synack Segment
		want   bool
	}{{cookie, true}, {normal, false}} {
		c := NewConn(&syn)
		c.Step(&syn)
		c.Step(&tt.synack)
		if got := c.Result(0).SynAckOptionsReduced; got != tt.want {
			t.Errorf("SYN/ACK %+v: reduced %v, want %v", tt.synack, got, tt.want)
		}
	}
}
