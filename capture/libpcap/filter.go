package libpcap

// The BPF filter is compiled and run by libpcap itself, so an expression
// means exactly what it means to tcpdump. It calls libpcap directly rather
// than through gopacket/pcap because pcap.NewBPF takes a layers.LinkType,
// a uint8 in gopacket v1.1.19, and so cannot compile for LINUX_SLL2 (276),
// IPV4 (228) or IPV6 (229).

/*
#cgo LDFLAGS: -lpcap
#include <stdlib.h>
#include <sys/socket.h>
#include <pcap/pcap.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"runtime"
	"unsafe"

	"github.com/tcpfsm/tcpfsm/capture"
)

// The LINKTYPE_ values (what files store) that filtering treats apart:
// those whose DLT_ value (what libpcap's compiler takes) differs, and the
// loopback headers whose address family it rewrites.
const (
	linkNull       = 0   // BSD loopback: 4-byte AF_ value in the writer's byte order
	linkRawDLT12   = 12  // raw IP, as DLT_RAW is numbered on most systems
	linkRawDLT14   = 14  // raw IP, as DLT_RAW is numbered on BSD/OS and OpenBSD
	linkATMRFC1483 = 100 // LLC/SNAP-encapsulated ATM
	linkRaw        = 101 // LINKTYPE_RAW: raw IPv4 or IPv6
	linkLoop       = 108 // OpenBSD loopback: 4-byte AF_ value, network byte order
	linkIPv4       = 228 // raw IPv4 only
	linkIPv6       = 229 // raw IPv6 only
	linkLinuxSLL2  = 276 // Linux cooked capture v2
)

// Compiler compiles capture.Options.Filter with libpcap, for files:
// pass Compiler{} as capture.Options.FilterCompiler. libpcap 1.8 and
// later make pcap_compile safe to call concurrently, so one Compiler
// serves any number of Readers.
type Compiler struct{}

// CompileFilter compiles expr with libpcap for link type link (a
// LINKTYPE_ value) and snaplen (0: libpcap's maximum). The error is
// libpcap's own message ("can't parse filter expression: syntax error").
func (Compiler) CompileFilter(link uint32, snaplen int, expr string) (capture.Filter, error) {
	return compileFilter(link, snaplen, expr)
}

// bpfFilter is one compiled expression for one link type. Its program
// lives in C memory; Close frees it (a cleanup frees it if Close is never
// called).
type bpfFilter struct {
	prog    *C.struct_bpf_program
	hdr     C.struct_pcap_pkthdr // reused: passing it to C must not allocate per packet
	link    uint32
	cleanup runtime.Cleanup
}

func compileFilter(lt uint32, snaplen int, expr string) (*bpfFilter, error) {
	if snaplen <= 0 || snaplen > 262144 {
		snaplen = 262144 // libpcap's MAXIMUM_SNAPLEN
	}
	dead := C.pcap_open_dead(dltOf(lt), C.int(snaplen))
	if dead == nil {
		return nil, errors.New("pcap_open_dead failed")
	}
	defer C.pcap_close(dead)

	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))

	prog := (*C.struct_bpf_program)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_bpf_program{}))))
	if prog == nil {
		return nil, errors.New("out of memory compiling filter")
	}
	if C.pcap_compile(dead, prog, cexpr, 1, C.PCAP_NETMASK_UNKNOWN) < 0 {
		C.free(unsafe.Pointer(prog))
		return nil, errors.New(C.GoString(C.pcap_geterr(dead)))
	}
	f := &bpfFilter{prog: prog, link: lt}
	f.cleanup = runtime.AddCleanup(f, freeProgram, prog)
	return f, nil
}

func freeProgram(prog *C.struct_bpf_program) {
	C.pcap_freecode(prog)
	C.free(unsafe.Pointer(prog))
}

// Close frees the program.
func (f *bpfFilter) Close() {
	if f.prog == nil {
		return
	}
	f.cleanup.Stop()
	freeProgram(f.prog)
	f.prog = nil
}

// Matches runs the filter over one frame. origLen is the length on the
// wire, which expressions like "greater 100" test. data may be modified:
// see normalizeLoopbackHeader.
func (f *bpfFilter) Matches(data []byte, origLen int) bool {
	if len(data) == 0 {
		// Nothing for a filter to look at, and &data[0] would panic.
		// libpcap rejects such a frame for any expression that reads it.
		return false
	}
	if f.link == linkNull || f.link == linkLoop {
		normalizeLoopbackHeader(data, f.link)
	}
	f.hdr.caplen = C.bpf_u_int32(len(data))
	f.hdr.len = C.bpf_u_int32(max(origLen, len(data)))
	return C.pcap_offline_filter(f.prog, &f.hdr, (*C.u_char)(unsafe.Pointer(&data[0]))) != 0
}

// normalizeLoopbackHeader rewrites the 4-byte address family of a
// DLT_NULL or DLT_LOOP frame the way libpcap's compiled code expects it. A
// filter compiled without a savefile behind it (pcap_open_dead) assumes
// that DLT_NULL is in this host's byte order, where the file has the
// writer's, and that IPv6 is this host's AF_INET6, where the file has the
// writer's (10 on Linux, 24, 28 or 30 on the BSDs and macOS). The decoder
// accepts all of these, so rewriting them changes nothing else.
func normalizeLoopbackHeader(data []byte, lt uint32) {
	if len(data) < 4 {
		return
	}
	// The family is small, so the byte order shows: as gopacket's Loopback does.
	var family uint32
	if data[0] == 0 && data[1] == 0 {
		family = binary.BigEndian.Uint32(data)
	} else {
		family = binary.LittleEndian.Uint32(data)
	}
	switch family {
	case 10, 24, 28, 30:
		family = C.AF_INET6
	}
	if lt == linkLoop {
		binary.BigEndian.PutUint32(data, family)
	} else {
		binary.NativeEndian.PutUint32(data, family)
	}
}

// dltOf maps a file's LINKTYPE_ value to the DLT_ value libpcap's compiler
// expects. They differ only for a few historical types.
func dltOf(lt uint32) C.int {
	switch lt {
	case linkRaw, linkRawDLT12, linkRawDLT14:
		return C.DLT_RAW
	case linkLoop:
		return C.DLT_LOOP
	case linkATMRFC1483:
		return C.DLT_ATM_RFC1483
	case linkIPv4:
		return C.DLT_IPV4
	case linkIPv6:
		return C.DLT_IPV6
	case linkLinuxSLL2:
		return C.DLT_LINUX_SLL2
	}
	return C.int(lt)
}

// linkTypeName is libpcap's short name for a link type it knows, or "".
func linkTypeName(lt uint32) string {
	if lt > 0xffff {
		return ""
	}
	name := C.pcap_datalink_val_to_name(dltOf(lt))
	if name == nil {
		return ""
	}
	return C.GoString(name)
}
