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
