package zeek

// DefaultLikelyServerPorts are the TCP ports in Zeek's likely_server_ports
// when it runs with its default scripts: every base/protocols/*/main.zeek
// that analyses TCP adds its ports with "redef likely_server_ports +=
// { ports }" (dce-rpc, dnp3, dns, finger, ftp, http, imap, irc, krb, ldap,
// modbus, mqtt, openvpn, postgresql, rdp, redis, smb, smtp, socks, ssh, ssl,
// xmpp; mysql and pop3 register their analyzers without adding ports). Zeek run in bare mode (-b) knows
// only the ports of the scripts it loaded, and none at all with only
// base/protocols/conn; SetLikelyServerPorts models that.
var DefaultLikelyServerPorts = []uint16{
	21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 502, 563,
	585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1883, 2811, 3128,
	3268, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000,
	8080, 8888, 20000,
}

// likelyPorts is a bitmap over the 65536 ports.
var likelyPorts [1 << 13]byte

func init() { SetLikelyServerPorts(DefaultLikelyServerPorts) }

// SetLikelyServerPorts replaces the set of likely server ports (Zeek's
// likely_server_ports, consulted by TCPAnalyzer::WantConnection for a
// connection whose first packet is not a bare SYN). It is not safe to call
// while connections are being created on other goroutines.
func SetLikelyServerPorts(ports []uint16) {
	likelyPorts = [1 << 13]byte{}
	for _, p := range ports {
		likelyPorts[p>>3] |= 1 << (p & 7)
	}
}

// IsLikelyServerPort reports whether p is in the set.
func IsLikelyServerPort(p uint16) bool { return likelyPorts[p>>3]&(1<<(p&7)) != 0 }
