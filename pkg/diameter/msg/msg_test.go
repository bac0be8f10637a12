package msg_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/msg/msgtest"
)

func readHex(t testing.TB, name string) []byte {
	return msgtest.ReadHex(t, filepath.Join("testdata", name))
}

// body returns the serialized AVPs of m (everything after the 20-byte header).
func body(t testing.TB, m *diam.Message) []byte {
	t.Helper()
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b[diam.HeaderLength:]
}

type digest struct {
	Realm string `avp:"Digest-Realm"`
	QoP   string `avp:"Digest-QoP"`
	HA1   string `avp:"Digest-HA1"`
}

type authItem struct {
	Scheme string  `avp:"SIP-Authentication-Scheme"`
	Digest *digest `avp:"SIP-Digest-Authenticate"`
}

type sample struct {
	UserName  string      `avp:"User-Name"`
	SessionID string      `avp:"Session-Id"`
	Impu      []string    `avp:"Public-Identity"`
	Wildcard  string      `avp:"Wildcarded-IMPU,omitempty"`
	Items     *uint32     `avp:"SIP-Number-Auth-Items"`
	Item      *authItem   `avp:"SIP-Auth-Data-Item"`
	Raw       *diam.AVP   `avp:"Route-Record"`
	Extra     []*diam.AVP `avp:"Proxy-Info"`
	Ignored   string
}

