package s6a

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/wmnsk/milenage"

	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/s6a"
)

const (
	mmeRealm = "epc.mnc001.mcc001.3gppnetwork.org"
	mme1     = "mme1." + mmeRealm
	mme2     = "mme2." + mmeRealm
)

var hssID = msg.Identity{Host: "hss." + hsstest.Realm, Realm: hsstest.Realm}

// homePLMN is 001/01 in the TS 24.008 encoding.
var homePLMN = []byte{0x00, 0xf1, 0x10}

type peers struct {
	mu   sync.Mutex
	sent []*diam.Message
}

func (p *peers) Request(_ context.Context, req *diam.Message) (*diam.Message, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, req)
	return msg.NewAnswer(req, msg.Identity{Host: mme1, Realm: mmeRealm}, msg.ResultSuccess), nil
}

func (p *peers) requests() []*diam.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*diam.Message(nil), p.sent...)
}

func newServer(t *testing.T) (*Server, *store.DB, *peers) {
	t.Helper()
	st := hsstest.Store(t)
	hsstest.Provision(t, st)
	p := &peers{}
	return New(hssID, st, p, slog.New(slog.NewTextHandler(io.Discard, nil))), st, p
}

func header(mme string) msg.RequestHeader {
	return msg.RequestHeader{SessionID: msg.NewSessionID(mme), OriginHost: mme, OriginRealm: mmeRealm,
		DestinationRealm: hsstest.Realm}
}

type handler func(context.Context, *diam.Message) (*diam.Message, error)

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

var success = outcome{msg.ResultSuccess, false}

// kasme recomputes KASME (TS 33.401 A.2) from wmnsk/milenage's CK and IK.
func kasme(t *testing.T, rand, autn, plmn []byte) []byte {
	t.Helper()
	k, _ := hex.DecodeString(hsstest.K)
	opc, _ := hex.DecodeString(hsstest.OPc)
	_, ck, ik, _, err := milenage.NewWithOPc(k, opc, rand, 0, 0x8000).F2345()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, append(append([]byte{}, ck...), ik...))
	s := append([]byte{0x10}, plmn...)
	s = append(s, 0x00, 0x03)
	s = append(s, autn[:6]...)
	s = append(s, 0x00, 0x06)
	mac.Write(s)
	return mac.Sum(nil)
}

func air(n uint32, resync []byte) *s6a.AIR {
	return &s6a.AIR{RequestHeader: header(mme1), UserName: hsstest.AliceIMSI, VisitedPLMNID: homePLMN,
		RequestedEUTRANAuthenticationInfo: &s6a.RequestedEUTRANAuthenticationInfo{NumberOfRequestedVectors: n, ReSynchronizationInfo: resync}}
}

func TestAIR(t *testing.T) {
	s, st, _ := newServer(t)
	var a s6a.AIA
	call(t, s.AIR, air(3, nil), &a)
	if got := resultOf(&a); got != success || a.AuthenticationInfo == nil || len(a.AuthenticationInfo.EUTRANVector) != 3 {
		t.Fatalf("result %+v, info %+v", got, a.AuthenticationInfo)
	}
	var last uint64
	for i, v := range a.AuthenticationInfo.EUTRANVector {
		sqn := hsstest.CheckAKA(t, v.RAND, v.AUTN, v.XRES)
		if sqn != last+1 {
			t.Fatalf("vector %d: SQN %d after %d", i, sqn, last)
		}
		last = sqn
		if want := kasme(t, v.RAND, v.AUTN, homePLMN); !bytes.Equal(v.KASME, want) {
			t.Fatalf("vector %d: KASME %x, want %x", i, v.KASME, want)
		}
	}
	sub, _ := st.Subscriber(context.Background(), hsstest.AliceIMSI)
	if sub.Auth.SQN < last {
		t.Errorf("stored SQN %d, below the last handed out %d", sub.Auth.SQN, last)
	}

	// Re-synchronisation: the USIM is at 5000.
	rand := bytes.Repeat([]byte{7}, 16)
	call(t, s.AIR, air(1, append(append([]byte{}, rand...), hsstest.AUTS(t, rand, 5000)...)), &a)
	if got := resultOf(&a); got != success || len(a.AuthenticationInfo.EUTRANVector) != 1 {
		t.Fatalf("resync: %+v", got)
	}
	v := a.AuthenticationInfo.EUTRANVector[0]
	if sqn := hsstest.CheckAKA(t, v.RAND, v.AUTN, v.XRES); sqn != 5001 {
		t.Fatalf("SQN after resync %d, want 5001", sqn)
	}
}

