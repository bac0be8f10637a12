package sip

import (
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

func TestAOR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sip:alice@example.org", "sip:alice@example.org"},
		{"sip:alice@example.org:5070;transport=tcp", "sip:alice@example.org"},
		{"sips:alice@example.org", "sips:alice@example.org"},
		{"tel:+15550001", "tel:+15550001"},
		{"sip:example.org:5060", "sip:example.org"},
		{"sip:bob@[2001:db8::1]:5060", "sip:bob@[2001:db8::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var u gosip.Uri
			if err := gosip.ParseUri(tt.in, &u); err != nil {
				t.Fatal(err)
			}
			if got := AOR(u); got != tt.want {
				t.Errorf("AOR = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseURI(t *testing.T) {
	for _, s := range []string{"sip:127.0.0.1:6060", "sip:scscf.example.org;transport=tcp"} {
		if _, err := ParseURI(s); err != nil {
			t.Errorf("ParseURI(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "tel:+1555", "127.0.0.1:6060", "sip:"} {
		if _, err := ParseURI(s); err == nil {
			t.Errorf("ParseURI(%q) accepted", s)
		}
	}
}

func TestPreRoute(t *testing.T) {
	p, err := New(Config{Listen: "127.0.0.1:0", Aliases: []string{"pcscf.example.org"}}, nil, siptest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.udp.Close(); p.tcp.Close() })
	self := p.URI("")
	alias := gosip.Uri{Scheme: "sip", Host: "pcscf.example.org", UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}
	next := gosip.Uri{Scheme: "sip", Host: "next.example.org", UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}
	target := gosip.Uri{Scheme: "sip", User: "bob", Host: "example.org"}
	tests := []struct {
		name       string
		ruri       gosip.Uri
		routes     []gosip.Uri
		wantRURI   string
		wantRoutes []string
	}{
		{"our Route removed", target, []gosip.Uri{self, next}, target.String(), []string{next.String()}},
		{"alias Route removed", target, []gosip.Uri{alias, next}, target.String(), []string{next.String()}},
		{"other Route kept", target, []gosip.Uri{next}, target.String(), []string{next.String()}},
		// RFC 3261 16.4: a strict router put us in the Request-URI; the last Route is the target.
		{"strict-routed Request-URI restored", self, []gosip.Uri{next, target}, target.String(), []string{next.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.INVITE, tt.ruri)
			for _, r := range tt.routes {
				req.AppendHeader(&gosip.RouteHeader{Address: r})
			}
			p.preRoute(req)
			if got := req.Recipient.String(); got != tt.wantRURI {
				t.Errorf("Request-URI %s, want %s", got, tt.wantRURI)
			}
			var got []string
			for _, h := range req.GetHeaders("Route") {
				got = append(got, h.(*gosip.RouteHeader).Address.String())
			}
			if len(got) != len(tt.wantRoutes) || (len(got) > 0 && got[0] != tt.wantRoutes[0]) {
				t.Errorf("Routes %v, want %v", got, tt.wantRoutes)
			}
		})
	}
}

func TestAdvertised(t *testing.T) {
	if got := advertised("192.0.2.7"); got != "192.0.2.7" {
		t.Errorf("advertised(192.0.2.7) = %q", got)
	}
	for _, wildcard := range []string{"", "0.0.0.0", "::"} {
		if got := advertised(wildcard); got == "" || got == "0.0.0.0" || got == "::" {
			t.Errorf("advertised(%q) = %q, want a routable address", wildcard, got)
		}
	}
}
