package pcscf

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
)

// defaultExpires is the registration lifetime when the 200 OK names none (RFC 3261 10.2.1.1).
const defaultExpires = 3600 * time.Second

// pathUser marks our Path entry: requests for the UE come back to us through it (RFC 3327 5).
const pathUser = "term"

// register is the chain link for REGISTER from a UE (TS 24.229 5.2.2.1): add our Path, the
// path option tag, P-Visited-Network-ID and P-Charging-Vector, send it to the I-CSCF, take ck/ik
// out of the 401 and keep the binding from the 200 OK.
func (n *Node) register(next imssip.Handler) imssip.Handler {
	return func(r *imssip.Request) {
		if r.Method != gosip.REGISTER {
			next(r)
			return
		}
		if r.To() == nil || r.To().Address.Host == "" {
			r.Reply(gosip.StatusBadRequest, "Bad To URI")
			return
		}
		n.prepareRegister(r.Request)
		flowTransport, flowSource := r.Transport(), r.Source()
		requested := contactsOf(r.Request)
		aor := imssip.AOR(r.To().Address)
		r.Forward(imssip.Forward{
			NextHops: []gosip.Uri{n.icscf},
			Response: func(res *gosip.Response) {
				switch {
				case res.StatusCode == gosip.StatusUnauthorized:
					stripKeys(res, r.Log)
				case res.StatusCode >= 200 && res.StatusCode < 300:
					n.registered(r, aor, requested, flowTransport, flowSource, res)
				}
			},
		})
	}
}

// coreURI is u, one of our URIs, as the core should reach us by: with core_transport as its
// transport parameter.
func (n *Node) coreURI(u gosip.Uri) gosip.Uri {
	if n.cfg.CoreTransport != "" {
		u.UriParams = append(gosip.HeaderParams{{K: "transport", V: n.cfg.CoreTransport}}, u.UriParams...)
	}
	return u
}

// prepareRegister adds what TS 24.229 5.2.2.1 has the P-CSCF add to a REGISTER.
func (n *Node) prepareRegister(req *gosip.Request) {
	// RFC 3327 4: our Path entry on top; the S-CSCF routes terminating requests through it.
	req.PrependHeader(header.New(header.NamePath, header.NameAddr{URI: n.coreURI(n.sip.URI(pathUser))}))
	addOptionTag(req, "Require", "path")
	addOptionTag(req, "Supported", "path")
	req.RemoveHeader(header.NamePVisitedNetworkID)
	req.AppendHeader(header.New(header.NamePVisitedNetworkID, header.VisitedNetwork{ID: n.cfg.VisitedNetworkID}))
	// TS 24.229 5.2.2.1: a new icid for the registration (RFC 7315 4.6).
	for req.RemoveHeader(header.NamePChargingVector) {
	}
	cv := header.ChargingVector{ICIDValue: newICID(), ICIDGeneratedAt: n.sip.URI("").Host}
	req.AppendHeader(header.New(header.NamePChargingVector, cv))
}

// addOptionTag adds tag to the Require or Supported header unless it is there.
func addOptionTag(req *gosip.Request, name, tag string) {
	for _, h := range header.Named(req, name) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return
			}
		}
	}
	req.AppendHeader(gosip.NewHeader(name, tag))
}

func newICID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stripKeys removes ik and ck from the challenges of a 401 (TS 24.229 5.2.2.1, TS 33.203 7.1):
// the keys are for the P-CSCF's security associations and must never reach the UE. A challenge
// that does not parse is dropped whole, since it cannot be cleaned.
func stripKeys(res *gosip.Response, log *slog.Logger) {
	hs := header.Named(res, header.NameWWWAuthenticate)
	if len(hs) == 0 {
		return
	}
	var clean []header.Challenge
	for _, h := range hs {
		cs, err := header.ParseChallenges(h.Value())
		if err != nil {
			log.Warn("pcscf: unparsable challenge dropped", logging.KeyErr, err)
			continue
		}
		for _, c := range cs {
			c.IK, c.CK = "", ""
			clean = append(clean, c)
		}
	}
	for res.RemoveHeader(header.NameWWWAuthenticate) {
	}
	for _, c := range clean {
		res.AppendHeader(header.New(header.NameWWWAuthenticate, c))
	}
}

// contactsOf returns the Contact URIs of req.
func contactsOf(req *gosip.Request) []gosip.Uri {
	var out []gosip.Uri
	for _, h := range header.Named(req, "Contact") {
		if c, ok := h.(*gosip.ContactHeader); ok && !c.Address.Wildcard {
			out = append(out, c.Address)
		}
	}
	return out
}

// registered keeps or drops the binding after a 2xx to REGISTER (TS 24.229 5.2.2.1): the
// requested contacts that the 200 OK lists with a non-zero expiry, with Service-Route and
// P-Associated-URI. On an initial registration it subscribes to the reg event.
func (n *Node) registered(r *imssip.Request, aor string, requested []gosip.Uri, transport, source string, res *gosip.Response) {
	log := r.Log.With(logging.KeyIMPU, aor)
	now := time.Now()
	defExp := defaultExpires
	if h := header.First(res, "Expires"); h != nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32); err == nil {
			defExp = time.Duration(v) * time.Second
		}
	}
	var contacts []Contact
	for _, h := range header.Named(res, "Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			continue
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			if s, err := strconv.ParseUint(v, 10, 32); err == nil {
				exp = time.Duration(s) * time.Second
			}
		}
		for _, want := range requested {
			if sameURI(c.Address, want) && exp > 0 {
				contacts = append(contacts, Contact{URI: c.Address, Expires: now.Add(exp)})
			}
		}
	}
	if len(contacts) == 0 {
		n.bindings.delete(aor)
		log.Info("pcscf: deregistered")
		return
	}
	srh, pauh := header.Named(res, header.NameServiceRoute), header.Named(res, header.NamePAssociatedURI)
	vals := make([]string, 0, len(srh)+1+len(pauh))
	for _, h := range srh {
		vals = append(vals, h.Value())
	}
	vals = append(vals, "")
	for _, h := range pauh {
		vals = append(vals, h.Value())
	}
	sr, pau, same := n.bindings.routes(aor, vals)
	if !same {
		var err error
		if sr, err = header.All(srh, header.ParseNameAddrs); err != nil {
			log.Warn("pcscf: bad Service-Route in 200 OK", logging.KeyErr, err)
		}
		if pau, err = header.All(pauh, header.ParseNameAddrs); err != nil {
			log.Warn("pcscf: bad P-Associated-URI in 200 OK", logging.KeyErr, err)
		}
	}
	b := Binding{AOR: aor, Contacts: contacts, Transport: transport, Source: source, ServiceRoute: sr,
		AssociatedURIs: pau, routeValues: vals}
	if n.bindings.put(b) {
		log.Info("pcscf: registered", "contacts", len(contacts), "source", source)
		go n.subscribe(b)
	}
}
