// Package libpcap is tcpfsm's one room with cgo: what it needs of libpcap
// that a pure-Go package cannot do, behind package capture's interfaces,
// as gopacket keeps pcap (cgo) apart from pcapgo (pure Go).
//
//   - OpenLive captures on a network interface and returns a
//     capture.Reader, the same Reader a file gives: the handle it opens is
//     a capture.LiveHandle, which capture.NewLiveReader reads. Interfaces
//     lists what can be captured on, as tcpdump -D does.
//   - Compiler compiles BPF filter expressions with libpcap, so that an
//     expression means exactly what it means to tcpdump; a caller that
//     reads files with capture.Options.Filter passes Compiler{} as
//     capture.Options.FilterCompiler.
//   - Version is the version of libpcap linked in.
//
// Capturing needs root or CAP_NET_RAW; without them OpenLive says how to
// grant them (capture.ErrPermission); other failures to open an interface
// are capture.ErrNoSuchInterface, capture.ErrFilter,
// capture.ErrUnsupportedLinkType or, with no sentinel, libpcap's own words
// ("ifb0: That device is not up").
//
// Package capture keeps libpcap's names of link types in a table of its
// own (linktype_names.go), which TestLinkTypeNames here holds to this
// libpcap's, so that it names a link type it cannot decode as tcpdump does
// without cgo.
package libpcap
