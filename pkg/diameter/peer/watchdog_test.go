package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// TestWatchdogStates walks a dialled connection through the RFC 3539 §3.4 states: a silent
// peer goes SUSPECT (no requests routed to it) then DOWN; the reconnection starts in REOPEN
// (still no requests) and becomes OKAY after three DWAs.
func TestWatchdogStates(t *testing.T) {
	scfg := baseConfig(serverHost)
	scfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	scfg.AcceptUnknownPeers = true
	server := startNode(t, scfg, func(n *Node) { n.Handle(dict.AppCx, cmdUAR, okHandler(n, nil)) })
	proxy := newFreezer(t, server.addr(t, transport.TCP))

	ccfg := baseConfig(clientHost)
	ccfg.Peers = []PeerConfig{{Host: serverHost, Realm: realm, Endpoint: Endpoint{transport.TCP, proxy.ln.Addr().String()}}}
	client := startNode(t, ccfg, nil)
	client.waitState(t, serverHost, stateOkay)
	ctx := context.Background()

	proxy.frozen.Store(true)
	client.waitState(t, serverHost, stateSuspect)
	if _, err := client.Request(ctx, uar(t, "alice")); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("request to a SUSPECT peer: %v, want ErrNoPeer", err)
	}
	client.waitState(t, serverHost, stateDown)

	// The server's side of the frozen connection is dropped too, so the next one is new.
	proxy.drop()
	proxy.frozen.Store(false)
	client.waitState(t, serverHost, stateReopen)
	reopened := time.Now()
	if _, err := client.Request(ctx, uar(t, "alice")); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("request to a REOPEN peer: %v, want ErrNoPeer", err)
	}
	client.waitState(t, serverHost, stateOkay)
	// Three DWR/DWA rounds, the first at once and then one per Tw (minus the jitter).
	if took, least := time.Since(reopened), 2*(testTw-testTw/3); took < least {
		t.Fatalf("OKAY %s after REOPEN, want at least %s (three DWAs)", took, least)
	}
	if _, err := client.Request(ctx, uar(t, "alice")); err != nil {
		t.Fatalf("request after REOPEN: %v", err)
	}
}
