package msg

import "github.com/fiorix/go-diameter/v4/diam"

// RequestHeader is the part every Cx, Sh and S6a request starts with (TS 29.229 6.1,
// TS 29.329 6.1, TS 29.272 7.2). Typed requests embed it. NewRequest adds
// Vendor-Specific-Application-Id and Auth-Session-State when they are left nil.
type RequestHeader struct {
	SessionID                   string                       `avp:"Session-Id"`
	VendorSpecificApplicationID *VendorSpecificApplicationID `avp:"Vendor-Specific-Application-Id"`
	AuthSessionState            *int32                       `avp:"Auth-Session-State"`
	OriginHost                  string                       `avp:"Origin-Host"`
	OriginRealm                 string                       `avp:"Origin-Realm"`
	DestinationHost             string                       `avp:"Destination-Host,omitempty"`
	DestinationRealm            string                       `avp:"Destination-Realm"`
}

// AnswerHeader is the part every Cx, Sh and S6a answer starts with. Typed answers embed it:
// Unmarshal fills it, and AnswerFor writes it from the request, our Identity and the result
// set here, so a handler only sets ResultCode or ExperimentalResult (or neither for success).
type AnswerHeader struct {
	SessionID                   string                       `avp:"Session-Id,omitempty"`
	VendorSpecificApplicationID *VendorSpecificApplicationID `avp:"Vendor-Specific-Application-Id"`
	ResultCode                  uint32                       `avp:"Result-Code,omitempty"`
	ExperimentalResult          *ExperimentalResult          `avp:"Experimental-Result"`
	AuthSessionState            *int32                       `avp:"Auth-Session-State"`
	OriginHost                  string                       `avp:"Origin-Host,omitempty"`
	OriginRealm                 string                       `avp:"Origin-Realm,omitempty"`
	FailedAVP                   *diam.AVP                    `avp:"Failed-AVP"`
}

// Header returns h; through embedding it makes every typed answer an Answer.
func (h *AnswerHeader) Header() *AnswerHeader { return h }

// Result is the answer's outcome: the Experimental-Result-Code (experimental true) when
// present, else the Result-Code.
func (h *AnswerHeader) Result() (code uint32, experimental bool) {
	if h.ExperimentalResult != nil {
		return h.ExperimentalResult.Code, true
	}
	return h.ResultCode, false
}

// Answer is a typed answer: a struct embedding AnswerHeader.
type Answer interface{ Header() *AnswerHeader }

// VendorSpecificApplicationID is the Vendor-Specific-Application-Id grouped AVP (RFC 6733 6.11).
type VendorSpecificApplicationID struct {
	VendorID          uint32 `avp:"Vendor-Id"`
	AuthApplicationID uint32 `avp:"Auth-Application-Id,omitempty"`
	AcctApplicationID uint32 `avp:"Acct-Application-Id,omitempty"`
}

// ExperimentalResult is the Experimental-Result grouped AVP (RFC 6733 7.6).
type ExperimentalResult struct {
	VendorID uint32 `avp:"Vendor-Id"`
	Code     uint32 `avp:"Experimental-Result-Code"`
}

// SupportedFeatures is the Supported-Features grouped AVP (TS 29.229 6.3.29), used by Cx,
// Sh and S6a to negotiate optional features (TS 29.229 7.2).
type SupportedFeatures struct {
	VendorID      uint32 `avp:"Vendor-Id"`
	FeatureListID uint32 `avp:"Feature-List-ID"`
	FeatureList   uint32 `avp:"Feature-List"`
}
