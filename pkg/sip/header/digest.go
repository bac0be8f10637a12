package header

import (
	"strconv"
	"strings"
)

// SchemeDigest is the only authentication scheme SIP uses (RFC 3261 22.4).
const SchemeDigest = "Digest"

// Digest algorithms (RFC 2617 3.2.1, RFC 3310 3.1).
const (
	AlgorithmMD5      = "MD5"
	AlgorithmAKAv1MD5 = "AKAv1-MD5"
)

// QOPAuth is the only quality of protection SIP uses (RFC 3261 22.4 forbids none of the
// others, but no IMS peer sends auth-int).
const QOPAuth = "auth"

// Digest parameter names (RFC 2617 3.2, RFC 3310 3.4, TS 24.229 7.2A.1, 7.2A.2).
const (
	paramRealm              = "realm"
	paramDomain             = "domain"
	paramNonce              = "nonce"
	paramOpaque             = "opaque"
	paramStale              = "stale"
	paramAlgorithm          = "algorithm"
	paramQOP                = "qop"
	paramIK                 = "ik"
	paramCK                 = "ck"
	paramUsername           = "username"
	paramURI                = "uri"
	paramResponse           = "response"
	paramCNonce             = "cnonce"
	paramNC                 = "nc"
	paramAUTS               = "auts"
	paramIntegrityProtected = "integrity-protected"
	paramNextNonce          = "nextnonce"
	paramRspAuth            = "rspauth"
)

// Challenge is one WWW-Authenticate or Proxy-Authenticate challenge (RFC 2617 3.2.1). IK and
// CK, hex, travel only on the 401 from the S-CSCF to the P-CSCF (TS 24.229 7.2A.1), which
// removes them before forwarding.
type Challenge struct {
	Scheme    string
	Realm     string
	Domain    string
	Nonce     string
	Opaque    string
	Stale     bool
	Algorithm string
	QOP       []string // qop-options
	IK        string
	CK        string
	Other     Params
}

// String renders the challenge; an empty Scheme is written as Digest.
func (c Challenge) String() string {
	w := authWriter{scheme: schemeOrDigest(c.Scheme)}
	w.quoted(paramRealm, c.Realm, true)
	w.quoted(paramDomain, c.Domain, false)
	w.quoted(paramNonce, c.Nonce, true)
	w.quoted(paramOpaque, c.Opaque, false)
	if c.Stale {
		w.token(paramStale, "TRUE")
	}
	w.token(paramAlgorithm, c.Algorithm)
	w.quoted(paramQOP, strings.Join(c.QOP, ","), false)
	w.quoted(paramIK, c.IK, false)
	w.quoted(paramCK, c.CK, false)
	w.other(c.Other)
	return w.b.String()
}

// SupportsQOP reports whether qop is among the challenge's qop-options.
func (c Challenge) SupportsQOP(qop string) bool {
	for _, q := range c.QOP {
		if strings.EqualFold(q, qop) {
			return true
		}
	}
	return false
}

// ParseChallenges parses a WWW-Authenticate or Proxy-Authenticate value, which may hold several
// challenges on one line (a server may offer one per algorithm, RFC 8760).
func ParseChallenges(value string) ([]Challenge, error) {
	items, err := parseAuthList(value)
	if err != nil {
		return nil, err
	}
	out := make([]Challenge, 0, len(items))
	for _, it := range items {
		c := Challenge{Scheme: it.scheme}
		for _, p := range it.params {
			switch strings.ToLower(p.Name) {
			case paramRealm:
				c.Realm = p.Value
			case paramDomain:
				c.Domain = p.Value
			case paramNonce:
				c.Nonce = p.Value
			case paramOpaque:
				c.Opaque = p.Value
			case paramStale:
				switch {
				case strings.EqualFold(p.Value, "true"):
					c.Stale = true
				case !strings.EqualFold(p.Value, "false"):
					return nil, syntaxErr("bad stale %q", p.Value)
				}
			case paramAlgorithm:
				c.Algorithm = p.Value
			case paramQOP:
				for _, q := range strings.Split(p.Value, ",") {
					if q = trimLWS(q); !isToken(q) {
						return nil, syntaxErr("bad qop %q", p.Value)
					}
					c.QOP = append(c.QOP, q)
				}
			case paramIK:
				c.IK = p.Value
			case paramCK:
				c.CK = p.Value
			default:
				c.Other = append(c.Other, p)
			}
		}
		if !isHex(c.IK) || !isHex(c.CK) {
			return nil, syntaxErr("ik/ck not hex in %q", value)
		}
		out = append(out, c)
	}
	return out, nil
}

