// Package s6a is the HSS's S6a server (TS 29.272): it answers AIR, ULR, PUR and NOR from the
// subscriber store and sends the HSS-initiated CLR and IDR to the serving MME.
package s6a

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/hss/internal/authvec"
	"github.com/imscore/imscore/hss/internal/diamerr"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/s6a"
	"github.com/imscore/imscore/pkg/logging"
)

// Store is what the S6a server needs from the subscriber store.
type Store interface {
	Subscriber(ctx context.Context, imsi string) (*store.Subscriber, error)
	AuthByIMSI(ctx context.Context, imsi string) (*store.AuthInfo, error)
	ReserveSQN(ctx context.Context, imsi string, n uint64) (store.Auth, error)
	SetSQN(ctx context.Context, imsi string, sqn uint64) error
	SetServingMME(ctx context.Context, imsi, host, realm string) error
	APN(ctx context.Context, name string) (*store.APNProfile, error)
}

// Requester sends a request to a peer and returns its answer (the peer layer's Node.Request).
type Requester interface {
	Request(ctx context.Context, req *diam.Message) (*diam.Message, error)
}

// Router registers request handlers (the peer layer's Node.Handle).
type Router interface {
	Handle(app, cmd uint32, h peer.Handler)
}

// DefaultMaxVectors caps Number-Of-Requested-Vectors (TS 29.272 5.2.3.1.3: the HSS may return
// fewer vectors than asked).
const DefaultMaxVectors = 5

// Server is the S6a server.
type Server struct {
	id         msg.Identity
	store      Store
	peers      Requester
	log        *slog.Logger
	vectors    *authvec.Issuer
	maxVectors int
	// cancels tracks the CLRs sent in the background, so Wait can let them finish.
	cancels sync.WaitGroup
}

// New builds the S6a server for the HSS identity id; peers sends CLR and IDR.
func New(id msg.Identity, st Store, peers Requester, log *slog.Logger) *Server {
	return &Server{id: id, store: st, peers: peers, log: log, vectors: authvec.New(st), maxVectors: DefaultMaxVectors}
}

// Register installs, for requests to the HSS's realm, the AIR, ULR, PUR and NOR handlers.
func (s *Server) Register(r Router) {
	r.Handle(dict.AppS6a, s6a.CmdAuthenticationInfo, diamerr.ForRealm(s.id.Realm, s.AIR))
	r.Handle(dict.AppS6a, s6a.CmdUpdateLocation, diamerr.ForRealm(s.id.Realm, s.ULR))
	r.Handle(dict.AppS6a, s6a.CmdPurgeUE, diamerr.ForRealm(s.id.Realm, s.PUR))
	r.Handle(dict.AppS6a, s6a.CmdNotify, diamerr.ForRealm(s.id.Realm, s.NOR))
}

// Wait returns once every Cancel-Location-Request sent in the background has been answered
// or has failed.
func (s *Server) Wait() { s.cancels.Wait() }

func decode(req *diam.Message, v any) error {
	if err := msg.Unmarshal(req, v); err != nil {
		return &msg.Error{Code: msg.ResultInvalidAVPValue, Err: err}
	}
	return nil
}

func missing(name string) *msg.Error { return diamerr.Missing(dict.AppS6a, name) }

// subscriber loads the subscriber of a request: an unknown IMSI is
// DIAMETER_ERROR_USER_UNKNOWN (TS 29.272 7.4.3), a disabled one has no EPS subscription.
func (s *Server) subscriber(ctx context.Context, imsi string) (*store.Subscriber, error) {
	return lookup(ctx, imsi, s.store.Subscriber, func(sub *store.Subscriber) bool { return sub.Enabled })
}

// authInfo is subscriber for AIR, which needs the authentication data only.
func (s *Server) authInfo(ctx context.Context, imsi string) (*store.AuthInfo, error) {
	return lookup(ctx, imsi, s.store.AuthByIMSI, func(a *store.AuthInfo) bool { return a.Enabled })
}

