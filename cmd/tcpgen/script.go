package main

import (
	"math/rand/v2"
)

// kind is a connection's scripted fate.
type kind uint8

const (
	kindNormal           kind = iota // handshake, data, FIN close
	kindRST                          // established, then reset
	kindSynAckRetransmit             // SYN/ACK resent before the client's ACK, then normal
	kindHalfOpen                     // SYN/ACK never acknowledged
	kindRefused                      // SYN answered by RST/ACK
	kindUnanswered                   // SYN never answered
	numKinds
)

var kindNames = [numKinds]string{"normal", "rst", "synack_retransmit", "half_open", "refused", "unanswered"}

func kindByName(name string) (kind, bool) {
	for k, n := range kindNames {
		if n == name {
			return kind(k), true
		}
	}
	return 0, false
}

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// Directions.
const (
	fromClient uint8 = 0
	fromServer uint8 = 1
)

// pkt is one scripted segment; its options, IP ID and window are filled in
// when it is written.
type pkt struct {
	t        int64 // Unix nanoseconds
	seq, ack uint32
	aux      uint32 // payload detail, see plHTTPReq and plHTTPHead
	plen     uint16
	flags    uint8
	dir      uint8
	pl       uint8 // payload kind
}

// conn is one connection under way: its script and what writing it needs.
type conn struct {
	pkts  []pkt // sorted by time
	next  int   // the next packet to write
	start int64
	kind  kind

	v6, ts, windows bool // IPv6; timestamps negotiated; a Windows-like client
	cip, sip        [16]byte
	cport, sport    uint16
	server          uint8 // index into serverMACs
	ttl             uint8 // the client's TTL at the capture point
	idC, idS        uint16
	flowC, flowS    uint32
	tsC, tsS        uint32 // TSval at the start
	lastTSC         uint32 // the latest TSval each side sent, for the other to echo
	lastTSS         uint32
	mss             uint16
	synWinC         uint16
	synWinS         uint16
	winC, winS      uint16
	pseudo          uint64
}

func (c *conn) add(t int64, dir, flags uint8, seq, ack uint32, plen int, pl uint8, aux uint32) {
	c.pkts = append(c.pkts, pkt{t: t, seq: seq, ack: ack, aux: aux, plen: uint16(plen), flags: flags, dir: dir, pl: pl})
}

// script draws connection number g.scripted into slot c, starting 0–gap ns
// after base (at base exactly for the very first), and returns its start.
func (g *gen) script(c *conn, base, gap int64, first bool) int64 {
	idx := g.scripted
	g.scripted++
	g.pcg.Seed(g.cfg.seed, uint64(idx)*0x9e3779b97f4a7c15) // its own stream, whatever came before
	r := g.rng
	start := base
	if !first {
		start += r.Int64N(gap)
	}
	*c = conn{pkts: c.pkts[:0], start: start}
	c.kind = g.pickKind(r.Float64())
	g.n.kinds[c.kind]++
	g.addresses(c, r)

	s := scripter{g: g, c: c, r: r, rtt: drawRTT(r)}
	isnC, isnS := r.Uint32(), r.Uint32()
	s.cn, s.sn = isnC+1, isnS+1
	t := start
	c.add(t, fromClient, fSYN, isnC, 0, 0, plNone, 0)
	switch c.kind {
	case kindUnanswered:
		retries := 1 + r.IntN(3)
		g.n.synRetx += uint64(retries)
		t = s.resend(t, retries, fromClient, fSYN, isnC, 0)
	case kindRefused:
		c.add(t+s.srv(), fromServer, fRST|fACK, 0, isnC+1, 0, plNone, 0)
	case kindHalfOpen:
		t += s.srv()
		c.add(t, fromServer, fSYN|fACK, isnS, isnC+1, 0, plNone, 0)
		retries := 1 + r.IntN(5)
		g.n.synAckRetx += uint64(retries)
		t = s.resend(t, retries, fromServer, fSYN|fACK, isnS, isnC+1)
	default:
		t += s.srv()
		c.add(t, fromServer, fSYN|fACK, isnS, isnC+1, 0, plNone, 0)
		if c.kind == kindSynAckRetransmit {
			// The client's ACK was lost before the capture point.
			retries := 1 + r.IntN(2)
			g.n.synAckRetx += uint64(retries)
			t = s.resend(t, retries, fromServer, fSYN|fACK, isnS, isnC+1)
		}
		t += s.rtt
		c.add(t, fromClient, fACK, s.cn, s.sn, 0, plNone, 0)
		if c.kind == kindRST {
			s.reset(t, r.IntN(3))
		} else {
			lost := -1
			rounds := 1 + r.IntN(4)
			if c.kind == kindNormal && r.Float64() < g.cfg.dataRetransmit {
				lost = r.IntN(rounds)
			}
			tClient, tServer := s.exchange(t, rounds, lost)
			s.close(tClient, tServer)
		}
	}
	sortPkts(c.pkts)
	return start
}

