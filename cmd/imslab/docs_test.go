package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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

// docConfigs maps each command docs/CONFIG.md describes to a new, empty configuration of it.
func docConfigs() map[string]cli.Config {
	return map[string]cli.Config{
		pcscf.Name: &pcscf.Config{}, icscf.Name: &icscf.Config{}, scscf.Name: &scscf.Config{},
		hss.Name: &hss.Config{}, dra.Name: &dra.Config{}, ussd.Name: &ussd.Config{},
		smsip.Name: &smsip.Config{}, "imslab": &Config{},
	}
}

// readConfigDoc returns docs/CONFIG.md.
func readConfigDoc(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CONFIG.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// newConfig returns the defaults of the named command's configuration.
func newConfig(t *testing.T, name string) cli.Config {
	t.Helper()
	cfg, ok := docConfigs()[name]
	if !ok {
		t.Fatalf("example for unknown command %q", name)
	}
	cfg.Defaults()
	return cfg
}

// TestConfigDocExamples loads and validates every YAML example of docs/CONFIG.md with the
// config type of the command its first line names, so the documentation cannot drift.
func TestConfigDocExamples(t *testing.T) {
	examples := regexp.MustCompile("(?s)```yaml\n# node: (\\w+)\n(.*?)```").FindAllStringSubmatch(readConfigDoc(t), -1)
	if len(examples) == 0 {
		t.Fatal("no examples found in docs/CONFIG.md")
	}
	for i, ex := range examples {
		name, body := ex[1], ex[2]
		t.Run(name, func(t *testing.T) {
			cfg := newConfig(t, name)
			path := filepath.Join(t.TempDir(), "example.yaml")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := config.Load(path, cfg); err != nil {
				t.Fatalf("example %d: %v", i, err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("example %d does not validate:\n%v", i, strings.TrimSpace(err.Error()))
			}
		})
	}
}
