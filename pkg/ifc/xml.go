package ifc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SetElement is the root element MarshalIFCs writes around an iFC set. TS 29.228 has no
// element for a bare set; this one holds InitialFilterCriteria elements exactly as a
// ServiceProfile does.
const SetElement = "InitialFilterCriteriaSet"

// ParseIFCs reads an iFC set. It accepts either one <InitialFilterCriteriaSet> root holding
// <InitialFilterCriteria> elements, or a fragment of one or more top-level
// <InitialFilterCriteria> elements as cut from a ServiceProfile. Leading and trailing white
// space of every value is ignored. Values that cannot be represented (a Priority that is not
// an integer, a boolean that is not 0/1/true/false, an empty Method ...) are all returned
// together as Problems; rules that need the whole model (missing Priority, SPT kinds,
// regular expressions, duplicates ...) are left to ValidateIFCs. The regular expressions of
// the result are compiled.
func ParseIFCs(data []byte) ([]InitialFilterCriteria, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var (
		wires   []xIFC
		rootSet bool // an <InitialFilterCriteriaSet> root was read
		roots   int
	)
	for {
		start, err := nextStart(d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		roots++
		switch {
		case start.Name.Local == SetElement && roots == 1:
			rootSet = true
			if wires, err = decodeSet(d); err != nil {
				return nil, err
			}
		case start.Name.Local == "InitialFilterCriteria" && !rootSet:
			var w xIFC
			if err := d.DecodeElement(&w, &start); err != nil {
				return nil, decodeErr(d, err)
			}
			wires = append(wires, w)
		case rootSet:
			return nil, fmt.Errorf("ifc: line %d: <%s> after </%s>", line(d), start.Name.Local, SetElement)
		case start.Name.Local == SetElement:
			return nil, fmt.Errorf("ifc: line %d: <%s> must be the only root element", line(d), SetElement)
		default:
			return nil, fmt.Errorf("ifc: line %d: unexpected <%s>, want <%s> or <InitialFilterCriteria>", line(d), start.Name.Local, SetElement)
		}
	}
	if roots == 0 {
		return nil, fmt.Errorf("ifc: no <%s> or <InitialFilterCriteria> element", SetElement)
	}
	var c collector
	ifcs := make([]InitialFilterCriteria, len(wires))
	for i := range wires {
		ifcs[i] = wires[i].model(&c, index("", "InitialFilterCriteria", i))
	}
	if err := c.err(); err != nil {
		return nil, fmt.Errorf("ifc: %w", err)
	}
	return ifcs, nil
}

// decodeSet reads the children of <InitialFilterCriteriaSet> up to its end element.
func decodeSet(d *xml.Decoder) ([]xIFC, error) {
	var wires []xIFC
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, decodeErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "InitialFilterCriteria" {
				return nil, fmt.Errorf("ifc: line %d: unexpected <%s> in <%s>", line(d), t.Name.Local, SetElement)
			}
			var w xIFC
			if err := d.DecodeElement(&w, &t); err != nil {
				return nil, decodeErr(d, err)
			}
			wires = append(wires, w)
		case xml.EndElement:
			return wires, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("ifc: line %d: unexpected text in <%s>", line(d), SetElement)
			}
		}
	}
}

// MarshalIFCs writes an iFC set under an <InitialFilterCriteriaSet> root, the form ParseIFCs reads.
func MarshalIFCs(ifcs []InitialFilterCriteria) ([]byte, error) {
	w := struct {
		XMLName xml.Name `xml:"InitialFilterCriteriaSet"`
		IFC     []xIFC   `xml:"InitialFilterCriteria"`
	}{IFC: make([]xIFC, len(ifcs))}
	for i := range ifcs {
		w.IFC[i] = wireIFC(&ifcs[i])
	}
	return marshal(w)
}

