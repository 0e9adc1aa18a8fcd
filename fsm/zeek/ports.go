package zeek

// DefaultLikelyServerPorts are the TCP ports in Zeek's likely_server_ports
// when it runs with its default scripts: every base/protocols/*/main.zeek
// that analyses TCP adds its ports with "redef likely_server_ports +=
// { ports }" (dce-rpc, dnp3, dns, finger, ftp, http, imap, irc, krb, ldap,
// modbus, mqtt, openvpn, postgresql, rdp, redis, smb, smtp, socks, ssh, ssl,
// xmpp; mysql and pop3 register their analyzers without adding ports). Zeek run in bare mode (-b) knows
// only the ports of the scripts it loaded, and none at all with only
// base/protocols/conn; pass NewConn another Ports to model that.
var DefaultLikelyServerPorts = []uint16{
	21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 502, 563,
	585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1883, 2811, 3128,
	3268, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000,
	8080, 8888, 20000,
}

// Ports is a set of TCP ports: Zeek's likely_server_ports. The zero value
// is the empty set, which is what Zeek has in bare mode with only
// base/protocols/conn loaded.
type Ports [1 << 13]byte // a bitmap over the 65536 ports

// NewPorts returns the set of the given ports.
func NewPorts(list []uint16) *Ports {
	s := new(Ports)
	for _, p := range list {
		s[p>>3] |= 1 << (p & 7)
	}
	return s
}

// Has reports whether p is in the set.
func (s *Ports) Has(p uint16) bool { return s[p>>3]&(1<<(p&7)) != 0 }

// defaultPorts is never written after initialisation.
var defaultPorts = NewPorts(DefaultLikelyServerPorts)
