package reginfo

import (
	"os"
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
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
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