// ParseSubscription reads a Cx-User-Data document (TS 29.229 6.3.4 User-Data AVP) whose root
// is <IMSSubscription>. Like ParseIFCs it reports unrepresentable values as Problems and
// leaves the rest to Validate; the iFC regular expressions of the result are compiled.
func ParseSubscription(data []byte) (*IMSSubscription, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	start, err := nextStart(d)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("ifc: no <IMSSubscription> element")
	}
	if err != nil {
		return nil, err
	}
	if start.Name.Local != "IMSSubscription" {
		return nil, fmt.Errorf("ifc: line %d: root element is <%s>, want <IMSSubscription>", line(d), start.Name.Local)
	}
	var w xSubscription
	if err := d.DecodeElement(&w, &start); err != nil {
		return nil, decodeErr(d, err)
	}
	if extra, err := nextStart(d); err == nil {
		return nil, fmt.Errorf("ifc: line %d: <%s> after </IMSSubscription>", line(d), extra.Name.Local)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	var c collector
	s := w.model(&c)
	if err := c.err(); err != nil {
		return nil, fmt.Errorf("ifc: %w", err)
	}
	return s, nil
}

// Marshal writes the Cx-User-Data XML: element names and order as in the TS 29.228 Annex E
// schema, booleans as 0/1, optional elements omitted when unset.
func (s *IMSSubscription) Marshal() ([]byte, error) {
	return marshal(wireSubscription(s))
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, fmt.Errorf("ifc: marshal: %w", err)
	}
	return b.Bytes(), nil
}

// nextStart returns the next top-level start element, skipping the prolog, comments and
// white space; io.EOF when the document ends.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, io.EOF
		}
		if err != nil {
			return xml.StartElement{}, decodeErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, fmt.Errorf("ifc: line %d: text outside the root element", line(d))
			}
		}
	}
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}

// decodeErr adds the input line unless the error already carries one.
func decodeErr(d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("ifc: %w", err)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("ifc: line %d: %w", line(d), err)
}

// The x* types are the XML shape of TS 29.228 Annex E (CxDataType.xsd): field order is the
// xs:sequence order, leaves are strings so that conversion can report bad values with their
// path, pointers tell absent from empty.

type xSubscription struct {
	XMLName        xml.Name          `xml:"IMSSubscription"`
	PrivateID      string            `xml:"PrivateID"`
	ServiceProfile []xServiceProfile `xml:"ServiceProfile"`
}

type xServiceProfile struct {
	PublicIdentity                   []xPublicIdentity `xml:"PublicIdentity"`
	CoreNetworkServicesAuthorization *xCNSA            `xml:"CoreNetworkServicesAuthorization,omitempty"`
	InitialFilterCriteria            []xIFC            `xml:"InitialFilterCriteria"`
	Extension                        *xProfileExt      `xml:"Extension,omitempty"`
}

type xProfileExt struct {
	SharedIFCSetID []string `xml:"SharedIFCSetID"`
}

type xPublicIdentity struct {
	BarringIndication *string       `xml:"BarringIndication,omitempty"`
	Identity          string        `xml:"Identity"`
	Extension         *xIdentityExt `xml:"Extension,omitempty"`
}

type xIdentityExt struct {
	IdentityType  *string        `xml:"IdentityType,omitempty"`
	WildcardedPSI *string        `xml:"WildcardedPSI,omitempty"`
	Extension     *xIdentityExt2 `xml:"Extension,omitempty"`
}

type xIdentityExt2 struct {
	DisplayName *string `xml:"DisplayName,omitempty"`
}

type xCNSA struct {
	SubscribedMediaProfileID *string `xml:"SubscribedMediaProfileId,omitempty"`
}

type xIFC struct {
	Priority             *string   `xml:"Priority"`
	TriggerPoint         *xTrigger `xml:"TriggerPoint,omitempty"`
	ApplicationServer    *xAS      `xml:"ApplicationServer"`
	ProfilePartIndicator *string   `xml:"ProfilePartIndicator,omitempty"`
}

type xTrigger struct {
	ConditionTypeCNF *string `xml:"ConditionTypeCNF"`
	SPT              []xSPT  `xml:"SPT"`
}

type xSPT struct {
	ConditionNegated   *string  `xml:"ConditionNegated,omitempty"`
	Group              []string `xml:"Group"`
	RequestURI         *string  `xml:"RequestURI,omitempty"`
	Method             *string  `xml:"Method,omitempty"`
	SIPHeader          *xHeader `xml:"SIPHeader,omitempty"`
	SessionCase        *string  `xml:"SessionCase,omitempty"`
	SessionDescription *xSDP    `xml:"SessionDescription,omitempty"`
	Extension          *xSPTExt `xml:"Extension,omitempty"`
}

