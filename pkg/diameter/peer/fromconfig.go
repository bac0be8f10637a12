package peer

import (
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// FromConfig turns a node's YAML Diameter section into a peer Config serving apps. It is the
// one place every node maps its configuration onto the peer layer; a node sets what the YAML
// does not say (AcceptUnknownPeers, ProductName) on the result.
func FromConfig(d config.Diameter, apps ...App) Config {
	pc := Config{
		Identity:       msg.Identity{Host: d.OriginHost, Realm: d.OriginRealm},
		Apps:           apps,
		Watchdog:       d.Watchdog.D(),
		RequestTimeout: d.RequestTimeout.D(),
	}
	for _, e := range d.Listen {
		pc.Listen = append(pc.Listen, Endpoint{Network: e.Net(), Addr: e.Addr})
	}
	for _, p := range d.Peers {
		pc.Peers = append(pc.Peers, PeerConfig{
			Host:     p.Host,
			Realm:    p.Realm,
			Endpoint: Endpoint{Network: p.Net(), Addr: p.Addr},
			Apps:     appsByName(p.Apps),
		})
	}
	return pc
}

// Applications by their configuration names (config.AppCx ...).
var (
	AppCx  = App{ID: dict.AppCx, Vendor: dict.Vendor3GPP}
	AppSh  = App{ID: dict.AppSh, Vendor: dict.Vendor3GPP}
	AppS6a = App{ID: dict.AppS6a, Vendor: dict.Vendor3GPP}
)

func appsByName(names []string) []App {
	var apps []App
	for _, name := range names {
		switch name {
		case config.AppCx:
			apps = append(apps, AppCx)
		case config.AppSh:
			apps = append(apps, AppSh)
		case config.AppS6a:
			apps = append(apps, AppS6a)
		}
	}
	return apps
}
