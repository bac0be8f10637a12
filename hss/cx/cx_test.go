package cx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"

	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/ifc"
)

var hssID = msg.Identity{Host: "hss." + hsstest.Realm, Realm: hsstest.Realm}

// peers records the requests the server sends and answers each with code.
type peers struct {
	mu   sync.Mutex
	sent []*diam.Message
	code uint32
}

func (p *peers) Request(_ context.Context, req *diam.Message) (*diam.Message, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, req)
	return msg.NewAnswer(req, msg.Identity{Host: hsstest.SCSCFHost, Realm: hsstest.Realm}, p.code), nil
}

func newServer(t *testing.T) (*Server, *store.DB, *peers) {
	t.Helper()
	st := hsstest.Store(t)
	hsstest.Provision(t, st)
	p := &peers{code: msg.ResultSuccess}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Config{Identity: hssID, VisitedNetworks: []string{"visited.example.net"}}, st, p, log), st, p
}

func header() msg.RequestHeader {
	return msg.RequestHeader{SessionID: msg.NewSessionID(hsstest.SCSCFHost), OriginHost: hsstest.SCSCFHost,
		OriginRealm: hsstest.Realm, DestinationRealm: hsstest.Realm}
}

type handler func(context.Context, *diam.Message) (*diam.Message, error)

// call sends the typed request through the wire codec to h and decodes the answer into ans.
// A handler error becomes the answer msg.ErrorAnswer builds, as in the peer layer.
func call(t *testing.T, h handler, req interface{ Message() (*diam.Message, error) }, ans msg.Answer) {
	t.Helper()
	m, err := req.Message()
	if err != nil {
		t.Fatal(err)
	}
	in := hsstest.Wire(t, m)
	out, err := h(context.Background(), in)
	if err != nil {
		out = msg.ErrorAnswer(in, hssID, err)
	}
	reflect.ValueOf(ans).Elem().SetZero() // answers are decoded into reused structs
	if err := msg.Unmarshal(hsstest.Wire(t, out), ans); err != nil {
		t.Fatal(err)
	}
}

type outcome struct {
	code         uint32
	experimental bool
}

func resultOf(a msg.Answer) outcome {
	c, e := a.Header().Result()
	return outcome{c, e}
}

var (
	success        = outcome{msg.ResultSuccess, false}
	firstReg       = outcome{cx.DiameterFirstRegistration, true}
	subsequentReg  = outcome{cx.DiameterSubsequentRegistration, true}
	userUnknown    = outcome{cx.DiameterErrorUserUnknown, true}
	notRegistered  = outcome{cx.DiameterErrorIdentityNotRegistered, true}
	alreadyRegistd = outcome{cx.DiameterErrorIdentityAlreadyRegistered, true}
)

func authType(v cx.UserAuthorizationType) *cx.UserAuthorizationType { return &v }

func register(t *testing.T, s *Server, serverName string) *cx.SAA {
	t.Helper()
	var saa cx.SAA
	call(t, s.SAR, &cx.SAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerName: serverName, ServerAssignmentType: cx.ServerAssignmentTypeRegistration}, &saa)
	return &saa
}

