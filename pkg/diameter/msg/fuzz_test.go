package msg_test

import (
	"bytes"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/s6a"
	"github.com/imscore/imscore/pkg/diameter/sh"
)

// typedMessages returns a fresh value of every typed Cx, Sh and S6a message.
func typedMessages() []any {
	return []any{
		&cx.UAR{}, &cx.UAA{}, &cx.SAR{}, &cx.SAA{}, &cx.LIR{}, &cx.LIA{}, &cx.MAR{}, &cx.MAA{},
		&cx.RTR{}, &cx.RTA{}, &cx.PPR{}, &cx.PPA{},
		&sh.UDR{}, &sh.UDA{}, &sh.PUR{}, &sh.PUA{}, &sh.SNR{}, &sh.SNA{}, &sh.PNR{}, &sh.PNA{},
		&s6a.AIR{}, &s6a.AIA{}, &s6a.ULR{}, &s6a.ULA{}, &s6a.CLR{}, &s6a.CLA{}, &s6a.IDR{}, &s6a.IDA{},
		&s6a.PUR{}, &s6a.PUA{}, &s6a.NOR{}, &s6a.NOA{},
	}
}

// FuzzReadMessage feeds bytes from a peer to go-diameter's decoder with our dictionary and
// the result to msg.Unmarshal for every typed message: nothing may panic. The seeds in
// testdata/fuzz/FuzzReadMessage are the golden messages of the cx, sh and s6a tests.
func FuzzReadMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m := readMessage(b)
		if m == nil {
			return
		}
		for _, v := range typedMessages() {
			_ = msg.Unmarshal(m, v) // errors are expected; panics are not
		}
	})
}

// readMessage is diam.ReadMessage that survives go-diameter v4.3.0's own panics: an AVP whose
// data fails to decode is kept with nil Data and Message.decodeAVPs then calls its Len
// (seed godiameter-decodeavps-nil-data). The peer layer recovers the same way. A message that
// failed to decode with a DecodeErr is still returned, to be unmarshalled too. go-diameter
// v4.3.0 allocates Message Length - 20 bytes before reading, which for a length below 20 wraps
// to about 4 GiB; the peer layer frames and checks the length first (pkg/diameter/wire.ReadFrame),
// and so does readMessage: nil for such input.
func readMessage(b []byte) (m *diam.Message) {
	if len(b) < diam.HeaderLength || int(b[1])<<16|int(b[2])<<8|int(b[3]) < diam.HeaderLength {
		return nil
	}
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	m, _ = diam.ReadMessage(bytes.NewReader(b), dict.Default())
	return m
}
