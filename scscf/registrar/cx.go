package registrar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/reginfo"
	"github.com/imscore/imscore/scscf/regstore"
)

func (r *Registrar) header() msg.RequestHeader {
	id := r.dia.Identity()
	return msg.RequestHeader{SessionID: msg.NewSessionID(id.Host), OriginHost: id.Host, OriginRealm: id.Realm,
		DestinationRealm: r.cfg.Domain}
}

// mar asks the HSS for one authentication vector (TS 29.228 6.3, TS 29.229 6.1.7). item
// carries the scheme and, for a resynchronisation, RAND ‖ AUTS.
func (r *Registrar) mar(ctx context.Context, impi, impu string, item cx.SIPAuthDataItem) (*cx.SIPAuthDataItem, error) {
	req := cx.MAR{RequestHeader: r.header(), UserName: impi, PublicIdentity: impu, SIPAuthDataItem: item,
		SIPNumberAuthItems: 1, ServerName: r.cfg.ServerName}
	var a cx.MAA
	if err := r.exchange(ctx, "MAR", &req, &a); err != nil {
		return nil, err
	}
	if len(a.SIPAuthDataItem) == 0 {
		return nil, errors.New("MAA without SIP-Auth-Data-Item")
	}
	return &a.SIPAuthDataItem[0], nil
}

// sar tells the HSS what happened to the registration (TS 29.228 6.1.2, TS 29.229 6.1.3) and
// returns the User-Data it sent, if any.
func (r *Registrar) sar(ctx context.Context, impi, impu string, t cx.ServerAssignmentType, haveData bool) (string, error) {
	req := cx.SAR{RequestHeader: r.header(), UserName: impi, PublicIdentity: []string{impu},
		ServerName: r.cfg.ServerName, ServerAssignmentType: t}
	if haveData {
		req.UserDataAlreadyAvailable = cx.UserDataIsAlreadyAvailable
	}
	var a cx.SAA
	if err := r.exchange(ctx, "SAR", &req, &a); err != nil {
		return "", err
	}
	return a.UserData, nil
}

type cxRequest interface {
	Message() (*diam.Message, error)
}

func (r *Registrar) exchange(ctx context.Context, cmd string, req cxRequest, ans msg.Answer) error {
	m, err := req.Message()
	if err != nil {
		return fmt.Errorf("cx %s: %w", cmd, err)
	}
	start := time.Now()
	am, err := r.dia.Request(ctx, m)
	r.cxAnswered(time.Since(start), err)
	if err != nil {
		return fmt.Errorf("cx %s: %w", cmd, err)
	}
	if err := msg.Unmarshal(am, ans); err != nil {
		return fmt.Errorf("cx %s: %w", cmd, err)
	}
	return checkResult(cmd, ans.Header())
}

// RTR handles a Registration-Termination-Request (TS 29.228 6.1.3, TS 29.229 6.1.9): the
// identities' bindings are removed and their reg event subscribers get a terminated NOTIFY
// (TS 24.229 5.4.1.5).
func (r *Registrar) RTR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var rtr cx.RTR
	if err := msg.Unmarshal(req, &rtr); err != nil {
		return nil, &msg.Error{Code: msg.ResultInvalidAVPValue, Err: err}
	}
	impis := []string{rtr.UserName}
	if rtr.AssociatedIdentities != nil {
		impis = append(impis, rtr.AssociatedIdentities.UserName...)
	}
	var regs []*regstore.Registration
	for _, impi := range impis {
		for _, reg := range r.byIMPI(impi) {
			if len(rtr.PublicIdentity) == 0 || overlaps(reg, rtr.PublicIdentity) {
				regs = append(regs, reg)
			}
		}
	}
	// TS 24.229 5.4.1.5: a permanent termination is "rejected", anything else asks the UE to
	// register again ("deactivated").
	event := reginfo.EventDeactivated
	if rtr.DeregistrationReason.ReasonCode == cx.ReasonCodePermanentTermination {
		event = reginfo.EventRejected
	}
	for _, reg := range regs {
		unlock := r.lock(reg.IMPU)
		if cur := r.get(reg.IMPU); cur != nil {
			r.terminate(ctx, cur, cur.Contacts, event)
			r.metrics.deregs.WithLabelValues("network").Inc()
		}
		unlock()
		r.clearAuth(reg.IMPI, reg.IMPU)
	}
	r.log.Info("registration terminated by the HSS", logging.KeySessionID, rtr.SessionID, logging.KeyCmd, "RTR",
		logging.KeyIMPI, rtr.UserName, "registrations", len(regs), "reason", int32(rtr.DeregistrationReason.ReasonCode))
	a := cx.RTA{}
	return a.Message(req, r.dia.Identity())
}

