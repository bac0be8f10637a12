// Package msgtest holds what the Diameter message tests share: annotated hex files, sample
// values for every AVP a typed struct uses, golden messages and the Wireshark check.
package msgtest

import (
	"bytes"
	"encoding/hex"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

var update = flag.Bool("update", false, "rewrite golden testdata/messages/*.hex files")

// ReadHex loads a hex file: whitespace and "#" comments are ignored.
func ReadHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var clean strings.Builder
	for line := range strings.Lines(string(raw)) {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// SampleTime is the value Fill gives Time AVPs: NTP seconds f487d3a5.
var SampleTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	avpPtrType = reflect.TypeFor[*diam.AVP]()
	timeType   = reflect.TypeFor[time.Time]()
	ipType     = reflect.TypeFor[net.IP]()
)

// AVPFields returns, for every AVP tag found in the given structs (embedded headers and
// grouped members included), the Go type of its field. Raw *diam.AVP fields are skipped.
func AVPFields(structs ...any) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup("avp")
			if !ok {
				if f.Anonymous {
					walk(f.Type)
				}
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Type == avpPtrType {
				continue
			}
			if _, seen := out[name]; seen {
				continue
			}
			out[name] = f.Type
			if e := elem(f.Type); e.Kind() == reflect.Struct && e != timeType {
				walk(e)
			}
		}
	}
	for _, s := range structs {
		walk(reflect.TypeOf(s).Elem())
	}
	return out
}

// elem strips pointers and (non-byte) slices.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && t != ipType && t.Elem().Kind() != reflect.Uint8) {
		t = t.Elem()
	}
	return t
}

// Fill returns a value of type t for AVP name with every field set, by fixed rules the
// testdata hex follows: strings and octets are the lower-case AVP name, Enumerated is 1,
// other integers are the AVP code, Time is SampleTime, addresses are 127.0.0.1, pointers
// are set and lists have one element.
func Fill(t testing.TB, app uint32, name string, typ reflect.Type) reflect.Value {
	t.Helper()
	d, err := dict.Default().FindAVP(app, name)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.New(typ).Elem()
	switch {
	case typ == timeType:
		v.Set(reflect.ValueOf(SampleTime))
	case typ == ipType:
		v.Set(reflect.ValueOf(net.IPv4(127, 0, 0, 1).To4()))
	case typ.Kind() == reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
		v.Elem().Set(Fill(t, app, name, typ.Elem()))
	case typ.Kind() == reflect.String:
		v.SetString(strings.ToLower(name))
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
		v.SetBytes([]byte(strings.ToLower(name)))
	case typ.Kind() == reflect.Slice:
		v.Set(reflect.Append(v, Fill(t, app, name, typ.Elem())))
	case typ.Kind() == reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			member, _, _ := strings.Cut(f.Tag.Get("avp"), ",")
			if member == "" || f.Type == avpPtrType {
				continue
			}
			v.Field(i).Set(Fill(t, app, member, f.Type))
		}
	case d.Data.Type == datatype.EnumeratedType:
		v.SetInt(1)
	case v.CanUint():
		v.SetUint(uint64(d.Code))
	case v.CanInt():
		v.SetInt(int64(d.Code))
	default:
		t.Fatalf("%s: no sample for %s", name, typ)
	}
	return v
}

// CheckAVPs encodes a sample of every AVP the structs use, as a message of application app
// would carry it, and compares it with dir/<AVP-Name>.hex (hand-checkable: code, flags,
// length, Vendor-Id, data, padding). An AVP without a file, or a file without an AVP, fails
// the test.
func CheckAVPs(t *testing.T, app uint32, dir string, structs ...any) {
	fields := AVPFields(structs...)
	files, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, used := fields[strings.TrimSuffix(filepath.Base(f), ".hex")]; !used {
			t.Errorf("%s: no message uses this AVP", f)
		}
	}
	for name, typ := range fields {
		t.Run(name, func(t *testing.T) {
			typ := elem(typ) // one AVP, not a list or an optional
			field := reflect.StructField{Name: "F", Type: typ, Tag: reflect.StructTag(`avp:"` + name + `"`)}
			holder := reflect.New(reflect.StructOf([]reflect.StructField{field}))
			holder.Elem().Field(0).Set(Fill(t, app, name, typ))
			m := diam.NewRequest(0, app, dict.Default())
			if err := msg.Marshal(m, holder.Interface()); err != nil {
				t.Fatal(err)
			}
			b, err := m.Serialize()
			if err != nil {
				t.Fatal(err)
			}
			got, want := b[diam.HeaderLength:], ReadHex(t, filepath.Join(dir, name+".hex"))
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
			}
		})
	}
}

// Golden compares the encoding of m with testdata/messages/<name>.hex, or rewrites that file
// when the tests run with -update. It returns the encoding.
func Golden(t testing.TB, name string, m *diam.Message) []byte {
	t.Helper()
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "messages", name+".hex")
	if *update {
		var s strings.Builder
		s.WriteString("# " + name + ": written by go test -update; checked by the round trip and tshark tests\n")
		for rest := b; len(rest) > 0; rest = rest[min(16, len(rest)):] {
			s.WriteString(hex.EncodeToString(rest[:min(16, len(rest))]) + "\n")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := ReadHex(t, path); !bytes.Equal(b, want) {
		t.Fatalf("%s differs from %s\n got %x\nwant %x", name, path, b, want)
	}
	return b
}

// RoundTrip decodes the encoding b with dict.Default() and unmarshals it into a new value of
// want's type, which must then equal want (times in want are UTC; go-diameter decodes them
// in the local zone).
func RoundTrip(t testing.TB, b []byte, want any) {
	t.Helper()
	m, err := diam.ReadMessage(bytes.NewReader(b), dict.Default())
	if err != nil {
		t.Fatal(err)
	}
	got := reflect.New(reflect.TypeOf(want).Elem())
	if err := msg.Unmarshal(m, got.Interface()); err != nil {
		t.Fatal(err)
	}
	utc(got)
	if !reflect.DeepEqual(got.Interface(), want) {
		t.Fatalf("round trip differs\n got %+v\nwant %+v", got.Elem().Interface(), reflect.ValueOf(want).Elem().Interface())
	}
}

// MustSerialize is m.Serialize failing the test on error.
func MustSerialize(t testing.TB, m *diam.Message) []byte {
	t.Helper()
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// utc rewrites every time.Time reachable from v in UTC.
func utc(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			utc(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			utc(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if !v.Interface().(time.Time).IsZero() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				utc(v.Field(i))
			}
		}
	}
}