type xSPTExt struct {
	RegistrationType []string `xml:"RegistrationType"`
}

type xHeader struct {
	Header  string  `xml:"Header"`
	Content *string `xml:"Content,omitempty"`
}

type xSDP struct {
	Line    string  `xml:"Line"`
	Content *string `xml:"Content,omitempty"`
}

type xAS struct {
	ServerName      string  `xml:"ServerName"`
	DefaultHandling *string `xml:"DefaultHandling,omitempty"`
	ServiceInfo     *string `xml:"ServiceInfo,omitempty"`
	Extension       *xASExt `xml:"Extension,omitempty"`
}

// xASExt is tApplicationServerExtension: the flags are empty elements, present or not.
type xASExt struct {
	IncludeRegisterRequest  *struct{} `xml:"IncludeRegisterRequest,omitempty"`
	IncludeRegisterResponse *struct{} `xml:"IncludeRegisterResponse,omitempty"`
}

// --- wire -> model ---

func (w *xSubscription) model(c *collector) *IMSSubscription {
	s := &IMSSubscription{PrivateID: strings.TrimSpace(w.PrivateID)}
	for i := range w.ServiceProfile {
		s.ServiceProfiles = append(s.ServiceProfiles, w.ServiceProfile[i].model(c, index("", "ServiceProfile", i)))
	}
	return s
}

func (w *xServiceProfile) model(c *collector, p string) ServiceProfile {
	var sp ServiceProfile
	for i, x := range w.PublicIdentity {
		ip := index(p, "PublicIdentity", i)
		pi := PublicIdentity{Identity: strings.TrimSpace(x.Identity)}
		if x.BarringIndication != nil {
			pi.BarringIndication = parseBool(c, join(ip, "BarringIndication"), *x.BarringIndication)
		}
		if e := x.Extension; e != nil {
			if e.IdentityType != nil {
				t := IdentityType(parseUint8(c, join(ip, "Extension.IdentityType"), *e.IdentityType))
				pi.IdentityType = &t
			}
			if e.WildcardedPSI != nil {
				pi.WildcardedPSI = strings.TrimSpace(*e.WildcardedPSI)
			}
			if e.Extension != nil && e.Extension.DisplayName != nil {
				pi.DisplayName = strings.TrimSpace(*e.Extension.DisplayName)
			}
		}
		sp.PublicIdentities = append(sp.PublicIdentities, pi)
	}
	if a := w.CoreNetworkServicesAuthorization; a != nil {
		sp.CoreNetworkServicesAuthorization = &CoreNetworkServicesAuthorization{}
		if a.SubscribedMediaProfileID != nil {
			id := parseInt(c, join(p, "CoreNetworkServicesAuthorization.SubscribedMediaProfileId"), *a.SubscribedMediaProfileID)
			sp.CoreNetworkServicesAuthorization.SubscribedMediaProfileID = &id
		}
	}
	for i := range w.InitialFilterCriteria {
		sp.InitialFilterCriteria = append(sp.InitialFilterCriteria, w.InitialFilterCriteria[i].model(c, index(p, "InitialFilterCriteria", i)))
	}
	if w.Extension != nil {
		for i, id := range w.Extension.SharedIFCSetID {
			sp.SharedIFCSetIDs = append(sp.SharedIFCSetIDs, parseInt(c, index(p, "Extension.SharedIFCSetID", i), id))
		}
	}
	return sp
}

