package scscf

import (
	"time"

	"github.com/imscore/imscore/pkg/config"
	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/scscf/registrar"
)

// Config is the S-CSCF's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	SIP      config.SIP      `yaml:"sip"`
	Diameter config.Diameter `yaml:"diameter"`
	DataDir  string          `yaml:"data_dir"`
	// Registrar holds the registration policy and the name this S-CSCF gives itself; its
	// Diameter peer is the DRA by default, or the HSS when diameter.peers names it.
	Registrar registrar.Config `yaml:"registrar"`
	// ICSCF is where originating requests to the home domain (or a tel URI) go once their iFCs
	// are applied, to find the terminating S-CSCF (TS 24.229 5.4.3.2 step 10).
	ICSCF string `yaml:"icscf"`
	// Breakout, when set, is where originating requests to other domains go; without it they
	// get 404.
	Breakout string `yaml:"breakout"`
	// ISC is how requests to application servers are handled.
	ISC ISC `yaml:"isc"`
}

// ISC configures the S-CSCF side of the ISC interface (TS 24.229 5.4.3.2 step 4).
type ISC struct {
	// ASTimeout is how long an application server may leave a request without any response
	// (not even 100 Trying) before its iFC's default handling applies, instead of SIP Timer B
	// (32 s over UDP); Clearwater's AS timer was 2 s.
	ASTimeout config.Duration `yaml:"as_timeout"`
}

// maxASTimeout is SIP Timer B (RFC 3261 17.1.1.2, 64*T1): beyond it the transaction times out
// first and as_timeout would mean nothing.
const maxASTimeout = 32 * time.Second

// Defaults sets the single-host defaults (CONTRACT.md): SIP on 127.0.0.1:6060, a Diameter client of the
// DRA at 127.0.0.1:3869 for Cx, admin on 127.0.0.1:9061, data under ./data.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.SCSCFAdminAddr}, DataDir: config.DefaultDataDir}
	c.Log.Defaults()
	c.SIP.Defaults(config.SCSCFSIPAddr)
	c.Diameter.Defaults(Name)
	c.Diameter.Peers = []config.Peer{config.DRAPeer(config.AppCx)}
	c.Registrar.Defaults()
	c.ICSCF = "sip:" + config.ICSCFSIPAddr
	c.ISC.ASTimeout = config.Duration(2 * time.Second)
}

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	p.Check("admin", c.Admin)
	p.Check("log", c.Log)
	p.Check("sip", c.SIP)
	p.Check("diameter", c.Diameter)
	reg := c.Registrar
	reg.Domain = c.SIP.Domain
	p.Check("registrar", reg)
	if len(c.Diameter.Peers) == 0 {
		p.Addf("diameter.peers", "needs the DRA or the HSS for Cx")
	}
	if _, err := sipx.ParseURI(c.ICSCF); err != nil {
		p.Addf("icscf", "%v", err)
	}
	if c.Breakout != "" {
		if _, err := sipx.ParseURI(c.Breakout); err != nil {
			p.Addf("breakout", "%v", err)
		}
	}
	if d := c.ISC.ASTimeout.D(); d <= 0 || d >= maxASTimeout {
		p.Addf("isc.as_timeout", "%v is not within (0, %v)", d, maxASTimeout)
	}
	if c.DataDir == "" {
		p.Addf("data_dir", "is empty")
	}
	return p.Err()
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }
