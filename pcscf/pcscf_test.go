package pcscf

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/reginfo"
	"github.com/imscore/imscore/pkg/sip/siptest"
)

const impu = "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org"

// startNode runs a P-CSCF on loopback port 0 that sends REGISTER to icscf, with a new data
// directory.
func startNode(t *testing.T, icscf gosip.Uri) *Node {
	t.Helper()
	n, _ := startNodeIn(t, icscf, t.TempDir())
	return n
}

// startNodeIn runs a P-CSCF keeping its data in dir; stop ends it (also done at cleanup).
func startNodeIn(t *testing.T, icscf gosip.Uri, dir string) (*Node, func()) {
	t.Helper()
	n := listeningNode(t, dir, icscf.String(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if err := n.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
		close(done)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	<-n.SIP().Ready()
	return n, stop
}

// listeningNode is a P-CSCF with its data in dir, listening on loopback ports, not running yet;
// edit, when set, changes the test configuration first.
func listeningNode(t *testing.T, dir, icscf string, edit func(*Config)) *Node {
	t.Helper()
	var cfg Config
	cfg.Defaults()
	cfg.DataDir = dir
	cfg.SIP.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.ICSCF = icscf
	if edit != nil {
		edit(&cfg)
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
	return n
}

// register builds a UE's REGISTER to the P-CSCF.
func register(n *Node, expires string) *gosip.Request { return registerTo(n.SIP().Addr(), expires) }

// registerTo builds a UE's REGISTER to the P-CSCF at addr.
func registerTo(addr, expires string) *gosip.Request {
	var to gosip.Uri
	gosip.ParseUri(impu, &to)
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "ims.mnc001.mcc001.3gppnetwork.org"})
	req.SetDestination(addr)
	req.AppendHeader(&gosip.FromHeader{Address: to, Params: gosip.HeaderParams{{K: "tag", V: "ue1"}}})
	req.AppendHeader(&gosip.ToHeader{Address: to, Params: gosip.HeaderParams{}})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "ue", Host: "192.0.2.10", Port: 5070}})
	req.AppendHeader(gosip.NewHeader("Expires", expires))
	return req
}

// fakeCore plays the I-CSCF and S-CSCF: REGISTER without Authorization gets a 401 with ck/ik,
// with it a 200 OK; SUBSCRIBE reg gets 200 with Expires 600000 and is sent to subscribed.
func fakeCore(t *testing.T, subscribed chan<- *gosip.Request) *siptest.UAS {
	return fakeCoreWith(t, subscribed, func(*gosip.Request) (int, string) { return 200, "600000" })
}

// fakeCoreWith is fakeCore whose answer to SUBSCRIBE is the status and Expires that grant
// returns; a 2xx has the S-CSCF's tag and Contact, sip:scscf@ the core.
func fakeCoreWith(t *testing.T, subscribed chan<- *gosip.Request, grant func(*gosip.Request) (int, string)) *siptest.UAS {
	return siptest.StartUAS(t, func(u *siptest.UAS, req *gosip.Request, tx gosip.ServerTransaction) {
		switch req.Method {
		case gosip.REGISTER:
			if req.GetHeader("Authorization") == nil {
				res := gosip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
				res.AppendHeader(header.New(header.NameWWWAuthenticate, header.Challenge{
					Realm: "ims.mnc001.mcc001.3gppnetwork.org", Nonce: "bm9uY2U=", Algorithm: header.AlgorithmAKAv1MD5,
					QOP: []string{"auth"}, IK: "00112233445566778899aabbccddeeff", CK: "ffeeddccbbaa99887766554433221100"}))
				tx.Respond(res)
				return
			}
			res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
			exp := "600"
			if h := req.GetHeader("Expires"); h != nil {
				exp = h.Value()
			}
			c := req.Contact().Clone()
			c.Params = gosip.HeaderParams{{K: "expires", V: exp}}
			res.AppendHeader(c)
			sr := u.URI("orig")
			sr.UriParams = gosip.HeaderParams{{K: "lr", V: ""}}
			res.AppendHeader(header.New(header.NameServiceRoute, header.NameAddr{URI: sr}))
			res.AppendHeader(gosip.NewHeader(header.NamePAssociatedURI, "<"+impu+">, <tel:+15550001>"))
			tx.Respond(res)
		case gosip.SUBSCRIBE:
			code, expires := grant(req)
			res := gosip.NewResponseFromRequest(req, code, "", nil)
			if code < 300 {
				res.To().Params = gosip.HeaderParams{{K: "tag", V: "scscf"}}
				res.AppendHeader(gosip.NewHeader("Expires", expires))
				res.AppendHeader(&gosip.ContactHeader{Address: u.URI("scscf")})
			}
			tx.Respond(res)
			subscribed <- req
		default:
			tx.Respond(gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil))
		}
	})
}

