//go:build cgo

package capture_test

import (
	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/capture/libpcap"
)

func init() { capture.FilterCompilerForTests = libpcap.Compiler{} }
