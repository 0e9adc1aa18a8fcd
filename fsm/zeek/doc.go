// Package zeek follows a TCP connection the way Zeek's TCP analyzer does and
// summarises it as Zeek's conn.log would: conn_state, history, the
// originator/responder orientation, packet and byte counters and duration.
//
// The model is written from Zeek's sources (the snapshot at commit a13de64f):
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and its
//     Update*State helpers, ConnectionClosed, the timers (AttemptTimer,
//     ExpireTimer, ResetTimer, the delete timer) and IsReuse;
//   - src/packet_analysis/protocol/tcp/TCP.cc: WantConnection (the
//     likely_server_ports flip of a connection that does not start with a
//     bare SYN), DeliverPacket and ValidateChecksum (a bad checksum records
//     C/c and drops the packet);
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc: endpoint states, Size (bytes
//     from sequence numbers), CheckHistory, the scaled C/T/W/G letters;
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc and src/Reassem.cc: content
//     gaps (G/g) when an acknowledgement covers data never seen;
//   - src/Conn.cc and src/session/Session.{h,cc}: CheckHistory,
//     ScaledHistoryEntry, FlipRoles (the '^'), the inactivity timer;
//   - src/packet_analysis/protocol/ip/IPBasedAnalyzer.cc: when a packet
//     creates a new connection;
//   - scripts/base/protocols/conn/main.zeek: conn_state() and set_conn();
//   - scripts/base/init-bare.zeek: the tcp_* timeouts.
//
// A Conn is 392 bytes of fixed-size fields (no maps, no slices; the history
// is a bounded array of 5-bit letters) and Step allocates nothing.
//
// Usage: NewConn with a connection's first segment, then Step it; for every
// later segment on the same 5-tuple call NewConnection first, and when it
// reports true, take Summary and start a new Conn with that segment.
package zeek
