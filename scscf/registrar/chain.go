package registrar

import (
	"context"

	"github.com/emiago/sipgo/sip"

	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/reginfo"
)

// Middleware is the registrar's link in the S-CSCF's handler chain (pkg/sip): it answers
// REGISTER and reg event SUBSCRIBE, and passes every other request to next.
func (r *Registrar) Middleware(next sipx.Handler) sipx.Handler {
	return func(req *sipx.Request) {
		switch {
		case req.Method == sip.REGISTER:
			ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
			defer cancel()
			req.Respond(r.HandleRegister(ctx, req.Request))
		case req.Method == sip.SUBSCRIBE && header.IsEvent(req, reginfo.EventPackage):
			ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
			defer cancel()
			res, after := r.HandleSubscribe(ctx, req.Request)
			req.Respond(res)
			after()
		default:
			next(req)
		}
	}
}
