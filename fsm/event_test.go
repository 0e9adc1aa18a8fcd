package fsm

import "testing"

// TestEvents checks which segment announces which event: each event exactly
// once, at the segment that made it true.
func TestEvents(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  []Event // per step; 0 = none
	}{
		{
			name: "handshake, client closes first",
			steps: with(handshake,
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 2},
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2},
				step{dir: FromClient, flags: ACK, seq: 2, ack: 2},
			),
			want: []Event{0, 0, EventEstablished, EventFIN, 0, EventFIN, EventClosed},
		},
		{
			name: "FIN that also acknowledges the peer's FIN completes the close",
			steps: with(handshake,
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1},
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 2},
				step{dir: FromServer, flags: ACK, seq: 2, ack: 2},
			),
			want: []Event{0, 0, EventEstablished, EventFIN, EventFIN, EventClosed},
		},
		{
			name: "refused",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: RST | ACK, ack: 1},
			},
			want: []Event{0, EventRefused},
		},
		{
			name: "reset from the client while established",
			steps: with(handshake,
				step{dir: FromClient, flags: RST | ACK, seq: 1, ack: 1},
				step{dir: FromClient, flags: RST, seq: 1},
			),
			want: []Event{0, 0, EventEstablished, EventReset, 0},
		},
		{
			name: "SYN and SYN/ACK retransmitted",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromClient, flags: SYN, at: 1000},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 1001},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 2001},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 2002},
			},
			want: []Event{0, EventSynRetransmitted, 0, EventSynAckRetransmitted, EventEstablished},
		},
		{
			name: "simultaneous open",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYN},
				{dir: FromClient, flags: SYNACK, ack: 1},
				{dir: FromServer, flags: SYNACK, ack: 1},
			},
			want: []Event{0, 0, 0, EventEstablished},
		},
		{
			name: "picked up mid-stream: no handshake to announce",
			steps: []step{
				{dir: FromClient, flags: ACK | PSH, seq: 1, ack: 1, len: 10},
				{dir: FromServer, flags: ACK, seq: 1, ack: 11},
			},
			want: []Event{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *Conn
			for i, s := range tt.steps {
				seg := s.segment(cISN, sISN)
				if c == nil {
					c = NewConn(&seg)
				}
				if got := c.Step(&seg).Events; got != tt.want[i] {
					t.Errorf("step %d (%s %s): events %s, want %s", i+1, s.dir, s.flags, got, tt.want[i])
				}
			}
		})
	}
}

func TestEventString(t *testing.T) {
	for ev, want := range map[Event]string{
		0: "none", EventEstablished: "established", EventFIN | EventClosed: "fin,closed",
		EventSynAckRetransmitted: "synack_retransmitted",
	} {
		if got := ev.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", ev, got, want)
		}
	}
	var order []Event
	(EventClosed | EventFIN | EventEstablished).Each(func(e Event) { order = append(order, e) })
	if len(order) != 3 || order[0] != EventEstablished || order[1] != EventFIN || order[2] != EventClosed {
		t.Errorf("Each order %v", order)
	}
}
