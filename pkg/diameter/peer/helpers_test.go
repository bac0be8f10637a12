package peer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

const (
	realm   = "ims.example.org"
	testTw  = 300 * time.Millisecond
	cmdUAR  = 300
	cmdMAR  = 303
	waitFor = 5 * time.Second
)

var cx = App{ID: dict.AppCx, Vendor: dict.Vendor3GPP}

type testNode struct {
	*Node
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("IMS_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// baseConfig is a node with a short Tw, lowered through the unexported test knob.
func baseConfig(host string) Config {
	return Config{
		Identity:       msg.Identity{Host: host, Realm: realm},
		Apps:           []App{cx},
		Watchdog:       testTw,
		RequestTimeout: 5 * time.Second,
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   200 * time.Millisecond,
		minWatchdog:    10 * time.Millisecond,
	}
}

// startNode builds and runs a node; handlers are registered by setup before Run.
func startNode(t testing.TB, cfg Config, setup func(n *Node)) *testNode {
	t.Helper()
	reg := prometheus.NewRegistry()
	n, err := New(cfg, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{Node: n, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) stop() {
	tn.cancel()
	<-tn.done
	tn.done <- nil // stop is idempotent
}

// addr waits for the node's listener on network.
func (tn *testNode) addr(t testing.TB, network string) string {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if a := tn.ListenAddrs()[network]; a != nil {
			return a.String()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: no %s listener", tn.cfg.Identity.Host, network)
	return ""
}

// waitState waits until the node's connection to host is in state s.
func (tn *testNode) waitState(t testing.TB, host string, s state) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, p := range tn.Peers() {
			if p.Host == host && p.State == s.String() {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: peer %s never %s: %+v", tn.cfg.Identity.Host, host, s, tn.Peers())
}

func (tn *testNode) counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := tn.reg.Gather()
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
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// uar builds a User-Authorization-Request (TS 29.229 6.1.1) with the AVPs the dictionary
// requires.
func uar(t testing.TB, user string) *diam.Message {
	t.Helper()
	m, err := msg.NewRequest(cmdUAR, dict.AppCx, &struct {
		SessionID        string `avp:"Session-Id"`
		DestinationRealm string `avp:"Destination-Realm"`
		UserName         string `avp:"User-Name"`
		PublicIdentity   string `avp:"Public-Identity"`
		VisitedNetwork   []byte `avp:"Visited-Network-Identifier"`
	}{msg.NewSessionID("test"), realm, user + "@" + realm, "sip:" + user + "@" + realm, []byte(realm)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// okHandler answers every request with 2001 and a Server-Name naming the node, so tests can
// tell which server answered.
func okHandler(n *Node, served *atomic.Int64) Handler {
	return func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		if served != nil {
			served.Add(1)
		}
		a := msg.NewAnswer(req, n.Identity(), msg.ResultSuccess)
		a.NewAVP(avp.ServerName, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.UTF8String("sip:"+n.Identity().Host))
		return a, nil
	}
}

func resultOf(t testing.TB, m *diam.Message) uint32 {
	t.Helper()
	rc, err := resultCode(m)
	if err != nil {
		t.Fatalf("answer without Result-Code: %v\n%v", err, m)
	}
	return rc
}

// freezer is a TCP proxy in front of a server that can stop forwarding in both directions
// (a peer that went silent: the watchdog must notice) or close everything (a crashed peer).
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t testing.TB, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	go f.serve()
	t.Cleanup(f.kill)
	return f
}

func (f *freezer) serve() {
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", f.target)
		if err != nil {
			in.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, in, out)
		f.mu.Unlock()
		go f.pipe(in, out)
		go f.pipe(out, in)
	}
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		if err != nil {
			dst.Close()
			return
		}
		if f.frozen.Load() {
			continue // swallowed: the peer is silent
		}
		if _, err := dst.Write(buf[:k]); err != nil {
			src.Close()
			return
		}
	}
}

// kill makes the server unreachable: listener and connections closed.
func (f *freezer) kill() {
	f.ln.Close()
	f.drop()
}

// drop closes the connections but keeps accepting new ones.
func (f *freezer) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func isPeerDown(err error) bool { return errors.Is(err, ErrPeerDown) }
