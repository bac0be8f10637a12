package dra

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/testutil"
)

// BenchmarkRelay measures Cx UAR/UAA round trips over loopback TCP on three paths with the same
// client and server: straight to the server, through our DRA, and through freeDiameterd
// configured as a relay (rt_default). "parallel" gives the requests per second with many
// requests in flight on the one connection; "serial" the latency of one request at a time,
// with its p50 and p99: the added latency of a relay is its figure minus the direct one.
func BenchmarkRelay(b *testing.B) {
	srv := startServer(b, hss1, transport.TCP, nil)
	srvAddr := srv.addr(b, transport.TCP)

	b.Run("direct", func(b *testing.B) {
		benchPaths(b, startClient(b, transport.TCP, hss1, srvAddr))
	})
	b.Run("dra", func(b *testing.B) {
		peers := []config.Peer{{Host: hss1, Realm: testRealm, Endpoint: config.Endpoint{Network: transport.TCP, Addr: srvAddr}}}
		cfg := draConfig(transport.TCP, peers, []Route{{Realm: testRealm, Peers: []RoutePeer{{Host: hss1}}}})
		cfg.Diameter.Watchdog = config.Duration(config.DefaultWatchdog)
		dra := startDRA(b, cfg)
		waitState(b, dra.diam, hss1, "OKAY")
		benchPaths(b, startClient(b, transport.TCP, draHost, listenAddr(b, dra.diam, transport.TCP)))
	})
	b.Run("freediameter", func(b *testing.B) {
		testutil.NeedTool(b, "freeDiameterd")
		client := listeningClient(b)
		startFreeDiameter(b, deadAddr(b), config.DefaultWatchdog, []fdPeer{
			{hss1, srvAddr},
			{clientHost, listenAddr(b, client, transport.TCP)},
		}, map[string]string{"rt_default.fdx": `* : "` + hss1 + `" += 100 ;` + "\n"})
		waitState(b, client, fdHost, "OKAY")
		waitState(b, srv.node, fdHost, "OKAY")
		benchPaths(b, client)
	})
}

func benchPaths(b *testing.B, client *peer.Node) {
	ctx := context.Background()
	request := func(b *testing.B) bool {
		ans, err := client.Request(ctx, uar(b, testRealm, "", "alice"))
		if err != nil {
			b.Error(err)
			return false
		}
		if rc, _ := answered(b, ans); rc != msg.ResultSuccess {
			b.Errorf("Result-Code %d", rc)
			return false
		}
		return true
	}
	if !request(b) { // warm up the path
		b.FailNow()
	}
	b.Run("serial", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			if !request(b) {
				return
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() && request(b) {
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
}

// listeningClient is a client that accepts connections (freeDiameterd dials it).
func listeningClient(b testing.TB) *peer.Node {
	n, err := peer.New(peer.Config{
		Identity:           msg.Identity{Host: clientHost, Realm: testRealm},
		Apps:               []peer.App{peer.AppCx},
		Listen:             []peer.Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}},
		AcceptUnknownPeers: true,
		Watchdog:           config.DefaultWatchdog,
	}, testLogger(), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	run(b, n.Run)
	return n
}
