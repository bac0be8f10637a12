// Package smsip is the SMS-over-IP application server (TS 24.341): it carries SMS in SIP MESSAGE
// bodies between IMS users and reads subscriber data over Sh.
package smsip

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "smsip"

// Node is a running SMS-over-IP application server.
type Node struct {
	cfg   Config
	log   *slog.Logger
	reg   *prometheus.Registry
	admin *admin.Server
}

// New validates cfg and builds the node; its log lines carry node=smsip.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smsip config: %w", err)
	}
	log = log.With(logging.KeyNode, Name)
	reg := metrics.NewRegistry()
	return &Node{cfg: cfg, log: log, reg: reg, admin: admin.New(cfg.Admin.Listen, reg, log)}, nil
}

// Admin is the node's admin server (/healthz, /metrics); tests call its Listen before Run to
// learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// Run serves until ctx is done, then shuts down and returns nil.
func (n *Node) Run(ctx context.Context) error {
	return n.admin.Run(ctx)
}
