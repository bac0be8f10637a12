package peer

import (
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/config"
)

func TestFromConfig(t *testing.T) {
	var d config.Diameter
	d.Defaults("icscf")
	d.Peers = []config.Peer{{Host: "dra.example.org", Realm: "example.org",
		Endpoint: config.Endpoint{Addr: "127.0.0.1:3869"}, Apps: []string{config.AppCx, config.AppSh}}}
	d.Listen = []config.Endpoint{{Network: "sctp", Addr: "127.0.0.1:3868"}}

	pc := FromConfig(d, AppCx)

	if pc.Identity.Host != d.OriginHost || pc.Identity.Realm != d.OriginRealm {
		t.Errorf("identity %+v, want %s / %s", pc.Identity, d.OriginHost, d.OriginRealm)
	}
	if pc.Watchdog != d.Watchdog.D() || pc.Watchdog < 6*time.Second {
		t.Errorf("watchdog %s, want %s", pc.Watchdog, d.Watchdog)
	}
	if !reflect.DeepEqual(pc.Apps, []App{AppCx}) {
		t.Errorf("apps %+v", pc.Apps)
	}
	if want := []Endpoint{{Network: "sctp", Addr: "127.0.0.1:3868"}}; !reflect.DeepEqual(pc.Listen, want) {
		t.Errorf("listen %+v, want %+v", pc.Listen, want)
	}
	want := []PeerConfig{{Host: "dra.example.org", Realm: "example.org",
		Endpoint: Endpoint{Network: "tcp", Addr: "127.0.0.1:3869"}, Apps: []App{AppCx, AppSh}}}
	if !reflect.DeepEqual(pc.Peers, want) {
		t.Errorf("peers %+v, want %+v", pc.Peers, want)
	}
	if err := pc.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestHealth(t *testing.T) {
	var d config.Diameter
	d.Defaults("hss")
	server, err := New(FromConfig(d, AppCx), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := server.Health(); !ok {
		t.Error("a node that dials no peer is not healthy")
	}
	d.Peers = []config.Peer{{Host: "dra.example.org", Realm: "example.org", Endpoint: config.Endpoint{Addr: "127.0.0.1:1"}}}
	client, err := New(FromConfig(d, AppCx), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if ok, detail := client.Health(); ok {
		t.Errorf("healthy with its only peer not connected: %+v", detail)
	}
}
