package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The reverse lookup (Options.AppError): from an error an application
// logged ("recv: Connection reset by peer"), the connections where a side
// saw it, grouped by server endpoint, each group with the diagnoses raised
// on that server, which say why. The report lists those connections only;
// its summary and diagnoses are of the whole capture.

// ParseAppError reads the name or the number of an error an application
// saw, as Linux spells and numbers it ("ECONNRESET", "econnreset", "104"),
// and returns its name.
func ParseAppError(s string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(s))
	if _, ok := fsm.Errnos[up]; ok {
		return up, nil
	}
	if n, err := strconv.Atoi(up); err == nil {
		for name, num := range fsm.Errnos {
			if num == n {
				return name, nil
			}
		}
	}
	names := make([]string, 0, len(fsm.Errnos))
	for name, num := range fsm.Errnos {
		names = append(names, fmt.Sprintf("%s (%d)", name, num))
	}
	slices.Sort(names)
	return "", fmt.Errorf("--app-error %q: want one of %s, by name or number", s, strings.Join(names, ", "))
}

// maxAppErrorServers bounds the server endpoints the lookup tells apart; the
// connections of the others are counted together.
const maxAppErrorServers = 10000

// appErrors gathers, for one error, the connections where a side saw it.
type appErrors struct {
	name    string
	errno   int
	n       int // connections
	servers map[netip.AddrPort]*appErrorServer
	others  int // connections on servers past maxAppErrorServers
}

// appErrorServer is one group: the connections to one server endpoint.
type appErrorServer struct {
	n        int
	examples []uint64
	// calls counts, per side and call, the connections where that call
	// returned the error ("client recv").
	calls map[string]int
}

func newAppErrors(name string) *appErrors {
	if name == "" {
		return nil
	}
	return &appErrors{name: name, errno: fsm.Errnos[name], servers: map[netip.AddrPort]*appErrorServer{}}
}

// add reports whether a side of r saw the error, and counts it if so.
func (a *appErrors) add(r *flow.Record) bool {
	var calls []string
	for _, side := range [2]struct {
		name string
		s    *fsm.AppSide
	}{{"client", &r.App.Client}, {"server", &r.App.Server}} {
		for _, c := range side.s.Outcomes() {
			if c[1] == a.name {
				calls = append(calls, side.name+" "+c[0])
			}
		}
	}
	if len(calls) == 0 {
		return false
	}
	a.n++
	g := a.servers[r.ServerAddr]
	if g == nil {
		if len(a.servers) >= maxAppErrorServers {
			a.others++
			return true
		}
		g = &appErrorServer{calls: map[string]int{}}
		a.servers[r.ServerAddr] = g
	}
	g.n++
	if len(g.examples) < diagnose.MaxExamples {
		g.examples = append(g.examples, r.ID)
	}
	for _, c := range calls {
		g.calls[c]++
	}
	return true
}

// causes are, for each error, the diagnoses that can be why an application
// saw it: a diagnosis raised on a group's server explains the group when it
// is one of these.
var causes = map[string][]string{
	fsm.ECONNRESET:   {diagnose.AcceptQueueOverflow, diagnose.HalfOpenPeer, diagnose.CloseWaitLeak, diagnose.SynFlood},
	fsm.ETIMEDOUT:    {diagnose.HalfOpenPeer, diagnose.SynUnanswered, diagnose.AcceptQueueOverflow, diagnose.SynFlood, diagnose.Keepalive, diagnose.ZeroWindowStall},
	fsm.EINPROGRESS:  {diagnose.SynUnanswered, diagnose.AcceptQueueOverflow, diagnose.SynFlood},
	fsm.EPIPE:        {diagnose.AcceptQueueOverflow, diagnose.CloseWaitLeak},
	fsm.ECONNREFUSED: nil, // nobody listened: no diagnosis of the server says more
	// An ICMP error from the path or the server's host: each record names
	// it and its sender's verdict; no diagnosis of the server says more.
	fsm.EHOSTUNREACH: nil,
	fsm.ENETUNREACH:  nil,
	fsm.EACCES:       nil,
	fsm.ENOPROTOOPT:  nil,
	fsm.EOPNOTSUPP:   nil,
	fsm.EHOSTDOWN:    nil,
	fsm.ENONET:       nil,
	fsm.EPROTO:       nil,
}

