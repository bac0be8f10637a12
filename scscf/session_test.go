package scscf

import (
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/scscf/registrar"
)

func parseRequest(t *testing.T, raw string) *gosip.Request {
	t.Helper()
	m, err := gosip.ParseMessage([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*gosip.Request)
}

const invite = `INVITE sip:bob@ims.example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1
From: <sip:alice@ims.example.org>;tag=1
To: <sip:bob@ims.example.org>
Call-ID: c1
CSeq: 1 INVITE
P-Asserted-Identity: "Alice" <sip:alice@ims.example.org;user=phone>, <tel:+15550001>
Require: sec-agree, 100rel
Proxy-Require: sec-agree
Security-Verify: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=3;port-s=4
Content-Type: application/sdp
Content-Length: 10

v=0
a=x
`

func TestStripSecAgree(t *testing.T) {
	req := parseRequest(t, invite)
	stripSecAgree(req)
	if h := req.GetHeader("Security-Verify"); h != nil {
		t.Errorf("Security-Verify kept: %s", h.Value())
	}
	if h := req.GetHeader("Proxy-Require"); h != nil {
		t.Errorf("Proxy-Require kept: %s", h.Value())
	}
	if h := req.GetHeader("Require"); h == nil || h.Value() != "100rel" {
		t.Errorf("Require %v, want 100rel alone", h)
	}
}

func TestAssertedIdentity(t *testing.T) {
	tests := []struct {
		name, pai, want string
	}{
		{"name-addr with parameters", `"Alice" <sip:alice@ims.example.org;user=phone>, <tel:+15550001>`, "sip:alice@ims.example.org"},
		{"tel URI", `<tel:+15550001>`, "tel:+15550001"},
		{"absent", "", ""},
		{"garbage", `<<<`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "x"})
			if tt.pai != "" {
				req.AppendHeader(gosip.NewHeader("P-Asserted-Identity", tt.pai))
			}
			if got := assertedIdentity(req); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIFCRequest(t *testing.T) {
	req := parseRequest(t, invite)
	s := &served{sessCase: ifc.SessionCaseTerminatingRegistered, registered: true}
	m := ifcRequest(req, s)
	if m.Method != "INVITE" || m.RequestURI != "sip:bob@ims.example.org" || !strings.Contains(m.SDP, "a=x") ||
		m.SessionCase != ifc.SessionCaseTerminatingRegistered || !m.Registered || len(m.Headers.Values("p-asserted-identity")) != 1 {
		t.Errorf("%+v", m)
	}
	// An SPT on a header and on the SDP matches what ifcRequest filled in.
	f := ifc.InitialFilterCriteria{Priority: 1, TriggerPoint: &ifc.TriggerPoint{ConditionTypeCNF: true, SPT: []ifc.SPT{
		{Group: []int{0}, SIPHeader: &ifc.SIPHeader{Header: "Require", Content: "100rel"}},
		{Group: []int{1}, SessionDescription: &ifc.SessionDescription{Line: "a", Content: "x"}},
	}}}
	f.Compile()
	if !ifc.Match(&f, &m) {
		t.Error("iFC on Require and SDP does not match")
	}
}

func TestODITokens(t *testing.T) {
	var tokens odiTokens
	s := &served{user: "sip:alice@ims.example.org", after: 3}
	tok := tokens.put(s)
	if got := tokens.get(tok); got != s {
		t.Fatalf("get(%q) = %v", tok, got)
	}
	if other := tokens.put(&served{}); other == tok {
		t.Fatal("two puts gave one token")
	}
	if tokens.get("unknown") != nil {
		t.Error("an unknown token was found")
	}
	s.expires = time.Now().Add(-time.Second)
	if tokens.get(tok) != nil {
		t.Error("an expired token was found")
	}
}

func TestUnregisteredStatus(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{registrar.ErrUserUnknown, gosip.StatusNotFound},
		{errors.New("cx SAR: peer down"), gosip.StatusTemporarilyUnavailable},
	}
	for _, tt := range tests {
		if code, _ := unregisteredStatus(tt.err); code != tt.code {
			t.Errorf("%v: %d, want %d", tt.err, code, tt.code)
		}
	}
}

func TestOriginatingEntry(t *testing.T) {
	tests := []struct {
		name, route string
		want        bool
	}{
		{"Service-Route user part (P-CSCF)", "sip:orig@127.0.0.1:6060;lr", true},
		{"orig parameter (AS on behalf of a user)", "sip:127.0.0.1:6060;lr;orig", true},
		{"odi-less plain entry (I-CSCF)", "sip:127.0.0.1:6060;lr", false},
		{"no Route entry of ours", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u gosip.Uri
			if tt.route != "" {
				if err := gosip.ParseUri(tt.route, &u); err != nil {
					t.Fatal(err)
				}
			}
			if got := originatingEntry(u); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResume(t *testing.T) {
	uri := func(s string) gosip.Uri {
		var u gosip.Uri
		if err := gosip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ifcs := []ifc.InitialFilterCriteria{{Priority: 1}, {Priority: 2}}
	bob := uri("sip:bob@ims.example.org")
	tests := []struct {
		name       string
		sessCase   ifc.SessionCase
		ruri       string
		retargeted bool
	}{
		{"terminating, same target", ifc.SessionCaseTerminatingRegistered, "sip:bob@ims.example.org", false},
		{"terminating, target with a parameter added", ifc.SessionCaseTerminatingRegistered, "sip:bob@ims.example.org;user=phone", false},
		{"terminating registered, retargeted", ifc.SessionCaseTerminatingRegistered, "sip:carol@ims.example.org", true},
		{"terminating unregistered, retargeted to a tel URI", ifc.SessionCaseTerminatingUnregistered, "tel:+15550002", true},
		{"originating, new target is not a diversion", ifc.SessionCaseOriginating, "sip:carol@ims.example.org", false},
		{"originating CDIV, retargeted again", ifc.SessionCaseOriginatingCDIV, "sip:carol@ims.example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &served{user: "sip:bob@ims.example.org", sessCase: tt.sessCase, registered: true, ifcs: ifcs, after: 1, target: bob}
			next, retargeted := resume(s, uri(tt.ruri))
			if retargeted != tt.retargeted {
				t.Fatalf("retargeted %v, want %v", retargeted, tt.retargeted)
			}
			if !retargeted {
				if next != s {
					t.Error("the evaluation did not continue where it stopped")
				}
				return
			}
			// The diverting user's originating services, from the first iFC.
			if next.sessCase != ifc.SessionCaseOriginatingCDIV || next.user != s.user || next.after != ifc.Start ||
				!next.registered || len(next.ifcs) != 2 {
				t.Errorf("next %+v", next)
			}
		})
	}
}

func TestAddHistoryInfo(t *testing.T) {
	var from gosip.Uri
	if err := gosip.ParseUri("sip:bob@ims.example.org", &from); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, existing, want string
	}{
		{"added when the AS added none", "", "<sip:bob@ims.example.org>;index=1, <sip:vm@ims.example.org>;index=1.1;mp=1"},
		{"the AS's kept", "<sip:bob@ims.example.org>;index=1, <sip:vm@ims.example.org;cause=486>;index=1.1;mp=1",
			"<sip:bob@ims.example.org>;index=1, <sip:vm@ims.example.org;cause=486>;index=1.1;mp=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "vm", Host: "ims.example.org"})
			if tt.existing != "" {
				req.AppendHeader(gosip.NewHeader("History-Info", tt.existing))
			}
			addHistoryInfo(req, from)
			hs := req.GetHeaders("History-Info")
			if len(hs) != 1 || hs[0].Value() != tt.want {
				t.Errorf("History-Info %v, want %q", hs, tt.want)
			}
		})
	}
}
