//go:build !unix

package flow

// mapMemory maps nothing where the system has no anonymous mappings in
// package syscall: the slabs stay in the Go heap.
func mapMemory(size int) ([]byte, bool) { return nil, false }

func unmapMemory(b []byte) {}