// Credentials is one Authorization or Proxy-Authorization value (RFC 2617 3.2.2) with the AKA
// resynchronisation token (RFC 3310 3.4) and the integrity-protected flag the P-CSCF adds
// towards the S-CSCF (TS 24.229 7.2A.2).
type Credentials struct {
	Scheme             string
	Username           string
	Realm              string
	Nonce              string
	URI                string
	Response           string
	Algorithm          string
	CNonce             string
	Opaque             string
	QOP                string
	NC                 uint32 // nonce-count, 0 when absent
	AUTS               string // base64 as sent
	IntegrityProtected string // "yes", "no", "tls-pending", "tls-yes", "ip-assoc-pending", "ip-assoc-yes"
	Other              Params
}

// Integrity-protected values (TS 24.229 7.2A.2).
const (
	IntegrityYes            = "yes"
	IntegrityNo             = "no"
	IntegrityTLSPending     = "tls-pending"
	IntegrityTLSYes         = "tls-yes"
	IntegrityIPAssocPending = "ip-assoc-pending"
	IntegrityIPAssocYes     = "ip-assoc-yes"
)

// String renders the credentials; username, realm, nonce, uri and response are always written,
// empty or not: the first REGISTER of an IMS UE carries nonce="" and response="" (TS 24.229
// 5.1.1.2.1). An empty Scheme is written as Digest.
func (c Credentials) String() string {
	w := authWriter{scheme: schemeOrDigest(c.Scheme)}
	w.quoted(paramUsername, c.Username, true)
	w.quoted(paramRealm, c.Realm, true)
	w.quoted(paramNonce, c.Nonce, true)
	w.quoted(paramURI, c.URI, true)
	w.quoted(paramResponse, c.Response, true)
	w.token(paramAlgorithm, c.Algorithm)
	w.quoted(paramCNonce, c.CNonce, false)
	w.quoted(paramOpaque, c.Opaque, false)
	w.token(paramQOP, c.QOP)
	if c.NC != 0 {
		w.token(paramNC, FormatNC(c.NC))
	}
	w.quoted(paramAUTS, c.AUTS, false)
	w.token(paramIntegrityProtected, c.IntegrityProtected)
	w.other(c.Other)
	return w.b.String()
}

// FormatNC renders a nonce-count as 8LHEX (RFC 2617 3.2.2).
func FormatNC(nc uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[nc&0xf]
		nc >>= 4
	}
	return string(b[:])
}

