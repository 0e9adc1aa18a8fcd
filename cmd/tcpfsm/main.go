// Command tcpfsm reads a packet capture and reports, for every TCP
// connection in it, how it opened, how it closed, the RFC 793 state each
// endpoint was left in, and what went wrong.
//
// Run "tcpfsm --help" for usage; README.md documents the output.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
