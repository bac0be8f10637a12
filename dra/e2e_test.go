package dra

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/diameter/wire"
	"github.com/imscore/imscore/pkg/testutil"
)

const (
	hss1 = "hss1.ims.example.org"
	hss2 = "hss2.ims.example.org"
	hss3 = "hss3.ims.example.org" // configured, never reachable
)

// relayLab is a client -> DRA -> two servers set-up; a third configured server never answers.
type relayLab struct {
	dra     *Node
	client  *peer.Node
	servers map[string]*server
}

// startRelayLab starts the lab with the client on the transport front and the servers on back
// (the DRA listens on front and dials the servers over back); listen gives the address of a
// host (hss1, hss2, draHost) that must not be 127.0.0.1:0.
func startRelayLab(t testing.TB, front, back string, listen map[string]string) *relayLab {
	t.Helper()
	lab := &relayLab{servers: map[string]*server{}}
	var peers []config.Peer
	for _, host := range []string{hss1, hss2} {
		s := startServer(t, host, back, func(s *server) {
			if host == hss1 {
				s.busy = "busy"
			}
			if addr := listen[host]; addr != "" {
				s.listen = addr
			}
		})
		lab.servers[host] = s
		peers = append(peers, config.Peer{Host: host, Realm: testRealm,
			Endpoint: config.Endpoint{Network: back, Addr: s.addr(t, back)}})
	}
	peers = append(peers, config.Peer{Host: hss3, Realm: testRealm, Endpoint: config.Endpoint{Network: back, Addr: deadAddr(t)}})
	routes := []Route{
		{Realm: testRealm, Apps: []string{config.AppCx}, Peers: []RoutePeer{{Host: hss1}, {Host: hss2}}},
		{Realm: testRealm, Apps: []string{"4242"}, Peers: []RoutePeer{{Host: hss2}}},
		{Realm: "one.example.org", Peers: []RoutePeer{{Host: hss1}}},
		{Realm: "prio.example.org", Peers: []RoutePeer{{Host: hss1, Priority: 2}, {Host: hss2, Priority: 1}}},
		{Realm: "down.example.org", Peers: []RoutePeer{{Host: hss3}}},
		{Realm: "sticky.example.org", Peers: []RoutePeer{{Host: hss1}, {Host: hss2}}, Sticky: true},
	}
	cfg := draConfig(front, peers, routes)
	if addr := listen[draHost]; addr != "" {
		cfg.Diameter.Listen[0].Addr = addr
	}
	lab.dra = startDRA(t, cfg)
	for _, host := range []string{hss1, hss2} {
		waitState(t, lab.dra.diam, host, "OKAY")
	}
	lab.client = startClient(t, front, draHost, listenAddr(t, lab.dra.diam, front))
	return lab
}

// deadAddr is a loopback address nobody listens on.
func deadAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRelay runs the relay paths of RFC 6733 6.1 end to end over each transport: realm routing
// with load sharing and priorities, host routing, an application no dictionary knows relayed
// byte for byte, the DRA's own errors (3002 no deliverable peer, 3003 unknown realm, 3005 loop)
// and the retry of a 3004 answer on the other peer of the group with the T flag.
func TestRelay(t *testing.T) {
	for _, tc := range []struct{ name, front, back string }{
		{"tcp", transport.TCP, transport.TCP},
		{"sctp", transport.SCTP, transport.SCTP},
		{"mixed", transport.TCP, transport.SCTP}, // client over TCP, servers over SCTP
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.front == transport.SCTP || tc.back == transport.SCTP {
				testutil.NeedSCTP(t)
			}
			runRelay(t, startRelayLab(t, tc.front, tc.back, nil))
		})
	}
}

