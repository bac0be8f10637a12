package hss

import (
	"path/filepath"

	"github.com/imscore/imscore/hss/cx"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/config"
)

// Config is the HSS's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	Diameter config.Diameter `yaml:"diameter"`
	DataDir  string          `yaml:"data_dir"`
	// Store is the subscriber database. An empty SQLite DSN means hss.db under data_dir.
	Store store.Config `yaml:"store"`
	// APIToken is the bearer token the REST API requires. cmd/hss overrides it with
	// HSS_API_TOKEN when that is set.
	APIToken string `yaml:"api_token"`
	// VisitedNetworks are the Visited-Network-Identifier values a user may register from
	// besides the home realm (TS 29.228 6.1.1.1).
	VisitedNetworks []string `yaml:"visited_networks"`
	// MaxAuthItems caps the vectors of one Cx MAR (SIP-Number-Auth-Items); 0 means 5.
	MaxAuthItems int `yaml:"max_auth_items"`
}

// Defaults sets the single-host defaults (CONTRACT.md): Diameter server on 127.0.0.1:3868 over
// TCP and SCTP (the SCTP endpoint only where the kernel has SCTP), admin and REST API on
// 127.0.0.1:8080, SQLite under ./data, no API token.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.HSSAdminAddr}, DataDir: config.DefaultDataDir}
	c.Log.Defaults()
	c.Diameter.Defaults(Name)
	c.Diameter.Listen = []config.Endpoint{
		{Network: config.NetworkTCP, Addr: config.HSSDiameterAddr},
		{Network: config.NetworkSCTP, Addr: config.HSSDiameterAddr},
	}
	c.Store.Driver = store.DriverSQLite
	c.MaxAuthItems = cx.DefaultMaxAuthItems
}

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	p.Check("admin", c.Admin)
	p.Check("log", c.Log)
	p.Check("diameter", c.Diameter)
	if len(c.Diameter.Listen) == 0 {
		p.Addf("diameter.listen", "is empty: the HSS is a Diameter server")
	}
	if c.DataDir == "" {
		p.Addf("data_dir", "is empty")
	}
	p.Check("store", c.storeConfig())
	if c.MaxAuthItems < 0 || c.MaxAuthItems > 32 {
		p.Addf("max_auth_items", "must be 0..32, got %d", c.MaxAuthItems)
	}
	return p.Err()
}

// storeConfig resolves the default SQLite file under data_dir.
func (c Config) storeConfig() store.Config {
	s := c.Store
	if s.Driver == store.DriverSQLite && s.DSN == "" && c.DataDir != "" {
		s.DSN = filepath.Join(c.DataDir, "hss.db")
	}
	return s
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }
