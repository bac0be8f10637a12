package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/header"
)

// branchPrefix is the RFC 3261 magic cookie (8.1.1.7).
const branchPrefix = "z9hG4bK"

// maxUDPRequest is the size above which a request goes over TCP (RFC 3261 18.1.1: within 200
// bytes of a 1500-byte path MTU).
const maxUDPRequest = 1300

// messageSize is the length of req as sipgo writes it, counted without building the text.
func messageSize(req *gosip.Request) int {
	var n byteCounter
	req.StringWrite(&n)
	return int(n)
}

// byteCounter is an io.StringWriter that only counts.
type byteCounter int

func (c *byteCounter) WriteString(s string) (int, error) {
	*c += byteCounter(len(s))
	return len(s), nil
}

// cancelGrace is how long a cancelled branch may take to send its final response (64*T1,
// RFC 3261 16.8) before the proxy gives up on it with 408.
var cancelGrace = 64 * gosip.T1

// Forward says how Request.Forward relays a request.
type Forward struct {
	// Targets are tried group after group (serial forking); the targets of a group are tried at
	// once (parallel forking, RFC 3261 16.6). Each target becomes the branch's Request-URI.
	// Empty: one branch to the Request-URI as it is.
	Targets [][]gosip.Uri
	// NextHops, when set, are where the branches are sent whatever the Route and Request-URI
	// say (an outbound proxy: the I-CSCF for the P-CSCF, the S-CSCF for the I-CSCF); a
	// transport parameter chooses the transport. The first is used; the next one only when the
	// one before gave no answer: 408, 503 or a transport error (RFC 3263 4.3 failover, TS
	// 24.229 5.3.1.3 for the I-CSCF).
	NextHops []gosip.Uri
	// RecordRoute adds this proxy to the route set of a dialog (RFC 3261 16.6 step 4).
	RecordRoute bool
	// Request, when set, edits each branch's copy of the request (its Request-URI already the
	// target) before its next hop is chosen, so a Route it adds is followed (RFC 3327 5.3: the
	// Path of a contact).
	Request func(req *gosip.Request)
	// Response, when set, sees every response before it is relayed upstream (its own Via
	// already removed) and may edit it.
	Response func(res *gosip.Response)
	// Declined, when set, gets the status of the best final response when no branch
	// succeeded (408 when none answered), before it is relayed; returning true keeps it from
	// the client and leaves the request unanswered, for the caller to send it elsewhere (TS
	// 24.229 5.4.3.2: default handling of an application server that does not answer).
	Declined func(code int) bool
	// AnswerTimeout, when set, gives up a branch that got no response at all (not even 100)
	// within it, as if it timed out (408), instead of waiting for Timer B or F: an application
	// server that does not answer gets its default handling in seconds (TS 24.229 5.4.3.2
	// step 4d; Clearwater's AS timer).
	AnswerTimeout time.Duration
}

// ForwardHandler is the chain's usual last handler: forward every request with f.
func ForwardHandler(f Forward) Handler { return func(r *Request) { r.Forward(f) } }

// hop is where a request goes next.
type hop struct {
	transport string // UDP or TCP
	addr      string // host:port
	explicit  bool   // the next-hop URI chose the transport
}

