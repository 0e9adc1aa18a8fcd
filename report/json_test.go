package report

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// referenceLine is v as the JSON reporter's encoder writes it: encoding/json
// without HTML escaping, and a newline.
func referenceLine(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// connArgs are the inputs of a record in the fuzz target's terms.
type connArgs struct {
	ID                       uint64
	First, Last              int64
	Client, Server           []byte // 4 bytes IPv4, 16 IPv6, fewer the zero address
	Zone                     string // on an IPv6 server address
	ClientPort, ServerPort   uint16
	Handshake, Close         string
	ClientState, ServerState uint8 // fsm.State, past the last one too
	RTTClient, RTTServer     int64
	SynRe, SynAckRe          int
	Keepalives               uint64 // client and server uint32 in the halves
	ZeroWindows, Retransmits uint64 // likewise
	Packets, Bytes           uint64 // the client's; the server's are derived
	ClientSYNs, ServerSYNs   []byte // 8 bytes a time; nil and empty differ
	Reset                    bool
	ResetBy, ResetFrom, Peer uint8
	Reason                   uint8
	ConnState, History       string
	Labels                   string // split at '|'; "" is no labels
	EmptyLabels              bool   // no labels as an empty slice, not nil
	AnomalyName, Detail      string
	AnomalyTime              int64
	AnomalyDir               uint8
	AnomalyCount             int
	Anomalies                uint8 // how many, each a variation of the first
	Event                    string
	// ICMP errors: ICMP is an error's type << 8 | its code, ICMPv6 when
	// the server is; if not 0, the error that ended the client's connect()
	// at AnomalyTime, from the server's address, and, when ICMPDrops is
	// not 0 too, the latest of the ICMPDrops that dropped the server's
	// half-open connections, from the client's, at Last.
	ICMP      uint16
	ICMPDrops int
}

func addrPort(ip []byte, zone string, port uint16) netip.AddrPort {
	var a netip.Addr
	switch {
	case len(ip) >= 16:
		a = netip.AddrFrom16([16]byte(ip)).WithZone(zone)
	case len(ip) >= 4:
		a = netip.AddrFrom4([4]byte(ip))
	}
	return netip.AddrPortFrom(a, port)
}

func times(b []byte) []int64 {
	if b == nil {
		return nil
	}
	out := []int64{}
	for ; len(b) >= 8; b = b[8:] {
		out = append(out, int64(binary.LittleEndian.Uint64(b)))
	}
	return out
}

func (a *connArgs) record() *flow.Record {
	r := &flow.Record{
		ID:         a.ID,
		ClientAddr: addrPort(a.Client, "", a.ClientPort),
		ServerAddr: addrPort(a.Server, a.Zone, a.ServerPort),
		Reason:     flow.Reason(a.Reason),
		End:        a.Last + 1e9,
		Result: fsm.Result{
			First: a.First, Last: a.Last,
			Client: fsm.Side{State: fsm.State(a.ClientState), Packets: a.Packets, Bytes: a.Bytes,
				Keepalives: uint32(a.Keepalives), ZeroWindows: uint32(a.ZeroWindows), Retransmits: uint32(a.Retransmits),
				SYNTimes: times(a.ClientSYNs)},
			Server: fsm.Side{State: fsm.State(a.ServerState), Packets: a.Packets / 3, Bytes: a.Bytes ^ 0x5555,
				Keepalives: uint32(a.Keepalives >> 32), ZeroWindows: uint32(a.ZeroWindows >> 32), Retransmits: uint32(a.Retransmits >> 32),
				SYNTimes: times(a.ServerSYNs)},
			Handshake: a.Handshake, Close: a.Close,
			RTTClient: a.RTTClient, RTTServer: a.RTTServer,
			SynRetransmits: a.SynRe, SynAckRetransmits: a.SynAckRe,
			Reset: a.Reset, ResetBy: fsm.Dir(a.ResetBy), ResetFrom: fsm.State(a.ResetFrom), ResetPeerState: fsm.State(a.Peer),
		},
	}
	r.Zeek.State, r.Zeek.History = a.ConnState, a.History
	r.App = fsm.App{
		Client: fsm.AppSide{Call: fsm.CallConnect, Setup: a.Detail, Recv: a.ConnState, Errno: a.SynRe, At: a.AnomalyTime, Why: a.History},
		Server: fsm.AppSide{Call: fsm.CallAccept, Setup: a.Close, Send: a.Labels, SetupAt: a.Last, Errno: -a.SynAckRe},
	}
	if a.Labels != "" {
		r.Labels = strings.Split(a.Labels, "|")
	} else if a.EmptyLabels {
		r.Labels = []string{}
	}
	if a.ICMP != 0 {
		m := fsm.ICMPError{Time: a.AnomalyTime, From: r.ServerAddr.Addr(), V6: r.ServerAddr.Addr().Is6(), Type: uint8(a.ICMP >> 8), Code: uint8(a.ICMP)}
		r.Unreachable = m
		if a.ICMPDrops != 0 {
			m.Time, m.From, m.Dir = a.Last, r.ClientAddr.Addr(), fsm.FromServer
			r.HalfOpenDropped, r.HalfOpenDrop = a.ICMPDrops, m
		}
	}
	for i := range int(a.Anomalies % 5) {
		r.Anomalies = append(r.Anomalies, fsm.Anomaly{Name: a.AnomalyName, Time: a.AnomalyTime + int64(i)*1_234_567,
			Dir: fsm.Dir(a.AnomalyDir) + fsm.Dir(i), Detail: strings.Repeat(a.Detail, i+1), Count: a.AnomalyCount - i})
	}
	return r
}

// checkConn compares the hand-written "conn" and "event" lines of r with
// the reference encoding.
func checkConn(t testing.TB, r *flow.Record, event string) {
	t.Helper()
	got := string(append(appendConnJSON(nil, r), '\n'))
	if want := referenceLine(t, connJSON(r)); got != want {
		t.Fatalf("conn line\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatalf("invalid JSON: %s", got)
	}
	from := fsm.Dir(r.ID % 3)
	got = string(append(appendEventJSON(nil, r.End, event, from, r), '\n'))
	if want := referenceLine(t, eventJSON(r.End, event, from, r)); got != want {
		t.Fatalf("event line\n got %s\nwant %s", got, want)
	}
}

// Strings that need every kind of care: escapes, control characters, HTML
// characters (left alone), DEL, non-ASCII, U+2028/9 (escaped by
// encoding/json), invalid and truncated UTF-8, surrogate halves.
var trickyStrings = []string{
	"", "d", "a \"quoted\" detail", `back\slash`, "tab\there", "line\nbreak\r\n", "\b\f",
	"\x00\x01\x1f", "\x7f", "<script>&amp;</script>", "naïve café ☃ 𝄞", "日本語",
	"\u2028\u2029", "a\u2028b", "\xff", "\xc3", "ok\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"\xc0\xaf", "mixed \"\\\x00\xff☃\u2029<>&", "seq 1234 ack 5678 (window 0)",
	strings.Repeat("x", 300), "\ufffd", "€\x80€",
}

// variedArgs returns hand-picked records and n more drawn at random.
func variedArgs(n int) []connArgs {
	v4 := func(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
	v6 := func(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
	base := connArgs{
		ID: 7, First: 1_700_000_000_123_456_789, Last: 1_700_000_001_000_000_000,
		Client: v4("10.0.0.1"), Server: v4("10.0.0.2"), ClientPort: 40000, ServerPort: 80,
		Handshake: fsm.HandshakeComplete, Close: fsm.CloseFIN, ClientState: uint8(fsm.TimeWait), ServerState: uint8(fsm.Closed),
		RTTClient: 1_234_567, RTTServer: -1, ConnState: "SF", History: "ShADadFf", Labels: fsm.LabelHalfClose,
		AnomalyName: fsm.AnomalyAckUnseen, Detail: "d", AnomalyTime: 1_700_000_000_500_000_000, AnomalyDir: 1, AnomalyCount: 2, Anomalies: 1,
		Event: "established",
	}
	out := []connArgs{base}
	add := func(f func(a *connArgs)) {
		a := base
		f(&a)
		out = append(out, a)
	}
	add(func(a *connArgs) { a.Client, a.Server = v6("fd00::1"), v6("fd00::2") })
	add(func(a *connArgs) { a.Client, a.Server = v6("::ffff:10.1.2.3"), v6("::") })
	add(func(a *connArgs) { a.Server, a.Zone = v6("fe80::1"), "eth0" })
	add(func(a *connArgs) { a.Server, a.Zone = v6("fe80::1"), "we\"ird\\zone\n☃\xff" })
	add(func(a *connArgs) { a.Client, a.Server = nil, []byte{1, 2} })
	add(func(a *connArgs) { a.First, a.Last, a.AnomalyTime = 0, 0, 0 })
	add(func(a *connArgs) { a.First, a.Last, a.AnomalyTime = -1_500_000_000, -1, -999 })
	add(func(a *connArgs) { a.First, a.Last, a.AnomalyTime = math.MinInt64, math.MaxInt64, math.MinInt64 })
	add(func(a *connArgs) { a.RTTClient, a.RTTServer = -1, 0 })
	add(func(a *connArgs) { a.RTTClient, a.RTTServer = math.MaxInt64, 499 })
	add(func(a *connArgs) { a.RTTClient, a.RTTServer = 500, 1_999_999_999_500 })
	add(func(a *connArgs) { a.Labels, a.EmptyLabels = "", false })
	add(func(a *connArgs) { a.Labels, a.EmptyLabels = "", true })
	add(func(a *connArgs) { a.Labels = "a|b|c||" })
	add(func(a *connArgs) { a.Anomalies = 0 })
	add(func(a *connArgs) { a.Anomalies = 4 })
	add(func(a *connArgs) { a.ClientState, a.ServerState = 200, 255 })
	add(func(a *connArgs) { a.Reason = 250 })
	add(func(a *connArgs) {
		a.Keepalives, a.ZeroWindows, a.Retransmits = math.MaxUint64, 1<<32|math.MaxUint32, 3<<32|5
		a.Packets, a.Bytes, a.ID = math.MaxUint64, math.MaxUint64, math.MaxUint64
		a.SynRe, a.SynAckRe, a.AnomalyCount = math.MaxInt, math.MinInt, math.MinInt
	})
	add(func(a *connArgs) { a.ClientSYNs, a.ServerSYNs = []byte{}, nil })
	add(func(a *connArgs) { a.ICMP, a.Handshake, a.Close = 3<<8|1, fsm.HandshakeUnreachable, fsm.CloseNone })
	add(func(a *connArgs) { a.ICMP, a.ICMPDrops, a.Handshake = 3<<8|13, 3, fsm.HandshakeSynAckUnanswered })
	add(func(a *connArgs) {
		a.ICMP, a.ICMPDrops, a.Client, a.Server, a.AnomalyTime = 1<<8|9, -1, v6("fd00::1"), v6("fd00::2"), 0
	})
	add(func(a *connArgs) { a.ICMP, a.ICMPDrops, a.Client, a.Server = 12<<8|200, math.MaxInt, nil, nil })
	syn := func(ts ...int64) []byte {
		b := []byte{}
		for _, t := range ts {
			b = binary.LittleEndian.AppendUint64(b, uint64(t))
		}
		return b
	}
	add(func(a *connArgs) {
		a.ClientSYNs = syn(1e9, 2e9, 4e9, 8e9, 16e9)
		a.ServerSYNs = syn(1e9)
		a.SynRe, a.SynAckRe = 4, 0
		a.Handshake, a.Close = fsm.HandshakeUnanswered, fsm.CloseNone
	})
	add(func(a *connArgs) { a.ClientSYNs = syn(5e9, 1e9, 1e9+1, math.MinInt64, math.MaxInt64) })
	for _, h := range []string{fsm.HandshakeComplete, fsm.HandshakeRefused, fsm.HandshakeUnanswered, fsm.HandshakeSynAckUnanswered,
		fsm.HandshakeReset, fsm.HandshakeSimultaneous, fsm.HandshakeMidstream} {
		for _, c := range []string{fsm.CloseFIN, fsm.CloseFINClient, fsm.CloseFINServer, fsm.CloseRSTClient, fsm.CloseRSTServer, fsm.CloseOpen, fsm.CloseNone} {
			add(func(a *connArgs) { a.Handshake, a.Close = h, c })
		}
	}
	for by := range uint8(2) {
		for s := range uint8(12) {
			add(func(a *connArgs) {
				a.Reset, a.ResetBy, a.ResetFrom, a.Peer = true, by, s, 11-s
				a.Close = fsm.CloseRSTClient
			})
		}
	}
	for reason := range uint8(7) {
		add(func(a *connArgs) { a.Reason = reason })
	}
	for _, s := range trickyStrings {
		add(func(a *connArgs) {
			a.Detail, a.AnomalyName, a.Labels, a.Event = s, s, s+"|"+s, s
			a.Handshake, a.Close, a.ConnState, a.History = s, s, s, s
			a.Anomalies = 3
		})
	}

	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	i64 := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return -rng.Int64N(1e12)
		case 2:
			return rng.Int64N(1e10)
		}
		return int64(rng.Uint64())
	}
	addr := func() []byte {
		switch rng.IntN(5) {
		case 0:
			return nil
		case 1, 2:
			b := make([]byte, 4)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
		b := make([]byte, 16)
		for i := range b {
			if rng.IntN(3) > 0 {
				b[i] = byte(rng.Uint32())
			}
		}
		if rng.IntN(4) == 0 {
			copy(b, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
		}
		return b
	}
	for range n {
		a := connArgs{
			ID: rng.Uint64(), First: i64(), Last: i64(), Client: addr(), Server: addr(),
			ClientPort: uint16(rng.Uint32()), ServerPort: uint16(rng.Uint32()),
			Handshake: pick(trickyStrings), Close: pick(trickyStrings),
			ClientState: uint8(rng.IntN(16)), ServerState: uint8(rng.IntN(16)),
			RTTClient: i64(), RTTServer: i64(), SynRe: int(i64()), SynAckRe: rng.IntN(8),
			Keepalives: rng.Uint64(), ZeroWindows: rng.Uint64() >> rng.IntN(64), Retransmits: rng.Uint64N(1 << 40),
			Packets: rng.Uint64() >> rng.IntN(64), Bytes: rng.Uint64() >> rng.IntN(64),
			Reset: rng.IntN(2) == 0, ResetBy: uint8(rng.IntN(3)), ResetFrom: uint8(rng.IntN(14)), Peer: uint8(rng.IntN(14)),
			Reason: uint8(rng.IntN(8)), ConnState: pick(trickyStrings), History: pick(trickyStrings),
			Labels: pick(trickyStrings), EmptyLabels: rng.IntN(2) == 0,
			AnomalyName: pick(trickyStrings), Detail: pick(trickyStrings), AnomalyTime: i64(),
			AnomalyDir: uint8(rng.IntN(3)), AnomalyCount: int(i64()), Anomalies: uint8(rng.IntN(5)),
			Event: pick(trickyStrings),
		}
		if rng.IntN(8) == 0 && len(a.Server) == 16 {
			a.Zone = pick(trickyStrings)
		}
		for _, s := range []*[]byte{&a.ClientSYNs, &a.ServerSYNs} {
			if k := rng.IntN(10); k > 0 {
				*s = []byte{}
				for range k - 1 {
					*s = binary.LittleEndian.AppendUint64(*s, uint64(i64()))
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// TestConnJSONMatchesReference: the hand-written "conn" and "event" lines
// are byte for byte those of encoding/json, over varied records.
func TestConnJSONMatchesReference(t *testing.T) {
	for i, a := range variedArgs(5000) {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			checkConn(t, a.record(), a.Event)
		})
	}
	checkConn(t, record(), "established")
}

// TestJSONReporterMatchesReference runs records through the reporter, in
// both modes, against the reference written as the reporter wrote it.
func TestJSONReporterMatchesReference(t *testing.T) {
	for _, stream := range []bool{false, true} {
		var got, want bytes.Buffer
		rep := newJSON(&got, diagnose.DefaultThresholds(), stream)
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		for _, a := range variedArgs(200) {
			r := a.record()
			if err := rep.Conn(r); err != nil {
				t.Fatal(err)
			}
			if stream && unanswered(r) {
				enc.Encode(eventJSON(r.End, r.Handshake, retrier(r), r))
			}
			enc.Encode(connJSON(r))
			ev := &Event{Time: r.Last, What: fsm.EventEstablished | fsm.Event(a.ID%64), Dir: fsm.Dir(a.ID % 2), Conn: r}
			if err := rep.Event(ev); err != nil {
				t.Fatal(err)
			}
			if stream {
				enc.Encode(eventJSON(ev.Time, ev.What.String(), ev.Dir, r))
			}
		}
		rep.w.Flush()
		if got.String() != want.String() {
			g, w := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					t.Fatalf("stream %v: line %d\n got %s\nwant %s", stream, i+1, g[i], w[i])
				}
			}
			t.Fatalf("stream %v: %d lines, want %d", stream, len(g), len(w))
		}
	}
}

// TestAppendJSONString: every byte, alone and amid text, and random
// strings are escaped as encoding/json escapes them.
func TestAppendJSONString(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := strings.TrimSuffix(referenceLine(t, s), "\n")
		if got := string(appendJSONString(nil, s)); got != want {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
		check("ab" + string([]byte{byte(c)}) + "cd")
	}
	for r := rune(0); r <= utf8.MaxRune+1; r += 97 {
		check(string(r))
	}
	for _, s := range trickyStrings {
		check(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = byte(rng.IntN(0x20))
			case 1:
				b[i] = byte(0x80 + rng.IntN(0x80))
			default:
				b[i] = byte(rng.IntN(0x80))
			}
		}
		check(string(b))
	}
}

// oldUnixTime is unixTime.MarshalJSON as it was before appendUnixTime.
func oldUnixTime(ns int64) string {
	sec, frac := ns/1e9, (ns%1e9)/1e3
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	b := strconv.AppendInt(nil, sec, 10)
	b = append(b, '.')
	f := strconv.AppendInt(nil, frac+1e6, 10)
	return string(append(b, f[1:]...))
}

func TestAppendUnixTime(t *testing.T) {
	ns := []int64{0, 1, -1, 999, 1000, -1000, -1001, 1e9 - 1, 1e9, -1e9, -1e9 + 1, -1e9 - 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		ns = append(ns, int64(rng.Uint64()), rng.Int64N(1e12)-5e11)
	}
	for _, n := range ns {
		if got, want := string(appendUnixTime([]byte("x"), n)), "x"+oldUnixTime(n); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
	}
}

// FuzzConnJSON: for any record, the "conn" and "event" lines are those
// encoding/json writes.
func FuzzConnJSON(f *testing.F) {
	for _, a := range variedArgs(50) {
		f.Add(a.ID, a.First, a.Last, a.Client, a.Server, a.Zone, a.ClientPort, a.ServerPort,
			a.Handshake, a.Close, a.ClientState, a.ServerState, a.RTTClient, a.RTTServer, a.SynRe, a.SynAckRe,
			a.Keepalives, a.ZeroWindows, a.Retransmits, a.Packets, a.Bytes, a.ClientSYNs, a.ServerSYNs,
			a.Reset, a.ResetBy, a.ResetFrom, a.Peer, a.Reason, a.ConnState, a.History, a.Labels, a.EmptyLabels,
			a.AnomalyName, a.Detail, a.AnomalyTime, a.AnomalyDir, a.AnomalyCount, a.Anomalies, a.Event, a.ICMP, a.ICMPDrops)
	}
	f.Fuzz(func(t *testing.T, id uint64, first, last int64, client, server []byte, zone string, cport, sport uint16,
		handshake, close string, cstate, sstate uint8, rttC, rttS int64, synRe, synAckRe int,
		keepalives, zeroWindows, retransmits, packets, bytes uint64, csyns, ssyns []byte,
		reset bool, resetBy, resetFrom, peer, reason uint8, connState, history, labels string, emptyLabels bool,
		anomalyName, detail string, anomalyTime int64, anomalyDir uint8, anomalyCount int, anomalies uint8, event string,
		icmp uint16, icmpDrops int) {
		a := connArgs{id, first, last, client, server, zone, cport, sport, handshake, close, cstate, sstate,
			rttC, rttS, synRe, synAckRe, keepalives, zeroWindows, retransmits, packets, bytes, csyns, ssyns,
			reset, resetBy, resetFrom, peer, reason, connState, history, labels, emptyLabels,
			anomalyName, detail, anomalyTime, anomalyDir, anomalyCount, anomalies, event, icmp, icmpDrops}
		checkConn(t, a.record(), a.Event)
	})
}

// BenchmarkJSONConn is the cost of one "conn" line: encoding/json as it
// was ("reflect"), the hand-written encoder ("append"), and the reporter's
// whole Conn, summary included ("reporter").
func BenchmarkJSONConn(b *testing.B) {
	r := record()
	r.Client.SYNTimes = []int64{1e9, 2e9}
	r.Anomalies = append(r.Anomalies, fsm.Anomaly{Name: "retransmission", Time: r.First + 5e6, Detail: `seq 100 "again"`, Count: 3})
	b.Run("reflect", func(b *testing.B) {
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		b.ReportAllocs()
		for b.Loop() {
			if err := enc.Encode(connJSON(r)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = append(appendConnJSON(buf[:0], r), '\n')
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("reporter", func(b *testing.B) {
		rep := newJSON(io.Discard, diagnose.DefaultThresholds(), false)
		b.ReportAllocs()
		for b.Loop() {
			if err := rep.Conn(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestJSONConnAllocs: in steady state a "conn" line allocates nothing.
func TestJSONConnAllocs(t *testing.T) {
	r := record()
	r.Client.SYNTimes = []int64{1e9, 2e9, 4e9}
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		buf = append(appendConnJSON(buf[:0], r), '\n')
		w.Write(buf)
	}); n != 0 {
		t.Errorf("%v allocations per conn line, want 0", n)
	}
}

// TestMsecIsTheFloat: milliseconds are written as the float ns/1e6 with
// three decimals, whichever way appendMsec takes: a whole number of
// microseconds digit by digit, anything else through strconv.
func TestMsecIsTheFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	values := []int64{0, 1, 499, 500, 501, 999, 1000, 1500, 999_000, 1_000_000, 1_000_500, 123_456_789,
		-1, -1000, -1_500_000, 1<<53 - 1000, 1 << 53, 1<<53 + 1000, math.MaxInt64, math.MinInt64}
	for range 100_000 {
		v := rng.Int64N(1 << 50)
		values = append(values, v, v/1000*1000, -v)
	}
	for _, ns := range values {
		want := strconv.AppendFloat(nil, float64(ns)/1e6, 'f', 3, 64)
		if got := appendMsec(nil, ns); !bytes.Equal(got, want) {
			t.Errorf("%d ns: %s, want %s", ns, got, want)
		}
	}
}
