package sip

import (
	"strconv"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// TestOverload: past MaxTransactions in flight a new request gets 503 with Retry-After at
// once, counted; once the one in flight is answered, the next is served again.
func TestOverload(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := func(r *Request) {
		if r.Method == gosip.MESSAGE {
			entered <- struct{}{}
			<-release
		}
		r.Reply(gosip.StatusOK, "OK")
	}
	reg := prometheus.NewRegistry()
	p := startProxy(t, Config{MaxTransactions: 1, Metrics: reg}, h)
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
