package registrar

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/reginfo"
	"github.com/imscore/imscore/scscf/regstore"
)

// statusBadEvent is 489 Bad Event (RFC 6665 8.3.2), which sipgo does not name.
const statusBadEvent = 489

// Subscription-State reasons (RFC 6665 4.1.3).
const (
	reasonNoResource = "noresource"
	reasonTimeout    = "timeout"
)

// HandleSubscribe answers a reg event SUBSCRIBE from a UE or a P-CSCF (TS 24.229 5.4.2.1.1).
// The caller sends the response, then calls after, which sends the NOTIFY with the full state
// (RFC 6665 4.2.1.2: the NOTIFY follows the 200).
func (r *Registrar) HandleSubscribe(ctx context.Context, req *sip.Request) (res *sip.Response, after func()) {
	log := r.log.With(logging.KeyCallID, callID(req), logging.KeyMethod, string(req.Method))
	res, impu, notify, err := r.subscribe(ctx, req)
	if err != nil {
		code, reason := sipStatus(err)
		res = sip.NewResponseFromRequest(req, code, reason, nil)
		if code == statusBadEvent {
			res.AppendHeader(sip.NewHeader("Allow-Events", reginfo.EventPackage))
		}
		log.Info("SUBSCRIBE rejected", "code", code, logging.KeyErr, err)
		return res, func() {}
	}
	log.Info("reg event subscription", logging.KeyIMPU, impu, "subscriber", req.From().Address.String())
	return res, func() { r.sendNotifies(impu, []*sip.Request{notify}) }
}