// PPR handles a Push-Profile-Request (TS 29.228 6.1.5, TS 29.229 6.1.11): the user data of
// the private identity's registrations is replaced.
func (r *Registrar) PPR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var ppr cx.PPR
	if err := msg.Unmarshal(req, &ppr); err != nil {
		return nil, &msg.Error{Code: msg.ResultInvalidAVPValue, Err: err}
	}
	log := r.log.With(logging.KeySessionID, ppr.SessionID, logging.KeyCmd, "PPR", logging.KeyIMPI, ppr.UserName)
	regs := r.byIMPI(ppr.UserName)
	if len(regs) == 0 {
		return nil, &msg.Error{Code: cx.DiameterErrorUserUnknown, Experimental: true,
			Err: fmt.Errorf("no registration of %s", ppr.UserName)}
	}
	if ppr.UserData != "" {
		if _, err := ifc.ParseSubscription([]byte(ppr.UserData)); err != nil {
			return nil, &msg.Error{Code: cx.DiameterErrorNotSupportedUserData, Experimental: true, Err: err}
		}
		for _, reg := range regs {
			if err := r.replaceProfile(ctx, reg.IMPU, ppr.UserData); err != nil {
				return nil, fmt.Errorf("PPR: %w", err)
			}
		}
	}
	log.Info("profile pushed by the HSS", "registrations", len(regs))
	a := cx.PPA{}
	return a.Message(req, r.dia.Identity())
}

func (r *Registrar) replaceProfile(ctx context.Context, impu, userData string) error {
	unlock := r.lock(impu)
	defer unlock()
	cur := r.get(impu)
	if cur == nil {
		return nil
	}
	next := clone(cur)
	next.UserData = userData
	prof, err := ifc.ParseSubscription([]byte(userData))
	if err != nil {
		prof = nil // install reports it
	} else {
		next.Implicit = implicitSet(prof, impu)
	}
	reqs := r.prepareNotifies(next, nil, "", false, false)
	if err := r.save(ctx, next, prof); err != nil {
		return err
	}
	r.sendNotifies(next.IMPU, reqs)
	return nil
}

func overlaps(reg *regstore.Registration, impus []string) bool {
	for _, u := range impus {
		if u == reg.IMPU {
			return true
		}
		for _, i := range reg.Implicit {
			if u == i {
				return true
			}
		}
	}
	return false
}

// implicitSet returns the public identities registered with impu: the non-barred identities
// of the service profile that holds impu (TS 29.228 B.2.1, TS 24.229 5.4.1.2.2: they go in
// P-Associated-URI), impu first.
func implicitSet(sub *ifc.IMSSubscription, impu string) []string {
	for _, sp := range sub.ServiceProfiles {
		found := false
		for _, pi := range sp.PublicIdentities {
			if pi.Identity == impu {
				found = true
			}
		}
		if !found {
			continue
		}
		out := []string{impu}
		for _, pi := range sp.PublicIdentities {
			if pi.Identity != impu && !pi.BarringIndication && pi.Identity != "" {
				out = append(out, pi.Identity)
			}
		}
		return out
	}
	return []string{impu}
}

// serviceProfile returns the iFCs of the profile holding impu.
func serviceProfile(sub *ifc.IMSSubscription, impu string) []ifc.InitialFilterCriteria {
	if sub == nil {
		return nil
	}
	for _, sp := range sub.ServiceProfiles {
		for _, pi := range sp.PublicIdentities {
			if pi.Identity == impu {
				return sp.InitialFilterCriteria
			}
		}
	}
	return nil
}