// ParseCredentials parses an Authorization or Proxy-Authorization value, which may hold several
// credentials on one line.
func ParseCredentials(value string) ([]Credentials, error) {
	items, err := parseAuthList(value)
	if err != nil {
		return nil, err
	}
	out := make([]Credentials, 0, len(items))
	for _, it := range items {
		c := Credentials{Scheme: it.scheme}
		for _, p := range it.params {
			switch strings.ToLower(p.Name) {
			case paramUsername:
				c.Username = p.Value
			case paramRealm:
				c.Realm = p.Value
			case paramNonce:
				c.Nonce = p.Value
			case paramURI:
				c.URI = p.Value
			case paramResponse:
				c.Response = p.Value
			case paramAlgorithm:
				c.Algorithm = p.Value
			case paramCNonce:
				c.CNonce = p.Value
			case paramOpaque:
				c.Opaque = p.Value
			case paramQOP:
				// message-qop is a token; some UEs quote it anyway.
				if !isToken(p.Value) {
					return nil, syntaxErr("bad qop %q", p.Value)
				}
				c.QOP = p.Value
			case paramNC:
				if c.NC, err = parseNC(p.Value); err != nil {
					return nil, err
				}
			case paramAUTS:
				c.AUTS = p.Value
			case paramIntegrityProtected:
				// A token since Rel-7; earlier UEs quote it.
				if !isToken(p.Value) {
					return nil, syntaxErr("bad integrity-protected %q", p.Value)
				}
				c.IntegrityProtected = p.Value
			default:
				c.Other = append(c.Other, p)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// parseNC: nc-value = 8LHEX (RFC 2617 3.2.2); upper case is tolerated.
func parseNC(s string) (uint32, error) {
	if len(s) != 8 || !isHex(s) {
		return 0, syntaxErr("bad nc %q", s)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || v == 0 {
		return 0, syntaxErr("bad nc %q", s)
	}
	return uint32(v), nil
}

// AuthenticationInfo is the Authentication-Info value (RFC 2617 3.2.3, RFC 3261 20.6).
type AuthenticationInfo struct {
	NextNonce string
	QOP       string
	RspAuth   string
	CNonce    string
	NC        uint32
	Other     Params
}

func (a AuthenticationInfo) String() string {
	var w authWriter
	w.quoted(paramNextNonce, a.NextNonce, false)
	w.token(paramQOP, a.QOP)
	w.quoted(paramRspAuth, a.RspAuth, false)
	w.quoted(paramCNonce, a.CNonce, false)
	if a.NC != 0 {
		w.token(paramNC, FormatNC(a.NC))
	}
	w.other(a.Other)
	return w.b.String()
}

// ParseAuthenticationInfo parses an Authentication-Info value: ainfo *(COMMA ainfo), no scheme.
func ParseAuthenticationInfo(value string) (AuthenticationInfo, error) {
	var a AuthenticationInfo
	pieces, err := split(value, ',')
	if err != nil {
		return a, err
	}
	ps, err := parseParamList(pieces)
	if err != nil {
		return a, err
	}
	if err := checkDuplicates(ps); err != nil {
		return a, err
	}
	for _, p := range ps {
		// Every ainfo is name=value; an empty value carries nothing (RFC 2617 3.2.3).
		if p.Value == "" {
			return a, syntaxErr("empty %q in Authentication-Info", p.Name)
		}
		switch strings.ToLower(p.Name) {
		case paramNextNonce:
			a.NextNonce = p.Value
		case paramQOP:
			if !isToken(p.Value) {
				return a, syntaxErr("bad qop %q", p.Value)
			}
			a.QOP = p.Value
		case paramRspAuth:
			a.RspAuth = p.Value
		case paramCNonce:
			a.CNonce = p.Value
		case paramNC:
			if a.NC, err = parseNC(p.Value); err != nil {
				return a, err
			}
		default:
			a.Other = append(a.Other, p)
		}
	}
	return a, nil
}

func schemeOrDigest(s string) string {
	if s == "" {
		return SchemeDigest
	}
	return s
}

type authItem struct {
	scheme string
	params Params
}

// parseAuthList splits a challenge or credentials list. Commas separate both parameters and
// whole challenges (RFC 7235 4.1), so an element that starts with a token followed by white
// space and no "=" begins a new scheme; commas inside quoted-strings do not split.
func parseAuthList(value string) ([]authItem, error) {
	pieces, err := split(value, ',')
	if err != nil {
		return nil, err
	}
	var items []authItem
	for _, piece := range pieces {
		if i := strings.IndexAny(piece, " \t\r\n"); i > 0 && isToken(piece[:i]) &&
			!strings.HasPrefix(trimLWS(piece[i:]), "=") {
			items = append(items, authItem{scheme: piece[:i], params: make(Params, 0, len(pieces))})
			piece = trimLWS(piece[i:])
		} else if len(items) == 0 {
			return nil, syntaxErr("missing auth scheme in %q", value)
		}
		p, err := parseParam(piece)
		if err != nil {
			return nil, err
		}
		if p.Value == "" && !p.Quoted {
			return nil, syntaxErr("auth-param %q without value", p.Name)
		}
		last := &items[len(items)-1]
		last.params = append(last.params, p)
	}
	for _, it := range items {
		if err := checkDuplicates(it.params); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// checkDuplicates enforces RFC 7235 2.2: each parameter name occurs once per challenge.
func checkDuplicates(ps Params) error {
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if strings.EqualFold(ps[i].Name, ps[j].Name) {
				return syntaxErr("duplicate parameter %q", ps[i].Name)
			}
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// authWriter renders "Scheme a="x", b=y" with the quoting each parameter's grammar demands.
type authWriter struct {
	scheme string
	b      strings.Builder
	n      int
}

func (w *authWriter) sep() {
	switch {
	case w.n > 0:
		w.b.WriteString(", ")
	case w.scheme != "":
		w.b.WriteString(w.scheme)
		w.b.WriteByte(' ')
	}
	w.n++
}

// quoted writes name="value"; always forces the parameter even when value is empty.
func (w *authWriter) quoted(name, value string, always bool) {
	if value == "" && !always {
		return
	}
	w.sep()
	w.b.WriteString(name)
	w.b.WriteByte('=')
	w.b.WriteString(quote(value))
}

func (w *authWriter) token(name, value string) {
	if value == "" {
		return
	}
	w.sep()
	w.b.WriteString(newParam(name, value).String())
}

func (w *authWriter) other(ps Params) {
	for _, p := range ps {
		w.sep()
		w.b.WriteString(p.String())
	}
}
