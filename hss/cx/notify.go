package cx

import (
	"context"
	"errors"
	"fmt"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// ErrNoRequester: the server was built without a way to send requests.
var ErrNoRequester = errors.New("cx: no Diameter peer to send the request")

// served groups the identities of a subscription that have an S-CSCF (registered, or
// unregistered with services) by that S-CSCF, in identity order.
func served(ims *store.IMS) (names []string, by map[string][]store.IMPU) {
	by = map[string][]store.IMPU{}
	for _, u := range ims.IMPUs {
		if u.State == store.StateNotRegistered || u.SCSCFName == "" {
			continue
		}
		if _, seen := by[u.SCSCFName]; !seen {
			names = append(names, u.SCSCFName)
		}
		by[u.SCSCFName] = append(by[u.SCSCFName], u)
	}
	return names, by
}

// header addresses an HSS-initiated request to the S-CSCF serverName: Destination-Host is its
// Origin-Host as learned from its MAR or SAR and kept in the store (TS 29.229 6.1.9, 6.1.11);
// when never learned the request goes to the home realm and the peer layer routes it.
func (s *Server) header(ctx context.Context, serverName string) (msg.RequestHeader, error) {
	host, err := s.hostOf(ctx, serverName)
	return msg.RequestHeader{
		SessionID:        msg.NewSessionID(s.cfg.Identity.Host),
		OriginHost:       s.cfg.Identity.Host,
		OriginRealm:      s.cfg.Identity.Realm,
		DestinationHost:  host,
		DestinationRealm: s.cfg.Identity.Realm,
	}, err
}

// send sends req and decodes the answer into ans, failing unless it is DIAMETER_SUCCESS.
func (s *Server) send(ctx context.Context, req *diam.Message, ans msg.Answer) error {
	if s.peers == nil {
		return ErrNoRequester
	}
	m, err := s.peers.Request(ctx, req)
	if err != nil {
		return err
	}
	if err := msg.Unmarshal(m, ans); err != nil {
		return err
	}
	if code, exp := ans.Header().Result(); exp || code != msg.ResultSuccess {
		return fmt.Errorf("answer: result %d (experimental %t)", code, exp)
	}
	return nil
}

// Deregister sends a Registration-Termination-Request for every identity of impi that has an
// S-CSCF (TS 29.228 6.1.3, TS 29.229 6.1.9) and, once the S-CSCF answered with success, marks
// them not registered with no S-CSCF. Identities nobody serves need no RTR.
func (s *Server) Deregister(ctx context.Context, impi string, reason cx.DeregistrationReason) error {
	sub, err := s.store.SubscriberByIMPI(ctx, impi)
	if err != nil {
		return fmt.Errorf("deregister %s: %w", impi, err)
	}
	if sub.IMS == nil {
		return fmt.Errorf("deregister %s: no IMS subscription: %w", impi, store.ErrNotFound)
	}
	names, by := served(sub.IMS)
	var errs []error
	for _, name := range names {
		uris := make([]string, len(by[name]))
		for i, u := range by[name] {
			uris[i] = u.URI
		}
		h, err := s.header(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("RTR to %s: %w", name, err))
			continue
		}
		r := cx.RTR{RequestHeader: h, UserName: impi, PublicIdentity: uris, DeregistrationReason: reason}
		log := s.logger("RTR", r.SessionID, impi, uris[0])
		req, err := r.Message()
		if err == nil {
			err = s.send(ctx, req, &cx.RTA{})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("RTR to %s: %w", name, err))
			log.Warn("cx RTR failed", "server_name", name, "err", err)
			continue
		}
		if err := s.store.SetRegistration(ctx, store.Registration{IMPI: impi, IMPUs: uris, State: store.StateNotRegistered}); err != nil {
			errs = append(errs, fmt.Errorf("deregister %s: %w", impi, err))
			continue
		}
		log.Info("cx RTR answered", "server_name", name, "reason", int32(reason.ReasonCode), "impus", len(uris))
	}
	return errors.Join(errs...)
}

// PushProfile sends a Push-Profile-Request with the current user data to every S-CSCF serving
// an identity of impi (TS 29.228 6.1.5, TS 29.229 6.1.11). Identities nobody serves need no PPR.
func (s *Server) PushProfile(ctx context.Context, impi string) error {
	sub, err := s.store.SubscriberByIMPI(ctx, impi)
	if err != nil {
		return fmt.Errorf("push profile of %s: %w", impi, err)
	}
	if sub.IMS == nil {
		return fmt.Errorf("push profile of %s: no IMS subscription: %w", impi, store.ErrNotFound)
	}
	names, by := served(sub.IMS)
	var errs []error
	for _, name := range names {
		data, err := s.userData(ctx, sub.IMS, by[name])
		if err != nil {
			return fmt.Errorf("push profile of %s: %w", impi, err)
		}
		h, err := s.header(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("PPR to %s: %w", name, err))
			continue
		}
		r := cx.PPR{RequestHeader: h, UserName: impi, UserData: string(data),
			ChargingInformation: charging(sub.IMS.Charging)}
		log := s.logger("PPR", r.SessionID, impi, by[name][0].URI)
		req, err := r.Message()
		if err == nil {
			err = s.send(ctx, req, &cx.PPA{})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("PPR to %s: %w", name, err))
			log.Warn("cx PPR failed", "server_name", name, "err", err)
			continue
		}
		log.Info("cx PPR answered", "server_name", name)
	}
	return errors.Join(errs...)
}
