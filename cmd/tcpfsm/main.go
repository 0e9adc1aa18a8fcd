// Command tcpfsm reads a packet capture and reports, for every TCP
// connection in it, how it opened, how it closed, the RFC 793 state each
// endpoint was left in, and what went wrong.
//
// Run "tcpfsm --help" for usage; README.md documents the output.
package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target, unless GOGC says otherwise.
// Most of tcpfsm's heap is connection state that lives as long as the
// connection and little else is allocated per packet, so collecting at half
// again the live heap, rather than Go's default of twice, costs little time
// and keeps the peak memory of a flood a third lower.
const gcPercent = 50

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdin, standardOutput(), os.Stderr))
}

// tuneGC sets the collector's target to gcPercent, unless GOGC chose one.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
