package libpcap

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/gopacket/pcap"

	"github.com/tcpfsm/tcpfsm/capture"
)

// activateErrorOf is gopacket's unexported error type for pcap_activate's
// status with the value status, made the way a failed Activate makes one.
// Any interface that cannot be opened gives one, with or without
// privilege; a gopacket that changed the type fails here, not in the field.
func activateErrorOf(t *testing.T, status int) error {
	t.Helper()
	inactive, err := pcap.NewInactiveHandle("nosuch9")
	if err != nil {
		t.Fatal(err)
	}
	defer inactive.CleanUp()
	_, err = inactive.Activate()
	if err == nil {
		t.Fatal("Activate(nosuch9) succeeded")
	}
	if got, ok := activateStatus(err); !ok || got >= 0 {
		t.Fatalf("activateStatus(%#v) = %d, %v: gopacket's Activate error is no longer the int type activateStatus reads", err, got, ok)
	}
	v := reflect.New(reflect.TypeOf(err)).Elem()
	v.SetInt(int64(status))
	return v.Interface().(error)
}

// int error types that are not gopacket's, for activateStatus to refuse.
type otherIntError int

func (otherIntError) Error() string { return "Permission Denied" }

// activationError says what pcap_activate's status means: the permission
// (with how to get it), an interface that is not there, or libpcap's own
// words.
func TestActivationError(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		msg    string // pcap_geterr's
		want   string // the error's start
		wantIs error
	}{
		{"PCAP_ERROR_PERM_DENIED", activateErrorOf(t, -8), "lo: You don't have permission to perform this capture on that device", "lo: no permission to capture: run as root", capture.ErrPermission},
		{"PCAP_ERROR_PROMISC_PERM_DENIED", activateErrorOf(t, -11), "", "lo: no permission to capture: run as root", capture.ErrPermission},
		{"EPERM in a generic error", activateErrorOf(t, -1), "socket: Operation not permitted", "lo: no permission to capture: run as root", capture.ErrPermission},
		{"PCAP_ERROR_NO_SUCH_DEVICE", activateErrorOf(t, -5), "No such device exists", "lo: no such interface", capture.ErrNoSuchInterface},
		{"PCAP_ERROR_IFACE_NOT_UP", activateErrorOf(t, -9), "lo: That device is not up", "lo: lo: That device is not up", nil},
		{"no message: gopacket's", activateErrorOf(t, -9), "", "lo: Interface Not Up", nil},
		{"another error type", otherIntError(-5), "", "lo: no permission to capture: run as root", capture.ErrPermission},
		{"another error", errors.New("something else"), "", "lo: something else", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := activationError("lo", tt.msg, tt.err)
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("activationError = %q, want %q...", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("activationError = %q, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}

// activateStatus reads the status out of gopacket's type only.
func TestActivateStatus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		want   int
		wantOK bool
	}{
		{"gopacket's", activateErrorOf(t, -11), -11, true},
		{"another int type", otherIntError(-11), 0, false},
		{"not an int", errors.New("-11"), 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := activateStatus(tt.err); got != tt.want || ok != tt.wantOK {
				t.Errorf("activateStatus = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
