package libpcap

import "github.com/google/gopacket/pcap"

// Version is the version of the libpcap tcpfsm runs with, as
// pcap_lib_version says it ("libpcap version 1.10.3 (with TPACKET_V3)").
func Version() string { return pcap.Version() }