func TestMarshal(t *testing.T) {
	three := uint32(3)
	for _, tc := range []struct {
		name string
		app  uint32
		v    any
		hex  string
	}{
		{
			name: "session id first, repeated, omitempty, nil pointer",
			app:  dict.AppCx,
			v:    &sample{UserName: "u", SessionID: "s;1", Impu: []string{"sip:a", "tel:1"}},
			hex:  "marshal_basic.hex",
		},
		{
			name: "grouped in grouped, IETF AVPs without V, pointer scalar, raw AVPs",
			app:  dict.AppCx,
			v: &sample{SessionID: "s;1", UserName: "u", Wildcard: "sip:!.*!@x", Items: &three,
				Item:  &authItem{Scheme: "SIP Digest", Digest: &digest{Realm: "r", QoP: "auth", HA1: "00"}},
				Raw:   diam.NewAVP(avp.RouteRecord, avp.Mbit, 0, datatype.DiameterIdentity("dra")),
				Extra: []*diam.AVP{diam.NewAVP(9999, 0, 0, datatype.OctetString("x"))}},
			hex: "marshal_grouped.hex",
		},
		{
			// go-diameter's S6a dictionary gives Service-Selection vendor-id 10415 but
			// must-not="V"; RFC 5778 defines it without a vendor.
			name: "must-not V drops the vendor",
			app:  dict.AppS6a,
			v: &struct {
				Session string `avp:"Session-Id"`
				APN     string `avp:"Service-Selection"`
			}{"s;1", "ims"},
			hex: "marshal_service_selection.hex",
		},
		{
			name: "time and address",
			app:  dict.AppSh,
			v: &struct {
				Session string    `avp:"Session-Id"`
				Expiry  time.Time `avp:"Expiry-Time"`
			}{"s;1", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
			hex: "marshal_time.hex",
		},
		{
			name: "address",
			app:  dict.AppCx,
			v: &struct {
				Session string `avp:"Session-Id"`
				Host    net.IP `avp:"Host-IP-Address"`
			}{"s;1", net.IPv4(127, 0, 0, 1).To4()},
			hex: "marshal_address.hex",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := diam.NewRequest(300, tc.app, dict.Default())
			if err := msg.Marshal(m, tc.v); err != nil {
				t.Fatal(err)
			}
			got, want := body(t, m), readHex(t, tc.hex)
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
			}
			if int(m.Header.MessageLength) != diam.HeaderLength+len(want) {
				t.Fatalf("MessageLength = %d, want %d", m.Header.MessageLength, diam.HeaderLength+len(want))
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		v          any
	}{
		{"not a struct", "is not a struct", new(int)},
		{"nil", "nil value", (*sample)(nil)},
		{"unknown AVP", "No-Such-AVP", &struct {
			X string `avp:"No-Such-AVP"`
		}{"x"}},
		{"type mismatch", "needs an integer", &struct {
			X string `avp:"SIP-Number-Auth-Items"`
		}{"x"}},
		{"overflow", "out of range", &struct {
			X uint64 `avp:"SIP-Number-Auth-Items"`
		}{1 << 40}},
		{"negative unsigned", "out of range", &struct {
			X int `avp:"SIP-Number-Auth-Items"`
		}{-1}},
		{"grouped needs struct", "grouped AVP needs a struct", &struct {
			X string `avp:"SIP-Auth-Data-Item"`
		}{"x"}},
		{"bad address", "4 or 16 byte", &struct {
			X []byte `avp:"Host-IP-Address"`
		}{[]byte{1, 2, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := diam.NewRequest(300, dict.AppCx, dict.Default())
			err := msg.Marshal(m, tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMarshalSessionIDAlreadyPresent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		session string
		wantErr bool
	}{
		{"equal is kept once", "s;1", false},
		{"empty with omitempty is skipped", "", false},
		{"different conflicts", "s;2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := diam.NewRequest(300, dict.AppCx, dict.Default())
			m.AddAVP(diam.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("s;1")))
			err := msg.Marshal(m, &struct {
				Session string `avp:"Session-Id,omitempty"`
				User    string `avp:"User-Name"`
			}{tc.session, "u"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(m.AVP) != 2 || m.AVP[0].Code != avp.SessionID || m.AVP[1].Code != avp.UserName {
				t.Fatalf("AVPs = %v", m.AVP)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	three := uint32(3)
	in := &sample{SessionID: "s;1", UserName: "u", Impu: []string{"sip:a", "tel:1"}, Items: &three,
		Item: &authItem{Scheme: "SIP Digest", Digest: &digest{Realm: "r", QoP: "auth", HA1: "00"}}}
	m, err := msg.NewRequest(303, dict.AppCx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	got, err := diam.ReadMessage(bytes.NewReader(b), dict.Default())
	if err != nil {
		t.Fatal(err)
	}
	var out sample
	if err := msg.Unmarshal(got, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Fatalf("round trip\n got %+v\nwant %+v", out, *in)
	}
}

func TestUnmarshalNeverPanics(t *testing.T) {
	m := diam.NewRequest(303, dict.AppCx, dict.Default())
	// A Grouped AVP whose data failed to decode has no Data in go-diameter: reading it into a
	// struct made go-diameter's Unmarshal panic.
	m.AVP = append(m.AVP, &diam.AVP{Code: 612, Flags: avp.Vbit | avp.Mbit, VendorID: dict.Vendor3GPP})
	var out sample
	err := msg.Unmarshal(m, &out)
	if err == nil || !strings.Contains(err.Error(), "command 303 app 16777216 request into *msg_test.sample: panic") {
		t.Fatalf("err = %v", err)
	}
	err = msg.Unmarshal(m, &struct {
		X string `avp:"No-Such-AVP"`
	}{})
	if err == nil || !strings.Contains(err.Error(), "No-Such-AVP") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRequest(t *testing.T) {
	m, err := msg.NewRequest(300, dict.AppCx, &struct {
		Session string `avp:"Session-Id"`
		User    string `avp:"User-Name"`
	}{"s;1", "u"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.CommandFlags != diam.RequestFlag|diam.ProxiableFlag || m.Header.ApplicationID != dict.AppCx {
		t.Fatalf("header = %+v", m.Header)
	}
	if got, want := body(t, m), readHex(t, "request_defaults.hex"); !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}

	// Explicit values are kept, not doubled.
	m, err = msg.NewRequest(300, dict.AppCx, &struct {
		Session string `avp:"Session-Id"`
		State   int32  `avp:"Auth-Session-State"`
	}{"s;1", msg.AuthSessionStateMaintained})
	if err != nil {
		t.Fatal(err)
	}
	if n := countAVP(m, avp.AuthSessionState); n != 1 {
		t.Fatalf("%d Auth-Session-State AVPs", n)
	}

	if _, err := msg.NewRequest(300, dict.AppCx, &struct {
		User string `avp:"User-Name"`
	}{"u"}); err == nil || !strings.Contains(err.Error(), "no Session-Id") {
		t.Fatalf("err = %v", err)
	}
}

func countAVP(m *diam.Message, code uint32) int {
	n := 0
	for _, a := range m.AVP {
		if a.Code == code {
			n++
		}
	}
	return n
}

func TestNewSessionID(t *testing.T) {
	a, b := msg.NewSessionID("hss.example"), msg.NewSessionID("hss.example")
	if a == b {
		t.Fatalf("two equal ids %q", a)
	}
	for _, id := range []string{a, b} {
		if parts := strings.Split(id, ";"); len(parts) != 3 || parts[0] != "hss.example" {
			t.Fatalf("id %q is not <host>;<high>;<low>", id)
		}
	}
}

var us = msg.Identity{Host: "hss.ims.example", Realm: "ims.example"}

// request is a UAR as a peer sends it: Session-Id, VSAI, Auth-Session-State, Proxy-Info.
func request(t testing.TB) *diam.Message {
	t.Helper()
	req := diam.NewMessage(300, diam.RequestFlag|diam.ProxiableFlag|diam.RetransmittedFlag, dict.AppCx, 0x11223344, 0x55667788, dict.Default())
	req.AddAVP(diam.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("icscf;1;2")))
	req.AddAVP(diam.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(dict.Vendor3GPP)),
		diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(dict.AppCx)),
	}}))
	req.AddAVP(diam.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1)))
	req.AddAVP(diam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("icscf.ims.example")))
	req.AddAVP(diam.NewAVP(avp.ProxyInfo, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.ProxyHost, avp.Mbit, 0, datatype.DiameterIdentity("dra")),
		diam.NewAVP(avp.ProxyState, avp.Mbit, 0, datatype.OctetString("st")),
	}}))
	return req
}

func TestAnswers(t *testing.T) {
	failed := diam.NewAVP(601, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.UTF8String("bad"))
	for _, tc := range []struct {
		name      string
		build     func(*diam.Message) *diam.Message
		wantFlags uint8
		hex       string
	}{
		{"success", func(r *diam.Message) *diam.Message { return msg.NewAnswer(r, us, msg.ResultSuccess) },
			diam.ProxiableFlag, "answer_success.hex"},
		{"experimental", func(r *diam.Message) *diam.Message { return msg.NewExperimentalAnswer(r, us, 5001) },
			diam.ProxiableFlag, "answer_experimental.hex"},
		{"protocol error sets E and uses the RFC 6733 7.2 format", func(r *diam.Message) *diam.Message {
			return msg.NewAnswer(r, us, msg.ResultUnableToDeliver)
		}, diam.ProxiableFlag | diam.ErrorFlag, "answer_protocol_error.hex"},
		{"*Error experimental", func(r *diam.Message) *diam.Message {
			return msg.ErrorAnswer(r, us, fmt.Errorf("uar: %w", &msg.Error{Code: 5001, Experimental: true, Err: errors.New("no such user")}))
		}, diam.ProxiableFlag, "answer_experimental.hex"},
		{"*Error with Failed-AVP", func(r *diam.Message) *diam.Message {
			return msg.ErrorAnswer(r, us, &msg.Error{Code: msg.ResultInvalidAVPValue, FailedAVP: []*diam.AVP{failed}})
		}, diam.ProxiableFlag, "answer_failed_avp.hex"},
		{"other error is UNABLE_TO_COMPLY", func(r *diam.Message) *diam.Message {
			return msg.ErrorAnswer(r, us, errors.New("database down"))
		}, diam.ProxiableFlag, "answer_unable_to_comply.hex"},
		{"nil error is UNABLE_TO_COMPLY", func(r *diam.Message) *diam.Message {
			return msg.ErrorAnswer(r, us, nil)
		}, diam.ProxiableFlag, "answer_unable_to_comply.hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.build(request(t))
			h := a.Header
			if h.CommandFlags != tc.wantFlags || h.CommandCode != 300 || h.ApplicationID != dict.AppCx ||
				h.HopByHopID != 0x11223344 || h.EndToEndID != 0x55667788 {
				t.Fatalf("header = %+v", h)
			}
			if got, want := body(t, a), readHex(t, tc.hex); !bytes.Equal(got, want) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestError(t *testing.T) {
	cause := errors.New("no such user")
	e := &msg.Error{Code: 5001, Experimental: true, Err: cause}
	if !errors.Is(e, cause) {
		t.Fatal("Unwrap does not reach the cause")
	}
	for _, tc := range []struct {
		err  *msg.Error
		want string
	}{
		{e, "diameter Experimental-Result-Code 5001: no such user"},
		{&msg.Error{Code: 5005}, "diameter Result-Code 5005"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestTBCD(t *testing.T) {
	for _, tc := range []struct {
		digits string
		hex    string
	}{
		{"15550001", "51550010"},
		{"491234567", "94214365f7"},
		{"*#1", "baf1"},
		{"", ""},
	} {
		t.Run(tc.digits, func(t *testing.T) {
			b, err := msg.EncodeTBCD(tc.digits)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("EncodeTBCD(%q) = %s, want %s", tc.digits, got, tc.hex)
			}
			if got := msg.DecodeTBCD(b); got != tc.digits {
				t.Fatalf("DecodeTBCD = %q, want %q", got, tc.digits)
			}
		})
	}
	if _, err := msg.EncodeTBCD("12x"); err == nil {
		t.Fatal("EncodeTBCD accepted x")
	}
}

type testAnswer struct {
	msg.AnswerHeader
	UserName string `avp:"User-Name,omitempty"`
}

func TestAnswerFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header msg.AnswerHeader
		hex    string
	}{
		{"no result is success", msg.AnswerHeader{}, "answer_for_success.hex"},
		{"experimental result wins", msg.AnswerHeader{ResultCode: 9999,
			ExperimentalResult: &msg.ExperimentalResult{VendorID: dict.Vendor3GPP, Code: 5001}}, "answer_for_experimental.hex"},
		{"header fields come from the request, not the struct", msg.AnswerHeader{
			SessionID: "other", OriginHost: "other", ResultCode: msg.ResultSuccess}, "answer_for_success.hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &testAnswer{AnswerHeader: tc.header, UserName: "u"}
			before := *in
			a, err := msg.AnswerFor(request(t), us, in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := body(t, a), readHex(t, tc.hex); !bytes.Equal(got, want) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
			}
			if !reflect.DeepEqual(*in, before) {
				t.Fatal("AnswerFor changed its argument")
			}
		})
	}
}

// A sloppy peer's request without Vendor-Specific-Application-Id and Auth-Session-State
// still gets an answer with both (TS 29.229 6.1.2).
func TestAnswerDefaults(t *testing.T) {
	req := diam.NewMessage(300, diam.RequestFlag, dict.AppCx, 1, 2, dict.Default())
	req.AddAVP(diam.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("icscf;1;2")))
	if got, want := body(t, msg.NewAnswer(req, us, msg.ResultSuccess)), readHex(t, "answer_defaults.hex"); !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}
	// Base protocol answers get nothing added.
	dwr := diam.NewMessage(280, diam.RequestFlag, 0, 1, 2, dict.Default())
	if n := len(msg.NewAnswer(dwr, us, msg.ResultSuccess).AVP); n != 3 {
		t.Fatalf("DWA has %d AVPs, want Origin-Host, Origin-Realm, Result-Code", n)
	}
}
