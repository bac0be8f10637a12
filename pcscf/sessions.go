package pcscf

import (
	"net"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
)

// sessions is the chain link for initial requests other than REGISTER: those that came back
// through our Path entry are terminating and go to the UE (TS 24.229 5.2.6.4); the others come
// from a UE and are originating (5.2.6.3). Requests in a dialog go on to next, which forwards
// them along their Route set.
func (n *Node) sessions(next imssip.Handler) imssip.Handler {
	return func(r *imssip.Request) {
		if r.Method == gosip.REGISTER {
			next(r)
			return
		}
		if r.InDialog() {
			if hop, ok := n.ueFlow(r.Request); ok {
				r.Forward(imssip.Forward{NextHops: []gosip.Uri{hop}})
				return
			}
			next(r)
			return
		}
		if own, ok := r.OwnRoute(); ok && own.User == pathUser {
			n.terminate(r)
			return
		}
		n.originate(r)
	}
}

// originate serves a request from a UE (TS 24.229 5.2.6.3): only a registered flow may
// originate; the asserted identity is the preferred one when it is registered to that UE, else
// its default public identity (RFC 3325 9.1); the route is the Service-Route of the
// registration (RFC 3608).
func (n *Node) originate(r *imssip.Request) {
	bs := n.bindings.byFlow(r.Transport(), r.Source())
	if len(bs) == 0 {
		r.Log.Info("pcscf: request from an unregistered flow refused", "source", r.Source())
		r.Reply(gosip.StatusForbidden, "Not Registered")
		return
	}
	b, identity := bs[0], defaultIdentity(bs[0])
	preferred, err := header.All(header.Named(r, header.NamePPreferredIdentity), header.ParseIdentities)
	if err != nil {
		r.Reply(gosip.StatusBadRequest, "Bad P-Preferred-Identity")
		return
	}
	for _, p := range preferred {
		if i := indexNaming(bs, imssip.AOR(p.URI)); i >= 0 {
			b, identity = bs[i], p.URI
			break
		}
	}
	// RFC 3325 9.1: a P-Asserted-Identity from the UE is not trusted; ours replaces it.
	for r.RemoveHeader(header.NamePPreferredIdentity) {
	}
	for r.RemoveHeader(header.NamePAssertedIdentity) {
	}
	r.AppendHeader(header.New(header.NamePAssertedIdentity, header.NameAddr{URI: identity}))
	// TS 24.229 5.2.6.3.3: the route is the Service-Route, whatever the UE preloaded.
	for r.RemoveHeader("Route") {
	}
	for i := len(b.ServiceRoute) - 1; i >= 0; i-- {
		r.PrependHeader(&gosip.RouteHeader{Address: b.ServiceRoute[i].URI})
	}
	r.Log.Debug("pcscf: originating request", logging.KeyIMPU, identity.String())
	f := imssip.Forward{RecordRoute: true}
	if len(b.ServiceRoute) == 0 {
		f.NextHops = []gosip.Uri{n.icscf}
	}
	r.Forward(f)
}

// terminate delivers a request for a UE over the flow it registered from (TS 24.229 5.2.6.4,
// RFC 5626 5.3): the Request-URI is one of its contacts.
func (n *Node) terminate(r *imssip.Request) {
	b, ok := n.bindings.byContact(r.Recipient)
	if !ok {
		r.Reply(gosip.StatusNotFound, "Not Registered Here")
		return
	}
	r.Forward(imssip.Forward{RecordRoute: true, NextHops: flowOf(b)})
}

// ueFlow is the next hop of a request in a dialog towards one of our UEs (no Route left after
// ours, a registered contact as Request-URI): the flow the UE registered from, as for the
// initial request (RFC 5626 5.3). The contact's own address may not be reachable from here: a
// UE behind NAT, such as a phone reaching a container through a published port, is reachable
// only through the address and port its REGISTER came from. It serves the chain and the ACKs
// for 2xx that the proxy forwards statelessly (imssip.Config.ACKNextHop).
func (n *Node) ueFlow(req *gosip.Request) (gosip.Uri, bool) {
	if req.Route() != nil {
		return gosip.Uri{}, false
	}
	b, ok := n.bindings.byContact(req.Recipient)
	if !ok {
		return gosip.Uri{}, false
	}
	hops := flowOf(b)
	if len(hops) == 0 {
		return gosip.Uri{}, false
	}
	return hops[0], true
}

// flowOf is the next hop to the UE of binding b: the address and transport it registered from.
func flowOf(b Binding) []gosip.Uri {
	host, port, err := net.SplitHostPort(b.Source)
	if err != nil {
		return nil
	}
	p, _ := strconv.Atoi(port)
	flow := gosip.Uri{Scheme: "sip", Host: host, Port: p, UriParams: gosip.NewParams()}
	flow.UriParams.Add("transport", strings.ToLower(b.Transport))
	return []gosip.Uri{flow}
}

// defaultIdentity is the first P-Associated-URI of the registration (RFC 7315 4.1: the
// default public identity), else its AOR.
func defaultIdentity(b Binding) gosip.Uri {
	if len(b.AssociatedURIs) > 0 {
		return b.AssociatedURIs[0].URI
	}
	var u gosip.Uri
	_ = gosip.ParseUri(b.AOR, &u)
	return u
}

func indexNaming(bs []Binding, aor string) int {
	for i := range bs {
		if bs[i].names(aor) {
			return i
		}
	}
	return -1
}

// byFlow returns the bindings registered over the flow (transport, source address).
func (s *bindings) byFlow(transport, source string) []Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Binding
	for _, b := range s.m {
		if strings.EqualFold(b.Transport, transport) && b.Source == source {
			out = append(out, *b)
		}
	}
	return out
}

// byContact returns the binding holding the contact u.
func (s *bindings) byContact(u gosip.Uri) (Binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.m {
		for _, c := range b.Contacts {
			if sameURI(c.URI, u) {
				return *b, true
			}
		}
	}
	return Binding{}, false
}
