package hss_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/s6a"
	"github.com/imscore/imscore/pkg/testutil"
)

// TestWireshark captures every Cx and S6a command the HSS answers or sends and checks that
// tshark names each one and finds no malformed packet and no expert warning or error.
func TestWireshark(t *testing.T) {
	h := startHSS(t, "")
	_, port, _ := net.SplitHostPort(h.diameter)
	capture := testutil.StartCapture(t, "lo", "tcp port "+port)
	h.provision(t)

	scscf := connect(t, h, hsstest.SCSCFHost, hsstest.Realm, dict.AppCx, cx.CmdRegistrationTermination, cx.CmdPushProfile)
	var uaa cx.UAA
	scscf.ask(t, &cx.UAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		VisitedNetworkIdentifier: hsstest.Realm}, &uaa)
	var maa cx.MAA
	scscf.ask(t, &cx.MAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5}, SIPNumberAuthItems: 1,
		ServerName: hsstest.SCSCF}, &maa)
	var saa cx.SAA
	scscf.ask(t, &cx.SAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerName: hsstest.SCSCF, ServerAssignmentType: cx.ServerAssignmentTypeRegistration}, &saa)
	var lia cx.LIA
	scscf.ask(t, &cx.LIR{RequestHeader: scscf.header(), PublicIdentity: hsstest.AliceIMPU}, &lia)
	for _, a := range []msg.Answer{&uaa, &maa, &saa, &lia} {
		if code, _ := a.Header().Result(); code >= 3000 {
			t.Fatalf("answer %T: %d", a, code)
		}
	}
	h.mustREST(t, http.MethodPut, "/ifc-sets/default", map[string]any{"name": "default",
		"xml": strings.Replace(hsstest.IFCSet, "sip:mmtel.", "sip:mmtel2.", 1)}, http.StatusOK)
	scscf.awaitRequest(t, "PPR")
	h.mustREST(t, http.MethodPost, "/subscribers/"+hsstest.AliceIMSI+"/deregister", nil, http.StatusOK)
	scscf.awaitRequest(t, "RTR")

	mme1 := connect(t, h, "mme1."+mmeRealm, mmeRealm, dict.AppS6a, s6a.CmdCancelLocation, s6a.CmdInsertSubscriberData)
	mme2 := connect(t, h, "mme2."+mmeRealm, mmeRealm, dict.AppS6a, s6a.CmdCancelLocation, s6a.CmdInsertSubscriberData)
	plmn, _ := s6a.PLMNID("001", "01")
	var aia s6a.AIA
	mme1.ask(t, &s6a.AIR{RequestHeader: mme1.header(), UserName: hsstest.AliceIMSI, VisitedPLMNID: plmn,
		RequestedEUTRANAuthenticationInfo: &s6a.RequestedEUTRANAuthenticationInfo{NumberOfRequestedVectors: 1}}, &aia)
	for _, m := range []*testPeer{mme1, mme2} {
		var ula s6a.ULA
		m.ask(t, &s6a.ULR{RequestHeader: m.header(), UserName: hsstest.AliceIMSI, RATType: s6a.RATTypeEUTRAN, VisitedPLMNID: plmn}, &ula)
	}
	mme1.awaitRequest(t, "CLR")
	var noa s6a.NOA
	mme2.ask(t, &s6a.NOR{RequestHeader: mme2.header(), UserName: hsstest.AliceIMSI}, &noa)
	var pua s6a.PUA
	mme2.ask(t, &s6a.PUR{RequestHeader: mme2.header(), UserName: hsstest.AliceIMSI}, &pua)
	var ula s6a.ULA
	mme2.ask(t, &s6a.ULR{RequestHeader: mme2.header(), UserName: hsstest.AliceIMSI, RATType: s6a.RATTypeEUTRAN, VisitedPLMNID: plmn}, &ula)
	h.mustREST(t, http.MethodPut, "/subscribers/"+hsstest.AliceIMSI, map[string]any{
		"imsi": hsstest.AliceIMSI, "msisdn": hsstest.AliceMSISDN, "auth": map[string]any{"amf": hsstest.AMF},
		"ims":  map[string]any{"impi": hsstest.AliceIMPI, "impus": []string{hsstest.AliceIMPU, hsstest.AliceTel}},
		"apns": []string{"ims"},
	}, http.StatusOK)
	mme2.awaitRequest(t, "IDR")

	pcap := capture.Stop()
	d := testutil.Dissector{DecodeAs: []string{"tcp.port==" + port + ",diameter"}}
	seen := map[string]bool{}
	for _, row := range d.Decode(t, pcap, "diameter", "_ws.col.Info") { // tshark 4.0 spelling
		seen[row[0]] = true
	}
	info := strings.Join(mapKeys(seen), "\n")
	for _, cmd := range []string{"User-Authorization", "Multimedia-Auth", "Server-Assignment", "Location-Info",
		"Push-Profile", "Registration-Termination", "Authentication-Information", "Update-Location",
		"Cancel-Location", "Insert-Subscriber-Data", "Purge-UE", "Notify"} {
		for _, kind := range []string{"Request", "Answer"} {
			if !strings.Contains(info, cmd+" "+kind) {
				t.Errorf("tshark shows no %s %s; it shows:\n%s", cmd, kind, info)
			}
		}
	}
	d.AssertClean(t, pcap)
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
