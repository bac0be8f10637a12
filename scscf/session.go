package scscf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/scscf/registrar"
)

// origUser is the user part of the Service-Route the registrar hands out (TS 24.229
// 5.4.1.2.2): a request arriving through it is on the originating side.
const origUser = "orig"

// origParam in our Route entry marks a request an application server originates on behalf of
// a user (TS 24.229 5.4.3.1, 5.7.3): it is on the originating side too.
const origParam = "orig"

// historyInfo is the RFC 7044 header that records retargeting.
const historyInfo = "History-Info"

// odiParam carries the original dialog identifier token in our Route entry towards an
// application server (TS 24.229 5.4.3.2 step 4c): the request coming back with it continues
// the iFC evaluation where it stopped.
const odiParam = "odi"

// odiLifetime is how long a token is kept: an AS that has not sent the request back by then
// has taken it (a B2BUA or terminating UA).
const odiLifetime = 2 * time.Minute

// sessionTimeout bounds the Diameter work (SAR) done for an initial request.
const sessionTimeout = 5 * time.Second

// served is where an initial request stands in its iFC evaluation: the served user, the
// session case, the priority of the last iFC applied and the Request-URI it went to the AS with.
type served struct {
	user       string
	sessCase   ifc.SessionCase
	registered bool
	ifcs       []ifc.InitialFilterCriteria
	after      int
	target     gosip.Uri
	expires    time.Time
}

// resume is the evaluation a request coming back from an AS with s's token continues. A
// terminating request whose Request-URI the AS changed was retargeted (call diversion): the
// terminating iFCs stop and the originating services of the served, diverting user start with
// session case ORIGINATING_CDIV (TS 24.229 5.4.3.3, TS 29.228 Annex C session case 4).
func resume(s *served, ruri gosip.Uri) (next *served, retargeted bool) {
	terminating := s.sessCase == ifc.SessionCaseTerminatingRegistered || s.sessCase == ifc.SessionCaseTerminatingUnregistered
	if !terminating || sipx.AOR(ruri) == sipx.AOR(s.target) {
		return s, false
	}
	return &served{user: s.user, sessCase: ifc.SessionCaseOriginatingCDIV, registered: s.registered, ifcs: s.ifcs,
		after: ifc.Start, target: s.target}, true
}

// odiTokens are the evaluations waiting for an AS to send their request back.
type odiTokens struct {
	mu    sync.Mutex
	m     map[string]*served
	swept time.Time
}

// put keeps s under a new token; expired tokens go at most once a lifetime.
func (t *odiTokens) put(s *served) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	now := time.Now()
	s.expires = now.Add(odiLifetime)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*served{}
	}
	if now.Sub(t.swept) > odiLifetime {
		for k, v := range t.m {
			if now.After(v.expires) {
				delete(t.m, k)
			}
		}
		t.swept = now
	}
	t.m[tok] = s
	return tok
}