func TestUAR(t *testing.T) {
	tests := []struct {
		name     string
		uar      cx.UAR
		register bool // SAR REGISTRATION first
		disable  bool // the subscriber is disabled
		want     outcome
		server   string
		caps     bool
	}{
		{name: "first registration gets capabilities", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU},
			want: firstReg, caps: true},
		{name: "subsequent registration gets the S-CSCF", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceTel},
			register: true, want: subsequentReg, server: hsstest.SCSCF},
		{name: "registration and capabilities", register: true, want: firstReg, caps: true,
			uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU, UserAuthorizationType: authType(cx.UserAuthorizationTypeRegistrationAndCapabilities)}},
		{name: "de-registration of a registered user", register: true, want: success, server: hsstest.SCSCF,
			uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU, UserAuthorizationType: authType(cx.UserAuthorizationTypeDeRegistration)}},
		{name: "de-registration of an unregistered user", want: notRegistered,
			uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU, UserAuthorizationType: authType(cx.UserAuthorizationTypeDeRegistration)}},
		{name: "unknown IMPI", uar: cx.UAR{UserName: "nobody@" + hsstest.Realm, PublicIdentity: hsstest.AliceIMPU}, want: userUnknown},
		{name: "unknown IMPU", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: "sip:nobody@" + hsstest.Realm}, want: userUnknown},
		{name: "identities don't match", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.BobIMPU},
			want: outcome{cx.DiameterErrorIdentitiesDontMatch, true}},
		{name: "barred IMPU", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceBarred},
			want: outcome{msg.ResultAuthorizationRejected, false}},
		{name: "disabled subscriber", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU}, disable: true,
			want: outcome{msg.ResultAuthorizationRejected, false}},
		{name: "roaming not allowed", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU, VisitedNetworkIdentifier: "elsewhere.example.org"},
			want: outcome{cx.DiameterErrorRoamingNotAllowed, true}},
		{name: "allowed visited network", uar: cx.UAR{UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU, VisitedNetworkIdentifier: "visited.example.net"},
			want: firstReg, caps: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, st, _ := newServer(t)
			if tt.disable {
				sub, _ := st.Subscriber(context.Background(), hsstest.AliceIMSI)
				sub.Enabled = false
				if err := st.UpdateSubscriber(context.Background(), sub, false); err != nil {
					t.Fatal(err)
				}
			}
			if tt.register {
				if got := resultOf(register(t, s, hsstest.SCSCF)); got != success {
					t.Fatalf("SAR: %+v", got)
				}
			}
			r := tt.uar
			r.RequestHeader = header()
			if r.VisitedNetworkIdentifier == "" {
				r.VisitedNetworkIdentifier = hsstest.Realm
			}
			var a cx.UAA
			call(t, s.UAR, &r, &a)
			if got := resultOf(&a); got != tt.want {
				t.Fatalf("result %+v, want %+v", got, tt.want)
			}
			if a.ServerName != tt.server {
				t.Errorf("Server-Name %q, want %q", a.ServerName, tt.server)
			}
			if tt.caps {
				c := a.ServerCapabilities
				if c == nil || len(c.MandatoryCapability) != 1 || c.MandatoryCapability[0] != 1 ||
					len(c.ServerName) != 1 || c.ServerName[0] != hsstest.SCSCF {
					t.Errorf("Server-Capabilities %+v, want mandatory [1] and %s", c, hsstest.SCSCF)
				}
			}
		})
	}
}

func TestUARMissingAVP(t *testing.T) {
	s, _, _ := newServer(t)
	var a cx.UAA
	call(t, s.UAR, &cx.UAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU}, &a)
	if got := resultOf(&a); got != (outcome{msg.ResultMissingAVP, false}) {
		t.Fatalf("result %+v, want 5005", got)
	}
	failed, ok := failedCode(a.FailedAVP)
	if !ok || failed != 600 {
		t.Fatalf("Failed-AVP names AVP %d, want 600 Visited-Network-Identifier", failed)
	}
}

// failedCode is the code of the AVP inside a Failed-AVP.
func failedCode(a *diam.AVP) (uint32, bool) {
	if a == nil {
		return 0, false
	}
	g, ok := a.Data.(*diam.GroupedAVP)
	if !ok || len(g.AVP) == 0 {
		return 0, false
	}
	return g.AVP[0].Code, true
}