func (g *gen) pickKind(u float64) kind {
	for k, c := range g.cum {
		if u < c {
			return kind(k)
		}
	}
	for k := numKinds - 1; k > 0; k-- {
		if g.cfg.mix[k] > 0 {
			return k
		}
	}
	return 0
}

// addresses picks the client, the server and everything per connection
// about how their packets look.
func (g *gen) addresses(c *conn, r *rand.Rand) {
	c.v6 = r.Float64() < g.cfg.ipv6
	var client uint32
	var used *uint16
	if c.v6 {
		g.n.ipv6++
		client = uint32(r.IntN(clients6))
		used = &g.portNext6[client]
		c.cip = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c}
		be.PutUint32(c.cip[8:], mix32(client^0x9e3779b9))
		be.PutUint32(c.cip[12:], mix32(client^0x7f4a7c15))
	} else {
		client = uint32(r.IntN(clients4))
		used = &g.portNext4[client]
		v := (client*0x9e3779b1 + 0x010101) & 0xffffff
		c.cip = [16]byte{10, byte(v >> 16), byte(v >> 8), byte(v)}
	}
	// Ports in turn per client, from a client-specific offset, 2 apart as
	// Linux's connect() picks them: no 5-tuple is used twice before 14,116
	// connections of one client.
	h := mix32(client*2 + boolU32(c.v6))
	c.cport = uint16(portLow + (h%portCount+2*uint32(*used))%portCount)
	*used++
	c.windows = h%5 == 4
	c.ts = !c.windows
	hops := uint8(3 + h>>8%14)
	c.ttl = 64 - hops
	if c.windows {
		c.ttl = 128 - hops
	}

	c.server = uint8(r.IntN(servers))
	switch c.kind {
	case kindRefused:
		c.sport = closedPorts[r.IntN(len(closedPorts))]
	case kindUnanswered:
		c.server = downServer
		c.sport = listenPort(r)
	default:
		c.sport = listenPort(r)
	}
	if c.v6 {
		c.sip = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 14: 0, 15: 0x10 + c.server}
		c.mss = 1440
		c.synWinC, c.synWinS = 64800, 64800
	} else {
		c.sip = [16]byte{198, 51, 100, 10 + c.server}
		c.mss = 1460
		c.synWinC, c.synWinS = 64240, 65160
	}
	n := 4
	if c.v6 {
		n = 16
	}
	c.pseudo = sum16(sum16(0, c.cip[:n]), c.sip[:n])

	c.idC, c.idS = uint16(r.Uint32()), uint16(r.Uint32())
	c.flowC, c.flowS = r.Uint32()&0xfffff, r.Uint32()&0xfffff
	c.tsC, c.tsS = r.Uint32(), r.Uint32()
	c.winC = uint16(502 + r.IntN(3000))
	if c.windows {
		c.winC = uint16(1026 + r.IntN(1000))
	}
	c.winS = uint16(501 + r.IntN(64))
}

var closedPorts = []uint16{81, 8081, 9503}