func (t *odiTokens) get(tok string) *served {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[tok]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

// route is the end of the chain: every request the registrar does not answer. In-dialog
// requests follow their Route set (RFC 3261 16.12, the S-CSCF Record-Routed the dialog);
// initial requests are served on the originating side (they came through our Service-Route),
// continue after an AS (our odi token), or are terminating (from the I-CSCF).
func (n *Node) route(r *sipx.Request) {
	if r.InDialog() {
		r.Forward(sipx.Forward{})
		return
	}
	own, _ := r.OwnRoute()
	if tok, ok := own.UriParams.Get(odiParam); ok {
		s := n.odi.get(tok)
		if s == nil {
			r.Reply(gosip.StatusForbidden, "Unknown Dialog Identifier")
			return
		}
		n.metrics.asReturned.Inc()
		next, retargeted := resume(s, r.Recipient)
		if retargeted {
			r.Log.Info("scscf: application server retargeted the request", logging.KeyIMPU, s.user,
				"from", s.target.String(), "to", r.Recipient.String())
			n.metrics.sessions.WithLabelValues("originating_cdiv").Inc()
			addHistoryInfo(r.Request, s.target)
		}
		n.isc(r, next)
		return
	}
	if originatingEntry(own) {
		n.originating(r)
		return
	}
	n.terminating(r)
}

// originatingEntry is TS 24.229 5.4.3.1: our Route entry with the Service-Route's user part
// (from the P-CSCF) or the orig parameter (from an AS) makes the request originating.
func originatingEntry(own gosip.Uri) bool {
	return own.User == origUser || own.UriParams.Has(origParam)
}

// originating serves the user of P-Asserted-Identity (TS 24.229 5.4.3.2 step 1), which the
// P-CSCF or a trusted AS set: with its registered iFCs, or, when it is not registered (an AS
// originating on its behalf), with the profile SAR UNREGISTERED_USER fetches and session case
// ORIGINATING_UNREGISTERED (TS 29.228 Annex C session case 3).
func (n *Node) originating(r *sipx.Request) {
	user := assertedIdentity(r.Request)
	if user == "" {
		r.Reply(gosip.StatusForbidden, "No P-Asserted-Identity")
		return
	}
	if ifcs, ok := n.registrar.IFCs(user); ok {
		n.metrics.sessions.WithLabelValues("originating").Inc()
		n.isc(r, &served{user: user, sessCase: ifc.SessionCaseOriginating, registered: true, ifcs: ifcs, after: ifc.Start})
		return
	}
	ifcs, ok := n.unregisteredIFCs(r, user, "originating")
	if !ok {
		return
	}
	n.metrics.sessions.WithLabelValues("originating_unregistered").Inc()
	n.isc(r, &served{user: user, sessCase: ifc.SessionCaseOriginatingUnregistered, ifcs: ifcs, after: ifc.Start})
}

// terminating serves the user of the Request-URI (TS 24.229 5.4.3.3): registered, with its
// registered iFCs; else with the unregistered services of its profile.
func (n *Node) terminating(r *sipx.Request) {
	user := sipx.AOR(r.Recipient)
	if ifcs, ok := n.registrar.IFCs(user); ok {
		n.metrics.sessions.WithLabelValues("terminating_registered").Inc()
		n.isc(r, &served{user: user, sessCase: ifc.SessionCaseTerminatingRegistered, registered: true, ifcs: ifcs, after: ifc.Start})
		return
	}
	ifcs, ok := n.unregisteredIFCs(r, user, "terminating")
	if !ok {
		return
	}
	n.metrics.sessions.WithLabelValues("terminating_unregistered").Inc()
	n.isc(r, &served{user: user, sessCase: ifc.SessionCaseTerminatingUnregistered, ifcs: ifcs, after: ifc.Start})
}

// unregisteredIFCs fetches the profile of a user who is not registered (SAR UNREGISTERED_USER,
// TS 24.229 5.4.3.2 and 5.4.3.3); when that fails it answers r and reports false.
func (n *Node) unregisteredIFCs(r *sipx.Request, user, side string) ([]ifc.InitialFilterCriteria, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), sessionTimeout)
	defer cancel()
	ifcs, err := n.registrar.UnregisteredIFCs(ctx, user)
	if err != nil {
		code, reason := unregisteredStatus(err)
		r.Log.Info("scscf: unregistered user not served", "side", side, logging.KeyIMPU, user, "status", code, logging.KeyErr, err)
		r.Reply(code, reason)
		return nil, false
	}
	return ifcs, true
}

// unregisteredStatus maps the failure to fetch an unregistered user's profile to the status of
// the request: unknown user 404 (TS 24.229 5.4.3.3), else 480.
func unregisteredStatus(err error) (int, string) {
	if errors.Is(err, registrar.ErrUserUnknown) {
		return gosip.StatusNotFound, "Not Found"
	}
	return gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
}

// isc evaluates the iFCs after s.after (TS 24.229 5.4.3.2 step 4, 5.4.3.3 step 3): the next
// that matches gets the request, with our Route entry carrying the odi token behind the AS's;
// when none is left the request goes on to its destination.
func (n *Node) isc(r *sipx.Request, s *served) {
	match := ifcRequest(r.Request, s)
	f, ok := ifc.Evaluate(s.ifcs, &match, s.after)
	if !ok {
		n.finish(r, s)
		return
	}
	next := *s
	next.after = f.Priority
	next.target = r.Recipient
	as := f.ApplicationServer
	asURI, err := sipx.ParseURI(as.ServerName)
	if err != nil {
		r.Log.Warn("scscf: iFC with a bad application server skipped", "as", as.ServerName, logging.KeyErr, err)
		n.isc(r, &next)
		return
	}
	back := n.proxy.URI("")
	back.UriParams.Add(odiParam, n.odi.put(&next))
	log := r.Log.With(logging.KeyIMPU, s.user, "as", as.ServerName, "priority", f.Priority)
	log.Debug("scscf: request to application server", "session_case", s.sessCase.String())
	n.metrics.asRequests.Inc()
	continued := false
	r.Forward(sipx.Forward{
		RecordRoute:   true,
		AnswerTimeout: n.cfg.ISC.ASTimeout.D(),
		Request: func(req *gosip.Request) {
			req.PrependHeader(&gosip.RouteHeader{Address: back})
			req.PrependHeader(&gosip.RouteHeader{Address: asURI})
			stripSecAgree(req)
		},
		// TS 24.229 5.4.3.2 step 4d: an AS that does not answer (no response within
		// isc.as_timeout, 408, 5xx) gets the iFC's default handling: SESSION_TERMINATED
		// relays the 408 (or the AS's 5xx) to the caller.
		Declined: func(code int) bool {
			if code != gosip.StatusRequestTimeout && code < 500 {
				return false
			}
			n.metrics.asFailures.WithLabelValues(as.DefaultHandling.String()).Inc()
			log.Info("scscf: application server did not answer", "status", code, "default_handling", as.DefaultHandling.String())
			continued = as.DefaultHandling == ifc.DefaultHandlingSessionContinued
			return continued
		},
	})
	if continued {
		n.isc(r, &next)
	}
}

