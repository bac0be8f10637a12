package icscf

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/sip/siptest"
)

const (
	impu = "sip:001010000000001@" + config.HomeDomain
	impi = "001010000000001@" + config.HomeDomain
)

// fakeHSS is a Cx server on the peer layer whose UAA is made by answer.
type fakeHSS struct {
	node   *peer.Node
	addr   string
	answer atomic.Pointer[func(*cx.UAR) (*cx.UAA, error)]
	uars   chan *cx.UAR
}

func startHSS(t *testing.T) *fakeHSS {
	t.Helper()
	h := &fakeHSS{uars: make(chan *cx.UAR, 16)}
	n, err := peer.New(peer.Config{
		Identity:           msg.Identity{Host: config.OriginHost("hss"), Realm: config.HomeDomain},
		Apps:               []peer.App{{ID: dict.AppCx, Vendor: dict.Vendor3GPP}},
		Listen:             []peer.Endpoint{{Network: "tcp", Addr: "127.0.0.1:0"}},
		AcceptUnknownPeers: true,
	}, siptest.Logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Handle(dict.AppCx, cx.CmdUserAuthorization, func(_ context.Context, req *diam.Message) (*diam.Message, error) {
		var uar cx.UAR
		if err := msg.Unmarshal(req, &uar); err != nil {
			return nil, err
		}
		h.uars <- &uar
		uaa, err := (*h.answer.Load())(&uar)
		if err != nil {
			return nil, err
		}
		return uaa.Message(req, n.Identity())
	})
	h.node = n
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a := n.ListenAddrs()["tcp"]; a != nil {
			h.addr = a.String()
			return h
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("fake HSS did not listen")
	return nil
}

func (h *fakeHSS) set(f func(*cx.UAR) (*cx.UAA, error)) { h.answer.Store(&f) }

// startNode runs an I-CSCF whose Cx peer is at hssAddr and that knows scscfs.
// opts edit the configuration before the node is made.
func startNode(t *testing.T, hssAddr string, scscfs []SCSCF, waitPeer bool, opts ...func(*Config)) *Node {
	t.Helper()
	var cfg Config
	cfg.Defaults()
	cfg.SIP.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Diameter.Peers = []config.Peer{{Host: config.OriginHost("hss"), Realm: config.HomeDomain,
		Endpoint: config.Endpoint{Network: "tcp", Addr: hssAddr}, Apps: []string{config.AppCx}}}
	cfg.Diameter.RequestTimeout = config.Duration(2 * time.Second)
	cfg.SCSCFs = scscfs
	for _, o := range opts {
		o(&cfg)
	}
	n, err := New(cfg, siptest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SIP().Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-n.SIP().Ready()
	if waitPeer {
		deadline := time.Now().Add(5 * time.Second)
		for !peerOkay(n) {
			if time.Now().After(deadline) {
				t.Fatalf("Cx peer not OKAY: %+v", n.Diameter().Peers())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

func peerOkay(n *Node) bool {
	for _, p := range n.Diameter().Peers() {
		if p.State == "OKAY" {
			return true
		}
	}
	return false
}

func register(n *Node, expires string, auth bool) *gosip.Request {
	var to gosip.Uri
	gosip.ParseUri(impu, &to)
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: config.HomeDomain})
	req.SetDestination(n.SIP().Addr())
	req.AppendHeader(&gosip.FromHeader{Address: to, Params: gosip.HeaderParams{{K: "tag", V: "ue1"}}})
	req.AppendHeader(&gosip.ToHeader{Address: to, Params: gosip.HeaderParams{}})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "ue", Host: "192.0.2.10", Port: 5070}})
	req.AppendHeader(gosip.NewHeader("Expires", expires))
	req.AppendHeader(gosip.NewHeader("P-Visited-Network-ID", "visited.example.net"))
	if auth {
		req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="`+impi+`", realm="`+config.HomeDomain+`", nonce="", uri="sip:`+config.HomeDomain+`", response=""`))
	}
	return req
}

func experimental(code uint32) *msg.ExperimentalResult {
	return &msg.ExperimentalResult{VendorID: dict.Vendor3GPP, Code: code}
}

func TestRegister(t *testing.T) {
	hss := startHSS(t)
	plain := siptest.StartUAS(t, siptest.Respond(401, "Unauthorized"))
	capable := siptest.StartUAS(t, siptest.Respond(401, "Unauthorized"))
	broken := siptest.StartUAS(t, siptest.Respond(503, "Service Unavailable"))
	plainURI, capableURI, brokenURI := plain.URI(""), capable.URI(""), broken.URI("")
	plainName, capableName := plainURI.String(), capableURI.String()
	// A TCP port nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "sip:" + l.Addr().String() + ";transport=tcp"
	l.Close()
	n := startNode(t, hss.addr, []SCSCF{{Name: plainName}, {Name: capableName, Capabilities: []uint32{7, 9}},
		{Name: brokenURI.String(), Capabilities: []uint32{11}}, {Name: dead, Capabilities: []uint32{12}}}, true)

	tests := []struct {
		name     string
		expires  string
		auth     bool
		answer   func(*cx.UAR) (*cx.UAA, error)
		status   int
		retry    bool
		at       []*siptest.UAS // where the REGISTER must arrive
		wantType cx.UserAuthorizationType
		wantIMPI string
	}{
		{name: "Server-Name", expires: "600", auth: true, status: 401, at: []*siptest.UAS{plain}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterSubsequentRegistration)}, ServerName: plainName}, nil
			}},
		{name: "capabilities choose the capable S-CSCF", expires: "600", status: 401, at: []*siptest.UAS{capable}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{MandatoryCapability: []uint32{7}, OptionalCapability: []uint32{9}}}, nil
			}},
		{name: "optional capabilities rank", expires: "600", status: 401, at: []*siptest.UAS{capable}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{OptionalCapability: []uint32{9}}}, nil
			}},
		{name: "preferred name first", expires: "600", status: 401, at: []*siptest.UAS{plain}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{OptionalCapability: []uint32{9}, ServerName: []string{plainName}}}, nil
			}},
		{name: "503 fails over to the next S-CSCF", expires: "600", status: 401, at: []*siptest.UAS{broken, plain}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{OptionalCapability: []uint32{11}}}, nil
			}},
		{name: "unreachable S-CSCF fails over", expires: "600", status: 401, at: []*siptest.UAS{plain}, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{OptionalCapability: []uint32{12}}}, nil
			}},
		{name: "no S-CSCF has the capabilities", expires: "600", status: 600, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)},
					ServerCapabilities: &cx.ServerCapabilities{MandatoryCapability: []uint32{42}}}, nil
			}},
		{name: "de-registration", expires: "0", auth: true, status: 401, at: []*siptest.UAS{plain}, wantType: cx.UserAuthorizationTypeDeRegistration, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) { return &cx.UAA{ServerName: plainName}, nil }},
		{name: "user unknown", expires: "600", status: 403, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return nil, &msg.Error{Code: cx.DiameterErrorUserUnknown, Experimental: true}
			}},
		{name: "identities don't match", expires: "600", status: 403, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return nil, &msg.Error{Code: cx.DiameterErrorIdentitiesDontMatch, Experimental: true}
			}},
		{name: "roaming not allowed", expires: "600", status: 403, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) {
				return nil, &msg.Error{Code: cx.DiameterErrorRoamingNotAllowed, Experimental: true}
			}},
		{name: "authorization rejected", expires: "600", status: 403, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) { return nil, &msg.Error{Code: msg.ResultAuthorizationRejected} }},
		{name: "unable to deliver", expires: "600", status: 480, retry: true, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) { return nil, &msg.Error{Code: msg.ResultUnableToDeliver} }},
		{name: "unable to comply", expires: "600", status: 500, wantIMPI: impi,
			answer: func(*cx.UAR) (*cx.UAA, error) { return nil, &msg.Error{Code: msg.ResultUnableToComply} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hss.set(tt.answer)
			res := siptest.Do(t, siptest.NewClient(t), register(n, tt.expires, tt.auth))
			if res.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tt.status)
			}
			if got := res.GetHeader("Retry-After") != nil; got != tt.retry {
				t.Errorf("Retry-After present %v, want %v", got, tt.retry)
			}
			uar := <-hss.uars
			if uar.PublicIdentity != impu || uar.UserName != tt.wantIMPI || uar.VisitedNetworkIdentifier != "visited.example.net" ||
				uar.UserAuthorizationType == nil || *uar.UserAuthorizationType != tt.wantType {
				t.Errorf("UAR %+v", uar)
			}
			requireReached(t, map[string]*siptest.UAS{"plain": plain, "capable": capable, "broken": broken}, tt.at)
		})
	}
}

func TestHSSUnreachable(t *testing.T) {
	// A port nothing listens on: the Cx peer never opens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n := startNode(t, addr, nil, false)
	res := siptest.Do(t, siptest.NewClient(t), register(n, "600", false))
	if res.StatusCode != 480 || res.GetHeader("Retry-After") == nil {
		t.Errorf("status %d, Retry-After %v; want 480 with Retry-After", res.StatusCode, res.GetHeader("Retry-After"))
	}
}

func TestIsDeregistration(t *testing.T) {
	tests := []struct {
		name     string
		expires  string // "" for none
		contacts []string
		want     bool
	}{
		{"Expires 0", "0", []string{"<sip:a@192.0.2.1>"}, true},
		{"Expires 600", "600", []string{"<sip:a@192.0.2.1>"}, false},
		{"contact expires=0", "", []string{"<sip:a@192.0.2.1>;expires=0"}, true},
		{"one contact stays", "", []string{"<sip:a@192.0.2.1>;expires=0", "<sip:b@192.0.2.1>;expires=60"}, false},
		{"contact param wins over header", "0", []string{"<sip:a@192.0.2.1>;expires=60"}, false},
		{"wildcard", "0", []string{"*"}, true},
		{"no contact, no expires", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
				"From: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: 1\r\nCSeq: 1 REGISTER\r\n"
			if tt.expires != "" {
				raw += "Expires: " + tt.expires + "\r\n"
			}
			for _, c := range tt.contacts {
				raw += "Contact: " + c + "\r\n"
			}
			raw += "Content-Length: 0\r\n\r\n"
			m, err := gosip.ParseMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := isDeregistration(m.(*gosip.Request)); got != tt.want {
				t.Errorf("isDeregistration = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSIPStatusMapping(t *testing.T) {
	// Every TS 24.229 5.3.1.3 case goes through sipStatus; the table pins the mapping.
	tests := []struct {
		err   error
		code  int
		retry bool
	}{
		{&resultError{cx.DiameterErrorUserUnknown, true}, 403, false},
		{&resultError{cx.DiameterErrorIdentitiesDontMatch, true}, 403, false},
		{&resultError{cx.DiameterErrorRoamingNotAllowed, true}, 403, false},
		{&resultError{cx.DiameterErrorIdentityNotRegistered, true}, 403, false},
		{&resultError{msg.ResultAuthorizationRejected, false}, 403, false},
		{&resultError{msg.ResultTooBusy, false}, 480, true},
		{&resultError{msg.ResultUnableToComply, false}, 500, false},
		{errNoSCSCF, 600, false},
		{peer.ErrTimeout, 480, true},
		{peer.ErrNoPeer, 480, true},
		{context.DeadlineExceeded, 480, true},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			code, reason, retry := sipStatus(tt.err)
			if code != tt.code || retry != tt.retry || reason == "" || strings.TrimSpace(reason) != reason {
				t.Errorf("sipStatus = %d %q %v, want %d retry %v", code, reason, retry, tt.code, tt.retry)
			}
		})
	}
}

// TestRegisterReselection: an S-CSCF named by Server-Name that fails the REGISTER makes the
// I-CSCF ask the HSS for the capabilities and try another one (TS 24.229 5.3.1.3).
func TestRegisterReselection(t *testing.T) {
	hss := startHSS(t)
	plain := siptest.StartUAS(t, siptest.Respond(401, "Unauthorized"))
	capable := siptest.StartUAS(t, siptest.Respond(401, "Unauthorized"))
	broken := siptest.StartUAS(t, siptest.Respond(503, "Service Unavailable"))
	failing := siptest.StartUAS(t, siptest.Respond(500, "Server Internal Error"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "sip:" + l.Addr().String() + ";transport=tcp"
	l.Close()
	// A UDP socket that reads and never answers.
	silentConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silentConn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := silentConn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	silent := "sip:" + silentConn.LocalAddr().String()
	name := func(u *siptest.UAS) string { uri := u.URI(""); return uri.String() }
	n := startNode(t, hss.addr, []SCSCF{{Name: name(plain)}, {Name: name(capable), Capabilities: []uint32{7, 9}},
		{Name: name(broken), Capabilities: []uint32{11}}, {Name: dead, Capabilities: []uint32{12}},
		{Name: name(failing), Capabilities: []uint32{13}}, {Name: silent, Capabilities: []uint32{14}}}, true,
		func(c *Config) { c.SCSCFAnswerTimeout = config.Duration(300 * time.Millisecond) })
	byName := func(s string) func(*cx.UAR) (*cx.UAA, error) {
		return func(*cx.UAR) (*cx.UAA, error) {
			return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterSubsequentRegistration)}, ServerName: s}, nil
		}
	}
	withCaps := func(caps cx.ServerCapabilities) func(*cx.UAR) (*cx.UAA, error) {
		return func(*cx.UAR) (*cx.UAA, error) {
			return &cx.UAA{AnswerHeader: msg.AnswerHeader{ExperimentalResult: experimental(cx.DiameterFirstRegistration)}, ServerCapabilities: &caps}, nil
		}
	}
	reg, regCaps, dereg := cx.UserAuthorizationTypeRegistration, cx.UserAuthorizationTypeRegistrationAndCapabilities, cx.UserAuthorizationTypeDeRegistration
	tests := []struct {
		name    string
		expires string
		first   func(*cx.UAR) (*cx.UAA, error) // answer to the first UAR
		second  func(*cx.UAR) (*cx.UAA, error) // to the REGISTRATION_AND_CAPABILITIES one
		status  int
		retry   bool
		uars    []cx.UserAuthorizationType
		at      []*siptest.UAS
	}{
		{name: "503 from the named S-CSCF: the capable one", expires: "600", first: byName(name(broken)),
			second: withCaps(cx.ServerCapabilities{OptionalCapability: []uint32{9}}),
			status: 401, uars: []cx.UserAuthorizationType{reg, regCaps}, at: []*siptest.UAS{broken, capable}},
		{name: "500 from the named S-CSCF, the HSS names it again: another one", expires: "600", first: byName(name(failing)),
			second: byName(name(failing)),
			status: 401, uars: []cx.UserAuthorizationType{reg, regCaps}, at: []*siptest.UAS{failing, plain}},
		{name: "unreachable named S-CSCF, none other capable: 480 with Retry-After", expires: "600", first: byName(dead),
			second: withCaps(cx.ServerCapabilities{MandatoryCapability: []uint32{12}}),
			status: 480, retry: true, uars: []cx.UserAuthorizationType{reg, regCaps}},
		{name: "silent named S-CSCF: the capable one", expires: "600", first: byName(silent),
			second: withCaps(cx.ServerCapabilities{MandatoryCapability: []uint32{7}}),
			status: 401, uars: []cx.UserAuthorizationType{reg, regCaps}, at: []*siptest.UAS{capable}},
		{name: "silent named S-CSCF, none other capable: 504", expires: "600", first: byName(silent),
			second: withCaps(cx.ServerCapabilities{MandatoryCapability: []uint32{14}}),
			status: 504, uars: []cx.UserAuthorizationType{reg, regCaps}},
		{name: "every capable S-CSCF fails, the last with 500: 480", expires: "600", first: byName(name(broken)),
			second: withCaps(cx.ServerCapabilities{MandatoryCapability: []uint32{13}}),
			status: 480, uars: []cx.UserAuthorizationType{reg, regCaps}, at: []*siptest.UAS{broken, failing}},
		{name: "HSS unreachable on the second UAR", expires: "600", first: byName(name(broken)),
			second: func(*cx.UAR) (*cx.UAA, error) { return nil, &msg.Error{Code: msg.ResultUnableToDeliver} },
			status: 480, retry: true, uars: []cx.UserAuthorizationType{reg, regCaps}, at: []*siptest.UAS{broken}},
		{name: "de-registration stays at its S-CSCF", expires: "0", first: byName(name(broken)),
			status: 500, uars: []cx.UserAuthorizationType{dereg}, at: []*siptest.UAS{broken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			hss.set(func(uar *cx.UAR) (*cx.UAA, error) {
				if calls.Add(1) == 1 {
					return tt.first(uar)
				}
				return tt.second(uar)
			})
			res := siptest.Do(t, siptest.NewClient(t), register(n, tt.expires, true))
			if res.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tt.status)
			}
			if got := res.GetHeader("Retry-After") != nil; got != tt.retry {
				t.Errorf("Retry-After present %v, want %v", got, tt.retry)
			}
			var types []cx.UserAuthorizationType
			for range tt.uars {
				uar := <-hss.uars
				types = append(types, *uar.UserAuthorizationType)
			}
			select {
			case uar := <-hss.uars:
				t.Errorf("unexpected UAR %+v", uar)
			default:
			}
			if !slices.Equal(types, tt.uars) {
				t.Errorf("UAR types %v, want %v", types, tt.uars)
			}
			requireReached(t, map[string]*siptest.UAS{"plain": plain, "capable": capable, "broken": broken, "failing": failing}, tt.at)
		})
	}
}

// requireReached checks that the REGISTER reached exactly the S-CSCFs in at, of those named.
func requireReached(t *testing.T, scscfs map[string]*siptest.UAS, at []*siptest.UAS) {
	t.Helper()
	for name, u := range scscfs {
		want := slices.Contains(at, u)
		select {
		case <-u.Requests:
			if !want {
				t.Errorf("REGISTER reached the %s S-CSCF", name)
			}
		default:
			if want {
				t.Errorf("REGISTER did not reach the %s S-CSCF", name)
			}
		}
	}
}
