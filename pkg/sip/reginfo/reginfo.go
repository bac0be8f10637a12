// Package reginfo is the registration state document of the reg event package (RFC 3680 5,
// application/reginfo+xml) that the S-CSCF sends to UEs and P-CSCFs (TS 24.229 5.4.2.1.2) and
// they read to learn which registrations ended.
package reginfo

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

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
	return out, nil
}

// Marshal encodes r with the XML declaration.
func (r *Reginfo) Marshal() ([]byte, error) {
	b, err := xml.MarshalIndent(r, "", " ")
	if err != nil {
		return nil, fmt.Errorf("reginfo: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}
