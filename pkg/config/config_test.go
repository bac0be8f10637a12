package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Name     string   `yaml:"name"`
	Timeout  Duration `yaml:"timeout"`
	Diameter Diameter `yaml:"diameter"`
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	defaults := func() testConfig {
		c := testConfig{Name: "default", Timeout: Duration(time.Second)}
		c.Diameter.Defaults("hss")
		c.Diameter.Peers = []Peer{DRAPeer(AppCx)}
		return c
	}
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, c testConfig)
	}{
		{name: "empty file keeps defaults", body: "", check: func(t *testing.T, c testConfig) {
			if c.Name != "default" || c.Timeout.D() != time.Second || c.Diameter.Watchdog.D() != DefaultWatchdog {
				t.Errorf("defaults lost: %+v", c)
			}
		}},
		{name: "keys override, others keep defaults", body: "name: x\ntimeout: 1m30s\ndiameter:\n  watchdog: 10s\n", check: func(t *testing.T, c testConfig) {
			if c.Name != "x" || c.Timeout.D() != 90*time.Second || c.Diameter.Watchdog.D() != 10*time.Second {
				t.Errorf("not overridden: %+v", c)
			}
			if c.Diameter.OriginHost != "hss."+HomeDomain || c.Diameter.RequestTimeout.D() != DefaultRequestTimeout {
				t.Errorf("defaults lost: %+v", c.Diameter)
			}
		}},
		{name: "list replaces default list, inline endpoint", body: "diameter:\n  peers:\n    - {host: a.example.org, realm: example.org, network: sctp, addr: '10.0.0.1:3868', apps: [sh]}\n",
			check: func(t *testing.T, c testConfig) {
				want := Peer{Host: "a.example.org", Realm: "example.org", Endpoint: Endpoint{Network: "sctp", Addr: "10.0.0.1:3868"}, Apps: []string{"sh"}}
				if len(c.Diameter.Peers) != 1 || c.Diameter.Peers[0].Host != want.Host || c.Diameter.Peers[0].Endpoint != want.Endpoint || c.Diameter.Peers[0].Apps[0] != "sh" {
					t.Errorf("peers = %+v, want [%+v]", c.Diameter.Peers, want)
				}
			}},
		{name: "unknown top-level key", body: "nmae: x\n", wantErr: "field nmae not found"},
		{name: "unknown nested key", body: "diameter:\n  origin_hots: x\n", wantErr: "field origin_hots not found"},
		{name: "unknown key in list element", body: "diameter:\n  peers:\n    - {hots: x}\n", wantErr: "field hots not found"},
		{name: "bad duration", body: "timeout: 30\n", wantErr: "missing unit"},
		{name: "duration not a string", body: "timeout: [1]\n", wantErr: "duration must be a string"},
		{name: "not yaml", body: "name: [\n", wantErr: "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			err := Load(writeFile(t, tt.body), &c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	var c testConfig
	if err := Load(filepath.Join(t.TempDir(), "nope.yaml"), &c); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
