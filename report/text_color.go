package report

import (
	"strings"

	"github.com/fatih/color"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// The colours of the text report (--color): a pen per kind of word.

// palette maps meaning to colour in one place.
type palette struct {
	id, addr, head, label, warn, bad, good, flags, muted, transition *pen
}

// pen is a colour that can also be appended: the escape sequences the
// color package puts around text, taken from it once, so that the report
// of a million connections appends bytes instead of building strings.
type pen struct {
	*color.Color
	pre, post string
}

func newPen(c *color.Color) *pen {
	s := c.Sprint("\x00")
	i := strings.IndexByte(s, 0)
	return &pen{Color: c, pre: s[:i], post: s[i+1:]}
}

// append appends s in the pen's colour: what Sprint(s) returns.
func (p *pen) append(b []byte, s string) []byte {
	return append(append(append(b, p.pre...), s...), p.post...)
}

func newPalette(on bool) palette {
	mk := func(a ...color.Attribute) *pen {
		c := color.New(a...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return newPen(c)
	}
	return palette{
		id: mk(color.Faint), addr: mk(color.Bold), head: mk(color.Bold, color.Underline),
		label: mk(color.FgCyan), warn: mk(color.FgYellow), bad: mk(color.FgRed, color.Bold),
		good: mk(color.FgGreen), flags: mk(color.FgMagenta), muted: mk(color.Faint),
		transition: mk(color.FgBlue),
	}
}

func (p *palette) handshake(h string) string { return p.handshakePen(h).Sprint(h) }

func (p *palette) handshakePen(h string) *pen {
	switch h {
	case fsm.HandshakeComplete, fsm.HandshakeSimultaneous:
		return p.good
	case fsm.HandshakeMidstream:
		return p.muted
	}
	return p.bad
}

func (p *palette) close(c string) string { return p.closePen(c).Sprint(c) }

func (p *palette) closePen(c string) *pen {
	switch c {
	case fsm.CloseFIN:
		return p.good
	case fsm.CloseRSTClient, fsm.CloseRSTServer:
		return p.bad
	case fsm.CloseNone, fsm.CloseOpen:
		return p.muted
	}
	return p.warn
}

func (p *palette) state(s fsm.State) string {
	if pn := p.statePen(s); pn != nil {
		return pn.Sprint(s)
	}
	return s.String()
}

// appendState appends what state returns.
func (p *palette) appendState(b []byte, s fsm.State) []byte {
	if pn := p.statePen(s); pn != nil {
		return pn.append(b, s.String())
	}
	return append(b, s.String()...)
}

// statePen is the colour of a state, nil for none.
func (p *palette) statePen(s fsm.State) *pen {
	switch s {
	case fsm.Established:
		return p.good
	case fsm.Closed, fsm.TimeWait, fsm.Listen:
		return p.muted
	case fsm.CloseWait, fsm.SynRcvd, fsm.SynSent:
		return p.warn
	}
	return nil
}