func TestMARAKA(t *testing.T) {
	s, st, _ := newServer(t)
	ctx := context.Background()
	var a cx.MAA
	call(t, s.MAR, &cx.MAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, SIPNumberAuthItems: 10,
		ServerName: hsstest.SCSCF}, &a)
	if got := resultOf(&a); got != success {
		t.Fatalf("result %+v", got)
	}
	// Ten asked, DefaultMaxAuthItems given.
	if a.SIPNumberAuthItems == nil || *a.SIPNumberAuthItems != DefaultMaxAuthItems || len(a.SIPAuthDataItem) != DefaultMaxAuthItems {
		t.Fatalf("SIP-Number-Auth-Items %v with %d items, want %d", a.SIPNumberAuthItems, len(a.SIPAuthDataItem), DefaultMaxAuthItems)
	}
	var last uint64
	for i, item := range a.SIPAuthDataItem {
		if item.SIPAuthenticationScheme != cx.SchemeDigestAKAv1MD5 || item.SIPItemNumber != uint32(i+1) ||
			len(item.ConfidentialityKey) != 16 || len(item.IntegrityKey) != 16 {
			t.Fatalf("item %d: %+v", i, item)
		}
		rand, autn, ok := item.RANDAUTN()
		if !ok {
			t.Fatalf("item %d: SIP-Authenticate of %d octets", i, len(item.SIPAuthenticate))
		}
		sqn := hsstest.CheckAKA(t, rand, autn, item.SIPAuthorization)
		if sqn != last+1 {
			t.Fatalf("item %d: SQN %d after %d", i, sqn, last)
		}
		last = sqn
	}
	sub, err := st.Subscriber(ctx, hsstest.AliceIMSI)
	if err != nil {
		t.Fatal(err)
	}
	// The store is ahead of every SQN handed out, so a restart never reuses one.
	if sub.Auth.SQN < last {
		t.Errorf("stored SQN %d, below the last handed out %d", sub.Auth.SQN, last)
	}
	// TS 29.228 6.3: the S-CSCF is kept as pending; UAR now names it.
	if u := sub.IMS.IMPU(hsstest.AliceIMPU); u.SCSCFName != hsstest.SCSCF || u.State != store.StateNotRegistered {
		t.Errorf("IMPU after MAR: %+v", u)
	}
}

func TestMARResync(t *testing.T) {
	s, st, _ := newServer(t)
	ctx := context.Background()
	const sqnMS = 1000 // the USIM is ahead of the HSS
	rand := bytes.Repeat([]byte{0x42}, 16)
	auts := hsstest.AUTS(t, rand, sqnMS)
	var a cx.MAA
	call(t, s.MAR, &cx.MAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5,
			SIPAuthorization: append(append([]byte{}, rand...), auts...)},
		SIPNumberAuthItems: 1, ServerName: hsstest.SCSCF}, &a)
	if got := resultOf(&a); got != success || len(a.SIPAuthDataItem) != 1 {
		t.Fatalf("result %+v with %d items", got, len(a.SIPAuthDataItem))
	}
	r, autn, _ := a.SIPAuthDataItem[0].RANDAUTN()
	if sqn := hsstest.CheckAKA(t, r, autn, a.SIPAuthDataItem[0].SIPAuthorization); sqn != sqnMS+1 {
		t.Fatalf("SQN after resync %d, want %d", sqn, sqnMS+1)
	}

	// A forged AUTS is refused and leaves the SQN alone.
	before, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	bad := append([]byte{}, auts...)
	bad[13] ^= 1
	call(t, s.MAR, &cx.MAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5,
			SIPAuthorization: append(append([]byte{}, rand...), bad...)},
		SIPNumberAuthItems: 1, ServerName: hsstest.SCSCF}, &a)
	if got := resultOf(&a); got != (outcome{msg.ResultAuthenticationRejected, false}) {
		t.Fatalf("forged AUTS: result %+v, want 4001", got)
	}
	after, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	if after.Auth.SQN != before.Auth.SQN {
		t.Errorf("SQN moved from %d to %d on a forged AUTS", before.Auth.SQN, after.Auth.SQN)
	}
}

func TestMARDigest(t *testing.T) {
	s, _, _ := newServer(t)
	var a cx.MAA
	call(t, s.MAR, &cx.MAR{RequestHeader: header(), UserName: hsstest.BobIMPI, PublicIdentity: hsstest.BobIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeUnknown}, SIPNumberAuthItems: 1,
		ServerName: hsstest.SCSCF}, &a)
	if got := resultOf(&a); got != success || len(a.SIPAuthDataItem) != 1 {
		t.Fatalf("result %+v with %d items", got, len(a.SIPAuthDataItem))
	}
	item := a.SIPAuthDataItem[0]
	d := item.SIPDigestAuthenticate
	if item.SIPAuthenticationScheme != cx.SchemeSIPDigest || d == nil || d.DigestRealm != hsstest.Realm || d.DigestQoP != "auth" ||
		d.DigestHA1 != aka.DigestHA1(hsstest.BobIMPI, hsstest.Realm, hsstest.BobPassword) {
		t.Fatalf("item %+v digest %+v", item, d)
	}

	// AKA for a digest subscriber is not supported.
	call(t, s.MAR, &cx.MAR{RequestHeader: header(), UserName: hsstest.BobIMPI, PublicIdentity: hsstest.BobIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5}, SIPNumberAuthItems: 1,
		ServerName: hsstest.SCSCF}, &a)
	if got := resultOf(&a); got != (outcome{cx.DiameterErrorAuthSchemeNotSupported, true}) {
		t.Fatalf("AKA for digest subscriber: %+v", got)
	}
}

