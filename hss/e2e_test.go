package hss_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/diameter/s6a"
	"github.com/imscore/imscore/pkg/ifc"
)

const (
	hssHost  = "hss." + hsstest.Realm
	apiToken = "e2e-token"
)

// hssProcess is the real cmd/hss binary running on free loopback ports.
type hssProcess struct {
	diameter string // host:port of the Diameter TCP endpoint
	api      string // base URL of the REST API
	log      *bytes.Buffer
	dir      string
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildHSS compiles cmd/hss into a temporary directory.
func buildHSS(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hss")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imscore/imscore/cmd/hss").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/hss: %v\n%s", err, out)
	}
	return bin
}

// startHSS runs the binary with a config on free ports and waits for /healthz. extra is
// appended to the YAML.
func startHSS(t testing.TB, extra string) *hssProcess {
	t.Helper()
	bin := buildHSS(t)
	dir := t.TempDir()
	h := &hssProcess{diameter: freeAddr(t), log: &bytes.Buffer{}, dir: dir}
	admin := freeAddr(t)
	h.api = "http://" + admin + "/api/v1"
	cfg := fmt.Sprintf(`admin:
  listen: %s
data_dir: %s
api_token: %s
log:
  level: debug
diameter:
  listen:
    - network: tcp
      addr: %s
%s`, admin, filepath.Join(dir, "data"), apiToken, h.diameter, extra)
	path := filepath.Join(dir, "hss.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", path)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("hss log:\n%s", h.log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case err := <-done:
			t.Fatalf("hss exited: %v\n%s", err, h.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("hss not healthy after 15s\n%s", h.log)
		}
	}
}