func (w *xIFC) model(c *collector, p string) InitialFilterCriteria {
	f := InitialFilterCriteria{Priority: -1}
	if w.Priority != nil {
		f.Priority = parseInt(c, join(p, "Priority"), *w.Priority)
	}
	if t := w.TriggerPoint; t != nil {
		tp := &TriggerPoint{}
		tpp := join(p, "TriggerPoint")
		if t.ConditionTypeCNF == nil {
			c.add(join(tpp, "ConditionTypeCNF"), "missing")
		} else {
			tp.ConditionTypeCNF = parseBool(c, join(tpp, "ConditionTypeCNF"), *t.ConditionTypeCNF)
		}
		for i := range t.SPT {
			tp.SPT = append(tp.SPT, t.SPT[i].model(c, index(tpp, "SPT", i)))
		}
		f.TriggerPoint = tp
	}
	if a := w.ApplicationServer; a != nil {
		asp := join(p, "ApplicationServer")
		f.ApplicationServer.ServerName = strings.TrimSpace(a.ServerName)
		if a.DefaultHandling != nil {
			f.ApplicationServer.DefaultHandling = DefaultHandling(parseUint8(c, join(asp, "DefaultHandling"), *a.DefaultHandling))
		}
		if a.ServiceInfo != nil {
			f.ApplicationServer.ServiceInfo = strings.TrimSpace(*a.ServiceInfo)
		}
		if a.Extension != nil {
			f.ApplicationServer.IncludeRegisterRequest = a.Extension.IncludeRegisterRequest != nil
			f.ApplicationServer.IncludeRegisterResponse = a.Extension.IncludeRegisterResponse != nil
		}
	}
	if w.ProfilePartIndicator != nil {
		ppi := ProfilePartIndicator(parseUint8(c, join(p, "ProfilePartIndicator"), *w.ProfilePartIndicator))
		f.ProfilePartIndicator = &ppi
	}
	f.Compile()
	return f
}

func (w *xSPT) model(c *collector, p string) SPT {
	var s SPT
	if w.ConditionNegated != nil {
		s.ConditionNegated = parseBool(c, join(p, "ConditionNegated"), *w.ConditionNegated)
	}
	for i, g := range w.Group {
		s.Group = append(s.Group, parseInt(c, index(p, "Group", i), g))
	}
	if w.RequestURI != nil {
		s.RequestURI = nonEmpty(c, join(p, "RequestURI"), *w.RequestURI)
	}
	if w.Method != nil {
		s.Method = nonEmpty(c, join(p, "Method"), *w.Method)
	}
	if h := w.SIPHeader; h != nil {
		s.SIPHeader = &SIPHeader{Header: strings.TrimSpace(h.Header)}
		if h.Content != nil {
			s.SIPHeader.Content = strings.TrimSpace(*h.Content)
		}
	}
	if w.SessionCase != nil {
		sc := SessionCase(parseUint8(c, join(p, "SessionCase"), *w.SessionCase))
		s.SessionCase = &sc
	}
	if d := w.SessionDescription; d != nil {
		s.SessionDescription = &SessionDescription{Line: strings.TrimSpace(d.Line)}
		if d.Content != nil {
			s.SessionDescription.Content = strings.TrimSpace(*d.Content)
		}
	}
	if w.Extension != nil {
		for i, rt := range w.Extension.RegistrationType {
			s.RegistrationType = append(s.RegistrationType, RegistrationType(parseUint8(c, index(p, "Extension.RegistrationType", i), rt)))
		}
	}
	return s
}

// nonEmpty trims v and reports an element that is present but empty: the model cannot tell
// it from an absent one, and an empty Method or RequestURI is never what was meant.
func nonEmpty(c *collector, field, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		c.add(field, "empty")
	}
	return v
}

// parseBool reads an xs:boolean.
func parseBool(c *collector, field, v string) bool {
	switch strings.TrimSpace(v) {
	case "1", "true":
		return true
	case "0", "false":
		return false
	}
	c.add(field, "%q is not a boolean (0, 1, true or false)", v)
	return false
}

func parseInt(c *collector, field, v string) int {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		c.add(field, "%q is not an integer", v)
	}
	return int(n)
}

// parseUint8 reads the xs:unsignedByte enumerations; their ranges are checked by Validate.
func parseUint8(c *collector, field, v string) uint8 {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
	if err != nil {
		c.add(field, "%q is not a number from 0 to 255", v)
	}
	return uint8(n)
}

// --- model -> wire ---

func wireSubscription(s *IMSSubscription) *xSubscription {
	w := &xSubscription{PrivateID: s.PrivateID}
	for i := range s.ServiceProfiles {
		w.ServiceProfile = append(w.ServiceProfile, wireProfile(&s.ServiceProfiles[i]))
	}
	return w
}