func TestSAR(t *testing.T) {
	s, st, _ := newServer(t)
	ctx := context.Background()
	saa := register(t, s, hsstest.SCSCF)
	if got := resultOf(saa); got != success {
		t.Fatalf("result %+v", got)
	}
	sub, err := ifc.ParseSubscription([]byte(saa.UserData))
	if err != nil {
		t.Fatalf("User-Data: %v\n%s", err, saa.UserData)
	}
	if sub.PrivateID != hsstest.AliceIMPI || len(sub.ServiceProfiles) != 1 {
		t.Fatalf("User-Data %+v", sub)
	}
	p := sub.ServiceProfiles[0]
	var ids []string
	for _, id := range p.PublicIdentities {
		ids = append(ids, id.Identity)
	}
	// The implicit registration set, not the barred identity of another set.
	if strings.Join(ids, " ") != hsstest.AliceIMPU+" "+hsstest.AliceTel || len(p.InitialFilterCriteria) != 2 {
		t.Fatalf("service profile identities %v with %d iFCs", ids, len(p.InitialFilterCriteria))
	}
	if saa.ChargingInformation == nil || saa.ChargingInformation.PrimaryChargingCollectionFunctionName != "aaa://ccf."+hsstest.Realm {
		t.Errorf("Charging-Information %+v", saa.ChargingInformation)
	}
	stored, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	for _, uri := range []string{hsstest.AliceIMPU, hsstest.AliceTel} {
		if u := stored.IMS.IMPU(uri); u.State != store.StateRegistered || u.SCSCFName != hsstest.SCSCF {
			t.Errorf("%s after SAR: %+v", uri, u)
		}
	}
	if u := stored.IMS.IMPU(hsstest.AliceBarred); u.State != store.StateNotRegistered {
		t.Errorf("barred identity of another set changed: %+v", u)
	}

	// A second S-CSCF is refused and changes nothing.
	if got := resultOf(register(t, s, "sip:other-scscf."+hsstest.Realm)); got != alreadyRegistd {
		t.Fatalf("second S-CSCF: %+v", got)
	}
	again, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	if u := again.IMS.IMPU(hsstest.AliceIMPU); u.SCSCFName != hsstest.SCSCF {
		t.Fatalf("second S-CSCF overwrote the first: %+v", u)
	}

	tests := []struct {
		name  string
		sat   cx.ServerAssignmentType
		want  outcome
		state store.RegistrationState
		keeps bool // S-CSCF name kept
		data  bool
	}{
		{"no assignment", cx.ServerAssignmentTypeNoAssignment, success, store.StateRegistered, true, true},
		{"re-registration", cx.ServerAssignmentTypeReRegistration, success, store.StateRegistered, true, true},
		{"AAA user data request", cx.ServerAssignmentTypeAAAUserDataRequest, outcome{cx.DiameterErrorInAssignmentType, true}, store.StateRegistered, true, false},
		{"authentication failure while registered", cx.ServerAssignmentTypeAuthenticationFailure, success, store.StateRegistered, true, false},
		{"user deregistration store server name", cx.ServerAssignmentTypeUserDeregistrationStoreServerName, success, store.StateNotRegistered, true, false},
		{"unregistered user", cx.ServerAssignmentTypeUnregisteredUser, success, store.StateUnregistered, true, true},
		{"user deregistration", cx.ServerAssignmentTypeUserDeregistration, success, store.StateNotRegistered, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a cx.SAA
			call(t, s.SAR, &cx.SAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
				ServerName: hsstest.SCSCF, ServerAssignmentType: tt.sat}, &a)
			if got := resultOf(&a); got != tt.want {
				t.Fatalf("result %+v, want %+v", got, tt.want)
			}
			if (a.UserData != "") != tt.data {
				t.Errorf("User-Data present %t, want %t", a.UserData != "", tt.data)
			}
			sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
			u := sub.IMS.IMPU(hsstest.AliceTel)
			if u.State != tt.state || (u.SCSCFName == hsstest.SCSCF) != tt.keeps {
				t.Errorf("IMPU after: %+v, want state %s, S-CSCF kept %t", u, tt.state, tt.keeps)
			}
		})
	}
}

