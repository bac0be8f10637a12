package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/sip/auth"
	"github.com/imscore/imscore/pkg/sip/header"
)

// challenge is what the S-CSCF keeps between its 401 and the REGISTER that answers it
// (TS 33.203 6.1.1): the nonce and the expected response (XRES for AKA, HA1 for digest).
type challenge struct {
	scheme string
	nonce  string
	xres   []byte
	ha1    string
	issued time.Time
}

// authState is the authentication of one private identity for one public identity.
type authState struct {
	ch       *challenge
	failures int // wrong responses in a row
}

func authKey(impi, impu string) string { return impi + "\x00" + impu }

func (r *Registrar) authState(impi, impu string) authState {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	if st := r.auths[authKey(impi, impu)]; st != nil {
		return *st
	}
	return authState{}
}

func (r *Registrar) setAuth(impi, impu string, st authState) {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	r.auths[authKey(impi, impu)] = &st
}

func (r *Registrar) clearAuth(impi, impu string) {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	delete(r.auths, authKey(impi, impu))
}

// pruneAuth drops challenges nobody answered within the nonce lifetime.
func (r *Registrar) pruneAuth(now time.Time) {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	for k, st := range r.auths {
		if st.ch == nil || now.Sub(st.ch.issued) > r.cfg.NonceLifetime.D() {
			delete(r.auths, k)
		}
	}
}

// credentials returns the Authorization of the REGISTER for our realm (or the first one), nil
// when there is none.
func credentials(req *sip.Request, realm string) (*header.Credentials, error) {
	all, err := header.All(header.Named(req, header.NameAuthorization), header.ParseCredentials)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	for i := range all {
		if strings.EqualFold(all[i].Realm, realm) {
			return &all[i], nil
		}
	}
	return &all[0], nil
}

// integrityProtected reports the P-CSCF's word that the REGISTER came over a security
// association or TLS the UE set up with an earlier authentication (TS 24.229 5.4.1.2.1).
func integrityProtected(c *header.Credentials) bool {
	switch c.IntegrityProtected {
	case header.IntegrityYes, header.IntegrityTLSYes, header.IntegrityIPAssocYes:
		return true
	}
	return false
}

// authenticate decides whether the REGISTER is authenticated. When it is not, it returns the
// response to send: a 401 with a new challenge, or an error for 403 and the like.
func (r *Registrar) authenticate(ctx context.Context, req *sip.Request, c *header.Credentials, impi, impu string, registered bool, log *slog.Logger) (bool, *sip.Response, error) {
	// TS 24.229 5.4.1.2.1: a protected re-registration needs no new authentication.
	if c != nil && registered && integrityProtected(c) {
		return true, nil, nil
	}
	if c == nil || c.Response == "" {
		res, err := r.challenge(ctx, req, impi, impu, cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, false)
		return false, res, err
	}
	if c.AUTS != "" {
		// RFC 3310 3.4, TS 33.203 6.1.2: the UE's SQN is out of range; the HSS resynchronises
		// from RAND ‖ AUTS and sends a fresh vector.
		rand, auts, err := auth.Resync(*c)
		if err != nil {
			return false, nil, statusErr(sip.StatusBadRequest, "Bad Request", err)
		}
		log.Info("AKA resynchronisation requested")
		item := cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5,
			SIPAuthorization: append(append([]byte{}, rand...), auts...)}
		res, err := r.challenge(ctx, req, impi, impu, item, false)
		return false, res, err
	}
	st := r.authState(impi, impu)
	if st.ch == nil || st.ch.nonce != c.Nonce {
		// Not our current nonce (expired, or from before a restart): challenge again.
		res, err := r.challenge(ctx, req, impi, impu, cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, false)
		return false, res, err
	}
	var err error
	switch st.ch.scheme {
	case cx.SchemeDigestAKAv1MD5:
		err = auth.VerifyAKA(*c, string(req.Method), req.Body(), st.ch.nonce, st.ch.xres)
	default:
		err = r.digest.Verify(*c, string(req.Method), req.Body(), st.ch.ha1)
	}
	switch {
	case err == nil:
		st.failures = 0
		r.setAuth(impi, impu, st)
		return true, nil, nil
	case errors.Is(err, auth.ErrStale):
		res, err := r.challenge(ctx, req, impi, impu, cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, true)
		return false, res, err
	}
	r.metrics.authFailures.Inc()
	st.failures++
	log.Info("authentication failed", "failures", st.failures, "err", err)
	if st.failures < r.cfg.MaxAuthFailures {
		// TS 24.229 5.4.1.2.3: the S-CSCF may challenge again.
		r.setAuth(impi, impu, authState{failures: st.failures})
		res, cerr := r.challenge(ctx, req, impi, impu, cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, false)
		return false, res, cerr
	}
	r.clearAuth(impi, impu)
	// TS 29.228 6.1.2: the HSS learns of the failure so it can clear the S-CSCF name it kept
	// since the MAR.
	if _, serr := r.sar(ctx, impi, impu, cx.ServerAssignmentTypeAuthenticationFailure, false); serr != nil {
		log.Warn("SAR AUTHENTICATION_FAILURE failed", "err", serr)
	}
	return false, nil, statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("authentication of %s failed: %w", impi, err))
}

// challenge gets a vector from the HSS (MAR) and builds the 401 (TS 24.229 5.4.1.2.1); the
// AKA challenge carries ik and ck for the P-CSCF.
func (r *Registrar) challenge(ctx context.Context, req *sip.Request, impi, impu string, item cx.SIPAuthDataItem, stale bool) (*sip.Response, error) {
	v, err := r.mar(ctx, impi, impu, item)
	if err != nil {
		return nil, err
	}
	ch := &challenge{scheme: v.SIPAuthenticationScheme, issued: time.Now()}
	var www header.Challenge
	switch v.SIPAuthenticationScheme {
	case cx.SchemeDigestAKAv1MD5:
		rand, autn, ok := v.RANDAUTN()
		if !ok || len(v.SIPAuthorization) == 0 {
			return nil, fmt.Errorf("MAA: AKA vector with SIP-Authenticate of %d octets and no XRES", len(v.SIPAuthenticate))
		}
		www = auth.AKAChallenge(r.cfg.Domain, auth.AKAVector{RAND: rand, AUTN: autn, XRES: v.SIPAuthorization,
			CK: v.ConfidentialityKey, IK: v.IntegrityKey})
		ch.xres = v.SIPAuthorization
	case cx.SchemeSIPDigest:
		d := v.SIPDigestAuthenticate
		if d == nil || d.DigestHA1 == "" {
			return nil, errors.New("MAA: SIP Digest without Digest-HA1")
		}
		if !strings.EqualFold(d.DigestRealm, r.cfg.Domain) {
			return nil, fmt.Errorf("MAA: digest realm %q is not ours (%q)", d.DigestRealm, r.cfg.Domain)
		}
		if www, err = r.digest.Challenge(stale); err != nil {
			return nil, err
		}
		ch.ha1 = d.DigestHA1
	default:
		return nil, statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("authentication scheme %q not supported", v.SIPAuthenticationScheme))
	}
	ch.nonce = www.Nonce
	st := r.authState(impi, impu)
	r.setAuth(impi, impu, authState{ch: ch, failures: st.failures})
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(header.New(header.NameWWWAuthenticate, www))
	return res, nil
}
