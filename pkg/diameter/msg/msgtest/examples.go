package msgtest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// Ptr returns a pointer to v, for optional AVPs in examples.
func Ptr[T any](v T) *T { return &v }

// RequestHeader is a complete request header of application app from one node.
func RequestHeader(app uint32, session string, from msg.Identity, destHost, destRealm string) msg.RequestHeader {
	return msg.RequestHeader{
		SessionID:                   session,
		VendorSpecificApplicationID: &msg.VendorSpecificApplicationID{VendorID: dict.Vendor3GPP, AuthApplicationID: app},
		AuthSessionState:            Ptr(msg.AuthSessionStateNoMaintained),
		OriginHost:                  from.Host,
		OriginRealm:                 from.Realm,
		DestinationHost:             destHost,
		DestinationRealm:            destRealm,
	}
}

// AnswerHeader is what the answer from node from to a request built with RequestHeader
// decodes to.
func AnswerHeader(app uint32, session string, from msg.Identity, result uint32, experimental bool) msg.AnswerHeader {
	h := msg.AnswerHeader{
		SessionID:                   session,
		VendorSpecificApplicationID: &msg.VendorSpecificApplicationID{VendorID: dict.Vendor3GPP, AuthApplicationID: app},
		AuthSessionState:            Ptr(msg.AuthSessionStateNoMaintained),
		OriginHost:                  from.Host,
		OriginRealm:                 from.Realm,
	}
	if experimental {
		h.ExperimentalResult = &msg.ExperimentalResult{VendorID: dict.Vendor3GPP, Code: result}
	} else {
		h.ResultCode = result
	}
	return h
}

// Request is a typed request; Answer a typed answer.
type (
	Request interface{ Message() (*diam.Message, error) }
	Answer  interface {
		msg.Answer
		Message(req *diam.Message, id msg.Identity) (*diam.Message, error)
	}
)

// Example is one exchange of a command, named "<request>-<answer>" (e.g. "MAR-MAA").
// Ans's AnswerHeader is what the answer decodes to (see AnswerHeader).
type Example struct {
	Name string
	Req  Request
	Ans  Answer
}

// Exchange encodes ex with fixed Hop-by-Hop and End-to-End ids, the answer sent by answerer.
func Exchange(t testing.TB, ex Example, answerer msg.Identity) (req, ans *diam.Message) {
	t.Helper()
	req, err := ex.Req.Message()
	if err != nil {
		t.Fatal(err)
	}
	req.Header.HopByHopID, req.Header.EndToEndID = 0x0a0b0c0d, 0x01020304
	ans, err = ex.Ans.Message(req, answerer)
	if err != nil {
		t.Fatal(err)
	}
	return req, ans
}

// CheckExamples checks every example of application app: header bits and ids, the bytes
// against testdata/messages, and the round trip back to the typed structs.
func CheckExamples(t *testing.T, app uint32, answerer msg.Identity, examples []Example) {
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			r, a := Exchange(t, ex, answerer)
			if r.Header.CommandFlags != diam.RequestFlag|diam.ProxiableFlag || r.Header.ApplicationID != app {
				t.Fatalf("request header %+v", r.Header)
			}
			if h := a.Header; h.CommandFlags != diam.ProxiableFlag || h.CommandCode != r.Header.CommandCode ||
				h.ApplicationID != app || h.HopByHopID != r.Header.HopByHopID || h.EndToEndID != r.Header.EndToEndID {
				t.Fatalf("answer header %+v", a.Header)
			}
			reqName, ansName, _ := strings.Cut(ex.Name, "-")
			RoundTrip(t, Golden(t, reqName, r), ex.Req)
			RoundTrip(t, Golden(t, ansName, a), ex.Ans)
		})
	}
}

// WiresharkExamples runs Wireshark on all examples; commands are Wireshark's names for them.
func WiresharkExamples(t *testing.T, answerer msg.Identity, examples []Example, commands []string) {
	var frames [][]byte
	for _, ex := range examples {
		r, a := Exchange(t, ex, answerer)
		frames = append(frames, MustSerialize(t, r), MustSerialize(t, a))
	}
	Wireshark(t, frames, commands)
}

// BenchEncode measures building and serializing a message.
func BenchEncode(b *testing.B, encode func() (*diam.Message, error)) {
	b.ReportAllocs()
	for b.Loop() {
		m, err := encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Serialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchDecode measures reading m's bytes with dict.Default() and unmarshalling them into a
// fresh typed struct from into.
func BenchDecode(b *testing.B, m *diam.Message, into func() any) {
	raw := MustSerialize(b, m)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := diam.ReadMessage(bytes.NewReader(raw), dict.Default())
		if err != nil {
			b.Fatal(err)
		}
		if err := msg.Unmarshal(got, into()); err != nil {
			b.Fatal(err)
		}
	}
}
