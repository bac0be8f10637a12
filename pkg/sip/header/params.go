package header

import (
	"strings"
)

// Param is one generic-param (RFC 3261 25.1): a name with an optional gen-value. Quoted says
// the value travels as a quoted-string; Value always holds it unquoted.
type Param struct {
	Name   string
	Value  string
	Quoted bool
}

// String renders the parameter without its leading separator.
func (p Param) String() string {
	switch {
	case p.Quoted:
		return p.Name + "=" + quote(p.Value)
	case p.Value == "":
		return p.Name
	default:
		return p.Name + "=" + p.Value
	}
}

// Params is an ordered parameter list. Names compare case-insensitively (RFC 3261 7.3.1).
type Params []Param

// Get returns the unquoted value of the first parameter called name.
func (ps Params) Get(name string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// Has reports whether a parameter called name is present, with or without a value.
func (ps Params) Has(name string) bool {
	_, ok := ps.Get(name)
	return ok
}

// Set replaces the value of the first parameter called name or appends one. The value is
// quoted on the wire when it is not a token or host; an empty value makes a flag (";lr").
func (ps *Params) Set(name, value string) {
	p := newParam(name, value)
	for i := range *ps {
		if strings.EqualFold((*ps)[i].Name, name) {
			(*ps)[i] = p
			return
		}
	}
	*ps = append(*ps, p)
}

// newParam makes a parameter that is quoted on the wire only when value is not a token or host.
func newParam(name, value string) Param {
	return Param{Name: name, Value: value, Quoted: value != "" && !isGenValue(value)}
}

// String renders the list as ";a=b;c", the form that follows a header value.
func (ps Params) String() string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteByte(';')
		b.WriteString(p.String())
	}
	return b.String()
}

// parseParam parses name [ "=" gen-value ] with white space allowed around "=".
func parseParam(s string) (Param, error) {
	s = trimLWS(s)
	name, value, hasValue := strings.Cut(s, "=")
	name = trimLWS(name)
	if !isToken(name) {
		return Param{}, syntaxErr("bad parameter name in %q", s)
	}
	if !hasValue {
		return Param{Name: name}, nil
	}
	value = trimLWS(value)
	if strings.HasPrefix(value, `"`) {
		v, err := unquote(value)
		if err != nil {
			return Param{}, err
		}
		return Param{Name: name, Value: v, Quoted: true}, nil
	}
	if !isGenValue(value) {
		return Param{}, syntaxErr("bad value of parameter %q in %q", name, s)
	}
	return Param{Name: name, Value: value}, nil
}

// parseParamList parses the pieces that followed a header value's first element.
func parseParamList(pieces []string) (Params, error) {
	if len(pieces) == 0 {
		return nil, nil
	}
	ps := make(Params, 0, len(pieces))
	for _, piece := range pieces {
		p, err := parseParam(piece)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// parseElement splits one list element "head;p1;p2" into its head and parameters.
func parseElement(s string) (string, Params, error) {
	pieces, err := split(s, ';')
	if err != nil {
		return "", nil, err
	}
	ps, err := parseParamList(pieces[1:])
	return pieces[0], ps, err
}