func listenPort(r *rand.Rand) uint16 {
	switch u := r.IntN(20); {
	case u < 10:
		return 443
	case u < 15:
		return 80
	case u < 18:
		return 8080
	}
	return 9502
}

func boolU32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// drawRTT: 30% on a LAN or nearby (0.3–2 ms), 50% across a country
// (5–50 ms), 20% far away (50–300 ms).
func drawRTT(r *rand.Rand) int64 {
	switch u := r.IntN(10); {
	case u < 3:
		return 300*microsecondNS + r.Int64N(1700*microsecondNS)
	case u < 8:
		return 5*millisecondNS + r.Int64N(45*millisecondNS)
	}
	return 50*millisecondNS + r.Int64N(250*millisecondNS)
}

// scripter writes one connection's segments after the handshake.
type scripter struct {
	g      *gen
	c      *conn
	r      *rand.Rand
	rtt    int64
	cn, sn uint32 // next sequence numbers of the client and the server
}

// srv is the server's turnaround: from a client segment to the answer.
func (s *scripter) srv() int64 { return 15*microsecondNS + s.r.Int64N(385*microsecondNS) }

// segSize is the largest payload of a segment.
func (s *scripter) segSize() int {
	if s.c.ts {
		return int(s.c.mss) - 12
	}
	return int(s.c.mss)
}

// exchange scripts request/response rounds, the first request right after
// the handshake's ACK at t. In round lost (-1: none) the response's last
// segment is lost past the capture point and sent again. It returns when
// the client has received everything, and when the server sent its last
// segment.
func (s *scripter) exchange(t int64, rounds, lost int) (tClient, tServer int64) {
	c, r := s.c, s.r
	tls := c.sport == 443
	tClient, tServer = t, t
	for round := range rounds {
		if round == 0 {
			t += 5*microsecondNS + r.Int64N(200*microsecondNS)
		} else {
			t += 50*microsecondNS + r.Int64N(5*millisecondNS)
		}
		if tls {
			n := 60 + r.IntN(640)
			c.add(t, fromClient, fPSH|fACK, s.cn, s.sn, n, plTLS, 0)
			s.cn += uint32(n)
		} else {
			k := r.IntN(len(httpRequests))
			n := len(httpRequests[k])
			c.add(t, fromClient, fPSH|fACK, s.cn, s.sn, n, plHTTPReq, uint32(k))
			s.cn += uint32(n)
		}

		// The response: nseg segments, all full but the last.
		mss := s.segSize()
		nseg := responseSegments(r)
		lastLen := 6 + r.IntN(mss-5) // room for a TLS record header
		if nseg == 1 {
			// Most one-segment answers are short (API calls, redirects).
			lastLen = minHTTPResponse + r.IntN(mss-minHTTPResponse)
			if r.IntN(3) > 0 {
				lastLen = minHTTPResponse + r.IntN(400)
			}
		}
		total := (nseg-1)*mss + lastLen
		ts := t + s.srv()
		var tSeg, tPrev int64
		for j := range nseg {
			n := mss
			flags := uint8(fACK)
			if j == nseg-1 {
				n = lastLen
				flags |= fPSH
			}
			pl, aux := uint8(plHTTPBody), uint32(0)
			switch {
			case tls:
				pl = plTLS
			case j == 0:
				cl, pad := contentLength(total)
				pl, aux = plHTTPHead, uint32(cl)
				if pad > 0 {
					aux |= headPad
				}
			}
			c.add(ts, fromServer, flags, s.sn, s.cn, n, pl, aux)
			s.sn += uint32(n)
			tPrev, tSeg = tSeg, ts
			if j == nseg-1 && round == lost {
				// Lost past the capture point: the client acknowledges
				// what it has, the server sends it again after its probe
				// timeout, and that one gets through.
				if j > 0 && j%2 == 1 { // the segment before was not acknowledged yet
					c.add(tPrev+s.rtt, fromClient, fACK, s.cn, s.sn-uint32(n), 0, plNone, 0)
				}
				ts += max(2*s.rtt, 10*millisecondNS) + r.Int64N(2*millisecondNS)
				c.add(ts, fromServer, flags, s.sn-uint32(n), s.cn, n, pl, aux)
				s.g.n.dataRetx++
				tSeg = ts
			}
			if j%2 == 1 || j == nseg-1 {
				c.add(tSeg+s.rtt, fromClient, fACK, s.cn, s.sn, 0, plNone, 0)
			}
			ts += int64(n)*8 + microsecondNS // 1 Gb/s on the server's link
		}
		tServer = tSeg
		tClient = tSeg + s.rtt
		t = tClient
	}
	return tClient, tServer
}