func TestRegister(t *testing.T) {
	subscribed := make(chan *gosip.Request, 1)
	core := fakeCore(t, subscribed)
	n := startNode(t, core.URI(""))
	ue := siptest.NewClient(t)

	// 1. The challenge reaches the UE without ck and ik.
	res := siptest.Do(t, ue, register(n, "600"))
	if res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d", res.StatusCode)
	}
	www := res.GetHeader(header.NameWWWAuthenticate)
	if www == nil || strings.Contains(www.Value(), "ik=") || strings.Contains(www.Value(), "ck=") || !strings.Contains(www.Value(), `nonce="bm9uY2U="`) {
		t.Errorf("401 challenge %v: want nonce kept, ik and ck removed", www)
	}
	fwd := <-core.Requests
	checkForwardedRegister(t, n, fwd)

	// 2. The authenticated REGISTER is answered 200 and the binding kept.
	req := register(n, "600")
	req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="001010000000001@ims.mnc001.mcc001.3gppnetwork.org", realm="ims.mnc001.mcc001.3gppnetwork.org", nonce="bm9uY2U=", uri="sip:ims.mnc001.mcc001.3gppnetwork.org", response="00", algorithm=AKAv1-MD5`))
	res = siptest.Do(t, ue, req)
	if res.StatusCode != 200 {
		t.Fatalf("second REGISTER: %d", res.StatusCode)
	}
	<-core.Requests
	bs := n.Bindings()
	if len(bs) != 1 {
		t.Fatalf("bindings %+v, want one", bs)
	}
	b := bs[0]
	if b.AOR != impu || len(b.Contacts) != 1 || b.Contacts[0].URI.Host != "192.0.2.10" || len(b.ServiceRoute) != 1 || len(b.AssociatedURIs) != 2 || b.Source == "" {
		t.Errorf("binding %+v", b)
	}
	if d := time.Until(b.Contacts[0].Expires); d < 590*time.Second || d > 600*time.Second {
		t.Errorf("contact expires in %s, want 600s", d)
	}

	// 3. The P-CSCF subscribes to the reg event along the Service-Route (TS 24.229 5.2.3).
	var sub *gosip.Request
	select {
	case sub = <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("no SUBSCRIBE")
	}
	rec := httptest.NewRecorder()
	n.Admin().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if body := rec.Body.String(); !strings.Contains(body, `"bindings":1`) || !strings.Contains(body, `"reg_event_subscriptions":1`) {
		t.Errorf("/healthz %s: want the binding and the subscription counted", body)
	}
	if ev := sub.GetHeader("Event"); ev == nil || ev.Value() != "reg" || sub.Recipient.String() != impu {
		t.Errorf("SUBSCRIBE %s Event %v", sub.Recipient.String(), ev)
	}
	if rt := sub.Route(); rt == nil || rt.Address.User != "orig" {
		t.Errorf("SUBSCRIBE Route %v, want the Service-Route", rt)
	}

	// 4. A NOTIFY with the registration terminated drops the binding.
	notify := notifyFor(t, sub, reginfo.StateTerminated)
	res = siptest.Do(t, core.Client, notify)
	if res.StatusCode != 200 {
		t.Fatalf("NOTIFY: %d", res.StatusCode)
	}
	if bs := n.Bindings(); len(bs) != 0 {
		t.Errorf("bindings after NOTIFY terminated: %+v", bs)
	}

	// 5. A NOTIFY outside any subscription gets 481.
	other := notifyFor(t, sub, reginfo.StateTerminated)
	cid := gosip.CallIDHeader("unknown")
	other.ReplaceHeader(&cid)
	if res := siptest.Do(t, core.Client, other); res.StatusCode != 481 {
		t.Errorf("NOTIFY of no subscription: %d, want 481", res.StatusCode)
	}
}

func TestDeregister(t *testing.T) {
	core := fakeCore(t, make(chan *gosip.Request, 4))
	n := startNode(t, core.URI(""))
	ue := siptest.NewClient(t)
	auth := gosip.NewHeader("Authorization", `Digest username="u", realm="r", nonce="n", uri="sip:r", response="00"`)
	req := register(n, "600")
	req.AppendHeader(auth)
	if res := siptest.Do(t, ue, req); res.StatusCode != 200 || len(n.Bindings()) != 1 {
		t.Fatalf("REGISTER %d, bindings %d", res.StatusCode, len(n.Bindings()))
	}
	req = register(n, "0")
	req.AppendHeader(auth)
	if res := siptest.Do(t, ue, req); res.StatusCode != 200 {
		t.Fatalf("de-REGISTER %d", res.StatusCode)
	}
	if bs := n.Bindings(); len(bs) != 0 {
		t.Errorf("bindings after Expires 0: %+v", bs)
	}
}

func TestRestartKeepsBindings(t *testing.T) {
	subscribed := make(chan *gosip.Request, 4)
	core := fakeCore(t, subscribed)
	dir := t.TempDir()
	n, stop := startNodeIn(t, core.URI(""), dir)
	req := register(n, "600")
	req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="u", realm="r", nonce="n", uri="sip:r", response="00"`))
	if res := siptest.Do(t, siptest.NewClient(t), req); res.StatusCode != 200 {
		t.Fatalf("REGISTER %d", res.StatusCode)
	}
	<-subscribed
	before := n.Bindings()
	stop()

	n2, _ := startNodeIn(t, core.URI(""), dir)
	after := n2.Bindings()
	if len(before) != 1 || len(after) != 1 {
		t.Fatalf("bindings before %d, after restart %d", len(before), len(after))
	}
	b, a := before[0], after[0]
	if a.AOR != b.AOR || a.Source != b.Source || a.Transport != b.Transport || len(a.Contacts) != 1 ||
		!sameURI(a.Contacts[0].URI, b.Contacts[0].URI) || !a.Contacts[0].Expires.Equal(b.Contacts[0].Expires) ||
		len(a.ServiceRoute) != 1 || a.ServiceRoute[0].String() != b.ServiceRoute[0].String() ||
		len(a.AssociatedURIs) != 2 || a.AssociatedURIs[1].String() != "<tel:+15550001>" {
		t.Errorf("after restart %+v\nbefore %+v", a, b)
	}
	// The restarted P-CSCF subscribes to the reg event again.
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Error("no SUBSCRIBE after restart")
	}
}

