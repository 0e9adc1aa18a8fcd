package minheap

// For its -update flag: go test ./... -update hands the flag to this
// package's tests too, which would fail on a flag they do not define.
import _ "github.com/tcpfsm/tcpfsm/internal/golden"
