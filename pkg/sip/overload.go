package sip

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/header"
)

// DefaultRetryAfter is the base of the Retry-After the proxy sends with its overload 503.
const DefaultRetryAfter = 2 * time.Second

// admission bounds the server transactions in flight: those whose handler has not answered
// yet with more than 100 Trying. A request beyond the bound is refused at once with 503 and
// Retry-After (RFC 3261 21.5.4), before any work is done for it, so that past its capacity the
// node sheds load instead of queueing it until every request times out. An INVITE frees its
// slot with its first provisional response above 100: a ringing call costs no work.
//
// A request that continues work already spent (continues) may go on up to twice the bound:
// past capacity the node then refuses new work first and keeps finishing what it has begun,
// so that its goodput stays near its capacity instead of collapsing into challenges that are
// never answered. Both kinds share the one count, so the continuing ones in flight hold new
// ones back, and the second bound keeps a flood of them (re-REGISTERs after an outage) finite.
type admission struct {
	max      int64 // 0: no bound
	inFlight atomic.Int64
}

// admit takes a slot for req, or reports false when all those open to it are taken.
func (a *admission) admit(req *gosip.Request) bool {
	n := a.inFlight.Add(1)
	// continues parses a header: only asked once the bound for new work is reached.
	if a.max <= 0 || n <= a.max || n <= 2*a.max && continues(req) {
		return true
	}
	a.inFlight.Add(-1)
	return false
}

// continues reports whether req continues work the network has already spent on it:
//   - a REGISTER whose Authorization carries a response (RFC 3261 22.4): it answers a 401
//     (TS 24.229 5.1.1.5.1), for which the I-CSCF's UAR and the S-CSCF's MAR are done; refused,
//     those are wasted and the UE starts over with an initial REGISTER, whose Authorization
//     has response="" (TS 24.229 5.1.1.2.1) and which is new work. The re-REGISTERs of
//     registered UEs carry a response too (TS 24.229 5.1.1.4.1): keeping registered users
//     registered comes next.
//   - a request inside a dialog (RFC 3261 12.2): BYE, re-INVITE, UPDATE, NOTIFY finish or
//     keep up sessions that exist.
//
// Only REGISTER's Authorization: no node here challenges another method (none sends 407, so
// a Proxy-Authorization answers nothing of ours). A UE that sends a made-up response gains
// no more than the second bound allows, and the S-CSCF refuses it.
func continues(req *gosip.Request) bool {
	if inDialog(req) {
		return true
	}
	if req.Method != gosip.REGISTER {
		return false
	}
	for _, h := range header.Named(req, header.NameAuthorization) {
		creds, err := header.ParseCredentials(h.Value())
		if err != nil {
			continue
		}
		for _, c := range creds {
			if c.Response != "" {
				return true
			}
		}
	}
	return false
}

// slot is one admitted transaction; release frees it once.
type slot struct {
	a    *admission
	once sync.Once
}

func (s *slot) release() { s.once.Do(func() { s.a.inFlight.Add(-1) }) }

// admittedTx is the server transaction of an admitted request: its first response above 100
// frees the slot.
type admittedTx struct {
	gosip.ServerTransaction
	slot *slot
}

func (t *admittedTx) Respond(res *gosip.Response) error {
	if res.StatusCode > 100 {
		t.slot.release()
	}
	return t.ServerTransaction.Respond(res)
}

// RetryAfter is the Retry-After header of a 503 for overload (RFC 3261 21.5.4): a number of
// seconds spread over [base, 2*base), so that the refused clients do not all come back at once
// (the UE waits at least that long, TS 24.229 5.1.1.2.1 for REGISTER). base is at least 1 s.
func RetryAfter(base time.Duration) gosip.Header {
	secs := max(int(base.Seconds()), 1)
	return gosip.NewHeader("Retry-After", strconv.Itoa(secs+rand.IntN(secs)))
}

// overloaded answers a request refused by admission: 503 with RetryAfter.
func (p *Proxy) overloaded(req *gosip.Request, tx gosip.ServerTransaction) {
	p.metrics.overload.WithLabelValues(string(req.Method)).Inc()
	res := gosip.NewResponseFromRequest(req, gosip.StatusServiceUnavailable, "Service Unavailable", nil)
	res.AppendHeader(RetryAfter(p.cfg.RetryAfter))
	p.metrics.response(string(req.Method), gosip.StatusServiceUnavailable)
	if err := tx.Respond(res); err != nil {
		p.log.Debug("sip: 503 not sent", logging.KeyCallID, callIDOf(req), logging.KeyErr, err)
	}
}
