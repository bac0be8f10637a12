// Package icscf is the Interrogating-CSCF (TS 24.229 5.3): it asks the HSS over Cx which
// S-CSCF serves a user and forwards the request there.
//
// The chain, in order: register (REGISTER: UAR, S-CSCF selection, forward), terminating
// (initial requests without a Route: LIR, forward to the S-CSCF), then requests that still
// carry a Route are forwarded along it and the rest get 404.
package icscf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
	imssip "github.com/imscore/imscore/pkg/sip"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "icscf"

// Node is a running I-CSCF.
type Node struct {
	cfg   Config
	log   *slog.Logger
	reg   *prometheus.Registry
	admin *admin.Server
	diam  *peer.Node
	sip   *imssip.Proxy
}

// New validates cfg and builds the node; its log lines carry node=icscf.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("icscf config: %w", err)
	}
	log = log.With(logging.KeyNode, Name)
	reg := metrics.NewRegistry()
	d, err := peer.New(peerConfig(cfg), log, reg)
	if err != nil {
		return nil, fmt.Errorf("icscf: %w", err)
	}
	n := &Node{cfg: cfg, log: log, reg: reg, admin: admin.New(cfg.Admin.Listen, reg, log), diam: d}
	chain := imssip.Chain(n.routed, n.register, n.terminating)
	n.sip, err = imssip.New(imssip.Config{Listen: cfg.SIP.Listen, Aliases: []string{Name + "." + cfg.SIP.Domain}, UserAgent: Name, Metrics: reg,
		MaxTransactions: cfg.SIP.MaxTransactions, UDPReceiveBuffer: cfg.SIP.UDPReceiveBuffer}, chain, log)
	if err != nil {
		return nil, fmt.Errorf("icscf: %w", err)
	}
	n.admin.AddCheck("diameter", d.Health)
	return n, nil
}

// routed forwards a request that has a Route left after ours was removed; terminating has
// located the others, so what is left (in a dialog, no Route) is not ours to route.
func (n *Node) routed(r *imssip.Request) {
	if r.Route() == nil {
		r.Reply(gosip.StatusNotFound, "Not Found")
		return
	}
	r.Forward(imssip.Forward{})
}

// peerConfig is the I-CSCF as a Cx client of its configured peers (the DRA by default).
func peerConfig(cfg Config) peer.Config { return peer.FromConfig(cfg.Diameter, peer.AppCx) }

// Admin is the node's admin server (/healthz, /metrics); tests call its Listen before Run to
// learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// SIP is the node's SIP proxy; tests call its Listen before Run to learn a port-0 address.
func (n *Node) SIP() *imssip.Proxy { return n.sip }

// Diameter is the node's Diameter peer layer.
func (n *Node) Diameter() *peer.Node { return n.diam }

// Run serves SIP, Diameter and the admin server until ctx is done, then disconnects the
// Diameter peers (DPR) and returns.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	runs := []func(context.Context) error{n.diam.Run, n.sip.Run, n.admin.Run}
	errs := make([]error, len(runs))
	for i, run := range runs {
		wg.Go(func() {
			if errs[i] = run(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