// nextHop is RFC 3261 16.6 step 7 and 16.12: the outbound proxy when set, else the top Route,
// else the Request-URI; transport from its transport parameter, else UDP.
func nextHop(req *gosip.Request, outbound *gosip.Uri) hop {
	u := req.Recipient
	if outbound != nil {
		u = *outbound
	} else if rt := req.Route(); rt != nil {
		u = rt.Address
	}
	h := hop{transport: "UDP"}
	if t, ok := u.UriParams.Get("transport"); ok {
		h.explicit = true
		if t != "" {
			h.transport = strings.ToUpper(t)
		}
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	h.addr = net.JoinHostPort(u.Host, strconv.Itoa(port))
	return h
}

// prepare adds our Via and sets where and how sipgo sends req.
func (p *Proxy) prepare(req *gosip.Request, h hop, branch string) {
	p.mu.Lock()
	host, port, udp := p.host, p.port, p.udp
	p.mu.Unlock()
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: h.transport,
		Host: host, Port: port, Params: gosip.HeaderParams{{K: "branch", V: branch}, {K: "rport", V: ""}}}
	req.PrependHeader(via)
	req.SetTransport(h.transport)
	req.SetDestination(h.addr)
	req.SetSource("")
	req.Laddr = gosip.Addr{}
	if h.transport == "UDP" && udp != nil {
		// Send from the listening socket, so the responses come back to the port in our Via.
		a := udp.LocalAddr().(*net.UDPAddr)
		req.Laddr = gosip.Addr{IP: a.IP, Port: a.Port}
	}
	req.SetBody(req.Body())
}

func decMaxForwards(req *gosip.Request) {
	if mf := req.MaxForwards(); mf != nil {
		mf.Dec()
		return
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
}

// loopHash is the loop-detection part of our branch (RFC 3261 16.6 step 8): a hash of the
// fields 16.3 step 4 names, so the same request coming back is a loop and a spiral (a changed
// Request-URI or Route) is not. own are the Route entries naming us that 16.4 removed: a request
// an application server sends back with another of our entries (TS 24.229 5.4.3.2, the odi
// token) is a spiral.
func loopHash(req *gosip.Request, own []gosip.Uri) string {
	b := make([]byte, 0, 512)
	b = append(b, req.Recipient.String()...)
	for _, u := range own {
		b = append(append(b, '|'), u.String()...)
	}
	if h := req.From(); h != nil {
		v, _ := h.Params.Get("tag")
		b = append(append(b, '|'), v...)
	}
	if h := req.To(); h != nil {
		v, _ := h.Params.Get("tag")
		b = append(append(b, '|'), v...)
	}
	if h := req.CallID(); h != nil {
		b = append(append(b, '|'), h.Value()...)
	}
	if h := req.CSeq(); h != nil {
		b = strconv.AppendUint(append(b, '|'), uint64(h.SeqNo), 10)
	}
	for _, r := range header.Named(req, "Route") {
		b = append(append(b, '|'), r.Value()...)
	}
	for _, r := range header.Named(req, "Proxy-Require") {
		b = append(append(b, '|'), r.Value()...)
	}
	// Not a security hash: a loop is our own request coming back, and the 48 bits kept make
	// a false 482 (another request with our Via and the same hash) negligible.
	h := fnv.New64a()
	h.Write(b)
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h.Sum64())
	return hex.EncodeToString(sum[2:])
}

// looped is RFC 3261 16.3 step 4: one of the Vias is ours with the same loop hash.
func (p *Proxy) looped(req *gosip.Request, hash string) bool {
	for _, h := range header.Named(req, "Via") {
		v, ok := h.(*gosip.ViaHeader)
		if !ok || !p.isSelf(gosip.Uri{Host: v.Host, Port: v.Port}) {
			continue
		}
		if b, _ := v.Params.Get("branch"); strings.HasPrefix(b, branchPrefix+hash+".") {
			return true
		}
	}
	return false
}

func randomToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// branch is one client transaction of a forked request.
type branch struct {
	req          *gosip.Request
	tx           gosip.ClientTransaction
	provisional  bool
	answered     bool // any response, 100 included
	cancelWanted bool // cancel once a provisional response arrives (RFC 3261 9.1)
	cancelled    bool
	done         bool
	timerC       *time.Timer
	// noAnswer is the Forward.AnswerTimeout timer, stopped at the first response: a pending
	// timer keeps the branch, its request and its transaction in memory until it fires.
	noAnswer *time.Timer
}

type eventKind int

const (
	evResponse eventKind = iota
	evDone
	evTimerC
	evGiveUp
	evNoAnswer
)

type event struct {
	kind eventKind
	b    *branch
	res  *gosip.Response
	err  error
}

// Forward relays the request statefully and returns once a final response has been sent
// upstream, every branch has ended, or the server transaction was cancelled.
func (r *Request) Forward(f Forward) {
	p := r.proxy
	groups := f.Targets
	if len(groups) == 0 {
		groups = [][]gosip.Uri{{r.Recipient}}
	}
	cancelCh := make(chan struct{})
	var once sync.Once
	r.tx.OnCancel(func(*gosip.Request) { once.Do(func() { close(cancelCh) }) })

	hops := make([]*gosip.Uri, 0, len(f.NextHops))
	for i := range f.NextHops {
		hops = append(hops, &f.NextHops[i])
	}
	if len(hops) == 0 {
		hops = append(hops, nil)
	}
	var best *gosip.Response
	for i, hop := range hops {
		if i > 0 {
			r.Log.Info("sip: no answer from next hop, failing over", "next_hop", hop.String(), "status", best.StatusCode)
			best = nil
		}
		for _, group := range groups {
			if r.forkGroup(p, group, f, hop, cancelCh, &best) {
				break
			}
		}
		if r.Answered() {
			return
		}
		select {
		case <-cancelCh:
			// sipgo answered 487 to the CANCELled transaction (RFC 3261 9.2).
			r.mu.Lock()
			r.final = true
			r.mu.Unlock()
			return
		default:
		}
		if best == nil || (best.StatusCode != gosip.StatusRequestTimeout && best.StatusCode != gosip.StatusServiceUnavailable) {
			break
		}
	}
	if f.Declined != nil {
		code := gosip.StatusRequestTimeout
		if best != nil {
			code = best.StatusCode
		}
		if f.Declined(code) {
			return
		}
	}
	if best == nil {
		r.Reply(gosip.StatusRequestTimeout, "Request Timeout")
		return
	}
	r.relay(best, f)
}

// forkGroup runs one group of parallel branches to the end. It reports whether forking stops
// there: a 2xx or 6xx was received, or the request was cancelled (RFC 3261 16.7 step 10).
func (r *Request) forkGroup(p *Proxy, group []gosip.Uri, f Forward, hop *gosip.Uri, cancelCh <-chan struct{}, best **gosip.Response) bool {
	events := make(chan event, 8)
	quit := make(chan struct{})
	defer close(quit)
	// emit never blocks a branch's goroutine or timer once the group is over.
	emit := func(ev event) {
		select {
		case events <- ev:
		case <-quit:
		}
	}
	var branches []*branch
	for _, target := range group {
		b, err := r.startBranch(p, target, f, hop, emit)
		if err != nil {
			r.Log.Warn("sip: branch not sent", "target", target.String(), logging.KeyErr, err)
			// RFC 3261 16.9: a transport error counts as 503 from that branch.
			considerBest(best, localResponse(b.req, gosip.StatusServiceUnavailable, "Service Unavailable"))
			continue
		}
		branches = append(branches, b)
	}
	pending := len(branches)
	stop, cancelledUp := false, false
	cancelAll := func() {
		for _, b := range branches {
			r.cancelBranch(p, b, emit)
		}
	}
	for pending > 0 {
		var ev event
		select {
		case ev = <-events:
		case <-cancelCh:
			cancelCh = nil
			cancelledUp, stop = true, true
			cancelAll()
			continue
		}
		b := ev.b
		if b.done {
			continue
		}
		switch ev.kind {
		case evTimerC:
			// RFC 3261 16.8: Timer C fired, cancel the branch; if it stays silent, 408.
			r.cancelBranch(p, b, emit)
		case evNoAnswer:
			if b.answered {
				continue
			}
			r.Log.Debug("sip: no response from branch, giving up", "target", b.req.Recipient.String(), "after", f.AnswerTimeout)
			b.done = true
			pending--
			stopTimer(b)
			b.tx.Terminate()
			considerBest(best, localResponse(b.req, gosip.StatusRequestTimeout, "Request Timeout"))
		case evGiveUp:
			b.done = true
			pending--
			b.tx.Terminate()
			considerBest(best, localResponse(b.req, gosip.StatusRequestTimeout, "Request Timeout"))
		case evDone:
			b.done = true
			pending--
			stopTimer(b)
			code, reason := gosip.StatusRequestTimeout, "Request Timeout"
			if errors.Is(ev.err, gosip.ErrTransactionTransport) {
				code, reason = gosip.StatusServiceUnavailable, "Service Unavailable"
			}
			considerBest(best, localResponse(b.req, code, reason))
		case evResponse:
			res := ev.res
			b.answered = true
			if b.noAnswer != nil {
				b.noAnswer.Stop()
			}
			switch {
			case res.StatusCode < 200:
				b.provisional = true
				if b.timerC != nil {
					b.timerC.Reset(p.cfg.TimerC)
				}
				if b.cancelWanted && !b.cancelled {
					r.cancelBranch(p, b, emit)
				}
				if res.StatusCode > 100 && !cancelledUp {
					r.relay(res, f)
				}
			case res.StatusCode < 300:
				b.done = true
				pending--
				stopTimer(b)
				if !cancelledUp {
					r.relay(res, f)
				}
				stop = true
				cancelAll()
			default:
				b.done = true
				pending--
				stopTimer(b)
				considerBest(best, res)
				if res.StatusCode >= 600 {
					stop = true
					cancelAll()
				}
			}
		}
	}
	return stop || cancelledUp
}

func stopTimer(b *branch) {
	if b.timerC != nil {
		b.timerC.Stop()
	}
	if b.noAnswer != nil {
		b.noAnswer.Stop()
	}
}

// startBranch sends one copy of the request to target (RFC 3261 16.6).
// The branch returned with an error carries the request that could not be sent.
func (r *Request) startBranch(p *Proxy, target gosip.Uri, f Forward, outbound *gosip.Uri, emit func(event)) (*branch, error) {
	req := r.Clone()
	req.Recipient = target
	decMaxForwards(req)
	if f.Request != nil {
		f.Request(req)
	}
	h := nextHop(req, outbound)
	if h.transport == "UDP" && !h.explicit && messageSize(req) > maxUDPRequest-200 {
		h.transport = "TCP" // RFC 3261 18.1.1
	}
	if f.RecordRoute {
		p.recordRoute(req, r.Transport(), h.transport)
	}
	p.prepare(req, h, branchPrefix+r.loopHash+"."+randomToken())
	b := &branch{req: req}
	tx, err := p.client.TransactionRequest(r.ctx, req, noBuild)
	if err != nil {
		return b, err
	}
	b.tx = tx
	if req.IsInvite() {
		b.timerC = time.AfterFunc(p.cfg.TimerC, func() { emit(event{kind: evTimerC, b: b}) })
	}
	if f.AnswerTimeout > 0 {
		b.noAnswer = time.AfterFunc(f.AnswerTimeout, func() { emit(event{kind: evNoAnswer, b: b}) })
	}
	go func() {
		for {
			select {
			case res := <-tx.Responses():
				emit(event{kind: evResponse, b: b, res: res})
			case <-tx.Done():
				// A final response passed up just before the end is still read first.
				select {
				case res := <-tx.Responses():
					emit(event{kind: evResponse, b: b, res: res})
				default:
				}
				emit(event{kind: evDone, b: b, err: tx.Err()})
				return
			}
		}
	}()
	return b, nil
}

// recordRoute adds our Record-Route entry, two when the transport changes so that each side of
// the dialog reaches us on its own transport (RFC 5658 3.3, RFC 3261 16.6 step 4).
func (p *Proxy) recordRoute(req *gosip.Request, in, out string) {
	entry := func(transport string) *gosip.RecordRouteHeader {
		u := p.URI("")
		u.UriParams = gosip.HeaderParams{{K: "transport", V: strings.ToLower(transport)}, {K: "lr", V: ""}}
		return &gosip.RecordRouteHeader{Address: u}
	}
	if !strings.EqualFold(in, out) && in != "" {
		req.PrependHeader(entry(in))
	}
	req.PrependHeader(entry(out))
}