// responseSegments: 60% of the responses fit in one segment, 20% take
// two, 10% three, the rest 4–6.
func responseSegments(r *rand.Rand) int {
	switch u := r.IntN(10); {
	case u < 6:
		return 1
	case u < 7:
		return 2
	case u < 8:
		return 3
	}
	return 4 + r.IntN(3)
}

// close scripts a FIN close, started by the client (once it has the whole
// response) or by the server (after its last segment), in three segments
// or four.
func (s *scripter) close(tClient, tServer int64) {
	c, r, n := s.c, s.r, &s.g.n
	threeWay := r.IntN(2) == 0
	if threeWay {
		n.finThreeWay++
	}
	if r.IntN(2) == 0 {
		n.finClient++
		t := tClient + 20*microsecondNS + r.Int64N(3*millisecondNS)
		c.add(t, fromClient, fFIN|fACK, s.cn, s.sn, 0, plNone, 0)
		s.cn++
		t += s.srv()
		if !threeWay {
			c.add(t, fromServer, fACK, s.sn, s.cn, 0, plNone, 0)
			t += 20*microsecondNS + r.Int64N(5*millisecondNS)
		}
		c.add(t, fromServer, fFIN|fACK, s.sn, s.cn, 0, plNone, 0)
		s.sn++
		c.add(t+s.rtt, fromClient, fACK, s.cn, s.sn, 0, plNone, 0)
		return
	}
	n.finServer++
	t := tServer + 10*microsecondNS + r.Int64N(millisecondNS)
	c.add(t, fromServer, fFIN|fACK, s.sn, s.cn, 0, plNone, 0)
	s.sn++
	t += s.rtt
	if !threeWay {
		c.add(t, fromClient, fACK, s.cn, s.sn, 0, plNone, 0)
		t += 20*microsecondNS + r.Int64N(5*millisecondNS)
	}
	c.add(t, fromClient, fFIN|fACK, s.cn, s.sn, 0, plNone, 0)
	s.cn++
	c.add(t+s.srv(), fromServer, fACK, s.sn, s.cn, 0, plNone, 0)
}

// reset scripts 0–2 rounds after the handshake's ACK at t, then an RST/ACK
// from the client or the server, in sequence so the peer accepts it.
func (s *scripter) reset(t int64, rounds int) {
	c, r := s.c, s.r
	tClient := t
	if rounds > 0 {
		tClient, _ = s.exchange(t, rounds, -1)
	}
	if r.IntN(2) == 0 {
		s.g.n.rstClient++
		c.add(tClient+20*microsecondNS+r.Int64N(5*millisecondNS), fromClient, fRST|fACK, s.cn, s.sn, 0, plNone, 0)
		return
	}
	s.g.n.rstServer++
	c.add(tClient+s.srv()+r.Int64N(20*millisecondNS), fromServer, fRST|fACK, s.sn, s.cn, 0, plNone, 0)
}

// sortPkts orders a script by time, keeping the scripted order of equal
// times (causal order). Scripts are short and nearly sorted.
func sortPkts(p []pkt) {
	for i := 1; i < len(p); i++ {
		x := p[i]
		j := i
		for j > 0 && p[j-1].t > x.t {
			p[j] = p[j-1]
			j--
		}
		p[j] = x
	}
}

