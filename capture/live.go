package capture

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/google/gopacket/pcap"
)

// LiveOptions configure a live capture.
type LiveOptions struct {
	// Snaplen is how many bytes of each packet are kept; 0 (or less) means
	// DefaultLiveSnaplen. libpcap caps it at 262144.
	Snaplen int
	// BufferSize is the kernel capture buffer in bytes; 0 (or less) keeps
	// libpcap's default (2 MiB). A bigger buffer rides out longer bursts
	// before packets are dropped.
	BufferSize int
	// Promiscuous also captures frames addressed to other hosts.
	Promiscuous bool
	// Timeout is how long Next waits for a packet before returning
	// ErrTimeout; 0 (or less) means 250ms. It bounds how late the caller
	// notices that time passed, or that it was asked to stop.
	Timeout time.Duration
	// Save, if set, receives every record captured (TCP or not, but only
	// those the filter passed) as a classic pcap file with nanosecond
	// timestamps (magic 0xa1b23c4d), like tcpdump -w. Writes are buffered:
	// Reader.Flush and Close write them out. Close does not close Save.
	// Nothing is written to it before the interface and the filter are
	// open, so a caller may create the file at the first write and leave
	// an existing one untouched when OpenLive fails.
	Save io.Writer
	// SaveFiles, if set (and Save not), receives the same records, in a
	// file or a rotation of files as its Rotation says: OpenLive starts it
	// (creates its first file) once the interface and the filter are open.
	// Reader.Flush and Close flush it; Close does not close it. When it
	// reports its rotation complete (ErrFileLimit), the capture ends there
	// as a file does, with io.EOF.
	SaveFiles *RotatingWriter
}

// DefaultLiveSnaplen keeps headers only: link layer with VLAN tags or a
// tunnel, IPv6 with extension headers, and TCP with 40 bytes of options.
// Payload is not needed, and smaller copies mean fewer drops.
const DefaultLiveSnaplen = 256

// defaultLiveTimeout is LiveOptions.Timeout's default: short enough that a
// report or a stop request is not kept waiting on a quiet interface, long
// enough that waking up costs nothing.
const defaultLiveTimeout = 250 * time.Millisecond

// LiveStats are libpcap's counters for a live capture (pcap_stats(3PCAP):
// ps_recv, ps_drop, ps_ifdrop), since it was opened. What they count
// depends on the platform; on Linux, Received counts the packets that
// passed the filter, Dropped those among them the buffer had no room for,
// and IfDropped those the interface itself dropped.
type LiveStats struct {
	Received, Dropped, IfDropped uint64
}