func wireProfile(sp *ServiceProfile) xServiceProfile {
	var w xServiceProfile
	for _, pi := range sp.PublicIdentities {
		x := xPublicIdentity{Identity: pi.Identity}
		if pi.BarringIndication {
			x.BarringIndication = ptr("1")
		}
		var ext xIdentityExt
		if pi.IdentityType != nil {
			ext.IdentityType = ptr(strconv.Itoa(int(*pi.IdentityType)))
		}
		if pi.WildcardedPSI != "" {
			ext.WildcardedPSI = ptr(pi.WildcardedPSI)
		}
		if pi.DisplayName != "" {
			ext.Extension = &xIdentityExt2{DisplayName: ptr(pi.DisplayName)}
		}
		if ext != (xIdentityExt{}) {
			x.Extension = &ext
		}
		w.PublicIdentity = append(w.PublicIdentity, x)
	}
	if a := sp.CoreNetworkServicesAuthorization; a != nil {
		w.CoreNetworkServicesAuthorization = &xCNSA{}
		if a.SubscribedMediaProfileID != nil {
			w.CoreNetworkServicesAuthorization.SubscribedMediaProfileID = ptr(strconv.Itoa(*a.SubscribedMediaProfileID))
		}
	}
	for i := range sp.InitialFilterCriteria {
		w.InitialFilterCriteria = append(w.InitialFilterCriteria, wireIFC(&sp.InitialFilterCriteria[i]))
	}
	if len(sp.SharedIFCSetIDs) > 0 {
		w.Extension = &xProfileExt{}
		for _, id := range sp.SharedIFCSetIDs {
			w.Extension.SharedIFCSetID = append(w.Extension.SharedIFCSetID, strconv.Itoa(id))
		}
	}
	return w
}

func wireIFC(f *InitialFilterCriteria) xIFC {
	w := xIFC{Priority: ptr(strconv.Itoa(f.Priority))}
	if tp := f.TriggerPoint; tp != nil {
		w.TriggerPoint = &xTrigger{ConditionTypeCNF: ptr(xsBool(tp.ConditionTypeCNF))}
		for i := range tp.SPT {
			w.TriggerPoint.SPT = append(w.TriggerPoint.SPT, wireSPT(&tp.SPT[i]))
		}
	}
	as := &f.ApplicationServer
	w.ApplicationServer = &xAS{
		ServerName:      as.ServerName,
		DefaultHandling: ptr(strconv.Itoa(int(as.DefaultHandling))),
	}
	if as.ServiceInfo != "" {
		w.ApplicationServer.ServiceInfo = ptr(as.ServiceInfo)
	}
	if as.IncludeRegisterRequest || as.IncludeRegisterResponse {
		w.ApplicationServer.Extension = &xASExt{}
		if as.IncludeRegisterRequest {
			w.ApplicationServer.Extension.IncludeRegisterRequest = &struct{}{}
		}
		if as.IncludeRegisterResponse {
			w.ApplicationServer.Extension.IncludeRegisterResponse = &struct{}{}
		}
	}
	if f.ProfilePartIndicator != nil {
		w.ProfilePartIndicator = ptr(strconv.Itoa(int(*f.ProfilePartIndicator)))
	}
	return w
}

func wireSPT(s *SPT) xSPT {
	w := xSPT{ConditionNegated: ptr(xsBool(s.ConditionNegated))}
	for _, g := range s.Group {
		w.Group = append(w.Group, strconv.Itoa(g))
	}
	if s.RequestURI != "" {
		w.RequestURI = ptr(s.RequestURI)
	}
	if s.Method != "" {
		w.Method = ptr(s.Method)
	}
	if h := s.SIPHeader; h != nil {
		w.SIPHeader = &xHeader{Header: h.Header}
		if h.Content != "" {
			w.SIPHeader.Content = ptr(h.Content)
		}
	}
	if s.SessionCase != nil {
		w.SessionCase = ptr(strconv.Itoa(int(*s.SessionCase)))
	}
	if d := s.SessionDescription; d != nil {
		w.SessionDescription = &xSDP{Line: d.Line}
		if d.Content != "" {
			w.SessionDescription.Content = ptr(d.Content)
		}
	}
	if len(s.RegistrationType) > 0 {
		w.Extension = &xSPTExt{}
		for _, rt := range s.RegistrationType {
			w.Extension.RegistrationType = append(w.Extension.RegistrationType, strconv.Itoa(int(rt)))
		}
	}
	return w
}

// xsBool writes booleans as 0/1, the form of the TS 29.228 examples, which every S-CSCF reads.
func xsBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func ptr[T any](v T) *T { return &v }
