package sip

import (
	"context"
	"log/slog"
	"sync"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
)

// Handler handles one request inside its server transaction. It must answer it: Reply with a
// final status or Forward it.
type Handler func(r *Request)

// Middleware is one link of a chain: it answers the request or calls next, never both.
type Middleware func(next Handler) Handler

// Chain builds the handler that runs mws in order (mws[0] first) and ends in final.
func Chain(final Handler, mws ...Middleware) Handler {
	h := final
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Request is an inbound request with its server transaction. The embedded sipgo request may be
// edited by middleware before Forward; Forward copies it for each branch.
type Request struct {
	*gosip.Request
	// Log carries the request's call_id and method.
	Log *slog.Logger

	proxy    *Proxy
	tx       gosip.ServerTransaction
	ctx      context.Context
	loopHash string
	// ownRoutes are the Route entries naming this proxy that 16.4 removed (see OwnRoute).
	ownRoutes []gosip.Uri

	mu    sync.Mutex
	final bool
}

// callIDOf is the request's Call-ID, for logs; "" when it has none.
func callIDOf(req *gosip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

func newRequest(p *Proxy, req *gosip.Request, tx gosip.ServerTransaction) *Request {
	// Not gosip.ServerTransactionContext: v1.7.2 cancels its context at once.
	ctx, cancel := context.WithCancel(context.Background())
	if !tx.OnTerminate(func(string, error) { cancel() }) {
		cancel()
	}
	return &Request{
		Request: req,
		Log:     p.log.With(logging.KeyCallID, callIDOf(req), logging.KeyMethod, string(req.Method)),
		proxy:   p,
		tx:      tx,
		ctx:     ctx,
	}
}

// Context is done when the server transaction ends (final response sent, CANCEL, transport
// error): work done for the request, such as a Diameter query, should stop then.
func (r *Request) Context() context.Context { return r.ctx }

// Reply answers the request with a response built from it, with hdrs appended. A reply after
// the final response is ignored.
func (r *Request) Reply(code int, reason string, hdrs ...gosip.Header) {
	res := gosip.NewResponseFromRequest(r.Request, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	r.Respond(res)
}

// Respond sends res upstream on the server transaction; once a final response has gone, every
// later response is dropped (RFC 3261 16.7 step 5 allows only 2xx to INVITE after it, and those
// go through Forward).
func (r *Request) Respond(res *gosip.Response) {
	r.mu.Lock()
	if r.final && !(res.IsSuccess() && r.IsInvite()) {
		r.mu.Unlock()
		return
	}
	if res.StatusCode >= 200 {
		r.final = true
		r.proxy.metrics.response(string(r.Method), res.StatusCode)
	}
	r.mu.Unlock()
	if err := r.tx.Respond(res); err != nil {
		r.Log.Debug("sip: response not sent", "status", res.StatusCode, "err", err)
	}
}

// Answered reports whether a final response has been sent.
func (r *Request) Answered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.final
}
