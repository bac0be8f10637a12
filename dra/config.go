package dra

import (
	"strconv"
	"strings"
	"time"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/dict"
)

// DefaultRealm is the Destination-Realm of a route that catches every realm no other route
// names: the default route of RFC 6733 2.7 ("default" in the realm routing table).
const DefaultRealm = "*"

// DefaultStickyTTL is how long a Session-Id stays bound to the peer that answered it on a
// sticky route after its last request.
const DefaultStickyTTL = 10 * time.Minute

// Config is the DRA's configuration.
type Config struct {
	Admin    config.Admin    `yaml:"admin"`
	Log      config.Log      `yaml:"log"`
	Diameter config.Diameter `yaml:"diameter"`
	// AcceptUnknownPeers lets any Diameter node connect (the CSCFs, ussd and smsip are not
	// listed in diameter.peers); false answers their CER with 3010 DIAMETER_UNKNOWN_PEER.
	AcceptUnknownPeers bool `yaml:"accept_unknown_peers"`
	// Routes is the realm routing table (RFC 6733 2.7): Destination-Realm and Application-Id
	// to a group of peers from diameter.peers.
	Routes []Route `yaml:"routes"`
	// StickyTTL bounds how long an idle Session-Id stays bound to its peer on sticky routes.
	StickyTTL config.Duration `yaml:"sticky_ttl"`
	DataDir   string          `yaml:"data_dir"`
}

// Route sends the requests for one realm (DefaultRealm: any other realm) and some applications
// to a group of peers.
type Route struct {
	Realm string `yaml:"realm"`
	// Apps are cx, sh, s6a or a decimal Application-Id; empty means every application.
	Apps  []string    `yaml:"apps"`
	Peers []RoutePeer `yaml:"peers"`
	// Sticky sends every request of a Session-Id to the peer that took its first one, while
	// that peer is OKAY.
	Sticky bool `yaml:"sticky"`
}

// RoutePeer is one member of a route's peer group. The group's OKAY peers with the lowest
// priority share the load in proportion to their weight; the others are the failover.
type RoutePeer struct {
	Host     string `yaml:"host"`
	Priority int    `yaml:"priority"`
	Weight   int    `yaml:"weight"` // 0 means 1
}

// Defaults sets the single-host defaults (CONTRACT.md): Diameter on 127.0.0.1:3869 over TCP and
// SCTP (the SCTP endpoint only where the kernel has SCTP), the HSS at 127.0.0.1:3868 as the one
// peer of the home realm's route for every application, any client accepted, admin on
// 127.0.0.1:9869, data under ./data.
func (c *Config) Defaults() {
	*c = Config{Admin: config.Admin{Listen: config.DRAAdminAddr}, DataDir: config.DefaultDataDir,
		AcceptUnknownPeers: true, StickyTTL: config.Duration(DefaultStickyTTL)}
	c.Log.Defaults()
	c.Diameter.Defaults(Name)
	c.Diameter.Listen = []config.Endpoint{
		{Network: config.NetworkTCP, Addr: config.DRADiameterAddr},
		{Network: config.NetworkSCTP, Addr: config.DRADiameterAddr},
	}
	hss := config.OriginHost("hss")
	c.Diameter.Peers = []config.Peer{{
		Host:     hss,
		Realm:    config.HomeDomain,
		Endpoint: config.Endpoint{Network: config.NetworkTCP, Addr: config.HSSDiameterAddr},
		Apps:     []string{config.AppCx, config.AppSh, config.AppS6a},
	}}
	c.Routes = []Route{{Realm: config.HomeDomain, Peers: []RoutePeer{{Host: hss}}}}
}

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	p.Check("admin", c.Admin)
	p.Check("log", c.Log)
	p.Check("diameter", c.Diameter)
	if len(c.Diameter.Listen) == 0 {
		p.Addf("diameter.listen", "is empty: the DRA is a Diameter server")
	}
	known := map[string]bool{}
	for _, peer := range c.Diameter.Peers {
		known[strings.ToLower(peer.Host)] = true
	}
	type key struct {
		realm string
		app   uint32
	}
	seen := map[key]int{}
	for i, r := range c.Routes {
		field := "routes[" + strconv.Itoa(i) + "]"
		if r.Realm == "" {
			p.Addf(field+".realm", "is empty (use %q for the default route)", DefaultRealm)
		}
		apps, bad := appIDs(r.Apps)
		for _, j := range bad {
			p.Addf(field+".apps["+strconv.Itoa(j)+"]", "%q is not cx, sh, s6a or a decimal Application-Id", r.Apps[j])
		}
		for _, app := range apps {
			k := key{strings.ToLower(r.Realm), app}
			if j, dup := seen[k]; dup {
				p.Addf(field, "realm %q application %s is also routed by routes[%d]", r.Realm, appName(app), j)
			}
			seen[k] = i
		}
		if len(r.Peers) == 0 {
			p.Addf(field+".peers", "is empty")
		}
		for j, rp := range r.Peers {
			pf := field + ".peers[" + strconv.Itoa(j) + "]"
			if !known[strings.ToLower(rp.Host)] {
				p.Addf(pf+".host", "%q is not in diameter.peers", rp.Host)
			}
			if rp.Weight < 0 {
				p.Addf(pf+".weight", "must not be negative, got %d", rp.Weight)
			}
		}
	}
	if c.StickyTTL.D() <= 0 {
		p.Addf("sticky_ttl", "must be positive, got %s", c.StickyTTL)
	}
	if c.DataDir == "" {
		p.Addf("data_dir", "is empty")
	}
	return p.Err()
}

// Logging returns the log section, for the command-line runner.
func (c *Config) Logging() config.Log { return c.Log }

// anyApp stands for "every application" in a route key: no real Application-Id is 0 on a
// relayed request (the base protocol's messages are never relayed).
const anyApp uint32 = 0

// appIDs maps the application names of a route to Application-Ids; an empty list is anyApp.
// It returns the indexes of the names it does not know.
func appIDs(names []string) (ids []uint32, bad []int) {
	if len(names) == 0 {
		return []uint32{anyApp}, nil
	}
	for i, name := range names {
		switch strings.ToLower(name) {
		case config.AppCx:
			ids = append(ids, dict.AppCx)
		case config.AppSh:
			ids = append(ids, dict.AppSh)
		case config.AppS6a:
			ids = append(ids, dict.AppS6a)
		default:
			id, err := strconv.ParseUint(name, 10, 32)
			if err != nil || id == 0 {
				bad = append(bad, i)
				continue
			}
			ids = append(ids, uint32(id))
		}
	}
	return ids, bad
}

// appName is an Application-Id as the configuration writes it.
func appName(app uint32) string {
	switch app {
	case anyApp:
		return "any"
	case dict.AppCx:
		return config.AppCx
	case dict.AppSh:
		return config.AppSh
	case dict.AppS6a:
		return config.AppS6a
	}
	return strconv.FormatUint(uint64(app), 10)
}