func lookup[T any](ctx context.Context, imsi string, get func(context.Context, string) (T, error), enabled func(T) bool) (T, error) {
	var zero T
	if imsi == "" {
		return zero, missing("User-Name")
	}
	v, err := get(ctx, imsi)
	if errors.Is(err, store.ErrNotFound) {
		return zero, diamerr.Experimental(s6a.DiameterErrorUserUnknown, "IMSI %s: %w", imsi, err)
	}
	if err != nil {
		return zero, fmt.Errorf("IMSI %s: %w", imsi, err)
	}
	if !enabled(v) {
		return zero, diamerr.Experimental(s6a.DiameterErrorUnknownEPSSubscription, "IMSI %s is disabled", imsi)
	}
	return v, nil
}

func (s *Server) logger(cmd, sessionID, imsi string) *slog.Logger {
	return s.log.With(logging.KeyCmd, cmd, logging.KeySessionID, sessionID, "imsi", imsi)
}

// debug logs text with the request's keys at debug level, formatting them only when that level
// is on (AIR is a hot path).
func (s *Server) debug(ctx context.Context, cmd, sessionID, imsi, text string, args ...any) {
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.logger(cmd, sessionID, imsi).Debug(text, args...)
	}
}

// plmn reads a Visited-PLMN-Id (TS 29.272 7.3.9): three octets.
func plmn(b []byte) (aka.PLMN, error) {
	var p aka.PLMN
	if len(b) == 0 {
		return p, missing("Visited-PLMN-Id")
	}
	if len(b) != len(p) {
		return p, diamerr.Invalid(dict.AppS6a, "Visited-PLMN-Id", datatype.OctetString(b), "want 3 octets")
	}
	copy(p[:], b)
	return p, nil
}

// AIR answers an Authentication-Information-Request (TS 29.272 5.2.3.1) with E-UTRAN vectors
// whose KASME is bound to the Visited-PLMN-Id (TS 33.401 6.1.2).
func (s *Server) AIR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r s6a.AIR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	sub, err := s.authInfo(ctx, r.UserName)
	if err != nil {
		return nil, err
	}
	sn, err := plmn(r.VisitedPLMNID)
	if err != nil {
		return nil, err
	}
	want := r.RequestedEUTRANAuthenticationInfo
	if want == nil {
		// Only E-UTRAN vectors are served (no UTRAN/GERAN, TS 29.272 5.2.3.1.3).
		return nil, diamerr.Experimental(s6a.DiameterAuthenticationDataUnavailable, "IMSI %s: no E-UTRAN vectors requested", sub.IMSI)
	}
	if sub.Auth.Algorithm != store.AlgorithmMilenage {
		return nil, diamerr.Experimental(s6a.DiameterAuthenticationDataUnavailable, "IMSI %s has no AKA credentials", sub.IMSI)
	}
	if info := want.ReSynchronizationInfo; len(info) > 0 {
		rand, auts, err := aka.SplitResyncInfo(info)
		if err != nil {
			return nil, diamerr.Invalid(dict.AppS6a, "Re-synchronization-Info", datatype.OctetString(info), "want RAND || AUTS, 30 octets")
		}
		if err := s.vectors.Resync(ctx, sub.IMSI, sub.Auth, rand, auts); err != nil {
			if errors.Is(err, aka.ErrMACSMismatch) {
				return nil, &msg.Error{Code: msg.ResultAuthenticationRejected, Err: fmt.Errorf("resync of %s: %w", sub.IMSI, err)}
			}
			return nil, fmt.Errorf("resync of %s: %w", sub.IMSI, err)
		}
		s.logger("AIR", r.SessionID, sub.IMSI).Info("s6a AIR re-synchronised SQN")
	}
	n := max(1, min(int(want.NumberOfRequestedVectors), s.maxVectors))
	vs, err := s.vectors.Vectors(ctx, sub.IMSI, sub.Auth, n)
	if err != nil {
		return nil, fmt.Errorf("vectors of %s: %w", sub.IMSI, err)
	}
	info := &s6a.AuthenticationInfo{}
	for i, v := range vs {
		e := v.EUTRAN(sn)
		info.EUTRANVector = append(info.EUTRANVector, s6a.EUTRANVector{ItemNumber: uint32(i + 1),
			RAND: e.RAND[:], XRES: e.XRES[:], AUTN: e.AUTN[:], KASME: e.KASME[:]})
	}
	s.debug(ctx, "AIR", r.SessionID, sub.IMSI, "s6a AIR answered", "vectors", n)
	a := s6a.AIA{AuthenticationInfo: info}
	return msg.AnswerFor(req, s.id, &a)
}

