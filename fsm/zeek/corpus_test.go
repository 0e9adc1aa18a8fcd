package zeek_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// The Zeek conformance corpus: traces with the conn.log rows Zeek's own
// regression tests expect (see its README.md).
func corpusDir(t *testing.T) string {
	dir := os.Getenv("TCPFSM_ZEEK_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "zeek")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Skipf("Zeek corpus not found at %s (set TCPFSM_ZEEK_CORPUS)", dir)
	}
	return dir
}

type wantRow struct {
	ts               int64 // ns
	orig, resp       netip.AddrPort
	state, history   string
	origPkts, respPk string
	matched          bool
}

type pkt struct {
	ts       int64
	src, dst netip.AddrPort
	seg      fsm.Segment
	badSum   bool
}

type record struct {
	ts         int64
	orig, resp netip.AddrPort
	sum        zeek.Summary
}

type tupleKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) tupleKey {
	if x.Addr().Less(y.Addr()) || x.Addr() == y.Addr() && x.Port() < y.Port() {
		return tupleKey{x, y}
	}
	return tupleKey{y, x}
}

// TestCorpus replays every trace the simple decoder below can read, groups
// packets into Zeek connections with NewConnection, and compares conn_state,
// history, orientation and packet counts with the expected rows.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	validated := readManifest(t, dir)
	traces, _ := filepath.Glob(filepath.Join(dir, "traces", "*"))
	var files []string
	for len(traces) > 0 {
		p := traces[0]
		traces = traces[1:]
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			sub, _ := filepath.Glob(filepath.Join(p, "*"))
			traces = append(traces, sub...)
			continue
		}
		if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") {
			files = append(files, p)
		}
	}
	sort.Strings(files)

	var total, llc tally
	var skipped []string
	var report strings.Builder
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join(dir, "traces"), f)
		tsv := strings.TrimSuffix(strings.TrimSuffix(f, ".pcapng"), ".pcap") + ".conn.tsv"
		rows, err := readRows(tsv)
		if err != nil {
			t.Errorf("%s: %v", tsv, err)
			continue
		}
		pkts, err := readTrace(f, validated["traces/"+rel])
		if err != nil || len(pkts) == 0 {
			if err == nil {
				err = fmt.Errorf("no TCP packets decoded")
			}
			skipped = append(skipped, rel+": "+err.Error())
			continue
		}
		recs := replay(pkts)
		var tl tally
		diffs := compare(rel, rows, recs, &tl)
		fmt.Fprintf(&report, "%-55s rows %4d matched %4d  state %4d/%-4d history %4d/%-4d orient %4d/%-4d pkts %4d/%-4d\n",
			rel, tl.rows, tl.matched, tl.stateEq, tl.stateN, tl.histEq, tl.histN, tl.orientEq, tl.matched, tl.pktsEq, tl.pktsN)
		for _, d := range diffs {
			report.WriteString("    " + d + "\n")
		}
		if rel == "llc.pcap" {
			llc.add(tl)
		} else {
			total.add(tl)
		}
	}
	t.Logf("per trace:\n%s", report.String())
	for _, s := range skipped {
		t.Logf("skipped %s", s)
	}
	t.Logf("llc.pcap alone: %s", llc)
	t.Logf("TOTAL (without llc.pcap): %s", total)
	if total.stateN > 0 && float64(total.stateEq) < 0.98*float64(total.stateN) {
		t.Errorf("conn_state agreement %d/%d below 98%%", total.stateEq, total.stateN)
	}
	if total.histN > 0 && float64(total.histEq) < 0.95*float64(total.histN) {
		t.Errorf("history agreement %d/%d below 95%%", total.histEq, total.histN)
	}
}

type tally struct {
	rows, matched, extra    int
	stateEq, stateN         int
	histEq, histN           int
	orientEq, pktsEq, pktsN int
}

func (a *tally) add(b tally) {
	a.rows += b.rows
	a.matched += b.matched
	a.extra += b.extra
	a.stateEq += b.stateEq
	a.stateN += b.stateN
	a.histEq += b.histEq
	a.histN += b.histN
	a.orientEq += b.orientEq
	a.pktsEq += b.pktsEq
	a.pktsN += b.pktsN
}

func pct(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return 100 * float64(a) / float64(b)
}

func (a tally) String() string {
	return fmt.Sprintf("rows %d, matched %d (extra records %d); conn_state %d/%d (%.1f%%); history %d/%d (%.1f%%); orientation %d/%d; pkts %d/%d",
		a.rows, a.matched, a.extra, a.stateEq, a.stateN, pct(a.stateEq, a.stateN), a.histEq, a.histN, pct(a.histEq, a.histN),
		a.orientEq, a.matched, a.pktsEq, a.pktsN)
}

