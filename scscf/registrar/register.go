package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// requestTimeout bounds the Cx work of one request.
const requestTimeout = 10 * time.Second

// HandleRegister processes a REGISTER and returns the response to send.
func (r *Registrar) HandleRegister(ctx context.Context, req *sip.Request) *sip.Response {
	log := r.log.With(logging.KeyCallID, callID(req), logging.KeyMethod, string(req.Method))
	res, err := r.register(ctx, req, log)
	if err != nil {
		code, reason := sipStatus(err)
		res = sip.NewResponseFromRequest(req, code, reason, nil)
		switch code {
		case sip.StatusIntervalToBrief:
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.cfg.MinExpires.D().Seconds()))))
		case sip.StatusServiceUnavailable:
			res.AppendHeader(sipx.RetryAfter(sipx.DefaultRetryAfter))
		}
		lvl := slog.LevelInfo
		switch {
		case errors.Is(err, errOverloaded):
			lvl = slog.LevelDebug // one per refused REGISTER: counted in register_total{code="503"}
		case code >= 500:
			lvl = slog.LevelWarn
		}
		log.Log(ctx, lvl, "REGISTER rejected", "code", code, logging.KeyErr, err)
	}
	r.metrics.registers.WithLabelValues(strconv.Itoa(res.StatusCode)).Inc()
	return res
}

// change is one Contact of a REGISTER.
type change struct {
	uri     string
	params  string
	expires time.Duration
}

func (r *Registrar) register(ctx context.Context, req *sip.Request, log *slog.Logger) (*sip.Response, error) {
	to := req.To()
	if to == nil {
		return nil, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("no To"))
	}
	impu := sipx.AOR(to.Address)
	c, err := credentials(req, r.cfg.Domain)
	if err != nil {
		return nil, err
	}
	impi := ""
	if c != nil {
		impi = c.Username
	} else if impi, err = derivedIMPI(to.Address); err != nil {
		return nil, err
	}
	log = log.With(logging.KeyIMPI, impi, logging.KeyIMPU, impu)
	if (c == nil || c.Response == "") && r.cxOverloaded() {
		// A new authentication would start with a MAR the HSS cannot answer in time.
		return nil, errOverloaded
	}
	changes, wildcard, err := r.contactChanges(req)
	if err != nil {
		return nil, err
	}

	unlock := r.lock(impu)
	defer unlock()
	cur := r.get(impu)
	if cur != nil && cur.IMPI != impi {
		return nil, statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("%s is registered by %s", impu, cur.IMPI))
	}
	ok, res, err := r.authenticate(ctx, req, c, impi, impu, cur != nil, log)
	if !ok {
		if err == nil {
			log.Debug("REGISTER challenged")
		}
		return res, err
	}

	now := time.Now()
	if len(changes) == 0 && !wildcard {
		// RFC 3261 10.2.3: a REGISTER without Contact asks for the current bindings.
		if cur == nil {
			cur = &regstore.Registration{IMPU: impu, IMPI: impi}
		}
		return r.ok(req, cur, now), nil
	}
	var next *regstore.Registration
	if cur != nil {
		next = clone(cur)
	} else {
		next = &regstore.Registration{IMPU: impu, IMPI: impi}
	}
	var removed []regstore.Contact
	if wildcard {
		removed, next.Contacts = next.Contacts, nil
	}
	path := pathOf(req)
	cseq := uint32(0)
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	for _, ch := range changes {
		i := slices.IndexFunc(next.Contacts, func(b regstore.Contact) bool { return b.URI == ch.uri })
		if ch.expires == 0 {
			if i >= 0 {
				removed = append(removed, next.Contacts[i])
				next.Contacts = slices.Delete(next.Contacts, i, i+1)
			}
			continue
		}
		b := regstore.Contact{URI: ch.uri, Params: ch.params, Expires: now.Add(ch.expires), Path: path,
			CallID: callID(req), CSeq: cseq, Received: req.Source()}
		if i >= 0 {
			next.Contacts[i] = b
		} else {
			next.Contacts = append(next.Contacts, b)
		}
	}

	if len(next.Contacts) == 0 {
		if cur != nil {
			// TS 24.229 5.4.1.4: user-initiated deregistration.
			if _, err := r.sar(ctx, impi, impu, cx.ServerAssignmentTypeUserDeregistration, false); err != nil {
				log.Warn("SAR USER_DEREGISTRATION failed", logging.KeyErr, err)
			}
			r.terminate(ctx, next, removed, reginfo.EventUnregistered)
			r.clearAuth(impi, impu)
			r.metrics.deregs.WithLabelValues("user").Inc()
			r.thirdParty(req, next, ifc.RegistrationTypeDeRegistration, 0)
			log.Info("deregistered")
		}
		return r.ok(req, next, now), nil
	}

	sat := cx.ServerAssignmentTypeRegistration
	if cur != nil {
		sat = cx.ServerAssignmentTypeReRegistration
	}
	userData, err := r.sar(ctx, impi, impu, sat, cur != nil && cur.UserData != "")
	if err != nil {
		return nil, err
	}
	var prof *ifc.IMSSubscription
	if userData != "" {
		if prof, err = ifc.ParseSubscription([]byte(userData)); err != nil {
			return nil, fmt.Errorf("SAA User-Data: %w", err)
		}
		next.UserData, next.Implicit = userData, implicitSet(prof, impu)
	}
	if next.UserData == "" {
		return nil, fmt.Errorf("SAA without User-Data for a new registration")
	}
	refresh := cur != nil && len(removed) == 0 && sameBindings(cur.Contacts, next.Contacts)
	reqs := r.prepareNotifies(next, removed, reginfo.EventUnregistered, false, refresh)
	if err := r.save(ctx, next, prof); err != nil {
		return nil, err
	}
	r.sendNotifies(next.IMPU, reqs)
	regType := ifc.RegistrationTypeReRegistration
	if cur == nil {
		regType = ifc.RegistrationTypeInitialRegistration
	}
	r.thirdParty(req, next, regType, maxExpiry(next, now))
	log.Info("registered", "initial", cur == nil, "contacts", len(next.Contacts))
	return r.ok(req, next, now), nil
}

