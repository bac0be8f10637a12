// Package diamerr builds the msg.Error values the HSS's Diameter handlers return, so that the
// Cx and S6a servers name offending AVPs the same way (RFC 6733 7.5 Failed-AVP).
package diamerr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// Experimental is a 3GPP Experimental-Result error.
func Experimental(code uint32, format string, args ...any) *msg.Error {
	return &msg.Error{Code: code, Experimental: true, Err: fmt.Errorf(format, args...)}
}

// Missing is 5005 DIAMETER_MISSING_AVP for the AVP name of application app. RFC 6733 7.5: the
// Failed-AVP holds an example of the missing AVP, its payload zero-filled.
func Missing(app uint32, name string) *msg.Error {
	return &msg.Error{Code: msg.ResultMissingAVP, FailedAVP: example(app, name, nil),
		Err: fmt.Errorf("missing %s", name)}
}

// Invalid is 5004 DIAMETER_INVALID_AVP_VALUE for the AVP name of application app carrying
// value (RFC 6733 7.5: the Failed-AVP holds the offending AVP).
func Invalid(app uint32, name string, value datatype.Type, why string) *msg.Error {
	return &msg.Error{Code: msg.ResultInvalidAVPValue, FailedAVP: example(app, name, value),
		Err: fmt.Errorf("invalid %s: %s", name, why)}
}

// example builds the AVP name with data, or a zero payload of its type when data is nil.
func example(app uint32, name string, data datatype.Type) []*diam.AVP {
	d, err := dict.Default().FindAVP(app, name)
	if err != nil {
		return nil // every name passed here is in the dictionary; a typo loses only Failed-AVP
	}
	if data == nil {
		data = zero(d.Data.Type)
	}
	var flags uint8
	if strings.Contains(d.Must, "M") {
		flags |= avp.Mbit
	}
	vendor := d.VendorID
	if strings.Contains(d.MustNot, "V") {
		vendor = 0
	}
	if vendor != 0 {
		flags |= avp.Vbit
	}
	return []*diam.AVP{diam.NewAVP(d.Code, flags, vendor, data)}
}

func zero(t datatype.TypeID) datatype.Type {
	switch t {
	case datatype.Unsigned32Type:
		return datatype.Unsigned32(0)
	case datatype.Integer32Type:
		return datatype.Integer32(0)
	case datatype.EnumeratedType:
		return datatype.Enumerated(0)
	case datatype.Unsigned64Type:
		return datatype.Unsigned64(0)
	case datatype.GroupedType:
		return &diam.GroupedAVP{}
	case datatype.UTF8StringType:
		return datatype.UTF8String("")
	case datatype.DiameterIdentityType:
		return datatype.DiameterIdentity("")
	}
	return datatype.OctetString("")
}

// Handler answers one request (the peer layer's Handler).
type Handler = func(ctx context.Context, req *diam.Message) (*diam.Message, error)

// ForRealm refuses, with 3003 DIAMETER_REALM_NOT_SERVED, a request whose Destination-Realm is
// not realm (RFC 6733 6.1.4: a server handles locally only requests for its own realm; the HSS
// relays nothing), and passes the others to h.
func ForRealm(realm string, h Handler) Handler {
	return func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		a, err := req.FindAVP(avp.DestinationRealm, 0)
		if err != nil || a == nil {
			return nil, &msg.Error{Code: msg.ResultMissingAVP, FailedAVP: example(0, "Destination-Realm", nil),
				Err: errors.New("missing Destination-Realm")}
		}
		if got, _ := a.Data.(datatype.DiameterIdentity); !strings.EqualFold(string(got), realm) {
			return nil, &msg.Error{Code: msg.ResultRealmNotServed, Err: fmt.Errorf("Destination-Realm %q is not %q", got, realm)}
		}
		return h(ctx, req)
	}
}