func (r *Registrar) subscribe(ctx context.Context, req *sip.Request) (*sip.Response, string, *sip.Request, error) {
	if !header.IsEvent(req, reginfo.EventPackage) {
		return nil, "", nil, statusErr(statusBadEvent, "Bad Event", fmt.Errorf("event %v", header.First(req, "Event")))
	}
	from, to, contact := req.From(), req.To(), req.Contact()
	if from == nil || to == nil || contact == nil {
		return nil, "", nil, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("SUBSCRIBE without From, To or Contact"))
	}
	fromTag, _ := from.Params.Get("tag")
	expires := r.cfg.MaxSubscribeExpires.D()
	if h := header.First(req, "Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return nil, "", nil, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("Expires %q", h.Value()))
		}
		expires = min(time.Duration(n)*time.Second, expires)
	}
	// TS 24.229 5.4.2.1.1: the Request-URI is the public identity whose registration state is
	// asked for.
	resource := sipx.AOR(req.Recipient)
	reg := r.lookup(resource)
	if reg == nil {
		return nil, "", nil, statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("%s is not registered", resource))
	}
	routes, err := header.All(header.Named(req, "Record-Route"), header.ParseNameAddrs)
	if err != nil {
		return nil, "", nil, err
	}

	unlock := r.lock(reg.IMPU)
	defer unlock()
	cur := r.get(reg.IMPU)
	if cur == nil {
		return nil, "", nil, statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("%s is not registered", resource))
	}
	next := clone(cur)
	id := callID(req)
	i := slices.IndexFunc(next.Subscriptions, func(s regstore.Subscription) bool {
		return s.CallID == id && s.FromTag == fromTag
	})
	if i < 0 {
		if toTag, ok := to.Params.Get("tag"); ok && toTag != "" {
			return nil, "", nil, statusErr(sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", fmt.Errorf("no subscription %s", id))
		}
		s := regstore.Subscription{CallID: id, FromTag: fromTag, ToTag: sip.GenerateTagN(16),
			Resource: sipx.AOR(to.Address), Subscriber: from.Address.String(), Contact: contact.Address.String()}
		for _, rt := range routes {
			s.RouteSet = append(s.RouteSet, rt.String())
		}
		next.Subscriptions = append(next.Subscriptions, s)
		i = len(next.Subscriptions) - 1
	}
	sub := &next.Subscriptions[i]
	sub.Expires = time.Now().Add(expires)
	state := "active;expires=" + strconv.Itoa(int(expires.Seconds()))
	if expires == 0 {
		state = "terminated;reason=" + reasonTimeout
	}
	notify, err := r.notifyRequest(next, sub, nil, "", state)
	if err != nil {
		return nil, "", nil, err
	}
	if expires == 0 {
		next.Subscriptions = slices.Delete(next.Subscriptions, i, i+1)
	}
	toTag := sub.ToTag
	if err := r.save(ctx, next, nil); err != nil {
		return nil, "", nil, err
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if h := res.To(); h != nil {
		h.Params.Remove("tag")
		h.Params.Add("tag", toTag)
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	res.AppendHeader(sip.NewHeader("Contact", "<"+r.self.String()+">"))
	return res, next.IMPU, notify, nil
}

// prepareNotifies builds a NOTIFY with the full state of next for each of its subscriptions,
// bumping their CSeq and version in next, which the caller then saves. gone lists bindings just
// removed, reported as terminated with goneEvent. terminated ends every subscription. refresh
// says that next changed nothing but expiry times: with refresh_notify_interval set, the
// subscriptions notified within that interval are skipped.
func (r *Registrar) prepareNotifies(next *regstore.Registration, gone []regstore.Contact, goneEvent string, terminated, refresh bool) []*sip.Request {
	var out []*sip.Request
	now := time.Now()
	quiet := r.cfg.RefreshNotifyInterval.D()
	for i := range next.Subscriptions {
		s := &next.Subscriptions[i]
		if refresh && quiet > 0 && now.Sub(s.Notified) < quiet {
			continue
		}
		state := "terminated;reason=" + reasonNoResource
		if !terminated {
			state = "active;expires=" + strconv.Itoa(max(0, int(s.Expires.Sub(now).Seconds())))
		}
		req, err := r.notifyRequest(next, s, gone, goneEvent, state)
		if err != nil {
			r.log.Warn("reg event NOTIFY not built", logging.KeyCallID, s.CallID, logging.KeyIMPU, next.IMPU, logging.KeyErr, err)
			continue
		}
		out = append(out, req)
	}
	if terminated {
		next.Subscriptions = nil
	}
	return out
}

// notifyRequest builds the in-dialog NOTIFY of subscription s (RFC 6665 4.2.2, RFC 3680 5).
func (r *Registrar) notifyRequest(reg *regstore.Registration, s *regstore.Subscription, gone []regstore.Contact, goneEvent, state string) (*sip.Request, error) {
	s.CSeq++
	s.Notified = time.Now()
	// Not indented: NOTIFYs go over UDP and must stay under 1300 bytes (RFC 3261 18.1.1), so
	// 1 KiB holds a body in one allocation.
	body := regInfo(reg, s.Version, gone, goneEvent, s.Notified).AppendXML(make([]byte, 0, 1024))
	s.Version++
	var target, resource, subscriber sip.Uri
	for _, u := range []struct {
		dst *sip.Uri
		s   string
	}{{&target, s.Contact}, {&resource, s.Resource}, {&subscriber, s.Subscriber}} {
		if err := sip.ParseUri(u.s, u.dst); err != nil {
			return nil, fmt.Errorf("subscription %s: %q: %w", s.CallID, u.s, err)
		}
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	for _, rt := range s.RouteSet {
		req.AppendHeader(sip.NewHeader("Route", rt))
	}
	from := &sip.FromHeader{Address: resource, Params: sip.NewParams()}
	from.Params.Add("tag", s.ToTag)
	to := &sip.ToHeader{Address: subscriber, Params: sip.NewParams()}
	if s.FromTag != "" {
		to.Params.Add("tag", s.FromTag)
	}
	cid := sip.CallIDHeader(s.CallID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.CSeq, MethodName: sip.NOTIFY})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Contact", "<"+r.self.String()+">"))
	req.AppendHeader(sip.NewHeader("Event", reginfo.EventPackage))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", reginfo.ContentType))
	req.SetBody(body)
	return req, nil
}

// regInfo is the full registration state of reg (TS 24.229 5.4.2.1.2): one <registration>
// per identity of the implicit set, each with every binding.
func regInfo(reg *regstore.Registration, version uint32, gone []regstore.Contact, goneEvent string, now time.Time) *reginfo.Reginfo {
	aors := reg.Implicit
	if len(aors) == 0 {
		aors = []string{reg.IMPU}
	}
	var contacts []reginfo.Contact
	for _, c := range reg.Contacts {
		exp := int(max(0, c.Expires.Sub(now).Round(time.Second).Seconds()))
		contacts = append(contacts, reginfo.Contact{ID: shortID(c.URI), State: reginfo.StateActive,
			Event: reginfo.EventRegistered, Expires: &exp, URI: c.URI})
	}
	for _, c := range gone {
		contacts = append(contacts, reginfo.Contact{ID: shortID(c.URI), State: reginfo.StateTerminated,
			Event: goneEvent, URI: c.URI})
	}
	state := reginfo.StateActive
	if len(reg.Contacts) == 0 {
		state = reginfo.StateTerminated
	}
	doc := &reginfo.Reginfo{Version: version, State: reginfo.StateFull}
	for _, aor := range aors {
		doc.Registrations = append(doc.Registrations, reginfo.Registration{AOR: aor, ID: shortID(aor), State: state, Contacts: contacts})
	}
	return doc
}

func shortID(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// sendNotifies sends NOTIFYs in the background; a 481 (or any failure) from the subscriber
// ends its subscription (RFC 6665 4.2.2).
func (r *Registrar) sendNotifies(impu string, reqs []*sip.Request) {
	for _, req := range reqs {
		r.goBG(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			res, err := r.sipc.Request(ctx, req)
			log := r.log.With(logging.KeyCallID, callID(req), logging.KeyMethod, "NOTIFY", logging.KeyIMPU, impu)
			switch {
			case err != nil:
				r.metrics.notifies.WithLabelValues("error").Inc()
				log.Info("reg event NOTIFY failed", logging.KeyErr, err)
			case res.IsSuccess():
				r.metrics.notifies.WithLabelValues("ok").Inc()
				return
			default:
				r.metrics.notifies.WithLabelValues(strconv.Itoa(res.StatusCode)).Inc()
				log.Info("reg event NOTIFY refused", "code", res.StatusCode)
			}
			if res != nil && res.StatusCode == sip.StatusCallTransactionDoesNotExists {
				r.dropSubscription(ctx, impu, callID(req))
			}
		})
	}
}

func (r *Registrar) dropSubscription(ctx context.Context, impu, id string) {
	unlock := r.lock(impu)
	defer unlock()
	cur := r.get(impu)
	if cur == nil {
		return
	}
	next := clone(cur)
	next.Subscriptions = slices.DeleteFunc(next.Subscriptions, func(s regstore.Subscription) bool { return s.CallID == id })
	if len(next.Subscriptions) == len(cur.Subscriptions) {
		return
	}
	if err := r.save(ctx, next, nil); err != nil {
		r.log.Warn("subscription not dropped", logging.KeyIMPU, impu, logging.KeyErr, err)
	}
}

// terminate ends a registration: reg and its subscriptions go, and each subscriber gets a
// NOTIFY with the bindings in gone terminated by event. The caller holds reg's lock.
func (r *Registrar) terminate(ctx context.Context, reg *regstore.Registration, gone []regstore.Contact, event string) {
	next := clone(reg)
	next.Contacts = nil
	reqs := r.prepareNotifies(next, gone, event, true, false)
	if err := r.remove(ctx, reg); err != nil {
		r.log.Warn("registration not removed from the store", logging.KeyIMPU, reg.IMPU, logging.KeyErr, err)
	}
	r.sendNotifies(reg.IMPU, reqs)
}

// expire removes bindings and subscriptions whose time is up; a registration left without
// bindings is deregistered with SAR TIMEOUT_DEREGISTRATION (TS 29.228 6.1.2) and its
// subscribers learn it expired (TS 24.229 5.4.2.1.2).
func (r *Registrar) expire(now time.Time) {
	r.pruneAuth(now)
	r.mu.RLock()
	var due []string
	for impu, reg := range r.regs {
		if hasExpired(reg, now) {
			due = append(due, impu)
		}
	}
	r.mu.RUnlock()
	for _, impu := range due {
		r.expireOne(impu, now)
	}
}

func hasExpired(reg *regstore.Registration, now time.Time) bool {
	for _, c := range reg.Contacts {
		if !c.Expires.After(now) {
			return true
		}
	}
	for _, s := range reg.Subscriptions {
		if !s.Expires.After(now) {
			return true
		}
	}
	return false
}

func (r *Registrar) expireOne(impu string, now time.Time) {
	ctx, cancel := context.WithTimeout(r.runCtx(), requestTimeout)
	defer cancel()
	unlock := r.lock(impu)
	defer unlock()
	cur := r.get(impu)
	if cur == nil {
		return
	}
	log := r.log.With(logging.KeyIMPI, cur.IMPI, logging.KeyIMPU, impu)
	next := clone(cur)
	var gone []regstore.Contact
	next.Contacts = slices.DeleteFunc(next.Contacts, func(c regstore.Contact) bool {
		if c.Expires.After(now) {
			return false
		}
		gone = append(gone, c)
		return true
	})
	var reqs []*sip.Request
	next.Subscriptions = slices.DeleteFunc(next.Subscriptions, func(s regstore.Subscription) bool {
		if s.Expires.After(now) {
			return false
		}
		if req, err := r.notifyRequest(next, &s, nil, "", "terminated;reason="+reasonTimeout); err == nil {
			reqs = append(reqs, req)
		}
		return true
	})
	r.sendNotifies(impu, reqs)
	if len(next.Contacts) == 0 {
		if _, err := r.sar(ctx, cur.IMPI, impu, cx.ServerAssignmentTypeTimeoutDeregistration, false); err != nil {
			log.Warn("SAR TIMEOUT_DEREGISTRATION failed", logging.KeyErr, err)
		}
		r.terminate(ctx, next, gone, reginfo.EventExpired)
		r.clearAuth(cur.IMPI, impu)
		r.metrics.deregs.WithLabelValues("timeout").Inc()
		r.thirdParty(nil, next, ifc.RegistrationTypeDeRegistration, 0)
		log.Info("registration expired")
		return
	}
	notifies := r.prepareNotifies(next, gone, reginfo.EventExpired, false, false)
	if err := r.save(ctx, next, nil); err != nil {
		log.Warn("expiry not saved", logging.KeyErr, err)
		return
	}
	r.sendNotifies(impu, notifies)
}
