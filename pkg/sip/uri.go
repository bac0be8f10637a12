package sip

import (
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// ParseURI parses a sip: URI with a host, as configuration gives it ("sip:127.0.0.1:4060").
func ParseURI(s string) (gosip.Uri, error) {
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		return u, fmt.Errorf("%q is not a SIP URI: %w", s, err)
	}
	if u.Scheme != "sip" || u.Host == "" {
		return u, fmt.Errorf("%q is not a sip: URI with a host", s)
	}
	return u, nil
}

// AOR is the address-of-record of u, the key of a registration (RFC 3261 10.3 step 5): scheme,
// user and host, without port, parameters or headers. A tel URI keeps its number.
func AOR(u gosip.Uri) string {
	if u.Scheme == "tel" {
		return u.String()
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "sip"
	}
	if strings.IndexByte(u.Host, ':') >= 0 {
		// An IPv6 host is bracketed, as sipgo writes it.
		return (&gosip.Uri{Scheme: scheme, User: u.User, Host: u.Host}).String()
	}
	if u.User == "" {
		return scheme + ":" + u.Host
	}
	return scheme + ":" + u.User + "@" + u.Host
}
