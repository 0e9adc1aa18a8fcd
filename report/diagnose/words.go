package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// backoff reads a SYN (or SYN/ACK) schedule: Linux doubles the wait from
// 1 s, so the number of doubling gaps is the number of retries knob
// (tcp_syn_retries, tcp_synack_retries) allowed so far.
func backoff(times []int64, what, knob string) string {
	if len(times) < 2 {
		return ""
	}
	gaps := make([]string, 0, len(times)-1)
	doubling := true
	for i := 1; i < len(times); i++ {
		gap := times[i] - times[i-1]
		gaps = append(gaps, dur(gap))
		if i > 1 {
			prev := times[i-1] - times[i-2]
			if gap < prev*3/2 || gap > prev*5/2 {
				doubling = false
			}
		}
	}
	text := fmt.Sprintf("The first %s was resent after %s", what, strings.Join(gaps, ", "))
	if doubling && len(gaps) > 1 {
		return text + fmt.Sprintf(": exponential backoff, as Linux resends a %s, so %s allowed at least %d retries.", what, knob, len(gaps))
	}
	return text + "."
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
