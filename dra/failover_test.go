package dra

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

// TestFailover kills one of two servers (its connections close: a crash) under steady load
// through the DRA. The DRA must see the peer DOWN within 2×Tw (RFC 3539), and every request
// must be answered with 2001: those in flight at the kill are retried on the other server with
// the T flag (RFC 6733 5.5.4), the later ones go to it directly.
func TestFailover(t *testing.T) {
	var servers [2]*server
	var proxies [2]*proxy
	var peers []config.Peer
	for i, host := range []string{hss1, hss2} {
		servers[i] = startServer(t, host, transport.TCP, func(s *server) {
			if i == 0 {
				s.delay = 20 * time.Millisecond // requests are in flight at hss1 when it dies
			}
		})
		proxies[i] = newProxy(t, servers[i].addr(t, transport.TCP))
		peers = append(peers, config.Peer{Host: host, Realm: testRealm,
			Endpoint: config.Endpoint{Network: transport.TCP, Addr: proxies[i].ln.Addr().String()}})
	}
	dra := startDRA(t, draConfig(transport.TCP, peers, []Route{{Realm: testRealm, Peers: []RoutePeer{{Host: hss1}, {Host: hss2}}}}))
	for _, p := range peers {
		waitState(t, dra.diam, p.Host, "OKAY")
	}
	client := startClient(t, transport.TCP, draHost, listenAddr(t, dra.diam, transport.TCP))

	var (
		mu     sync.Mutex
		ok     int
		failed []string
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				ans, err := client.Request(context.Background(), uar(t, testRealm, "", "alice"))
				mu.Lock()
				switch {
				case err != nil:
					failed = append(failed, err.Error())
				default:
					if rc, by := answered(t, ans); rc != msg.ResultSuccess {
						failed = append(failed, fmt.Sprintf("Result-Code %d from %s", rc, by))
					} else {
						ok++
					}
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	if servers[0].served.Load() == 0 || servers[1].served.Load() == 0 {
		t.Fatalf("load not shared before the kill: %d / %d", servers[0].served.Load(), servers[1].served.Load())
	}
	killed := time.Now()
	proxies[0].kill()
	noticed := waitState(t, dra.diam, hss1, "DOWN")
	if took := noticed.Sub(killed); took > 2*config.MinWatchdog {
		t.Errorf("DRA noticed the dead peer after %s, want within 2×Tw", took)
	}
	after := servers[1].served.Load()
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()

	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed, first: %s", len(failed), ok+len(failed), failed[0])
	}
	if servers[1].served.Load() <= after {
		t.Error("the surviving server took no load after the kill")
	}
	retried := counter(t, dra, "ims_dra_retries_total", map[string]string{"reason": reasonPeerDown})
	if retried == 0 || servers[1].tFlag.Load() == 0 {
		t.Errorf("%v retries after peer down, %d requests with the T flag at %s: want some", retried, servers[1].tFlag.Load(), hss2)
	}
	if f := counter(t, dra, "ims_dra_failovers_total", map[string]string{"peer": hss1}); f != retried {
		t.Errorf("ims_dra_failovers_total{peer=%s} = %v, want %v", hss1, f, retried)
	}
	t.Logf("%d answered; DOWN noticed in %s; %v retried on %s", ok, noticed.Sub(killed), retried, hss2)
}

// TestSilentPeer freezes one of two servers (nothing passes any more, the connection stays
// open) under load: the DRA's watchdog must take it out of routing within 2×Tw plus the jitter
// (RFC 3539 3.4.1: a DWR after Tw without traffic, SUSPECT after another Tw without answer), and
// from then on every request is answered by the other server.
func TestSilentPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to 2×Tw (16s)")
	}
	var servers [2]*server
	var proxies [2]*proxy
	var peers []config.Peer
	for i, host := range []string{hss1, hss2} {
		servers[i] = startServer(t, host, transport.TCP, nil)
		proxies[i] = newProxy(t, servers[i].addr(t, transport.TCP))
		peers = append(peers, config.Peer{Host: host, Realm: testRealm,
			Endpoint: config.Endpoint{Network: transport.TCP, Addr: proxies[i].ln.Addr().String()}})
	}
	cfg := draConfig(transport.TCP, peers, []Route{{Realm: testRealm, Peers: []RoutePeer{{Host: hss1}, {Host: hss2}}}})
	cfg.Diameter.RequestTimeout = config.Duration(time.Second)
	dra := startDRA(t, cfg)
	for _, p := range peers {
		waitState(t, dra.diam, p.Host, "OKAY")
	}
	client := startClient(t, transport.TCP, draHost, listenAddr(t, dra.diam, transport.TCP))

	frozen := time.Now()
	proxies[0].frozen.Store(true)
	// Tw is 6s: a DWR within Tw+2s of the last answer, SUSPECT Tw+2s later at the latest; the
	// last answer may arrive just after the freeze, and a loaded CI machine delays timers.
	limit := 2*(config.MinWatchdog+2*time.Second) + 2*time.Second
	var noticed time.Time
	for noticed.IsZero() {
		if time.Since(frozen) > limit {
			t.Fatalf("hss1 still OKAY %s after it went silent: %+v", limit, dra.diam.Peers())
		}
		if !dra.diam.Usable(hss1, dict.AppCx) {
			noticed = time.Now()
		}
		// Load keeps the link busy in one direction only: what the watchdog must see through.
		_, _ = client.Request(context.Background(), uar(t, testRealm, "", "alice"))
	}
	for i := range 20 {
		ans, err := client.Request(context.Background(), uar(t, testRealm, "", "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if rc, by := answered(t, ans); rc != msg.ResultSuccess || by != hss2 {
			t.Fatalf("request %d after the failover: Result-Code %d from %s", i, rc, by)
		}
	}
	t.Logf("silent peer out of routing after %s (limit %s)", noticed.Sub(frozen), limit)
}