// ULR answers an Update-Location-Request (TS 29.272 5.2.1.1): it records the MME, cancels the
// location at the previous MME and returns the subscription data.
func (s *Server) ULR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r s6a.ULR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	sub, err := s.subscriber(ctx, r.UserName)
	if err != nil {
		return nil, err
	}
	if _, err := plmn(r.VisitedPLMNID); err != nil {
		return nil, err
	}
	if r.OriginHost == "" {
		return nil, missing("Origin-Host")
	}
	log := s.logger("ULR", r.SessionID, sub.IMSI)
	var data *s6a.SubscriptionData
	// TS 29.272 5.2.1.1.3: Skip-Subscriber-Data asks for no Subscription-Data.
	if r.ULRFlags&s6a.ULRFlagSkipSubscriberData == 0 {
		if data, err = s.subscriptionData(ctx, sub); err != nil {
			return nil, err
		}
	}
	if err := s.store.SetServingMME(ctx, sub.IMSI, r.OriginHost, r.OriginRealm); err != nil {
		return nil, fmt.Errorf("record MME of %s: %w", sub.IMSI, err)
	}
	// TS 29.272 5.2.1.1.3: a new MME makes the HSS cancel the location at the old one. The
	// ULA does not wait for it.
	if old := sub.MMEHost; old != "" && old != r.OriginHost {
		s.cancels.Go(func() {
			ctx := context.WithoutCancel(ctx)
			if err := s.CancelLocation(ctx, sub.IMSI, old, sub.MMERealm, s6a.CancellationTypeMMEUpdateProcedure); err != nil {
				log.Warn("s6a CLR to previous MME failed", logging.KeyPeer, old, logging.KeyErr, err)
			}
		})
	}
	// Separation Indication: the HSS keeps the MME and SGSN registrations apart (7.3.8).
	flags := s6a.ULAFlagSeparationIndication
	log.Info("s6a ULR answered", logging.KeyPeer, r.OriginHost, "previous_mme", sub.MMEHost)
	a := s6a.ULA{ULAFlags: &flags, SubscriptionData: data}
	return msg.AnswerFor(req, s.id, &a)
}

// PUR answers a Purge-UE-Request (TS 29.272 5.2.4.1): when the purging MME is the serving
// one the HSS forgets it and tells it to freeze the M-TMSI.
func (s *Server) PUR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r s6a.PUR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	sub, err := s.subscriber(ctx, r.UserName)
	if err != nil {
		return nil, err
	}
	a := s6a.PUA{}
	if sub.MMEHost != "" && sub.MMEHost == r.OriginHost {
		if err := s.store.SetServingMME(ctx, sub.IMSI, "", ""); err != nil {
			return nil, fmt.Errorf("purge %s: %w", sub.IMSI, err)
		}
		a.PUAFlags = s6a.PUAFlagFreezeMTMSI
	}
	s.logger("PUR", r.SessionID, sub.IMSI).Info("s6a PUR answered", logging.KeyPeer, r.OriginHost, "purged", a.PUAFlags != 0)
	return msg.AnswerFor(req, s.id, &a)
}

// NOR answers a Notify-Request (TS 29.272 5.2.5.1). The HSS keeps no PDN-GW or terminal
// information, so it only checks that the subscriber exists and that the MME serves it.
func (s *Server) NOR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r s6a.NOR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	sub, err := s.subscriber(ctx, r.UserName)
	if err != nil {
		return nil, err
	}
	// TS 29.272 5.2.5.1.2: a notification from a node that is not the registered MME is
	// DIAMETER_ERROR_UNKNOWN_SERVING_NODE.
	if sub.MMEHost != r.OriginHost {
		return nil, diamerr.Experimental(s6a.DiameterErrorUnknownServingNode, "IMSI %s: %s is not its MME", sub.IMSI, r.OriginHost)
	}
	s.debug(ctx, "NOR", r.SessionID, sub.IMSI, "s6a NOR answered")
	return msg.AnswerFor(req, s.id, &s6a.NOA{})
}
