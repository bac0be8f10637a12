package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/imscore/imscore/pkg/logging"
)

// Admin is the node's HTTP admin server: /healthz, /metrics and, on the HSS, the REST API.
type Admin struct {
	Listen string `yaml:"listen"`
}

// Validate reports a listen address that is not host:port.
func (a Admin) Validate() error {
	var p Problems
	checkListen(&p, "listen", a.Listen)
	return p.Err()
}

// Log chooses the slog handler: format text (default) or json, level debug|info|warn|error.
type Log struct {
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
}

// Defaults sets text logs at info level.
func (l *Log) Defaults() {
	l.Format = logging.FormatText
	l.Level = "info"
}

// Validate reports an unknown format or level.
func (l Log) Validate() error {
	var p Problems
	if err := logging.CheckFormat(l.Format); err != nil {
		p.Addf("format", "%v", err)
	}
	if _, err := logging.ParseLevel(l.Level); err != nil {
		p.Addf("level", "%v", err)
	}
	return p.Err()
}

// Diameter application names a peer may be configured for (RFC 6733 5.3 Auth-Application-Id
// in the CER): Cx (TS 29.229), Sh (TS 29.329) and S6a (TS 29.272).
const (
	AppCx  = "cx"
	AppSh  = "sh"
	AppS6a = "s6a"
)

// Transport networks for a Diameter endpoint.
const (
	NetworkTCP  = "tcp"
	NetworkSCTP = "sctp"
)

// Diameter is a node's Diameter identity, the endpoints it listens on and the peers it connects to.
type Diameter struct {
	OriginHost  string     `yaml:"origin_host"`
	OriginRealm string     `yaml:"origin_realm"`
	Listen      []Endpoint `yaml:"listen"`
	Peers       []Peer     `yaml:"peers"`
	// Watchdog is Tw, the DWR interval on an idle connection (RFC 3539 3.4.1: 30 s by default,
	// never less than 6 s).
	Watchdog Duration `yaml:"watchdog"`
	// RequestTimeout bounds the wait for an answer before the request fails over or fails.
	RequestTimeout Duration `yaml:"request_timeout"`
}

// Defaults gives node its Origin-Host in the home realm, Tw 30 s and a 5 s request timeout.
// Listen and Peers are left for the node to set.
func (d *Diameter) Defaults(node string) {
	d.OriginHost = OriginHost(node)
	d.OriginRealm = HomeDomain
	d.Watchdog = Duration(DefaultWatchdog)
	d.RequestTimeout = Duration(DefaultRequestTimeout)
}

// Validate reports every problem in the identity, the endpoints and the peers.
func (d Diameter) Validate() error {
	var p Problems
	checkFQDN(&p, "origin_host", d.OriginHost)
	checkFQDN(&p, "origin_realm", d.OriginRealm)
	for i, e := range d.Listen {
		p.Check("listen["+strconv.Itoa(i)+"]", e)
	}
	hosts := make(map[string]int, len(d.Peers))
	for i, peer := range d.Peers {
		field := "peers[" + strconv.Itoa(i) + "]"
		p.Check(field, peer)
		if j, dup := hosts[peer.Host]; dup && peer.Host != "" {
			p.Addf(field+".host", "%q is also peers[%d]", peer.Host, j)
		}
		hosts[peer.Host] = i
	}
	if d.Watchdog.D() < MinWatchdog {
		p.Addf("watchdog", "must be at least %s (RFC 3539 3.4.1), got %s", MinWatchdog, d.Watchdog)
	}
	if d.RequestTimeout.D() <= 0 {
		p.Addf("request_timeout", "must be positive, got %s", d.RequestTimeout)
	}
	return p.Err()
}

// Endpoint is a transport address: network tcp or sctp (empty means tcp) and host:port.
type Endpoint struct {
	Network string `yaml:"network"`
	Addr    string `yaml:"addr"`
}

// Net returns the network, tcp when none is set.
func (e Endpoint) Net() string {
	if e.Network == "" {
		return NetworkTCP
	}
	return e.Network
}

// Validate reports an unknown network or an address that is not host:port.
func (e Endpoint) Validate() error {
	var p Problems
	checkNetwork(&p, e.Network)
	checkListen(&p, "addr", e.Addr)
	return p.Err()
}

