package ifc

import (
	"regexp"
	"strings"
)

// Start is the "after" priority that makes Evaluate begin with the first iFC.
const Start = -1

// Request is what the Service Point Triggers of TS 29.228 B.2.2 look at in an initial request.
// The S-CSCF fills it once per request and then calls Evaluate for each AS hop.
type Request struct {
	Method     string
	RequestURI string
	Headers    Headers
	// SDP is the session description body (Content-Type application/sdp, or that part of a
	// multipart body); empty when the request carries none.
	SDP         string
	SessionCase SessionCase
	// RegistrationType is only looked at for REGISTER.
	RegistrationType RegistrationType
	// Registered is the served user's state: it selects the iFCs by ProfilePartIndicator
	// (TS 29.228 B.2.2; TS 24.229 5.4.3.3 uses the unregistered part for unregistered users).
	Registered bool
}

// Headers holds the request's header field values keyed by lower-case full header name
// (compact forms expanded), one entry per header field occurrence.
type Headers map[string][]string

// Add appends one header field value; name is matched case-insensitively and compact forms
// (RFC 3261 7.3.3, and those of later RFCs) are stored under the full name.
func (h Headers) Add(name, value string) {
	k := headerKey(name)
	h[k] = append(h[k], value)
}

// Values returns every value of the named header, by full or compact name in any case.
func (h Headers) Values(name string) []string {
	return h[headerKey(name)]
}

// compactForms maps the single-letter header names to their full names.
var compactForms = map[string]string{
	"a": "accept-contact",      // RFC 3841
	"b": "referred-by",         // RFC 3892
	"c": "content-type",        // RFC 3261
	"d": "request-disposition", // RFC 3841
	"e": "content-encoding",    // RFC 3261
	"f": "from",                // RFC 3261
	"i": "call-id",             // RFC 3261
	"j": "reject-contact",      // RFC 3841
	"k": "supported",           // RFC 3261
	"l": "content-length",      // RFC 3261
	"m": "contact",             // RFC 3261
	"o": "event",               // RFC 6665
	"r": "refer-to",            // RFC 3515
	"s": "subject",             // RFC 3261
	"t": "to",                  // RFC 3261
	"u": "allow-events",        // RFC 6665
	"v": "via",                 // RFC 3261
	"x": "session-expires",     // RFC 4028
	"y": "identity",            // RFC 8224
}

func headerKey(name string) string {
	k := strings.ToLower(strings.TrimSpace(name))
	if full, ok := compactForms[k]; ok {
		return full
	}
	return k
}

// Compile prepares the regular expressions of the iFC's SPTs for Match. The parsers call it;
// call it again after building or changing an iFC in code. Without it Match still works but
// compiles patterns on every call. A pattern that does not compile never matches; Validate
// reports it.
func (f *InitialFilterCriteria) Compile() {
	if f.TriggerPoint == nil {
		return
	}
	for i := range f.TriggerPoint.SPT {
		s := &f.TriggerPoint.SPT[i]
		s.re, s.reSrc, s.hdrKey, s.hdrSrc = nil, "", "", ""
		if s.SIPHeader != nil {
			s.hdrKey, s.hdrSrc = headerKey(s.SIPHeader.Header), s.SIPHeader.Header
		}
		if p, ok := s.pattern(); ok {
			if re, err := compilePattern(p); err == nil {
				s.re, s.reSrc = re, p
			}
		}
	}
}

// pattern is the regular expression of a RequestURI, SIPHeader or SessionDescription SPT.
// ok is false when the SPT has none (a Content left empty tests presence only).
func (s *SPT) pattern() (string, bool) {
	switch {
	case s.RequestURI != "":
		return s.RequestURI, true
	case s.Method != "":
		return "", false
	case s.SIPHeader != nil:
		return s.SIPHeader.Content, s.SIPHeader.Content != ""
	case s.SessionCase != nil:
		return "", false
	case s.SessionDescription != nil:
		return s.SessionDescription.Content, s.SessionDescription.Content != ""
	}
	return "", false
}

// compiled returns the cached expression for pattern p, or compiles it when the cache is stale.
func (s *SPT) compiled(p string) *regexp.Regexp {
	if s.re != nil && s.reSrc == p {
		return s.re
	}
	re, err := compilePattern(p)
	if err != nil {
		return nil
	}
	return re
}

// Match reports whether the iFC's trigger point matches the request (TS 29.228 Annex C).
// A missing TriggerPoint always matches. ProfilePartIndicator is Evaluate's concern.
func Match(f *InitialFilterCriteria, req *Request) bool {
	tp := f.TriggerPoint
	if tp == nil {
		return true
	}
	// Each distinct group is evaluated once, in order of first appearance; an SPT belongs to
	// every group it lists. CNF: AND over groups of (OR within group). DNF: OR of ANDs.
	for i := range tp.SPT {
		for gi, g := range groupsOf(&tp.SPT[i]) {
			if seenBefore(tp.SPT, i, gi, g) {
				continue
			}
			v := groupValue(tp, i, g, req)
			if tp.ConditionTypeCNF && !v {
				return false
			}
			if !tp.ConditionTypeCNF && v {
				return true
			}
		}
	}
	return tp.ConditionTypeCNF
}