// emitConn writes packet p of connection c.
func (g *gen) emitConn(c *conn, p *pkt) {
	fr := &g.frame
	*fr = tcpFrame{
		v6: c.v6, df: true, seq: p.seq, ack: p.ack, flags: p.flags,
		pl: p.pl, plen: int(p.plen), aux: p.aux, pseudo: c.pseudo,
	}
	syn := p.flags&fSYN != 0
	elapsed := uint32((p.t - c.start) / millisecondNS)
	var tsval, tsecr uint32
	if p.dir == fromClient {
		fr.src, fr.dst = c.cip, c.sip
		fr.sport, fr.dport = c.cport, c.sport
		fr.dmac, fr.smac = &serverMACs[c.server], &routerMAC
		fr.ttl, fr.ipid, fr.flowLabel = c.ttl, c.idC, c.flowC
		c.idC++
		fr.win = c.winC
		if syn {
			fr.win = c.synWinC
		}
		tsval, tsecr = c.tsC+elapsed, c.lastTSS
		c.lastTSC = tsval
	} else {
		fr.src, fr.dst = c.sip, c.cip
		fr.sport, fr.dport = c.sport, c.cport
		fr.dmac, fr.smac = &routerMAC, &serverMACs[c.server]
		fr.ttl, fr.flowLabel = 64, c.flowS
		fr.win = c.winS
		switch {
		case syn:
			fr.win = c.synWinS // a listener's SYN/ACK has IP ID 0
		case p.flags&fRST != 0 && c.kind == kindRefused:
			fr.win = 0 // so has a reset from no socket
		default:
			fr.ipid = c.idS
			c.idS++
		}
		tsval, tsecr = c.tsS+elapsed, c.lastTSC
		c.lastTSS = tsval
	}
	switch {
	case c.kind == kindRefused && p.flags&fRST != 0:
		// A reset from no socket carries no options.
	case syn:
		fr.opts = g.synOptions(c, p.flags&fACK != 0, tsval, tsecr)
	case c.ts:
		o := g.opts[:12]
		o[0], o[1], o[2], o[3] = optKindNOP, optKindNOP, optKindTS, 10
		be.PutUint32(o[4:], tsval)
		be.PutUint32(o[8:], tsecr)
		fr.opts = o
	}
	g.write(p.t, build(g.buf[:], fr))
}

// synOptions lays out a SYN's or SYN/ACK's options as Linux (with
// timestamps) or Windows and Linux answering it (without) do.
func (g *gen) synOptions(c *conn, synAck bool, tsval, tsecr uint32) []byte {
	o := g.opts[:]
	o[0], o[1] = optKindMSS, 4
	be.PutUint16(o[2:], c.mss)
	if c.ts {
		// mss, sackOK, TS, nop, wscale 7
		o[4], o[5] = optKindSACKOK, 2
		o[6], o[7] = optKindTS, 10
		be.PutUint32(o[8:], tsval)
		be.PutUint32(o[12:], tsecr)
		o[16], o[17], o[18], o[19] = optKindNOP, optKindWS, 3, 7
		return o[:20]
	}
	if synAck {
		// mss, nop, nop, sackOK, nop, wscale 7
		o[4], o[5], o[6], o[7] = optKindNOP, optKindNOP, optKindSACKOK, 2
		o[8], o[9], o[10], o[11] = optKindNOP, optKindWS, 3, 7
		return o[:12]
	}
	// mss, nop, wscale 8, nop, nop, sackOK
	o[4], o[5], o[6], o[7] = optKindNOP, optKindWS, 3, 8
	o[8], o[9], o[10], o[11] = optKindNOP, optKindNOP, optKindSACKOK, 2
	return o[:12]
}

// resend sends a SYN or SYN/ACK again retries times after t, waiting 1 s,
// then 2 s, 4 s... (Linux's backoff, with a little timer jitter), and
// returns the time of the last one.
func (s *scripter) resend(t int64, retries int, dir, flags uint8, seq, ack uint32) int64 {
	backoff := secondNS
	for range retries {
		t += backoff + s.r.Int64N(2*millisecondNS)
		s.c.add(t, dir, flags, seq, ack, 0, plNone, 0)
		backoff *= 2
	}
	return t
}
