// Package pcscf is the Proxy-CSCF (TS 24.229 5.2), the first SIP hop of a UE: it forwards
// REGISTER to the I-CSCF, keeps the registrations it saw succeed, and follows their state at
// the S-CSCF through the reg event.
//
// The chain, in order: register (REGISTER from a UE), regEvent (NOTIFY for our reg-event
// subscriptions), sessions (initial requests: originating from a registered UE along its
// Service-Route, terminating to the UE's flow), then every other request is forwarded with
// Record-Route.
package pcscf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/metrics"
	imssip "github.com/imscore/imscore/pkg/sip"
)

// Name is the node's name in logs, metrics and its Diameter Origin-Host.
const Name = "pcscf"

// Node is a running P-CSCF. Its bindings are kept in memory and written behind to data_dir
// (persist.go).
type Node struct {
	cfg      Config
	log      *slog.Logger
	reg      *prometheus.Registry
	admin    *admin.Server
	sip      *imssip.Proxy
	icscf    gosip.Uri
	bindings *bindings
	persist  *persister
	subs     *subscriptions
}

// New validates cfg and builds the node; its log lines carry node=pcscf.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pcscf config: %w", err)
	}
	log = log.With(logging.KeyNode, Name)
	reg := metrics.NewRegistry()
	icscf, _ := imssip.ParseURI(cfg.ICSCF) // checked by Validate
	b := newBindings()
	n := &Node{cfg: cfg, log: log, reg: reg, admin: admin.New(cfg.Admin.Listen, reg, log), icscf: icscf,
		bindings: b, subs: &subscriptions{m: map[string]*subscription{}},
		persist: &persister{b: b, dir: cfg.DataDir, interval: cfg.BindingsFlushInterval.D(), log: log}}
	chain := imssip.Chain(imssip.ForwardHandler(imssip.Forward{RecordRoute: true}),
		n.register,
		n.regEvent,
		n.sessions,
	)
	if err := n.persist.load(); err != nil {
		return nil, err
	}
	p, err := imssip.New(imssip.Config{Listen: cfg.SIP.Listen, Aliases: []string{Name + "." + cfg.SIP.Domain}, UserAgent: Name, Metrics: reg,
		ACKNextHop: n.ueFlow, MaxTransactions: cfg.SIP.MaxTransactions, UDPReceiveBuffer: cfg.SIP.UDPReceiveBuffer}, chain, log)
	if err != nil {
		return nil, fmt.Errorf("pcscf: %w", err)
	}
	n.sip = p
	n.admin.AddCheck("registrations", func() (bool, any) {
		return true, map[string]int{"bindings": len(n.Bindings()), "reg_event_subscriptions": n.subs.count()}
	})
	return n, nil
}

// Admin is the node's admin server (/healthz, /metrics); tests call its Listen before Run to
// learn a port-0 address.
func (n *Node) Admin() *admin.Server { return n.admin }

// SIP is the node's SIP proxy; tests call its Listen before Run to learn a port-0 address.
func (n *Node) SIP() *imssip.Proxy { return n.sip }

// Bindings returns the registrations the P-CSCF holds now, by AOR.
func (n *Node) Bindings() []Binding { return n.bindings.list(time.Now()) }

// Run serves SIP and the admin server until ctx is done, writing the bindings behind as they
// change, and compacts them into the snapshot once SIP has stopped. The bindings restored at
// start get their reg-event subscriptions again (TS 24.229 5.2.3), the old dialogs being gone
// with the old process.
func (n *Node) Run(ctx context.Context) error {
	if err := n.persist.open(); err != nil {
		return err
	}
	persistCtx, stopPersist := context.WithCancel(context.Background())
	persisted := make(chan error, 1)
	go func() { persisted <- n.persist.run(persistCtx) }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-n.sip.Ready():
			for _, b := range n.Bindings() {
				go n.subscribe(b)
			}
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, run := range []func(context.Context) error{n.sip.Run, n.admin.Run} {
		wg.Go(func() {
			if errs[i] = run(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	n.subs.stop()
	stopPersist()
	return errors.Join(append(errs, <-persisted)...)
}
