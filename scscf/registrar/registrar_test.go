package registrar_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/reginfo"
	"github.com/imscore/imscore/scscf/registrar"
	"github.com/imscore/imscore/scscf/regstore"
)

const (
	akaIMPI = "001010000000001@" + domain
	akaIMPU = "sip:001010000000001@" + domain
	akaTel  = "tel:+15550001"
	mdIMPI  = "alice@" + domain
	mdIMPU  = "sip:alice@" + domain
)

func akaSub() *subscriber {
	return &subscriber{impi: akaIMPI, impus: []string{akaIMPU, akaTel}, sqn: 32}
}

func headerValues(res *sip.Response, name string) []string {
	var out []string
	for _, h := range res.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

func wantStatus(t *testing.T, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("status %d %s, want %d\n%s", res.StatusCode, res.Reason, code, res)
	}
}

func parseNotify(t *testing.T, n *sip.Request) (*reginfo.Reginfo, string) {
	t.Helper()
	doc, err := reginfo.Parse(n.Body())
	if err != nil {
		t.Fatalf("NOTIFY body: %v\n%s", err, n.Body())
	}
	return doc, n.GetHeader("Subscription-State").Value()
}

// TestAKARegistration walks a UE through initial registration with IMS AKA, reg event
// subscription, re-registration and de-registration.
func TestAKARegistration(t *testing.T) {
	hss, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)

	res := u.register(600)
	wantStatus(t, res, sip.StatusUnauthorized)
	if u.last.Algorithm != header.AlgorithmAKAv1MD5 || u.last.IK == "" || u.last.CK == "" {
		t.Fatalf("challenge %+v: want AKAv1-MD5 with ik and ck for the P-CSCF", *u.last)
	}
	res = u.register(600)
	wantStatus(t, res, sip.StatusOK)
	if got := headerValues(res, "Service-Route"); len(got) != 1 || got[0] != "<sip:orig@"+s.addr+";lr>" {
		t.Errorf("Service-Route %q", got)
	}
	pau, err := header.All(res.GetHeaders(header.NamePAssociatedURI), header.ParseNameAddrs)
	if err != nil || len(pau) != 2 || pau[0].URI.String() != akaIMPU || !strings.HasPrefix(pau[1].URI.String(), akaTel) {
		t.Errorf("P-Associated-URI %v (%v), want %s and %s", pau, err, akaIMPU, akaTel)
	}
	if got := headerValues(res, "Path"); len(got) != 1 || got[0] != "<sip:term@pcscf.test;lr>" {
		t.Errorf("Path %q not echoed", got)
	}
	if got := headerValues(res, "Contact"); len(got) != 1 || !strings.Contains(got[0], u.contact) || !strings.Contains(got[0], "expires=600") {
		t.Errorf("Contact %q", got)
	}
	if c := s.reg.Contacts(akaTel); len(c) != 1 || c[0].URI != u.contact {
		t.Errorf("Contacts(tel) = %+v", c)
	}

	wantStatus(t, u.subscribe(3600), sip.StatusOK)
	doc, state := parseNotify(t, u.nextNotify())
	if !strings.HasPrefix(state, "active") || doc.State != reginfo.StateFull || len(doc.Registrations) != 2 ||
		doc.Registrations[0].State != reginfo.StateActive || len(doc.Registrations[0].Contacts) != 1 {
		t.Fatalf("first NOTIFY %s %+v", state, doc)
	}

	// Re-registration answers the same nonce (nc 2): no new MAR, SAR RE_REGISTRATION.
	res = u.register(600)
	wantStatus(t, res, sip.StatusOK)
	hss.waitSAR(t, cx.ServerAssignmentTypeReRegistration)
	doc, _ = parseNotify(t, u.nextNotify())
	if doc.Version != 1 {
		t.Errorf("second NOTIFY version %d, want 1", doc.Version)
	}

	res = u.register(0)
	wantStatus(t, res, sip.StatusOK)
	hss.waitSAR(t, cx.ServerAssignmentTypeUserDeregistration)
	doc, state = parseNotify(t, u.nextNotify())
	if !strings.HasPrefix(state, "terminated") || doc.Registrations[0].State != reginfo.StateTerminated ||
		doc.Registrations[0].Contacts[0].Event != reginfo.EventUnregistered {
		t.Errorf("last NOTIFY %s %+v", state, doc)
	}
	if c := s.reg.Contacts(akaIMPU); len(c) != 0 {
		t.Errorf("contacts after de-registration: %+v", c)
	}
}

