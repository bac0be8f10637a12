package reginfo

import (
	"bytes"
	"encoding/xml"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReginfo feeds NOTIFY bodies as a peer may send them. Parse never panics; a document it
// accepts marshals and parses again; and Terminations, which skips decoding documents that
// cannot report a termination, finds exactly what a full decode finds.
func FuzzReginfo(f *testing.F) {
	for _, name := range []string{"testdata/active.xml", "testdata/terminated.xml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, terr := Terminations(body)
		r, err := Parse(body)
		if err != nil {
			return
		}
		if terr != nil {
			t.Fatalf("Parse accepts what Terminations refuses: %v", terr)
		}
		if want := r.terminations(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Terminations = %+v, full decode finds %+v", got, want)
		}
		out := r.AppendXML(nil)
		if _, err := Parse(out); err != nil {
			t.Fatalf("AppendXML output does not parse: %v\n%s", err, out)
		}
	})
}

// FuzzAppendXML encodes documents with arbitrary values. The output is what xml.Header and
// xml.Marshal give, and decodes back to the document, with each character XML does not allow
// (or byte of invalid UTF-8) read as U+FFFD, as encoding/xml writes it. Seeds are in testdata/fuzz/FuzzAppendXML.
func FuzzAppendXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, version uint32, docState, aor, regID, regState, contactID, contactState, event, callID, uri string, expires, cseq int64, optional uint8) {
		c := Contact{ID: contactID, State: contactState, Event: event, CallID: callID, URI: uri}
		if e := int(expires); optional&1 != 0 {
			c.Expires = &e
		}
		if s := int(cseq); optional&2 != 0 {
			c.CSeq = &s
		}
		in := &Reginfo{Version: version, State: docState, Registrations: []Registration{
			{AOR: aor, ID: regID, State: regState, Contacts: []Contact{c, c}},
			{AOR: uri, ID: contactID, State: docState},
		}}
		got := in.AppendXML(nil)
		want, err := xml.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if want = append([]byte(xml.Header), want...); !bytes.Equal(got, want) {
			t.Fatalf("AppendXML\n got %q\nwant %q", got, want)
		}
		var out Reginfo
		if err := xml.Unmarshal(got, &out); err != nil {
			t.Fatalf("AppendXML output does not decode: %v\n%q", err, got)
		}
		wantDoc := Reginfo{XMLName: xml.Name{Space: Namespace, Local: "reginfo"}, Version: version, State: asXML(docState)}
		c = Contact{ID: asXML(contactID), State: asXML(contactState), Event: asXML(event), CallID: asXML(callID),
			URI: asXML(uri), Expires: c.Expires, CSeq: c.CSeq}
		wantDoc.Registrations = []Registration{
			{AOR: asXML(aor), ID: asXML(regID), State: asXML(regState), Contacts: []Contact{c, c}},
			{AOR: asXML(uri), ID: asXML(contactID), State: asXML(docState)},
		}
		if !reflect.DeepEqual(out, wantDoc) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", out, wantDoc)
		}
	})
}

// asXML is s as it reads back from XML that encoding/xml wrote: characters XML 1.0 (2.2) does
// not allow, and each byte of invalid UTF-8, become U+FFFD.
func asXML(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0x09 || r == 0x0A || r == 0x0D, r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return utf8.RuneError
	}, s)
}
