package pcscf

import (
	"context"
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
const subscribeExpires = "600000"

// subscribeTimeout bounds one SUBSCRIBE transaction (64*T1).
const subscribeTimeout = 32 * time.Second

// subscriptions are our reg-event subscriptions at S-CSCFs, by Call-ID, to the AOR.
type subscriptions struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *subscriptions) add(callID, aor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[callID] = aor
}

func (s *subscriptions) get(callID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	aor, ok := s.m[callID]
	return aor, ok
}

func (s *subscriptions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *subscriptions) remove(callID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, callID)
}

// subscribe sends SUBSCRIBE for the reg event of b.AOR to the S-CSCF along the Service-Route
// (TS 24.229 5.2.3, RFC 3680), so the P-CSCF learns of registrations the network ends.
func (n *Node) subscribe(b Binding) {
	log := n.log.With(logging.KeyIMPU, b.AOR, logging.KeyMethod, "SUBSCRIBE")
	var target gosip.Uri
	if err := gosip.ParseUri(b.AOR, &target); err != nil {
		log.Warn("pcscf: AOR is not a URI, no reg-event subscription", logging.KeyErr, err)
		return
	}
	self := n.sip.URI("")
	self.UriParams = nil
	req := gosip.NewRequest(gosip.SUBSCRIBE, target)
	from := &gosip.FromHeader{Address: self, Params: gosip.HeaderParams{{K: "tag", V: newICID()[:16]}}}
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: target, Params: gosip.HeaderParams{}})
	callID := gosip.CallIDHeader(newICID() + "@" + self.Host)
	req.AppendHeader(&callID)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.SUBSCRIBE})
	for _, sr := range b.ServiceRoute {
		req.AppendHeader(&gosip.RouteHeader{Address: sr.URI})
	}
	req.AppendHeader(&gosip.ContactHeader{Address: self})
	req.AppendHeader(gosip.NewHeader("Event", "reg"))
	req.AppendHeader(gosip.NewHeader("Expires", subscribeExpires))
	req.AppendHeader(gosip.NewHeader("Accept", reginfo.ContentType))
	req.AppendHeader(header.New(header.NamePAssertedIdentity, header.NameAddr{URI: self}))
	log = log.With(logging.KeyCallID, string(callID))
	// Known before sending: the first NOTIFY may overtake the 2xx (RFC 6665 4.1.2.4).
	n.subs.add(string(callID), b.AOR)
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	res, err := n.sip.Request(ctx, req)
	switch {
	case err != nil:
		n.subs.remove(string(callID))
		log.Warn("pcscf: reg-event SUBSCRIBE failed", logging.KeyErr, err)
	case res.StatusCode >= 300:
		n.subs.remove(string(callID))
		log.Warn("pcscf: reg-event SUBSCRIBE refused", "status", res.StatusCode)
	default:
		log.Debug("pcscf: subscribed to reg event", "status", res.StatusCode)
	}
}

// regEvent is the chain link for the NOTIFYs of our reg-event subscriptions (TS 24.229 5.2.5):
// registrations and contacts the S-CSCF reports terminated are dropped.
func (n *Node) regEvent(next imssip.Handler) imssip.Handler {
	return func(r *imssip.Request) {
		if r.Method != gosip.NOTIFY || !isRegEvent(r.Request) || r.Route() != nil {
			next(r)
			return
		}
		callID := r.CallID().Value()
		if _, ok := n.subs.get(callID); !ok {
			r.Reply(gosip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
			return
		}
		if body := r.Body(); len(body) > 0 {
			info, err := reginfo.Parse(body)
			if err != nil {
				r.Reply(gosip.StatusBadRequest, "Bad reginfo Body")
				return
			}
			n.apply(r, info)
		}
		if h := r.GetHeader("Subscription-State"); h != nil && strings.HasPrefix(strings.TrimSpace(strings.ToLower(h.Value())), "terminated") {
			n.subs.remove(callID)
		}
		r.Reply(gosip.StatusOK, "OK")
	}
}

// apply drops what the reginfo document reports terminated.
func (n *Node) apply(r *imssip.Request, info *reginfo.Reginfo) {
	for _, reg := range info.Registrations {
		if reg.State == reginfo.StateTerminated {
			n.bindings.terminate(reg.AOR, nil)
			r.Log.Info("pcscf: registration terminated by the S-CSCF", logging.KeyIMPU, reg.AOR)
			continue
		}
		for _, c := range reg.Contacts {
			if c.State != reginfo.StateTerminated {
				continue
			}
			var u gosip.Uri
			if err := gosip.ParseUri(strings.TrimSpace(c.URI), &u); err != nil {
				continue
			}
			n.bindings.terminate(reg.AOR, &u)
			r.Log.Info("pcscf: contact terminated by the S-CSCF", logging.KeyIMPU, reg.AOR, "contact", c.URI)
		}
	}
}

// isRegEvent reports whether req is for the reg event package (Event: reg, RFC 3680 3.1;
// "o" is the compact form).
func isRegEvent(req *gosip.Request) bool {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o")
	}
	if h == nil {
		return false
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "reg")
}
