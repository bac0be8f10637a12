// Package scscf is the Serving-CSCF (TS 24.229 5.4): registrar and authenticator of the home
// network (Cx MAR, SAR) and the place where initial filter criteria route requests to applications.
package scscf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/scscf/registrar"
	"github.com/imscore/imscore/scscf/regstore"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "scscf"

// storeFile is the registration database under data_dir.
const storeFile = "scscf.db"

// Node is a running S-CSCF.
type Node struct {
	cfg       Config
	log       *slog.Logger
	reg       *prometheus.Registry
	admin     *admin.Server
	diam      *peer.Node
	store     *regstore.DB
	proxy     *sipx.Proxy
	registrar *registrar.Registrar
	icscf     gosip.Uri
	breakout  *gosip.Uri
	odi       odiTokens
	metrics   *sessionMetrics
}

// New validates cfg and builds the node; its log lines carry node=scscf. It opens the
// registration store and restores the registrations.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scscf config: %w", err)
	}
	cfg.Registrar.Domain = cfg.SIP.Domain
	log = log.With(logging.KeyNode, Name)
	reg := metrics.NewRegistry()
	n := &Node{cfg: cfg, log: log, reg: reg, admin: admin.New(cfg.Admin.Listen, reg, log), metrics: newSessionMetrics(reg)}
	n.icscf, _ = sipx.ParseURI(cfg.ICSCF) // checked by Validate
	if cfg.Breakout != "" {
		b, _ := sipx.ParseURI(cfg.Breakout)
		n.breakout = &b
	}
	var err error
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if n.store, err = regstore.Open(filepath.Join(cfg.DataDir, storeFile)); err != nil {
		return nil, err
	}
	if n.diam, err = peer.New(peerConfig(cfg), log, reg); err != nil {
		return nil, err
	}
	// The chain (STYLE.md: its order written in one place): the registrar answers REGISTER
	// and reg event SUBSCRIBE; every other request is routed by route (session.go).
	handler := func(req *sipx.Request) { n.registrar.Middleware(n.route)(req) }
	if n.proxy, err = sipx.New(sipx.Config{Listen: cfg.SIP.Listen, UserAgent: "imscore-scscf", Metrics: reg,
		MaxTransactions: cfg.SIP.MaxTransactions, UDPReceiveBuffer: cfg.SIP.UDPReceiveBuffer}, handler, log); err != nil {
		return nil, err
	}
	if n.registrar, err = registrar.New(context.Background(), cfg.Registrar, n.diam, n.store, n.proxy, log, reg); err != nil {
		return nil, err
	}
	// The HSS sends RTR and PPR over the connection we opened (TS 29.229 6.1.9, 6.1.11).
	n.diam.Handle(dict.AppCx, cx.CmdRegistrationTermination, n.registrar.RTR)
	n.diam.Handle(dict.AppCx, cx.CmdPushProfile, n.registrar.PPR)
	n.admin.AddCheck("diameter", n.diam.Health)
	n.admin.Routes(n.routes)
	return n, nil
}

// peerConfig makes the node a Diameter client for Cx of the configured peers (the DRA, or the
// HSS directly).
func peerConfig(cfg Config) peer.Config { return peer.FromConfig(cfg.Diameter, peer.AppCx) }

// Admin is the node's admin server (/healthz, /metrics); tests call its Listen before Run to
// learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// Registrar is the node's registrar, for the routing of terminating requests.
func (n *Node) Registrar() *registrar.Registrar { return n.registrar }

// Run serves SIP (UDP and TCP on one port), Diameter and the admin server until ctx is done, then sends
// DPR, waits for the NOTIFYs in flight and closes the registration store (every change was
// written through, so nothing is lost).
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs := []func(context.Context) error{n.diam.Run, n.admin.Run, n.registrar.Run, n.proxy.Run}
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() {
			if errs[i] = run(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	n.close()
	return errors.Join(errs...)
}

func (n *Node) close() {
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn("registration store close failed", logging.KeyErr, err)
		}
	}
}