// Peer is a Diameter peer this node connects to: its identity, where it is, and the applications
// (AppCx, AppSh, AppS6a) this node uses it for. No apps means the base protocol only.
type Peer struct {
	Host     string `yaml:"host"`
	Realm    string `yaml:"realm"`
	Endpoint `yaml:",inline"`
	Apps     []string `yaml:"apps"`
}

// Validate reports every problem in the peer's identity, address and applications.
func (peer Peer) Validate() error {
	var p Problems
	checkFQDN(&p, "host", peer.Host)
	checkFQDN(&p, "realm", peer.Realm)
	checkNetwork(&p, peer.Network)
	checkDial(&p, "addr", peer.Addr)
	for i, app := range peer.Apps {
		switch app {
		case AppCx, AppSh, AppS6a:
		default:
			p.Addf("apps["+strconv.Itoa(i)+"]", "unknown application %q (want %s, %s or %s)", app, AppCx, AppSh, AppS6a)
		}
	}
	return p.Err()
}

// SIP is where a SIP node listens (the same host:port for UDP and TCP) and the home domain it serves.
type SIP struct {
	Listen string `yaml:"listen"`
	Domain string `yaml:"domain"`
	// MaxTransactions bounds the server transactions in flight in the proxy core (pkg/sip);
	// beyond it new requests get 503 with Retry-After. 0: no bound.
	MaxTransactions int `yaml:"max_transactions"`
	// UDPReceiveBuffer is the receive buffer, in bytes, asked for the UDP socket (SO_RCVBUF);
	// the kernel caps it at net.core.rmem_max. 0 keeps the system's default.
	UDPReceiveBuffer int `yaml:"udp_receive_buffer"`
}

// DefaultMaxTransactions is the default sip.max_transactions (docs/PERFORMANCE.md).
const DefaultMaxTransactions = 1000

// DefaultUDPReceiveBuffer is the default sip.udp_receive_buffer: Linux's default (208 KiB)
// overflows in bursts of a few thousand requests per second, and every datagram it drops
// costs a 500 ms retransmission (docs/PERFORMANCE.md).
const DefaultUDPReceiveBuffer = 4 << 20

// Defaults listens on listen and serves the home domain.
func (s *SIP) Defaults(listen string) {
	s.Listen = listen
	s.Domain = HomeDomain
	s.MaxTransactions = DefaultMaxTransactions
	s.UDPReceiveBuffer = DefaultUDPReceiveBuffer
}

// Validate reports a bad listen address or domain.
func (s SIP) Validate() error {
	var p Problems
	checkListen(&p, "listen", s.Listen)
	checkFQDN(&p, "domain", s.Domain)
	if s.MaxTransactions < 0 {
		p.Addf("max_transactions", "must not be negative, got %d", s.MaxTransactions)
	}
	if s.UDPReceiveBuffer < 0 {
		p.Addf("udp_receive_buffer", "must not be negative, got %d", s.UDPReceiveBuffer)
	}
	return p.Err()
}

func checkNetwork(p *Problems, network string) {
	switch network {
	case "", NetworkTCP, NetworkSCTP:
	default:
		p.Addf("network", "must be %s or %s, got %q", NetworkTCP, NetworkSCTP, network)
	}
}

// checkListen accepts host:port with an empty host (every interface) and port 0 (any free port).
func checkListen(p *Problems, field, addr string) {
	if _, err := splitHostPort(addr); err != nil {
		p.Addf(field, "%v", err)
	}
}

// checkDial accepts host:port with a host and a non-zero port.
func checkDial(p *Problems, field, addr string) {
	host, err := splitHostPort(addr)
	switch {
	case err != nil:
		p.Addf(field, "%v", err)
	case host == "":
		p.Addf(field, "%q has no host", addr)
	case strings.HasSuffix(addr, ":0"):
		p.Addf(field, "%q has port 0", addr)
	}
}

func splitHostPort(addr string) (string, error) {
	if addr == "" {
		return "", fmt.Errorf("address is empty, want host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		return "", fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return host, nil
}

// checkFQDN checks a Diameter identity or SIP domain (RFC 6733 4.3.1 DiameterIdentity: an FQDN):
// dot-separated labels of letters, digits and hyphens.
func checkFQDN(p *Problems, field, name string) {
	if name == "" {
		p.Addf(field, "is empty")
		return
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			p.Addf(field, "%q is not a valid domain name", name)
			return
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				p.Addf(field, "%q is not a valid domain name", name)
				return
			}
		}
	}
}