func TestAIRErrors(t *testing.T) {
	tests := []struct {
		name   string
		air    *s6a.AIR
		want   outcome
		failed uint32
	}{
		{"unknown IMSI", &s6a.AIR{RequestHeader: header(mme1), UserName: "001019999999999", VisitedPLMNID: homePLMN,
			RequestedEUTRANAuthenticationInfo: &s6a.RequestedEUTRANAuthenticationInfo{NumberOfRequestedVectors: 1}},
			outcome{s6a.DiameterErrorUserUnknown, true}, 0},
		{"bad Visited-PLMN-Id", &s6a.AIR{RequestHeader: header(mme1), UserName: hsstest.AliceIMSI, VisitedPLMNID: []byte{1, 2},
			RequestedEUTRANAuthenticationInfo: &s6a.RequestedEUTRANAuthenticationInfo{NumberOfRequestedVectors: 1}},
			outcome{msg.ResultInvalidAVPValue, false}, 1407},
		{"digest subscriber", &s6a.AIR{RequestHeader: header(mme1), UserName: hsstest.BobIMSI, VisitedPLMNID: homePLMN,
			RequestedEUTRANAuthenticationInfo: &s6a.RequestedEUTRANAuthenticationInfo{NumberOfRequestedVectors: 1}},
			outcome{s6a.DiameterAuthenticationDataUnavailable, true}, 0},
		{"short resync info", air(1, []byte{1, 2, 3}), outcome{msg.ResultInvalidAVPValue, false}, 1411},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, st, _ := newServer(t)
			var a s6a.AIA
			call(t, s.AIR, tt.air, &a)
			if got := resultOf(&a); got != tt.want {
				t.Fatalf("result %+v, want %+v", got, tt.want)
			}
			if tt.failed != 0 {
				if a.FailedAVP == nil {
					t.Fatal("no Failed-AVP")
				}
				g, ok := a.FailedAVP.Data.(*diam.GroupedAVP)
				if !ok || len(g.AVP) != 1 || g.AVP[0].Code != tt.failed {
					t.Fatalf("Failed-AVP %v, want AVP %d", a.FailedAVP, tt.failed)
				}
			}
			if sub, _ := st.Subscriber(context.Background(), hsstest.AliceIMSI); sub.Auth.SQN != 0 {
				t.Errorf("a refused AIR advanced the SQN to %d", sub.Auth.SQN)
			}
		})
	}
}

func ulr(mme string, flags uint32) *s6a.ULR {
	return &s6a.ULR{RequestHeader: header(mme), UserName: hsstest.AliceIMSI, RATType: s6a.RATTypeEUTRAN,
		ULRFlags: flags, VisitedPLMNID: homePLMN}
}

func TestULR(t *testing.T) {
	s, st, p := newServer(t)
	ctx := context.Background()
	var a s6a.ULA
	call(t, s.ULR, ulr(mme1, s6a.ULRFlagS6aS6dIndicator), &a)
	if got := resultOf(&a); got != success {
		t.Fatalf("result %+v", got)
	}
	if a.ULAFlags == nil || *a.ULAFlags != s6a.ULAFlagSeparationIndication {
		t.Errorf("ULA-Flags %v", a.ULAFlags)
	}
	d := a.SubscriptionData
	if d == nil {
		t.Fatal("no Subscription-Data")
	}
	if msg.DecodeTBCD(d.MSISDN) != hsstest.AliceMSISDN {
		t.Errorf("MSISDN %x", d.MSISDN)
	}
	if d.AMBR == nil || d.AMBR.MaxRequestedBandwidthUL != 100_000_000 || d.AMBR.MaxRequestedBandwidthDL != 200_000_000 {
		t.Errorf("AMBR %+v", d.AMBR)
	}
	prof := d.APNConfigurationProfile
	if prof == nil || prof.ContextIdentifier != 1 || len(prof.APNConfiguration) != 2 {
		t.Fatalf("APN-Configuration-Profile %+v", prof)
	}
	qci := map[string]int32{}
	for _, c := range prof.APNConfiguration {
		qci[c.ServiceSelection] = c.EPSSubscribedQoSProfile.QoSClassIdentifier
	}
	if qci["internet"] != 9 || qci["ims"] != IMSQCI {
		t.Errorf("QCIs %v, want internet 9 and ims 5", qci)
	}
	sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	if sub.MMEHost != mme1 || sub.MMERealm != mmeRealm {
		t.Fatalf("serving MME %q %q", sub.MMEHost, sub.MMERealm)
	}
	if len(p.requests()) != 0 {
		t.Fatal("first ULR sent a CLR")
	}

	// A new MME: the old one gets a CLR; Skip-Subscriber-Data leaves the data out.
	call(t, s.ULR, ulr(mme2, s6a.ULRFlagSkipSubscriberData), &a)
	if got := resultOf(&a); got != success || a.SubscriptionData != nil {
		t.Fatalf("second ULR: %+v, data %+v", got, a.SubscriptionData)
	}
	s.Wait()
	sent := p.requests()
	if len(sent) != 1 || sent[0].Header.CommandCode != s6a.CmdCancelLocation {
		t.Fatalf("%d requests after the MME change, want one CLR", len(sent))
	}
	var clr s6a.CLR
	if err := msg.Unmarshal(hsstest.Wire(t, sent[0]), &clr); err != nil {
		t.Fatal(err)
	}
	if clr.DestinationHost != mme1 || clr.DestinationRealm != mmeRealm || clr.UserName != hsstest.AliceIMSI ||
		clr.CancellationType != s6a.CancellationTypeMMEUpdateProcedure {
		t.Fatalf("CLR %+v", clr)
	}
	if sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI); sub.MMEHost != mme2 {
		t.Fatalf("serving MME %q, want %q", sub.MMEHost, mme2)
	}
}