// OpenLive starts capturing on interface iface ("eth0", "lo", "any") and
// returns a Reader that delivers its TCP segments as they arrive. Packets
// are handed over at once (immediate mode) rather than held in the kernel
// buffer until it fills, so Next sees each one as soon as it is captured.
//
// opt.Filter is compiled by libpcap for the interface's link type and run
// in the kernel, so packets it rejects are never copied to the process;
// they are not counted in Stats (Filtered stays 0).
//
// Errors name the interface: ErrPermission (with how to grant it),
// ErrNoSuchInterface (with the interfaces there are), ErrFilter,
// ErrUnsupportedLinkType, or libpcap's own message ("ifb0: That device is
// not up").
func OpenLive(iface string, lo LiveOptions, opt Options) (*Reader, error) {
	name := iface
	if name == "" {
		name = `""` // an error message must still name it
	}
	snaplen := lo.Snaplen
	if snaplen <= 0 {
		snaplen = DefaultLiveSnaplen
	}
	timeout := lo.Timeout
	if timeout <= 0 {
		timeout = defaultLiveTimeout
	}

	inactive, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	// A no-op once Activate has handed the pcap_t over to the Handle.
	defer inactive.CleanUp()
	// These fail only on an already activated handle, so their errors
	// (pcap_statustostr) are for the record, not for a user to act on.
	if err := inactive.SetSnapLen(snaplen); err != nil {
		return nil, fmt.Errorf("%s: setting the snapshot length: %v", name, err)
	}
	if err := inactive.SetPromisc(lo.Promiscuous); err != nil {
		return nil, fmt.Errorf("%s: setting promiscuous mode: %v", name, err)
	}
	if lo.BufferSize > 0 {
		if err := inactive.SetBufferSize(lo.BufferSize); err != nil {
			return nil, fmt.Errorf("%s: setting the buffer size: %v", name, err)
		}
	}
	// Without immediate mode, Linux (TPACKET_V3) hands packets over a block
	// at a time, so on a quiet interface a SYN could wait for the block
	// timeout before Next saw it.
	if err := inactive.SetImmediateMode(true); err != nil {
		return nil, fmt.Errorf("%s: setting immediate mode: %v", name, err)
	}
	// With a positive timeout, gopacket makes the handle non-blocking and
	// polls its descriptor for up to the timeout: that is what bounds Next.
	if err := inactive.SetTimeout(timeout); err != nil {
		return nil, fmt.Errorf("%s: setting the timeout: %v", name, err)
	}
	// Activate also asks libpcap for nanosecond timestamps.
	handle, err := inactive.Activate()
	if err != nil {
		return nil, activationError(name, inactive, err)
	}

	src := &liveSource{name: name, handle: handle, link: liveLinkType(handle)}
	src.links = []linkType{src.link}
	// The kernel runs the filter (below); the Reader must not compile and
	// run it a second time in user space.
	filter := opt.Filter
	opt.Filter = ""
	rd, err := newReader(name, src, opt, src)
	if err != nil {
		return nil, err // "nflog: unsupported link type NFLOG (239) (supported: ...)"; src is closed
	}
	rd.live = src

	if filter != "" {
		// libpcap compiles it for the handle's own link type (the full
		// DLT_ value, whatever LinkType() truncates it to) and snaplen. It
		// also filters in user space what reached the ring buffer before
		// the filter was set, so no packet slips through.
		if err := handle.SetBPFFilter(filter); err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: %w %q: %v", name, ErrFilter, filter, err)
		}
	}
	if lo.Save != nil {
		// The snaplen libpcap actually applied, which it may have capped.
		w, err := NewPcapWriter(lo.Save, uint32(src.link), handle.SnapLen())
		if err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: writing the capture file header: %w", name, err)
		}
		src.save = w
	} else if lo.SaveFiles != nil {
		if err := lo.SaveFiles.Start(uint32(src.link), handle.SnapLen()); err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: writing the capture file header: %w", name, err)
		}
		src.save = lo.SaveFiles
	}
	return rd, nil
}

// recordSaver is where a live capture saves its records: a PcapWriter on
// LiveOptions.Save, or LiveOptions.SaveFiles.
type recordSaver interface {
	WritePacket(ts time.Time, data []byte, origLen int) error
	Flush() error
}

// errNoPacket is what liveSource.next returns when the timeout passed with
// no packet. Reader.Next turns it into ErrTimeout without ending the
// reading, which it does for every other error from a source.
var errNoPacket = errors.New("no packet yet")

// liveSource is a live libpcap handle as a recordSource.
type liveSource struct {
	name   string
	handle *pcap.Handle // nil once closed
	link   linkType
	links  []linkType  // {link}: linkTypes returns it without allocating
	save   recordSaver // nil without LiveOptions.Save or SaveFiles

	// libpcap's counters are 32 bits (u_int) and wrap after 4 G packets,
	// an hour at a million packets a second; these widen them to 64.
	recv, drop, ifdrop counter32
	last               LiveStats // the latest counters, kept past Close
}

func (s *liveSource) linkTypes() []linkType { return s.links }

// next reads the next packet. ZeroCopyReadPacketData hands over libpcap's
// own buffer, which stays valid until the next call, as record.data must:
// no copy, no allocation.
func (s *liveSource) next(rec *record) error {
	if s.handle == nil {
		return io.EOF
	}
	data, ci, err := s.handle.ZeroCopyReadPacketData()
	switch {
	case err == pcap.NextErrorTimeoutExpired:
		return errNoPacket
	case err == io.EOF: // gopacket's answer once the handle is closed
		return io.EOF
	case err != nil:
		// gopacket's NextError says only "Read Error"; pcap_geterr says why.
		return fmt.Errorf("%v: %v", err, s.handle.Error())
	}
	if s.save != nil {
		switch err := s.save.WritePacket(ci.Timestamp, data, ci.Length); {
		case err == ErrFileLimit:
			return io.EOF
		case err != nil:
			return fmt.Errorf("%w: %w", ErrSave, err)
		}
	}
	*rec = record{
		data:    data,
		origLen: ci.Length,
		// UTC, as the file readers give it: a Packet from a live capture
		// and the same one read back from Save are then identical.
		ts:   ci.Timestamp.UTC(),
		link: s.link,
	}
	return nil
}

