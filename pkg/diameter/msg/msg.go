// Package msg is the one codec every typed Diameter message (Cx, Sh, S6a) goes through:
// tagged Go structs to AVPs and back, answers with Session-Id first, and the single place
// that maps Go errors to Result-Code / Experimental-Result.
package msg

import (
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"slices"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	diamdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

// Marshal appends the AVPs of the tagged struct v to m.
//
// Tags are the ones go-diameter's Unmarshal reads: `avp:"Name"` or `avp:"Name,omitempty"`.
// Nested structs encode Grouped AVPs, slices repeat an AVP, nil pointers and nil slices are
// absent, and `omitempty` drops zero values (needed for optional AVPs whose zero value is
// legal, such as enumerations starting at 0: use a pointer for those). Fields of type
// *diam.AVP or []*diam.AVP are appended as they are. Codes, vendor, flags and data types
// come from m's dictionary for m's application.
//
// Session-Id goes first (RFC 6733 8.8). If m already has one, v's must be empty or equal.
func Marshal(m *diam.Message, v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return errors.New("msg: marshal: nil value")
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return fmt.Errorf("msg: marshal: %T is not a struct", v)
	}
	e := encoder{dict: m.Dictionary(), app: m.Header.ApplicationID}
	avps, err := e.structAVPs(rv)
	if err != nil {
		return fmt.Errorf("msg: marshal %T: %w", v, err)
	}
	// A copy of m.AVP with room for avps: one allocation, and the Session-Id insert below
	// moves AVPs only in this copy, as diam.Message.InsertAVP would.
	m.AVP = append(make([]*diam.AVP, 0, len(m.AVP)+len(avps)), m.AVP...)
	for _, a := range avps {
		if a.Code != avp.SessionID || a.VendorID != 0 {
			m.AddAVP(a)
			continue
		}
		existing := findAVP(m, avp.SessionID)
		switch {
		case existing == nil:
			m.AVP = slices.Insert(m.AVP, 0, a) // m.InsertAVP(a) without its two allocations
			m.Header.MessageLength += uint32(a.Len())
		case !reflect.DeepEqual(existing.Data, a.Data):
			return fmt.Errorf("msg: marshal %T: Session-Id %v conflicts with %v", v, a.Data, existing.Data)
		}
	}
	return nil
}

// Unmarshal decodes m's AVPs into the tagged struct v by go-diameter's Unmarshal rules (see
// decode). It never panics: a malformed message a peer sent is returned as an error.
func Unmarshal(m *diam.Message, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("msg: unmarshal %s into %T: panic: %v", describe(m), v, r)
		}
	}()
	if err := decode(m, v); err != nil {
		return fmt.Errorf("msg: unmarshal %s into %T: %w", describe(m), v, err)
	}
	return nil
}

// describe names a message for error text, e.g. "command 303 app 16777216 request".
func describe(m *diam.Message) string {
	if m == nil || m.Header == nil {
		return "<nil message>"
	}
	kind := "answer"
	if m.Header.CommandFlags&diam.RequestFlag != 0 {
		kind = "request"
	}
	return fmt.Sprintf("command %d app %d %s", m.Header.CommandCode, m.Header.ApplicationID, kind)
}

type encoder struct {
	dict *diamdict.Parser
	app  uint32
}

var (
	avpPtrType   = reflect.TypeFor[*diam.AVP]()
	avpSliceType = reflect.TypeFor[[]*diam.AVP]()
	timeType     = reflect.TypeFor[time.Time]()
)

func (e encoder) structAVPs(rv reflect.Value) ([]*diam.AVP, error) {
	s := encodePlan(e.dict, e.app, rv.Type())
	return e.appendStruct(make([]*diam.AVP, 0, s.avps), s, rv)
}

// appendStruct appends the AVPs of rv, a struct of s's type, to dst.
func (e encoder) appendStruct(dst []*diam.AVP, s *encodeStruct, rv reflect.Value) ([]*diam.AVP, error) {
	for _, f := range s.fields {
		fv := rv.Field(f.index)
		if f.embedded != nil {
			var err error
			if dst, err = e.appendStruct(dst, f.embedded, fv); err != nil {
				return nil, err
			}
			continue
		}
		if f.omitempty && fv.IsZero() {
			continue
		}
		if f.raw {
			switch a := fv.Interface().(type) {
			case *diam.AVP:
				if a != nil {
					dst = append(dst, a)
				}
			case []*diam.AVP:
				dst = append(dst, a...)
			}
			continue
		}
		if f.err != nil {
			return nil, fmt.Errorf("field %s: %w", f.goName, f.err)
		}
		var err error
		if dst, err = e.appendField(dst, &f, fv); err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", f.goName, f.avpName, err)
		}
	}
	return dst, nil
}

