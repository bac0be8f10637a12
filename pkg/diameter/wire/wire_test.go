package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	godict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

const maxFrame = 1 << 16

// dwr returns a valid Device-Watchdog-Request (RFC 6733 §5.5.1) with a Session-Id added so
// the copy into answers can be checked.
func dwr(t testing.TB) []byte {
	t.Helper()
	m := diam.NewMessage(diam.DeviceWatchdog, diam.RequestFlag, 0, 0x11223344, 0x55667788, godict.Default)
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("host;1;2"))
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("a.example.org"))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("example.org"))
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadFrame(t *testing.T) {
	good := dwr(t)
	withLen := func(n int) []byte {
		b := bytes.Clone(good)
		putUint24(b[1:4], uint32(n))
		return b
	}
	badVersion := bytes.Clone(good)
	badVersion[0] = 2
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"ok", good, nil},
		{"bad version", badVersion, ErrVersion},
		{"shorter than header", withLen(16), ErrLength},
		{"not multiple of 4", withLen(len(good) - 2), ErrLength},
		{"above max", withLen(maxFrame + 4), ErrLength},
		{"truncated body", good[:len(good)-4], io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tt.in), maxFrame)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && !bytes.Equal(got, good) {
				t.Fatalf("frame differs")
			}
		})
	}
}

