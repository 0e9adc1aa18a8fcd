package capture

import "github.com/google/gopacket/pcap"

// LibpcapVersion is the version of the libpcap tcpfsm runs with, as
// pcap_lib_version says it ("libpcap version 1.10.3 (with TPACKET_V3)").
func LibpcapVersion() string { return pcap.Version() }
