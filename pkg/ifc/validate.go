package ifc

import (
	"regexp"
	"strings"
)

// Validate reports every problem of one iFC; field paths start at its children ("Priority").
// A duplicate Priority can only be seen in a set: use ValidateIFCs for that.
func (f *InitialFilterCriteria) Validate() error {
	var c collector
	validateIFC(&c, "", f)
	return c.err()
}

// ValidateIFCs reports every problem of an iFC set, duplicate priorities included, under
// "InitialFilterCriteria[i]" paths.
func ValidateIFCs(ifcs []InitialFilterCriteria) error {
	var c collector
	validateIFCList(&c, "", ifcs)
	return c.err()
}

// Validate reports every problem of a Cx-User-Data document.
func (s *IMSSubscription) Validate() error {
	var c collector
	if strings.TrimSpace(s.PrivateID) == "" {
		c.add("PrivateID", "missing")
	}
	if len(s.ServiceProfiles) == 0 {
		c.add("ServiceProfile", "at least one ServiceProfile is required")
	}
	for i := range s.ServiceProfiles {
		sp := &s.ServiceProfiles[i]
		p := index("", "ServiceProfile", i)
		if len(sp.PublicIdentities) == 0 {
			c.add(join(p, "PublicIdentity"), "at least one PublicIdentity is required")
		}
		for j, pi := range sp.PublicIdentities {
			validatePublicIdentity(&c, index(p, "PublicIdentity", j), &pi)
		}
		if a := sp.CoreNetworkServicesAuthorization; a != nil && a.SubscribedMediaProfileID != nil && *a.SubscribedMediaProfileID < 0 {
			c.add(join(p, "CoreNetworkServicesAuthorization.SubscribedMediaProfileId"), "must be >= 0, got %d", *a.SubscribedMediaProfileID)
		}
		validateIFCList(&c, p, sp.InitialFilterCriteria)
		for j, id := range sp.SharedIFCSetIDs {
			if id < 0 {
				c.add(index(p, "Extension.SharedIFCSetID", j), "must be >= 0, got %d", id)
			}
		}
	}
	return c.err()
}

func validatePublicIdentity(c *collector, p string, pi *PublicIdentity) {
	switch {
	case pi.Identity == "":
		c.add(join(p, "Identity"), "missing")
	case !hasScheme(pi.Identity, "sip:", "sips:", "tel:"):
		c.add(join(p, "Identity"), "%q is not a SIP or TEL URI", pi.Identity)
	}
	if pi.IdentityType != nil && *pi.IdentityType > IdentityTypeWildcardedIMPU {
		c.add(join(p, "Extension.IdentityType"), "unknown value %d (0..3)", *pi.IdentityType)
	}
}

func validateIFCList(c *collector, prefix string, ifcs []InitialFilterCriteria) {
	seen := make(map[int]int, len(ifcs))
	for i := range ifcs {
		p := index(prefix, "InitialFilterCriteria", i)
		validateIFC(c, p, &ifcs[i])
		prio := ifcs[i].Priority
		if prio < 0 {
			continue
		}
		if first, dup := seen[prio]; dup {
			c.add(join(p, "Priority"), "duplicate Priority %d (also InitialFilterCriteria[%d])", prio, first)
			continue
		}
		seen[prio] = i
	}
}

func validateIFC(c *collector, p string, f *InitialFilterCriteria) {
	if f.Priority < 0 {
		c.add(join(p, "Priority"), "missing or negative (%d); a non-negative integer is required", f.Priority)
	}
	if tp := f.TriggerPoint; tp != nil {
		tpp := join(p, "TriggerPoint")
		if len(tp.SPT) == 0 {
			c.add(join(tpp, "SPT"), "TriggerPoint has no SPT")
		}
		for i := range tp.SPT {
			validateSPT(c, index(tpp, "SPT", i), &tp.SPT[i])
		}
	}
	as := &f.ApplicationServer
	asp := join(p, "ApplicationServer")
	switch {
	case as.ServerName == "":
		c.add(join(asp, "ServerName"), "missing")
	case !isSIPURI(as.ServerName):
		c.add(join(asp, "ServerName"), "%q is not a SIP URI", as.ServerName)
	}
	if as.DefaultHandling > DefaultHandlingSessionTerminated {
		c.add(join(asp, "DefaultHandling"), "unknown value %d (0 SESSION_CONTINUED, 1 SESSION_TERMINATED)", as.DefaultHandling)
	}
	if f.ProfilePartIndicator != nil && *f.ProfilePartIndicator > ProfilePartIndicatorUnregistered {
		c.add(join(p, "ProfilePartIndicator"), "unknown value %d (0 REGISTERED, 1 UNREGISTERED)", *f.ProfilePartIndicator)
	}
}

