package pcscf

import (
	"time"

	"github.com/imscore/imscore/pkg/config"
	imssip "github.com/imscore/imscore/pkg/sip"
)

// Config is the P-CSCF's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	SIP      config.SIP      `yaml:"sip"`
	Diameter config.Diameter `yaml:"diameter"`
	DataDir  string          `yaml:"data_dir"`
	// ICSCF is the SIP URI REGISTER is forwarded to (TS 24.229 5.2.2.1: the I-CSCF of the home
	// network); a transport parameter chooses the transport.
	ICSCF string `yaml:"icscf"`
	// VisitedNetworkID is written in P-Visited-Network-ID (RFC 7315 4.3) so the HSS can check
	// roaming (TS 24.229 5.2.2.1).
	VisitedNetworkID string `yaml:"visited_network_id"`
	// CoreTransport (udp or tcp), when set, is the transport parameter of the URIs by which
	// the core reaches the P-CSCF: its Path entry (RFC 3327 4), which the S-CSCF routes
	// terminating requests through, and the Contact of its reg-event subscription, where the
	// S-CSCF sends its NOTIFYs. Empty: none, so UDP, or TCP for a large request (RFC 3261
	// 18.1.1). Over TCP no completed transaction is kept for Timer J (RFC 3261 17.2.2).
	CoreTransport string `yaml:"core_transport"`
	// BindingsFlushInterval is how often the bindings changed since the last write are appended
	// to the journal under data_dir: what a crash of the process can lose at most.
	BindingsFlushInterval config.Duration `yaml:"bindings_flush_interval"`
}

// Defaults sets the single-host defaults (CONTRACT.md): SIP on 127.0.0.1:5060, a Diameter client of the
// DRA at 127.0.0.1:3869, admin on 127.0.0.1:9060, data under ./data.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.PCSCFAdminAddr}, DataDir: config.DefaultDataDir}
	c.Log.Defaults()
	c.SIP.Defaults(config.PCSCFSIPAddr)
	c.Diameter.Defaults(Name)
	c.Diameter.Peers = []config.Peer{config.DRAPeer()}
	c.ICSCF = "sip:" + config.ICSCFSIPAddr
	c.VisitedNetworkID = config.HomeDomain
	c.BindingsFlushInterval = config.Duration(defaultBindingsFlushInterval)
}

// defaultBindingsFlushInterval batches the binding writes of a few hundred registrations at
// the benchmark's rates into one write.
const defaultBindingsFlushInterval = 200 * time.Millisecond

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	p.Check("admin", c.Admin)
	p.Check("log", c.Log)
	p.Check("sip", c.SIP)
	p.Check("diameter", c.Diameter)
	if c.DataDir == "" {
		p.Addf("data_dir", "is empty")
	}
	if _, err := imssip.ParseURI(c.ICSCF); err != nil {
		p.Addf("icscf", "%v", err)
	}
	switch c.CoreTransport {
	case "", "udp", "tcp":
	default:
		p.Addf("core_transport", "%q: must be udp, tcp or empty", c.CoreTransport)
	}
	if c.VisitedNetworkID == "" {
		p.Addf("visited_network_id", "is empty")
	}
	if c.BindingsFlushInterval <= 0 {
		p.Addf("bindings_flush_interval", "must be positive")
	}
	return p.Err()
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }
