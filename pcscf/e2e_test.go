package pcscf

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/wmnsk/milenage"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/sip/auth"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/siptest"
	"github.com/imscore/imscore/pkg/testutil"
	"github.com/imscore/imscore/scscf"
)

// The demo subscriber of CONTRACT.md, with the TS 35.208 test set 1 keys.
const (
	e2eIMSI = "001010000000001"
	e2eK    = "465b5ce8b199b49faa5f0a2ee238a6bc"
	e2eOPc  = "cd63cb71954a9f4e48a5994e37a02baf"
	e2eIMPI = e2eIMSI + "@" + config.HomeDomain
	e2eIMPU = "sip:" + e2eIMSI + "@" + config.HomeDomain
	e2eTel  = "tel:+15550001"
	token   = "e2e-token"
)

// freeSIPAddr is a loopback host:port free on UDP and TCP now, for a node whose name must be
// known before it starts (the S-CSCF's Server-Name).
func freeSIPAddr(t *testing.T) string {
	t.Helper()
	for {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", u.LocalAddr().String())
		u.Close()
		if err == nil {
			l.Close()
			return u.LocalAddr().String()
		}
	}
}

func run(t *testing.T, name string, f func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if err := f(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRegistrationEndToEnd registers a UE with IMS-AKA through P-CSCF -> I-CSCF -> S-CSCF,
// the HSS reached over Diameter, and captures the SIP of the whole flow for tshark.
func TestRegistrationEndToEnd(t *testing.T) {
	log := siptest.Logger()

	// HSS with the subscriber.
	var hcfg hss.Config
	hcfg.Defaults()
	hcfg.DataDir = t.TempDir()
	hcfg.Admin.Listen = "127.0.0.1:0"
	hcfg.Diameter.Listen = []config.Endpoint{{Network: config.NetworkTCP, Addr: "127.0.0.1:0"}}
	hcfg.APIToken = token
	h, err := hss.New(hcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	api, err := h.Admin().Listen()
	if err != nil {
		t.Fatal(err)
	}
	run(t, "hss", h.Run)
	var hssAddr string
	waitFor(t, "the HSS to listen", func() bool {
		a := h.Diameter().ListenAddrs()["tcp"]
		if a != nil {
			hssAddr = a.String()
		}
		return a != nil
	})
	provision(t, "http://"+api.String()+"/api/v1/subscribers")
	hssPeer := []config.Peer{{Host: config.OriginHost("hss"), Realm: config.HomeDomain,
		Endpoint: config.Endpoint{Network: config.NetworkTCP, Addr: hssAddr}, Apps: []string{config.AppCx}}}

	// S-CSCF, I-CSCF, P-CSCF, each a Cx client of the HSS.
	sAddr := freeSIPAddr(t)
	var scfg scscf.Config
	scfg.Defaults()
	scfg.DataDir = t.TempDir()
	scfg.Admin.Listen = "127.0.0.1:0"
	scfg.SIP.Listen = sAddr
	scfg.Registrar.ServerName = "sip:" + sAddr
	scfg.Diameter.Peers = hssPeer
	s, err := scscf.New(scfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	run(t, "scscf", s.Run)

	var icfg icscf.Config
	icfg.Defaults()
	icfg.DataDir = t.TempDir()
	icfg.Admin.Listen = "127.0.0.1:0"
	icfg.SIP.Listen = "127.0.0.1:0"
	icfg.Diameter.Peers = hssPeer
	icfg.SCSCFs = []icscf.SCSCF{{Name: scfg.Registrar.ServerName}}
	i, err := icscf.New(icfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.SIP().Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := i.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	run(t, "icscf", i.Run)

	var pcfg Config
	pcfg.Defaults()
	pcfg.DataDir = t.TempDir()
	pcfg.Admin.Listen = "127.0.0.1:0"
	pcfg.SIP.Listen = "127.0.0.1:0"
	pcfg.ICSCF = "sip:" + i.SIP().Addr()
	p, err := New(pcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SIP().Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	run(t, "pcscf", p.Run)
	<-p.SIP().Ready()
	<-i.SIP().Ready()
	waitFor(t, "the HSS to see the I-CSCF and S-CSCF", func() bool {
		okay := 0
		for _, ps := range h.Diameter().Peers() {
			if ps.State == "OKAY" {
				okay++
			}
		}
		return okay == 2
	})

	ports := []string{port(p.SIP().Addr()), port(i.SIP().Addr()), port(sAddr)}
	capture := testutil.StartCapture(t, "lo", "udp and (port "+strings.Join(ports, " or port ")+")")

	ue := siptest.NewClient(t)
	// 1. REGISTER -> 401 with an AKA challenge, without ck/ik.
	reg := e2eRegister(p, 1, "600", header.Credentials{Username: e2eIMPI, Realm: config.HomeDomain, URI: "sip:" + config.HomeDomain})
	res := siptest.Do(t, ue, reg)
	if res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	chs, err := header.All(res.GetHeaders(header.NameWWWAuthenticate), header.ParseChallenges)
	if err != nil || len(chs) != 1 || chs[0].Algorithm != header.AlgorithmAKAv1MD5 || chs[0].IK != "" || chs[0].CK != "" {
		t.Fatalf("challenge %+v (%v): want one AKAv1-MD5 challenge without ik/ck", chs, err)
	}

	// 2. REGISTER with RES -> 200 OK with Service-Route and P-Associated-URI.
	res = siptest.Do(t, ue, e2eRegister(p, 2, "600", akaAnswer(t, chs[0], 1)))
	if res.StatusCode != 200 {
		t.Fatalf("authenticated REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	if res.GetHeader(header.NameServiceRoute) == nil || res.GetHeader(header.NamePAssociatedURI) == nil {
		t.Errorf("200 OK without Service-Route or P-Associated-URI:\n%s", res)
	}
	bs := p.Bindings()
	if len(bs) != 1 || bs[0].AOR != e2eIMPU || len(bs[0].ServiceRoute) == 0 {
		t.Fatalf("P-CSCF bindings %+v", bs)
	}
	waitFor(t, "the P-CSCF's reg-event subscription", func() bool { return p.subs.count() == 1 })

	// 3. De-registration: Expires 0 -> 200, and the P-CSCF drops the binding.
	res = siptest.Do(t, ue, e2eRegister(p, 3, "0", akaAnswer(t, chs[0], 2)))
	if res.StatusCode != 200 {
		t.Fatalf("de-REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	waitFor(t, "the binding to go", func() bool { return len(p.Bindings()) == 0 })

	// 4. Registered again, then the HSS deregisters the user (REST -> RTR): the S-CSCF's NOTIFY
	// with the registration terminated removes the P-CSCF's binding (TS 24.229 5.2.5).
	res = siptest.Do(t, ue, e2eRegister(p, 4, "600", header.Credentials{Username: e2eIMPI, Realm: config.HomeDomain, URI: "sip:" + config.HomeDomain}))
	chs, err = header.All(res.GetHeaders(header.NameWWWAuthenticate), header.ParseChallenges)
	if res.StatusCode != 401 || err != nil || len(chs) != 1 {
		t.Fatalf("re-REGISTER: %d, challenges %v (%v)", res.StatusCode, chs, err)
	}
	if res = siptest.Do(t, ue, e2eRegister(p, 5, "600", akaAnswer(t, chs[0], 1))); res.StatusCode != 200 {
		t.Fatalf("re-REGISTER with RES: %d %s", res.StatusCode, res.Reason)
	}
	waitFor(t, "the binding and its subscription", func() bool { return len(p.Bindings()) == 1 && p.subs.count() >= 1 })
	if code := post(t, "http://"+api.String()+"/api/v1/subscribers/"+e2eIMSI+"/deregister", nil); code/100 != 2 {
		t.Fatalf("REST deregister: HTTP %d", code)
	}
	waitFor(t, "NOTIFY terminated to remove the binding", func() bool { return len(p.Bindings()) == 0 })

	// 5. An unknown user gets 403 from the I-CSCF (UAR: DIAMETER_ERROR_USER_UNKNOWN).
	unknown := e2eRegister(p, 1, "600", header.Credentials{Username: "999@" + config.HomeDomain, Realm: config.HomeDomain, URI: "sip:" + config.HomeDomain})
	var to gosip.Uri
	gosip.ParseUri("sip:999@"+config.HomeDomain, &to)
	unknown.ReplaceHeader(&gosip.ToHeader{Address: to, Params: gosip.HeaderParams{}})
	if res := siptest.Do(t, ue, unknown); res.StatusCode != 403 {
		t.Errorf("unknown user: %d, want 403", res.StatusCode)
	}

	pcap := capture.Stop()
	d := testutil.Dissector{}
	for _, pt := range ports {
		d.DecodeAs = append(d.DecodeAs, "udp.port=="+pt+",sip")
	}
	d.AssertClean(t, pcap)
	// 6 REGISTERs from the UE, each relayed P->I and I->S except the unknown user's: 17.
	if rows := d.Decode(t, pcap, `sip.Method == "REGISTER"`, "sip.Method"); len(rows) != 17 {
		t.Errorf("tshark decoded %d REGISTERs, want 17", len(rows))
	}
	if rows := d.Decode(t, pcap, `sip.Method == "SUBSCRIBE" && sip.Event == "reg"`, "sip.Method"); len(rows) != 2 {
		t.Errorf("tshark decoded %d reg-event SUBSCRIBEs, want 2", len(rows))
	}
	if rows := d.Decode(t, pcap, `sip.Method == "NOTIFY"`, "sip.Method"); len(rows) == 0 {
		t.Error("tshark decoded no NOTIFY")
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func provision(t *testing.T, url string) {
	t.Helper()
	code := post(t, url, map[string]any{
		"imsi": e2eIMSI, "msisdn": "15550001",
		"auth": map[string]any{"k": e2eK, "opc": e2eOPc, "amf": "8000", "sqn": 0},
		"ims":  map[string]any{"impi": e2eIMPI, "impus": []string{e2eIMPU, e2eTel}},
		"apns": []string{"internet", "ims"},
	})
	if code != http.StatusCreated {
		t.Fatalf("provision: HTTP %d", code)
	}
}

// post sends body as JSON to the HSS REST API and returns the status.
func post(t *testing.T, url string, body any) int {
	t.Helper()
	var r *bytes.Reader
	if body == nil {
		r = bytes.NewReader(nil)
	} else {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, url, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// e2eRegister is the UE's REGISTER number cseq with the given Authorization.
func e2eRegister(p *Node, cseq uint32, expires string, cred header.Credentials) *gosip.Request {
	var impu gosip.Uri
	gosip.ParseUri(e2eIMPU, &impu)
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: config.HomeDomain})
	req.SetDestination(p.SIP().Addr())
	req.AppendHeader(&gosip.FromHeader{Address: impu, Params: gosip.HeaderParams{{K: "tag", V: "ue-e2e"}}})
	req.AppendHeader(&gosip.ToHeader{Address: impu, Params: gosip.HeaderParams{}})
	cid := gosip.CallIDHeader("e2e-registration")
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: cseq, MethodName: gosip.REGISTER})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: e2eIMSI, Host: "192.0.2.10", Port: 5070}})
	req.AppendHeader(gosip.NewHeader("Expires", expires))
	req.AppendHeader(header.New(header.NameAuthorization, cred))
	return req
}

// akaAnswer is the UE side of IMS-AKA (RFC 3310, TS 33.203): RES from RAND with Milenage, and
// the digest response with RES as the password.
func akaAnswer(t *testing.T, ch header.Challenge, nc uint32) header.Credentials {
	t.Helper()
	nonce, err := base64.StdEncoding.DecodeString(ch.Nonce)
	if err != nil || len(nonce) < 32 {
		t.Fatalf("nonce %q: %v", ch.Nonce, err)
	}
	k, _ := hex.DecodeString(e2eK)
	opc, _ := hex.DecodeString(e2eOPc)
	res, _, _, _, err := milenage.NewWithOPc(k, opc, nonce[:16], 0, 0x8000).F2345()
	if err != nil {
		t.Fatal(err)
	}
	c := header.Credentials{Username: e2eIMPI, Realm: ch.Realm, Nonce: ch.Nonce, URI: "sip:" + config.HomeDomain,
		Algorithm: header.AlgorithmAKAv1MD5, QOP: header.QOPAuth, NC: nc, CNonce: "0a4f113b"}
	ha1 := auth.HA1(c.Username, c.Realm, string(res))
	ha2 := md5hex("REGISTER:" + c.URI)
	c.Response = md5hex(ha1 + ":" + c.Nonce + ":" + header.FormatNC(nc) + ":" + c.CNonce + ":" + c.QOP + ":" + ha2)
	return c
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
