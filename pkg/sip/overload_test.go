package sip

import (
	"strconv"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// holdingProxy starts a proxy bounded to one transaction in flight whose handler keeps each
// MESSAGE (signalling entered) until release is closed, and answers everything else 200.
func holdingProxy(t *testing.T) (p *Proxy, reg *prometheus.Registry, entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	h := func(r *Request) {
		if r.Method == gosip.MESSAGE {
			entered <- struct{}{}
			<-release
		}
		r.Reply(gosip.StatusOK, "OK")
	}
	reg = prometheus.NewRegistry()
	return startProxy(t, Config{MaxTransactions: 1, Metrics: reg}, h), reg, entered, release
}

// TestOverload: past MaxTransactions in flight a new request gets 503 with Retry-After at
// once, counted; once the one in flight is answered, the next is served again.
func TestOverload(t *testing.T) {
	p, reg, entered, release := holdingProxy(t)
	target := gosip.Uri{Scheme: "sip", User: "bob", Host: "example.org"}

	held := make(chan *gosip.Response, 1)
	go func() { held <- siptest.Do(t, siptest.NewClient(t), testRequest(gosip.MESSAGE, target, p, "")) }()
	<-entered
	res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.OPTIONS, target, p, ""))
	if res.StatusCode != gosip.StatusServiceUnavailable {
		t.Fatalf("beyond the bound: %d, want 503", res.StatusCode)
	}
	ra := res.GetHeader("Retry-After")
	if ra == nil {
		t.Fatal("503 without Retry-After")
	}
	if n, err := strconv.Atoi(ra.Value()); err != nil || n < 2 || n >= 4 {
		t.Errorf("Retry-After %q, want [2, 4) s", ra.Value())
	}
	if got := counter(t, reg, "ims_sip_overload_rejected_total", map[string]string{"method": "OPTIONS"}); got != 1 {
		t.Errorf("ims_sip_overload_rejected_total = %v, want 1", got)
	}
	if got := p.adm.inFlight.Load(); got != 1 {
		t.Errorf("transactions in flight = %d, want 1", got)
	}
	close(release)
	if res := <-held; res.StatusCode != gosip.StatusOK {
		t.Errorf("request in flight: %d", res.StatusCode)
	}
	if res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.OPTIONS, target, p, "")); res.StatusCode != gosip.StatusOK {
		t.Errorf("after the slot was freed: %d, want 200", res.StatusCode)
	}
}

// Authorization values of an IMS AKA UE: the initial REGISTER's and the one answering the 401
// (TS 24.229 5.1.1.2.1, 5.1.1.5.1).
const (
	authInitial = `Digest username="001010000000001@ims.example.org", realm="ims.example.org", ` +
		`uri="sip:ims.example.org", nonce="", response=""`
	authAnswer = `Digest username="001010000000001@ims.example.org", realm="ims.example.org", ` +
		`uri="sip:ims.example.org", nonce="3XpHJ2gFQkKZnF1jKpQ9dA==", algorithm=AKAv1-MD5, ` +
		`response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="abcdef"`
)