func checkForwardedRegister(t *testing.T, n *Node, req *gosip.Request) {
	t.Helper()
	path, err := header.All(req.GetHeaders(header.NamePath), header.ParseNameAddrs)
	if err != nil || len(path) != 1 {
		t.Fatalf("Path %v (%v)", req.GetHeaders(header.NamePath), err)
	}
	if u := path[0].URI; u.User != pathUser || u.HostPort() != n.SIP().Addr() || !u.UriParams.Has("lr") {
		t.Errorf("Path %s, want <sip:term@%s;lr>", path[0], n.SIP().Addr())
	}
	if h := req.GetHeader("Require"); h == nil || h.Value() != "path" {
		t.Errorf("Require %v", h)
	}
	if h := req.GetHeader("Supported"); h == nil || h.Value() != "path" {
		t.Errorf("Supported %v", h)
	}
	if h := req.GetHeader(header.NamePVisitedNetworkID); h == nil || h.Value() != "ims.mnc001.mcc001.3gppnetwork.org" {
		t.Errorf("P-Visited-Network-ID %v", h)
	}
	h := req.GetHeader(header.NamePChargingVector)
	if h == nil {
		t.Fatal("no P-Charging-Vector")
	}
	if cv, err := header.ParseChargingVector(h.Value()); err != nil || len(cv.ICIDValue) != 32 {
		t.Errorf("P-Charging-Vector %q (%v)", h.Value(), err)
	}
}

