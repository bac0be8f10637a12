// Package hss is the Home Subscriber Server: the Diameter Cx (TS 29.228/29.229) and S6a
// (TS 29.272) server over the subscriber store, with its REST API on the admin server.
package hss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/hss/api"
	"github.com/imscore/imscore/hss/cx"
	"github.com/imscore/imscore/hss/s6a"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/admin"
	pcx "github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "hss"

// Node is a running HSS.
type Node struct {
	cfg   Config
	log   *slog.Logger
	reg   *prometheus.Registry
	admin *admin.Server
	store *store.DB
	diam  *peer.Node
	cx    *cx.Server
	s6a   *s6a.Server
}

// New validates cfg, opens the subscriber store (creating the SQLite file under data_dir) and
// builds the node; its log lines carry node=hss.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hss config: %w", err)
	}
	log = log.With(logging.KeyNode, Name)
	db, err := store.Open(cfg.storeConfig())
	if err != nil {
		return nil, fmt.Errorf("hss store: %w", err)
	}
	reg := metrics.NewRegistry()
	d, err := peer.New(peerConfig(cfg), log, reg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("hss: %w", err)
	}
	id := d.Identity()
	n := &Node{
		cfg:   cfg,
		log:   log,
		reg:   reg,
		admin: admin.New(cfg.Admin.Listen, reg, log),
		store: db,
		diam:  d,
		cx:    cx.New(cx.Config{Identity: id, VisitedNetworks: cfg.VisitedNetworks, MaxAuthItems: cfg.MaxAuthItems}, db, d, log),
		s6a:   s6a.New(id, db, d, log),
	}
	n.cx.Register(d)
	n.s6a.Register(d)
	n.admin.Routes(api.New(db, notifier{n.cx, n.s6a}, cfg.APIToken, log).Routes)
	n.admin.AddCheck("diameter", d.Health)
	return n, nil
}

// peerConfig is the Diameter identity and endpoints of the HSS: a server for Cx and S6a that
// accepts any peer (CSCFs, MMEs and the DRA connect to it).
func peerConfig(cfg Config) peer.Config {
	pc := peer.FromConfig(cfg.Diameter, peer.AppCx, peer.AppS6a)
	pc.AcceptUnknownPeers = true
	return pc
}

// Admin is the node's admin server (/healthz, /metrics, the REST API); tests call its Listen
// before Run to learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// Diameter is the node's Diameter peer layer; tests read its ListenAddrs after Run started.
func (n *Node) Diameter() *peer.Node { return n.diam }

// Run serves Diameter and the admin server until ctx is done, then disconnects the peers
// (DPR), waits for the CLRs in flight and closes the store.
func (n *Node) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.diam.Run(ctx) })
	g.Go(func() error { return n.admin.Run(ctx) })
	err := g.Wait()
	n.s6a.Wait()
	return errors.Join(err, n.store.Close())
}

// notifier sends what the REST API's changes require: RTR and PPR on Cx, IDR (or CLR) on S6a.
type notifier struct {
	cx  *cx.Server
	s6a *s6a.Server
}

func (n notifier) Deregister(ctx context.Context, impi string, reason api.DeregistrationReason) error {
	return n.cx.Deregister(ctx, impi, cxReason(reason))
}

func (n notifier) ProfileChanged(ctx context.Context, impi string) error {
	return n.cx.PushProfile(ctx, impi)
}

func (n notifier) SubscriptionChanged(ctx context.Context, imsi string) error {
	return n.s6a.SubscriptionChanged(ctx, imsi)
}

func cxReason(r api.DeregistrationReason) pcx.DeregistrationReason {
	return pcx.DeregistrationReason{ReasonCode: pcx.ReasonCode(r.Code), ReasonInfo: r.Info}
}
