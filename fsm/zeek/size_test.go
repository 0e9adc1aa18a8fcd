package zeek

import (
	"testing"
	"unsafe"
)

// TestConnSize: a Conn fits the 512-byte size class, with the reassembler's
// hole blocks allocated only for a connection that has holes.
func TestConnSize(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); size > 512 {
		t.Errorf("Conn is %d bytes, over 512", size)
	}
	if size := unsafe.Sizeof(reassembler{}); size > 40 {
		t.Errorf("reassembler is %d bytes, over 40: are the hole blocks inline again?", size)
	}
}