// notifyFor builds the S-CSCF's NOTIFY in the dialog of sub with the registration in state.
func notifyFor(t *testing.T, sub *gosip.Request, state string) *gosip.Request {
	t.Helper()
	doc := &reginfo.Reginfo{Version: 1, State: reginfo.StateFull, Registrations: []reginfo.Registration{{
		AOR: impu, ID: "a1", State: state,
		Contacts: []reginfo.Contact{{ID: "c1", State: state, Event: reginfo.EventDeactivated, URI: "sip:ue@192.0.2.10:5070"}},
	}}}
	body := doc.AppendXML(nil)
	contact := sub.Contact().Address
	req := gosip.NewRequest(gosip.NOTIFY, contact)
	req.SetDestination(contact.HostPort())
	to := &gosip.ToHeader{Address: sub.From().Address, Params: sub.From().Params.Clone()}
	from := &gosip.FromHeader{Address: sub.To().Address, Params: gosip.HeaderParams{{K: "tag", V: "scscf"}}}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(gosip.HeaderClone(sub.CallID()))
	req.AppendHeader(gosip.NewHeader("Event", "reg"))
	req.AppendHeader(gosip.NewHeader("Subscription-State", "terminated;reason=deactivated"))
	req.AppendHeader(gosip.NewHeader("Content-Type", reginfo.ContentType))
	req.SetBody(body)
	return req
}

