package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
)

var be = binary.BigEndian

// MAC addresses: every client packet comes in through the router; each
// server has its own.
var (
	routerMAC  = [6]byte{0x00, 0x1c, 0x73, 0x4a, 0x10, 0x01}
	serverMACs [servers + 1][6]byte // 52:54:00:5e:64:10 + the server's index
)

func init() {
	for i := range serverMACs {
		serverMACs[i] = [6]byte{0x52, 0x54, 0x00, 0x5e, 0x64, byte(0x10 + i)}
	}
}

// The TCP options as Linux and Windows lay them out (RFC 9293, 7323, 2018).
const (
	optKindNOP    = 1
	optKindMSS    = 2
	optKindWS     = 3
	optKindSACKOK = 4
	optKindTS     = 8
)

// Payload kinds of a scripted segment.
const (
	plNone     uint8 = iota
	plHTTPReq        // a whole HTTP request: aux is the template
	plHTTPHead       // the first segment of an HTTP response: aux is its Content-Length
	plHTTPBody       // more of the response body
	plTLS            // one TLS application-data record filling the segment
)

// Payload templates, built once. Their checksums are precomputed so that a
// segment's payload costs a copy, not a pass to sum it.
var (
	httpRequests   [][]byte // whole requests, of various lengths
	httpReqSums    []uint64
	httpHeadPrefix = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/octet-stream\r\nConnection: keep-alive\r\nContent-Length: ")
	httpHeadSuffix = []byte("\r\n\r\n")
	textFiller     []byte // response bodies
	textPrefix     []uint64
	binFiller      []byte // TLS record contents
	binPrefix      []uint64
)

// maxPayload is the largest payload a 1500-byte MTU carries: IPv4, a bare
// 20-byte TCP header.
const maxPayload = 1460

func init() {
	paths := []string{
		"/", "/index.html", "/favicon.ico", "/api/v1/items?page=2", "/api/v1/orders/8843172",
		"/static/js/app.5f3c9e1b.js", "/static/css/main.0a4b8d2c.css", "/images/products/44871/large.jpg",
		"/search?q=tcp+handshake+timeout&lang=en", "/healthz", "/metrics", "/v2/library/debian/manifests/bookworm",
	}
	agents := []string{"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Go-http-client/1.1", "python-requests/2.31.0"}
	for i, p := range paths {
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: %s\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n", p, agents[i%len(agents)])
		if i%3 != 0 {
			cookie := make([]byte, 40*i)
			for j := range cookie {
				cookie[j] = "0123456789abcdef"[(j*7+i)%16]
			}
			req += "Cookie: session=" + string(cookie) + "\r\n"
		}
		req += "Connection: keep-alive\r\n\r\n"
		httpRequests = append(httpRequests, []byte(req))
		httpReqSums = append(httpReqSums, sum16(0, []byte(req)))
	}
	words := []string{"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"}
	r := rand.New(rand.NewPCG(7, 7))
	for len(textFiller) < maxPayload {
		textFiller = append(textFiller, words[r.IntN(len(words))]...)
		textFiller = append(textFiller, ' ')
	}
	textFiller = textFiller[:maxPayload]
	binFiller = make([]byte, maxPayload)
	for i := range binFiller {
		binFiller[i] = byte(r.Uint32())
	}
	textPrefix, binPrefix = prefixSums(textFiller), prefixSums(binFiller)
}

// prefixSums[n] is the unfolded one's complement sum of b[:n].
func prefixSums(b []byte) []uint64 {
	p := make([]uint64, len(b)+1)
	for n := 1; n <= len(b); n++ {
		if n%2 == 0 {
			p[n] = p[n-2] + uint64(be.Uint16(b[n-2:]))
		} else {
			p[n] = p[n-1] + uint64(b[n-1])<<8
		}
	}
	return p
}

