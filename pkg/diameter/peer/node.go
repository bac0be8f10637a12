// Package peer is the Diameter peer layer every node uses, as server and as client: transport
// connections over TCP or SCTP, capabilities exchange (RFC 6733 §5.3), the watchdog and
// failover of RFC 3539, disconnect (§5.4), request routing to peers, and dispatch of inbound
// requests to handlers with the RFC 6733 §7 error answers. go-diameter only encodes and
// decodes messages here.
package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	godict "github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// Handler answers one inbound request. A returned error becomes the answer through
// msg.ErrorAnswer (a *msg.Error gives its code, anything else 5012).
type Handler func(ctx context.Context, req *diam.Message) (*diam.Message, error)

// Errors of Request.
var (
	ErrNoPeer   = errors.New("diameter: no open peer for the request")
	ErrPeerDown = errors.New("diameter: peer connection lost before the answer")
	ErrTimeout  = errors.New("diameter: request timed out")
)

// disconnectTimeout bounds the wait for DPAs at shutdown.
const disconnectTimeout = 2 * time.Second

// ceTimeout bounds the capabilities exchange of a new connection.
const ceTimeout = 5 * time.Second

// RelayHandler answers, as raw frames, the requests no Handler covers: a relay or proxy agent
// (the DRA) forwards them untouched with RequestRaw. from is the Origin-Host of the peer the
// request came from. To answer with an error it builds the answer itself (wire.ErrorAnswer);
// a returned error is answered with 5012 DIAMETER_UNABLE_TO_COMPLY.
type RelayHandler func(ctx context.Context, from string, req []byte) ([]byte, error)

type handlerKey struct{ app, cmd uint32 }

// Node is one Diameter identity with its connections.
type Node struct {
	cfg      Config
	log      *slog.Logger
	metrics  *metrics
	dict     *godict.Parser
	handlers map[handlerKey]Handler
	relay    RelayHandler
	stateID  uint32
	inflight chan struct{} // bounds the inbound requests handled at once

	hopByHop atomic.Uint32
	endToEnd atomic.Uint32
	rr       atomic.Uint32 // round robin among candidate peers

	mu          sync.Mutex
	conns       map[string]*conn // open connections by lower-cased peer host
	all         map[*conn]struct{}
	listenAddrs map[string]net.Addr
	ctx         context.Context // the Run context, for handlers
	wg          sync.WaitGroup  // connection goroutines
}

// New builds a Node. reg may be nil (no metrics exported).
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("diameter peer: %w", err)
	}
	now := time.Now()
	n := &Node{
		cfg:      cfg,
		log:      log,
		metrics:  newMetrics(reg),
		dict:     dict.Default(),
		handlers: map[handlerKey]Handler{},
		stateID:  uint32(now.Unix()),
		inflight: make(chan struct{}, cfg.MaxInFlight),
		conns:    map[string]*conn{},
		all:      map[*conn]struct{}{},
		ctx:      context.Background(),
	}
	n.hopByHop.Store(rand.Uint32())
	// RFC 6733 §3: the high 12 bits of the End-to-End Identifier come from the clock, the low
	// 20 bits are random then incremented.
	n.endToEnd.Store(uint32(now.Unix())<<20 | rand.Uint32()&0xfffff)
	return n, nil
}

// Handle registers h for requests of command cmd in application app. Call it before Run.
func (n *Node) Handle(app, cmd uint32, h Handler) {
	n.handlers[handlerKey{app, cmd}] = h
}

// HandleRelay registers h for every request without a Handle registration, whatever its
// application or command. Call it before Run.
func (n *Node) HandleRelay(h RelayHandler) { n.relay = h }

// Identity is our Origin-Host and Origin-Realm.
func (n *Node) Identity() msg.Identity { return n.cfg.Identity }

func (n *Node) nextHopByHop() uint32 { return n.hopByHop.Add(1) }
func (n *Node) nextEndToEnd() uint32 { return n.endToEnd.Add(1) }

// Run listens and dials until ctx is done, then sends DPR to every peer, waits for the DPAs
// (at most 2s) and closes everything.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	n.ctx = ctx
	n.mu.Unlock()
	lns := map[net.Listener]string{} // listener: network
	for _, ep := range n.cfg.Listen {
		ln, err := n.listen(ep)
		if err != nil {
			for l := range lns {
				l.Close()
			}
			return err
		}
		if ln != nil {
			lns[ln] = ep.Network
		}
	}
	var loops sync.WaitGroup
	for ln, network := range lns {
		loops.Go(func() { n.acceptLoop(ctx, ln, network) })
	}
	for _, pc := range n.cfg.Peers {
		if pc.Endpoint != (Endpoint{}) {
			loops.Go(func() { n.dialLoop(ctx, pc) })
		}
	}
	<-ctx.Done()
	for ln := range lns {
		ln.Close()
	}
	loops.Wait()
	n.disconnectAll()
	n.wg.Wait()
	return nil
}