// overloadRequest is a request of method to bob@example.org with the header lines hdrs (name,
// value pairs), inside a dialog when toTag is set.
func overloadRequest(method gosip.RequestMethod, p *Proxy, toTag string, hdrs ...string) *gosip.Request {
	target := gosip.Uri{Scheme: "sip", User: "bob", Host: "example.org"}
	req := testRequest(method, target, p, "")
	if toTag != "" {
		req.To().Params = gosip.HeaderParams{{K: "tag", V: toTag}}
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.AppendHeader(gosip.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return req
}

func TestContinues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method gosip.RequestMethod
		toTag  string
		hdrs   []string
		want   bool
	}{
		{"REGISTER answering a challenge", gosip.REGISTER, "", []string{"Authorization", authAnswer}, true},
		{"header name in lower case", gosip.REGISTER, "", []string{"authorization", authAnswer}, true},
		{"second Authorization answers", gosip.REGISTER, "", []string{"Authorization", authInitial, "Authorization", authAnswer}, true},
		{"initial REGISTER", gosip.REGISTER, "", []string{"Authorization", authInitial}, false},
		{"REGISTER without Authorization", gosip.REGISTER, "", nil, false},
		{"response only inside another parameter", gosip.REGISTER, "",
			[]string{"Authorization", `Digest username="a", nonce="response=abc", response=""`}, false},
		{"malformed Authorization", gosip.REGISTER, "", []string{"Authorization", `Digest response="abc`}, false},
		{"Proxy-Authorization", gosip.REGISTER, "", []string{"Proxy-Authorization", authAnswer}, false},
		{"credentials on a new INVITE", gosip.INVITE, "", []string{"Authorization", authAnswer}, false},
		{"new MESSAGE", gosip.MESSAGE, "", nil, false},
		{"BYE in a dialog", gosip.BYE, "tt1", nil, true},
		{"re-INVITE", gosip.INVITE, "tt1", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := gosip.NewRequest(tc.method, gosip.Uri{Scheme: "sip", Host: "example.org"})
			to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "bob", Host: "example.org"}}
			if tc.toTag != "" {
				to.Params = gosip.HeaderParams{{K: "tag", V: tc.toTag}}
			}
			req.AppendHeader(to)
			for i := 0; i+1 < len(tc.hdrs); i += 2 {
				req.AppendHeader(gosip.NewHeader(tc.hdrs[i], tc.hdrs[i+1]))
			}
			if got := continues(req); got != tc.want {
				t.Errorf("continues = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOverloadPriority: with MaxTransactions in flight a new request is refused while one that
// continues work already spent (a REGISTER answering a challenge, a request in a dialog) is
// served; with twice MaxTransactions in flight those are refused too.
func TestOverloadPriority(t *testing.T) {
	p, reg, entered, release := holdingProxy(t)
	// hold sends a MESSAGE that the handler keeps in flight until release.
	hold := func(req *gosip.Request) <-chan *gosip.Response {
		held := make(chan *gosip.Response, 1)
		go func() { held <- siptest.Do(t, siptest.NewClient(t), req) }()
		select {
		case <-entered:
		case res := <-held:
			t.Fatalf("%s to hold: %d before the handler", req.Method, res.StatusCode)
		}
		return held
	}
	check := func(t *testing.T, req *gosip.Request, want int) {
		t.Helper()
		res := siptest.Do(t, siptest.NewClient(t), req)
		if res.StatusCode != want {
			t.Fatalf("%d, want %d", res.StatusCode, want)
		}
		if want == gosip.StatusServiceUnavailable && res.GetHeader("Retry-After") == nil {
			t.Error("503 without Retry-After")
		}
	}

	newHeld := hold(overloadRequest(gosip.MESSAGE, p, ""))
	// MaxTransactions in flight.
	for _, tc := range []struct {
		name string
		req  *gosip.Request
		want int
	}{
		{"initial REGISTER", overloadRequest(gosip.REGISTER, p, "", "Authorization", authInitial), gosip.StatusServiceUnavailable},
		{"REGISTER without Authorization", overloadRequest(gosip.REGISTER, p, ""), gosip.StatusServiceUnavailable},
		{"credentials on a new OPTIONS", overloadRequest(gosip.OPTIONS, p, "", "Authorization", authAnswer), gosip.StatusServiceUnavailable},
		{"REGISTER answering the challenge", overloadRequest(gosip.REGISTER, p, "", "Authorization", authAnswer), gosip.StatusOK},
		{"BYE in a dialog", overloadRequest(gosip.BYE, p, "tt1"), gosip.StatusOK},
	} {
		t.Run("bound/"+tc.name, func(t *testing.T) { check(t, tc.req, tc.want) })
	}

	dialogHeld := hold(overloadRequest(gosip.MESSAGE, p, "tt1"))
	if got := p.adm.inFlight.Load(); got != 2 {
		t.Fatalf("transactions in flight = %d, want 2", got)
	}
	// Twice MaxTransactions in flight.
	for _, tc := range []struct {
		name string
		req  *gosip.Request
	}{
		{"REGISTER answering the challenge", overloadRequest(gosip.REGISTER, p, "", "Authorization", authAnswer)},
		{"BYE in a dialog", overloadRequest(gosip.BYE, p, "tt1")},
	} {
		t.Run("twice the bound/"+tc.name, func(t *testing.T) { check(t, tc.req, gosip.StatusServiceUnavailable) })
	}

	for method, want := range map[string]float64{"REGISTER": 3, "OPTIONS": 1, "BYE": 1} {
		if got := counter(t, reg, "ims_sip_overload_rejected_total", map[string]string{"method": method}); got != want {
			t.Errorf("ims_sip_overload_rejected_total{method=%s} = %v, want %v", method, got, want)
		}
	}
	close(release)
	for _, held := range []<-chan *gosip.Response{newHeld, dialogHeld} {
		if res := <-held; res.StatusCode != gosip.StatusOK {
			t.Errorf("request in flight: %d", res.StatusCode)
		}
	}
	if got := p.adm.inFlight.Load(); got != 0 {
		t.Errorf("transactions in flight after the answers = %d, want 0", got)
	}
}
