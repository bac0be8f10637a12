package registrar

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/peer"
)

// Overload of the HSS path. Past the chain's capacity the Cx answers come late, then not at
// all: a REGISTER that starts a new authentication then costs a MAR that times out and the UE
// retransmits it, so the work done grows while the registrations completed fall. When a Cx
// answer took longer than overload_cx_latency, or timed out, the registrar refuses REGISTERs
// that would start a new authentication for overloadHold with 503 and Retry-After (RFC 3261
// 21.5.4), before any Cx request, and keeps serving the REGISTERs that answer a challenge or
// refresh a registration: those complete work already paid for.

// overloadHold is how long one slow Cx answer keeps new registrations refused.
const overloadHold = time.Second

var errOverloaded = statusErr(sip.StatusServiceUnavailable, "Service Unavailable",
	errors.New("Cx answers are late: new registrations refused"))

// cxAnswered records how long a Cx request took and how it ended.
func (r *Registrar) cxAnswered(took time.Duration, err error) {
	limit := r.cfg.OverloadCxLatency.D()
	if limit <= 0 {
		return
	}
	timedOut := errors.Is(err, peer.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
	if timedOut || took > limit {
		r.cxSlowUntil.Store(time.Now().Add(overloadHold).UnixNano())
	}
}

// cxOverloaded reports whether new registrations are refused.
func (r *Registrar) cxOverloaded() bool {
	return time.Now().UnixNano() < r.cxSlowUntil.Load()
}