func TestSARMissingServerName(t *testing.T) {
	s, st, _ := newServer(t)
	var a cx.SAA
	call(t, s.SAR, &cx.SAR{RequestHeader: header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerAssignmentType: cx.ServerAssignmentTypeRegistration}, &a)
	if got := resultOf(&a); got != (outcome{msg.ResultMissingAVP, false}) {
		t.Fatalf("result %+v, want 5005", got)
	}
	if c, ok := failedCode(a.FailedAVP); !ok || c != 602 {
		t.Fatalf("Failed-AVP names %d, want 602 Server-Name", c)
	}
	sub, _ := st.Subscriber(context.Background(), hsstest.AliceIMSI)
	if u := sub.IMS.IMPU(hsstest.AliceIMPU); u.State != store.StateNotRegistered || u.SCSCFName != "" {
		t.Fatalf("rejected SAR changed the IMPU: %+v", u)
	}
}

func TestLIR(t *testing.T) {
	tests := []struct {
		name     string
		impu     string
		register bool
		want     outcome
		server   string
		caps     bool
	}{
		{"registered", hsstest.AliceTel, true, success, hsstest.SCSCF, false},
		{"unregistered services", hsstest.AliceIMPU, false, outcome{cx.DiameterUnregisteredService, true}, "", true},
		{"no unregistered services", hsstest.BobIMPU, false, notRegistered, "", false},
		{"unknown", "sip:nobody@" + hsstest.Realm, false, userUnknown, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newServer(t)
			if tt.register {
				register(t, s, hsstest.SCSCF)
			}
			var a cx.LIA
			call(t, s.LIR, &cx.LIR{RequestHeader: header(), PublicIdentity: tt.impu}, &a)
			if got := resultOf(&a); got != tt.want {
				t.Fatalf("result %+v, want %+v", got, tt.want)
			}
			if a.ServerName != tt.server || (a.ServerCapabilities != nil) != tt.caps {
				t.Errorf("Server-Name %q capabilities %+v", a.ServerName, a.ServerCapabilities)
			}
		})
	}
}

func TestDeregisterSendsRTR(t *testing.T) {
	s, st, p := newServer(t)
	ctx := context.Background()
	register(t, s, hsstest.SCSCF)
	reason := cx.DeregistrationReason{ReasonCode: cx.ReasonCodePermanentTermination, ReasonInfo: "subscription ended"}
	if err := s.Deregister(ctx, hsstest.AliceIMPI, reason); err != nil {
		t.Fatal(err)
	}
	if len(p.sent) != 1 {
		t.Fatalf("%d requests sent, want 1 RTR", len(p.sent))
	}
	var rtr cx.RTR
	if err := msg.Unmarshal(hsstest.Wire(t, p.sent[0]), &rtr); err != nil {
		t.Fatal(err)
	}
	if p.sent[0].Header.CommandCode != cx.CmdRegistrationTermination || rtr.DestinationHost != hsstest.SCSCFHost ||
		rtr.UserName != hsstest.AliceIMPI || rtr.DeregistrationReason != reason || len(rtr.PublicIdentity) != 2 {
		t.Fatalf("RTR %+v", rtr)
	}
	sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	for _, u := range sub.IMS.IMPUs {
		if u.State != store.StateNotRegistered || u.SCSCFName != "" {
			t.Errorf("after RTR: %+v", u)
		}
	}
	// Nobody serves Alice any more: no second RTR.
	if err := s.Deregister(ctx, hsstest.AliceIMPI, reason); err != nil || len(p.sent) != 1 {
		t.Fatalf("second deregister: %v, %d requests", err, len(p.sent))
	}
}

