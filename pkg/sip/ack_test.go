package sip

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// TestACKNextHop sends an ACK for a 2xx whose Request-URI is not reachable (a UE's contact
// behind NAT) through a proxy whose ACKNextHop names the UE's flow: the ACK goes there, and
// the hook sees it without the Route entry naming the proxy.
func TestACKNextHop(t *testing.T) {
	flow := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	contact := gosip.Uri{Scheme: "sip", User: "bob", Host: "192.0.2.1", Port: 5060}
	routes := make(chan int, 1)
	p := startProxy(t, Config{ACKNextHop: func(ack *gosip.Request) (gosip.Uri, bool) {
		routes <- len(ack.GetHeaders("Route"))
		return flow.URI(""), ack.Recipient.Host == contact.Host
	}}, ForwardHandler(Forward{}))
	ack := testRequest(gosip.ACK, contact, p, "")
	ack.AppendHeader(&gosip.RouteHeader{Address: p.URI("")})
	ack.AppendHeader(gosip.NewHeader("Call-ID", "ack-next-hop"))
	ack.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.ACK})
	if err := siptest.NewClient(t).WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-flow.Requests:
		if !a.IsAck() || a.Recipient.Host != contact.Host {
			t.Errorf("flow got %s %s, want the ACK for %s", a.Method, a.Recipient.String(), contact.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ACK not forwarded to the flow")
	}
	if n := <-routes; n != 0 {
		t.Errorf("the hook saw %d Route entries, want ours removed", n)
	}
}
