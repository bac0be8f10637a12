package registrar

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/config"
)

// Config is the registrar's part of the S-CSCF configuration.
type Config struct {
	// ServerName is the S-CSCF's SIP URI: the Server-Name it gives the HSS in MAR and SAR, and
	// the host of its Service-Route (TS 24.229 5.4.1.2.2) and of the reg event dialogs.
	ServerName string `yaml:"server_name"`
	// Domain is the home domain, the realm of the challenges; the node sets it from sip.domain.
	Domain string `yaml:"-"`
	// DefaultExpires applies to a contact with neither an expires parameter nor an Expires
	// header; MinExpires and MaxExpires bound what a UE asks for (RFC 3261 10.3 step 7).
	DefaultExpires config.Duration `yaml:"default_expires"`
	MinExpires     config.Duration `yaml:"min_expires"`
	MaxExpires     config.Duration `yaml:"max_expires"`
	// MaxAuthFailures is how many wrong responses in a row get a new challenge; the last one
	// gets 403 and SAR AUTHENTICATION_FAILURE (TS 24.229 5.4.1.2.3, TS 29.228 6.1.2).
	MaxAuthFailures int `yaml:"max_auth_failures"`
	// NonceLifetime bounds how long a challenge can be answered.
	NonceLifetime config.Duration `yaml:"nonce_lifetime"`
	// MaxSubscribeExpires caps reg event subscriptions (TS 24.229 5.4.2.1.1: 600000 s).
	MaxSubscribeExpires config.Duration `yaml:"max_subscribe_expires"`
	// ExpiryInterval is how often expired bindings and subscriptions are removed.
	ExpiryInterval config.Duration `yaml:"expiry_interval"`
	// ThirdPartyTimeout bounds a third-party REGISTER to an application server.
	ThirdPartyTimeout config.Duration `yaml:"third_party_timeout"`
	// StoreFlushInterval is how often changed registrations are written to the store, in one
	// transaction (persist.go); a crash loses at most the changes of one interval. 0 writes
	// every change through, in its own transaction, before the response.
	StoreFlushInterval config.Duration `yaml:"store_flush_interval"`
	// OverloadCxLatency: a Cx answer slower than this (or a Cx timeout) makes the registrar
	// refuse new registrations with 503 for a second (overload.go). 0: never. The default, 2 s,
	// is past the UE's retransmissions of 0.5, 1 and 2 s: the REGISTER is already being resent.
	OverloadCxLatency config.Duration `yaml:"overload_cx_latency"`
	// RefreshNotifyInterval: 0 (the default) notifies the reg event subscribers of every
	// re-registration (RFC 3680 5.3: it changes the contacts' expiry), as Kamailio's S-CSCF
	// does. A positive value notifies a subscription of a re-registration that
	// changed nothing but expiry times at most once per interval; every other change is
	// notified at once. Those NOTIFYs and their 200s are a quarter of the SIP messages of each
	// re-registration.
	RefreshNotifyInterval config.Duration `yaml:"refresh_notify_interval"`
}

// Defaults are the single-host defaults: the S-CSCF at sip:127.0.0.1:6060 (CONTRACT.md).
func (c *Config) Defaults() {
	*c = Config{
		ServerName:          "sip:" + config.SCSCFSIPAddr,
		Domain:              config.HomeDomain,
		DefaultExpires:      config.Duration(time.Hour),
		MinExpires:          config.Duration(60 * time.Second),
		MaxExpires:          config.Duration(2 * time.Hour),
		MaxAuthFailures:     2,
		NonceLifetime:       config.Duration(5 * time.Minute),
		MaxSubscribeExpires: config.Duration(600000 * time.Second),
		ExpiryInterval:      config.Duration(time.Second),
		ThirdPartyTimeout:   config.Duration(5 * time.Second),
		StoreFlushInterval:  config.Duration(100 * time.Millisecond),
		OverloadCxLatency:   config.Duration(2 * time.Second),
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	var u sip.Uri
	if err := sip.ParseUri(c.ServerName, &u); err != nil || u.Host == "" || u.User != "" {
		p.Addf("server_name", "%q is not a SIP URI sip:host[:port]", c.ServerName)
	}
	if c.Domain == "" {
		p.Addf("domain", "is empty")
	}
	for _, d := range []struct {
		name string
		v    config.Duration
	}{
		{"default_expires", c.DefaultExpires}, {"min_expires", c.MinExpires}, {"max_expires", c.MaxExpires},
		{"nonce_lifetime", c.NonceLifetime}, {"max_subscribe_expires", c.MaxSubscribeExpires},
		{"expiry_interval", c.ExpiryInterval}, {"third_party_timeout", c.ThirdPartyTimeout},
	} {
		if d.v.D() <= 0 {
			p.Addf(d.name, "must be positive, got %s", d.v)
		}
	}
	for _, d := range []struct {
		name string
		v    config.Duration
	}{{"store_flush_interval", c.StoreFlushInterval}, {"overload_cx_latency", c.OverloadCxLatency},
		{"refresh_notify_interval", c.RefreshNotifyInterval}} {
		if d.v.D() < 0 {
			p.Addf(d.name, "must not be negative, got %s", d.v)
		}
	}
	if c.MinExpires.D() > c.MaxExpires.D() {
		p.Addf("min_expires", "%s is above max_expires %s", c.MinExpires, c.MaxExpires)
	}
	if c.DefaultExpires.D() < c.MinExpires.D() || c.DefaultExpires.D() > c.MaxExpires.D() {
		p.Addf("default_expires", "%s is outside [min_expires, max_expires]", c.DefaultExpires)
	}
	if c.MaxAuthFailures < 1 {
		p.Addf("max_auth_failures", "must be at least 1, got %d", c.MaxAuthFailures)
	}
	return p.Err()
}
