package smsip

import "github.com/imscore/imscore/pkg/config"

// Config is the SMS-over-IP application server's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	SIP      config.SIP      `yaml:"sip"`
	Diameter config.Diameter `yaml:"diameter"`
	DataDir  string          `yaml:"data_dir"`
}

// Defaults sets the single-host defaults (CONTRACT.md): SIP on 127.0.0.1:5066, a Diameter client of the
// DRA at 127.0.0.1:3869 for Sh, admin on 127.0.0.1:9066, data under ./data.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.SMSIPAdminAddr}, DataDir: config.DefaultDataDir}
	c.Log.Defaults()
	c.SIP.Defaults(config.SMSIPSIPAddr)
	c.Diameter.Defaults(Name)
	c.Diameter.Peers = []config.Peer{config.DRAPeer(config.AppSh)}
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
	return p.Err()
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }
