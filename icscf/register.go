package icscf

import (
	"errors"
	"fmt"
	"log/slog"
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
			scscfs, err = n.selectSCSCF(uaa, nil)
		}
		if err != nil {
			refuse(r, log, err)
			return
		}
		n.forwardRegister(r, log, uar, scscfs, uaa.ServerName != "")
	}
}

// refuse answers a REGISTER the I-CSCF cannot forward, err mapped by sipStatus.
func refuse(r *imssip.Request, log *slog.Logger, err error) {
	code, reason, retry := sipStatus(err)
	log.Info("icscf: REGISTER refused", "status", code, logging.KeyErr, err)
	reply(r, code, reason, retry)
}

// reply answers r with code, and with Retry-After when retry (RFC 3261 21.5.4).
func reply(r *imssip.Request, code int, reason string, retry bool) {
	var hdrs []gosip.Header
	if retry {
		hdrs = append(hdrs, gosip.NewHeader("Retry-After", retryAfter))
	}
	r.Reply(code, reason, hdrs...)
}

// forwardRegister sends the REGISTER to the S-CSCFs of scscfs in turn until one answers (TS
// 24.229 5.3.1.3): when the S-CSCF does not answer (nothing within scscf_answer_timeout, or a
// transport error) or answers 3xx, 480 or 5xx, the next one is tried. When the UAA named the
// S-CSCF (Server-Name), there is no next one: the I-CSCF asks the HSS again with
// REGISTRATION_AND_CAPABILITIES and selects among the Server-Capabilities, leaving out the
// S-CSCFs already tried. A de-registration goes only to the S-CSCF that holds the registration.
// When no S-CSCF is left: 504 if the last one did not answer in time, else 480 (with
// Retry-After after a 503 or a transport error).
func (n *Node) forwardRegister(r *imssip.Request, log *slog.Logger, uar *cx.UAR, scscfs []gosip.Uri, byName bool) {
	authType := *uar.UserAuthorizationType
	var tried []gosip.Uri
	for {
		target := scscfs[0]
		scscfs = scscfs[1:]
		log.Debug("icscf: REGISTER to S-CSCF", "scscf", target.String(), "alternatives", len(scscfs))
		failed := 0
		r.Forward(imssip.Forward{NextHops: []gosip.Uri{target}, AnswerTimeout: n.cfg.SCSCFAnswerTimeout.D(), Declined: func(code int) bool {
			if authType == cx.UserAuthorizationTypeDeRegistration || !reselect(code) {
				return false
			}
			failed = code
			return true
		}})
		if failed == 0 {
			return
		}
		tried = append(tried, target)
		log.Info("icscf: S-CSCF failed the REGISTER, selecting another", "scscf", target.String(), "status", failed)
		if byName && slices.ContainsFunc(n.cfg.SCSCFs, func(s SCSCF) bool { return !slices.ContainsFunc(tried, sameName(s.Name)) }) {
			// Chosen by Server-Name: ask the HSS for the capabilities (TS 24.229 5.3.1.3, TS
			// 29.228 6.1.1.1). With every configured S-CSCF tried, no answer could name another.
			byName = false
			again := *uar
			again.SessionID = msg.NewSessionID(uar.OriginHost)
			caps := cx.UserAuthorizationTypeRegistrationAndCapabilities
			again.UserAuthorizationType = &caps
			uaa, err := n.query(r, &again)
			if err == nil {
				scscfs, err = n.selectSCSCF(uaa, tried)
			}
			if err != nil && !errors.Is(err, errNoSCSCF) {
				refuse(r, log.With(logging.KeySessionID, again.SessionID), err)
				return
			}
		}
		if len(scscfs) == 0 {
			code, reason := gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
			if failed == gosip.StatusRequestTimeout {
				code, reason = statusServerTimeout, "Server Time-out"
			}
			log.Info("icscf: REGISTER refused, no other S-CSCF", "status", code, "tried", len(tried))
			// After a 503 the S-CSCF is overloaded or unreachable (RFC 3261 21.5.4): the UE waits.
			reply(r, code, reason, failed == gosip.StatusServiceUnavailable)
			return
		}
	}
}

// statusServerTimeout is 504 Server Time-out (RFC 3261 21.5.7), which sipgo does not name.
const statusServerTimeout = 504

// reselect reports whether an S-CSCF's final response to a REGISTER sends the I-CSCF to
// another S-CSCF (TS 24.229 5.3.1.3): no answer (the proxy's 408, or 503 for a transport
// error), a redirection, 480, or a server error.
func reselect(code int) bool {
	return code >= 300 && code < 400 || code == gosip.StatusRequestTimeout || code == gosip.StatusTemporarilyUnavailable || code >= 500 && code < 600
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
	if vs, err := header.All(header.Named(req, header.NamePVisitedNetworkID), header.ParseVisitedNetworks); err != nil {
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
	if h := header.First(req, header.NameAuthorization); h != nil {
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
	if h := header.First(req, "Expires"); h != nil {
		v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		headerZero = err == nil && v == 0
	}
	contacts := header.Named(req, "Contact")
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

// selectSCSCF lists the S-CSCFs for the REGISTER, best first, without those in exclude (TS
// 24.229 5.3.1.2, TS 29.228 6.7): the UAA's Server-Name alone, else the configured S-CSCFs with
// every mandatory capability, the HSS's preferred names first, then the most optional
// capabilities, then configuration order. The others are where the REGISTER goes when the
// first one fails (TS 24.229 5.3.1.3).
func (n *Node) selectSCSCF(uaa *cx.UAA, exclude []gosip.Uri) ([]gosip.Uri, error) {
	excluded := func(u gosip.Uri) bool { return slices.ContainsFunc(exclude, sameName(u.String())) }
	if uaa.ServerName != "" {
		u, err := imssip.ParseURI(uaa.ServerName)
		if err != nil {
			return nil, fmt.Errorf("%w: Server-Name: %w", errNoSCSCF, err)
		}
		if !excluded(u) {
			return []gosip.Uri{u}, nil
		}
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
		if !excluded(u) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: every capable one was tried", errNoSCSCF)
	}
	return out, nil
}

// sameName matches the URI of an S-CSCF named name.
func sameName(name string) func(gosip.Uri) bool {
	return func(u gosip.Uri) bool { return u.String() == name }
}

func hasAll(have, want []uint32) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
