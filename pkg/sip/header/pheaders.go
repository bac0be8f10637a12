package header

import (
	"strings"
)

// VisitedNetwork is one P-Visited-Network-ID element (RFC 7315 4.3):
// vnetwork-spec = (token / quoted-string) *(SEMI vnetwork-param).
type VisitedNetwork struct {
	ID     string
	Quoted bool
	Params Params
}

func (v VisitedNetwork) String() string {
	id := v.ID
	if v.Quoted || !isToken(id) {
		id = quote(id)
	}
	return id + v.Params.String()
}

// ParseVisitedNetworks parses a P-Visited-Network-ID value.
func ParseVisitedNetworks(value string) ([]VisitedNetwork, error) {
	elems, err := split(value, ',')
	if err != nil {
		return nil, err
	}
	out := make([]VisitedNetwork, 0, len(elems))
	for _, e := range elems {
		head, ps, err := parseElement(e)
		if err != nil {
			return nil, err
		}
		v := VisitedNetwork{ID: head, Params: ps}
		if strings.HasPrefix(head, `"`) {
			if v.ID, err = unquote(head); err != nil {
				return nil, err
			}
			v.Quoted = true
		} else if !isToken(head) {
			return nil, syntaxErr("bad network id %q", head)
		}
		out = append(out, v)
	}
	return out, nil
}

// AccessNetworkInfo is one P-Access-Network-Info element (RFC 7315 4.4, TS 24.229 7.2A.4):
// the access type (or access class) and its access-info parameters.
type AccessNetworkInfo struct {
	AccessType string // "3GPP-E-UTRAN-FDD", "IEEE-802.11", ...
	Params     Params
}

// Access-info parameter names used in TS 24.229 7.2A.4.
const (
	ParamUTRANCellID3GPP = "utran-cell-id-3gpp"
	ParamNetworkProvided = "network-provided"
)

// CellID returns the utran-cell-id-3gpp parameter (for E-UTRAN: MCC, MNC, TAC and ECI).
func (a AccessNetworkInfo) CellID() (string, bool) {
	return a.Params.Get(ParamUTRANCellID3GPP)
}

// NetworkProvided reports whether the P-CSCF, not the UE, inserted the value (TS 24.229 7.2A.4).
func (a AccessNetworkInfo) NetworkProvided() bool {
	return a.Params.Has(ParamNetworkProvided)
}

func (a AccessNetworkInfo) String() string {
	return a.AccessType + a.Params.String()
}

// ParseAccessNetworkInfo parses a P-Access-Network-Info value.
func ParseAccessNetworkInfo(value string) ([]AccessNetworkInfo, error) {
	elems, err := split(value, ',')
	if err != nil {
		return nil, err
	}
	out := make([]AccessNetworkInfo, 0, len(elems))
	for _, e := range elems {
		head, ps, err := parseElement(e)
		if err != nil {
			return nil, err
		}
		if !isToken(head) {
			return nil, syntaxErr("bad access type %q", head)
		}
		out = append(out, AccessNetworkInfo{AccessType: head, Params: ps})
	}
	return out, nil
}

// ChargingVector is the P-Charging-Vector value (RFC 7315 4.6): icid-value *(SEMI charge-params).
type ChargingVector struct {
	ICIDValue       string
	ICIDGeneratedAt string
	OrigIOI         string
	TermIOI         string
	Other           Params // transit-ioi, related-icid, 3GPP access parameters, ...
}

const (
	paramICIDValue       = "icid-value"
	paramICIDGeneratedAt = "icid-generated-at"
	paramOrigIOI         = "orig-ioi"
	paramTermIOI         = "term-ioi"
	paramCCF             = "ccf"
	paramECF             = "ecf"
)

func (c ChargingVector) String() string {
	ps := Params{newParam(paramICIDValue, c.ICIDValue)}
	for _, p := range []Param{
		newParam(paramICIDGeneratedAt, c.ICIDGeneratedAt),
		newParam(paramOrigIOI, c.OrigIOI),
		newParam(paramTermIOI, c.TermIOI),
	} {
		if p.Value != "" {
			ps = append(ps, p)
		}
	}
	ps = append(ps, c.Other...)
	return ps.String()[1:]
}

// ParseChargingVector parses a P-Charging-Vector value; icid-value is mandatory.
func ParseChargingVector(value string) (ChargingVector, error) {
	var c ChargingVector
	pieces, err := split(value, ';')
	if err != nil {
		return c, err
	}
	ps, err := parseParamList(pieces)
	if err != nil {
		return c, err
	}
	for _, p := range ps {
		if err := requireValue(p, paramICIDValue, paramICIDGeneratedAt, paramOrigIOI, paramTermIOI); err != nil {
			return c, err
		}
		switch strings.ToLower(p.Name) {
		case paramICIDValue:
			c.ICIDValue = p.Value
		case paramICIDGeneratedAt:
			c.ICIDGeneratedAt = p.Value
		case paramOrigIOI:
			c.OrigIOI = p.Value
		case paramTermIOI:
			c.TermIOI = p.Value
		default:
			c.Other = append(c.Other, p)
		}
	}
	if c.ICIDValue == "" {
		return c, syntaxErr("P-Charging-Vector without icid-value: %q", value)
	}
	return c, nil
}

// ChargingFunctionAddresses is the P-Charging-Function-Addresses value (RFC 7315 4.5): the
// offline (ccf) and online (ecf) charging function addresses, primary first.
type ChargingFunctionAddresses struct {
	CCF   []string
	ECF   []string
	Other Params
}

func (c ChargingFunctionAddresses) String() string {
	var ps Params
	for _, v := range c.CCF {
		ps = append(ps, newParam(paramCCF, v))
	}
	for _, v := range c.ECF {
		ps = append(ps, newParam(paramECF, v))
	}
	ps = append(ps, c.Other...)
	return strings.TrimPrefix(ps.String(), ";")
}

// ParseChargingFunctionAddresses parses a P-Charging-Function-Addresses value.
func ParseChargingFunctionAddresses(value string) (ChargingFunctionAddresses, error) {
	var c ChargingFunctionAddresses
	pieces, err := split(value, ';')
	if err != nil {
		return c, err
	}
	ps, err := parseParamList(pieces)
	if err != nil {
		return c, err
	}
	for _, p := range ps {
		if err := requireValue(p, paramCCF, paramECF); err != nil {
			return c, err
		}
		switch strings.ToLower(p.Name) {
		case paramCCF:
			c.CCF = append(c.CCF, p.Value)
		case paramECF:
			c.ECF = append(c.ECF, p.Value)
		default:
			c.Other = append(c.Other, p)
		}
	}
	return c, nil
}

// requireValue rejects an empty value for the parameters whose grammar is name EQUAL value.
func requireValue(p Param, names ...string) error {
	if p.Value != "" {
		return nil
	}
	for _, n := range names {
		if strings.EqualFold(p.Name, n) {
			return syntaxErr("parameter %q needs a value", p.Name)
		}
	}
	return nil
}
