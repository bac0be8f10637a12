package wire

import (
	"bytes"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	godict "github.com/fiorix/go-diameter/v4/diam/dict"
)

// FuzzWireFrame feeds arbitrary bytes through the receive path: framing, validation and, for
// requests, the error answer. Nothing may panic, a frame Validate accepts must decode with the
// dictionary without error, and an error answer must itself be a valid message.
// Seeds: testdata/fuzz/FuzzWireFrame.
func FuzzWireFrame(f *testing.F) {
	f.Add(dwr(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := ReadFrame(bytes.NewReader(data), maxFrame)
		if err != nil {
			return
		}
		h, _ := ParseHeader(frame)
		p := Validate(frame, godict.Default)
		if p == nil {
			if _, err := godict.Default.FindCommand(h.App, h.Cmd); err != nil {
				return
			}
			m, err := diam.ReadMessage(bytes.NewReader(frame), godict.Default)
			if err != nil || m.DecodeErr != nil {
				t.Fatalf("validated frame does not decode: %v %v", err, m.DecodeErr)
			}
			return
		}
		ans := ErrorAnswer(frame, "a.example.org", "example.org", p.Code, p.FailedAVP)
		if _, err := ReadFrame(bytes.NewReader(ans), maxFrame+len(ans)); err != nil {
			t.Fatalf("error answer does not frame: %v", err)
		}
		if err := Walk(ans[HeaderLen:], func(AVP) bool { return true }); err != nil {
			t.Fatalf("error answer AVPs: %v", err)
		}
	})
}

// FuzzWireAVPs walks arbitrary AVP bytes, as found in a message body or a Grouped payload.
// Seeds: testdata/fuzz/FuzzWireAVPs.
func FuzzWireAVPs(f *testing.F) {
	f.Add(dwr(f)[HeaderLen:])
	f.Fuzz(func(t *testing.T, body []byte) {
		total := 0
		_ = Walk(body, func(a AVP) bool {
			if len(a.Raw) < len(a.Data) || len(a.Raw)%4 != 0 && total+len(a.Raw) != len(body) {
				t.Fatalf("AVP %d: raw %d data %d", a.Code, len(a.Raw), len(a.Data))
			}
			total += len(a.Raw)
			return true
		})
		if total > len(body) {
			t.Fatalf("walked %d of %d bytes", total, len(body))
		}
	})
}