func TestReadFrameStream(t *testing.T) {
	one := dwr(t)
	r := bytes.NewReader(append(bytes.Clone(one), one...))
	for i := range 2 {
		if _, err := ReadFrame(r, maxFrame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := ReadFrame(r, maxFrame); err != io.EOF {
		t.Fatalf("after two frames: %v, want EOF", err)
	}
}

func TestNextAVP(t *testing.T) {
	vendor := AppendAVP(nil, 601, AVPFlagMandatory, 10415, []byte("abcde"))
	if len(vendor) != 20 {
		t.Fatalf("vendor AVP encoded in %d bytes, want 12+5+3 padding", len(vendor))
	}
	tests := []struct {
		name    string
		in      []byte
		code    uint32
		vendor  uint32
		data    string
		rest    int
		wantErr bool
	}{
		{"vendor padded", append(bytes.Clone(vendor), 1, 2, 3, 4), 601, 10415, "abcde", 4, false},
		{"no vendor", AppendAVP(nil, 263, AVPFlagMandatory, 0, []byte("s")), 263, 0, "s", 0, false},
		{"short header", []byte{0, 0, 1, 7, 0x40}, 263, 0, "", 0, true},
		{"length below header", []byte{0, 0, 1, 7, 0x40, 0, 0, 4}, 263, 0, "", 0, true},
		{"vendor length below 12", []byte{0, 0, 1, 7, 0xc0, 0, 0, 8, 0, 0, 0x28, 0xaf}, 263, 10415, "", 0, true},
		{"length past end", []byte{0, 0, 1, 7, 0x40, 0, 0, 40, 'a', 'b', 'c', 'd'}, 263, 0, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, rest, err := NextAVP(tt.in)
			if tt.wantErr {
				var le *LengthError
				if !errors.As(err, &le) || le.Code != tt.code {
					t.Fatalf("err = %v, want LengthError for code %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Code != tt.code || a.Vendor != tt.vendor || string(a.Data) != tt.data || len(rest) != tt.rest {
				t.Fatalf("got code %d vendor %d data %q rest %d", a.Code, a.Vendor, a.Data, len(rest))
			}
		})
	}
}

func TestRawHelpers(t *testing.T) {
	b := dwr(t)
	b = AddAVP(b, AppendAVP(nil, CodeDestinationHost, AVPFlagMandatory, 0, []byte("hss.example.org")))
	b = AddAVP(b, AppendAVP(nil, CodeRouteRecord, AVPFlagMandatory, 0, []byte("dra1.example.org")))
	b = AddAVP(b, AppendAVP(nil, CodeRouteRecord, AVPFlagMandatory, 0, []byte("dra2.example.org")))
	SetHopByHop(b, 0xdeadbeef)
	SetFlags(b, FlagRetransmitted)

	m, err := diam.ReadMessage(bytes.NewReader(b), godict.Default)
	if err != nil {
		t.Fatalf("edited frame does not decode: %v", err)
	}
	if m.Header.HopByHopID != 0xdeadbeef || m.Header.CommandFlags&diam.RetransmittedFlag == 0 {
		t.Fatalf("header not edited: %v", m.Header)
	}
	if sid, _ := SessionID(b); sid != "host;1;2" {
		t.Errorf("SessionID = %q", sid)
	}
	if h, _ := OriginHost(b); h != "a.example.org" {
		t.Errorf("OriginHost = %q", h)
	}
	if h, _ := DestinationHost(b); h != "hss.example.org" {
		t.Errorf("DestinationHost = %q", h)
	}
	if _, ok := DestinationRealm(b); ok {
		t.Errorf("DestinationRealm found in a message without one")
	}
	if rr := RouteRecords(b); len(rr) != 2 || rr[0] != "dra1.example.org" || rr[1] != "dra2.example.org" {
		t.Errorf("RouteRecords = %q", rr)
	}
	if p := Validate(b, godict.Default); p != nil {
		t.Errorf("edited frame invalid: %v", p)
	}
}

func TestValidate(t *testing.T) {
	good := dwr(t)
	// edit returns a copy of good changed by f.
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	appendAVP := func(a []byte) []byte { return AddAVP(bytes.Clone(good), a) }
	originState := AppendAVP(nil, avp.OriginStateID, AVPFlagMandatory, 0, []byte{0, 0, 1})
	tests := []struct {
		name   string
		frame  []byte
		code   uint32
		failed uint32 // code of the Failed-AVP content, 0 for none
	}{
		{"ok", good, 0, 0},
		{"E bit in request", edit(func(b []byte) { b[4] |= FlagError }), msg.ResultInvalidHdrBits, 0},
		{"header length mismatch", good[:len(good)-4], msg.ResultInvalidMessageLength, 0},
		{"reserved AVP bit", edit(func(b []byte) { b[HeaderLen+4] |= 0x01 }), msg.ResultInvalidAVPBits, avp.SessionID},
		{"P bit tolerated", edit(func(b []byte) { b[HeaderLen+4] |= AVPFlagProtected }), 0, 0},
		{"AVP length past end", edit(func(b []byte) { putUint24(b[HeaderLen+5:], 400) }), msg.ResultInvalidAVPLength, avp.SessionID},
		{"unsigned32 of 3 bytes", appendAVP(originState), msg.ResultInvalidAVPLength, avp.OriginStateID},
		{"unknown M AVP", appendAVP(AppendAVP(nil, 99999, AVPFlagMandatory, 0, []byte("x"))), msg.ResultAVPUnsupported, 99999},
		{"unknown optional AVP", appendAVP(AppendAVP(nil, 99999, 0, 0, []byte("x"))), 0, 0},
		{"bad address family", appendAVP(AppendAVP(nil, avp.HostIPAddress, AVPFlagMandatory, 0, []byte{0, 1, 1})), msg.ResultInvalidAVPValue, avp.HostIPAddress},
		{"invalid UTF-8", appendAVP(AppendAVP(nil, avp.ErrorMessage, 0, 0, []byte{0xff, 0xfe})), msg.ResultInvalidAVPValue, avp.ErrorMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Validate(tt.frame, godict.Default)
			if tt.code == 0 {
				if p != nil {
					t.Fatalf("unexpected problem %v", p)
				}
				return
			}
			if p == nil || p.Code != tt.code {
				t.Fatalf("problem = %v, want code %d", p, tt.code)
			}
			var failed uint32
			if p.FailedAVP != nil {
				a, _, err := NextAVP(p.FailedAVP)
				if err != nil {
					t.Fatalf("Failed-AVP content does not parse: %v", err)
				}
				failed = a.Code
			}
			if failed != tt.failed {
				t.Fatalf("Failed-AVP holds AVP %d, want %d", failed, tt.failed)
			}
		})
	}
}

func TestValidateMissingAVP(t *testing.T) {
	// RFC 6733 §5.5.1: Origin-Realm is required in a DWR.
	m := diam.NewMessage(diam.DeviceWatchdog, diam.RequestFlag, 0, 1, 1, godict.Default)
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("a.example.org"))
	b, _ := m.Serialize()
	p := Validate(b, godict.Default)
	if p == nil || p.Code != msg.ResultMissingAVP {
		t.Fatalf("problem = %v, want %d", p, msg.ResultMissingAVP)
	}
	if a, _, _ := NextAVP(p.FailedAVP); a.Code != avp.OriginRealm {
		t.Fatalf("Failed-AVP holds %d, want Origin-Realm", a.Code)
	}
}

func TestValidateForeignApplication(t *testing.T) {
	// A relay sees applications its dictionary does not know: unknown M AVPs are not its
	// business, the framing still is.
	m := diam.NewMessage(999, diam.RequestFlag|diam.ProxiableFlag, 4242, 1, 1, godict.Default)
	b, _ := m.Serialize()
	b = AddAVP(b, AppendAVP(nil, CodeSessionID, AVPFlagMandatory, 0, []byte("s;1")))
	b = AddAVP(b, AppendAVP(nil, 77777, AVPFlagMandatory, 4242, []byte("payload")))
	if p := Validate(b, godict.Default); p != nil {
		t.Fatalf("foreign application rejected: %v", p)
	}
	b = AddAVP(b, []byte{0, 0, 0, 1, 0, 0, 0, 4})
	if p := Validate(b, godict.Default); p == nil || p.Code != msg.ResultInvalidAVPLength {
		t.Fatalf("bad framing in foreign application: %v", p)
	}
}

func TestErrorAnswer(t *testing.T) {
	req := dwr(t)
	req = AddAVP(req, AppendAVP(nil, CodeProxyInfo, AVPFlagMandatory, 0,
		AppendAVP(AppendAVP(nil, avp.ProxyHost, AVPFlagMandatory, 0, []byte("p.example.org")),
			avp.ProxyState, AVPFlagMandatory, 0, []byte("st"))))
	failed := AppendAVP(nil, avp.OriginStateID, AVPFlagMandatory, 0, make([]byte, 4))
	tests := []struct {
		name  string
		code  uint32
		eFlag bool
	}{
		{"protocol error sets E", msg.ResultInvalidHdrBits, true},
		{"permanent failure leaves E", msg.ResultInvalidAVPLength, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := ErrorAnswer(req, "b.example.org", "example.org", tt.code, failed)
			frame, err := ReadFrame(bytes.NewReader(ans), maxFrame)
			if err != nil {
				t.Fatal(err)
			}
			if p := Validate(frame, godict.Default); p != nil {
				t.Fatalf("answer invalid: %v", p)
			}
			m, err := diam.ReadMessage(bytes.NewReader(ans), godict.Default)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Header
			if h.CommandFlags&diam.RequestFlag != 0 || (h.CommandFlags&diam.ErrorFlag != 0) != tt.eFlag ||
				h.HopByHopID != 0x11223344 || h.EndToEndID != 0x55667788 {
				t.Fatalf("header %v", h)
			}
			if m.AVP[0].Code != avp.SessionID {
				t.Fatalf("first AVP %d, want Session-Id", m.AVP[0].Code)
			}
			rc, err := m.FindAVP(avp.ResultCode, 0)
			if err != nil || rc.Data.(datatype.Unsigned32) != datatype.Unsigned32(tt.code) {
				t.Fatalf("Result-Code %v %v", rc, err)
			}
			fa, err := m.FindAVP(avp.FailedAVP, 0)
			if err != nil {
				t.Fatalf("no Failed-AVP: %v", err)
			}
			if inner := fa.Data.(*diam.GroupedAVP).AVP; len(inner) != 1 || inner[0].Code != avp.OriginStateID {
				t.Fatalf("Failed-AVP content %v", inner)
			}
			if _, err := m.FindAVP(avp.ProxyInfo, 0); err != nil {
				t.Fatalf("Proxy-Info not copied: %v", err)
			}
			if got := binary.BigEndian.Uint32(ans[8:12]); got != 0 {
				t.Fatalf("application %d", got)
			}
		})
	}
}

func BenchmarkReadFrame(b *testing.B) {
	one := dwr(b)
	stream := bytes.Repeat(one, 64)
	b.SetBytes(int64(len(one)))
	r := bytes.NewReader(stream)
	for b.Loop() {
		if r.Len() == 0 {
			r.Reset(stream)
		}
		if _, err := ReadFrame(r, maxFrame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	one := dwr(b)
	b.SetBytes(int64(len(one)))
	for b.Loop() {
		if p := Validate(one, godict.Default); p != nil {
			b.Fatal(p)
		}
	}
}
