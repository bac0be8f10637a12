package dra

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

const (
	testRealm  = "ims.example.org"
	draHost    = "dra.ims.example.org"
	clientHost = "scscf.ims.example.org"
	// opaqueApp is an application no dictionary of ours knows: the DRA must relay it untouched.
	opaqueApp uint32 = 4242
	opaqueCmd uint32 = 9999
	cmdUAR    uint32 = 300
	waitFor          = 10 * time.Second
)

var (
	opaque    = peer.App{ID: opaqueApp}
	minTw     = config.Duration(config.MinWatchdog)
	reqTimout = config.Duration(5 * time.Second)
)

func testLogger() *slog.Logger {
	if os.Getenv("IMS_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// server is a test Diameter server on the peer layer: it answers UAR with 2001 and a Server-Name
// naming itself, and answers requests of the opaque application raw, recording them.
type server struct {
	host   string
	node   *peer.Node
	served atomic.Int64
	tFlag  atomic.Int64 // requests received with the T flag
	delay  time.Duration
	busy   string // a User-Name answered with 3004 DIAMETER_TOO_BUSY
	listen string // host:port, 127.0.0.1:0 when empty

	mu  sync.Mutex
	raw [][2][]byte // opaque requests and the answers given
}

func startServer(t testing.TB, host, network string, configure func(*server)) *server {
	t.Helper()
	s := &server{host: host, listen: "127.0.0.1:0"}
	if configure != nil {
		configure(s)
	}
	n, err := peer.New(peer.Config{
		Identity:           msg.Identity{Host: host, Realm: testRealm},
		Apps:               []peer.App{peer.AppCx, opaque},
		Listen:             []peer.Endpoint{{Network: network, Addr: s.listen}},
		AcceptUnknownPeers: true,
		Watchdog:           config.MinWatchdog,
	}, testLogger(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.node = n
	n.Handle(dict.AppCx, cmdUAR, s.uaa)
	n.HandleRelay(s.rawAnswer)
	run(t, n.Run)
	return s
}

func (s *server) uaa(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	s.served.Add(1)
	if req.Header.CommandFlags&diam.RetransmittedFlag != 0 {
		s.tFlag.Add(1)
	}
	time.Sleep(s.delay)
	code := msg.ResultSuccess
	if u, err := req.FindAVP(avp.UserName, 0); err == nil && s.busy != "" && string(u.Data.(datatype.UTF8String)) == s.busy {
		code = msg.ResultTooBusy
	}
	a := msg.NewAnswer(req, s.node.Identity(), code)
	a.NewAVP(avp.ServerName, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.UTF8String("sip:"+s.host))
	return a, nil
}

// rawAnswer answers a request of the opaque application with 2001, raw; a Session-Id with
// "slow" in it is answered after 500ms.
func (s *server) rawAnswer(ctx context.Context, from string, req []byte) ([]byte, error) {
	s.served.Add(1)
	if sid, _ := wire.SessionID(req); strings.Contains(sid, "slow") {
		time.Sleep(500 * time.Millisecond)
	}
	ans := wire.ErrorAnswer(req, s.host, testRealm, msg.ResultSuccess, nil)
	s.mu.Lock()
	s.raw = append(s.raw, [2][]byte{slices.Clone(req), slices.Clone(ans)})
	s.mu.Unlock()
	return ans, nil
}

func (s *server) addr(t testing.TB, network string) string {
	t.Helper()
	return listenAddr(t, s.node, network)
}

func listenAddr(t testing.TB, n *peer.Node, network string) string {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if a := n.ListenAddrs()[network]; a != nil {
			return a.String()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s listener", network)
	return ""
}

// run runs fn until the test ends.
func run(t testing.TB, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// draConfig is a DRA on 127.0.0.1:0 over network with the given peers and routes.
func draConfig(network string, peers []config.Peer, routes []Route) Config {
	var cfg Config
	cfg.Defaults()
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Diameter.OriginHost = draHost
	cfg.Diameter.OriginRealm = testRealm
	cfg.Diameter.Listen = []config.Endpoint{{Network: network, Addr: "127.0.0.1:0"}}
	cfg.Diameter.Peers = peers
	cfg.Diameter.Watchdog = minTw
	cfg.Diameter.RequestTimeout = reqTimout
	cfg.Routes = routes
	return cfg
}

func startDRA(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	run(t, n.Run)
	return n
}

// startClient is a peer-layer node that dials addr (the DRA or a server) as its one peer.
func startClient(t testing.TB, network, peerHost, addr string) *peer.Node {
	t.Helper()
	n, err := peer.New(peer.Config{
		Identity:       msg.Identity{Host: clientHost, Realm: testRealm},
		Apps:           []peer.App{peer.AppCx, opaque},
		Peers:          []peer.PeerConfig{{Host: peerHost, Realm: testRealm, Endpoint: peer.Endpoint{Network: network, Addr: addr}}},
		Watchdog:       config.MinWatchdog,
		RequestTimeout: 5 * time.Second,
	}, testLogger(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	run(t, n.Run)
	waitState(t, n, peerHost, "OKAY")
	return n
}

// waitState waits until n's peer host is in state.
func waitState(t testing.TB, n *peer.Node, host, state string) time.Time {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, p := range n.Peers() {
			if strings.EqualFold(p.Host, host) && p.State == state {
				return time.Now()
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("peer %s never %s: %+v", host, state, n.Peers())
	return time.Time{}
}

// uar builds a User-Authorization-Request (TS 29.229 6.1.1) for realm, to destHost when not
// empty, with extra AVPs appended.
func uar(t testing.TB, realm, destHost, user string, extra ...*diam.AVP) *diam.Message {
	t.Helper()
	m, err := msg.NewRequest(cmdUAR, dict.AppCx, &struct {
		SessionID        string `avp:"Session-Id"`
		DestinationHost  string `avp:"Destination-Host,omitempty"`
		DestinationRealm string `avp:"Destination-Realm"`
		UserName         string `avp:"User-Name"`
		PublicIdentity   string `avp:"Public-Identity"`
		VisitedNetwork   []byte `avp:"Visited-Network-Identifier"`
	}{msg.NewSessionID(clientHost), destHost, realm, user, "sip:" + user + "@" + testRealm, []byte(testRealm)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range extra {
		m.AddAVP(a)
	}
	return m
}

// answered returns the Result-Code of an answer and the server named in its Server-Name (or
// Origin-Host when it has none).
func answered(t testing.TB, m *diam.Message) (uint32, string) {
	t.Helper()
	rc, err := m.FindAVP(avp.ResultCode, 0)
	if err != nil {
		t.Fatalf("answer without Result-Code: %v", m)
	}
	by := ""
	if sn, err := m.FindAVP(avp.ServerName, dict.Vendor3GPP); err == nil {
		by = strings.TrimPrefix(string(sn.Data.(datatype.UTF8String)), "sip:")
	} else if oh, err := m.FindAVP(avp.OriginHost, 0); err == nil {
		by = string(oh.Data.(datatype.DiameterIdentity))
	}
	return uint32(rc.Data.(datatype.Unsigned32)), by
}

// counter sums the samples of a metric of the DRA whose labels include labels.
func counter(t testing.TB, n *Node, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// proxy is a TCP relay in front of a server. kill closes every connection at once (a crash);
// frozen swallows everything in both directions (a peer gone silent: only the watchdog can tell).
type proxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(out, in)
		go p.pipe(in, out)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *proxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
