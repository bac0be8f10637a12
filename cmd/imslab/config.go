package main

import (
	"log/slog"

	"github.com/imscore/imscore/dra"
	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/scscf"
	"github.com/imscore/imscore/smsip"
	"github.com/imscore/imscore/ussd"
)

// defaultToken is the HSS REST API token imslab uses unless configured otherwise; it is printed
// at start so the lab can be provisioned at once.
const defaultToken = "imslab-admin"

// Config is imslab's configuration: one section per node, each with that node's keys, and one
// log section for the whole process (the nodes' own log sections are not used).
type Config struct {
	Log   config.Log   `yaml:"log"`
	PCSCF pcscf.Config `yaml:"pcscf"`
	ICSCF icscf.Config `yaml:"icscf"`
	SCSCF scscf.Config `yaml:"scscf"`
	HSS   hss.Config   `yaml:"hss"`
	DRA   dra.Config   `yaml:"dra"`
	USSD  ussd.Config  `yaml:"ussd"`
	SMSIP smsip.Config `yaml:"smsip"`
}

// Defaults is every node's single-host defaults, with the HSS API token set to imslab-admin.
func (c *Config) Defaults() {
	c.Log.Defaults()
	c.PCSCF.Defaults()
	c.ICSCF.Defaults()
	c.SCSCF.Defaults()
	c.HSS.Defaults()
	c.HSS.APIToken = defaultToken
	c.DRA.Defaults()
	c.USSD.Defaults()
	c.SMSIP.Defaults()
}

// Validate reports every problem of every node at once.
func (c Config) Validate() error {
	var p config.Problems
	p.Check("log", c.Log)
	p.Check(pcscf.Name, c.PCSCF)
	p.Check(icscf.Name, c.ICSCF)
	p.Check(scscf.Name, c.SCSCF)
	p.Check(hss.Name, c.HSS)
	p.Check(dra.Name, c.DRA)
	p.Check(ussd.Name, c.USSD)
	p.Check(smsip.Name, c.SMSIP)
	return p.Err()
}

// Logging returns the process-wide log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }

// member is one node of the lab, as the banner and the runner see it.
type member struct {
	name     string
	sip      *config.SIP // nil for a node without SIP
	diameter config.Diameter
	admin    config.Admin
	build    func(*slog.Logger) (node, error)
}

// members lists the nodes in the order the banner prints them. They start together: each one
// retries its peers (Diameter watchdog, SIP transactions), so none waits for another.
func (c *Config) members() []member {
	return []member{
		{pcscf.Name, &c.PCSCF.SIP, c.PCSCF.Diameter, c.PCSCF.Admin,
			func(log *slog.Logger) (node, error) { return pcscf.New(c.PCSCF, log) }},
		{icscf.Name, &c.ICSCF.SIP, c.ICSCF.Diameter, c.ICSCF.Admin,
			func(log *slog.Logger) (node, error) { return icscf.New(c.ICSCF, log) }},
		{scscf.Name, &c.SCSCF.SIP, c.SCSCF.Diameter, c.SCSCF.Admin,
			func(log *slog.Logger) (node, error) { return scscf.New(c.SCSCF, log) }},
		{hss.Name, nil, c.HSS.Diameter, c.HSS.Admin,
			func(log *slog.Logger) (node, error) { return hss.New(c.HSS, log) }},
		{dra.Name, nil, c.DRA.Diameter, c.DRA.Admin,
			func(log *slog.Logger) (node, error) { return dra.New(c.DRA, log) }},
		{ussd.Name, &c.USSD.SIP, c.USSD.Diameter, c.USSD.Admin,
			func(log *slog.Logger) (node, error) { return ussd.New(c.USSD, log) }},
		{smsip.Name, &c.SMSIP.SIP, c.SMSIP.Diameter, c.SMSIP.Admin,
			func(log *slog.Logger) (node, error) { return smsip.New(c.SMSIP, log) }},
	}
}