func runRelay(t *testing.T, lab *relayLab) {
	ctx := context.Background()
	request := func(t *testing.T, m *diam.Message) *diam.Message {
		t.Helper()
		ans, err := lab.client.Request(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	servedBy := func(t *testing.T, realm, destHost, user string, n int) map[string]int {
		t.Helper()
		by := map[string]int{}
		for range n {
			rc, host := answered(t, request(t, uar(t, realm, destHost, user)))
			if rc != msg.ResultSuccess {
				t.Fatalf("Result-Code %d from %s", rc, host)
			}
			by[host]++
		}
		return by
	}

	t.Run("realm route shares the load", func(t *testing.T) {
		by := servedBy(t, testRealm, "", "alice", 40)
		if by[hss1] == 0 || by[hss2] == 0 || by[hss1]+by[hss2] != 40 {
			t.Errorf("served %v, want both servers", by)
		}
	})
	t.Run("realm route to one peer", func(t *testing.T) {
		if by := servedBy(t, "one.example.org", "", "alice", 10); by[hss1] != 10 {
			t.Errorf("served %v, want all by %s", by, hss1)
		}
	})
	t.Run("lowest priority first", func(t *testing.T) {
		if by := servedBy(t, "prio.example.org", "", "alice", 10); by[hss2] != 10 {
			t.Errorf("served %v, want all by %s", by, hss2)
		}
	})
	t.Run("Destination-Host of a connected peer", func(t *testing.T) {
		if by := servedBy(t, testRealm, hss1, "alice", 10); by[hss1] != 10 {
			t.Errorf("served %v, want all by %s", by, hss1)
		}
	})
	t.Run("sticky Session-Id", func(t *testing.T) {
		for range 3 { // each session stays on the peer that took its first request
			m := uar(t, "sticky.example.org", "", "alice")
			first := ""
			for i := range 10 {
				m.Header.EndToEndID = 0 // a new transaction of the same session
				rc, by := answered(t, request(t, m))
				if rc != msg.ResultSuccess || (i > 0 && by != first) {
					t.Fatalf("request %d: Result-Code %d from %s, want 2001 from %s", i, rc, by, first)
				}
				first = by
			}
		}
		if n := lab.dra.sticky.len(); n != 3 {
			t.Errorf("%d sessions bound, want 3", n)
		}
	})
	t.Run("unknown application relayed untouched", func(t *testing.T) { opaqueUntouched(t, lab) })

	errorCases := []struct {
		name  string
		req   *diam.Message
		code  uint32
		match func(*diam.Message) bool
	}{
		{name: "no peer to deliver to", req: uar(t, "down.example.org", "", "alice"), code: msg.ResultUnableToDeliver},
		{name: "unknown realm", req: uar(t, "nowhere.example.org", "", "alice"), code: msg.ResultRealmNotServed},
		{name: "loop", code: msg.ResultLoopDetected,
			req: uar(t, testRealm, "", "alice", diam.NewAVP(avp.RouteRecord, avp.Mbit, 0, datatype.DiameterIdentity(draHost)))},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			before := lab.servers[hss1].served.Load() + lab.servers[hss2].served.Load()
			ans := request(t, tc.req)
			rc, _ := answered(t, ans)
			if rc != tc.code {
				t.Fatalf("Result-Code %d, want %d", rc, tc.code)
			}
			if ans.Header.CommandFlags&diam.ErrorFlag == 0 {
				t.Error("protocol error answer without the E bit (RFC 6733 7.1.3)")
			}
			erh, err := ans.FindAVP(avp.ErrorReportingHost, 0)
			if err != nil || string(erh.Data.(datatype.DiameterIdentity)) != draHost {
				t.Errorf("Error-Reporting-Host %v (%v), want %s", erh, err, draHost)
			}
			if oh, _ := ans.FindAVP(avp.OriginHost, 0); oh == nil || string(oh.Data.(datatype.DiameterIdentity)) != draHost {
				t.Errorf("Origin-Host %v, want the DRA", oh)
			}
			if after := lab.servers[hss1].served.Load() + lab.servers[hss2].served.Load(); after != before {
				t.Errorf("a server got the request (%d -> %d)", before, after)
			}
		})
	}

	t.Run("3004 answer retried on the other peer with the T flag", func(t *testing.T) {
		retries := counter(t, lab.dra, "ims_dra_retries_total", map[string]string{"reason": reasonAnswer})
		tBefore := lab.servers[hss2].tFlag.Load()
		// hss1 answers user "busy" with 3004: every request must still be answered by hss2.
		if by := servedBy(t, testRealm, "", "busy", 20); by[hss2] != 20 {
			t.Fatalf("served %v, want all by %s", by, hss2)
		}
		got := counter(t, lab.dra, "ims_dra_retries_total", map[string]string{"reason": reasonAnswer}) - retries
		tFlags := lab.servers[hss2].tFlag.Load() - tBefore
		if got == 0 || float64(tFlags) != got {
			t.Errorf("%v retries, %d requests with the T flag at %s: want as many, at least one", got, tFlags, hss2)
		}
	})
	t.Run("admin API and metrics", func(t *testing.T) { checkAdmin(t, lab) })
}

