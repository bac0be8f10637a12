package pcscf

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/reginfo"
)

// subscribeExpires is the reg-event subscription lifetime TS 24.229 5.2.3 asks for.
const subscribeExpires = 600000 * time.Second

// subscribeTimeout bounds one SUBSCRIBE transaction (64*T1).
const subscribeTimeout = 32 * time.Second

// subscription is one of our reg-event subscription dialogs at an S-CSCF (RFC 6665 4.1.2).
type subscription struct {
	aor     string
	callID  string
	fromTag string
	toTag   string      // the S-CSCF's, from its 2xx or first NOTIFY
	target  gosip.Uri   // the Request-URI of the next SUBSCRIBE: the S-CSCF's Contact once known
	routes  []gosip.Uri // the Route of the next SUBSCRIBE: the Service-Route, then the route set
	cseq    uint32
	refresh *time.Timer
}

// subscriptions are our reg-event subscriptions, by Call-ID.
type subscriptions struct {
	mu      sync.Mutex
	m       map[string]*subscription
	stopped bool
}

func (s *subscriptions) add(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sub.callID] = sub
}

func (s *subscriptions) has(callID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[callID]
	return ok
}

func (s *subscriptions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// remove forgets the subscription and cancels its refresh; false when it was not there.
func (s *subscriptions) remove(callID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[callID]
	if ok && sub.refresh != nil {
		sub.refresh.Stop()
	}
	delete(s.m, callID)
	return ok
}

// stop cancels every refresh, for the node's shutdown.
func (s *subscriptions) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for _, sub := range s.m {
		if sub.refresh != nil {
			sub.refresh.Stop()
		}
	}
}

// learnDialog takes the S-CSCF's tag and route set from m, the 2xx (fromResponse) or the
// NOTIFY that establishes the dialog (RFC 6665 4.1.2.4, RFC 3261 12.1), and its Contact as the
// remote target from every one (SUBSCRIBE and NOTIFY are target refresh requests, RFC 6665
// 4.1.2.1). Without a Contact the SUBSCRIBE keeps following the Service-Route. The route set is
// read only once, for the message that establishes the dialog.
func (s *subscriptions) learnDialog(callID, toTag string, contact *gosip.Uri, m header.Message, fromResponse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[callID]
	if !ok {
		return
	}
	if sub.toTag == "" {
		sub.toTag = toTag
		if contact != nil {
			sub.routes = routeSet(m, fromResponse)
		}
	}
	if contact != nil {
		sub.target = *contact
	}
}

// routeSet is the route set of a dialog from the Record-Route of the message that makes it:
// reversed from a response, as is from a request (RFC 3261 12.1.2, 12.1.1).
func routeSet(m header.Message, reverse bool) []gosip.Uri {
	rr, _ := header.All(header.Named(m, "Record-Route"), header.ParseNameAddrs)
	out := make([]gosip.Uri, 0, len(rr))
	for _, a := range rr {
		out = append(out, a.URI)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// schedule sets the refresh of the subscription for the expiry granted.
func (s *subscriptions) schedule(callID string, granted time.Duration, refresh func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[callID]
	if !ok || s.stopped {
		return
	}
	if sub.refresh != nil {
		sub.refresh.Stop()
	}
	sub.refresh = time.AfterFunc(refreshAfter(granted), refresh)
}

// refreshAfter is when a subscription granted for d is refreshed: 600 s before it expires when
// more than 1200 s were granted, when half of d has passed otherwise (TS 24.229 5.2.3).
func refreshAfter(d time.Duration) time.Duration {
	if d > 1200*time.Second {
		return d - 600*time.Second
	}
	return d / 2
}

// next returns the SUBSCRIBE to send in the dialog, its CSeq counted.
func (s *subscriptions) next(callID string) (subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[callID]
	if !ok || s.stopped {
		return subscription{}, false
	}
	sub.cseq++
	return *sub, true
}

// subscribe starts a reg-event subscription for b.AOR at the S-CSCF along the Service-Route
// (TS 24.229 5.2.3, RFC 3680), so the P-CSCF learns of registrations the network ends.
func (n *Node) subscribe(b Binding) {
	var target gosip.Uri
	if err := gosip.ParseUri(b.AOR, &target); err != nil {
		n.log.Warn("pcscf: AOR is not a URI, no reg-event subscription", logging.KeyIMPU, b.AOR, logging.KeyErr, err)
		return
	}
	self := n.sip.URI("")
	sub := &subscription{aor: b.AOR, callID: newICID() + "@" + self.Host, fromTag: newICID()[:16], target: target}
	for _, sr := range b.ServiceRoute {
		sub.routes = append(sub.routes, sr.URI)
	}
	// Known before sending: the first NOTIFY may overtake the 2xx (RFC 6665 4.1.2.4).
	n.subs.add(sub)
	n.sendSubscribe(sub.callID)
}

// sendSubscribe sends the next SUBSCRIBE of the subscription callID: the initial one or a
// refresh. A 2xx schedules the refresh; a refresh refused with 481, or not answered, gives way
// to a new subscription while the binding lasts (RFC 6665 4.1.2.2); other failures end it.
func (n *Node) sendSubscribe(callID string) {
	sub, ok := n.subs.next(callID)
	if !ok {
		return
	}
	log := n.log.With(logging.KeyIMPU, sub.aor, logging.KeyMethod, "SUBSCRIBE", logging.KeyCallID, callID)
	refresh := sub.cseq > 1
	if _, registered := n.bindings.get(sub.aor); refresh && !registered {
		// The registration ended without a NOTIFY terminated (the UE de-registered or expired).
		n.subs.remove(callID)
		log.Debug("pcscf: reg-event subscription not refreshed, the binding is gone")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	res, err := n.sip.Request(ctx, n.subscribeRequest(sub))
	switch {
	case err == nil && res.StatusCode < 300:
		var contact *gosip.Uri
		if c := res.Contact(); c != nil {
			contact = &c.Address
		}
		toTag := ""
		if to := res.To(); to != nil {
			toTag, _ = to.Params.Get("tag")
		}
		n.subs.learnDialog(callID, toTag, contact, res, true)
		granted := subscribeExpires
		if h := header.First(res, "Expires"); h != nil {
			if v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32); err == nil {
				granted = time.Duration(v) * time.Second
			}
		}
		if granted == 0 {
			n.subs.remove(callID)
			return
		}
		n.subs.schedule(callID, granted, func() { n.sendSubscribe(callID) })
		log.Debug("pcscf: subscribed to reg event", "status", res.StatusCode, "refreshed", refresh, "expires", granted)
	case refresh && (err != nil || res.StatusCode == gosip.StatusCallTransactionDoesNotExists):
		n.subs.remove(callID)
		b, registered := n.bindings.get(sub.aor)
		log.Info("pcscf: reg-event refresh failed, subscribing anew", logging.KeyErr, err, "status", statusOf(res), "registered", registered)
		if registered {
			n.subscribe(b)
		}
	default:
		n.subs.remove(callID)
		log.Warn("pcscf: reg-event SUBSCRIBE failed", logging.KeyErr, err, "status", statusOf(res))
	}
}

func statusOf(res *gosip.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// subscribeRequest builds the SUBSCRIBE of sub (TS 24.229 5.2.3): Event reg, Expires 600000,
// our P-Asserted-Identity; in the dialog once the S-CSCF's tag is known.
func (n *Node) subscribeRequest(sub subscription) *gosip.Request {
	self := n.sip.URI("")
	self.UriParams = nil
	var to gosip.Uri
	_ = gosip.ParseUri(sub.aor, &to) // parsed by subscribe
	req := gosip.NewRequest(gosip.SUBSCRIBE, sub.target)
	req.AppendHeader(&gosip.FromHeader{Address: self, Params: gosip.HeaderParams{{K: "tag", V: sub.fromTag}}})
	toParams := gosip.HeaderParams{}
	if sub.toTag != "" {
		toParams = gosip.HeaderParams{{K: "tag", V: sub.toTag}}
	}
	req.AppendHeader(&gosip.ToHeader{Address: to, Params: toParams})
	callID := gosip.CallIDHeader(sub.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: sub.cseq, MethodName: gosip.SUBSCRIBE})
	for _, rt := range sub.routes {
		req.AppendHeader(&gosip.RouteHeader{Address: rt})
	}
	req.AppendHeader(&gosip.ContactHeader{Address: n.coreURI(self)})
	req.AppendHeader(gosip.NewHeader("Event", reginfo.EventPackage))
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(subscribeExpires.Seconds()))))
	req.AppendHeader(gosip.NewHeader("Accept", reginfo.ContentType))
	req.AppendHeader(header.New(header.NamePAssertedIdentity, header.NameAddr{URI: self}))
	return req
}

// regEvent is the chain link for the NOTIFYs of our reg-event subscriptions (TS 24.229 5.2.5):
// registrations and contacts the S-CSCF reports terminated are dropped.
func (n *Node) regEvent(next imssip.Handler) imssip.Handler {
	return func(r *imssip.Request) {
		if r.Method != gosip.NOTIFY || !header.IsEvent(r, reginfo.EventPackage) || r.Route() != nil {
			next(r)
			return
		}
		callID := r.CallID().Value()
		if !n.subs.has(callID) {
			r.Reply(gosip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
			return
		}
		if from := r.From(); from != nil {
			tag, _ := from.Params.Get("tag")
			var contact *gosip.Uri
			if c := r.Contact(); c != nil {
				contact = &c.Address
			}
			n.subs.learnDialog(callID, tag, contact, r.Request, false)
		}
		ts, err := reginfo.Terminations(r.Body())
		if err != nil {
			r.Reply(gosip.StatusBadRequest, "Bad reginfo Body")
			return
		}
		n.apply(r, ts)
		if h := header.First(r, "Subscription-State"); h != nil && strings.HasPrefix(strings.TrimSpace(strings.ToLower(h.Value())), "terminated") {
			n.subs.remove(callID)
		}
		r.Reply(gosip.StatusOK, "OK")
	}
}

// apply drops the registrations and contacts the S-CSCF reports terminated.
func (n *Node) apply(r *imssip.Request, ts []reginfo.Termination) {
	for _, t := range ts {
		if t.Contact == "" {
			n.bindings.terminate(t.AOR, nil)
			r.Log.Info("pcscf: registration terminated by the S-CSCF", logging.KeyIMPU, t.AOR)
			continue
		}
		var u gosip.Uri
		if err := gosip.ParseUri(t.Contact, &u); err != nil {
			continue
		}
		n.bindings.terminate(t.AOR, &u)
		r.Log.Info("pcscf: contact terminated by the S-CSCF", logging.KeyIMPU, t.AOR, "contact", t.Contact)
	}
}
