package msg

import (
	"reflect"
	"strings"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam/avp"
	diamdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

// A plan is what Marshal or Unmarshal needs to know about the fields of one tagged struct
// type for one dictionary and application: the parsed tags and the dictionary entries they
// name. Working it out once per type keeps tag parsing and dictionary look-ups by name out of
// every message. Dictionaries are loaded before use (pkg/diameter/dict loads at package
// initialisation, and go-diameter forbids Load concurrently with look-ups), so an entry never
// goes stale.
type planKey struct {
	dict *diamdict.Parser
	app  uint32
	t    reflect.Type
}

var (
	encodePlans sync.Map // planKey → *encodeStruct
	decodePlans sync.Map // planKey → []decodeField
)

// encodeStruct is a struct as Marshal reads it.
type encodeStruct struct {
	fields []encodeField
	avps   int // AVPs it has when every field is one AVP: the capacity to start with
}

// encodeField is one field of a struct as Marshal reads it.
type encodeField struct {
	index     int
	embedded  *encodeStruct // untagged embedded struct: its fields are encoded in its place
	goName    string
	avpName   string
	omitempty bool
	raw       bool // *diam.AVP or []*diam.AVP, appended as they are
	d         *diamdict.AVP
	err       error // dictionary look-up failure, reported when the field is encoded
	flags     uint8
	vendor    uint32
}

func encodePlan(dict *diamdict.Parser, app uint32, t reflect.Type) *encodeStruct {
	key := planKey{dict, app, t}
	if p, ok := encodePlans.Load(key); ok {
		return p.(*encodeStruct)
	}
	s := new(encodeStruct)
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("avp")
		if !ok {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				embedded := encodePlan(dict, app, sf.Type)
				s.fields = append(s.fields, encodeField{index: i, embedded: embedded})
				s.avps += embedded.avps
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		f := encodeField{index: i, goName: sf.Name, avpName: name, omitempty: opts == "omitempty",
			raw: sf.Type == avpPtrType || sf.Type == avpSliceType}
		if !f.raw {
			f.d, f.err = dict.FindAVP(app, name)
			if f.err == nil {
				f.flags, f.vendor = avpHeader(f.d)
			}
		}
		s.fields = append(s.fields, f)
		s.avps++
	}
	p, _ := encodePlans.LoadOrStore(key, s)
	return p.(*encodeStruct)
}

// avpHeader is the header Marshal gives an AVP, from the dictionary: M when the spec says
// "must", V and the Vendor-Id for vendor AVPs unless the spec forbids V (go-diameter's S6a
// dictionary lists IETF AVPs such as Service-Selection with vendor-id 10415 and
// must-not="V").
func avpHeader(d *diamdict.AVP) (flags uint8, vendor uint32) {
	if strings.Contains(d.Must, "M") {
		flags |= avp.Mbit
	}
	vendor = d.VendorID
	if strings.Contains(d.MustNot, "V") {
		vendor = 0
	}
	if vendor != 0 {
		flags |= avp.Vbit
	}
	return flags, vendor
}

// decodeField is one field of a struct as go-diameter's Unmarshal reads it (see unmarshal.go).
type decodeField struct {
	index    int
	embedded bool // untagged embedded struct: scanned against the same AVPs
	d        *diamdict.AVP
	err      error // dictionary look-up failure, returned when the field is reached
	all      bool  // a slice or interface (through pointers): may read every matching AVP
}

func decodePlan(dict *diamdict.Parser, app uint32, t reflect.Type) []decodeField {
	key := planKey{dict, app, t}
	if p, ok := decodePlans.Load(key); ok {
		return p.([]decodeField)
	}
	var fields []decodeField
	for i := range t.NumField() {
		sf := t.Field(i)
		// The rules of go-diameter's scanStruct and parseAvpTag.
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && len(sf.Tag) == 0 {
			fields = append(fields, decodeField{index: i, embedded: true})
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("avp"), ",")
		if name == "" {
			continue
		}
		f := decodeField{index: i}
		f.d, f.err = dict.FindAVP(app, name)
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		f.all = ft.Kind() == reflect.Slice || ft.Kind() == reflect.Interface
		fields = append(fields, f)
	}
	p, _ := decodePlans.LoadOrStore(key, fields)
	return p.([]decodeField)
}
