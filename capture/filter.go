package capture

import "errors"

// A FilterCompiler compiles tcpdump-style BPF expressions for
// Options.Filter. The one there is, capture/libpcap's Compiler, has
// libpcap itself compile them, so that an expression means exactly what
// it means to tcpdump; it is cgo, which is why it lives apart and this
// package, pure Go, is handed it rather than importing it.
type FilterCompiler interface {
	// CompileFilter compiles expr for frames of link type link (a
	// LINKTYPE_ value, as files store it) captured with snaplen bytes at
	// most (0: any). The error is the compiler's own message ("can't parse
	// filter expression: syntax error"); the Reader adds the file, the
	// expression and the link type.
	CompileFilter(link uint32, snaplen int, expr string) (Filter, error)
}

// A Filter is one compiled expression for one link type.
type Filter interface {
	// Matches runs the filter over one frame; origLen is its length on the
	// wire, which expressions like "greater 100" test. It may modify data
	// in ways the decoder does not see (capture/libpcap rewrites a
	// loopback header's address family into the form libpcap expects).
	Matches(data []byte, origLen int) bool
	// Close releases the compiled program.
	Close()
}

// errNoFilterCompiler is what compiling a filter says when the caller
// gave an expression but no compiler to compile it with.
var errNoFilterCompiler = errors.New("no filter compiler (Options.FilterCompiler: capture/libpcap's Compiler)")

// compileFilter compiles the Reader's filter for link type lt.
func compileFilter(c FilterCompiler, lt linkType, expr string) (Filter, error) {
	if c == nil {
		return nil, errNoFilterCompiler
	}
	return c.CompileFilter(uint32(lt), 0, expr)
}
