package registrar

import (
	"context"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/scscf/regstore"
)

// thirdParty sends a third-party REGISTER to each application server whose iFC matches the
// registration event (TS 24.229 5.4.1.7), in the background and best effort: the UE's
// registration does not wait for them. req is the UE's REGISTER, nil for an expiry.
func (r *Registrar) thirdParty(req *sip.Request, reg *regstore.Registration, regType ifc.RegistrationType, expires time.Duration) {
	prof := r.Profile(reg.IMPU)
	if prof == nil && reg.UserData != "" {
		prof, _ = ifc.ParseSubscription([]byte(reg.UserData))
	}
	ifcs := serviceProfile(prof, reg.IMPU)
	if len(ifcs) == 0 {
		return
	}
	match := ifc.Request{Method: string(sip.REGISTER), RequestURI: "sip:" + r.cfg.Domain, Headers: ifc.Headers{},
		SessionCase: ifc.SessionCaseOriginating, RegistrationType: regType, Registered: true}
	if req != nil {
		match.RequestURI = req.Recipient.String()
		for _, h := range req.Headers() {
			match.Headers.Add(h.Name(), h.Value())
		}
	}
	for after := ifc.Start; ; {
		f, ok := ifc.Evaluate(ifcs, &match, after)
		if !ok {
			return
		}
		after = f.Priority
		as := f.ApplicationServer.ServerName
		r.goBG(func(ctx context.Context) { r.registerAt(ctx, as, reg.IMPU, expires) })
	}
}

// registerAt sends one third-party REGISTER: Request-URI the AS, From the S-CSCF, To the
// public identity, Contact the S-CSCF (TS 24.229 5.4.1.7).
func (r *Registrar) registerAt(ctx context.Context, as, impu string, expires time.Duration) {
	log := r.log.With(logging.KeyMethod, "REGISTER", logging.KeyIMPU, impu, "as", as)
	var asURI, user sip.Uri
	if err := sip.ParseUri(as, &asURI); err != nil {
		log.Warn("third-party REGISTER: bad AS name", logging.KeyErr, err)
		return
	}
	if err := sip.ParseUri(impu, &user); err != nil {
		log.Warn("third-party REGISTER: bad public identity", logging.KeyErr, err)
		return
	}
	req := sip.NewRequest(sip.REGISTER, asURI)
	from := &sip.FromHeader{Address: r.self, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: user, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Contact", "<"+r.self.String()+">"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ThirdPartyTimeout.D())
	defer cancel()
	res, err := r.sipc.Request(ctx, req)
	switch {
	case err != nil:
		log.Info("third-party REGISTER failed", logging.KeyErr, err)
	case !res.IsSuccess():
		log.Info("third-party REGISTER refused", "code", res.StatusCode)
	default:
		log.Debug("third-party REGISTER accepted", logging.KeyCallID, callID(req))
	}
}
