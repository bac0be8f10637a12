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
	"strings"
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
	for _, a := range avps {
		if a.Code != avp.SessionID || a.VendorID != 0 {
			m.AddAVP(a)
			continue
		}
		existing := findAVP(m, avp.SessionID)
		switch {
		case existing == nil:
			m.InsertAVP(a)
		case !reflect.DeepEqual(existing.Data, a.Data):
			return fmt.Errorf("msg: marshal %T: Session-Id %v conflicts with %v", v, a.Data, existing.Data)
		}
	}
	return nil
}

// Unmarshal decodes m's AVPs into the tagged struct v using go-diameter's Unmarshal. It never
// panics: a malformed message a peer sent is returned as an error.
func Unmarshal(m *diam.Message, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("msg: unmarshal %s into %T: panic: %v", describe(m), v, r)
		}
	}()
	if err := m.Unmarshal(v); err != nil {
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
	var out []*diam.AVP
	rt := rv.Type()
	for i := range rt.NumField() {
		sf := rt.Field(i)
		fv := rv.Field(i)
		tag, ok := sf.Tag.Lookup("avp")
		if !ok {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				avps, err := e.structAVPs(fv)
				if err != nil {
					return nil, err
				}
				out = append(out, avps...)
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		if opts == "omitempty" && fv.IsZero() {
			continue
		}
		switch sf.Type {
		case avpPtrType:
			if !fv.IsNil() {
				out = append(out, fv.Interface().(*diam.AVP))
			}
			continue
		case avpSliceType:
			out = append(out, fv.Interface().([]*diam.AVP)...)
			continue
		}
		d, err := e.dict.FindAVP(e.app, name)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", sf.Name, err)
		}
		avps, err := e.fieldAVPs(d, fv)
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", sf.Name, name, err)
		}
		out = append(out, avps...)
	}
	return out, nil
}

// fieldAVPs encodes one field: a pointer or slice expands to zero or more AVPs.
func (e encoder) fieldAVPs(d *diamdict.AVP, fv reflect.Value) ([]*diam.AVP, error) {
	switch fv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if fv.IsNil() {
			return nil, nil
		}
		return e.fieldAVPs(d, fv.Elem())
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.Uint8 { // []byte is an OctetString, not a list
			var out []*diam.AVP
			for i := range fv.Len() {
				avps, err := e.fieldAVPs(d, fv.Index(i))
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				out = append(out, avps...)
			}
			return out, nil
		}
	}
	data, err := e.data(d, fv)
	if err != nil {
		return nil, err
	}
	return []*diam.AVP{newAVP(d, data)}, nil
}

// newAVP sets the header from the dictionary: M when the spec says "must", V and the
// Vendor-Id for vendor AVPs unless the spec forbids V (go-diameter's S6a dictionary lists
// IETF AVPs such as Service-Selection with vendor-id 10415 and must-not="V").
func newAVP(d *diamdict.AVP, data datatype.Type) *diam.AVP {
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
	return diam.NewAVP(d.Code, flags, vendor, data)
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
		b, err := bytesOf(fv)
		return datatype.OctetString(b), err
	case datatype.UTF8StringType:
		b, err := bytesOf(fv)
		return datatype.UTF8String(b), err
	case datatype.DiameterIdentityType:
		b, err := bytesOf(fv)
		return datatype.DiameterIdentity(b), err
	case datatype.DiameterURIType:
		b, err := bytesOf(fv)
		return datatype.DiameterURI(b), err
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