// stats reads libpcap's counters, or returns the last ones read when the
// handle is closed or pcap_stats fails.
func (s *liveSource) stats() LiveStats {
	if s.handle == nil {
		return s.last
	}
	st, err := s.handle.Stats()
	if err != nil {
		return s.last
	}
	s.last = LiveStats{
		Received:  s.recv.update(st.PacketsReceived),
		Dropped:   s.drop.update(st.PacketsDropped),
		IfDropped: s.ifdrop.update(st.PacketsIfDropped),
	}
	return s.last
}

func (s *liveSource) flush() error {
	if s.save == nil {
		return nil
	}
	if err := s.save.Flush(); err != nil {
		return fmt.Errorf("%s: %w: %w", s.name, ErrSave, err)
	}
	return nil
}

// Close flushes Save, keeps the final counters for LiveStats and closes
// the handle.
func (s *liveSource) Close() error {
	if s.handle == nil {
		return nil
	}
	err := s.flush()
	s.stats()
	s.handle.Close()
	s.handle = nil
	return err
}

// counter32 widens a 32-bit counter that wraps to 64 bits. It is exact as
// long as it is updated at least once per 2^32 increments.
type counter32 struct {
	last  uint32
	total uint64
}

func (c *counter32) update(v int) uint64 {
	now := uint32(v) // gopacket widened the C u_int to int without changing it
	c.total += uint64(now - c.last)
	c.last = now
	return c.total
}

// liveLinkType is the handle's link type as a file stores it.
//
// gopacket v1.1.19's Handle.LinkType() truncates libpcap's int DLT_ value
// to a uint8. That is exact for what a Linux interface gives by default
// (EN10MB 1, LINUX_SLL 113 for "any", RAW 12 for tun, NULL 0, LOOP 108)
// but not for DLT_ values above 255 (LINUX_SLL2 276, which libpcap gives
// only when asked for; VSOCK 271 for vsockmon): those would be read as
// another value, most likely an unsupported one, and then be misnamed in
// the error.
//
// DLT_ (what libpcap's API uses) and LINKTYPE_ (what files store) differ
// for a few historical types whose DLT_ value varies by platform: RAW is
// 12 on most systems and 14 on OpenBSD, LOOP is 12 on OpenBSD. Going by
// libpcap's name for the value converts them as pcap_dump does.
func liveLinkType(h *pcap.Handle) linkType {
	dlt := int(h.LinkType())
	switch pcap.DatalinkValToName(dlt) {
	case "RAW":
		return linkRaw
	case "LOOP":
		return linkLoop
	}
	return linkType(dlt)
}

// libpcap's pcap_activate status codes (pcap/pcap.h) that OpenLive
// explains.
const (
	pcapErrorNoSuchDevice      = -5  // PCAP_ERROR_NO_SUCH_DEVICE
	pcapErrorPermDenied        = -8  // PCAP_ERROR_PERM_DENIED
	pcapErrorPromiscPermDenied = -11 // PCAP_ERROR_PROMISC_PERM_DENIED
)

// activationError turns a failed Activate into an error naming the
// interface and saying what to do. gopacket's error holds pcap_activate's
// status but not libpcap's message, which the inactive handle still has
// (pcap_geterr).
func activationError(name string, inactive *pcap.InactiveHandle, err error) error {
	msg := inactive.Error().Error()
	if msg == "" {
		msg = err.Error()
	}
	status, ok := activateStatus(err)
	switch {
	case status == pcapErrorPermDenied || status == pcapErrorPromiscPermDenied,
		!ok && err.Error() == "Permission Denied",
		// libpcap sometimes reports EPERM in a generic error
		// ("socket: Operation not permitted").
		strings.Contains(strings.ToLower(msg), syscall.EPERM.Error()):
		return permissionError(name)
	case status == pcapErrorNoSuchDevice, !ok && err.Error() == "No Such Device":
		return noSuchInterface(name)
	}
	// "Interface Not Up" ("ifb0: That device is not up"), warnings that
	// gopacket treats as failures ("That device doesn't support
	// promiscuous mode"), anything else: libpcap's message says it best.
	return fmt.Errorf("%s: %s", name, msg)
}

// activateStatus recovers pcap_activate's status code from gopacket's
// error, an unexported int type in v1.1.19. Its message names some codes
// but not all (PCAP_ERROR_PROMISC_PERM_DENIED reads "unknown activated
// error: -11"), hence the reflection. ok is false for any other error,
// whose message is then all there is to go by.
func activateStatus(err error) (status int, ok bool) {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Int || v.Type().PkgPath() != "github.com/google/gopacket/pcap" {
		return 0, false
	}
	return int(v.Int()), true
}

