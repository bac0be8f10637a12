package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/imscore/imscore/pkg/config"
)

// TestDefaultsFollowContract pins the single-host table of CONTRACT.md.
func TestDefaultsFollowContract(t *testing.T) {
	var c Config
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate:\n%v", err)
	}
	if c.HSS.APIToken != "imslab-admin" {
		t.Errorf("HSS token = %q, want imslab-admin", c.HSS.APIToken)
	}
	type row struct{ sip, admin, diameter string }
	want := map[string]row{
		"pcscf": {"127.0.0.1:5060", "127.0.0.1:9060", "peer tcp 127.0.0.1:3869"},
		"icscf": {"127.0.0.1:4060", "127.0.0.1:9040", "peer tcp 127.0.0.1:3869"},
		"scscf": {"127.0.0.1:6060", "127.0.0.1:9061", "peer tcp 127.0.0.1:3869"},
		"hss":   {"", "127.0.0.1:8080", "listen tcp 127.0.0.1:3868, sctp 127.0.0.1:3868"},
		"dra":   {"", "127.0.0.1:9869", "listen tcp 127.0.0.1:3869, sctp 127.0.0.1:3869"},
		"ussd":  {"127.0.0.1:5065", "127.0.0.1:9065", "peer tcp 127.0.0.1:3869"},
		"smsip": {"127.0.0.1:5066", "127.0.0.1:9066", "peer tcp 127.0.0.1:3869"},
	}
	got := map[string]row{}
	for _, m := range c.members() {
		r := row{admin: m.admin.Listen, diameter: describeDiameter(m.diameter)}
		if m.sip != nil {
			r.sip = m.sip.Listen
			if m.sip.Domain != config.HomeDomain {
				t.Errorf("%s domain = %q", m.name, m.sip.Domain)
			}
		}
		if m.diameter.OriginHost != m.name+".ims.mnc001.mcc001.3gppnetwork.org" || m.diameter.OriginRealm != "ims.mnc001.mcc001.3gppnetwork.org" {
			t.Errorf("%s Diameter identity = %q / %q", m.name, m.diameter.OriginHost, m.diameter.OriginRealm)
		}
		got[m.name] = r
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %v\nwant %v", got, want)
	}
}

func TestBanner(t *testing.T) {
	var c Config
	c.Defaults()
	var b strings.Builder
	printBanner(&b, c.members(), c.HSS.APIToken, demoSubscribers)
	for _, want := range []string{
		"http://127.0.0.1:8080/api/v1", "Bearer imslab-admin",
		"001010000000001  15550001", "001010000000002  15550002",
		"001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
		"smsip  127.0.0.1:5066",
		"8baf473f2f8fd09487cccbd7097c6862  e734f8734007d6c5ce7a0508809e7e9c  cd77404d82687d0060fc0d5971e65d5e  8000",
		"[authentication username=001010000000002@ims.mnc001.mcc001.3gppnetwork.org aka_K=0x3c6a9f1e7d2b48c5a1e0f9d37b6c2e84 aka_OP=0x78a9f6aaeda13baf07974d4075fe0589 aka_AMF=0x8000]",
		"sipp -sf test/sipp/register_aka.xml -m 1 -t u1 -i 127.0.0.1 -p 5070 127.0.0.1:5060",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, b.String())
		}
	}
}
