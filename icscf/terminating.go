package icscf

import (
	"errors"
	"fmt"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/logging"
	imssip "github.com/imscore/imscore/pkg/sip"
)

// terminating is the chain link for initial requests to a public identity of the home
// network (TS 24.229 5.3.2.1): ask the HSS where the user is served (LIR) and send the request
// to that S-CSCF, or to one chosen by its capabilities for an unregistered user with services.
// Requests in a dialog or with a Route left go on to next.
func (n *Node) terminating(next imssip.Handler) imssip.Handler {
	return func(r *imssip.Request) {
		if r.Method == gosip.REGISTER || r.InDialog() || r.Route() != nil {
			next(r)
			return
		}
		d := n.cfg.Diameter
		lir := &cx.LIR{RequestHeader: msg.RequestHeader{SessionID: msg.NewSessionID(d.OriginHost), OriginHost: d.OriginHost,
			OriginRealm: d.OriginRealm, DestinationRealm: n.cfg.SIP.Domain}, PublicIdentity: imssip.AOR(r.Recipient)}
		log := r.Log.With(logging.KeyIMPU, lir.PublicIdentity, logging.KeySessionID, lir.SessionID)
		lia, err := n.locate(r, lir)
		var scscfs []gosip.Uri
		if err == nil {
			scscfs, err = n.selectSCSCF(&cx.UAA{ServerName: lia.ServerName, ServerCapabilities: lia.ServerCapabilities}, nil)
		}
		if err != nil {
			code, reason, retry := lirStatus(err)
			log.Info("icscf: terminating request refused", "status", code, logging.KeyErr, err)
			reply(r, code, reason, retry)
			return
		}
		log.Debug("icscf: terminating request to S-CSCF", "scscf", scscfs[0].String())
		r.Forward(imssip.Forward{NextHops: scscfs})
	}
}

// locate sends the LIR (TS 29.228 6.1.4, TS 29.229 6.1.5) and decodes the LIA; DIAMETER_SUCCESS
// and DIAMETER_UNREGISTERED_SERVICE both locate the user, anything else is a *resultError.
func (n *Node) locate(r *imssip.Request, lir *cx.LIR) (*cx.LIA, error) {
	m, err := lir.Message()
	if err != nil {
		return nil, fmt.Errorf("icscf: LIR: %w", err)
	}
	ans, err := n.diam.Request(r.Context(), m)
	if err != nil {
		return nil, fmt.Errorf("icscf: LIR: %w", err)
	}
	var lia cx.LIA
	if err := msg.Unmarshal(ans, &lia); err != nil {
		return nil, fmt.Errorf("icscf: LIA: %w", err)
	}
	code, experimental := lia.Result()
	if code < 2000 || code >= 3000 {
		return nil, &resultError{code: code, experimental: experimental}
	}
	return &lia, nil
}

// lirStatus maps a failed location query to the status of the terminating request (TS 24.229
// 5.3.2.1): an unknown user 404, a user neither registered nor with unregistered services 480;
// the rest as for registration.
func lirStatus(err error) (code int, reason string, withRetry bool) {
	var re *resultError
	if errors.As(err, &re) && re.experimental {
		switch re.code {
		case cx.DiameterErrorUserUnknown:
			return gosip.StatusNotFound, "Not Found", false
		case cx.DiameterErrorIdentityNotRegistered:
			return gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable", false
		}
	}
	return sipStatus(err)
}