func compare(trace string, rows []*wantRow, recs []record, tl *tally) []string {
	var diffs []string
	tl.rows = len(rows)
	byKey := map[tupleKey][]*wantRow{}
	for _, r := range rows {
		k := keyOf(r.orig, r.resp)
		byKey[k] = append(byKey[k], r)
	}
	for _, rec := range recs {
		var w *wantRow
		for _, r := range byKey[keyOf(rec.orig, rec.resp)] {
			if !r.matched && abs(r.ts-rec.ts) <= int64(time.Millisecond) {
				w = r
				break
			}
		}
		if w == nil {
			tl.extra++
			continue
		}
		w.matched = true
		tl.matched++
		s := rec.sum
		id := fmt.Sprintf("%s %s %s -> %s", trace, time.Unix(0, w.ts).UTC().Format("15:04:05.000000"), w.orig, w.resp)
		var bad []string
		if w.state != "-" {
			tl.stateN++
			if w.state == s.State {
				tl.stateEq++
			} else {
				bad = append(bad, fmt.Sprintf("state want %s got %s", w.state, s.State))
			}
		}
		if w.history != "-" {
			tl.histN++
			if w.history == s.History {
				tl.histEq++
			} else {
				bad = append(bad, fmt.Sprintf("history want %s got %s", w.history, s.History))
			}
		}
		if rec.orig == w.orig && rec.resp == w.resp {
			tl.orientEq++
		} else {
			bad = append(bad, fmt.Sprintf("orig want %s got %s", w.orig, rec.orig))
		}
		if w.origPkts != "-" {
			tl.pktsN++
			got := fmt.Sprintf("%d/%d", s.OrigPkts, s.RespPkts)
			if want := w.origPkts + "/" + w.respPk; want == got {
				tl.pktsEq++
			} else {
				bad = append(bad, fmt.Sprintf("pkts want %s got %s", want, got))
			}
		}
		if len(bad) > 0 && len(diffs) < 25 {
			diffs = append(diffs, id+": "+strings.Join(bad, "; ")+fmt.Sprintf(" [%s/%s]", s.OrigState, s.RespState))
		}
	}
	for _, r := range rows {
		if !r.matched && len(diffs) < 25 {
			diffs = append(diffs, fmt.Sprintf("%s %s %s -> %s: no record (want %s %s)", trace,
				time.Unix(0, r.ts).UTC().Format("15:04:05.000000"), r.orig, r.resp, r.state, r.history))
		}
	}
	return diffs
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// replay groups packets into Zeek connections and runs them.
func replay(pkts []pkt) []record {
	type live struct {
		c              *zeek.Conn
		client, server netip.AddrPort
		rec            record
	}
	lives := map[tupleKey]*live{}
	var out []record
	finish := func(l *live) {
		l.rec.sum = l.c.Summary()
		l.rec.orig, l.rec.resp = l.client, l.server
		if !l.rec.sum.OrigIsClient {
			l.rec.orig, l.rec.resp = l.server, l.client
		}
		out = append(out, l.rec)
	}
	for i := range pkts {
		p := &pkts[i]
		k := keyOf(p.src, p.dst)
		l := lives[k]
		if l != nil {
			p.seg.Dir = fsm.FromServer
			if p.src == l.client {
				p.seg.Dir = fsm.FromClient
			}
			if l.c.NewConnection(&p.seg) {
				finish(l)
				l = nil
			}
		}
		if l == nil {
			p.seg.Dir = fsm.FromClient
			l = &live{client: p.src, server: p.dst, rec: record{ts: p.ts}}
			l.c = zeek.NewConn(&p.seg, p.src.Port(), p.dst.Port())
			lives[k] = l
		}
		l.c.Step(&p.seg, p.badSum)
	}
	var rest []*live
	for _, l := range lives {
		rest = append(rest, l)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].rec.ts < rest[j].rec.ts })
	for _, l := range rest {
		finish(l)
	}
	return out
}

func readManifest(t *testing.T, dir string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			continue
		}
		m[f[0]] = strings.Contains(f[4], "checksums validated")
	}
	return m
}