// sameBindings reports whether a and b hold the same bindings, expiry times and CSeqs aside:
// a re-registration that only refreshes them (refresh_notify_interval).
func sameBindings(a, b []regstore.Contact) bool {
	return slices.EqualFunc(a, b, func(x, y regstore.Contact) bool {
		return x.URI == y.URI && x.Params == y.Params && x.CallID == y.CallID &&
			x.Received == y.Received && slices.Equal(x.Path, y.Path)
	})
}

// ok is the 200 to a REGISTER (TS 24.229 5.4.1.2.2): every binding with its remaining time,
// the Path echoed (RFC 3327 5.3), Service-Route (RFC 3608) and P-Associated-URI (RFC 7315 4.1).
func (r *Registrar) ok(req *sip.Request, reg *regstore.Registration, now time.Time) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, c := range reg.Contacts {
		secs := int(c.Expires.Sub(now).Round(time.Second).Seconds())
		res.AppendHeader(sip.NewHeader("Contact", "<"+c.URI+">"+c.Params+";expires="+strconv.Itoa(secs)))
	}
	for _, h := range header.Named(req, header.NamePath) {
		res.AppendHeader(sip.NewHeader(header.NamePath, h.Value()))
	}
	if len(reg.Contacts) > 0 {
		res.AppendHeader(sip.NewHeader(header.NameServiceRoute, r.serviceRoute.Value()))
		uris := make([]string, len(reg.Implicit))
		for i, u := range reg.Implicit {
			uris[i] = "<" + u + ">"
		}
		res.AppendHeader(sip.NewHeader(header.NamePAssociatedURI, strings.Join(uris, ", ")))
	}
	return res
}

// contactChanges reads the Contacts of a REGISTER with their expiry (RFC 3261 10.3 steps 6,
// 7). "*" is only allowed alone with Expires 0.
func (r *Registrar) contactChanges(req *sip.Request) ([]change, bool, error) {
	hdrExpires := r.cfg.DefaultExpires.D()
	if h := header.First(req, "Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return nil, false, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("Expires %q", h.Value()))
		}
		hdrExpires = time.Duration(n) * time.Second
	}
	var out []change
	wildcard := false
	for _, h := range header.Named(req, "Contact") {
		var cs []*sip.ContactHeader
		if ch, ok := h.(*sip.ContactHeader); ok {
			cs = append(cs, ch)
		} else {
			return nil, false, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("Contact %q", h.Value()))
		}
		for _, ch := range cs {
			if ch.Address.Wildcard {
				wildcard = true
				continue
			}
			exp := hdrExpires
			params := ch.Params.Clone()
			if v, ok := params.Get("expires"); ok {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return nil, false, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("Contact expires %q", v))
				}
				exp = time.Duration(n) * time.Second
				params.Remove("expires")
			}
			if exp > 0 && exp < r.cfg.MinExpires.D() {
				return nil, false, statusErr(sip.StatusIntervalToBrief, "Interval Too Brief", fmt.Errorf("expires %s", exp))
			}
			exp = min(exp, r.cfg.MaxExpires.D())
			var ps string
			if params.Length() > 0 {
				ps = ";" + params.ToString(';')
			}
			out = append(out, change{uri: ch.Address.String(), params: ps, expires: exp})
		}
	}
	if wildcard && (len(out) > 0 || hdrExpires != 0) {
		return nil, false, statusErr(sip.StatusBadRequest, "Bad Request", fmt.Errorf("Contact * needs Expires: 0 and no other contact"))
	}
	return out, wildcard, nil
}

// derivedIMPI is the private identity of a REGISTER without Authorization: the public one
// without its scheme (TS 33.203 Annex; UEs without ISIM derive both from the IMSI alike).
func derivedIMPI(u sip.Uri) (string, error) {
	if u.Scheme != "sip" && u.Scheme != "sips" || u.User == "" {
		return "", statusErr(sip.StatusForbidden, "Forbidden", fmt.Errorf("no Authorization and no private identity derivable from %s", u.String()))
	}
	return u.User + "@" + u.Host, nil
}

func pathOf(req *sip.Request) []string {
	var out []string
	for _, h := range header.Named(req, header.NamePath) {
		out = append(out, h.Value())
	}
	return out
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

func maxExpiry(reg *regstore.Registration, now time.Time) time.Duration {
	var d time.Duration
	for _, c := range reg.Contacts {
		d = max(d, c.Expires.Sub(now))
	}
	return d.Round(time.Second)
}
