package registrar_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/wmnsk/milenage"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	sipx "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/auth"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/siptest"
	"github.com/imscore/imscore/scscf/registrar"
	"github.com/imscore/imscore/scscf/regstore"
)

const (
	domain   = "ims.mnc001.mcc001.3gppnetwork.org"
	hssHost  = "hss." + domain
	scscfHst = "scscf." + domain
	waitFor  = 5 * time.Second
)

var (
	testK   = mustHex("465b5ce8b199b49faa5f0a2ee238a6bc")
	testOPc = mustHex("cd63cb71954a9f4e48a5994e37a02baf")
	cxApp   = peer.App{ID: dict.AppCx, Vendor: dict.Vendor3GPP}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func testLog() *slog.Logger {
	if os.Getenv("IMS_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// subscriber is one user of the fake HSS.
type subscriber struct {
	impi     string
	impus    []string
	password string // digest subscribers
	sqn      uint64 // AKA: next SQN the HSS uses
}

// fakeHSS answers MAR and SAR with vectors computed by milenage and records the SARs.
type fakeHSS struct {
	node    *peer.Node
	mu      sync.Mutex
	subs    map[string]*subscriber
	sars    []cx.ServerAssignmentType
	rand    byte
	resyncs int
	asURI   string        // AS of the REGISTER iFC, empty for none
	delay   time.Duration // before each MAA
}

func userData(s *subscriber, asURI string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><IMSSubscription><PrivateID>%s</PrivateID><ServiceProfile>`, s.impi)
	for _, u := range s.impus {
		fmt.Fprintf(&b, `<PublicIdentity><BarringIndication>0</BarringIndication><Identity>%s</Identity></PublicIdentity>`, u)
	}
	if asURI != "" {
		fmt.Fprintf(&b, `<InitialFilterCriteria><Priority>0</Priority><TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF>`+
			`<SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>REGISTER</Method></SPT></TriggerPoint>`+
			`<ApplicationServer><ServerName>%s</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria>`, asURI)
	}
	b.WriteString(`</ServiceProfile></IMSSubscription>`)
	return b.String()
}

func startHSS(t *testing.T, subs ...*subscriber) (*fakeHSS, string) {
	t.Helper()
	node, err := peer.New(peer.Config{
		Identity: msg.Identity{Host: hssHost, Realm: domain}, Apps: []peer.App{cxApp},
		Listen: []peer.Endpoint{{Network: "tcp", Addr: "127.0.0.1:0"}}, AcceptUnknownPeers: true,
	}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHSS{node: node, subs: map[string]*subscriber{}}
	for _, s := range subs {
		h.subs[s.impi] = s
	}
	node.Handle(dict.AppCx, cx.CmdMultimediaAuth, h.mar)
	node.Handle(dict.AppCx, cx.CmdServerAssignment, h.sar)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { node.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if a := node.ListenAddrs()["tcp"]; a != nil {
			return h, a.String()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("fake HSS did not listen")
	return nil, ""
}

func (h *fakeHSS) mar(_ context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.MAR
	if err := msg.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	time.Sleep(h.delay)
	s := h.subs[r.UserName]
	if s == nil {
		return nil, &msg.Error{Code: cx.DiameterErrorUserUnknown, Experimental: true}
	}
	one := uint32(1)
	a := cx.MAA{UserName: r.UserName, PublicIdentity: r.PublicIdentity, SIPNumberAuthItems: &one}
	if s.password != "" {
		a.SIPAuthDataItem = []cx.SIPAuthDataItem{{SIPAuthenticationScheme: cx.SchemeSIPDigest,
			SIPDigestAuthenticate: &cx.SIPDigestAuthenticate{DigestRealm: domain, DigestAlgorithm: "MD5", DigestQoP: "auth",
				DigestHA1: auth.HA1(s.impi, domain, s.password)}}}
		return a.Message(req, h.node.Identity())
	}
	if rand, auts, ok := r.SIPAuthDataItem.RANDAUTS(); ok {
		m := milenage.NewWithOPc(testK, testOPc, rand, 0, 0)
		aks, err := m.F5Star()
		if err != nil {
			return nil, err
		}
		var sqnMS uint64
		for i := range 6 {
			sqnMS = sqnMS<<8 | uint64(auts[i]^aks[i])
		}
		m = milenage.NewWithOPc(testK, testOPc, rand, sqnMS, 0)
		macS, err := m.F1Star(m.SQN, []byte{0, 0})
		if err != nil || !bytesEqual(macS, auts[6:]) {
			return nil, &msg.Error{Code: msg.ResultAuthenticationRejected}
		}
		s.sqn = sqnMS + 1
		h.resyncs++
	}
	h.rand++
	rand := make([]byte, 16)
	for i := range rand {
		rand[i] = h.rand + byte(i)
	}
	m := milenage.NewWithOPc(testK, testOPc, rand, s.sqn, 0x8000)
	s.sqn++
	if err := m.ComputeAll(); err != nil {
		return nil, err
	}
	autn, err := m.GenerateAUTN()
	if err != nil {
		return nil, err
	}
	a.SIPAuthDataItem = []cx.SIPAuthDataItem{{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5,
		SIPAuthenticate: cx.AKAChallenge(rand, autn), SIPAuthorization: m.RES, ConfidentialityKey: m.CK, IntegrityKey: m.IK}}
	return a.Message(req, h.node.Identity())
}

func bytesEqual(a, b []byte) bool { return hex.EncodeToString(a) == hex.EncodeToString(b) }

func (h *fakeHSS) sar(_ context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.SAR
	if err := msg.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sars = append(h.sars, r.ServerAssignmentType)
	s := h.subs[r.UserName]
	if s == nil {
		return nil, &msg.Error{Code: cx.DiameterErrorUserUnknown, Experimental: true}
	}
	a := cx.SAA{UserName: s.impi}
	switch r.ServerAssignmentType {
	case cx.ServerAssignmentTypeRegistration, cx.ServerAssignmentTypeReRegistration:
		if r.UserDataAlreadyAvailable != cx.UserDataIsAlreadyAvailable {
			a.UserData = userData(s, h.asURI)
		}
	}
	return a.Message(req, h.node.Identity())
}

func (h *fakeHSS) sarTypes() []cx.ServerAssignmentType {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]cx.ServerAssignmentType(nil), h.sars...)
}

// waitSAR waits until the HSS has seen a SAR of type want.
func (h *fakeHSS) waitSAR(t *testing.T, want cx.ServerAssignmentType) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, s := range h.sarTypes() {
			if s == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no SAR of type %d; SARs: %v", want, h.sarTypes())
}

// scscf is a registrar under test with its SIP server and Diameter client.
type scscf struct {
	reg     *registrar.Registrar
	addr    string // SIP host:port
	dia     *peer.Node
	storeDB string
	cancel  context.CancelFunc
	done    chan struct{}
}

func testConfig(addr string) registrar.Config {
	var cfg registrar.Config
	cfg.Defaults()
	cfg.ServerName = "sip:" + addr
	cfg.MinExpires = config.Duration(time.Second)
	cfg.ExpiryInterval = config.Duration(100 * time.Millisecond)
	cfg.ThirdPartyTimeout = config.Duration(2 * time.Second)
	return cfg
}

// startSCSCF runs a registrar on a fresh UDP port, connected to the HSS at hssAddr, keeping its
// registrations in dbPath.
func startSCSCF(t *testing.T, hssAddr, dbPath string, tweak func(*registrar.Config)) *scscf {
	t.Helper()
	dia, err := peer.New(peer.Config{
		Identity: msg.Identity{Host: scscfHst, Realm: domain}, Apps: []peer.App{cxApp},
		Peers:        []peer.PeerConfig{{Host: hssHost, Realm: domain, Endpoint: peer.Endpoint{Network: "tcp", Addr: hssAddr}}},
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
	}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The S-CSCF's chain: the registrar, then 403 for anything else.
	var r *registrar.Registrar
	final := func(req *sipx.Request) { req.Reply(sip.StatusForbidden, "Forbidden") }
	proxy, err := sipx.New(sipx.Config{Listen: "127.0.0.1:0"}, func(req *sipx.Request) { r.Middleware(final)(req) }, testLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := proxy.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := proxy.Addr()
	st, err := regstore.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(addr)
	if tweak != nil {
		tweak(&cfg)
	}
	if r, err = registrar.New(context.Background(), cfg, dia, st, proxy, testLog(), nil); err != nil {
		t.Fatal(err)
	}
	dia.Handle(dict.AppCx, cx.CmdRegistrationTermination, r.RTR)
	dia.Handle(dict.AppCx, cx.CmdPushProfile, r.PPR)
	ctx, cancel := context.WithCancel(context.Background())
	s := &scscf{reg: r, addr: addr, dia: dia, storeDB: dbPath, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { dia.Run(ctx) })
	wg.Go(func() { r.Run(ctx) })
	wg.Go(func() { proxy.Run(ctx) })
	go func() {
		wg.Wait()
		st.Close()
		close(s.done)
	}()
	<-proxy.Ready()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, p := range dia.Peers() {
			if p.State == "OKAY" {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("S-CSCF did not connect to the HSS")
	return nil
}

func (s *scscf) stop() {
	s.cancel()
	<-s.done
}

// ue is our Go test UE: it registers with AKA or digest and receives NOTIFYs.
type ue struct {
	t        *testing.T
	client   *sipgo.Client
	scscf    string
	impi     string
	impu     string
	password string // digest; AKA otherwise
	contact  string
	sqnMS    uint64 // highest SQN accepted, for the AKA SQN check
	wrongRES bool
	callID   string
	cseq     uint32
	notifies chan *sip.Request
	last     *header.Challenge
	nc       uint32
	res      map[string]string // RES by nonce: a re-used challenge is not checked again
}

func newUE(t *testing.T, scscfAddr, impi, impu string) *ue {
	t.Helper()
	// NOTIFYs larger than 1300 bytes come over TCP (RFC 3261 18.1.1), to the same port.
	pc, ln := siptest.ListenUDPAndTCP(t)
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	p, _ := strconv.Atoi(port)
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(p))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	u := &ue{t: t, client: client, scscf: scscfAddr, impi: impi, impu: impu, contact: "sip:ue@" + pc.LocalAddr().String(),
		callID: sip.GenerateTagN(20), cseq: 1, notifies: make(chan *sip.Request, 16), res: map[string]string{}}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		u.notifies <- req
	})
	go srv.ServeUDP(pc)
	go srv.ServeTCP(ln)
	t.Cleanup(func() { pc.Close(); ln.Close(); ua.Close() })
	return u
}

func (u *ue) request(method sip.RequestMethod, ruri string) *sip.Request {
	var recipient, aor sip.Uri
	if err := sip.ParseUri(ruri, &recipient); err != nil {
		u.t.Fatal(err)
	}
	if err := sip.ParseUri(u.impu, &aor); err != nil {
		u.t.Fatal(err)
	}
	req := sip.NewRequest(method, recipient)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", "uetag")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(u.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: u.cseq, MethodName: method})
	u.cseq++
	req.SetDestination(u.scscf)
	return req
}

// register sends one REGISTER with the given expires and the credentials for the last
// challenge (none before the first), and returns the response.
func (u *ue) register(expires int, extra ...sip.Header) *sip.Response {
	u.t.Helper()
	req := u.request(sip.REGISTER, "sip:"+domain)
	req.AppendHeader(sip.NewHeader("Contact", "<"+u.contact+">;expires="+strconv.Itoa(expires)))
	req.AppendHeader(sip.NewHeader("Path", "<sip:term@pcscf.test;lr>"))
	creds := header.Credentials{Username: u.impi, Realm: domain, URI: "sip:" + domain}
	if u.last != nil {
		creds = u.answer(*u.last)
	}
	req.AppendHeader(header.New(header.NameAuthorization, creds))
	for _, h := range extra {
		req.AppendHeader(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err != nil {
		u.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == sip.StatusUnauthorized {
		cs, err := header.All(res.GetHeaders(header.NameWWWAuthenticate), header.ParseChallenges)
		if err != nil || len(cs) != 1 {
			u.t.Fatalf("401 challenges %v: %v", cs, err)
		}
		u.last, u.nc = &cs[0], 0
	}
	return res
}

// answer computes the credentials for challenge c: AKA (RES as password, or AUTS when the SQN
// is not fresh) or MD5 digest.
func (u *ue) answer(c header.Challenge) header.Credentials {
	u.nc++
	creds := header.Credentials{Username: u.impi, Realm: c.Realm, Nonce: c.Nonce, URI: "sip:" + domain,
		Algorithm: c.Algorithm, QOP: "auth", NC: u.nc, CNonce: "0a4f113b", Opaque: c.Opaque}
	password := u.password
	if res, ok := u.res[c.Nonce]; ok {
		password = res
	} else if c.Algorithm == header.AlgorithmAKAv1MD5 {
		nonce, err := base64.StdEncoding.DecodeString(c.Nonce)
		if err != nil || len(nonce) < 32 {
			u.t.Fatalf("AKA nonce %q", c.Nonce)
		}
		rand, autn := nonce[:16], nonce[16:32]
		m := milenage.NewWithOPc(testK, testOPc, rand, 0, 0)
		res, _, _, ak, err := m.F2345()
		if err != nil {
			u.t.Fatal(err)
		}
		var sqn uint64
		for i := range 6 {
			sqn = sqn<<8 | uint64(autn[i]^ak[i])
		}
		m = milenage.NewWithOPc(testK, testOPc, rand, sqn, 0x8000)
		mac, err := m.F1()
		if err != nil || !bytesEqual(mac, autn[8:]) {
			u.t.Fatalf("AUTN MAC does not verify")
		}
		if sqn <= u.sqnMS {
			// TS 33.102 6.3.3: SQN not fresh; ask for a resynchronisation.
			m = milenage.NewWithOPc(testK, testOPc, rand, u.sqnMS, 0)
			auts, err := m.GenerateAUTS()
			if err != nil {
				u.t.Fatal(err)
			}
			creds.AUTS = base64.StdEncoding.EncodeToString(auts)
			creds.Response = strings.Repeat("0", 32)
			return creds
		}
		u.sqnMS = sqn
		password = string(res)
		if u.wrongRES {
			password = "wrong-res"
		}
		u.res[c.Nonce] = password
	}
	ha1 := auth.HA1(u.impi, c.Realm, password)
	ha2 := md5hex("REGISTER:" + creds.URI)
	creds.Response = md5hex(ha1 + ":" + c.Nonce + ":" + header.FormatNC(creds.NC) + ":" + creds.CNonce + ":auth:" + ha2)
	return creds
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func (u *ue) subscribe(expires int) *sip.Response {
	u.t.Helper()
	req := u.request(sip.SUBSCRIBE, u.impu)
	req.AppendHeader(sip.NewHeader("Contact", "<"+u.contact+">"))
	req.AppendHeader(sip.NewHeader("Event", "reg"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err != nil {
		u.t.Fatalf("SUBSCRIBE: %v", err)
	}
	return res
}

func (u *ue) nextNotify() *sip.Request {
	u.t.Helper()
	select {
	case n := <-u.notifies:
		return n
	case <-time.After(waitFor):
		u.t.Fatal("no NOTIFY")
		return nil
	}
}

// startAS runs an application server that accepts every REGISTER and hands it to got.
func startAS(t *testing.T, got chan<- *sip.Request) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		got <- req
	})
	go srv.ServeUDP(pc)
	t.Cleanup(func() { pc.Close(); ua.Close() })
	return pc.LocalAddr().String()
}