func validateSPT(c *collector, p string, s *SPT) {
	if len(s.Group) == 0 {
		c.add(join(p, "Group"), "SPT has no Group")
	}
	for i, g := range s.Group {
		if g < 0 {
			c.add(index(p, "Group", i), "must be >= 0, got %d", g)
		}
	}
	if kinds := s.kinds(); len(kinds) != 1 {
		if len(kinds) == 0 {
			c.add(p, "SPT needs one of RequestURI, Method, SIPHeader, SessionCase, SessionDescription")
		} else {
			c.add(p, "SPT has %d conditions (%s); exactly one is allowed", len(kinds), strings.Join(kinds, ", "))
		}
	}
	if s.RequestURI != "" {
		validatePattern(c, join(p, "RequestURI"), s.RequestURI)
	}
	if s.Method != "" && !isToken(s.Method) {
		c.add(join(p, "Method"), "%q is not a SIP method token", s.Method)
	}
	if h := s.SIPHeader; h != nil {
		if !isToken(h.Header) {
			c.add(join(p, "SIPHeader.Header"), "%q is not a SIP header name", h.Header)
		}
		validatePattern(c, join(p, "SIPHeader.Content"), h.Content)
	}
	if s.SessionCase != nil && *s.SessionCase > SessionCaseOriginatingCDIV {
		c.add(join(p, "SessionCase"), "unknown value %d (0..4)", *s.SessionCase)
	}
	if d := s.SessionDescription; d != nil {
		if len(d.Line) != 1 || d.Line[0] < 'a' || d.Line[0] > 'z' {
			c.add(join(p, "SessionDescription.Line"), "%q is not an SDP line type (one letter a-z)", d.Line)
		}
		validatePattern(c, join(p, "SessionDescription.Content"), d.Content)
	}
	if len(s.RegistrationType) > 0 && !strings.EqualFold(s.Method, "REGISTER") {
		// TS 29.228 B.2.2: RegistrationType is relevant only to a Method SPT of REGISTER.
		c.add(join(p, "Extension.RegistrationType"), "only allowed on a Method SPT of REGISTER")
	}
	var seen [256]bool
	for i, rt := range s.RegistrationType {
		rp := index(p, "Extension.RegistrationType", i)
		if rt > RegistrationTypeDeRegistration {
			c.add(rp, "unknown value %d (0 INITIAL_REGISTRATION, 1 RE_REGISTRATION, 2 DE_REGISTRATION)", rt)
		}
		if seen[rt] {
			c.add(rp, "duplicate RegistrationType %d", rt)
		}
		seen[rt] = true
	}
}

// kinds names the conditions set on an SPT, in XSD order.
func (s *SPT) kinds() []string {
	var k []string
	if s.RequestURI != "" {
		k = append(k, "RequestURI")
	}
	if s.Method != "" {
		k = append(k, "Method")
	}
	if s.SIPHeader != nil {
		k = append(k, "SIPHeader")
	}
	if s.SessionCase != nil {
		k = append(k, "SessionCase")
	}
	if s.SessionDescription != nil {
		k = append(k, "SessionDescription")
	}
	return k
}

func validatePattern(c *collector, field, pattern string) {
	if _, err := compilePattern(pattern); err != nil {
		c.add(field, "invalid regular expression %q: %v", pattern, err)
	}
}

// compilePattern compiles an iFC regular expression. TS 29.228 B.2.2 calls for POSIX
// extended regular expressions; RE2 accepts the same patterns in practice. Matching ignores
// case and is unanchored, as in the Kamailio S-CSCF (ims_isc), so profiles behave the same there.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("(?i)" + pattern)
}

func hasScheme(uri string, schemes ...string) bool {
	for _, s := range schemes {
		if len(uri) > len(s) && strings.EqualFold(uri[:len(s)], s) {
			return true
		}
	}
	return false
}

// isSIPURI is a light check of RFC 3261 19.1: sip: or sips:, a host, no white space.
func isSIPURI(uri string) bool {
	if !hasScheme(uri, "sip:", "sips:") || strings.ContainsAny(uri, " \t\r\n<>\"") {
		return false
	}
	_, rest, _ := strings.Cut(uri, ":")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	return rest != "" && rest[0] != ':'
}

// isToken reports whether s is an RFC 3261 25.1 token (method and header names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case strings.IndexByte("-.!%*_+`'~", ch) >= 0:
		default:
			return false
		}
	}
	return true
}