func TestULRUnknownChangesNothing(t *testing.T) {
	s, _, p := newServer(t)
	r := ulr(mme1, 0)
	r.UserName = "001019999999999"
	var a s6a.ULA
	call(t, s.ULR, r, &a)
	if got := resultOf(&a); got != (outcome{s6a.DiameterErrorUserUnknown, true}) {
		t.Fatalf("result %+v", got)
	}
	if len(p.requests()) != 0 {
		t.Fatal("a refused ULR sent a request")
	}
}

func TestPURAndNOR(t *testing.T) {
	s, st, _ := newServer(t)
	ctx := context.Background()
	var ula s6a.ULA
	call(t, s.ULR, ulr(mme1, 0), &ula)

	var noa s6a.NOA
	call(t, s.NOR, &s6a.NOR{RequestHeader: header(mme2), UserName: hsstest.AliceIMSI}, &noa)
	if got := resultOf(&noa); got != (outcome{s6a.DiameterErrorUnknownServingNode, true}) {
		t.Fatalf("NOR from another MME: %+v", got)
	}
	call(t, s.NOR, &s6a.NOR{RequestHeader: header(mme1), UserName: hsstest.AliceIMSI}, &noa)
	if got := resultOf(&noa); got != success {
		t.Fatalf("NOR: %+v", got)
	}

	var pua s6a.PUA
	call(t, s.PUR, &s6a.PUR{RequestHeader: header(mme2), UserName: hsstest.AliceIMSI}, &pua)
	if got := resultOf(&pua); got != success || pua.PUAFlags != 0 {
		t.Fatalf("PUR from another MME: %+v flags %d", got, pua.PUAFlags)
	}
	if sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI); sub.MMEHost != mme1 {
		t.Fatal("PUR from another MME purged the serving one")
	}
	call(t, s.PUR, &s6a.PUR{RequestHeader: header(mme1), UserName: hsstest.AliceIMSI}, &pua)
	if got := resultOf(&pua); got != success || pua.PUAFlags != s6a.PUAFlagFreezeMTMSI {
		t.Fatalf("PUR: %+v flags %d", got, pua.PUAFlags)
	}
	if sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI); sub.MMEHost != "" {
		t.Fatalf("serving MME %q after PUR", sub.MMEHost)
	}
}

func TestSubscriptionChanged(t *testing.T) {
	s, st, p := newServer(t)
	ctx := context.Background()
	if err := s.SubscriptionChanged(ctx, hsstest.AliceIMSI); err != nil || len(p.requests()) != 0 {
		t.Fatalf("not attached: %v, %d requests", err, len(p.requests()))
	}
	var ula s6a.ULA
	call(t, s.ULR, ulr(mme1, 0), &ula)
	sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI)
	sub.APNs = []string{"internet"}
	if err := st.UpdateSubscriber(ctx, sub, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SubscriptionChanged(ctx, hsstest.AliceIMSI); err != nil {
		t.Fatal(err)
	}
	sent := p.requests()
	if len(sent) != 1 || sent[0].Header.CommandCode != s6a.CmdInsertSubscriberData {
		t.Fatalf("%d requests, want one IDR", len(sent))
	}
	var idr s6a.IDR
	if err := msg.Unmarshal(hsstest.Wire(t, sent[0]), &idr); err != nil {
		t.Fatal(err)
	}
	prof := idr.SubscriptionData.APNConfigurationProfile
	// The IMS APN stays: Alice has an IMS subscription.
	if idr.DestinationHost != mme1 || prof == nil || len(prof.APNConfiguration) != 2 ||
		prof.APNConfiguration[0].ServiceSelection != "internet" || prof.APNConfiguration[1].ServiceSelection != IMSAPN {
		t.Fatalf("IDR %+v profile %+v", idr, prof)
	}

	// Disabling the subscriber withdraws the subscription at the MME.
	sub.Enabled = false
	if err := st.UpdateSubscriber(ctx, sub, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SubscriptionChanged(ctx, hsstest.AliceIMSI); err != nil {
		t.Fatal(err)
	}
	sent = p.requests()
	var clr s6a.CLR
	if len(sent) != 2 || msg.Unmarshal(hsstest.Wire(t, sent[1]), &clr) != nil ||
		clr.CancellationType != s6a.CancellationTypeSubscriptionWithdrawal {
		t.Fatalf("after disabling: %d requests, last %+v", len(sent), clr)
	}
	if sub, _ := st.Subscriber(ctx, hsstest.AliceIMSI); sub.MMEHost != "" {
		t.Fatalf("serving MME %q after withdrawal", sub.MMEHost)
	}
}