// listen opens one endpoint. SCTP on a kernel without it is not an error: the node says so
// once and serves on its TCP endpoints.
func (n *Node) listen(ep Endpoint) (net.Listener, error) {
	if ep.Network == transport.SCTP && !transport.SCTPSupported() {
		n.log.Warn("SCTP not supported by this kernel; listening on TCP only", "addr", ep.Addr)
		return nil, nil
	}
	ln, err := transport.Listen(ep.Network, ep.Addr)
	if err != nil {
		return nil, fmt.Errorf("diameter peer: %w", err)
	}
	n.log.Info("diameter listening", "network", ep.Network, "addr", addrString(ln.Addr()))
	return ln, nil
}

func (n *Node) acceptLoop(ctx context.Context, ln net.Listener, network string) {
	n.setListenAddr(network, ln.Addr())
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("diameter accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		n.wg.Go(func() { n.accept(ctx, nc, network) })
	}
}

// dialLoop keeps one connection to a configured peer, redialling with exponential backoff.
// While the peer holds a connection it opened to us (it won the election, RFC 6733 §5.6.4),
// we do not dial.
func (n *Node) dialLoop(ctx context.Context, pc PeerConfig) {
	backoff := n.cfg.ReconnectMin
	reopen := false
	for ctx.Err() == nil {
		if c := n.connFor(pc.Host); c != nil {
			select {
			case <-c.done:
				continue
			case <-ctx.Done():
				return
			}
		}
		c, err := n.dial(ctx, pc, reopen)
		if err == nil {
			reopen = true // RFC 3539 §3.4.1: a reconnection goes through REOPEN
			backoff = n.cfg.ReconnectMin
			select {
			case <-c.done:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() == nil {
			n.log.Warn("diameter peer unreachable", "peer", pc.Host, "addr", pc.Endpoint.Addr, "retry_in", backoff, "err", err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		if err != nil {
			backoff = min(2*backoff, n.cfg.ReconnectMax)
		}
	}
}

// register records c as the open connection to its peer. When one exists already, RFC 6733
// §5.6.4 keeps one: between a connection we initiated and one the peer initiated, the side
// with the higher Origin-Host keeps the one it initiated; between two of the same direction
// the new one wins (the old one belongs to a peer that restarted). It returns false when c
// lost and must be closed.
func (n *Node) register(c *conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := strings.ToLower(c.host)
	if old := n.conns[key]; old != nil {
		if old.outbound != c.outbound {
			weWin := strings.ToLower(n.cfg.Identity.Host) > key
			if c.outbound != weWin {
				return false
			}
		}
		delete(n.conns, key)
		go old.close(errors.New("replaced by a newer connection"))
	}
	n.conns[key] = c
	return true
}

func (n *Node) unregister(c *conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if key := strings.ToLower(c.host); n.conns[key] == c {
		delete(n.conns, key)
	}
	delete(n.all, c)
}

func (n *Node) track(c *conn) {
	n.mu.Lock()
	n.all[c] = struct{}{}
	n.mu.Unlock()
}

func (n *Node) connFor(host string) *conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[strings.ToLower(host)]
}

// disconnectAll sends DPR (REBOOTING: we are shutting down and may come back, RFC 6733
// §5.4.3) on every open connection, waits for the DPAs and closes every connection.
func (n *Node) disconnectAll() {
	n.mu.Lock()
	var open []*conn
	for c := range n.all {
		open = append(open, c)
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), disconnectTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range open {
		wg.Go(func() { c.disconnect(ctx, disconnectRebooting) })
	}
	wg.Wait()
}

// PeerStatus describes one connection, for /healthz and the admin API.
type PeerStatus struct {
	Host, Realm string
	Addr        string
	Network     string
	Outbound    bool // we dialled it
	State       string
	Apps        []App // common applications
	RequestsIn  uint64
	RequestsOut uint64
}

// Peers lists the configured peers (DOWN when not connected) and every open connection.
func (n *Node) Peers() []PeerStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []PeerStatus
	seen := map[string]bool{}
	for _, c := range n.conns {
		out = append(out, c.status())
		seen[strings.ToLower(c.host)] = true
	}
	for _, pc := range n.cfg.Peers {
		if !seen[strings.ToLower(pc.Host)] {
			out = append(out, PeerStatus{Host: pc.Host, Realm: pc.Realm, Addr: pc.Endpoint.Addr,
				Network: pc.Endpoint.Network, Outbound: pc.Endpoint != (Endpoint{}), State: stateDown.String(), Apps: pc.Apps})
		}
	}
	return out
}

// ListenAddrs returns the bound address of each listener once Run has opened them, so tests
// can listen on port 0.
func (n *Node) ListenAddrs() map[string]net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]net.Addr{}
	for k, v := range n.listenAddrs {
		out[k] = v
	}
	return out
}

func (n *Node) setListenAddr(network string, a net.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listenAddrs == nil {
		n.listenAddrs = map[string]net.Addr{}
	}
	n.listenAddrs[network] = a
}

func (n *Node) runCtx() context.Context {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ctx
}

func sortConns(cs []*conn) {
	slices.SortFunc(cs, func(a, b *conn) int { return strings.Compare(strings.ToLower(a.host), strings.ToLower(b.host)) })
}

// Health is the node's /healthz check: ok when every peer we dial is connected and OKAY (a
// server that only accepts connections is always ok), with the peer list as detail.
func (n *Node) Health() (bool, any) {
	peers := n.Peers()
	for _, p := range peers {
		if p.Outbound && p.State != stateOkay.String() {
			return false, peers
		}
	}
	return true, peers
}
