package dra

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

// codeErrorReportingHost is the Error-Reporting-Host AVP (RFC 6733 6.3).
const codeErrorReportingHost = 294

// forwarder is what the router needs from the peer layer: the state of a peer and a raw round
// trip on its connection.
type forwarder interface {
	Usable(host string, app uint32) bool
	RequestRawTo(ctx context.Context, host string, req []byte) ([]byte, error)
}

// router relays requests as raw frames (RFC 6733 6.1): it reads the header and the routing
// AVPs, appends a Route-Record and never decodes the rest, so it relays any application.
type router struct {
	id      msg.Identity
	peers   forwarder
	table   *table
	metrics *draMetrics
	log     *slog.Logger
}

// relay is the peer layer's RelayHandler: it answers every request with the answer of the peer
// it was relayed to, or with the DRA's own error answer. The peer layer has validated the
// frame's structure and restores the Hop-by-Hop Identifier of the hop the request came from.
func (r *router) relay(ctx context.Context, from string, req []byte) ([]byte, error) {
	h, err := wire.ParseHeader(req)
	if err != nil {
		return nil, err
	}
	r.metrics.requests.WithLabelValues(appName(h.App)).Inc()
	ans, code := r.route(ctx, from, h, req)
	r.metrics.answers.WithLabelValues(strconv.FormatUint(uint64(code), 10)).Inc()
	return ans, nil
}

// routing is what routing reads from a request: one pass over its top-level AVPs.
type routing struct {
	sessionID, destHost, destRealm string
	hasDestHost, hasDestRealm      bool
	loop                           bool // our identity is in a Route-Record (RFC 6733 6.1.3)
}

func readRouting(req []byte, self string) routing {
	var rt routing
	_ = wire.Walk(req[wire.HeaderLen:], func(a wire.AVP) bool {
		if a.Vendor != 0 {
			return true
		}
		switch a.Code {
		case wire.CodeSessionID:
			if rt.sessionID == "" {
				rt.sessionID = string(a.Data)
			}
		case wire.CodeDestinationHost:
			if !rt.hasDestHost {
				rt.destHost, rt.hasDestHost = string(a.Data), true
			}
		case wire.CodeDestinationRealm:
			if !rt.hasDestRealm {
				rt.destRealm, rt.hasDestRealm = string(a.Data), true
			}
		case wire.CodeRouteRecord:
			rt.loop = rt.loop || strings.EqualFold(string(a.Data), self)
		}
		return true
	})
	return rt
}

// route returns the answer to send back and its Result-Code.
func (r *router) route(ctx context.Context, from string, h wire.Header, req []byte) ([]byte, uint32) {
	rt := readRouting(req, r.id.Host)
	fail := func(code uint32, failed []byte, msg string, args ...any) ([]byte, uint32) {
		r.log.Info(msg, append([]any{"session_id", rt.sessionID, "peer", from, "cmd", h.Cmd, "app", h.App, "code", code}, args...)...)
		return r.errorAnswer(req, code, failed), code
	}
	if rt.loop {
		return fail(msg.ResultLoopDetected, nil, "diameter loop detected")
	}
	// RFC 6733 6.1.9: a relay adds a Route-Record with the identity of the peer the request
	// came from. Everything else travels as received.
	rr := wire.AppendAVP(nil, wire.CodeRouteRecord, wire.AVPFlagMandatory, 0, []byte(from))
	fwd := wire.AddAVP(append(make([]byte, 0, len(req)+len(rr)), req...), rr)
	usable := func(host string) bool { return r.peers.Usable(host, h.App) }

	// RFC 6733 6.1.4, 6.1.5: a request for a host we are connected to goes straight to it.
	if rt.hasDestHost {
		switch {
		case strings.EqualFold(rt.destHost, r.id.Host):
			// For us, and we serve no application: RFC 6733 6.1.4 local processing fails.
			return fail(msg.ResultApplicationUnsupported, nil, "diameter request for the DRA itself")
		case !strings.EqualFold(rt.destHost, from) && usable(rt.destHost):
			ans, err := r.forward(ctx, rt.destHost, fwd)
			if err != nil {
				return fail(msg.ResultUnableToDeliver, nil, "diameter relay to Destination-Host failed", "to", rt.destHost, "err", err)
			}
			return ans, peer.AnswerCode(ans)
		}
	}
	if !rt.hasDestRealm {
		// RFC 6733 6.1: a proxiable request names its realm; Failed-AVP holds an empty one (7.5).
		return fail(msg.ResultMissingAVP, wire.AppendAVP(nil, wire.CodeDestinationRealm, wire.AVPFlagMandatory, 0, nil),
			"diameter request without Destination-Realm")
	}
	g, code := r.table.lookup(rt.destRealm, h.App)
	if g == nil {
		return fail(code, nil, "diameter no route", "realm", rt.destRealm)
	}
	// RFC 3539 5.1 and RFC 6733 5.5.4: a request whose peer went down, or that a peer could not
	// deliver or was too busy for, goes to another peer of the group with the T flag. Never
	// back to the peer it came from.
	tried := []string{from}
	var last []byte
	reason := ""
	for {
		host := g.pick(rt.sessionID, usable, tried)
		if host == "" {
			break
		}
		if reason != "" {
			wire.SetFlags(fwd, wire.FlagRetransmitted)
			r.metrics.retries.WithLabelValues(reason).Inc()
			r.metrics.failovers.WithLabelValues(tried[len(tried)-1]).Inc()
			r.log.Info("diameter request retried on another peer", "session_id", rt.sessionID, "peer", from,
				"cmd", h.Cmd, "from_peer", tried[len(tried)-1], "to", host, "reason", reason)
		}
		ans, err := r.forward(ctx, host, fwd)
		switch {
		case err == nil:
			if c := peer.AnswerCode(ans); c != msg.ResultUnableToDeliver && c != msg.ResultTooBusy {
				g.bind(rt.sessionID, host)
				return ans, c
			}
			last, reason = ans, reasonAnswer
		case errors.Is(err, peer.ErrPeerDown), errors.Is(err, peer.ErrNoPeer):
			reason = reasonPeerDown
		default: // a timeout: the request may have been processed, it is not sent twice
			return fail(msg.ResultUnableToDeliver, nil, "diameter relay failed", "to", host, "err", err)
		}
		tried = append(tried, host)
	}
	if last != nil {
		return last, peer.AnswerCode(last)
	}
	return fail(msg.ResultUnableToDeliver, nil, "diameter no peer to deliver to", "realm", rt.destRealm, "tried", tried[1:])
}

// forward sends the request to host and records the round trip.
func (r *router) forward(ctx context.Context, host string, fwd []byte) ([]byte, error) {
	start := time.Now()
	ans, err := r.peers.RequestRawTo(ctx, host, fwd)
	if err == nil {
		r.metrics.latency.WithLabelValues(host).Observe(time.Since(start).Seconds())
	}
	return ans, err
}

// errorAnswer is the DRA's own answer to req (RFC 6733 7.2), with Error-Reporting-Host naming
// the DRA as the node that set the Result-Code (RFC 6733 6.3, 7.3).
func (r *router) errorAnswer(req []byte, code uint32, failed []byte) []byte {
	ans := wire.ErrorAnswer(req, r.id.Host, r.id.Realm, code, failed)
	return wire.AddAVP(ans, wire.AppendAVP(nil, codeErrorReportingHost, 0, 0, []byte(r.id.Host)))
}