// TestRefreshNotifyInterval: with refresh_notify_interval set, a re-registration that changes
// nothing but the expiry is not notified within the interval; a new binding is at once, and a
// refresh after the interval is.
func TestRefreshNotifyInterval(t *testing.T) {
	const interval = 2 * time.Second
	_, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), func(c *registrar.Config) {
		c.RefreshNotifyInterval = config.Duration(interval)
	})
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	wantStatus(t, u.register(600), sip.StatusUnauthorized)
	wantStatus(t, u.register(600), sip.StatusOK)
	start := time.Now() // before the first NOTIFY is built
	wantStatus(t, u.subscribe(3600), sip.StatusOK)
	if doc, _ := parseNotify(t, u.nextNotify()); doc.Version != 0 {
		t.Fatalf("first NOTIFY version %d", doc.Version)
	}

	wantStatus(t, u.register(600), sip.StatusOK) // a refresh: no NOTIFY
	if time.Since(start) >= interval {
		t.Skip("the machine took longer than the interval: the refresh may have been due")
	}
	first := u.contact
	u.contact = strings.Replace(first, "sip:ue@", "sip:ue2@", 1)
	wantStatus(t, u.register(600), sip.StatusOK) // a new binding: notified at once
	// Had the refresh been notified, its NOTIFY (version 1, one contact) would come first or
	// second; the only one must be the new binding's.
	doc, _ := parseNotify(t, u.nextNotify())
	if doc.Version != 1 || len(doc.Registrations[0].Contacts) != 2 {
		t.Fatalf("NOTIFY version %d with %d contacts, want version 1 with the 2 bindings (the refresh was notified?)",
			doc.Version, len(doc.Registrations[0].Contacts))
	}

	time.Sleep(interval)
	wantStatus(t, u.register(600), sip.StatusOK) // a refresh after the interval: notified
	if doc, _ := parseNotify(t, u.nextNotify()); doc.Version != 2 {
		t.Errorf("NOTIFY version %d after the interval, want 2", doc.Version)
	}
	select {
	case n := <-u.notifies:
		doc, _ := parseNotify(t, n)
		t.Errorf("unexpected NOTIFY version %d", doc.Version)
	default:
	}
}

func TestDigestRegistration(t *testing.T) {
	_, hssAddr := startHSS(t, &subscriber{impi: mdIMPI, impus: []string{mdIMPU}, password: "secret"})
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, mdIMPI, mdIMPU)
	u.password = "secret"
	wantStatus(t, u.register(600), sip.StatusUnauthorized)
	if u.last.Algorithm != header.AlgorithmMD5 || u.last.IK != "" {
		t.Fatalf("challenge %+v: want MD5 without keys", *u.last)
	}
	wantStatus(t, u.register(600), sip.StatusOK)
}

// TestFailedAuthentication: a wrong RES or password gets a new challenge, then 403 and SAR
// AUTHENTICATION_FAILURE; never 200.
func TestFailedAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sub      *subscriber
		password string
	}{
		{"wrong RES", akaSub(), ""},
		{"wrong password", &subscriber{impi: mdIMPI, impus: []string{mdIMPU}, password: "secret"}, "guess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hss, hssAddr := startHSS(t, tc.sub)
			s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
			u := newUE(t, s.addr, tc.sub.impi, tc.sub.impus[0])
			u.password, u.wrongRES = tc.password, true
			wantStatus(t, u.register(600), sip.StatusUnauthorized)
			wantStatus(t, u.register(600), sip.StatusUnauthorized)
			wantStatus(t, u.register(600), sip.StatusForbidden)
			hss.waitSAR(t, cx.ServerAssignmentTypeAuthenticationFailure)
			if slices.Contains(hss.sarTypes(), cx.ServerAssignmentTypeRegistration) {
				t.Error("SAR REGISTRATION after failed authentication")
			}
		})
	}
}

func TestUnknownUser(t *testing.T) {
	_, hssAddr := startHSS(t)
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, "nobody@"+domain, "sip:nobody@"+domain)
	wantStatus(t, u.register(600), sip.StatusForbidden)
}

func TestIntervalTooBrief(t *testing.T) {
	_, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), func(c *registrar.Config) {
		c.MinExpires = config.Duration(time.Minute)
	})
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	res := u.register(30)
	wantStatus(t, res, sip.StatusIntervalToBrief)
	if got := headerValues(res, "Min-Expires"); len(got) != 1 || got[0] != "60" {
		t.Errorf("Min-Expires %q", got)
	}
}

