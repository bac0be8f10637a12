package scscf

import (
	"strings"
	"testing"
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
