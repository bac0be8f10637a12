package header

import (
	"strconv"
	"strings"
)

// Security mechanism names (RFC 3329 2.2, TS 33.203 7.2).
const (
	MechanismIPsec3GPP = "ipsec-3gpp"
	MechanismDigest    = "digest"
	MechanismTLS       = "tls"
)

// SecurityMechanism is one sec-mechanism of Security-Client, Security-Server or Security-Verify
// (RFC 3329 2.2) with the ipsec-3gpp parameters of TS 33.203 Annex H. A zero SPI or port means
// the parameter is absent.
type SecurityMechanism struct {
	Mechanism string // "ipsec-3gpp", "digest", "tls", ...
	Q         string // preference, a qvalue such as "0.1"; empty when absent
	Alg       string // integrity: "hmac-sha-1-96", "hmac-md5-96"
	EAlg      string // encryption: "null", "aes-cbc", "des-ede3-cbc"
	SPIC      uint32
	SPIS      uint32
	PortC     uint16
	PortS     uint16
	Prot      string // "esp" or "ah"
	Mod       string // "trans", "tun", "UDP-enc-tun"
	Other     Params // d-alg, d-qop, d-ver and extensions
}

const (
	paramQ     = "q"
	paramAlg   = "alg"
	paramEAlg  = "ealg"
	paramSPIC  = "spi-c"
	paramSPIS  = "spi-s"
	paramPortC = "port-c"
	paramPortS = "port-s"
	paramProt  = "prot"
	paramMod   = "mod"
)

// String renders the mechanism with its parameters in a fixed order.
func (m SecurityMechanism) String() string {
	var b strings.Builder
	b.WriteString(m.Mechanism)
	str := func(name, v string) {
		if v != "" {
			b.WriteByte(';')
			b.WriteString(newParam(name, v).String())
		}
	}
	num := func(name string, v uint64) {
		if v != 0 {
			b.WriteByte(';')
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(strconv.FormatUint(v, 10))
		}
	}
	str(paramQ, m.Q)
	str(paramAlg, m.Alg)
	str(paramEAlg, m.EAlg)
	num(paramSPIC, uint64(m.SPIC))
	num(paramSPIS, uint64(m.SPIS))
	num(paramPortC, uint64(m.PortC))
	num(paramPortS, uint64(m.PortS))
	str(paramProt, m.Prot)
	str(paramMod, m.Mod)
	b.WriteString(m.Other.String())
	return b.String()
}

// Equal compares two mechanisms the way RFC 3329 2.3.1 compares Security-Verify with the
// Security-Server list the server sent: same mechanism and same parameters, tokens
// case-insensitive, parameter order irrelevant for the typed fields.
func (m SecurityMechanism) Equal(o SecurityMechanism) bool {
	return strings.EqualFold(m.String(), o.String())
}

// ParseSecurityMechanisms parses a Security-Client, Security-Server or Security-Verify value.
func ParseSecurityMechanisms(value string) ([]SecurityMechanism, error) {
	elems, err := split(value, ',')
	if err != nil {
		return nil, err
	}
	out := make([]SecurityMechanism, 0, len(elems))
	for _, e := range elems {
		m, err := parseSecurityMechanism(e)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseSecurityMechanism(s string) (SecurityMechanism, error) {
	head, ps, err := parseElement(s)
	if err != nil {
		return SecurityMechanism{}, err
	}
	if !isToken(head) {
		return SecurityMechanism{}, syntaxErr("bad mechanism name %q", head)
	}
	m := SecurityMechanism{Mechanism: head}
	for _, p := range ps {
		name := strings.ToLower(p.Name)
		switch name {
		case paramQ, paramAlg, paramEAlg, paramSPIC, paramSPIS, paramPortC, paramPortS, paramProt, paramMod:
			if p.Value == "" {
				return m, syntaxErr("parameter %q needs a value in %q", p.Name, s)
			}
		default:
			m.Other = append(m.Other, p)
			continue
		}
		switch name {
		case paramQ:
			if !isQValue(p.Value) {
				return m, syntaxErr("bad q %q", p.Value)
			}
			m.Q = p.Value
		case paramAlg:
			m.Alg = p.Value
		case paramEAlg:
			m.EAlg = p.Value
		case paramProt:
			m.Prot = p.Value
		case paramMod:
			m.Mod = p.Value
		case paramSPIC, paramSPIS:
			// spivalue = 10DIGIT; 0 to 4294967295 (TS 33.203 Annex H)
			v, err := parseDecimal(p.Value, 32)
			if err != nil || v == 0 {
				return m, syntaxErr("bad %s %q", p.Name, p.Value)
			}
			if name == paramSPIC {
				m.SPIC = uint32(v)
			} else {
				m.SPIS = uint32(v)
			}
		case paramPortC, paramPortS:
			v, err := parseDecimal(p.Value, 16)
			if err != nil || v == 0 {
				return m, syntaxErr("bad %s %q", p.Name, p.Value)
			}
			if name == paramPortC {
				m.PortC = uint16(v)
			} else {
				m.PortS = uint16(v)
			}
		}
	}
	return m, nil
}

// parseDecimal accepts digits only: strconv also takes signs and underscores, the ABNF does not.
func parseDecimal(s string, bits int) (uint64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, syntaxErr("not a number: %q", s)
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// isQValue: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261 25.1).
func isQValue(s string) bool {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return false
	}
	if len(s) == 1 {
		return true
	}
	if s[1] != '.' || len(s) > 5 {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0') {
			return false
		}
	}
	return true
}
