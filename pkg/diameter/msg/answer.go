package msg

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
)

// Identity is who we are on the wire: Origin-Host and Origin-Realm of what we send.
type Identity struct{ Host, Realm string }

// NewAnswer builds the answer to req with a plain Result-Code (RFC 6733 7.1).
//
// The answer keeps req's application, command, Hop-by-Hop and End-to-End ids and P bit. It
// carries Session-Id first; Vendor-Specific-Application-Id and Auth-Session-State copied from
// req (for Cx, Sh and S6a the defaults NewRequest uses when req lacks them: TS 29.229 6.1,
// TS 29.329 6.1 and TS 29.272 7.2 answers need both); Origin-Host, Origin-Realm, the result,
// and req's Proxy-Info AVPs (RFC 6733 6.2). A 3xxx code sets the E bit and uses the
// RFC 6733 7.2 error answer format instead. Typed answer bodies are added with Marshal.
func NewAnswer(req *diam.Message, id Identity, code uint32) *diam.Message {
	return answer(req, id, code, false)
}

// NewExperimentalAnswer is NewAnswer with a 3GPP Experimental-Result (Vendor-Id 10415) in
// place of Result-Code, as TS 29.229 6.2.2, TS 29.329 6.2.2 and TS 29.272 7.4.3 require for
// their application-specific codes.
func NewExperimentalAnswer(req *diam.Message, id Identity, code uint32) *diam.Message {
	return answer(req, id, code, true)
}

func answer(req *diam.Message, id Identity, code uint32, experimental bool) *diam.Message {
	protocolErr := !experimental && IsProtocolError(code)
	flags := req.Header.CommandFlags & diam.ProxiableFlag
	if protocolErr {
		flags |= diam.ErrorFlag
	}
	a := diam.NewMessage(req.Header.CommandCode, flags, req.Header.ApplicationID,
		req.Header.HopByHopID, req.Header.EndToEndID, req.Dictionary())
	if s := findAVP(req, avp.SessionID); s != nil {
		a.AddAVP(copyAVP(s))
	}
	if !protocolErr {
		for _, code := range []uint32{avp.VendorSpecificApplicationID, avp.AuthSessionState} {
			if r := findAVP(req, code); r != nil {
				a.AddAVP(copyAVP(r))
			} else if d := threeGPPDefault(req.Header.ApplicationID, code); d != nil {
				a.AddAVP(d)
			}
		}
	}
	a.AddAVP(diam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(id.Host)))
	a.AddAVP(diam.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(id.Realm)))
	if experimental {
		a.AddAVP(experimentalResultAVP(code))
	} else {
		a.AddAVP(diam.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(code)))
	}
	for _, r := range req.AVP {
		if r.Code == avp.ProxyInfo && r.VendorID == 0 {
			a.AddAVP(copyAVP(r))
		}
	}
	return a
}

// experimentalResultAVP builds an Experimental-Result AVP (RFC 6733 7.6) for a 3GPP code.
func experimentalResultAVP(code uint32) *diam.AVP {
	return diam.NewAVP(avp.ExperimentalResult, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(dict.Vendor3GPP)),
		diam.NewAVP(avp.ExperimentalResultCode, avp.Mbit, 0, datatype.Unsigned32(code)),
	}})
}

func copyAVP(a *diam.AVP) *diam.AVP { return diam.NewAVP(a.Code, a.Flags, a.VendorID, a.Data) }

// Error is a Diameter protocol or application error a handler returns. ErrorAnswer turns it
// into the answer; nothing else maps errors to result codes.
type Error struct {
	Code         uint32      // Result-Code, or 3GPP Experimental-Result-Code when Experimental
	Experimental bool        // send Code in Experimental-Result with Vendor-Id 10415
	FailedAVP    []*diam.AVP // offending AVPs, sent in Failed-AVP (RFC 6733 7.5)
	Err          error       // cause, for logs; never sent to the peer
}

func (e *Error) Error() string {
	kind := "Result-Code"
	if e.Experimental {
		kind = "Experimental-Result-Code"
	}
	if e.Err == nil {
		return fmt.Sprintf("diameter %s %d", kind, e.Code)
	}
	return fmt.Sprintf("diameter %s %d: %v", kind, e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorAnswer builds the answer to req for err: an *Error anywhere in err's chain gives its
// code (Experimental-Result when Experimental, E bit for 3xxx protocol errors, Failed-AVP
// when set); any other error, nil included, gives 5012 DIAMETER_UNABLE_TO_COMPLY.
func ErrorAnswer(req *diam.Message, id Identity, err error) *diam.Message {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		return answer(req, id, ResultUnableToComply, false)
	}
	a := answer(req, id, e.Code, e.Experimental)
	if len(e.FailedAVP) > 0 {
		failed := make([]*diam.AVP, len(e.FailedAVP))
		copy(failed, e.FailedAVP)
		a.AddAVP(diam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &diam.GroupedAVP{AVP: failed}))
	}
	return a
}

// AnswerFor answers req with the typed answer a (a struct embedding AnswerHeader). The
// header says how it went: Experimental-Result when set, else Result-Code, else 2001
// DIAMETER_SUCCESS; its other fields come from req and id as in NewAnswer, and its Failed-AVP
// is kept. The rest of a is marshalled after them.
func AnswerFor(req *diam.Message, id Identity, a Answer) (*diam.Message, error) {
	h := *a.Header()
	var m *diam.Message
	switch {
	case h.ExperimentalResult != nil:
		m = answer(req, id, h.ExperimentalResult.Code, true)
	case h.ResultCode != 0:
		m = answer(req, id, h.ResultCode, false)
	default:
		m = answer(req, id, ResultSuccess, false)
	}
	if h.FailedAVP != nil {
		m.AddAVP(h.FailedAVP)
	}
	// Marshal a copy whose header is zero, so nothing NewAnswer wrote is repeated.
	body := reflect.New(reflect.TypeOf(a).Elem())
	body.Elem().Set(reflect.ValueOf(a).Elem())
	*body.Interface().(Answer).Header() = AnswerHeader{}
	if err := Marshal(m, body.Interface()); err != nil {
		return nil, err
	}
	return m, nil
}