// appErrorGroup is a group as reports show it.
type appErrorGroup struct {
	Server      string         `json:"server"`
	Connections int            `json:"connections"`
	Calls       map[string]int `json:"calls"`
	Examples    []uint64       `json:"examples"`
	Diagnoses   []string       `json:"diagnoses"`
}

// groups returns the groups, most connections first, each with the names
// of the diagnoses raised on its server (the listener, or its host) that
// can cause the error.
func (a *appErrors) groups(ds []diagnose.Diagnosis) []appErrorGroup {
	out := make([]appErrorGroup, 0, len(a.servers))
	for ep, g := range a.servers {
		ep = netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port())
		gr := appErrorGroup{Server: ep.String(), Connections: g.n, Calls: g.calls, Examples: g.examples, Diagnoses: []string{}}
		for _, d := range ds {
			if (d.Endpoint == gr.Server || d.Endpoint == ep.Addr().String()) && slices.Contains(causes[a.name], d.Name) {
				gr.Diagnoses = append(gr.Diagnoses, d.Name)
			}
		}
		out = append(out, gr)
	}
	slices.SortFunc(out, func(x, y appErrorGroup) int {
		return cmp.Or(cmp.Compare(y.Connections, x.Connections), cmp.Compare(x.Server, y.Server))
	})
	return out
}

// appErrorJSON is the summary's "app_error" object.
type appErrorJSON struct {
	Error       string          `json:"error"`
	Errno       int             `json:"errno"`
	Connections int             `json:"connections"`
	Servers     []appErrorGroup `json:"servers"`
	Others      int             `json:"other_servers_connections,omitempty"`
}

func (a *appErrors) json(ds []diagnose.Diagnosis) *appErrorJSON {
	if a == nil {
		return nil
	}
	return &appErrorJSON{Error: a.name, Errno: a.errno, Connections: a.n, Servers: a.groups(ds), Others: a.others}
}

// writeText writes the lookup's section of the text report.
func (a *appErrors) writeText(b *strings.Builder, ds []diagnose.Diagnosis, p *palette) {
	groups := a.groups(ds)
	fmt.Fprintf(b, "%s %s (%d): %s", p.head.Sprint("Application error"), a.name, a.errno, nouns(a.n, "connection"))
	if a.n == 0 {
		b.WriteString(": no side of any connection saw it\n")
		return
	}
	fmt.Fprintf(b, " on %s", nouns(len(groups), "server"))
	if a.others > 0 {
		fmt.Fprintf(b, ", and %s on servers not told apart", nouns(a.others, "connection"))
	}
	b.WriteString("; they are the connections listed below\n")
	for _, g := range groups {
		calls := make([]string, 0, len(g.Calls))
		for c, n := range g.Calls {
			calls = append(calls, fmt.Sprintf("%s() %d", c, n))
		}
		slices.Sort(calls)
		ids := make([]string, len(g.Examples))
		for i, id := range g.Examples {
			ids[i] = "#" + strconv.FormatUint(id, 10)
		}
		fmt.Fprintf(b, "  %s  %s (%s), e.g. %s\n", g.Server, nouns(g.Connections, "connection"), strings.Join(calls, ", "), strings.Join(ids, " "))
		if len(g.Diagnoses) == 0 {
			b.WriteString("    no diagnosis was raised on this server: each connection's app line says what happened\n")
		}
		for _, name := range g.Diagnoses {
			fmt.Fprintf(b, "    see %s above: %s\n", name, diagnose.Summary(name))
		}
	}
}

// nouns is n and the noun as n of it are said (see nounFor).
func nouns(n int, noun string) string { return fmt.Sprintf("%d %s", n, nounFor(uint64(n), noun)) }