// TestAnswerAfterReconnect relays a slow request, drops the connection it came on and connects
// again as the same peer: the answer must come back on the new connection with the request's
// Hop-by-Hop and End-to-End Identifiers.
func TestAnswerAfterReconnect(t *testing.T) {
	lab := startRelayLab(t, transport.TCP, transport.TCP, nil)
	addr := listenAddr(t, lab.dra.diam, transport.TCP)
	const rawHost = "raw.ims.example.org"

	first := rawConnect(t, addr, rawHost)
	req := opaqueRequest("slow;"+msg.NewSessionID(rawHost), testRealm)
	if _, err := first.Write(req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the DRA relayed it; the server answers after 500ms
	first.Close()
	for deadline := time.Now().Add(waitFor); connected(lab.dra.diam, rawHost); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the DRA did not notice the closed connection")
		}
	}

	second := rawConnect(t, addr, rawHost)
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		frame, err := wire.ReadFrame(second, peer.DefaultMaxMessage)
		if err != nil {
			t.Fatalf("no answer on the new connection: %v", err)
		}
		h, _ := wire.ParseHeader(frame)
		if h.IsRequest() || h.Cmd != opaqueCmd {
			continue // a DWR
		}
		if h.HopByHop != 0x01020304 || h.EndToEnd != 0x0a0b0c0d {
			t.Errorf("answer Hop-by-Hop %#x End-to-End %#x, want the request's", h.HopByHop, h.EndToEnd)
		}
		if rc := peer.AnswerCode(frame); rc != msg.ResultSuccess {
			t.Errorf("Result-Code %d", rc)
		}
		return
	}
}

// connected reports whether n lists an open connection to host.
func connected(n *peer.Node, host string) bool {
	for _, p := range n.Peers() {
		if p.Host == host && p.State != "DOWN" {
			return true
		}
	}
	return false
}

// rawConnect opens a connection to the DRA and runs a minimal capabilities exchange as host,
// advertising the opaque application (RFC 6733 5.3.1).
func rawConnect(t *testing.T, addr, host string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, wire.HeaderLen)
	binary.BigEndian.PutUint32(b[4:8], 257) // CER
	b[4] = wire.FlagRequest
	binary.BigEndian.PutUint32(b[12:16], 1)
	binary.BigEndian.PutUint32(b[16:20], 1)
	b = wire.AppendAVP(b, wire.CodeOriginHost, wire.AVPFlagMandatory, 0, []byte(host))
	b = wire.AppendAVP(b, wire.CodeOriginRealm, wire.AVPFlagMandatory, 0, []byte(testRealm))
	b = wire.AppendAVP(b, 257, wire.AVPFlagMandatory, 0, []byte{0, 1, 127, 0, 0, 1}) // Host-IP-Address
	b = wire.AppendAVP(b, 266, wire.AVPFlagMandatory, 0, []byte{0, 0, 0, 0})         // Vendor-Id
	b = wire.AppendAVP(b, 269, 0, 0, []byte("raw"))                                  // Product-Name
	b = wire.AppendAVP(b, 258, wire.AVPFlagMandatory, 0, binary.BigEndian.AppendUint32(nil, opaqueApp))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(b))|1<<24)
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	cea, err := wire.ReadFrame(nc, peer.DefaultMaxMessage)
	if err != nil {
		t.Fatalf("CEA: %v", err)
	}
	if rc := peer.AnswerCode(cea); rc != msg.ResultSuccess {
		t.Fatalf("CEA Result-Code %d", rc)
	}
	nc.SetReadDeadline(time.Time{})
	return nc
}
