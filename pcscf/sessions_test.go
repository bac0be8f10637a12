package pcscf

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/header"
)

func uri(t *testing.T, s string) gosip.Uri {
	t.Helper()
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBindingLookups finds the registration of an originating flow and of a terminating contact,
// and the identity asserted by default (RFC 7315 4.1: the first P-Associated-URI).
func TestBindingLookups(t *testing.T) {
	bs := newBindings()
	exp := time.Now().Add(time.Hour)
	alice := Binding{AOR: "sip:alice@ims.example.org", Transport: "UDP", Source: "127.0.0.1:5070",
		Contacts:       []Contact{{URI: uri(t, "sip:alice@127.0.0.1:5070"), Expires: exp}},
		AssociatedURIs: []header.NameAddr{{URI: uri(t, "tel:+15550001")}, {URI: uri(t, "sip:alice@ims.example.org")}}}
	bob := Binding{AOR: "sip:bob@ims.example.org", Transport: "TCP", Source: "127.0.0.1:5080",
		Contacts: []Contact{{URI: uri(t, "sip:bob@127.0.0.1:5081;transport=tcp"), Expires: exp}}}
	bs.put(alice)
	bs.put(bob)

	tests := []struct {
		name, transport, source, want string
	}{
		{"registered flow", "udp", "127.0.0.1:5070", alice.AOR},
		{"same address, other transport", "TCP", "127.0.0.1:5070", ""},
		{"unknown flow", "UDP", "127.0.0.1:9999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bs.byFlow(tt.transport, tt.source)
			if (tt.want == "") != (len(got) == 0) || (len(got) > 0 && got[0].AOR != tt.want) {
				t.Errorf("byFlow = %+v, want %q", got, tt.want)
			}
		})
	}
	if b, ok := bs.byContact(uri(t, "sip:bob@127.0.0.1:5081")); !ok || b.AOR != bob.AOR {
		t.Errorf("byContact: %+v %t", b, ok)
	}
	if _, ok := bs.byContact(uri(t, "sip:carol@127.0.0.1:5081")); ok {
		t.Error("byContact found a contact that is not registered")
	}
	for _, tt := range []struct {
		b    Binding
		want string
	}{{alice, "tel:+15550001"}, {bob, bob.AOR}} {
		if u := defaultIdentity(tt.b); u.String() != tt.want {
			t.Errorf("default identity of %s: %s, want %s", tt.b.AOR, u.String(), tt.want)
		}
	}
	all := []Binding{bob, alice}
	if i := indexNaming(all, "tel:+15550001"); i != 1 {
		t.Errorf("indexNaming of an associated URI = %d, want 1", i)
	}
	if i := indexNaming(all, "sip:mallory@ims.example.org"); i != -1 {
		t.Errorf("indexNaming of a stranger = %d", i)
	}
}

// TestUEFlow sends requests in a dialog towards a UE over the flow it registered from (RFC 5626
// 5.3): the contact's own address is behind NAT. A request with a Route left goes away from
// the UE, and one for an unknown contact follows its Request-URI.
func TestUEFlow(t *testing.T) {
	n := &Node{bindings: newBindings()}
	n.bindings.put(Binding{AOR: "sip:bob@ims.example.org", Transport: "UDP", Source: "172.22.0.1:40000",
		Contacts: []Contact{{URI: uri(t, "sip:bob@127.0.0.1:5081"), Expires: time.Now().Add(time.Hour)}}})
	for _, tt := range []struct {
		name, target, route, want string
	}{
		{"registered contact", "sip:bob@127.0.0.1:5081", "", "sip:172.22.0.1:40000;transport=udp"},
		{"route left", "sip:bob@127.0.0.1:5081", "sip:scscf.ims.example.org;lr", ""},
		{"unknown contact", "sip:carol@127.0.0.1:5081", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.ACK, uri(t, tt.target))
			if tt.route != "" {
				req.AppendHeader(&gosip.RouteHeader{Address: uri(t, tt.route)})
			}
			hop, ok := n.ueFlow(req)
			if got := map[bool]string{true: hop.String()}[ok]; got != tt.want {
				t.Errorf("ueFlow = %q, want %q", got, tt.want)
			}
		})
	}
}
