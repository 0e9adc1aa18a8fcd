package fsm

import (
	"testing"
	"unsafe"
)

// TestConnSize: a Conn fits the 320-byte size class, and its endpoint and
// direction pack without holes (a table holds hundreds of thousands).
func TestConnSize(t *testing.T) {
	for _, c := range []struct {
		what      string
		size, max uintptr
	}{
		{"Conn", unsafe.Sizeof(Conn{}), 320},
		{"endpoint", unsafe.Sizeof(endpoint{}), 128},
		{"direction", unsafe.Sizeof(direction{}), 28},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, over %d", c.what, c.size, c.max)
		}
	}
}
