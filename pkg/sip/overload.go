package sip

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
)

// DefaultRetryAfter is the base of the Retry-After the proxy sends with its overload 503.
const DefaultRetryAfter = 2 * time.Second

// admission bounds the server transactions in flight: those whose handler has not answered
// yet with more than 100 Trying. A request beyond the bound is refused at once with 503 and
// Retry-After (RFC 3261 21.5.4), before any work is done for it, so that past its capacity the
// node sheds load instead of queueing it until every request times out. An INVITE frees its
// slot with its first provisional response above 100: a ringing call costs no work.
type admission struct {
	max      int64 // 0: no bound
	inFlight atomic.Int64
}

// admit takes a slot, or reports false when all are taken.
func (a *admission) admit() bool {
	if a.max <= 0 {
		a.inFlight.Add(1)
		return true
	}
	if a.inFlight.Add(1) > a.max {
		a.inFlight.Add(-1)
		return false
	}
	return true
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
