package config

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// fields returns the fields named by err's problems.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValidationError: %v", err, err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestSectionsValidate(t *testing.T) {
	goodDiameter := func() Diameter {
		var d Diameter
		d.Defaults("dra")
		d.Listen = []Endpoint{{Network: NetworkTCP, Addr: "127.0.0.1:3869"}, {Addr: "0.0.0.0:0"}}
		d.Peers = []Peer{DRAPeer(AppCx, AppSh, AppS6a)}
		return d
	}
	var goodSIP SIP
	goodSIP.Defaults("127.0.0.1:5060")
	var goodLog Log
	goodLog.Defaults()

	tests := []struct {
		name string
		v    interface{ Validate() error }
		want []string // fields with problems, in order
	}{
		{"admin ok", Admin{Listen: "127.0.0.1:9060"}, nil},
		{"admin any interface port 0", Admin{Listen: ":0"}, nil},
		{"admin empty", Admin{}, []string{"listen"}},
		{"admin no port", Admin{Listen: "127.0.0.1"}, []string{"listen"}},
		{"admin port too big", Admin{Listen: "127.0.0.1:65536"}, []string{"listen"}},
		{"admin port name", Admin{Listen: "127.0.0.1:http"}, []string{"listen"}},
		{"log ok", goodLog, nil},
		{"log json debug", Log{Format: "json", Level: "DEBUG"}, nil},
		{"log bad both", Log{Format: "xml", Level: "loud"}, []string{"format", "level"}},
		{"sip ok", goodSIP, nil},
		{"sip bad", SIP{Listen: "5060", Domain: "bad domain"}, []string{"listen", "domain"}},
		{"sip empty domain", SIP{Listen: ":5060"}, []string{"domain"}},
		{"sip negative bounds", SIP{Listen: ":5060", Domain: HomeDomain, MaxTransactions: -1, UDPReceiveBuffer: -1},
			[]string{"max_transactions", "udp_receive_buffer"}},
		{"endpoint sctp", Endpoint{Network: "sctp", Addr: "[::1]:3868"}, nil},
		{"endpoint bad", Endpoint{Network: "udp", Addr: "x"}, []string{"network", "addr"}},
		{"diameter ok", goodDiameter(), nil},
		{"diameter every problem at once", func() Diameter {
			d := goodDiameter()
			d.OriginHost = ""
			d.OriginRealm = "-bad-.org"
			d.Listen[1].Network = "quic"
			d.Peers = append(d.Peers,
				Peer{Host: d.Peers[0].Host, Realm: HomeDomain, Endpoint: Endpoint{Addr: "127.0.0.1:3868"}},
				Peer{Host: "h.example", Realm: "example", Endpoint: Endpoint{Addr: ":3868"}, Apps: []string{"rx"}},
				Peer{Host: "h2.example", Realm: "example", Endpoint: Endpoint{Addr: "127.0.0.1:0"}},
			)
			d.Watchdog = Duration(5 * time.Second)
			d.RequestTimeout = 0
			return d
		}(), []string{
			"origin_host", "origin_realm", "listen[1].network",
			"peers[1].host", "peers[2].addr", "peers[2].apps[0]", "peers[3].addr",
			"watchdog", "request_timeout",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fields(t, tt.v.Validate())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems in %v, want %v (err: %v)", got, tt.want, tt.v.Validate())
			}
		})
	}
}

func TestEndpointNet(t *testing.T) {
	if got := (Endpoint{}).Net(); got != NetworkTCP {
		t.Errorf("empty network = %q, want tcp", got)
	}
	if got := (Endpoint{Network: NetworkSCTP}).Net(); got != NetworkSCTP {
		t.Errorf("sctp network = %q", got)
	}
}

func TestDiameterDefaults(t *testing.T) {
	var d Diameter
	d.Defaults("icscf")
	if d.OriginHost != "icscf.ims.mnc001.mcc001.3gppnetwork.org" || d.OriginRealm != "ims.mnc001.mcc001.3gppnetwork.org" {
		t.Errorf("identity = %q / %q", d.OriginHost, d.OriginRealm)
	}
	if d.Watchdog.D() != 30*time.Second || d.RequestTimeout.D() <= 0 {
		t.Errorf("timers = %s / %s", d.Watchdog, d.RequestTimeout)
	}
}
