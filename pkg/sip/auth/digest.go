// Package auth is the server side of SIP digest authentication: IMS AKA (RFC 3310, AKAv1-MD5)
// for the S-CSCF and plain MD5 digest (RFC 2617, qop=auth) for subscribers the HSS gives a
// SIP-Digest HA1 (TS 29.229, SIP-Digest-Authenticate AVP) or a password.
//
// Both verify against the uri parameter of the credentials, as RFC 2617 3.2.2 defines the
// digest: clients such as SIPp put their own target there, which need not be the Request-URI
// the proxy sees.
package auth

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/imscore/imscore/pkg/sip/header"
)

// Verification errors. The caller maps them to SIP: ErrStale to a new 401 with stale=TRUE,
// ErrResync to a re-synchronisation with the HSS, ErrWrongResponse to 403, ErrMissingParam,
// ErrMalformed and ErrUnsupported to 400 or a fresh challenge.
var (
	ErrMissingParam  = errors.New("auth: missing parameter")
	ErrMalformed     = errors.New("auth: malformed parameter")
	ErrUnsupported   = errors.New("auth: unsupported algorithm or qop")
	ErrWrongResponse = errors.New("auth: wrong response")
	ErrStale         = errors.New("auth: stale nonce")
	// ErrReplay is a nonce-count that was already used; it is a kind of ErrStale.
	ErrReplay = fmt.Errorf("%w: nonce-count replayed", ErrStale)
	// ErrResync: the credentials carry auts (RFC 3310 3.4); see Resync.
	ErrResync = errors.New("auth: AKA synchronisation failure")
)

// HA1 returns MD5(username ":" realm ":" password) in lower-case hex (RFC 2617 3.2.2.2), the
// value the HSS stores as Digest-HA1.
func HA1(username, realm, password string) string {
	return md5Hex(username, ":", realm, ":", password)
}

// checkCredentials verifies what every digest response needs (RFC 2617 3.2.2) and that the
// algorithm is one of algs ("" stands for an absent algorithm, which means MD5).
func checkCredentials(c header.Credentials, algs ...string) error {
	if !strings.EqualFold(c.Scheme, header.SchemeDigest) {
		return fmt.Errorf("%w: scheme %q", ErrUnsupported, c.Scheme)
	}
	for _, p := range []struct{ name, value string }{
		{"username", c.Username}, {"realm", c.Realm}, {"nonce", c.Nonce}, {"uri", c.URI}, {"response", c.Response},
	} {
		if p.value == "" {
			return fmt.Errorf("%w: %s", ErrMissingParam, p.name)
		}
	}
	for _, a := range algs {
		if strings.EqualFold(c.Algorithm, a) {
			return nil
		}
	}
	return fmt.Errorf("%w: algorithm %q", ErrUnsupported, c.Algorithm)
}

// requestDigest computes request-digest (RFC 2617 3.2.2.1) from HA1 in hex, over the nonce,
// nonce-count, cnonce, qop and uri of the credentials.
func requestDigest(ha1 string, c header.Credentials, method string, body []byte) (string, error) {
	switch strings.ToLower(c.QOP) {
	case "":
		// RFC 2069 compatibility: no qop, no cnonce, no nc.
		return md5Hex(ha1, ":", c.Nonce, ":", md5Hex(method, ":", c.URI)), nil
	case "auth", "auth-int":
		if c.CNonce == "" {
			return "", fmt.Errorf("%w: cnonce", ErrMissingParam)
		}
		if c.NC == 0 {
			return "", fmt.Errorf("%w: nc", ErrMissingParam)
		}
		ha2 := md5Hex(method, ":", c.URI)
		if strings.EqualFold(c.QOP, "auth-int") {
			ha2 = md5Hex(method, ":", c.URI, ":", md5Hex(string(body)))
		}
		return md5Hex(ha1, ":", c.Nonce, ":", header.FormatNC(c.NC), ":", c.CNonce, ":", strings.ToLower(c.QOP), ":", ha2), nil
	default:
		return "", fmt.Errorf("%w: qop %q", ErrUnsupported, c.QOP)
	}
}

// checkResponse compares the client's response with the expected one in constant time.
func checkResponse(ha1 string, c header.Credentials, method string, body []byte) error {
	want, err := requestDigest(ha1, c, method, body)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return ErrWrongResponse
	}
	return nil
}

func md5Hex(parts ...string) string {
	h := md5.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
