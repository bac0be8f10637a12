// Package reginfo is the registration state document of the reg event package (RFC 3680 5,
// application/reginfo+xml) that the S-CSCF sends to UEs and P-CSCFs (TS 24.229 5.4.2.1.2) and
// they read to learn which registrations ended.
package reginfo

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// EventPackage is the name of the reg event package in Event headers (RFC 3680 3.1).
const EventPackage = "reg"

// ContentType is the body type of a reg event NOTIFY (RFC 3680 5.1).
const ContentType = "application/reginfo+xml"

// Namespace is the reginfo XML namespace (RFC 3680 5.4).
const Namespace = "urn:ietf:params:xml:ns:reginfo"

// Document states (RFC 3680 5.3).
const (
	StateFull    = "full"
	StatePartial = "partial"
)

// Registration and contact states (RFC 3680 5.3).
const (
	StateInit       = "init"
	StateActive     = "active"
	StateTerminated = "terminated"
)

// Contact events (RFC 3680 5.3): why a contact changed state.
const (
	EventRegistered   = "registered"
	EventCreated      = "created"
	EventRefreshed    = "refreshed"
	EventShortened    = "shortened"
	EventExpired      = "expired"
	EventDeactivated  = "deactivated"
	EventProbation    = "probation"
	EventUnregistered = "unregistered"
	EventRejected     = "rejected"
)

// Reginfo is the <reginfo> document.
type Reginfo struct {
	XMLName       xml.Name       `xml:"urn:ietf:params:xml:ns:reginfo reginfo"`
	Version       uint32         `xml:"version,attr"`
	State         string         `xml:"state,attr"`
	Registrations []Registration `xml:"registration"`
}

// Registration is the state of one address-of-record (a public user identity).
type Registration struct {
	AOR      string    `xml:"aor,attr"`
	ID       string    `xml:"id,attr"`
	State    string    `xml:"state,attr"`
	Contacts []Contact `xml:"contact"`
}

// Contact is one contact of a registration.
type Contact struct {
	ID      string `xml:"id,attr"`
	State   string `xml:"state,attr"`
	Event   string `xml:"event,attr"`
	Expires *int   `xml:"expires,attr,omitempty"`
	CallID  string `xml:"callid,attr,omitempty"`
	CSeq    *int   `xml:"cseq,attr,omitempty"`
	URI     string `xml:"uri"`
}

// Parse decodes a reginfo document; elements it does not know are skipped (RFC 3680 5.4 is
// extensible, TS 24.229 adds gr and unknown-param elements).
func Parse(body []byte) (*Reginfo, error) {
	var r Reginfo
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("reginfo: %w", err)
	}
	switch r.State {
	case StateFull, StatePartial:
	default:
		return nil, fmt.Errorf("reginfo: document state %q, want full or partial", r.State)
	}
	for _, reg := range r.Registrations {
		if reg.AOR == "" {
			return nil, fmt.Errorf("reginfo: registration %q without aor", reg.ID)
		}
	}
	return &r, nil
}

// Termination is a registration, or one contact of it, that a document reports terminated.
type Termination struct {
	AOR string
	// Contact is the URI of the terminated contact; empty when the whole registration is.
	Contact string
}

// Terminations returns what body reports terminated (RFC 3680 5.3), for a subscriber that acts
// on nothing else: the P-CSCF (TS 24.229 5.2.5). Most documents it gets report registrations
// made or refreshed; one in which no state can be "terminated" is neither decoded nor checked.
// The word can be spelt otherwise only with a character reference (&#...;), so such a document
// is decoded.
func Terminations(body []byte) ([]Termination, error) {
	if !bytes.Contains(body, []byte(StateTerminated)) && !bytes.Contains(body, []byte("&#")) {
		return nil, nil
	}
	r, err := Parse(body)
	if err != nil {
		return nil, err
	}
	return r.terminations(), nil
}

// terminations lists what r reports terminated: a whole registration, or each contact of it.
func (r *Reginfo) terminations() []Termination {
	var out []Termination
	for _, reg := range r.Registrations {
		if reg.State == StateTerminated {
			out = append(out, Termination{AOR: reg.AOR})
			continue
		}
		for _, c := range reg.Contacts {
			if c.State == StateTerminated {
				out = append(out, Termination{AOR: reg.AOR, Contact: strings.TrimSpace(c.URI)})
			}
		}
	}
	return out
}

// AppendXML appends r with the XML declaration to dst, byte for byte what xml.Header followed
// by xml.Marshal(r) gives: unindented, elements and attributes in field order, values escaped
// alike. The S-CSCF builds a document for every registration's NOTIFY (TS 24.229 5.4.2.1.2),
// where encoding/xml's reflection was a noticeable share of its CPU.
func (r *Reginfo) AppendXML(dst []byte) []byte {
	dst = append(dst, xml.Header...)
	dst = append(dst, `<reginfo xmlns="`+Namespace+`"`...)
	dst = appendIntAttr(dst, "version", int64(r.Version))
	dst = appendAttr(dst, "state", r.State)
	dst = append(dst, '>')
	for _, reg := range r.Registrations {
		dst = append(dst, "<registration"...)
		dst = appendAttr(dst, "aor", reg.AOR)
		dst = appendAttr(dst, "id", reg.ID)
		dst = appendAttr(dst, "state", reg.State)
		dst = append(dst, '>')
		for _, c := range reg.Contacts {
			dst = append(dst, "<contact"...)
			dst = appendAttr(dst, "id", c.ID)
			dst = appendAttr(dst, "state", c.State)
			dst = appendAttr(dst, "event", c.Event)
			// The optional attributes are omitted as their omitempty tags make encoding/xml do.
			if c.Expires != nil {
				dst = appendIntAttr(dst, "expires", int64(*c.Expires))
			}
			if c.CallID != "" {
				dst = appendAttr(dst, "callid", c.CallID)
			}
			if c.CSeq != nil {
				dst = appendIntAttr(dst, "cseq", int64(*c.CSeq))
			}
			dst = append(dst, "><uri>"...)
			dst = appendEscaped(dst, c.URI)
			dst = append(dst, "</uri></contact>"...)
		}
		dst = append(dst, "</registration>"...)
	}
	return append(dst, "</reginfo>"...)
}

// appendAttr appends ` name="value"`.
func appendAttr(dst []byte, name, value string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = appendEscaped(dst, value)
	return append(dst, '"')
}

// appendIntAttr appends ` name="v"`.
func appendIntAttr(dst []byte, name string, v int64) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, '"')
}

// appendEscaped appends s escaped as encoding/xml escapes attribute values and text. The values
// of a reginfo document are URIs and tokens, printable ASCII that needs no escaping; from the
// first byte that may need it on, xml.EscapeText does the work, so the rules stay its own.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' || c > '~', c == '"', c == '\'', c == '&', c == '<', c == '>':
			w := appender(append(dst, s[:i]...))
			_ = xml.EscapeText(&w, []byte(s[i:])) // appender.Write never fails
			return w
		}
	}
	return append(dst, s...)
}

// appender is an io.Writer that appends to a byte slice.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}
