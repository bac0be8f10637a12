package header

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Header names handled by this package.
const (
	NamePath                       = "Path"                          // RFC 3327
	NameServiceRoute               = "Service-Route"                 // RFC 3608
	NamePAssociatedURI             = "P-Associated-URI"              // RFC 7315 4.1
	NamePAssertedIdentity          = "P-Asserted-Identity"           // RFC 3325 9.1
	NamePPreferredIdentity         = "P-Preferred-Identity"          // RFC 3325 9.2
	NamePVisitedNetworkID          = "P-Visited-Network-ID"          // RFC 7315 4.3
	NamePAccessNetworkInfo         = "P-Access-Network-Info"         // RFC 7315 4.4
	NamePChargingFunctionAddresses = "P-Charging-Function-Addresses" // RFC 7315 4.5
	NamePChargingVector            = "P-Charging-Vector"             // RFC 7315 4.6
	NameSecurityClient             = "Security-Client"               // RFC 3329 2.2
	NameSecurityServer             = "Security-Server"               // RFC 3329 2.2
	NameSecurityVerify             = "Security-Verify"               // RFC 3329 2.2
	NameWWWAuthenticate            = "WWW-Authenticate"              // RFC 3261 20.44
	NameProxyAuthenticate          = "Proxy-Authenticate"            // RFC 3261 20.27
	NameAuthorization              = "Authorization"                 // RFC 3261 20.7
	NameProxyAuthorization         = "Proxy-Authorization"           // RFC 3261 20.28
	NameAuthenticationInfo         = "Authentication-Info"           // RFC 3261 20.6
)

// NameAddr is one address of an address list: [display-name] <URI> followed by header
// parameters, e.g. a Path or Service-Route entry (";lr" is a URI parameter inside the brackets,
// see URI.UriParams) or a P-Associated-URI.
type NameAddr struct {
	DisplayName string
	URI         sip.Uri
	Params      Params
}

// String renders the address as a name-addr; the brackets are always written, which keeps URI
// parameters apart from header parameters (RFC 3261 20.10).
func (a NameAddr) String() string {
	var b strings.Builder
	if a.DisplayName != "" {
		b.WriteString(quote(a.DisplayName))
		b.WriteByte(' ')
	}
	b.WriteByte('<')
	b.WriteString(a.URI.String())
	b.WriteByte('>')
	b.WriteString(a.Params.String())
	return b.String()
}

// ParseNameAddrs parses a list of name-addr *(SEMI generic-param), the value of Path (RFC 3327
// 4), Service-Route (RFC 3608 5) and P-Associated-URI (RFC 7315 4.1). A bare addr-spec is
// accepted as well; parameters after it are header parameters (RFC 3261 20.10).
func ParseNameAddrs(value string) ([]NameAddr, error) {
	return parseAddrList(value, true)
}

// ParseIdentities parses P-Asserted-Identity and P-Preferred-Identity: a list of name-addr or
// addr-spec without parameters (RFC 3325 9.1, 9.2).
func ParseIdentities(value string) ([]NameAddr, error) {
	return parseAddrList(value, false)
}

func parseAddrList(value string, params bool) ([]NameAddr, error) {
	elems, err := split(value, ',')
	if err != nil {
		return nil, err
	}
	out := make([]NameAddr, 0, len(elems))
	for _, e := range elems {
		a, err := parseNameAddr(e)
		if err != nil {
			return nil, err
		}
		if !params && len(a.Params) > 0 {
			return nil, syntaxErr("parameters not allowed in %q", e)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseNameAddr(s string) (NameAddr, error) {
	var a NameAddr
	lt := -1
	for i := 0; i < len(s) && lt < 0; i++ {
		switch s[i] {
		case '"':
			end, err := quotedEnd(s[i:])
			if err != nil {
				return a, err
			}
			i += end - 1
		case '<':
			lt = i
		}
	}
	var uri, params string
	var hasParams bool
	if lt < 0 {
		// addr-spec: it cannot hold ';' (RFC 3261 20.10), so the first one starts the params.
		uri, params, hasParams = strings.Cut(s, ";")
	} else {
		name, err := parseDisplayName(trimLWS(s[:lt]))
		if err != nil {
			return a, err
		}
		a.DisplayName = name
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			return a, syntaxErr("missing '>' in %q", s)
		}
		uri = s[lt+1 : lt+gt]
		if rest := trimLWS(s[lt+gt+1:]); rest != "" {
			if params, hasParams = strings.CutPrefix(rest, ";"); !hasParams {
				return a, syntaxErr("unexpected %q after address", rest)
			}
		}
	}
	if err := parseURI(trimLWS(uri), &a.URI); err != nil {
		return a, err
	}
	if !hasParams {
		return a, nil
	}
	pieces, err := split(params, ';')
	if err != nil {
		return a, err
	}
	a.Params, err = parseParamList(pieces)
	return a, err
}

// parseDisplayName: display-name = *(token LWS) / quoted-string (RFC 3261 25.1).
func parseDisplayName(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if s[0] == '"' {
		return unquote(s)
	}
	for _, w := range strings.Fields(s) {
		if !isToken(w) {
			return "", syntaxErr("bad display name %q", s)
		}
	}
	return s, nil
}

// parseURI parses a SIP, SIPS or other absolute URI with sipgo and rejects what sipgo lets
// through but no peer may send: white space or delimiters inside, an empty host.
func parseURI(s string, u *sip.Uri) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n<>\",") || !hasScheme(s) {
		return syntaxErr("bad URI %q", s)
	}
	// sipgo takes empty URI parameters ("sip:a@b;;lr", "sip:a@b;") and drops them on output.
	if params, _, _ := strings.Cut(s, "?"); strings.Contains(params, ";;") || strings.HasSuffix(params, ";") {
		return syntaxErr("empty URI parameter in %q", s)
	}
	if err := sip.ParseUri(s, u); err != nil {
		return syntaxErr("bad URI %q: %v", s, err)
	}
	sipURI := u.Scheme == "sip" || u.Scheme == "sips"
	switch {
	case u.Wildcard:
		return syntaxErr("wildcard URI %q", s)
	case sipURI && !isHost(u.Host):
		return syntaxErr("bad host in URI %q", s)
	case !sipURI && u.Raw() == "":
		return syntaxErr("empty URI %q", s)
	}
	// What sipgo accepts but cannot print back the same way ("sip:@host", "sip:a@b;x=\"") is
	// not a URI a peer should send; refusing it keeps parse and print inverse of each other.
	var again sip.Uri
	if out := u.String(); sip.ParseUri(out, &again) != nil || again.String() != out {
		return syntaxErr("bad URI %q", s)
	}
	return nil
}

// isHost: host = hostname / IPv4address / IPv6reference (RFC 3261 25.1), checked for its
// character set only.
func isHost(h string) bool {
	if h == "" {
		return false
	}
	if h[0] == '[' {
		if len(h) < 3 || h[len(h)-1] != ']' {
			return false
		}
		for i := 1; i < len(h)-1; i++ {
			if c := h[i]; !isHexDigit(c) && c != ':' && c != '.' {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// hasScheme: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ":" (RFC 3261 25.1).
func hasScheme(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return false
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}
