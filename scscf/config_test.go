package scscf

import (
	"strings"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/config"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // problem fields; none for a valid config
	}{
		{"defaults", func(*Config) {}, nil},
		{"breakout", func(c *Config) { c.Breakout = "sip:bgcf.example.org" }, nil},
		{"bad icscf and breakout", func(c *Config) { c.ICSCF = "tel:+1"; c.Breakout = "nope" }, []string{"icscf:", "breakout:"}},
		{"no icscf", func(c *Config) { c.ICSCF = "" }, []string{"icscf:"}},
		{"AS timeout zero", func(c *Config) { c.ISC.ASTimeout = 0 }, []string{"isc.as_timeout:"}},
		{"AS timeout past Timer B", func(c *Config) { c.ISC.ASTimeout = config.Duration(time.Minute) }, []string{"isc.as_timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			c.Defaults()
			tt.edit(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v lacks %q", err, w)
				}
			}
		})
	}
}
