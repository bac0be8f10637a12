package sip

import (
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// FuzzRequestChecks runs what the core does to a request before the chain on anything sipgo
// parses: none of it may panic.
func FuzzRequestChecks(f *testing.F) {
	f.Add([]byte("INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport\r\n" +
		"Route: <sip:127.0.0.1:5999;lr>, <sip:next.example.org;lr;transport=tcp>\r\nFrom: <sip:a@x>;tag=1\r\n" +
		"To: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("ACK sip:127.0.0.1:5999 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKb\r\nRoute: <sip:z>\r\n" +
		"CSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("REGISTER tel:+1555 SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5;branch=x;received=1.2.3.4\r\nCSeq: 1 REGISTER\r\n\r\n"))
	p, err := New(Config{Listen: "127.0.0.1:0"}, nil, siptest.Logger())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.ua.Close() })
	p.host, p.port = "127.0.0.1", 5999
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := gosip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := m.(*gosip.Request)
		if !ok {
			return
		}
		req.SetSource("10.0.0.9:1234")
		setReceived(req)
		h := loopHash(req, p.preRoute(req))
		p.looped(req, h)
		nextHop(req, nil)
		messageSize(req)
		if req.Via() != nil && req.CSeq() != nil && req.From() != nil && req.To() != nil && req.CallID() != nil {
			cancelRequest(req)
		}
	})
}
