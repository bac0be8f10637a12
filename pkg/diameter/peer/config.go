package peer

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// Relay is the application id a relay agent advertises (RFC 6733 §2.4): it takes every
// application.
const Relay uint32 = 0xffffffff

// App is a Diameter application this node serves. A non-zero Vendor advertises it in a
// Vendor-Specific-Application-Id (the 3GPP applications: Vendor 10415).
type App struct {
	ID     uint32
	Vendor uint32
}

// Endpoint is a transport address.
type Endpoint struct {
	Network string // "tcp" or "sctp"
	Addr    string // host:port
}

// PeerConfig is a known peer. We dial it when it has an Endpoint; without one we only accept
// its connections (a server listing its clients).
type PeerConfig struct {
	Host     string // its Origin-Host, checked against the CER/CEA
	Realm    string
	Endpoint Endpoint // empty: do not dial
	Apps     []App    // what we expect it to serve; informational, the CEA decides
}

// Config of a Node.
type Config struct {
	Identity        msg.Identity
	HostIPAddresses []net.IP // advertised in CER/CEA; empty: the local address of each connection
	VendorID        uint32
	ProductName     string
	Apps            []App // applications this node really serves; advertised in CER/CEA

	Listen []Endpoint
	Peers  []PeerConfig
	// AcceptUnknownPeers lets any host connect; else a CER from a host not in Peers gets
	// 3010 DIAMETER_UNKNOWN_PEER.
	AcceptUnknownPeers bool

	Watchdog       time.Duration // Tw (RFC 3539 §3.4.1), default 30s, at least 6s
	RequestTimeout time.Duration // default 10s
	ReconnectMin   time.Duration // first wait before redialling a peer, default 1s
	ReconnectMax   time.Duration // backoff ceiling, default 30s
	MaxMessage     int           // largest message accepted, default DefaultMaxMessage
	MaxInFlight    int           // inbound requests handled at once per node, default 1024

	// minWatchdog lowers the RFC 3539 minimum of Tw in tests.
	minWatchdog time.Duration
}

// Defaults used for zero fields.
const (
	DefaultWatchdog       = 30 * time.Second
	MinWatchdog           = 6 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = 30 * time.Second
	DefaultMaxInFlight    = 1024
	// DefaultMaxMessage: Cx User-Data with a full service profile is tens of kilobytes; 1 MiB
	// leaves room without letting a peer make us allocate up to 16 MiB per message.
	DefaultMaxMessage = 1 << 20
)

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Watchdog == 0 {
		c.Watchdog = DefaultWatchdog
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.ProductName == "" {
		c.ProductName = "imscore"
	}
	if c.minWatchdog == 0 {
		c.minWatchdog = MinWatchdog
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Identity.Host == "" {
		errs = append(errs, errors.New("identity: host is required"))
	}
	if c.Identity.Realm == "" {
		errs = append(errs, errors.New("identity: realm is required"))
	}
	if len(c.Apps) == 0 {
		errs = append(errs, errors.New("apps: at least one application is required"))
	}
	if c.Watchdog < c.minWatchdog {
		errs = append(errs, fmt.Errorf("watchdog: %s is below the RFC 3539 minimum %s", c.Watchdog, c.minWatchdog))
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("reconnect: max %s below min %s", c.ReconnectMax, c.ReconnectMin))
	}
	for i, e := range c.Listen {
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("listen[%d]: %w", i, err))
		}
	}
	for i, p := range c.Peers {
		if p.Host == "" {
			errs = append(errs, fmt.Errorf("peers[%d]: host is required", i))
		}
		if p.Endpoint == (Endpoint{}) {
			continue
		}
		if err := p.Endpoint.validate(); err != nil {
			errs = append(errs, fmt.Errorf("peers[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func (e Endpoint) validate() error {
	if e.Network != transport.TCP && e.Network != transport.SCTP {
		return fmt.Errorf("network %q: want tcp or sctp", e.Network)
	}
	if _, _, err := net.SplitHostPort(e.Addr); err != nil {
		return fmt.Errorf("addr %q: %w", e.Addr, err)
	}
	return nil
}
