package icscf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/logging"
	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
)

// register is the chain link for REGISTER (TS 24.229 5.3.1.2): ask the HSS which S-CSCF serves
// the user (UAR), choose one, and forward the REGISTER there.
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
		uar, bad := n.uar(r.Request)
		if bad != "" {
			r.Reply(gosip.StatusBadRequest, bad)
			return
		}
		log := r.Log.With(logging.KeyIMPU, uar.PublicIdentity, logging.KeyIMPI, uar.UserName, logging.KeySessionID, uar.SessionID)
		uaa, err := n.query(r, uar)
		var scscfs []gosip.Uri
		if err == nil {
			scscfs, err = n.selectSCSCF(uaa)
		}
		if err != nil {
			code, reason, retry := sipStatus(err)
			log.Info("icscf: REGISTER refused", "status", code, logging.KeyErr, err)
			var hdrs []gosip.Header
			if retry {
				hdrs = append(hdrs, gosip.NewHeader("Retry-After", retryAfter))
			}
			r.Reply(code, reason, hdrs...)
			return
		}
		log.Debug("icscf: REGISTER to S-CSCF", "scscf", scscfs[0].String(), "alternatives", len(scscfs)-1)
		r.Forward(imssip.Forward{NextHops: scscfs})
	}
}

// uar builds the User-Authorization-Request for a REGISTER (TS 29.228 6.1.1, TS 24.229
// 5.3.1.2): the public identity from To, the private one from the Authorization username (or
// derived from the public identity, TS 23.003 13.3), the P-Visited-Network-ID, and
// DE_REGISTRATION when the REGISTER removes the registration. A malformed header gives the
// reason phrase of a 400 instead.
func (n *Node) uar(req *gosip.Request) (*cx.UAR, string) {
	impu := imssip.AOR(req.To().Address)
	impi, ok := privateIdentity(req, req.To().Address)
	if !ok {
		return nil, "Bad Authorization"
	}
	visited := n.cfg.Diameter.OriginRealm
	if vs, err := header.All(req.GetHeaders(header.NamePVisitedNetworkID), header.ParseVisitedNetworks); err != nil {
		return nil, "Bad P-Visited-Network-ID"
	} else if len(vs) > 0 {
		visited = vs[0].ID
	}
	authType := cx.UserAuthorizationTypeRegistration
	if isDeregistration(req) {
		authType = cx.UserAuthorizationTypeDeRegistration
	}
	d := n.cfg.Diameter
	return &cx.UAR{
		RequestHeader: msg.RequestHeader{SessionID: msg.NewSessionID(d.OriginHost), OriginHost: d.OriginHost,
			OriginRealm: d.OriginRealm, DestinationRealm: n.cfg.SIP.Domain},
		UserName: impi, PublicIdentity: impu, VisitedNetworkIdentifier: visited, UserAuthorizationType: &authType,
	}, ""
}

// privateIdentity is the username of the Authorization header, or user@host of the public
// identity when the UE sent none (TS 24.229 5.3.1.2, TS 23.003 13.3); false when the
// Authorization header does not parse.
func privateIdentity(req *gosip.Request, impu gosip.Uri) (string, bool) {
	if h := req.GetHeader(header.NameAuthorization); h != nil {
		creds, err := header.ParseCredentials(h.Value())
		if err != nil || len(creds) == 0 {
			return "", false
		}
		if creds[0].Username != "" {
			return creds[0].Username, true
		}
	}
	if impu.User == "" {
		return impu.Host, true
	}
	return impu.User + "@" + impu.Host, true
}

// isDeregistration reports whether the REGISTER removes every contact it names: Expires 0, or
// expires=0 on each contact (RFC 3261 10.2.2).
func isDeregistration(req *gosip.Request) bool {
	headerZero := false
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		headerZero = err == nil && v == 0
	}
	contacts := req.GetHeaders("Contact")
	if len(contacts) == 0 {
		return headerZero
	}
	for _, h := range contacts {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			return false
		}
		if c.Address.Wildcard {
			continue // "*" is only allowed with Expires: 0
		}
		v, has := c.Params.Get("expires")
		if has {
			if s, err := strconv.ParseUint(v, 10, 32); err != nil || s != 0 {
				return false
			}
			continue
		}
		if !headerZero {
			return false
		}
	}
	return true
}

// query sends the UAR and decodes the UAA; a UAA without success is a *resultError.
func (n *Node) query(r *imssip.Request, uar *cx.UAR) (*cx.UAA, error) {
	m, err := uar.Message()
	if err != nil {
		return nil, fmt.Errorf("icscf: UAR: %w", err)
	}
	ans, err := n.diam.Request(r.Context(), m)
	if err != nil {
		return nil, fmt.Errorf("icscf: UAR: %w", err)
	}
	var uaa cx.UAA
	if err := msg.Unmarshal(ans, &uaa); err != nil {
		return nil, fmt.Errorf("icscf: UAA: %w", err)
	}
	code, experimental := uaa.Result()
	if code < 2000 || code >= 3000 {
		return nil, &resultError{code: code, experimental: experimental}
	}
	return &uaa, nil
}

// selectSCSCF lists the S-CSCFs for the REGISTER, best first (TS 24.229 5.3.1.2, TS 29.228
// 6.7): the UAA's Server-Name alone, else the configured S-CSCFs with every mandatory
// capability, the HSS's preferred names first, then the most optional capabilities, then
// configuration order. The others are where the REGISTER goes when the first does not answer
// (TS 24.229 5.3.1.3; we choose among the capabilities already received instead of asking the
// HSS again with REGISTRATION_AND_CAPABILITIES).
func (n *Node) selectSCSCF(uaa *cx.UAA) ([]gosip.Uri, error) {
	if uaa.ServerName != "" {
		u, err := imssip.ParseURI(uaa.ServerName)
		if err != nil {
			return nil, fmt.Errorf("%w: Server-Name: %w", errNoSCSCF, err)
		}
		return []gosip.Uri{u}, nil
	}
	// Our HSS leaves Server-Capabilities out when the subscriber has no capability set (an
	// empty grouped AVP is legal, but Wireshark flags it): no requirement, any S-CSCF will do.
	caps := uaa.ServerCapabilities
	if caps == nil {
		caps = &cx.ServerCapabilities{}
	}
	type candidate struct {
		s         SCSCF
		preferred bool
		optional  int
	}
	var cands []candidate
	for _, s := range n.cfg.SCSCFs {
		if !hasAll(s.Capabilities, caps.MandatoryCapability) {
			continue
		}
		c := candidate{s: s, preferred: slices.Contains(caps.ServerName, s.Name)}
		for _, o := range caps.OptionalCapability {
			if slices.Contains(s.Capabilities, o) {
				c.optional++
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: none has mandatory capabilities %v", errNoSCSCF, caps.MandatoryCapability)
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.preferred != b.preferred {
			if a.preferred {
				return -1
			}
			return 1
		}
		return b.optional - a.optional
	})
	out := make([]gosip.Uri, 0, len(cands))
	for _, c := range cands {
		u, _ := imssip.ParseURI(c.s.Name) // checked by Validate
		out = append(out, u)
	}
	return out, nil
}

func hasAll(have, want []uint32) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
