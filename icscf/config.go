package icscf

import (
	"strconv"
	"time"

	"github.com/imscore/imscore/pkg/config"
	imssip "github.com/imscore/imscore/pkg/sip"
)

// Config is the I-CSCF's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	SIP      config.SIP      `yaml:"sip"`
	Diameter config.Diameter `yaml:"diameter"`
	DataDir  string          `yaml:"data_dir"`
	// SCSCFs are the S-CSCFs this I-CSCF chooses among when the HSS answers with
	// Server-Capabilities instead of a Server-Name (TS 29.228 6.1.1.1, TS 24.229 5.3.1.2).
	SCSCFs []SCSCF `yaml:"scscfs"`
	// SCSCFAnswerTimeout is how long an S-CSCF may leave a REGISTER without any response
	// before the I-CSCF selects another (TS 24.229 5.3.1.3); well under the UE's 32 s
	// transaction timeout, so the next S-CSCF still has time. 0 waits for the transaction
	// timeout (64*T1).
	SCSCFAnswerTimeout config.Duration `yaml:"scscf_answer_timeout"`
}

// SCSCF is one S-CSCF the I-CSCF may choose: its name as the HSS knows it, a SIP URI that is
// also where requests go, and the capabilities it has (TS 29.228 6.7: operator-defined numbers
// matched against the HSS's Mandatory- and Optional-Capability).
type SCSCF struct {
	Name         string   `yaml:"name"`
	Capabilities []uint32 `yaml:"capabilities"`
}

// Defaults sets the single-host defaults (CONTRACT.md): SIP on 127.0.0.1:4060, a Diameter client of the
// DRA at 127.0.0.1:3869 for Cx, admin on 127.0.0.1:9040, data under ./data, and the one S-CSCF
// sip:127.0.0.1:6060.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.ICSCFAdminAddr}, DataDir: config.DefaultDataDir}
	c.Log.Defaults()
	c.SIP.Defaults(config.ICSCFSIPAddr)
	c.Diameter.Defaults(Name)
	c.Diameter.Peers = []config.Peer{config.DRAPeer(config.AppCx)}
	c.SCSCFs = []SCSCF{{Name: "sip:" + config.SCSCFSIPAddr}}
	c.SCSCFAnswerTimeout = config.Duration(10 * time.Second)
}

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
	if len(c.Diameter.Peers) == 0 {
		p.Addf("diameter.peers", "is empty: the I-CSCF needs a Cx peer (the DRA or the HSS)")
	}
	if c.SCSCFAnswerTimeout < 0 {
		p.Addf("scscf_answer_timeout", "is negative")
	}
	names := map[string]int{}
	for i, s := range c.SCSCFs {
		field := "scscfs[" + strconv.Itoa(i) + "].name"
		if _, err := imssip.ParseURI(s.Name); err != nil {
			p.Addf(field, "%v", err)
		}
		if j, dup := names[s.Name]; dup {
			p.Addf(field, "%q is also scscfs[%d]", s.Name, j)
		}
		names[s.Name] = i
	}
	return p.Err()
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }
