package sip

import (
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// TestLoopHashSpiral: a request that comes back through another of our Route entries (an AS
// returning it with the odi token, TS 24.229 5.4.3.2) is a spiral, not a loop; the same one
// again is a loop (RFC 3261 16.3 step 4).
func TestLoopHashSpiral(t *testing.T) {
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "bob", Host: "ims.example.org"})
	orig := gosip.Uri{Scheme: "sip", User: "orig", Host: "127.0.0.1", Port: 6060}
	odi := gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 6060, UriParams: gosip.HeaderParams{{K: "odi", V: "abc"}}}
	if loopHash(req, []gosip.Uri{orig}) == loopHash(req, []gosip.Uri{odi}) {
		t.Error("the request back from the AS hashes like the first one")
	}
	if loopHash(req, []gosip.Uri{odi}) != loopHash(req, []gosip.Uri{odi}) {
		t.Error("the same request hashes differently")
	}
}

func TestInDialog(t *testing.T) {
	tests := []struct {
		to   string
		want bool
	}{
		{"<sip:bob@x>;tag=1", true},
		{"<sip:bob@x>", false},
	}
	for _, tt := range tests {
		req := gosip.NewRequest(gosip.BYE, gosip.Uri{Scheme: "sip", Host: "x"})
		req.AppendHeader(gosip.NewHeader("To", tt.to))
		m, err := gosip.ParseMessage([]byte(req.String()))
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{Request: m.(*gosip.Request)}
		if got := r.InDialog(); got != tt.want {
			t.Errorf("To %s: InDialog %t, want %t", tt.to, got, tt.want)
		}
	}
}
