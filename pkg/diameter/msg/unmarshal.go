package msg

import (
	"errors"
	"reflect"

	"github.com/fiorix/go-diameter/v4/diam"
	diamdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

// decode is go-diameter v4.3.0's Message.Unmarshal (diam/reflect.go) with each struct type's
// tags and dictionary look-ups worked out once (decodePlan), no index map built per struct,
// and strings and integers set without reflect's Convert. Its rules are kept as they are,
// quirks included, so every typed message decodes as it did with go-diameter: AVPs match by
// code alone, the first one fills a scalar, a struct field takes a grouped AVP, a time or a
// copy of the AVP, and look-up errors inside grouped AVPs are ignored.
func decode(m *diam.Message, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer {
		return errors.New("dst is not a pointer to struct")
	}
	d := decoder{dict: m.Dictionary(), app: m.Header.ApplicationID}
	return d.scanStruct(v, m.AVP)
}

type decoder struct {
	dict *diamdict.Parser
	app  uint32
}

var (
	avpType  = reflect.TypeFor[diam.AVP]()
	byteType = reflect.TypeFor[byte]()
)

func (d decoder) scanStruct(field reflect.Value, avps []*diam.AVP) error {
	base := reflect.Indirect(field)
	if base.Kind() != reflect.Struct {
		return errors.New("dst is not a pointer to struct")
	}
	for _, f := range decodePlan(d.dict, d.app, base.Type()) {
		fv := base.Field(f.index)
		if f.embedded {
			if err := d.scanStruct(fv, avps); err != nil {
				return err
			}
			continue
		}
		if f.err != nil {
			return f.err
		}
		if found := matching(avps, f.d.Code, f.all); found != nil {
			d.unmarshal(fv, found)
		}
	}
	return nil
}

// matching returns avps' AVPs with code, in order, or nil. Unless all is set only the first
// one is read, and it is returned without copying.
func matching(avps []*diam.AVP, code uint32, all bool) []*diam.AVP {
	for i, a := range avps {
		if a.Code != code {
			continue
		}
		if !all {
			return avps[i : i+1]
		}
		n := 0
		for _, b := range avps[i:] {
			if b.Code == code {
				n++
			}
		}
		found := make([]*diam.AVP, 0, n)
		for _, b := range avps[i:] {
			if b.Code == code {
				found = append(found, b)
			}
		}
		return found
	}
	return nil
}

func (d decoder) unmarshal(f reflect.Value, avps []*diam.AVP) {
	fieldType := f.Type()
	switch f.Kind() {
	case reflect.Slice:
		dv := reflect.ValueOf(avps[0].Data)
		if dv.Kind() == reflect.String && fieldType.Elem() == byteType {
			f.SetBytes([]byte(dv.String())) // a copy, as Convert makes
			break
		}
		if dv.Type().ConvertibleTo(fieldType) {
			f.Set(dv.Convert(fieldType))
			break
		}
		f.Set(reflect.MakeSlice(fieldType, len(avps), len(avps)))
		for n := range avps {
			d.unmarshal(f.Index(n), avps[n:])
		}

	case reflect.Interface, reflect.Pointer:
		if f.IsNil() {
			f.Set(reflect.New(fieldType.Elem()))
		}
		d.unmarshal(f.Elem(), avps)

	case reflect.Struct:
		if fieldType.ConvertibleTo(avpType) {
			f.Set(reflect.ValueOf(*avps[0]))
			break
		}
		// time.Time from a datatype.Time.
		if fieldType.AssignableTo(reflect.TypeOf(avps[0].Data)) {
			f.Set(reflect.ValueOf(avps[0].Data))
			break
		}
		if fieldType.ConvertibleTo(reflect.TypeOf(avps[0].Data)) {
			f.Set(reflect.ValueOf(avps[0].Data).Convert(fieldType))
			break
		}
		if group, ok := avps[0].Data.(*diam.GroupedAVP); ok {
			_ = d.scanStruct(f, group.AVP) // go-diameter ignores errors inside groups
		}

	default:
		dv := reflect.ValueOf(avps[0].Data)
		switch {
		case f.Kind() == reflect.String && dv.Kind() == reflect.String:
			f.SetString(dv.String())
		case setInteger(f, dv):
		case dv.Type().ConvertibleTo(fieldType):
			f.Set(dv.Convert(fieldType))
		}
	}
}

// setInteger is reflect's Convert and Set from one integer kind to another (the bits
// truncated or sign-extended as Go converts), without the allocation of Convert's result. It
// reports whether f and v were both integers.
func setInteger(f, v reflect.Value) bool {
	var bits uint64
	switch {
	case v.CanInt():
		bits = uint64(v.Int())
	case v.CanUint():
		bits = v.Uint()
	default:
		return false
	}
	switch {
	case f.CanInt():
		f.SetInt(int64(bits))
	case f.CanUint():
		f.SetUint(bits)
	default:
		return false
	}
	return true
}
