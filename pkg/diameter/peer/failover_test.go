package peer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// TestFailover runs a client against two servers and takes one away while requests flow:
// silently (the watchdog must notice, RFC 3539) or by closing its connections (a crash). New
// requests must reach the other server within 2×Tw (plus the jitter); the only failures
// allowed are ErrPeerDown for requests in flight towards the dead server.
func TestFailover(t *testing.T) {
	for _, mode := range []string{"silent", "closed"} {
		t.Run(mode, func(t *testing.T) { runFailover(t, mode) })
	}
}

func runFailover(t *testing.T, mode string) {
	var served [2]atomic.Int64
	var proxies [2]*freezer
	var peers []PeerConfig
	for i := range 2 {
		host := fmt.Sprintf("hss%d.ims.example.org", i+1)
		cfg := baseConfig(host)
		cfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
		cfg.AcceptUnknownPeers = true
		srv := startNode(t, cfg, func(n *Node) { n.Handle(dict.AppCx, cmdUAR, okHandler(n, &served[i])) })
		proxies[i] = newFreezer(t, srv.addr(t, transport.TCP))
		peers = append(peers, PeerConfig{Host: host, Realm: realm,
			Endpoint: Endpoint{transport.TCP, proxies[i].ln.Addr().String()}})
	}
	ccfg := baseConfig(clientHost)
	ccfg.Peers = peers
	// Longer than the time the watchdog takes to close a silent connection (3×Tw), so
	// requests lost in the black hole end as ErrPeerDown, not as a timeout.
	ccfg.RequestTimeout = 10 * testTw
	// A killed server stays away for the rest of the test.
	ccfg.ReconnectMin, ccfg.ReconnectMax = time.Minute, time.Minute
	client := startNode(t, ccfg, nil)
	for _, p := range peers {
		client.waitState(t, p.Host, stateOkay)
	}

	type result struct {
		start time.Time
		err   error
	}
	var (
		mu      sync.Mutex
		results []result
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				_, err := client.Request(context.Background(), uar(t, "alice"))
				mu.Lock()
				results = append(results, result{start, err})
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(3 * testTw)
	before := served[1].Load()
	if served[0].Load() == 0 || before == 0 {
		t.Fatalf("load not shared before the failure: %d / %d", served[0].Load(), before)
	}
	killed := time.Now()
	if mode == "silent" {
		proxies[0].frozen.Store(true)
	} else {
		proxies[0].kill()
	}
	// RFC 3539: at most Tw (+jitter) to send a DWR, Tw (+jitter) more to declare SUSPECT.
	jitter := testTw / 3
	moved := killed.Add(2 * (testTw + jitter))
	time.Sleep(moved.Sub(killed) + 4*testTw)
	stop()
	wg.Wait()

	var ok, down, late int
	for _, r := range results {
		switch {
		case r.err == nil:
			ok++
		case isPeerDown(r.err) && r.start.Before(moved):
			down++
		case r.start.After(moved):
			late++
			t.Errorf("request started %s after the failure failed: %v", r.start.Sub(killed), r.err)
		default:
			t.Errorf("request started %s after the failure failed with other than ErrPeerDown: %v", r.start.Sub(killed), r.err)
		}
	}
	t.Logf("%s: %d answered, %d ErrPeerDown (in flight), served %d / %d", mode, ok, down, served[0].Load(), served[1].Load())
	if served[1].Load() <= before {
		t.Fatalf("the surviving server took no load after the failure")
	}
	if late > 0 {
		t.Fatalf("%d requests failed after the failover deadline", late)
	}
}