// permissionError says how to get the permission: root, or the
// capabilities granted to this very executable. CAP_NET_RAW is what opening
// a packet socket takes; CAP_NET_ADMIN is what tcpdump's and Wireshark's
// documentation add, for the interface settings some captures change.
func permissionError(name string) error {
	exe, err := os.Executable()
	if err != nil {
		exe = "/path/to/" + os.Args[0]
	}
	return fmt.Errorf("%s: %w: run as root or with CAP_NET_RAW and CAP_NET_ADMIN, which this grants: sudo setcap cap_net_raw,cap_net_admin=eip %s",
		name, ErrPermission, exe)
}

// noSuchInterface lists the interfaces libpcap knows, as the likely fix
// for a typo.
func noSuchInterface(name string) error {
	ifs, err := pcap.FindAllDevs()
	if err != nil || len(ifs) == 0 {
		return fmt.Errorf("%s: %w", name, ErrNoSuchInterface)
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return fmt.Errorf("%s: %w (interfaces: %s)", name, ErrNoSuchInterface, strings.Join(names, ", "))
}

// Interface is a network interface OpenLive can capture on, as libpcap
// lists it (pcap_findalldevs).
type Interface struct {
	Name string
	// Description is libpcap's, often empty on Linux except for
	// pseudo-devices ("Pseudo-device that captures on all interfaces").
	Description string
	// Flags are spelled as tcpdump -D spells them, in its order: "Up",
	// "Running", "Loopback", "Wireless", then the connection status when
	// libpcap knows it ("Connected", "Disconnected"; for wireless
	// "Associated", "Not associated"; or "Connection status unknown",
	// "Association status unknown").
	Flags []string
	// Addresses are the interface's IPv4 and IPv6 addresses (without the
	// zone of a link-local IPv6 address, which libpcap's list lacks).
	Addresses []netip.Addr
}

// pcap_if_t flags (pcap/pcap.h).
const (
	pcapIfLoopback         = 0x01 // PCAP_IF_LOOPBACK
	pcapIfUp               = 0x02 // PCAP_IF_UP
	pcapIfRunning          = 0x04 // PCAP_IF_RUNNING
	pcapIfWireless         = 0x08 // PCAP_IF_WIRELESS
	pcapIfConnectionStatus = 0x30 // PCAP_IF_CONNECTION_STATUS: one of the four below
	pcapIfStatusUnknown    = 0x00
	pcapIfConnected        = 0x10
	pcapIfDisconnected     = 0x20
	pcapIfNotApplicable    = 0x30
)

// Interfaces lists the interfaces libpcap can capture on, in its order
// (the one tcpdump -D numbers), for a listing like tcpdump -D. It needs no
// privilege, though without it some pseudo-devices may be left out.
func Interfaces() ([]Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, err
	}
	ifs := make([]Interface, 0, len(devs))
	for _, d := range devs {
		ifc := Interface{Name: d.Name, Description: d.Description, Flags: interfaceFlags(d.Flags)}
		for _, a := range d.Addresses {
			if addr, ok := netip.AddrFromSlice(a.IP); ok {
				ifc.Addresses = append(ifc.Addresses, addr)
			}
		}
		ifs = append(ifs, ifc)
	}
	return ifs, nil
}

// interfaceFlags spells pcap_if_t flags as tcpdump -D does
// (show_devices_and_exit in tcpdump.c).
func interfaceFlags(f uint32) []string {
	if f == 0 {
		return nil // tcpdump says nothing either, not even the unknown status
	}
	var out []string
	for _, fl := range []struct {
		bit  uint32
		name string
	}{{pcapIfUp, "Up"}, {pcapIfRunning, "Running"}, {pcapIfLoopback, "Loopback"}, {pcapIfWireless, "Wireless"}} {
		if f&fl.bit != 0 {
			out = append(out, fl.name)
		}
	}
	wireless := f&pcapIfWireless != 0
	switch f & pcapIfConnectionStatus {
	case pcapIfStatusUnknown:
		if wireless {
			out = append(out, "Association status unknown")
		} else {
			out = append(out, "Connection status unknown")
		}
	case pcapIfConnected:
		if wireless {
			out = append(out, "Associated")
		} else {
			out = append(out, "Connected")
		}
	case pcapIfDisconnected:
		if wireless {
			out = append(out, "Not associated")
		} else {
			out = append(out, "Disconnected")
		}
	case pcapIfNotApplicable:
		// Loopback, "any" and pseudo-devices: nothing to say.
	}
	return out
}
