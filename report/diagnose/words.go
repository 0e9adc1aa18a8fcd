package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// backoff reads a SYN (or SYN/ACK) schedule as the capture has it. Linux
// doubles the wait from 1 s, so the number of doubling gaps is the number
// of retries the knob (tcp_syn_retries, tcp_synack_retries) allowed so far;
// a SYN schedule may first keep a constant interval for
// tcp_syn_linear_timeouts retries (Linux 6.5 and later) and double after.
func backoff(times []int64, what, knob string) string {
	if len(times) < 2 {
		return ""
	}
	gaps := make([]string, 0, len(times)-1)
	linear, doubling := 0, true // linear: the leading gaps equal to the first
	for i := 1; i < len(times); i++ {
		gap := times[i] - times[i-1]
		gaps = append(gaps, dur(gap))
		if i == 1 {
			continue
		}
		prev := times[i-1] - times[i-2]
		switch {
		case linear == i-2 && doubling && gap >= prev*3/4 && gap <= prev*5/4:
			linear++ // still at the first interval
		case gap < prev*3/2 || gap > prev*5/2:
			doubling = false
		}
	}
	text := fmt.Sprintf("The first %s was resent after %s", what, strings.Join(gaps, ", "))
	switch n := len(gaps); {
	case !doubling || n < 2, linear > 0 && what != "SYN": // linear timeouts are for SYNs only
		return text + "."
	case linear == 0:
		return text + fmt.Sprintf(": exponential backoff, as Linux resends a %s, so %s allowed at least %d retries.", what, knob, n)
	case linear == n-1:
		return text + fmt.Sprintf(": a constant interval, as Linux keeps for the first tcp_syn_linear_timeouts retries of a %s, so %s allowed at least %d retries.", what, knob, n)
	}
	return text + fmt.Sprintf(": the first %d at a constant interval (tcp_syn_linear_timeouts), then exponential backoff, so %s allowed at least %d retries.", linear+1, knob, len(gaps))
}

// countVerb is count with the verb agreeing: countVerb(n, "connection
// was", "connections were").
func countVerb(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func dur(ns int64) string {
	return time.Duration(ns).Round(time.Millisecond).String()
}

// clock prints a packet time as the text report does, in UTC so the
// words are the same on every machine.
func clock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("15:04:05.000000")
}