// noGroup stands in for the Group of an SPT that has none (the schema requires one).
var noGroup = []int{0}

func groupsOf(s *SPT) []int {
	if len(s.Group) == 0 {
		return noGroup
	}
	return s.Group
}

// seenBefore reports whether group g already appeared before position (i, gi).
func seenBefore(spts []SPT, i, gi, g int) bool {
	for j := 0; j <= i; j++ {
		gs := groupsOf(&spts[j])
		if j == i {
			gs = gs[:gi]
		}
		for _, x := range gs {
			if x == g {
				return true
			}
		}
	}
	return false
}

// groupValue combines the SPTs of group g, starting at its first member from.
func groupValue(tp *TriggerPoint, from, g int, req *Request) bool {
	for j := from; j < len(tp.SPT); j++ {
		s := &tp.SPT[j]
		if !inGroup(s, g) {
			continue
		}
		v := s.match(req)
		if tp.ConditionTypeCNF && v {
			return true
		}
		if !tp.ConditionTypeCNF && !v {
			return false
		}
	}
	return !tp.ConditionTypeCNF
}

func inGroup(s *SPT, g int) bool {
	for _, x := range groupsOf(s) {
		if x == g {
			return true
		}
	}
	return false
}

// match applies ConditionNegated to the SPT's test.
func (s *SPT) match(req *Request) bool {
	return s.test(req) != s.ConditionNegated
}

func (s *SPT) test(req *Request) bool {
	switch {
	case s.RequestURI != "":
		re := s.compiled(s.RequestURI)
		return re != nil && re.MatchString(req.RequestURI)
	case s.Method != "":
		if !strings.EqualFold(req.Method, s.Method) {
			return false
		}
		// TS 29.228 B.2.2: RegistrationType narrows a REGISTER SPT; none means every REGISTER.
		if len(s.RegistrationType) == 0 || !strings.EqualFold(s.Method, "REGISTER") {
			return true
		}
		for _, rt := range s.RegistrationType {
			if rt == req.RegistrationType {
				return true
			}
		}
		return false
	case s.SIPHeader != nil:
		return s.testHeader(req)
	case s.SessionCase != nil:
		return *s.SessionCase == req.SessionCase
	case s.SessionDescription != nil:
		return s.testSDP(req)
	}
	return false
}

// testHeader: without Content the header only has to be present (TS 29.228 B.2.2); with it,
// one of the header's values has to match.
func (s *SPT) testHeader(req *Request) bool {
	key := s.hdrKey
	if s.hdrSrc != s.SIPHeader.Header || key == "" {
		key = headerKey(s.SIPHeader.Header)
	}
	values := req.Headers[key]
	if s.SIPHeader.Content == "" {
		return len(values) > 0
	}
	re := s.compiled(s.SIPHeader.Content)
	if re == nil {
		return false
	}
	for _, v := range values {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// testSDP looks at every "<Line>=<value>" line of the body; Content is matched against the
// value, without the "x=" prefix.
func (s *SPT) testSDP(req *Request) bool {
	d := s.SessionDescription
	var re *regexp.Regexp
	if d.Content != "" {
		if re = s.compiled(d.Content); re == nil {
			return false
		}
	}
	for rest := req.SDP; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if len(line) < 2 || line[1] != '=' || !strings.EqualFold(line[:1], d.Line) {
			continue
		}
		if re == nil || re.MatchString(line[2:]) {
			return true
		}
	}
	return false
}

// Evaluate returns the iFC with the lowest priority strictly greater than after that applies
// to the user's registration state (ProfilePartIndicator) and whose trigger point matches.
// Pass Start to begin; after an AS hop, pass the priority of the iFC that sent the request
// there (the S-CSCF keeps it with its ODI token) to continue (TS 24.229 5.4.3.2 step 4).
// iFCs with equal priority are tried in slice order. ifcs need not be sorted and is not
// modified; the result points into it.
func Evaluate(ifcs []InitialFilterCriteria, req *Request, after int) (*InitialFilterCriteria, bool) {
	for {
		next, found := 0, false
		for i := range ifcs {
			if p := ifcs[i].Priority; p > after && (!found || p < next) {
				next, found = p, true
			}
		}
		if !found {
			return nil, false
		}
		for i := range ifcs {
			f := &ifcs[i]
			if f.Priority == next && appliesTo(f, req) && Match(f, req) {
				return f, true
			}
		}
		after = next
	}
}

func appliesTo(f *InitialFilterCriteria, req *Request) bool {
	if f.ProfilePartIndicator == nil {
		return true
	}
	return (*f.ProfilePartIndicator == ProfilePartIndicatorRegistered) == req.Registered
}