// sum16 adds b to the unfolded one's complement sum s, as 16-bit
// big-endian words (an odd last byte is the high half of a word).
func sum16(s uint64, b []byte) uint64 {
	for len(b) >= 8 {
		s += uint64(be.Uint32(b)) + uint64(be.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(be.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold reduces an unfolded sum to 16 bits.
func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// shifted is the contribution of bytes summed from an even offset when
// they sit at an odd one instead: the same sum, byte-swapped (RFC 1071).
func shifted(s uint64) uint64 {
	f := fold(s)
	return uint64(f>>8 | f<<8)
}

// httpHeadLen is the length of the response head announcing Content-Length
// cl, with pad more spaces before the number.
func httpHeadLen(cl, pad int) int {
	return len(httpHeadPrefix) + pad + digits(cl) + len(httpHeadSuffix)
}

// contentLength is the Content-Length of a response of total bytes, head
// included, and the spaces to pad the head with when no number fits
// exactly (a total just past a power of ten: 225 = 123 + "100" is one
// short, 123 + "99" one long).
func contentLength(total int) (cl, pad int) {
	for pad = 0; pad < 2; pad++ {
		for d := 1; d < 10; d++ {
			cl = total - len(httpHeadPrefix) - len(httpHeadSuffix) - pad - d
			if cl >= 0 && digits(cl) == d {
				return cl, pad
			}
		}
	}
	return 0, 0
}

// headPad marks, in the aux of a plHTTPHead segment, one space of padding.
const headPad = 1 << 31

// digits is the length of n >= 0 in decimal (strconv.Itoa allocates).
func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// minHTTPResponse is the shortest single-segment HTTP response scripted.
var minHTTPResponse = httpHeadLen(99, 1) + 40

// tcpFrame is one segment to build.
type tcpFrame struct {
	v6           bool
	src, dst     [16]byte // IPv4 in the first 4
	dmac, smac   *[6]byte
	ttl          uint8
	df           bool
	ipid         uint16
	flowLabel    uint32
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	opts         []byte
	pl           uint8
	plen         int
	aux          uint32
	pseudo       uint64 // the addresses' share of the pseudo-header sum
}

// build writes the frame into buf and returns its length on the wire
// (padded to 60 bytes as Ethernet does).
func build(buf []byte, f *tcpFrame) int {
	copy(buf[0:6], f.dmac[:])
	copy(buf[6:12], f.smac[:])
	tcpLen := 20 + len(f.opts) + f.plen
	var ipLen int
	if f.v6 {
		be.PutUint16(buf[12:], 0x86dd)
		ip := buf[14:54]
		be.PutUint32(ip[0:], 6<<28|f.flowLabel&0xfffff)
		be.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = f.ttl
		copy(ip[8:24], f.src[:])
		copy(ip[24:40], f.dst[:])
		ipLen = 40
	} else {
		be.PutUint16(buf[12:], 0x0800)
		ip := buf[14:34]
		ip[0] = 0x45
		ip[1] = 0
		be.PutUint16(ip[2:], uint16(20+tcpLen))
		be.PutUint16(ip[4:], f.ipid)
		if f.df {
			be.PutUint16(ip[6:], 0x4000)
		} else {
			be.PutUint16(ip[6:], 0)
		}
		ip[8] = f.ttl
		ip[9] = 6
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], f.src[:4])
		copy(ip[16:20], f.dst[:4])
		be.PutUint16(ip[10:], ^fold(sum16(0, ip)))
		ipLen = 20
	}
	tcp := buf[14+ipLen:]
	be.PutUint16(tcp[0:], f.sport)
	be.PutUint16(tcp[2:], f.dport)
	be.PutUint32(tcp[4:], f.seq)
	be.PutUint32(tcp[8:], f.ack)
	hlen := 20 + len(f.opts)
	tcp[12] = byte(hlen/4) << 4
	tcp[13] = f.flags
	be.PutUint16(tcp[14:], f.win)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
	copy(tcp[20:], f.opts)
	s := f.pseudo + 6 + uint64(tcpLen)
	s = sum16(s, tcp[:hlen])
	s += payload(tcp[hlen:hlen+f.plen], f.pl, f.aux)
	be.PutUint16(tcp[16:], ^fold(s))
	n := 14 + ipLen + tcpLen
	if n < 60 {
		clear(buf[n:60])
		n = 60
	}
	return n
}

// payload fills p and returns its unfolded checksum share.
func payload(p []byte, kind uint8, aux uint32) uint64 {
	switch kind {
	case plHTTPReq:
		copy(p, httpRequests[aux])
		return httpReqSums[aux]
	case plHTTPHead:
		n := copy(p, httpHeadPrefix)
		if aux&headPad != 0 {
			p[n] = ' ' // optional whitespace before the value (RFC 9110)
			n++
		}
		n += len(strconv.AppendUint(p[n:n], uint64(aux&^headPad), 10))
		n += copy(p[n:], httpHeadSuffix)
		s := sum16(0, p[:n])
		return s + filler(p[n:], n, textFiller, textPrefix)
	case plHTTPBody:
		return filler(p, 0, textFiller, textPrefix)
	case plTLS:
		p[0], p[1], p[2] = 0x17, 0x03, 0x03 // application data, TLS 1.2 record version
		be.PutUint16(p[3:], uint16(len(p)-5))
		return sum16(0, p[:5]) + filler(p[5:], 5, binFiller, binPrefix)
	}
	return 0
}

// filler copies the start of fill into p, which begins at offset off of
// the payload, and returns its checksum share.
func filler(p []byte, off int, fill []byte, prefix []uint64) uint64 {
	n := copy(p, fill)
	if off%2 == 0 {
		return prefix[n]
	}
	return shifted(prefix[n])
}