// TestResync: the UE's SQN is ahead of the HSS's; it answers with AUTS, the S-CSCF sends a MAR
// with RAND ‖ AUTS and the new challenge registers.
func TestResync(t *testing.T) {
	hss, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.sqnMS = 1000
	wantStatus(t, u.register(600), sip.StatusUnauthorized)
	wantStatus(t, u.register(600), sip.StatusUnauthorized) // AUTS -> new challenge
	hss.mu.Lock()
	resyncs := hss.resyncs
	hss.mu.Unlock()
	if resyncs != 1 {
		t.Fatalf("HSS resynchronised %d times, want 1", resyncs)
	}
	wantStatus(t, u.register(600), sip.StatusOK)
}

// TestRTR: the HSS terminates the registration; the bindings go and the subscriber gets a
// terminated NOTIFY.
func TestRTR(t *testing.T) {
	hss, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.register(600)
	wantStatus(t, u.register(600), sip.StatusOK)
	wantStatus(t, u.subscribe(3600), sip.StatusOK)
	u.nextNotify()

	rtr := cx.RTR{RequestHeader: msg.RequestHeader{SessionID: msg.NewSessionID(hssHost), OriginHost: hssHost,
		OriginRealm: domain, DestinationHost: scscfHst, DestinationRealm: domain}, UserName: akaIMPI,
		DeregistrationReason: cx.DeregistrationReason{ReasonCode: cx.ReasonCodePermanentTermination}}
	m, err := rtr.Message()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	am, err := hss.node.Request(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var rta cx.RTA
	if err := msg.Unmarshal(am, &rta); err != nil {
		t.Fatal(err)
	}
	if code, _ := rta.Result(); code != msg.ResultSuccess {
		t.Fatalf("RTA result %d", code)
	}
	doc, state := parseNotify(t, u.nextNotify())
	if !strings.HasPrefix(state, "terminated") || doc.Registrations[0].Contacts[0].Event != reginfo.EventRejected {
		t.Errorf("NOTIFY after RTR: %s %+v", state, doc)
	}
	if c := s.reg.Contacts(akaIMPU); len(c) != 0 {
		t.Errorf("contacts after RTR: %+v", c)
	}
}

// TestPPR: a pushed profile replaces the implicit set; subscribers see the new identity.
func TestPPR(t *testing.T) {
	sub := akaSub()
	hss, hssAddr := startHSS(t, sub)
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.register(600)
	wantStatus(t, u.register(600), sip.StatusOK)
	wantStatus(t, u.subscribe(3600), sip.StatusOK)
	u.nextNotify()

	added := &subscriber{impi: akaIMPI, impus: []string{akaIMPU, akaTel, "sip:extra@" + domain}}
	ppr := cx.PPR{RequestHeader: msg.RequestHeader{SessionID: msg.NewSessionID(hssHost), OriginHost: hssHost,
		OriginRealm: domain, DestinationHost: scscfHst, DestinationRealm: domain}, UserName: akaIMPI,
		UserData: userData(added, "")}
	m, err := ppr.Message()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	am, err := hss.node.Request(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var ppa cx.PPA
	if err := msg.Unmarshal(am, &ppa); err != nil {
		t.Fatal(err)
	}
	if code, _ := ppa.Result(); code != msg.ResultSuccess {
		t.Fatalf("PPA result %d", code)
	}
	doc, _ := parseNotify(t, u.nextNotify())
	if len(doc.Registrations) != 3 || doc.Registrations[2].AOR != "sip:extra@"+domain {
		t.Errorf("NOTIFY after PPR: %+v", doc)
	}
	if c := s.reg.Contacts("sip:extra@" + domain); len(c) != 1 {
		t.Errorf("new identity has no contact: %+v", c)
	}
}

// TestExpiry: a binding that is not refreshed expires with SAR TIMEOUT_DEREGISTRATION.
func TestExpiry(t *testing.T) {
	hss, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.register(1)
	wantStatus(t, u.register(1), sip.StatusOK)
	hss.waitSAR(t, cx.ServerAssignmentTypeTimeoutDeregistration)
	if c := s.reg.Contacts(akaIMPU); len(c) != 0 {
		t.Errorf("contacts after expiry: %+v", c)
	}
}

// TestRestartKeepsRegistrations: a new registrar on the same store has the registration, with
// changes written behind (the default) and written through.
func TestRestartKeepsRegistrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flush time.Duration
	}{{"write-behind", time.Hour}, {"write-through", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			_, hssAddr := startHSS(t, akaSub())
			db := filepath.Join(t.TempDir(), "scscf.db")
			tweak := func(c *registrar.Config) { c.StoreFlushInterval = config.Duration(tc.flush) }
			s := startSCSCF(t, hssAddr, db, tweak)
			u := newUE(t, s.addr, akaIMPI, akaIMPU)
			u.register(600)
			wantStatus(t, u.register(600), sip.StatusOK)
			// An hour between flushes: only the flush at the stop can have written it.
			s.stop()

			s2 := startSCSCF(t, hssAddr, db, tweak)
			c := s2.reg.Contacts(akaTel)
			if len(c) != 1 || c[0].URI != u.contact || time.Until(c[0].Expires) < 500*time.Second {
				t.Fatalf("after restart: %+v", c)
			}
			if s2.reg.Profile(akaIMPU) == nil {
				t.Error("profile not restored")
			}
		})
	}
}