// rest calls the REST API with the bearer token and returns the status and body.
func (h *hssProcess) rest(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r, contentType = strings.NewReader(b), "application/xml"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.api+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if r != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (h *hssProcess) mustREST(t testing.TB, method, path string, body any, want int) []byte {
	t.Helper()
	code, out := h.rest(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// provision creates Alice over REST: the iFC set, the capability set and the subscriber.
func (h *hssProcess) provision(t testing.TB) {
	t.Helper()
	h.mustREST(t, http.MethodPut, "/ifc-sets/default", map[string]any{"name": "default", "xml": hsstest.IFCSet}, http.StatusOK)
	h.mustREST(t, http.MethodPost, "/scscf-capabilities", map[string]any{"name": "caps", "mandatory": []uint32{1},
		"optional": []uint32{2}, "server_names": []string{hsstest.SCSCF}}, http.StatusCreated)
	h.mustREST(t, http.MethodPost, "/subscribers", map[string]any{
		"imsi": hsstest.AliceIMSI, "msisdn": hsstest.AliceMSISDN,
		"auth": map[string]any{"k": hsstest.K, "opc": hsstest.OPc, "amf": hsstest.AMF, "sqn": 0},
		"ims": map[string]any{"impi": hsstest.AliceIMPI, "ifc_set": "default", "capability_set": "caps",
			"impus": []any{
				map[string]any{"uri": hsstest.AliceIMPU, "irs": "1", "default": true},
				map[string]any{"uri": hsstest.AliceTel, "irs": "1"},
			}},
		"apns": []string{"internet", "ims"},
	}, http.StatusCreated)
}

// testPeer is a Diameter node of our peer layer connected to the HSS: an S-CSCF or an MME.
type testPeer struct {
	node     *peer.Node
	host     string
	requests chan *diam.Message // HSS-initiated requests it received
}

func connect(t testing.TB, h *hssProcess, host, realm string, app uint32, serves ...uint32) *testPeer {
	t.Helper()
	p := &testPeer{host: host, requests: make(chan *diam.Message, 16)}
	node, err := peer.New(peer.Config{
		Identity: msg.Identity{Host: host, Realm: realm},
		Apps:     []peer.App{{ID: app, Vendor: dict.Vendor3GPP}},
		Peers: []peer.PeerConfig{{Host: hssHost, Realm: hsstest.Realm,
			Endpoint: peer.Endpoint{Network: "tcp", Addr: h.diameter}}},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range serves {
		node.Handle(app, cmd, func(_ context.Context, req *diam.Message) (*diam.Message, error) {
			p.requests <- req
			return msg.NewAnswer(req, node.Identity(), msg.ResultSuccess), nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { node.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range node.Peers() {
			if s.Host == hssHost && s.State == "OKAY" {
				p.node = node
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no connection to the HSS: %+v", host, node.Peers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ask sends the typed request and decodes the answer into ans.
func (p *testPeer) ask(t testing.TB, req interface{ Message() (*diam.Message, error) }, ans msg.Answer) *diam.Message {
	t.Helper()
	m, err := req.Message()
	if err != nil {
		t.Fatal(err)
	}
	return p.send(t, m, ans)
}

func (p *testPeer) send(t testing.TB, m *diam.Message, ans msg.Answer) *diam.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := p.node.Request(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Unmarshal(a, ans); err != nil {
		t.Fatal(err)
	}
	return a
}

func (p *testPeer) header() msg.RequestHeader {
	return msg.RequestHeader{SessionID: msg.NewSessionID(p.host), OriginHost: p.host, OriginRealm: hsstest.Realm,
		DestinationHost: hssHost, DestinationRealm: hsstest.Realm}
}

// awaitRequest waits for an HSS-initiated request.
func (p *testPeer) awaitRequest(t testing.TB, what string) *diam.Message {
	t.Helper()
	select {
	case m := <-p.requests:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no %s within 5s", p.host, what)
		return nil
	}
}

func result(t testing.TB, a msg.Answer, want uint32, experimental bool) {
	t.Helper()
	if code, exp := a.Header().Result(); code != want || exp != experimental {
		t.Fatalf("result %d (experimental %t), want %d (experimental %t)", code, exp, want, experimental)
	}
}

func TestCxEndToEnd(t *testing.T) {
	h := startHSS(t, "")
	h.provision(t)
	scscf := connect(t, h, hsstest.SCSCFHost, hsstest.Realm, dict.AppCx, cx.CmdRegistrationTermination, cx.CmdPushProfile)

	// UAR: first registration, the I-CSCF gets the capabilities to pick an S-CSCF with.
	var uaa cx.UAA
	scscf.ask(t, &cx.UAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		VisitedNetworkIdentifier: hsstest.Realm}, &uaa)
	result(t, &uaa, cx.DiameterFirstRegistration, true)
	if c := uaa.ServerCapabilities; c == nil || len(c.ServerName) != 1 || c.ServerName[0] != hsstest.SCSCF ||
		len(c.MandatoryCapability) != 1 || c.MandatoryCapability[0] != 1 {
		t.Fatalf("Server-Capabilities %+v", uaa.ServerCapabilities)
	}
	if uaa.SessionID == "" || uaa.OriginHost != hssHost || uaa.AuthSessionState == nil || uaa.VendorSpecificApplicationID == nil {
		t.Fatalf("UAA header %+v", uaa.AnswerHeader)
	}

	// MAR: two AKA vectors, checked with an independent Milenage.
	mar := func(authorization []byte) *cx.MAA {
		var maa cx.MAA
		scscf.ask(t, &cx.MAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
			SIPAuthDataItem:    cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5, SIPAuthorization: authorization},
			SIPNumberAuthItems: 2, ServerName: hsstest.SCSCF}, &maa)
		result(t, &maa, msg.ResultSuccess, false)
		if maa.UserName != hsstest.AliceIMPI || maa.PublicIdentity != hsstest.AliceIMPU || maa.SIPNumberAuthItems == nil ||
			*maa.SIPNumberAuthItems != 2 || len(maa.SIPAuthDataItem) != 2 {
			t.Fatalf("MAA %+v", maa)
		}
		return &maa
	}
	maa := mar(nil)
	var sqns []uint64
	for _, item := range maa.SIPAuthDataItem {
		rand, autn, ok := item.RANDAUTN()
		if !ok || item.SIPAuthenticationScheme != cx.SchemeDigestAKAv1MD5 || len(item.ConfidentialityKey) != 16 || len(item.IntegrityKey) != 16 {
			t.Fatalf("SIP-Auth-Data-Item %+v", item)
		}
		sqns = append(sqns, hsstest.CheckAKA(t, rand, autn, item.SIPAuthorization))
	}
	if sqns[0] != 1 || sqns[1] != 2 {
		t.Fatalf("SQNs %v, want [1 2]", sqns)
	}

	// Resync: the USIM is at 700; RAND || AUTS in SIP-Authorization gets vectors from 701.
	rand, _, _ := maa.SIPAuthDataItem[0].RANDAUTN()
	maa = mar(append(append([]byte{}, rand...), hsstest.AUTS(t, rand, 700)...))
	r0, autn0, _ := maa.SIPAuthDataItem[0].RANDAUTN()
	if sqn := hsstest.CheckAKA(t, r0, autn0, maa.SIPAuthDataItem[0].SIPAuthorization); sqn != 701 {
		t.Fatalf("SQN after resync %d, want 701", sqn)
	}

	// SAR: registration; User-Data carries the implicit registration set and the iFCs.
	var saa cx.SAA
	scscf.ask(t, &cx.SAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerName: hsstest.SCSCF, ServerAssignmentType: cx.ServerAssignmentTypeRegistration}, &saa)
	result(t, &saa, msg.ResultSuccess, false)
	sub, err := ifc.ParseSubscription([]byte(saa.UserData))
	if err != nil {
		t.Fatalf("User-Data: %v", err)
	}
	if sub.PrivateID != hsstest.AliceIMPI || len(sub.ServiceProfiles) != 1 || len(sub.ServiceProfiles[0].PublicIdentities) != 2 ||
		len(sub.ServiceProfiles[0].InitialFilterCriteria) != 2 {
		t.Fatalf("User-Data %+v", sub)
	}

	// LIR: the registered user's S-CSCF; UAR now says subsequent registration.
	var lia cx.LIA
	scscf.ask(t, &cx.LIR{RequestHeader: scscf.header(), PublicIdentity: hsstest.AliceTel}, &lia)
	result(t, &lia, msg.ResultSuccess, false)
	if lia.ServerName != hsstest.SCSCF {
		t.Fatalf("LIA Server-Name %q", lia.ServerName)
	}
	scscf.ask(t, &cx.UAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceTel,
		VisitedNetworkIdentifier: hsstest.Realm}, &uaa)
	result(t, &uaa, cx.DiameterSubsequentRegistration, true)
	if uaa.ServerName != hsstest.SCSCF {
		t.Fatalf("UAA Server-Name %q", uaa.ServerName)
	}

	// An iFC change over REST pushes the new profile to the S-CSCF.
	changed := strings.Replace(hsstest.IFCSet, "sip:mmtel.", "sip:mmtel2.", 1)
	h.mustREST(t, http.MethodPut, "/ifc-sets/default", map[string]any{"name": "default", "xml": changed}, http.StatusOK)
	ppr := scscf.awaitRequest(t, "PPR")
	var p cx.PPR
	if err := msg.Unmarshal(ppr, &p); err != nil {
		t.Fatal(err)
	}
	if ppr.Header.CommandCode != cx.CmdPushProfile || p.UserName != hsstest.AliceIMPI || !strings.Contains(p.UserData, "sip:mmtel2.") {
		t.Fatalf("PPR %+v", p)
	}

	// A REST deregister sends an RTR with the reason, and the user is no longer registered.
	h.mustREST(t, http.MethodPost, "/subscribers/"+hsstest.AliceIMSI+"/deregister",
		map[string]any{"reason": "remove_scscf", "info": "maintenance"}, http.StatusOK)
	rtr := scscf.awaitRequest(t, "RTR")
	var r cx.RTR
	if err := msg.Unmarshal(rtr, &r); err != nil {
		t.Fatal(err)
	}
	if rtr.Header.CommandCode != cx.CmdRegistrationTermination || r.UserName != hsstest.AliceIMPI ||
		r.DeregistrationReason != (cx.DeregistrationReason{ReasonCode: cx.ReasonCodeRemoveSCSCF, ReasonInfo: "maintenance"}) {
		t.Fatalf("RTR %+v", r)
	}
	scscf.ask(t, &cx.LIR{RequestHeader: scscf.header(), PublicIdentity: hsstest.AliceTel}, &lia)
	result(t, &lia, cx.DiameterUnregisteredService, true)
}

func TestCxBadInputChangesNothing(t *testing.T) {
	h := startHSS(t, "")
	h.provision(t)
	scscf := connect(t, h, hsstest.SCSCFHost, hsstest.Realm, dict.AppCx)
	before := h.mustREST(t, http.MethodGet, "/subscribers/"+hsstest.AliceIMSI, nil, http.StatusOK)

	marMsg := func(impi string) *diam.Message {
		m, err := (&cx.MAR{RequestHeader: scscf.header(), UserName: impi, PublicIdentity: hsstest.AliceIMPU,
			SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5}, SIPNumberAuthItems: 1,
			ServerName: hsstest.SCSCF}).Message()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// SIP-Number-Auth-Items is an Unsigned32: three octets are malformed (RFC 6733 7.1.5, 5014).
	malformed := marMsg(hsstest.AliceIMPI)
	for i, a := range malformed.AVP {
		if a.Code == 607 {
			malformed.AVP[i] = diam.NewAVP(607, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.OctetString("abc"))
		}
	}
	wrongRealm := marMsg(hsstest.AliceIMPI)
	for i, a := range wrongRealm.AVP {
		if a.Code == avp.DestinationRealm {
			wrongRealm.AVP[i] = diam.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("other.example.org"))
		}
	}
	for _, m := range []*diam.Message{malformed, wrongRealm} {
		m.Header.MessageLength = uint32(m.Len())
	}
	tests := []struct {
		name         string
		req          *diam.Message
		code         uint32
		experimental bool
		failed       uint32
	}{
		{"unknown user", marMsg("nobody@" + hsstest.Realm), cx.DiameterErrorUserUnknown, true, 0},
		{"malformed AVP", malformed, msg.ResultInvalidAVPLength, false, 607},
		{"wrong realm", wrongRealm, msg.ResultRealmNotServed, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a cx.MAA
			scscf.send(t, tt.req, &a)
			result(t, &a, tt.code, tt.experimental)
			if tt.failed != 0 {
				g, ok := a.FailedAVP.Data.(*diam.GroupedAVP)
				if !ok || len(g.AVP) != 1 || g.AVP[0].Code != tt.failed {
					t.Fatalf("Failed-AVP %v, want AVP %d", a.FailedAVP, tt.failed)
				}
			}
		})
	}
	var uaa cx.UAA
	scscf.ask(t, &cx.UAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: hsstest.AliceIMPU,
		VisitedNetworkIdentifier: "visited.example.org"}, &uaa)
	result(t, &uaa, cx.DiameterErrorRoamingNotAllowed, true)
	var saa cx.SAA
	scscf.ask(t, &cx.SAR{RequestHeader: scscf.header(), UserName: hsstest.AliceIMPI, PublicIdentity: []string{hsstest.AliceIMPU},
		ServerName: hsstest.SCSCF, ServerAssignmentType: cx.ServerAssignmentTypePGWUpdate}, &saa)
	result(t, &saa, cx.DiameterErrorInAssignmentType, true)

	if after := h.mustREST(t, http.MethodGet, "/subscribers/"+hsstest.AliceIMSI, nil, http.StatusOK); !bytes.Equal(before, after) {
		t.Fatalf("refused requests changed the subscriber:\nbefore %s\nafter  %s", before, after)
	}
}

const mmeRealm = hsstest.Realm

func TestS6aCLRAndIDR(t *testing.T) {
	h := startHSS(t, "")
	h.provision(t)
	mme1 := connect(t, h, "mme1."+mmeRealm, mmeRealm, dict.AppS6a, s6a.CmdCancelLocation, s6a.CmdInsertSubscriberData)
	mme2 := connect(t, h, "mme2."+mmeRealm, mmeRealm, dict.AppS6a, s6a.CmdCancelLocation, s6a.CmdInsertSubscriberData)
	plmn, _ := s6a.PLMNID("001", "01")
	ulr := func(m *testPeer) {
		var ula s6a.ULA
		m.ask(t, &s6a.ULR{RequestHeader: m.header(), UserName: hsstest.AliceIMSI, RATType: s6a.RATTypeEUTRAN,
			VisitedPLMNID: plmn}, &ula)
		result(t, &ula, msg.ResultSuccess, false)
		if ula.SubscriptionData == nil || ula.SubscriptionData.APNConfigurationProfile == nil {
			t.Fatalf("ULA without subscription data: %+v", ula)
		}
	}
	ulr(mme1)
	ulr(mme2)
	clr := mme1.awaitRequest(t, "CLR")
	var c s6a.CLR
	if err := msg.Unmarshal(clr, &c); err != nil {
		t.Fatal(err)
	}
	if clr.Header.CommandCode != s6a.CmdCancelLocation || c.UserName != hsstest.AliceIMSI || c.CancellationType != s6a.CancellationTypeMMEUpdateProcedure {
		t.Fatalf("CLR %+v", c)
	}

	// A change of the APNs over REST reaches the serving MME as an IDR.
	h.mustREST(t, http.MethodPut, "/subscribers/"+hsstest.AliceIMSI, map[string]any{
		"imsi": hsstest.AliceIMSI, "msisdn": hsstest.AliceMSISDN, "auth": map[string]any{"amf": hsstest.AMF},
		"ims": map[string]any{"impi": hsstest.AliceIMPI, "ifc_set": "default", "capability_set": "caps",
			"impus": []any{map[string]any{"uri": hsstest.AliceIMPU, "irs": "1", "default": true}, map[string]any{"uri": hsstest.AliceTel, "irs": "1"}}},
		"apns": []string{"ims"},
	}, http.StatusOK)
	idr := mme2.awaitRequest(t, "IDR")
	var i s6a.IDR
	if err := msg.Unmarshal(idr, &i); err != nil {
		t.Fatal(err)
	}
	prof := i.SubscriptionData.APNConfigurationProfile
	if idr.Header.CommandCode != s6a.CmdInsertSubscriberData || prof == nil || len(prof.APNConfiguration) != 1 ||
		prof.APNConfiguration[0].ServiceSelection != "ims" || prof.APNConfiguration[0].EPSSubscribedQoSProfile.QoSClassIdentifier != 5 {
		t.Fatalf("IDR %+v profile %+v", i, prof)
	}
	select {
	case m := <-mme1.requests:
		t.Fatalf("the previous MME got command %d after the CLR", m.Header.CommandCode)
	default:
	}
}

// TestS6aGoDiameterClient runs go-diameter's own example S6a client (a client no one here
// wrote) against the HSS: AIR then ULR.
func TestS6aGoDiameterClient(t *testing.T) {
	h := startHSS(t, "")
	h.provision(t)
	client := filepath.Join(t.TempDir(), "s6a_client")
	if out, err := exec.Command("go", "build", "-o", client, "github.com/fiorix/go-diameter/v4/examples/s6a_client").CombinedOutput(); err != nil {
		t.Fatalf("go build s6a_client: %v\n%s", err, out)
	}
	const mme = "mme.example-client." + mmeRealm
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, client, "-addr", h.diameter, "-network_type", "tcp", "-diam_host", mme,
		"-diam_realm", mmeRealm, "-imsi", hsstest.AliceIMSI, "-vectors", "2", "-sleep", "0").CombinedOutput()
	if err != nil {
		t.Fatalf("s6a_client: %v\n%s", err, out)
	}
	log := string(out)
	for _, want := range []string{"Received Authentication-Information Answer", "Received Update-Location Answer",
		"E-UTRAN-Vector", "KASME", "Subscription-Data", "APN-Configuration-Profile"} {
		if !strings.Contains(log, want) {
			t.Fatalf("client output lacks %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "Result-Code {Code:268,Flags:0x40,Length:12,VendorId:0,Value:Unsigned32{2001}}") < 2 {
		t.Fatalf("want two answers with Result-Code 2001:\n%s", log)
	}
	var sub struct {
		MME  *struct{ Host string } `json:"mme"`
		Auth struct{ SQN uint64 }   `json:"auth"`
	}
	if err := json.Unmarshal(h.mustREST(t, http.MethodGet, "/subscribers/"+hsstest.AliceIMSI, nil, http.StatusOK), &sub); err != nil {
		t.Fatal(err)
	}
	if sub.MME == nil || sub.MME.Host != mme || sub.Auth.SQN < 2 {
		t.Fatalf("after AIR and ULR: MME %+v, SQN %d; want %s and at least 2", sub.MME, sub.Auth.SQN, mme)
	}
}
