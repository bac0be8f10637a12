// Package cx is the HSS's Cx server (TS 29.228, TS 29.229): it answers UAR, MAR, SAR and LIR
// from the subscriber store and sends the HSS-initiated RTR and PPR to the serving S-CSCF.
package cx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/hss/internal/authvec"
	"github.com/imscore/imscore/hss/internal/diamerr"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/logging"
)

// Store is what the Cx server needs from the subscriber store.
type Store interface {
	SubscriberByIMPI(ctx context.Context, impi string) (*store.Subscriber, error)
	AuthByIMPI(ctx context.Context, impi, impu string) (*store.AuthInfo, error)
	IMSByIMPI(ctx context.Context, impi string) (*store.IMS, error)
	IMSByIMPU(ctx context.Context, impu string) (*store.IMS, error)
	AuthorizationByIMPI(ctx context.Context, impi string) (*store.Authorization, error)
	ReserveSQN(ctx context.Context, imsi string, n uint64) (store.Auth, error)
	SetSQN(ctx context.Context, imsi string, sqn uint64) error
	SetRegistration(ctx context.Context, r store.Registration) error
	IFCSet(ctx context.Context, name string) (*store.IFCSet, error)
	CapabilitySet(ctx context.Context, name string) (*store.CapabilitySet, error)
	SetSCSCFHost(ctx context.Context, serverName, originHost string) error
	SCSCFHost(ctx context.Context, serverName string) (string, error)
}

// Requester sends a request to a peer and returns its answer (the peer layer's Node.Request).
type Requester interface {
	Request(ctx context.Context, req *diam.Message) (*diam.Message, error)
}

// Router registers request handlers (the peer layer's Node.Handle).
type Router interface {
	Handle(app, cmd uint32, h peer.Handler)
}

// DefaultMaxAuthItems caps SIP-Number-Auth-Items (TS 29.228 6.3: the HSS may return fewer
// vectors than asked).
const DefaultMaxAuthItems = 5

// Config is the Cx server's policy.
type Config struct {
	// Identity is the HSS's Origin-Host and Origin-Realm.
	Identity msg.Identity
	// VisitedNetworks are the Visited-Network-Identifier values a user may register from
	// (TS 29.228 6.1.1.1 step 3); the home realm (Identity.Realm) is always allowed.
	VisitedNetworks []string
	// MaxAuthItems caps the vectors of one MAR; 0 means DefaultMaxAuthItems.
	MaxAuthItems int
}

// Server is the Cx server.
type Server struct {
	cfg     Config
	store   Store
	peers   Requester
	log     *slog.Logger
	vectors *authvec.Issuer

	// hosts maps an S-CSCF's Server-Name (its SIP URI) to its Diameter Origin-Host, learned
	// from its MAR and SAR, so that RTR and PPR carry Destination-Host (TS 29.229 6.1.9, 6.1.11).
	// It caches the store's record (Store.SetSCSCFHost), which outlives a restart.
	mu    sync.Mutex
	hosts map[string]string
}

// New builds the Cx server. peers sends RTR and PPR; with nil they fail with ErrNoRequester.
func New(cfg Config, st Store, peers Requester, log *slog.Logger) *Server {
	if cfg.MaxAuthItems <= 0 {
		cfg.MaxAuthItems = DefaultMaxAuthItems
	}
	cfg.MaxAuthItems = min(cfg.MaxAuthItems, aka.MaxVectors)
	return &Server{
		cfg:     cfg,
		store:   st,
		peers:   peers,
		log:     log,
		vectors: authvec.New(st),
		hosts:   map[string]string{},
	}
}

// Register installs, for requests to the HSS's realm, the UAR, MAR, SAR and LIR handlers.
func (s *Server) Register(r Router) {
	r.Handle(dict.AppCx, cx.CmdUserAuthorization, diamerr.ForRealm(s.cfg.Identity.Realm, s.UAR))
	r.Handle(dict.AppCx, cx.CmdMultimediaAuth, diamerr.ForRealm(s.cfg.Identity.Realm, s.MAR))
	r.Handle(dict.AppCx, cx.CmdServerAssignment, diamerr.ForRealm(s.cfg.Identity.Realm, s.SAR))
	r.Handle(dict.AppCx, cx.CmdLocationInfo, diamerr.ForRealm(s.cfg.Identity.Realm, s.LIR))
}

// learnHost records originHost as the Origin-Host of the S-CSCF serverName. The store is
// written only when that changes what this server knows: once per S-CSCF after a start.
func (s *Server) learnHost(ctx context.Context, serverName, originHost string) error {
	if serverName == "" || originHost == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hosts[serverName] == originHost {
		return nil
	}
	if err := s.store.SetSCSCFHost(ctx, serverName, originHost); err != nil {
		return fmt.Errorf("record Origin-Host of %s: %w", serverName, err)
	}
	s.hosts[serverName] = originHost
	return nil
}

// hostOf is the Origin-Host of the S-CSCF serverName, empty when it was never learned.
func (s *Server) hostOf(ctx context.Context, serverName string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.hosts[serverName]; ok {
		return h, nil
	}
	h, err := s.store.SCSCFHost(ctx, serverName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("Origin-Host of %s: %w", serverName, err)
	}
	s.hosts[serverName] = h
	return h, nil
}

var experimental = diamerr.Experimental

func missing(name string) *msg.Error { return diamerr.Missing(dict.AppCx, name) }

// lookupErr maps a store lookup failure: an unknown identity is DIAMETER_ERROR_USER_UNKNOWN
// (TS 29.229 6.2.2.1); anything else is the store's problem, 5012.
func lookupErr(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return experimental(cx.DiameterErrorUserUnknown, "%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// authorization reads what UAR needs of impi, in one query rather than the whole subscriber,
// and checks that impu belongs to it (TS 29.228 6.1.1.1 step 1). A private identity without
// an IMS subscription is not found.
func (s *Server) authorization(ctx context.Context, impi, impu string) (*store.Authorization, *store.IMPU, error) {
	a, err := s.store.AuthorizationByIMPI(ctx, impi)
	if err != nil {
		return nil, nil, lookupErr(err, "IMPI "+impi)
	}
	if u := a.IMS.IMPU(impu); u != nil {
		return a, u, nil
	}
	return nil, nil, s.notOwn(ctx, impi, impu)
}

// notOwn is the error for a public identity impu that impi does not have: when it exists under
// another IMPI that is a mismatch, not an unknown user.
func (s *Server) notOwn(ctx context.Context, impi, impu string) error {
	if _, err := s.store.IMSByIMPU(ctx, impu); err != nil {
		return lookupErr(err, "IMPU "+impu)
	}
	return experimental(cx.DiameterErrorIdentitiesDontMatch, "IMPU %s does not belong to %s", impu, impi)
}

// homeRealm is the realm part of a private identity (TS 23.003 13.3: username@realm).
func homeRealm(impi string) string {
	if i := strings.LastIndexByte(impi, '@'); i >= 0 {
		return impi[i+1:]
	}
	return impi
}

// logger returns the log with the request's keys.
func (s *Server) logger(cmd, sessionID, impi, impu string) *slog.Logger {
	return s.log.With(logging.KeyCmd, cmd, logging.KeySessionID, sessionID, logging.KeyIMPI, impi, logging.KeyIMPU, impu)
}

// debug logs text with the request's keys at debug level. The keys are only formatted when
// that level is on: a discarded line would otherwise cost every request an allocation of the
// whole logger.
func (s *Server) debug(ctx context.Context, cmd, sessionID, impi, impu, text string, args ...any) {
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.logger(cmd, sessionID, impi, impu).Debug(text, args...)
	}
}
