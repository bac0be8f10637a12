// Package compose tests the docker-compose lab: that the files a user edits (docker-compose.yml,
// deploy/) load, validate and agree with each other, and that the lab starts, keeps its data
// across restarts and `down`/`up`, and answers on its published ports.
package compose

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imscore/imscore/dra"
	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/scscf"
	"github.com/imscore/imscore/smsip"
	"github.com/imscore/imscore/ussd"
)

// root is the repository root, where docker-compose.yml is.
const root = "../.."

// composeFile is the part of a compose file these tests read.
type composeFile struct {
	Services map[string]struct {
		Image    string
		Volumes  []string
		Networks map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
		}
	}
}

func readCompose(t *testing.T, path string) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// loadNode loads deploy/<file> as the named node's configuration and validates it, as
// `<node> -config deploy/<file> -check` does in the container.
func loadNode(t *testing.T, node, file string) cli.Config {
	t.Helper()
	cfg := map[string]cli.Config{
		pcscf.Name: &pcscf.Config{}, icscf.Name: &icscf.Config{}, scscf.Name: &scscf.Config{},
		hss.Name: &hss.Config{}, dra.Name: &dra.Config{}, ussd.Name: &ussd.Config{}, smsip.Name: &smsip.Config{},
	}[node]
	if cfg == nil {
		t.Fatalf("no node %q", node)
	}
	cfg.Defaults()
	if err := config.Load(filepath.Join(root, "deploy", file), cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("deploy/%s does not validate:\n%v", file, err)
	}
	return cfg
}

func host(t *testing.T, field, addr string) string {
	t.Helper()
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	return h
}

func uriHost(t *testing.T, field, uri string) string {
	t.Helper()
	u, err := url.Parse(strings.Replace(uri, "sip:", "sip://", 1))
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	return u.Hostname()
}

// TestDeployConfigs loads every deploy/<node>.yaml with its node's configuration type and checks
// it against docker-compose.yml: each service mounts its file, each CSCF's SIP listens on the
// service's fixed address (it goes into Via, Path and Service-Route), and every Diameter peer,
// SIP next hop and the PostgreSQL DSN point at the fixed address of the service they name.
func TestDeployConfigs(t *testing.T) {
	lab := readCompose(t, "docker-compose.yml")
	ip := map[string]string{}
	for name, s := range lab.Services {
		ip[name] = s.Networks["ims"].IPv4
		if ip[name] == "" {
			t.Errorf("service %s has no fixed address on network ims", name)
		}
		want := "./deploy/" + name + ".yaml:/etc/imscore/node.yaml:ro"
		if !slices.Contains(s.Volumes, want) {
			t.Errorf("service %s does not mount %s", name, want)
		}
	}
	pg := readCompose(t, "deploy/postgres.yml")
	ip["postgres"] = pg.Services["postgres"].Networks["ims"].IPv4

	// A Diameter peer <node>.<realm> must be at the address of service <node>.
	checkPeers := func(node string, d config.Diameter) {
		for i, p := range d.Peers {
			svc, _, _ := strings.Cut(p.Host, ".")
			if got := host(t, "peer", p.Addr); got != ip[svc] {
				t.Errorf("%s diameter.peers[%d] %s at %s, but service %s is %s", node, i, p.Host, got, svc, ip[svc])
			}
		}
	}
	checkSIP := func(node string, s config.SIP) {
		if got := host(t, "sip.listen", s.Listen); got != ip[node] {
			t.Errorf("%s sip.listen host %s, want the service address %s", node, got, ip[node])
		}
	}
	for _, node := range []string{pcscf.Name, icscf.Name, scscf.Name, hss.Name, dra.Name, ussd.Name, smsip.Name} {
		t.Run(node, func(t *testing.T) {
			switch c := loadNode(t, node, node+".yaml").(type) {
			case *pcscf.Config:
				checkSIP(node, c.SIP)
				checkPeers(node, c.Diameter)
				if got := uriHost(t, "icscf", c.ICSCF); got != ip[icscf.Name] {
					t.Errorf("pcscf icscf %s, want %s", c.ICSCF, ip[icscf.Name])
				}
			case *icscf.Config:
				checkSIP(node, c.SIP)
				checkPeers(node, c.Diameter)
				for _, s := range c.SCSCFs {
					if got := uriHost(t, "scscfs", s.Name); got != ip[scscf.Name] {
						t.Errorf("icscf scscfs %s, want %s", s.Name, ip[scscf.Name])
					}
				}
			case *scscf.Config:
				checkSIP(node, c.SIP)
				checkPeers(node, c.Diameter)
				if got := uriHost(t, "server_name", c.Registrar.ServerName); got != ip[scscf.Name] {
					t.Errorf("scscf registrar.server_name %s, want %s", c.Registrar.ServerName, ip[scscf.Name])
				}
				if c.DataDir != "/data" {
					t.Errorf("scscf data_dir %s, want the volume /data", c.DataDir)
				}
			case *ussd.Config:
				checkSIP(node, c.SIP)
				checkPeers(node, c.Diameter)
			case *smsip.Config:
				checkSIP(node, c.SIP)
				checkPeers(node, c.Diameter)
			case *dra.Config:
				checkPeers(node, c.Diameter)
			case *hss.Config:
				if c.DataDir != "/data" {
					t.Errorf("hss data_dir %s, want the volume /data", c.DataDir)
				}
			}
		})
	}
	t.Run("hss-postgres", func(t *testing.T) {
		c := loadNode(t, hss.Name, "hss-postgres.yaml").(*hss.Config)
		u, err := url.Parse(c.Store.DSN)
		if err != nil || c.Store.Driver != "postgres" || u.Hostname() != ip["postgres"] {
			t.Errorf("store %s %s, want postgres at %s (%v)", c.Store.Driver, c.Store.DSN, ip["postgres"], err)
		}
		if !slices.Contains(pg.Services["hss"].Volumes, "./deploy/hss-postgres.yaml:/etc/imscore/node.yaml:ro") {
			t.Error("deploy/postgres.yml does not mount deploy/hss-postgres.yaml for the hss")
		}
	})
}
