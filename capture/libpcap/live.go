package libpcap

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/google/gopacket/pcap"

	"github.com/tcpfsm/tcpfsm/capture"
)

// OpenLive starts capturing on interface iface ("eth0", "lo", "any") and
// returns a Reader that delivers its TCP segments as they arrive. Packets
// are handed over at once (immediate mode) rather than held in the kernel
// buffer until it fills, so Next sees each one as soon as it is captured.
//
// opt.Filter is compiled by libpcap for the interface's link type and run
// in the kernel, so packets it rejects are never copied to the process;
// they are not counted in Stats (Filtered stays 0).
//
// Errors name the interface, as opt.ShowName shows it, and wrap capture's
// sentinels: ErrPermission (with how to grant it), ErrNoSuchInterface
// (with the interfaces there are), ErrFilter, ErrUnsupportedLinkType; or
// they are libpcap's own message ("ifb0: That device is not up").
func OpenLive(iface string, lo capture.LiveOptions, opt capture.Options) (*capture.Reader, error) {
	name := iface
	switch {
	case name == "":
		name = `""` // an error message must still name it
	case opt.ShowName != nil:
		name = opt.ShowName(iface) // a name with a control character, quoted
	}
	snaplen := lo.Snaplen
	if snaplen <= 0 {
		snaplen = capture.DefaultLiveSnaplen
	}
	timeout := lo.Timeout
	if timeout <= 0 {
		timeout = capture.DefaultLiveTimeout
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
		return nil, activationError(name, inactive.Error().Error(), err)
	}

	return capture.NewLiveReader(name, &liveHandle{handle: handle}, lo, opt)
}

// liveHandle is a gopacket/pcap handle as a capture.LiveHandle.
type liveHandle struct {
	handle *pcap.Handle
}

// ReadPacket reads the next packet. ZeroCopyReadPacketData hands over
// libpcap's own buffer, which stays valid until the next call: no copy, no
// allocation.
func (h *liveHandle) ReadPacket() ([]byte, time.Time, int, error) {
	data, ci, err := h.handle.ZeroCopyReadPacketData()
	switch {
	case err == pcap.NextErrorTimeoutExpired:
		return nil, time.Time{}, 0, capture.ErrTimeout
	case err == io.EOF: // gopacket's answer once the handle is closed
		return nil, time.Time{}, 0, io.EOF
	case err != nil:
		// gopacket's NextError says only "Read Error"; pcap_geterr says why.
		return nil, time.Time{}, 0, fmt.Errorf("%v: %v", err, h.handle.Error())
	}
	return data, ci.Timestamp, ci.Length, nil
}

func (h *liveHandle) LinkType() uint32 { return liveLinkType(h.handle) }

func (h *liveHandle) SnapLen() int { return h.handle.SnapLen() }

// SetFilter has libpcap compile expr for the handle's own link type (the
// full DLT_ value, whatever LinkType() truncates it to) and snaplen. It
// also filters in user space what reached the ring buffer before the
// filter was set, so no packet slips through.
func (h *liveHandle) SetFilter(expr string) error { return h.handle.SetBPFFilter(expr) }

// Stats returns pcap_stats's counters, which gopacket widened from the C
// u_int to int without changing them.
func (h *liveHandle) Stats() (received, dropped, ifDropped uint32, err error) {
	st, err := h.handle.Stats()
	if err != nil {
		return 0, 0, 0, err
	}
	return uint32(st.PacketsReceived), uint32(st.PacketsDropped), uint32(st.PacketsIfDropped), nil
}

func (h *liveHandle) Close() { h.handle.Close() }

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
func liveLinkType(h *pcap.Handle) uint32 {
	dlt := int(h.LinkType())
	switch pcap.DatalinkValToName(dlt) {
	case "RAW":
		return linkRaw
	case "LOOP":
		return linkLoop
	}
	return uint32(dlt)
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
// status but not libpcap's message, msg, which the inactive handle still
// has (pcap_geterr).
func activationError(name, msg string, err error) error {
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
		name, capture.ErrPermission, exe)
}

// noSuchInterface lists the interfaces libpcap knows, as the likely fix
// for a typo.
func noSuchInterface(name string) error {
	ifs, err := pcap.FindAllDevs()
	if err != nil || len(ifs) == 0 {
		return fmt.Errorf("%s: %w", name, capture.ErrNoSuchInterface)
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return fmt.Errorf("%s: %w (interfaces: %s)", name, capture.ErrNoSuchInterface, strings.Join(names, ", "))
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
