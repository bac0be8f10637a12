package dra

import (
	"strings"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

func TestLookup(t *testing.T) {
	routes := []Route{
		{Realm: "a.example.org", Apps: []string{config.AppCx}, Peers: []RoutePeer{{Host: "cx"}}},
		{Realm: "A.example.org", Peers: []RoutePeer{{Host: "any"}}},
		{Realm: "b.example.org", Apps: []string{config.AppSh}, Peers: []RoutePeer{{Host: "sh"}}},
	}
	withDefault := append(routes, Route{Realm: DefaultRealm, Peers: []RoutePeer{{Host: "default"}}})
	tests := []struct {
		name     string
		routes   []Route
		realm    string
		app      uint32
		wantHost string
		wantCode uint32
	}{
		{"realm and application", routes, "a.example.org", dict.AppCx, "cx", 0},
		{"realm is case-insensitive", routes, "A.EXAMPLE.ORG", dict.AppCx, "cx", 0},
		{"realm for every application", routes, "a.example.org", dict.AppS6a, "any", 0},
		{"application the realm does not route", routes, "b.example.org", dict.AppCx, "", msg.ResultUnableToDeliver},
		{"unknown realm", routes, "c.example.org", dict.AppCx, "", msg.ResultRealmNotServed},
		{"unknown realm, default route", withDefault, "c.example.org", dict.AppCx, "default", 0},
		{"known realm wins over the default route", withDefault, "b.example.org", dict.AppSh, "sh", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, code := newTable(tt.routes, nil).lookup(tt.realm, tt.app)
			host := ""
			if g != nil {
				host = g.tiers[0][0].host
			}
			if host != tt.wantHost || code != tt.wantCode {
				t.Errorf("lookup = %q, %d; want %q, %d", host, code, tt.wantHost, tt.wantCode)
			}
		})
	}
}

func TestPick(t *testing.T) {
	route := Route{Realm: "r", Peers: []RoutePeer{
		{Host: "a", Priority: 1, Weight: 3}, {Host: "b", Priority: 1, Weight: 1}, {Host: "c", Priority: 2},
	}}
	up := func(hosts ...string) func(string) bool {
		return func(h string) bool { return strings.Contains(strings.Join(hosts, ","), h) }
	}
	t.Run("weights share the first tier", func(t *testing.T) {
		g := newTable([]Route{route}, nil).routes[routeKey{"r", anyApp}]
		count := map[string]int{}
		for range 4000 {
			count[g.pick("", up("a", "b", "c"), nil)]++
		}
		if count["c"] != 0 || count["a"] < 2700 || count["a"] > 3300 || count["a"]+count["b"] != 4000 {
			t.Errorf("picked %v, want a:b about 3:1 and never c", count)
		}
	})
	tests := []struct {
		name string
		up   func(string) bool
		skip []string
		want string
	}{
		{"next tier when the first is down", up("c"), nil, "c"},
		{"next tier when the first was tried", up("a", "b", "c"), []string{"A", "b"}, "c"},
		{"never a peer that is not usable", up(), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTable([]Route{route}, nil).routes[routeKey{"r", anyApp}]
			if got := g.pick("", tt.up, tt.skip); got != tt.want {
				t.Errorf("pick = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("sticky Session-Id", func(t *testing.T) {
		sticky := newStickiness(time.Minute)
		r := route
		r.Sticky = true
		g := newTable([]Route{r}, sticky).routes[routeKey{"r", anyApp}]
		g.bind("s1", "b")
		for range 50 {
			if got := g.pick("s1", up("a", "b"), nil); got != "b" {
				t.Fatalf("pick = %q, want the bound peer b", got)
			}
		}
		if got := g.pick("s1", up("a"), nil); got != "a" {
			t.Errorf("bound peer down: pick = %q, want a", got)
		}
		sticky.sweep(time.Now().Add(2 * time.Minute))
		if sticky.len() != 0 {
			t.Errorf("%d sessions left after the TTL", sticky.len())
		}
	})
}

func TestConfigValidate(t *testing.T) {
	var def Config
	def.Defaults()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if len(def.Routes) != 1 || def.Routes[0].Realm != config.HomeDomain || def.Routes[0].Peers[0].Host != def.Diameter.Peers[0].Host ||
		def.Diameter.Peers[0].Addr != config.HSSDiameterAddr {
		t.Errorf("default route is not the home realm to the HSS: %+v %+v", def.Routes, def.Diameter.Peers)
	}
	bad := def
	bad.Routes = []Route{
		{Realm: "", Apps: []string{"foo"}, Peers: []RoutePeer{{Host: "nope.example.org", Weight: -1}}},
		{Realm: config.HomeDomain, Apps: []string{"cx", "16777216"}},
	}
	err := bad.Validate()
	for _, want := range []string{"routes[0].realm", "routes[0].apps[0]", "routes[0].peers[0].host", "routes[0].peers[0].weight",
		"routes[1]: realm", "routes[1].peers: is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem %q", err, want)
		}
	}
}