// TestWriteBehind: while the registrar runs, a registration, its refresh and its removal reach
// the store within a few flush intervals.
func TestWriteBehind(t *testing.T) {
	_, hssAddr := startHSS(t, akaSub())
	db := filepath.Join(t.TempDir(), "scscf.db")
	s := startSCSCF(t, hssAddr, db, func(c *registrar.Config) { c.StoreFlushInterval = config.Duration(20 * time.Millisecond) })
	st, err := regstore.Open(db) // a second connection, as a reader
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := func(ok func(*regstore.Registration, error) bool) {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for time.Now().Before(deadline) {
			if ok(st.Get(context.Background(), akaIMPU)) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		reg, err := st.Get(context.Background(), akaIMPU)
		t.Fatalf("store holds %+v, %v", reg, err)
	}
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.register(600)
	wantStatus(t, u.register(600), sip.StatusOK)
	stored(func(r *regstore.Registration, err error) bool {
		return err == nil && len(r.Contacts) == 1 && time.Until(r.Contacts[0].Expires) > 500*time.Second
	})
	wantStatus(t, u.register(3000), sip.StatusOK)
	stored(func(r *regstore.Registration, err error) bool {
		return err == nil && len(r.Contacts) == 1 && time.Until(r.Contacts[0].Expires) > 2900*time.Second
	})
	wantStatus(t, u.register(0), sip.StatusOK)
	stored(func(_ *regstore.Registration, err error) bool { return errors.Is(err, regstore.ErrNotFound) })
}

// TestOverloadRefusesNewRegistrations: after a slow MAA, a REGISTER that would start a new
// authentication gets 503 with Retry-After at once, and the REGISTER answering the challenge
// already paid for is still served.
func TestOverloadRefusesNewRegistrations(t *testing.T) {
	hss, hssAddr := startHSS(t, akaSub())
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"),
		func(c *registrar.Config) { c.OverloadCxLatency = config.Duration(50 * time.Millisecond) })
	hss.mu.Lock()
	hss.delay = 200 * time.Millisecond
	hss.mu.Unlock()
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	wantStatus(t, u.register(600), sip.StatusUnauthorized) // its MAA came late

	// An unknown user: without the refusal, its own (slow) MAR gets 403, and arms the refusal
	// again for the next try, should a loaded machine have let a second go by.
	other := newUE(t, s.addr, mdIMPI, mdIMPU)
	var res *sip.Response
	for range 5 {
		if res = other.register(600); res.StatusCode == sip.StatusServiceUnavailable {
			break
		}
	}
	wantStatus(t, res, sip.StatusServiceUnavailable)
	if res.GetHeader("Retry-After") == nil {
		t.Error("503 without Retry-After")
	}
	wantStatus(t, u.register(600), sip.StatusOK)
}

// TestThirdPartyRegister: an iFC matching REGISTER makes the S-CSCF register the user at the AS
// (TS 24.229 5.4.1.7), with the S-CSCF as Contact and the registration's expiry.
func TestThirdPartyRegister(t *testing.T) {
	got := make(chan *sip.Request, 4)
	asAddr := startAS(t, got)
	hss, hssAddr := startHSS(t, akaSub())
	hss.asURI = "sip:" + asAddr
	s := startSCSCF(t, hssAddr, filepath.Join(t.TempDir(), "scscf.db"), nil)
	u := newUE(t, s.addr, akaIMPI, akaIMPU)
	u.register(600)
	wantStatus(t, u.register(600), sip.StatusOK)
	select {
	case req := <-got:
		if req.To().Address.String() != akaIMPU || !strings.Contains(req.Contact().Address.String(), s.addr) ||
			req.GetHeader("Expires").Value() != "600" {
			t.Errorf("third-party REGISTER:\n%s", req)
		}
	case <-time.After(waitFor):
		t.Fatal("no third-party REGISTER at the AS")
	}
}