// finish routes a request whose iFCs are all applied: terminating to the served user's
// contacts; originating, originating-unregistered and originating-CDIV (a retargeted request)
// to its destination.
func (n *Node) finish(r *sipx.Request, s *served) {
	switch s.sessCase {
	case ifc.SessionCaseTerminatingRegistered:
		n.deliver(r, s.user)
	case ifc.SessionCaseTerminatingUnregistered:
		r.Reply(gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
	default:
		n.outbound(r)
	}
}

// outbound sends an originating request on (TS 24.229 5.4.3.2 step 10): a tel URI or a SIP URI
// of the home domain to the I-CSCF, which finds the terminating S-CSCF; another domain to the
// breakout when one is configured, else 404.
func (n *Node) outbound(r *sipx.Request) {
	if r.Route() != nil {
		// The AS or the UE set the route on: follow it (RFC 3261 16.12).
		r.Forward(sipx.Forward{RecordRoute: true})
		return
	}
	u := r.Recipient
	switch {
	case u.Scheme == "tel" || strings.EqualFold(u.Host, n.cfg.SIP.Domain):
		r.Forward(sipx.Forward{RecordRoute: true, NextHops: []gosip.Uri{n.icscf}})
	case n.breakout != nil:
		r.Forward(sipx.Forward{RecordRoute: true, NextHops: []gosip.Uri{*n.breakout}})
	default:
		r.Reply(gosip.StatusNotFound, "No Route To Domain")
	}
}

// deliver forks the request in parallel to every contact of the user (TS 24.229 5.4.3.3 step
// 9), each through the Path it registered with (RFC 3327 5.3).
func (n *Node) deliver(r *sipx.Request, user string) {
	contacts := n.registrar.Contacts(user)
	paths := map[string][]gosip.Uri{}
	var targets []gosip.Uri
	for _, c := range contacts {
		var u gosip.Uri
		if err := gosip.ParseUri(c.URI, &u); err != nil {
			r.Log.Warn("scscf: stored contact does not parse", "contact", c.URI, logging.KeyErr, err)
			continue
		}
		var route []gosip.Uri
		for _, v := range c.Path {
			addrs, err := header.ParseNameAddrs(v)
			if err != nil {
				r.Log.Warn("scscf: stored Path does not parse", "path", v, logging.KeyErr, err)
			}
			for _, a := range addrs {
				route = append(route, a.URI)
			}
		}
		targets = append(targets, u)
		paths[u.String()] = route
	}
	if len(targets) == 0 {
		r.Reply(gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	}
	r.Forward(sipx.Forward{
		Targets:     [][]gosip.Uri{targets},
		RecordRoute: true,
		Request: func(req *gosip.Request) {
			path := paths[req.Recipient.String()]
			for i := len(path) - 1; i >= 0; i-- {
				req.PrependHeader(&gosip.RouteHeader{Address: path[i]})
			}
		},
	})
}

// addHistoryInfo records a retargeting the AS did not record (RFC 7044 9.1, TS 24.604
// 4.5.2.6): the Request-URI the AS got, and the new one, mapped from it (mp). History-Info the
// AS added is kept as it is.
func addHistoryInfo(req *gosip.Request, from gosip.Uri) {
	if header.First(req, historyInfo) != nil {
		return
	}
	req.AppendHeader(gosip.NewHeader(historyInfo,
		"<"+from.String()+">;index=1, <"+req.Recipient.String()+">;index=1.1;mp=1"))
}

// assertedIdentity is the first P-Asserted-Identity (RFC 3325 9.1) as an address-of-record, or "".
func assertedIdentity(req *gosip.Request) string {
	ids, err := header.All(header.Named(req, header.NamePAssertedIdentity), header.ParseIdentities)
	if err != nil || len(ids) == 0 {
		return ""
	}
	return sipx.AOR(ids[0].URI)
}

// ifcRequest is what the SPTs of TS 29.228 B.2.2 look at in req.
func ifcRequest(req *gosip.Request, s *served) ifc.Request {
	m := ifc.Request{Method: string(req.Method), RequestURI: req.Recipient.String(), Headers: ifc.Headers{},
		SessionCase: s.sessCase, Registered: s.registered}
	for _, h := range req.Headers() {
		m.Headers.Add(h.Name(), h.Value())
	}
	if ct := req.ContentType(); ct != nil && strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
		m.SDP = string(req.Body())
	}
	return m
}

// stripSecAgree removes what only the P-CSCF understands from a request to an AS (TS 24.229
// 5.4.3.2: sec-agree is between the UE and the P-CSCF; an AS would answer 420).
func stripSecAgree(req *gosip.Request) {
	for req.RemoveHeader(header.NameSecurityVerify) {
	}
	for _, name := range []string{"Require", "Proxy-Require"} {
		var kept []string
		for _, h := range header.Named(req, name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "sec-agree") {
					kept = append(kept, t)
				}
			}
		}
		for req.RemoveHeader(name) {
		}
		if len(kept) > 0 {
			req.AppendHeader(gosip.NewHeader(name, strings.Join(kept, ", ")))
		}
	}
}
