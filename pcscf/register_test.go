package pcscf

import (
	"log/slog"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
)

// TestRegisteredRouteSet checks that a re-registration keeps the route set of its 200 OK: the
// parsed lists are reused while the header values repeat, and follow them when they change.
func TestRegisteredRouteSet(t *testing.T) {
	const aor = "sip:alice@ims.example.org"
	var contact gosip.Uri
	if err := gosip.ParseUri("sip:alice@192.0.2.10:5060", &contact); err != nil {
		t.Fatal(err)
	}
	n := &Node{bindings: newBindings()}
	n.bindings.put(Binding{AOR: aor}) // registered before: no reg-event subscription is started
	r := &imssip.Request{Log: slog.New(slog.DiscardHandler)}
	ok := func(pau string) *gosip.Response {
		res := gosip.NewResponse(200, "OK")
		res.AppendHeader(&gosip.ContactHeader{Address: contact, Params: gosip.HeaderParams{{K: "expires", V: "600"}}})
		res.AppendHeader(gosip.NewHeader(header.NameServiceRoute, "<sip:orig@scscf.ims.example.org;lr>"))
		res.AppendHeader(gosip.NewHeader(header.NamePAssociatedURI, pau))
		return res
	}
	register := func(pau string) Binding {
		n.registered(r, aor, []gosip.Uri{contact}, "UDP", "192.0.2.10:5060", ok(pau))
		b, found := n.bindings.get(aor)
		if !found {
			t.Fatal("binding dropped")
		}
		return b
	}

	first := register("<" + aor + ">, <tel:+15550001>")
	if len(first.ServiceRoute) != 1 || first.ServiceRoute[0].URI.Host != "scscf.ims.example.org" || len(first.AssociatedURIs) != 2 {
		t.Fatalf("route set %+v / %+v", first.ServiceRoute, first.AssociatedURIs)
	}
	again := register("<" + aor + ">, <tel:+15550001>")
	if &again.AssociatedURIs[0] != &first.AssociatedURIs[0] || &again.ServiceRoute[0] != &first.ServiceRoute[0] {
		t.Error("an unchanged route set was parsed again")
	}
	changed := register("<" + aor + ">")
	if len(changed.AssociatedURIs) != 1 || len(changed.ServiceRoute) != 1 {
		t.Errorf("after the P-Associated-URI changed: %+v", changed.AssociatedURIs)
	}
	// The same values split over other header lines are another route set.
	res := ok("<" + aor + ">")
	res.AppendHeader(gosip.NewHeader(header.NamePAssociatedURI, "<tel:+15550001>"))
	n.registered(r, aor, []gosip.Uri{contact}, "UDP", "192.0.2.10:5060", res)
	if b, _ := n.bindings.get(aor); len(b.AssociatedURIs) != 2 {
		t.Errorf("with a second P-Associated-URI line: %+v", b.AssociatedURIs)
	}
}

// TestConfigCoreTransport: core_transport is udp, tcp or empty; anything else is refused, naming
// the key.
func TestConfigCoreTransport(t *testing.T) {
	for tp, ok := range map[string]bool{"": true, "udp": true, "tcp": true, "TCP": false, "sctp": false} {
		var c Config
		c.Defaults()
		c.CoreTransport = tp
		err := c.Validate()
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "core_transport")) {
			t.Errorf("core_transport %q: Validate() = %v", tp, err)
		}
	}
}
