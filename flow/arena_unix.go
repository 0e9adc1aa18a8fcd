//go:build unix

package flow

import "syscall"

// mapMemory maps size bytes of zeroed memory, private to the process.
func mapMemory(size int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	return b, err == nil
}

func unmapMemory(b []byte) { syscall.Munmap(b) }