// cancelBranch sends CANCEL for a pending INVITE branch (RFC 3261 16.10, 9.1): at once when it
// had a provisional response, else when one arrives. Other methods cannot be cancelled; their
// branches run to their end.
func (r *Request) cancelBranch(p *Proxy, b *branch, emit func(event)) {
	if b.done || b.cancelled || !b.req.IsInvite() {
		return
	}
	if !b.provisional {
		b.cancelWanted = true
		return
	}
	b.cancelled = true
	stopTimer(b)
	c := cancelRequest(b.req)
	go func() {
		res, err := p.sendCancel(c)
		if err != nil {
			r.Log.Debug("sip: CANCEL failed", logging.KeyErr, err)
		} else {
			r.Log.Debug("sip: CANCEL answered", "status", res.StatusCode)
		}
	}()
	time.AfterFunc(cancelGrace, func() { emit(event{kind: evGiveUp, b: b}) })
}

// sendCancel sends a CANCEL built by cancelRequest and waits for its final response.
func (p *Proxy) sendCancel(c *gosip.Request) (*gosip.Response, error) {
	tx, err := p.client.TransactionRequest(context.Background(), c, noBuild)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res != nil && res.StatusCode >= 200 {
				return res, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("CANCEL transaction ended without a final response")
		}
	}
}

// cancelRequest is RFC 3261 9.1: the Request-URI, Call-ID, To, From, CSeq number, top Via
// and Route of the request it cancels.
func cancelRequest(req *gosip.Request) *gosip.Request {
	c := gosip.NewRequest(gosip.CANCEL, req.Recipient)
	c.AppendHeader(req.Via().Clone())
	for _, h := range header.Named(req, "Route") {
		c.AppendHeader(gosip.HeaderClone(h))
	}
	mf := gosip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	for _, h := range []gosip.Header{req.From(), req.To(), req.CallID()} {
		c.AppendHeader(gosip.HeaderClone(h))
	}
	cseq := *req.CSeq()
	cseq.MethodName = gosip.CANCEL
	c.AppendHeader(&cseq)
	c.SetBody(nil)
	c.SetTransport(req.Transport())
	c.SetDestination(req.Destination())
	c.Laddr = req.Laddr
	return c
}

// localResponse is the response the proxy makes up for a branch that ended without one (RFC
// 3261 16.7 step 2, 16.9): built from the branch's request, so it carries our Via like a real one.
func localResponse(req *gosip.Request, code int, reason string) *gosip.Response {
	return gosip.NewResponseFromRequest(req, code, reason, nil)
}

// considerBest keeps the better of *best and res as RFC 3261 16.7 step 6 ranks final
// responses: any 6xx first, else the lowest class (3xx before 4xx before 5xx), the first one
// received within a class.
func considerBest(best **gosip.Response, res *gosip.Response) {
	if *best == nil || rank(res) < rank(*best) {
		*best = res
	}
}

func rank(res *gosip.Response) int {
	if res.StatusCode >= 600 {
		return 0
	}
	return res.StatusCode / 100
}

// relay sends a downstream response upstream: our Via removed (RFC 3261 16.7 step 3), a 503
// turned into 500 (16.7 step 6), then the node's Response hook.
func (r *Request) relay(res *gosip.Response, f Forward) {
	out := res
	if r.IsInvite() {
		// sipgo's INVITE client transaction still reads the response it passed up (the ACK
		// for a non-2xx is built from it); a non-INVITE one is done with it.
		out = res.Clone()
	}
	out.RemoveHeader("Via")
	if out.StatusCode == gosip.StatusServiceUnavailable {
		out.StatusCode, out.Reason = gosip.StatusInternalServerError, "Server Internal Error"
	}
	out.SetTransport(r.Transport())
	out.SetDestination(r.Source())
	if f.Response != nil {
		f.Response(out)
	}
	r.Respond(out)
}