// checkAdmin reads the admin API and /metrics after the relay tests.
func checkAdmin(t *testing.T, lab *relayLab) {
	get := func(path string, v any) string {
		t.Helper()
		rec := httptest.NewRecorder()
		lab.dra.Admin().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		if v != nil {
			if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		return rec.Body.String()
	}
	var peers []PeerView
	get("/api/v1/peers", &peers)
	state := map[string]PeerView{}
	for _, p := range peers {
		state[p.Host] = p
	}
	if p := state[hss1]; p.State != "OKAY" || p.RequestsOut == 0 || len(p.Apps) == 0 {
		t.Errorf("peer %s: %+v", hss1, p)
	}
	if p := state[hss3]; p.State != "DOWN" {
		t.Errorf("peer %s: %+v, want DOWN", hss3, p)
	}
	if p := state[clientHost]; p.State != "OKAY" || p.RequestsIn == 0 {
		t.Errorf("peer %s: %+v", clientHost, p)
	}
	var routes struct{ Routes []RouteView }
	get("/api/v1/routes", &routes)
	if len(routes.Routes) != 6 || routes.Routes[4].Realm != "down.example.org" || routes.Routes[4].Peers[0].State != "DOWN" ||
		routes.Routes[0].Peers[0].State != "OKAY" {
		t.Errorf("routes: %+v", routes.Routes)
	}
	metrics := get("/metrics", nil)
	for _, want := range []string{`ims_dra_requests_total{app="cx"}`, `ims_dra_answers_total{result_code="3003"} 1`,
		`ims_dra_answers_total{result_code="3005"} 1`, `ims_dra_peer_request_duration_seconds_count{peer="` + hss2 + `"}`,
		`ims_dra_retries_total{reason="answer"}`, `ims_dra_failovers_total{peer="` + hss1 + `"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// opaqueUntouched sends a request of an application no dictionary knows, with an unknown
// vendor AVP carrying the M bit, and checks what the server got: the same bytes apart from the
// Hop-by-Hop Identifier and one Route-Record naming the client appended (RFC 6733 6.1.9); and
// that the answer comes back as the server sent it apart from the Hop-by-Hop Identifier.
func opaqueUntouched(t *testing.T, lab *relayLab) {
	srv := lab.servers[hss2]
	sent := opaqueRequest(msg.NewSessionID(clientHost), testRealm)
	ans, err := lab.client.RequestRaw(context.Background(), sent)
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	if len(srv.raw) == 0 {
		srv.mu.Unlock()
		t.Fatal("the server got nothing")
	}
	got, gave := srv.raw[len(srv.raw)-1][0], srv.raw[len(srv.raw)-1][1]
	srv.mu.Unlock()

	rr := wire.AppendAVP(nil, wire.CodeRouteRecord, wire.AVPFlagMandatory, 0, []byte(clientHost))
	want := append(append([]byte(nil), sent...), rr...)
	binary.BigEndian.PutUint32(want[0:4], uint32(len(want))|1<<24)
	copy(want[12:16], got[12:16]) // Hop-by-Hop: the DRA's own
	if !bytes.Equal(got, want) {
		t.Errorf("server got\n%x\nwant\n%x", got, want)
	}
	if bytes.Equal(got[12:16], sent[12:16]) {
		t.Error("Hop-by-Hop Identifier not replaced")
	}
	if !bytes.Equal(ans[:12], gave[:12]) || !bytes.Equal(ans[16:], gave[16:]) {
		t.Errorf("client got\n%x\nserver gave\n%x", ans, gave)
	}
}

// opaqueRequest is a raw request of opaqueApp: Session-Id, Origin-Host, Origin-Realm,
// Destination-Realm, and an AVP of an unknown vendor with the M bit.
func opaqueRequest(sid, realm string) []byte {
	b := make([]byte, wire.HeaderLen)
	binary.BigEndian.PutUint32(b[4:8], opaqueCmd)
	b[4] = wire.FlagRequest | wire.FlagProxiable
	binary.BigEndian.PutUint32(b[8:12], opaqueApp)
	binary.BigEndian.PutUint32(b[12:16], 0x01020304)
	binary.BigEndian.PutUint32(b[16:20], 0x0a0b0c0d)
	b = wire.AppendAVP(b, wire.CodeSessionID, wire.AVPFlagMandatory, 0, []byte(sid))
	b = wire.AppendAVP(b, wire.CodeOriginHost, wire.AVPFlagMandatory, 0, []byte(clientHost))
	b = wire.AppendAVP(b, wire.CodeOriginRealm, wire.AVPFlagMandatory, 0, []byte(testRealm))
	b = wire.AppendAVP(b, wire.CodeDestinationRealm, wire.AVPFlagMandatory, 0, []byte(realm))
	b = wire.AppendAVP(b, 77777, wire.AVPFlagMandatory, 99999, []byte("opaque payload, odd length"))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(b))|1<<24)
	return b
}
