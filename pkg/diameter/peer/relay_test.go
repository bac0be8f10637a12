package peer

import (
	"context"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

// TestRelay passes a request through a relay node that advertises the Relay application and
// forwards raw frames: the answer comes back to the client, never via the client itself.
func TestRelay(t *testing.T) {
	const relayHost = "dra.ims.example.org"
	scfg := baseConfig(serverHost)
	scfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	scfg.AcceptUnknownPeers = true
	server := startNode(t, scfg, func(n *Node) { n.Handle(dict.AppCx, cmdUAR, okHandler(n, nil)) })

	rcfg := baseConfig(relayHost)
	rcfg.Apps = []App{{ID: Relay}}
	rcfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	rcfg.AcceptUnknownPeers = true
	rcfg.Peers = []PeerConfig{{Host: serverHost, Realm: realm, Endpoint: Endpoint{transport.TCP, server.addr(t, transport.TCP)}}}
	relay := startNode(t, rcfg, func(n *Node) {
		n.HandleRelay(func(ctx context.Context, from string, req []byte) ([]byte, error) {
			return n.RequestRaw(ctx, req)
		})
	})

	ccfg := baseConfig(clientHost)
	ccfg.Peers = []PeerConfig{{Host: relayHost, Realm: realm, Endpoint: Endpoint{transport.TCP, relay.addr(t, transport.TCP)}}}
	client := startNode(t, ccfg, nil)
	client.waitState(t, relayHost, stateOkay)
	relay.waitState(t, serverHost, stateOkay)

	for i := range 4 { // several, so round robin would have hit the client if it were a candidate
		ans, err := client.Request(context.Background(), uar(t, "alice"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if rc := resultOf(t, ans); rc != msg.ResultSuccess {
			t.Fatalf("request %d: Result-Code %d", i, rc)
		}
		if sn, err := ans.FindAVP(avp.ServerName, dict.Vendor3GPP); err != nil || string(sn.Data.(datatype.UTF8String)) != "sip:"+serverHost {
			t.Fatalf("request %d answered by %v (%v)", i, sn, err)
		}
	}

	// RFC 6733 4.1: a relay MUST NOT reject a message with an unrecognised AVP, even one with
	// the M bit; the server, which must, answers 5001.
	m := uar(t, "mallory")
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(clientHost))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(realm))
	m.NewAVP(65000, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.OctetString("unknown"))
	frame, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := client.RequestRaw(context.Background(), frame)
	if err != nil {
		t.Fatal(err)
	}
	if origin, ok := wire.Find(ans, avp.OriginHost, 0); !ok || string(origin.Data) != serverHost {
		t.Fatalf("unknown M-bit AVP answered by %q, want the server %q", origin.Data, serverHost)
	}
	if rc := answerCode(ans); rc != msg.ResultAVPUnsupported {
		t.Fatalf("Result-Code %d, want %d from the server", rc, msg.ResultAVPUnsupported)
	}
}