// TestRTRAfterRestart: the S-CSCF's Origin-Host learned from its MAR and SAR is kept in the
// store, so an HSS restarted since still addresses RTR and PPR to it (TS 29.229 6.1.9, 6.1.11).
func TestRTRAfterRestart(t *testing.T) {
	const host = "scscf-7." + hsstest.Realm
	s, st, p := newServer(t)
	ctx := context.Background()
	h := header()
	h.OriginHost = host
	var maa cx.MAA
	call(t, s.MAR, &cx.MAR{RequestHeader: h, UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		ServerName: hsstest.SCSCF, SIPNumberAuthItems: 1}, &maa)
	if resultOf(&maa) != success {
		t.Fatalf("MAR: %+v", resultOf(&maa))
	}
	var saa cx.SAA
	call(t, s.SAR, &cx.SAR{RequestHeader: h, UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerName: hsstest.SCSCF, ServerAssignmentType: cx.ServerAssignmentTypeRegistration}, &saa)
	if resultOf(&saa) != success {
		t.Fatalf("SAR: %+v", resultOf(&saa))
	}

	restarted := New(Config{Identity: hssID}, st, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := restarted.PushProfile(ctx, hsstest.AliceIMPI); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Deregister(ctx, hsstest.AliceIMPI, cx.DeregistrationReason{ReasonCode: cx.ReasonCodePermanentTermination}); err != nil {
		t.Fatal(err)
	}
	if len(p.sent) != 2 {
		t.Fatalf("%d requests sent, want a PPR and an RTR", len(p.sent))
	}
	var ppr cx.PPR
	var rtr cx.RTR
	if err := msg.Unmarshal(hsstest.Wire(t, p.sent[0]), &ppr); err != nil {
		t.Fatal(err)
	}
	if err := msg.Unmarshal(hsstest.Wire(t, p.sent[1]), &rtr); err != nil {
		t.Fatal(err)
	}
	if ppr.DestinationHost != host || rtr.DestinationHost != host {
		t.Fatalf("after restart: PPR to %q, RTR to %q; want %q", ppr.DestinationHost, rtr.DestinationHost, host)
	}
}

func TestDeregisterFailedRTRKeepsState(t *testing.T) {
	s, st, p := newServer(t)
	register(t, s, hsstest.SCSCF)
	p.code = msg.ResultUnableToComply
	if err := s.Deregister(context.Background(), hsstest.AliceIMPI, cx.DeregistrationReason{}); err == nil {
		t.Fatal("a failed RTA gave no error")
	}
	sub, _ := st.Subscriber(context.Background(), hsstest.AliceIMSI)
	if u := sub.IMS.IMPU(hsstest.AliceIMPU); u.State != store.StateRegistered {
		t.Fatalf("failed RTR cleared the registration: %+v", u)
	}
}

func TestPushProfileSendsPPR(t *testing.T) {
	s, _, p := newServer(t)
	ctx := context.Background()
	if err := s.PushProfile(ctx, hsstest.AliceIMPI); err != nil || len(p.sent) != 0 {
		t.Fatalf("PPR for an unregistered user: %v, %d requests", err, len(p.sent))
	}
	register(t, s, hsstest.SCSCF)
	if err := s.PushProfile(ctx, hsstest.AliceIMPI); err != nil {
		t.Fatal(err)
	}
	var ppr cx.PPR
	if err := msg.Unmarshal(hsstest.Wire(t, p.sent[0]), &ppr); err != nil {
		t.Fatal(err)
	}
	if ppr.DestinationHost != hsstest.SCSCFHost || ppr.UserName != hsstest.AliceIMPI || !strings.Contains(ppr.UserData, hsstest.AliceTel) {
		t.Fatalf("PPR %+v", ppr)
	}
	if _, err := ifc.ParseSubscription([]byte(ppr.UserData)); err != nil {
		t.Fatalf("PPR User-Data: %v", err)
	}
	if sid, err := p.sent[0].FindAVP(avp.SessionID, 0); err != nil || sid == nil {
		t.Fatal("PPR without Session-Id")
	}
}

func TestNoRequester(t *testing.T) {
	st := hsstest.Store(t)
	hsstest.Provision(t, st)
	s := New(Config{Identity: hssID}, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	register(t, s, hsstest.SCSCF)
	if err := s.PushProfile(context.Background(), hsstest.AliceIMPI); !errors.Is(err, ErrNoRequester) {
		t.Fatalf("err %v, want ErrNoRequester", err)
	}
}
