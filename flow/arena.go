package flow

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// arena holds the memory of a table's slabs of values without pointers,
// and of its index, outside the Go heap where the system allows (see
// mapMemory): mapped from the system as the table grows, and given back
// to it when the table compacts or is flushed, or when the table is
// collected.
//
// The collector lets the heap grow past what it found alive by GOGC
// percent (50, as tcpfsm sets it) before it runs again, and the runtime
// keeps up to a tenth over that goal mapped: 100 MB of connections in the
// heap cost up to 165 MB of RSS. The connections of a SYN flood, the bulk
// of what the table holds, have no pointers for the collector to follow,
// and need not be counted in its goal: out of the heap, they cost their
// size.
type arena struct {
	mapped map[*byte][]byte // by the address of the first byte
	// bytes is the size of mapped, read by size, which may run on
	// another goroutine than the cleanup that releases a.
	bytes atomic.Int64
}

// mappedBytes is what every arena holds: see MappedBytes.
var mappedBytes atomic.Int64

// MappedBytes is the memory the tables of this process hold out of the Go
// heap (runtime.MemStats counts none of it): with the live heap, what
// their analyses hold.
func MappedBytes() int64 { return mappedBytes.Load() }

// count notes n more bytes mapped by a.
func (a *arena) count(n int) {
	a.bytes.Add(int64(n))
	mappedBytes.Add(int64(n))
}

// arenaSlice returns n zero values of T from a, or from the Go heap when
// a is nil or the system maps no memory. T must hold no pointers: the
// collector does not see the memory of an arena.
func arenaSlice[T any](a *arena, n int) []T {
	size := n * int(unsafe.Sizeof(*new(T)))
	if a == nil || size == 0 {
		return make([]T, n)
	}
	b, ok := mapMemory(size)
	if !ok {
		return make([]T, n)
	}
	if a.mapped == nil {
		a.mapped = map[*byte][]byte{}
	}
	a.mapped[&b[0]] = b
	a.count(len(b))
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// giveBack gives back s, which arenaSlice returned: to the system if a
// mapped it, and to the collector otherwise. Nothing may use s after.
func giveBack[T any](a *arena, s []T) {
	if a == nil || cap(s) == 0 {
		return
	}
	p := (*byte)(unsafe.Pointer(unsafe.SliceData(s)))
	if b, ok := a.mapped[p]; ok {
		a.unmap(p, b)
	}
}

// release gives back all the memory a mapped, when no value in it is
// used any more: its table was collected.
func (a *arena) release() {
	for p, b := range a.mapped {
		a.unmap(p, b)
	}
}

// unmap gives b, mapped at p, back to the system.
func (a *arena) unmap(p *byte, b []byte) {
	delete(a.mapped, p)
	a.count(-len(b))
	unmapMemory(b)
}

// size is how many bytes a holds mapped.
func (a *arena) size() int { return int(a.bytes.Load()) }

// pointerFree reports whether values of t hold no pointers, and may live
// in an arena.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