func readRows(path string) ([]*wantRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []*wantRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 10 {
			return nil, fmt.Errorf("line %d: %d fields", i+1, len(f))
		}
		ts, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, err
		}
		sec, frac := math.Modf(ts)
		r := &wantRow{ts: int64(sec)*1e9 + int64(math.Round(frac*1e6))*1e3, state: f[6], history: f[7], origPkts: f[8], respPk: f[9]}
		op, _ := strconv.Atoi(f[2])
		rp, _ := strconv.Atoi(f[4])
		oa, err1 := netip.ParseAddr(f[1])
		ra, err2 := netip.ParseAddr(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: bad address", i+1)
		}
		r.orig, r.resp = netip.AddrPortFrom(oa.Unmap(), uint16(op)), netip.AddrPortFrom(ra.Unmap(), uint16(rp))
		rows = append(rows, r)
	}
	return rows, nil
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readTrace decodes the TCP packets of a pcap or pcapng file: Ethernet
// (VLAN, MPLS, PPPoE as gopacket knows them), raw IP, BSD loopback, Linux
// SLL and FDDI link types.
func readTrace(path string, validate bool) ([]pkt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var src packetSource
	linkOf := func(int) layers.LinkType { return 0 }
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{})
		if err != nil {
			return nil, err
		}
		src = ngSource{r}
		linkOf = func(i int) layers.LinkType {
			if ifc, err := r.Interface(i); err == nil {
				return ifc.LinkType
			}
			return r.LinkType()
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		src = r
		lt := r.LinkType()
		linkOf = func(int) layers.LinkType { return lt }
	}
	var out []pkt
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(out) > 0 {
				break // a truncated capture: keep what was read
			}
			return nil, err
		}
		p, ok := decode(data, linkOf(ci.InterfaceIndex), validate)
		if !ok {
			continue
		}
		p.ts = ci.Timestamp.UnixNano()
		p.seg.Time = p.ts
		out = append(out, p)
	}
	return out, nil
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) { return s.r.ReadPacketData() }

func decode(data []byte, lt layers.LinkType, validate bool) (pkt, bool) {
	var first gopacket.Decoder = lt
	switch lt {
	case layers.LinkTypeIPv4:
		first = layers.LayerTypeIPv4
	case 229:
		first = layers.LayerTypeIPv6
	}
	packet := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
	var ipLayer gopacket.Layer
	var extLen int
	for _, l := range packet.Layers() {
		switch v := l.(type) {
		case *layers.IPv4, *layers.IPv6:
			ipLayer, extLen = l, 0
		case *layers.IPv6HopByHop, *layers.IPv6Destination, *layers.IPv6Routing:
			extLen += len(v.LayerContents())
		case *layers.TCP:
			return fromTCP(ipLayer, extLen, v, validate)
		}
	}
	return pkt{}, false
}

func fromTCP(ipLayer gopacket.Layer, extLen int, tcp *layers.TCP, validate bool) (pkt, bool) {
	var p pkt
	var srcA, dstA netip.Addr
	var tcpLen, ipLen int
	var pseudo []byte
	switch ip := ipLayer.(type) {
	case *layers.IPv4:
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return p, false
		}
		srcA, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dstA, _ = netip.AddrFromSlice(ip.DstIP.To4())
		ipLen = int(ip.Length)
		if ipLen == 0 {
			ipLen = len(ip.Contents) + len(ip.Payload)
		}
		tcpLen = ipLen - int(ip.IHL)*4
		pseudo = append(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, 6, byte(tcpLen>>8), byte(tcpLen))
	case *layers.IPv6:
		srcA, _ = netip.AddrFromSlice(ip.SrcIP.To16())
		dstA, _ = netip.AddrFromSlice(ip.DstIP.To16())
		ipLen = int(ip.Length) + 40
		tcpLen = int(ip.Length) - extLen
		pseudo = append(append(append([]byte{}, ip.SrcIP.To16()...), ip.DstIP.To16()...), 0, 0, byte(tcpLen>>8), byte(tcpLen), 0, 0, 0, 6)
	default:
		return p, false
	}
	p.src = netip.AddrPortFrom(srcA.Unmap(), uint16(tcp.SrcPort))
	p.dst = netip.AddrPortFrom(dstA.Unmap(), uint16(tcp.DstPort))
	var f fsm.Flags
	for _, x := range []struct {
		on bool
		f  fsm.Flags
	}{{tcp.FIN, fsm.FIN}, {tcp.SYN, fsm.SYN}, {tcp.RST, fsm.RST}, {tcp.PSH, fsm.PSH}, {tcp.ACK, fsm.ACK}, {tcp.URG, fsm.URG}, {tcp.ECE, fsm.ECE}, {tcp.CWR, fsm.CWR}, {tcp.NS, fsm.NS}} {
		if x.on {
			f |= x.f
		}
	}
	n := tcpLen - int(tcp.DataOffset)*4
	if n < 0 {
		return p, false
	}
	p.seg = fsm.Segment{Flags: f, Seq: tcp.Seq, Ack: tcp.Ack, Window: tcp.Window, Len: n, IPLen: ipLen, WindowScale: -1}
	if validate {
		raw := append(append([]byte{}, tcp.Contents...), tcp.Payload...)
		if len(raw) >= tcpLen {
			p.badSum = !checksumOK(pseudo, raw[:tcpLen])
		}
	}
	return p, true
}

func checksumOK(pseudo, seg []byte) bool {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(pseudo)
	add(seg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}
