package diagnose

import "flag"

// Golden files live in cmd/tcpfsm; the flag is accepted here so that
// "go test ./... -update" runs in every package.
var _ = flag.Bool("update", false, "rewrite golden files (used by cmd/tcpfsm)")