// appendField appends the AVPs of one field: a pointer or slice expands to zero or more.
func (e encoder) appendField(dst []*diam.AVP, f *encodeField, fv reflect.Value) ([]*diam.AVP, error) {
	switch fv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if fv.IsNil() {
			return dst, nil
		}
		return e.appendField(dst, f, fv.Elem())
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.Uint8 { // []byte is an OctetString, not a list
			for i := range fv.Len() {
				var err error
				if dst, err = e.appendField(dst, f, fv.Index(i)); err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return dst, nil
		}
	}
	data, err := e.data(f.d, fv)
	if err != nil {
		return nil, err
	}
	return append(dst, diam.NewAVP(f.d.Code, f.flags, f.vendor, data)), nil
}

func (e encoder) data(d *diamdict.AVP, fv reflect.Value) (datatype.Type, error) {
	if d.Data.Type == datatype.GroupedType {
		if fv.Kind() != reflect.Struct {
			return nil, fmt.Errorf("grouped AVP needs a struct, have %s", fv.Type())
		}
		avps, err := e.structAVPs(fv)
		if err != nil {
			return nil, err
		}
		return &diam.GroupedAVP{AVP: avps}, nil
	}
	switch d.Data.Type {
	case datatype.OctetStringType:
		str, err := stringOf(fv)
		return datatype.OctetString(str), err
	case datatype.UTF8StringType:
		str, err := stringOf(fv)
		return datatype.UTF8String(str), err
	case datatype.DiameterIdentityType:
		str, err := stringOf(fv)
		return datatype.DiameterIdentity(str), err
	case datatype.DiameterURIType:
		str, err := stringOf(fv)
		return datatype.DiameterURI(str), err
	case datatype.Unsigned32Type:
		n, err := unsignedOf(fv, math.MaxUint32)
		return datatype.Unsigned32(n), err
	case datatype.Unsigned64Type:
		n, err := unsignedOf(fv, math.MaxUint64)
		return datatype.Unsigned64(n), err
	case datatype.Integer32Type:
		n, err := signedOf(fv, math.MinInt32, math.MaxInt32)
		return datatype.Integer32(n), err
	case datatype.EnumeratedType:
		n, err := signedOf(fv, math.MinInt32, math.MaxInt32)
		return datatype.Enumerated(n), err
	case datatype.Integer64Type:
		n, err := signedOf(fv, math.MinInt64, math.MaxInt64)
		return datatype.Integer64(n), err
	case datatype.Float32Type:
		if !fv.CanFloat() {
			return nil, fmt.Errorf("Float32 AVP needs a float, have %s", fv.Type())
		}
		return datatype.Float32(fv.Float()), nil
	case datatype.Float64Type:
		if !fv.CanFloat() {
			return nil, fmt.Errorf("Float64 AVP needs a float, have %s", fv.Type())
		}
		return datatype.Float64(fv.Float()), nil
	case datatype.TimeType:
		if !fv.Type().ConvertibleTo(timeType) {
			return nil, fmt.Errorf("Time AVP needs time.Time, have %s", fv.Type())
		}
		return datatype.Time(fv.Convert(timeType).Interface().(time.Time)), nil
	case datatype.AddressType:
		b, err := bytesOf(fv)
		if err != nil {
			return nil, err
		}
		if ip := net.IP(b); len(b) == net.IPv4len || len(b) == net.IPv6len {
			return datatype.Address(ip), nil
		}
		return nil, fmt.Errorf("Address AVP needs a 4 or 16 byte IP, have %d bytes", len(b))
	}
	return nil, fmt.Errorf("data type %s is not supported", d.Data.TypeName)
}

// stringOf is the value of a string-based datatype (OctetString, UTF8String, ...): a string
// as it is, a []byte copied.
func stringOf(fv reflect.Value) (string, error) {
	switch {
	case fv.Kind() == reflect.String:
		return fv.String(), nil
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
		return string(fv.Bytes()), nil
	}
	return "", fmt.Errorf("needs string or []byte, have %s", fv.Type())
}

func bytesOf(fv reflect.Value) ([]byte, error) {
	switch {
	case fv.Kind() == reflect.String:
		return []byte(fv.String()), nil
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
		return fv.Bytes(), nil
	}
	return nil, fmt.Errorf("needs string or []byte, have %s", fv.Type())
}

func unsignedOf(fv reflect.Value, limit uint64) (uint64, error) {
	switch {
	case fv.CanUint():
		if n := fv.Uint(); n <= limit {
			return n, nil
		}
	case fv.CanInt():
		if n := fv.Int(); n >= 0 && uint64(n) <= limit {
			return uint64(n), nil
		}
	default:
		return 0, fmt.Errorf("needs an integer, have %s", fv.Type())
	}
	return 0, fmt.Errorf("value %v out of range", fv.Interface())
}

func signedOf(fv reflect.Value, lo, hi int64) (int64, error) {
	switch {
	case fv.CanInt():
		if n := fv.Int(); n >= lo && n <= hi {
			return n, nil
		}
	case fv.CanUint():
		if n := fv.Uint(); n <= uint64(hi) {
			return int64(n), nil
		}
	default:
		return 0, fmt.Errorf("needs an integer, have %s", fv.Type())
	}
	return 0, fmt.Errorf("value %v out of range", fv.Interface())
}
