package store

import (
	"fmt"
	"math"
	"strings"
)

// invalid builds the error about one field of the input.
func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkName accepts the names of iFC sets and capability sets: they appear in URLs.
func checkName(field, name string) error {
	if name == "" || len(name) > 64 {
		return invalid(field, "must be 1..64 characters")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return invalid(field, "may hold only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// checkURI accepts a SIP or tel URI: a public user identity is one of these (TS 23.003 13.4).
func checkURI(field, uri string, schemes ...string) error {
	if len(uri) > 255 || strings.ContainsAny(uri, " \t\r\n<>\"") {
		return invalid(field, "must be a URI of at most 255 characters without spaces")
	}
	for _, s := range schemes {
		if strings.HasPrefix(uri, s) && len(uri) > len(s) {
			return nil
		}
	}
	return invalid(field, "must start with %s", strings.Join(schemes, " or "))
}

// Validate reports the first rule s breaks. forUpdate allows the secrets that UpdateSubscriber
// keeps when they are absent (K, OP/OPc, password).
func (s *Subscriber) Validate(forUpdate bool) error {
	// TS 23.003 2.2: an IMSI is at most 15 digits; 5 is the MCC plus the shortest MNC.
	if len(s.IMSI) < 5 || len(s.IMSI) > 15 || !isDigits(s.IMSI) {
		return invalid("imsi", "must be 5..15 digits")
	}
	// TS 23.003 3.3: an MSISDN is an E.164 number of at most 15 digits.
	if s.MSISDN != "" && (len(s.MSISDN) > 15 || !isDigits(s.MSISDN)) {
		return invalid("msisdn", "must be 1..15 digits")
	}
	if s.AMBRUL > math.MaxInt64 || s.AMBRDL > math.MaxInt64 {
		return invalid("ambr", "must be below 2^63 bit/s")
	}
	if err := s.Auth.validate(forUpdate); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, apn := range s.APNs {
		field := fmt.Sprintf("apns[%d]", i)
		if apn == "" {
			return invalid(field, "is empty")
		}
		if seen[apn] {
			return invalid(field, "%q is listed twice", apn)
		}
		seen[apn] = true
	}
	if s.IMS != nil {
		return s.IMS.validate()
	}
	return nil
}

func (a *Auth) validate(forUpdate bool) error {
	key := func(field string, b []byte) error {
		if b != nil && len(b) != 16 {
			return invalid(field, "must be 32 hex digits")
		}
		return nil
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"auth.k", a.K}, {"auth.op", a.OP}, {"auth.opc", a.OPc}} {
		if err := key(f.name, f.b); err != nil {
			return err
		}
	}
	if a.OP != nil && a.OPc != nil {
		return invalid("auth.opc", "give op or opc, not both")
	}
	if len(a.AMF) != 2 {
		return invalid("auth.amf", "must be 4 hex digits")
	}
	if a.SQN > MaxSQN {
		return invalid("auth.sqn", "must be below 2^48")
	}
	switch a.Algorithm {
	case AlgorithmMilenage:
		if !forUpdate && a.K == nil {
			return invalid("auth.k", "is required for milenage")
		}
		if !forUpdate && a.OP == nil && a.OPc == nil {
			return invalid("auth.op", "milenage needs op or opc")
		}
	case AlgorithmDigest:
		if !forUpdate && a.Password == "" {
			return invalid("auth.password", "is required for digest")
		}
	default:
		return invalid("auth.algorithm", "must be milenage or digest")
	}
	if len(a.Password) > 255 {
		return invalid("auth.password", "must be at most 255 characters")
	}
	return nil
}

func (m *IMS) validate() error {
	// TS 23.003 13.3: the private identity is a NAI, username@realm.
	if len(m.IMPI) > 255 || strings.ContainsAny(m.IMPI, " \t\r\n") || !strings.Contains(m.IMPI, "@") {
		return invalid("ims.impi", "must be a NAI user@realm of at most 255 characters")
	}
	if len(m.IMPUs) == 0 {
		return invalid("ims.impus", "needs at least one public identity")
	}
	seen := map[string]bool{}
	defaults := map[string]int{}
	for i, u := range m.IMPUs {
		field := fmt.Sprintf("ims.impus[%d]", i)
		if err := checkURI(field, u.URI, "sip:", "tel:"); err != nil {
			return err
		}
		if seen[u.URI] {
			return invalid(field, "%q is listed twice", u.URI)
		}
		seen[u.URI] = true
		if len(u.IRS) > 64 {
			return invalid(field+".irs", "must be at most 64 characters")
		}
		if u.Default {
			defaults[u.IRS]++
			if defaults[u.IRS] > 1 {
				return invalid(field+".default", "implicit registration set %q has two default identities", u.IRS)
			}
		}
		switch u.State {
		case "", StateNotRegistered, StateRegistered, StateUnregistered:
		default:
			return invalid(field+".state", "unknown registration state %q", u.State)
		}
	}
	for _, f := range []struct{ name, uri string }{
		{"ims.charging.ccf_primary", m.Charging.CCFPrimary}, {"ims.charging.ccf_secondary", m.Charging.CCFSecondary},
		{"ims.charging.ecf_primary", m.Charging.ECFPrimary}, {"ims.charging.ecf_secondary", m.Charging.ECFSecondary},
	} {
		if len(f.uri) > 255 {
			return invalid(f.name, "must be at most 255 characters")
		}
	}
	return nil
}

// normalize fills the defaults of an IMS subscription: identities without an implicit
// registration set share set "1" (a user's sip: and tel: identities register together), the
// first identity of a set without a default becomes its default, and the state is
// NOT_REGISTERED.
func (m *IMS) normalize() {
	hasDefault := map[string]bool{}
	for i := range m.IMPUs {
		u := &m.IMPUs[i]
		if u.IRS == "" {
			u.IRS = "1"
		}
		if u.State == "" {
			u.State = StateNotRegistered
		}
		hasDefault[u.IRS] = hasDefault[u.IRS] || u.Default
	}
	for i := range m.IMPUs {
		u := &m.IMPUs[i]
		if !hasDefault[u.IRS] {
			u.Default = true
			hasDefault[u.IRS] = true
		}
	}
}

// Validate reports the first rule p breaks.
func (p *APNProfile) Validate() error {
	// TS 23.003 9.1: the APN network identifier is labels of letters, digits and hyphens.
	if p.Name == "" || len(p.Name) > 100 {
		return invalid("name", "must be 1..100 characters")
	}
	for _, label := range strings.Split(p.Name, ".") {
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return invalid("name", "must be dot-separated labels of letters, digits and '-'")
		}
	}
	if p.QCI == 0 || p.QCI == 255 {
		return invalid("qci", "must be 1..254")
	}
	if p.ARPPriority < 1 || p.ARPPriority > 15 {
		return invalid("arp_priority", "must be 1..15")
	}
	if p.AMBRUL > math.MaxInt64 || p.AMBRDL > math.MaxInt64 {
		return invalid("ambr", "must be below 2^63 bit/s")
	}
	switch p.PDNType {
	case PDNTypeIPv4, PDNTypeIPv6, PDNTypeIPv4v6, PDNTypeIPv4OrIPv6:
	default:
		return invalid("pdn_type", "must be ipv4, ipv6, ipv4v6 or ipv4_or_ipv6")
	}
	return nil
}

// Validate reports the first rule c breaks.
func (c *CapabilitySet) Validate() error {
	if err := checkName("name", c.Name); err != nil {
		return err
	}
	for i, name := range c.ServerNames {
		if err := checkURI(fmt.Sprintf("server_names[%d]", i), name, "sip:", "sips:"); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports the first rule s breaks, the iFC XML included.
func (s *IFCSet) Validate() error {
	if err := checkName("name", s.Name); err != nil {
		return err
	}
	if len(s.Description) > 255 {
		return invalid("description", "must be at most 255 characters")
	}
	if err := checkIFCs(s.XML); err != nil {
		return &FieldError{Field: "xml", Msg: err.Error(), Err: ErrInvalid}
	}
	return nil
}
