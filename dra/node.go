// Package dra is the Diameter Routing Agent: a relay agent (RFC 6733 2.8.2, 6.1) that forwards
// requests of any application, as raw frames, by Destination-Host and by a realm routing table
// (Destination-Realm and Application-Id to a peer group with priorities and weights), with
// failover between the peers of a group (RFC 3539), loop detection and Route-Record.
package dra

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "dra"

// Node is a running DRA.
type Node struct {
	cfg    Config
	log    *slog.Logger
	reg    *prometheus.Registry
	admin  *admin.Server
	diam   *peer.Node
	router *router
	sticky *stickiness
}

// New validates cfg and builds the node; its log lines carry node=dra.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dra config: %w", err)
	}
	log = log.With(logging.KeyNode, Name)
	reg := metrics.NewRegistry()
	d, err := peer.New(peerConfig(cfg), log, reg)
	if err != nil {
		return nil, fmt.Errorf("dra: %w", err)
	}
	sticky := newStickiness(cfg.StickyTTL.D())
	n := &Node{
		cfg:    cfg,
		log:    log,
		reg:    reg,
		admin:  admin.New(cfg.Admin.Listen, reg, log),
		diam:   d,
		sticky: sticky,
		router: &router{
			id:      d.Identity(),
			peers:   d,
			table:   newTable(cfg.Routes, sticky),
			metrics: newMetrics(reg),
			log:     log,
		},
	}
	d.HandleRelay(n.router.relay)
	n.admin.Routes(n.routes)
	n.admin.AddCheck("diameter", d.Health)
	return n, nil
}

// peerConfig makes the DRA a relay (RFC 6733 2.4: Application-Id 0xffffffff in CER/CEA) that
// listens for any client and dials the configured peers.
func peerConfig(cfg Config) peer.Config {
	pc := peer.FromConfig(cfg.Diameter, peer.App{ID: peer.Relay})
	pc.AcceptUnknownPeers = cfg.AcceptUnknownPeers
	return pc
}

// Admin is the node's admin server (/healthz, /metrics, /api/v1/peers, /api/v1/routes); tests
// call its Listen before Run to learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// Diameter is the node's Diameter peer layer; tests read its ListenAddrs after Run started.
func (n *Node) Diameter() *peer.Node { return n.diam }

// Run relays until ctx is done, then disconnects the peers (DPR) and stops the admin server.
func (n *Node) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.diam.Run(ctx) })
	g.Go(func() error { return n.admin.Run(ctx) })
	g.Go(func() error { n.sweepSticky(ctx); return nil })
	return g.Wait()
}

// sweepSticky forgets idle Session-Ids of sticky routes.
func (n *Node) sweepSticky(ctx context.Context) {
	tick := time.NewTicker(max(n.cfg.StickyTTL.D()/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n.sticky.sweep(now)
		}
	}
}
