package registrar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/sip/header"
)

func TestSIPStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"own decision", statusErr(sip.StatusIntervalToBrief, "Interval Too Brief", nil), 423},
		{"user unknown", fmt.Errorf("cx MAR: %w", &diameterResult{cmd: "MAR", code: cx.DiameterErrorUserUnknown, experimental: true}), 403},
		{"identities don't match", &diameterResult{code: cx.DiameterErrorIdentitiesDontMatch, experimental: true}, 403},
		{"scheme not supported", &diameterResult{code: cx.DiameterErrorAuthSchemeNotSupported, experimental: true}, 403},
		{"other experimental", &diameterResult{code: cx.DiameterErrorInAssignmentType, experimental: true}, 500},
		{"authorization rejected", &diameterResult{code: msg.ResultAuthorizationRejected}, 403},
		{"authentication rejected (bad AUTS)", &diameterResult{code: msg.ResultAuthenticationRejected}, 403},
		{"HSS too busy", &diameterResult{code: msg.ResultTooBusy}, 503},
		{"unable to comply", &diameterResult{code: msg.ResultUnableToComply}, 500},
		{"header syntax", fmt.Errorf("Authorization: %w", header.ErrSyntax), 400},
		{"Diameter timeout", fmt.Errorf("cx SAR: %w", peer.ErrTimeout), 504},
		{"request deadline during a Cx request", fmt.Errorf("cx MAR: %w", context.DeadlineExceeded), 504},
		{"Cx answers late: new registrations refused", errOverloaded, 503},
		{"no Diameter peer", peer.ErrNoPeer, 503},
		{"anything else", errors.New("disk full"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := sipStatus(tc.err); got != tc.want {
				t.Errorf("sipStatus(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		fields []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"server name with user", func(c *Config) { c.ServerName = "sip:scscf@127.0.0.1" }, []string{"server_name"}},
		{"min above max", func(c *Config) { c.MinExpires = config.Duration(3 * time.Hour) }, []string{"min_expires", "default_expires"}},
		{"every problem at once", func(c *Config) {
			c.ServerName, c.MaxAuthFailures, c.ExpiryInterval = "", 0, 0
		}, []string{"server_name", "max_auth_failures", "expiry_interval"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.Defaults()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q lacks %s", err, f)
				}
			}
		})
	}
}
