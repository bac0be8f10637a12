package reginfo

import (
	"bytes"
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	body, err := os.ReadFile("testdata/terminated.xml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 3 || r.State != StateFull || len(r.Registrations) != 2 {
		t.Fatalf("got %+v", r)
	}
	reg := r.Registrations[0]
	if reg.State != StateTerminated || reg.AOR != "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org" {
		t.Errorf("registration %+v", reg)
	}
	c := reg.Contacts[0]
	if c.State != StateTerminated || c.Event != EventDeactivated || c.URI != "sip:001010000000001@192.0.2.10:5060" || c.Expires == nil || *c.Expires != 0 {
		t.Errorf("contact %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not xml", "<reginfo", "reginfo:"},
		{"wrong namespace", `<reginfo xmlns="urn:x" version="0" state="full"/>`, "reginfo:"},
		{"bad state", `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="half"/>`, "document state"},
		{"no aor", `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full"><registration id="a" state="active"/></reginfo>`, "without aor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.body)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	exp := 600
	in := &Reginfo{Version: 1, State: StatePartial, Registrations: []Registration{{
		AOR: "sip:a@example.org", ID: "r1", State: StateActive,
		Contacts: []Contact{{ID: "c1", State: StateActive, Event: EventRegistered, Expires: &exp, URI: "sip:a@192.0.2.1"}},
	}}}
	b := in.AppendXML(nil)
	if !strings.HasPrefix(string(b), "<?xml") || !strings.Contains(string(b), `xmlns="urn:ietf:params:xml:ns:reginfo"`) {
		t.Errorf("document %s", b)
	}
	out, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if c := out.Registrations[0].Contacts[0]; c.URI != "sip:a@192.0.2.1" || *c.Expires != 600 {
		t.Errorf("round trip gave %+v", c)
	}
}

func TestTerminations(t *testing.T) {
	active, err := os.ReadFile("testdata/active.xml")
	if err != nil {
		t.Fatal(err)
	}
	terminated, err := os.ReadFile("testdata/terminated.xml")
	if err != nil {
		t.Fatal(err)
	}
	const ns = `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="1" state="full">`
	tests := []struct {
		name string
		body string
		want []Termination
		err  bool
	}{
		{name: "all active", body: string(active)},
		{name: "empty body", body: ""},
		{name: "registration terminated", body: string(terminated),
			want: []Termination{{AOR: "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org"}}},
		{name: "one contact terminated", body: ns + `<registration aor="sip:a@example.org" id="r" state="active">` +
			`<contact id="1" state="active" event="registered"><uri>sip:a@192.0.2.1</uri></contact>` +
			`<contact id="2" state="terminated" event="expired"><uri> sip:a@192.0.2.2 </uri></contact></registration></reginfo>`,
			want: []Termination{{AOR: "sip:a@example.org", Contact: "sip:a@192.0.2.2"}}},
		{name: "state spelt with character references", body: ns + `<registration aor="sip:a@example.org" id="r" state="&#116;erminated"/></reginfo>`,
			want: []Termination{{AOR: "sip:a@example.org"}}},
		{name: "bad document reporting a termination", body: `<reginfo state="terminated"`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Terminations([]byte(tt.body))
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("Terminations = %+v, %v; want %+v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// BenchmarkNotify is the P-CSCF's work on the body of a reg-event NOTIFY: decoding it whole
// (Parse, what it did before) or only for what it acts on (Terminations), for the NOTIFY it
// gets after each registration (active) and the one after a de-registration (terminated).
func BenchmarkNotify(b *testing.B) {
	for _, doc := range []string{"active", "terminated"} {
		body, err := os.ReadFile("testdata/" + doc + ".xml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(doc+"/Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(doc+"/Terminations", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Terminations(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAppendXML checks AppendXML against what it replaces, xml.Header and xml.Marshal, byte for
// byte, and that it appends to what dst holds.
func TestAppendXML(t *testing.T) {
	zero, exp, cseq := 0, 3600, 7
	tests := []struct {
		name string
		doc  Reginfo
	}{
		{"no registrations", Reginfo{Version: 0, State: StateFull}},
		{"registration without contacts", Reginfo{Version: 4294967295, State: StatePartial,
			Registrations: []Registration{{AOR: "sip:a@example.org", ID: "r1", State: StateTerminated}}}},
		{"empty values", Reginfo{Registrations: []Registration{{Contacts: []Contact{{}}}}}},
		{"optional attributes", Reginfo{Version: 2, State: StateFull, Registrations: []Registration{{
			AOR: "sip:a@example.org", ID: "r1", State: StateActive, Contacts: []Contact{
				{ID: "c1", State: StateActive, Event: EventRegistered, Expires: &exp, CallID: "abc@192.0.2.1", CSeq: &cseq, URI: "sip:a@192.0.2.1"},
				{ID: "c2", State: StateTerminated, Event: EventExpired, Expires: &zero, URI: "sip:a@192.0.2.2"},
				{ID: "c3", State: StateActive, Event: EventCreated, CSeq: &zero, URI: "sip:a@192.0.2.3"},
				{ID: "c4", State: StateActive, Event: EventRefreshed, CallID: "x", URI: "sip:a@192.0.2.4"},
			}}}}},
		{"implicit set", Reginfo{Version: 1, State: StateFull, Registrations: []Registration{
			{AOR: "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org", ID: "1a", State: StateActive, Contacts: []Contact{
				{ID: "c1", State: StateActive, Event: EventRegistered, Expires: &exp, URI: "sip:001010000000001@192.0.2.10:5060;transport=udp"},
				{ID: "c2", State: StateTerminated, Event: EventUnregistered, URI: "sip:001010000000001@[2001:db8::1]:5060"},
			}},
			{AOR: "tel:+15550001", ID: "2b", State: StateActive},
		}}},
		{"escaped", Reginfo{Version: 1, State: `"full"`, Registrations: []Registration{{
			AOR: `sip:a&b@example.org;p="<x>"`, ID: "it's", State: "a>b", Contacts: []Contact{{
				ID: "\t\n\r", State: "&amp;", Event: "<", CallID: `'"`, URI: "<sip:a@example.org?h=a&b>",
			}}}}}},
		{"non-ASCII", Reginfo{Version: 1, State: StateFull, Registrations: []Registration{{
			AOR: "sip:jürgen@exämple.org", ID: "日本", State: StateActive, Contacts: []Contact{{
				ID: "😀", State: StateActive, Event: EventRegistered, URI: "sip:\u00e9\u200b\ufffd@example.org",
			}}}}}},
		{"not allowed in XML", Reginfo{Version: 1, State: "\x00\x1f\x7f", Registrations: []Registration{{
			AOR: "sip:a\xff\xfe@example.org", ID: "\xed\xa0\x80", State: "\uffff", Contacts: []Contact{{
				ID: "\xe6\x97", State: "a\x01b", Event: "\x0b\x0c", URI: "sip:\xc3(@example.org\x00",
			}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := xml.Marshal(&tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			want = append([]byte(xml.Header), want...)
			if got := tt.doc.AppendXML(nil); !bytes.Equal(got, want) {
				t.Errorf("AppendXML\n got %q\nwant %q", got, want)
			}
			if got := tt.doc.AppendXML([]byte("prefix")); string(got) != "prefix"+string(want) {
				t.Errorf("AppendXML after a prefix gives %q", got)
			}
		})
	}
}

// BenchmarkAppendXML is the S-CSCF's work on the body of the NOTIFY it sends after each
// registration: a registration with an implicit set of two identities and one contact.
func BenchmarkAppendXML(b *testing.B) {
	body, err := os.ReadFile("testdata/active.xml")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("xml.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := xml.Marshal(doc)
			if err != nil {
				b.Fatal(err)
			}
			_ = append([]byte(xml.Header), out...)
		}
	})
	b.Run("AppendXML", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = doc.AppendXML(make([]byte, 0, 1024))
		}
	})
}
