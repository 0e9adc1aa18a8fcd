package report

import (
	"strconv"
	"unicode/utf8"
)

// QuoteName returns a file or interface name fit to print for a person.
// An ordinary name (every character printable, spaces included) is
// returned as it is, so x.pcap reads as x.pcap; any other is quoted as
// Go's %q quotes it, so that a name holding a newline, a terminal escape,
// a bidirectional override or bytes that are not UTF-8 cannot break a
// one-line message or reach the terminal raw.
func QuoteName(name string) string {
	if !utf8.ValidString(name) {
		return strconv.Quote(name)
	}
	for _, r := range name {
		if !strconv.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}
