package report

import (
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// The reference encoding of the "conn" and "event" lines: structs for
// encoding/json, as the JSON reporter wrote them before appendConnJSON and
// appendEventJSON replaced it on the hot path. TestConnJSONMatchesReference,
// TestEventJSONMatchesReference and FuzzConnJSON hold the hand-written
// encoders to these byte for byte; a new key goes in both.

type jsonConn struct {
	Type              string       `json:"type"`
	ID                uint64       `json:"id"`
	TS                unixTime     `json:"ts"`
	EndTS             unixTime     `json:"end_ts"`
	Client            string       `json:"client"`
	Server            string       `json:"server"`
	Handshake         string       `json:"handshake"`
	Close             string       `json:"close"`
	ClientState       string       `json:"client_state"`
	ServerState       string       `json:"server_state"`
	SynRetransmits    int          `json:"syn_retransmits"`
	SynAckRetransmits int          `json:"synack_retransmits"`
	Keepalives        uint32       `json:"keepalives"`
	ZeroWindows       uint32       `json:"zero_windows"`
	Retransmits       uint32       `json:"retransmits"`
	HandshakeRTT      sides[*msec] `json:"handshake_rtt_ms"`
	// RetryGaps are the gaps between the client's SYNs and between the
	// server's SYN/ACKs: Linux doubles them from 1 s.
	RetryGaps  sides[[]msec]   `json:"retry_gaps_ms"`
	Packets    sides[uint64]   `json:"packets"`
	Bytes      sides[uint64]   `json:"bytes"`
	Reset      *jsonReset      `json:"reset,omitempty"`
	ICMP       *jsonICMP       `json:"icmp,omitempty"`
	SynAckICMP *jsonSynAckICMP `json:"synack_icmp,omitempty"`
	Reason     string          `json:"reason"`
	ConnState  string          `json:"conn_state"`
	History    string          `json:"history"`
	Labels     []string        `json:"labels"`
	Anomalies  []jsonAnomaly   `json:"anomalies"`
	App        sides[jsonApp]  `json:"app"`
}

// jsonICMP is "icmp", the ICMP error that ended the client's connect().
type jsonICMP struct {
	TS   unixTime `json:"ts"`
	From string   `json:"from"`
	Type uint8    `json:"type"`
	Code uint8    `json:"code"`
	What string   `json:"what"`
}

// jsonSynAckICMP is "synack_icmp": the half-open connections ICMP errors
// dropped, and the latest error.
type jsonSynAckICMP struct {
	Dropped int `json:"dropped"`
	jsonICMP
}

func icmpJSON(m *fsm.ICMPError) jsonICMP {
	return jsonICMP{TS: unixTime(m.Time), From: m.From.String(), Type: m.Type, Code: m.Code, What: m.What()}
}

// jsonApp is one side's "app" object: the call that set the connection up
// (connect or accept) first, then recv and send.
type jsonApp struct {
	Connect string    `json:"connect,omitempty"`
	Accept  string    `json:"accept,omitempty"`
	Recv    string    `json:"recv,omitempty"`
	Send    string    `json:"send,omitempty"`
	Errno   int       `json:"errno,omitempty"`
	SetupTS *unixTime `json:"setup_ts,omitempty"`
	TS      *unixTime `json:"ts,omitempty"`
	Why     string    `json:"why,omitempty"`
}

func appJSON(s *fsm.AppSide) jsonApp {
	a := jsonApp{Recv: s.Recv, Send: s.Send, Errno: s.Errno, Why: s.Why}
	switch s.Call {
	case fsm.CallConnect:
		a.Connect = s.Setup
	case fsm.CallAccept:
		a.Accept = s.Setup
	}
	if s.SetupAt != 0 {
		u := unixTime(s.SetupAt)
		a.SetupTS = &u
	}
	if ts := s.Time(); ts != 0 {
		u := unixTime(ts)
		a.TS = &u
	}
	return a
}

type sides[T any] struct {
	Client T `json:"client"`
	Server T `json:"server"`
}

type jsonReset struct {
	By        string `json:"by"`
	State     string `json:"state"`      // the resetting side's state when it sent the RST
	PeerState string `json:"peer_state"` // the other side's state when it arrived
}

type jsonAnomaly struct {
	Name   string   `json:"name"`
	TS     unixTime `json:"ts"`
	From   string   `json:"from"`
	Detail string   `json:"detail"`
	Count  int      `json:"count"`
}

// jsonEvent is one connection event of the stream.
type jsonEvent struct {
	Type         string       `json:"type"`
	TS           unixTime     `json:"ts"`
	ID           uint64       `json:"id"`
	Event        string       `json:"event"`
	From         string       `json:"from"`
	Client       string       `json:"client"`
	Server       string       `json:"server"`
	Handshake    string       `json:"handshake"`
	Close        string       `json:"close"`
	ClientState  string       `json:"client_state"`
	ServerState  string       `json:"server_state"`
	HandshakeRTT sides[*msec] `json:"handshake_rtt_ms"`
	Retransmits  sides[int]   `json:"handshake_retransmits"`
	Reset        *jsonReset   `json:"reset,omitempty"`
}

func rtt(ns int64) *msec {
	if ns < 0 {
		return nil
	}
	m := msec(ns)
	return &m
}

func eventJSON(ts int64, what string, from fsm.Dir, r *flow.Record) *jsonEvent {
	e := &jsonEvent{
		Type: "event", TS: unixTime(ts), ID: r.ID, Event: what, From: from.String(),
		Client: r.ClientAddr.String(), Server: r.ServerAddr.String(),
		Handshake: r.Handshake, Close: r.Close,
		ClientState: r.Client.State.String(), ServerState: r.Server.State.String(),
		HandshakeRTT: sides[*msec]{rtt(r.RTTClient), rtt(r.RTTServer)},
		Retransmits:  sides[int]{r.SynRetransmits, r.SynAckRetransmits},
	}
	if r.Reset {
		e.Reset = &jsonReset{By: r.ResetBy.String(), State: r.ResetFrom.String(), PeerState: r.ResetPeerState.String()}
	}
	return e
}

func connJSON(r *flow.Record) *jsonConn {
	c := &jsonConn{
		Type: "conn", ID: r.ID, TS: unixTime(r.First), EndTS: unixTime(r.Last),
		Client: r.ClientAddr.String(), Server: r.ServerAddr.String(),
		Handshake: r.Handshake, Close: r.Close,
		ClientState: r.Client.State.String(), ServerState: r.Server.State.String(),
		SynRetransmits: r.SynRetransmits, SynAckRetransmits: r.SynAckRetransmits,
		Keepalives:   r.Client.Keepalives + r.Server.Keepalives,
		ZeroWindows:  r.Client.ZeroWindows + r.Server.ZeroWindows,
		Retransmits:  r.Client.Retransmits + r.Server.Retransmits,
		HandshakeRTT: sides[*msec]{rtt(r.RTTClient), rtt(r.RTTServer)},
		RetryGaps:    sides[[]msec]{gaps(r.Client.SYNTimes), gaps(r.Server.SYNTimes)},
		Packets:      sides[uint64]{r.Client.Packets, r.Server.Packets},
		Bytes:        sides[uint64]{r.Client.Bytes, r.Server.Bytes},
		Reason:       r.Reason.String(),
		ConnState:    r.Zeek.State,
		History:      r.Zeek.History,
		Labels:       r.Labels,
		Anomalies:    make([]jsonAnomaly, 0, len(r.Anomalies)),
		App:          sides[jsonApp]{appJSON(&r.App.Client), appJSON(&r.App.Server)},
	}
	if c.Labels == nil {
		c.Labels = []string{}
	}
	if r.Reset {
		c.Reset = &jsonReset{By: r.ResetBy.String(), State: r.ResetFrom.String(), PeerState: r.ResetPeerState.String()}
	}
	if r.Unreachable.Time != 0 {
		m := icmpJSON(&r.Unreachable)
		c.ICMP = &m
	}
	if r.HalfOpenDropped != 0 {
		c.SynAckICMP = &jsonSynAckICMP{r.HalfOpenDropped, icmpJSON(&r.HalfOpenDrop)}
	}
	for _, a := range r.Anomalies {
		c.Anomalies = append(c.Anomalies, jsonAnomaly{a.Name, unixTime(a.Time), a.Dir.String(), a.Detail, a.Count})
	}
	return c
}
