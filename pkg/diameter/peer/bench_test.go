package peer

import (
	"context"
	"testing"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// BenchmarkRoundTripTCP measures a UAR/UAA round trip between two nodes over loopback TCP:
// encode, route, write, dispatch, validate, decode, handler, answer, match.
func BenchmarkRoundTripTCP(b *testing.B) {
	scfg := baseConfig(serverHost)
	scfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	scfg.AcceptUnknownPeers = true
	scfg.Watchdog = DefaultWatchdog
	server := startNode(b, scfg, func(n *Node) { n.Handle(dict.AppCx, cmdUAR, okHandler(n, nil)) })
	ccfg := baseConfig(clientHost)
	ccfg.Watchdog = DefaultWatchdog
	ccfg.Peers = []PeerConfig{{Host: serverHost, Realm: realm, Endpoint: Endpoint{transport.TCP, server.addr(b, transport.TCP)}}}
	client := startNode(b, ccfg, nil)
	client.waitState(b, serverHost, stateOkay)
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Request(ctx, uar(b, "alice")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16) // many requests in flight on the one connection
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := client.Request(ctx, uar(b, "alice")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