// TestSubscriptionRefresh: the reg-event subscription is refreshed in its dialog at half of a
// short granted expiry (TS 24.229 5.2.3), made anew after a 481, and not refreshed once a
// NOTIFY has terminated it.
func TestSubscriptionRefresh(t *testing.T) {
	subscribed := make(chan *gosip.Request, 8)
	var mu sync.Mutex
	refreshes := 0
	core := fakeCoreWith(t, subscribed, func(req *gosip.Request) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			refreshes++
			if refreshes == 1 {
				return 481, ""
			}
		}
		return 200, "2"
	})
	n := startNode(t, core.URI(""))
	req := register(n, "600")
	req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="u", realm="r", nonce="n", uri="sip:r", response="00"`))
	if res := siptest.Do(t, siptest.NewClient(t), req); res.StatusCode != 200 {
		t.Fatalf("REGISTER %d", res.StatusCode)
	}
	next := func(what string) *gosip.Request {
		t.Helper()
		select {
		case sub := <-subscribed:
			return sub
		case <-time.After(10 * time.Second):
			t.Fatalf("no SUBSCRIBE: %s", what)
			return nil
		}
	}
	inDialog := func(sub, first *gosip.Request, cseq uint32) {
		t.Helper()
		tag, _ := sub.To().Params.Get("tag")
		if sub.CallID().Value() != first.CallID().Value() || tag != "scscf" || sub.CSeq().SeqNo != cseq ||
			sub.Recipient.User != "scscf" || sub.Route() != nil || sub.GetHeader("Expires").Value() != strconv.Itoa(int(subscribeExpires.Seconds())) {
			t.Errorf("refresh not in the dialog of %s: %s", first.CallID().Value(), sub.String())
		}
	}
	first := next("initial")
	start := time.Now()
	inDialog(next("first refresh"), first, 2) // refused with 481
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("refreshed after %s, want half of the 2 s granted", d)
	}
	second := next("new subscription after 481")
	if tag, _ := second.To().Params.Get("tag"); second.CallID().Value() == first.CallID().Value() || tag != "" || second.CSeq().SeqNo != 1 {
		t.Errorf("after 481, want a new dialog: %s", second.String())
	}
	inDialog(next("refresh of the new subscription"), second, 2)

	// NOTIFY terminated ends the subscription: no more refreshes.
	notify := notifyFor(t, second, reginfo.StateActive)
	notify.ReplaceHeader(gosip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	if res := siptest.Do(t, core.Client, notify); res.StatusCode != 200 {
		t.Fatalf("NOTIFY: %d", res.StatusCode)
	}
	if n.subs.count() != 0 {
		t.Errorf("%d subscriptions after NOTIFY terminated", n.subs.count())
	}
	select {
	case sub := <-subscribed:
		t.Errorf("SUBSCRIBE after the subscription was terminated: %s", sub.String())
	case <-time.After(2500 * time.Millisecond):
	}
}

func TestRefreshAfter(t *testing.T) {
	for _, tt := range []struct{ granted, want time.Duration }{
		{600000 * time.Second, 599400 * time.Second},
		{1201 * time.Second, 601 * time.Second},
		{1200 * time.Second, 600 * time.Second},
		{2 * time.Second, time.Second},
	} {
		if got := refreshAfter(tt.granted); got != tt.want {
			t.Errorf("refreshAfter(%s) = %s, want %s", tt.granted, got, tt.want)
		}
	}
}

// TestCoreTransport: with core_transport tcp the core reaches the P-CSCF over TCP: its Path
// entry and its reg-event Contact carry transport=tcp, and a NOTIFY sent to that Contact over
// TCP is taken. Without it neither carries a transport (TestRegister).
func TestCoreTransport(t *testing.T) {
	subscribed := make(chan *gosip.Request, 1)
	core := fakeCore(t, subscribed)
	icscf := core.URI("")
	n := listeningNode(t, t.TempDir(), icscf.String(), func(c *Config) { c.CoreTransport = "tcp" })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-n.SIP().Ready()
	ue := siptest.NewClient(t)

	if res := siptest.Do(t, ue, register(n, "600")); res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d", res.StatusCode)
	}
	path, err := header.All((<-core.Requests).GetHeaders(header.NamePath), header.ParseNameAddrs)
	if err != nil || len(path) != 1 {
		t.Fatalf("Path %v (%v)", path, err)
	}
	if tp, _ := path[0].URI.UriParams.Get("transport"); tp != "tcp" || !path[0].URI.UriParams.Has("lr") || path[0].URI.HostPort() != n.SIP().Addr() {
		t.Errorf("Path %s, want <sip:term@%s;transport=tcp;lr>", path[0], n.SIP().Addr())
	}

	req := register(n, "600")
	req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="001010000000001@ims.mnc001.mcc001.3gppnetwork.org", realm="ims.mnc001.mcc001.3gppnetwork.org", nonce="bm9uY2U=", uri="sip:ims.mnc001.mcc001.3gppnetwork.org", response="00", algorithm=AKAv1-MD5`))
	if res := siptest.Do(t, ue, req); res.StatusCode != 200 {
		t.Fatalf("second REGISTER: %d", res.StatusCode)
	}
	<-core.Requests
	var sub *gosip.Request
	select {
	case sub = <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("no SUBSCRIBE")
	}
	contact := sub.Contact().Address
	if tp, _ := contact.UriParams.Get("transport"); tp != "tcp" || contact.HostPort() != n.SIP().Addr() {
		t.Fatalf("SUBSCRIBE Contact %s, want our address with transport=tcp", contact.String())
	}
	notify := notifyFor(t, sub, reginfo.StateTerminated)
	notify.SetTransport("TCP")
	if res := siptest.Do(t, core.Client, notify); res.StatusCode != 200 {
		t.Fatalf("NOTIFY over TCP: %d", res.StatusCode)
	}
	if bs := n.Bindings(); len(bs) != 0 {
		t.Errorf("bindings after NOTIFY terminated over TCP: %+v", bs)
	}
}
