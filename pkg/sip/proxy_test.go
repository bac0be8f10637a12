package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// startProxy runs a proxy on 127.0.0.1:0 with h until the test ends.
func startProxy(t testing.TB, cfg Config, h Handler) *Proxy {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	p, err := New(cfg, h, siptest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-p.Ready()
	return p
}

// testRequest builds a request for target sent to the proxy p.
func testRequest(method gosip.RequestMethod, target gosip.Uri, p *Proxy, transport string) *gosip.Request {
	req := gosip.NewRequest(method, target)
	req.SetDestination(p.Addr())
	if transport != "" {
		req.SetTransport(transport)
	}
	from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "example.org"}}
	from.Params = gosip.HeaderParams{{K: "tag", V: "ft1"}}
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: target})
	return req
}

func TestRelay(t *testing.T) {
	u := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	reg := prometheus.NewRegistry()
	p := startProxy(t, Config{Metrics: reg}, ForwardHandler(Forward{}))
	t.Cleanup(func() {
		if n := counter(t, reg, "ims_sip_requests_total", map[string]string{"method": "OPTIONS"}); n != 2 {
			t.Errorf("ims_sip_requests_total{method=OPTIONS} = %v, want 2", n)
		}
		if n := counter(t, reg, "ims_sip_responses_total", map[string]string{"method": "OPTIONS", "code": "200"}); n != 2 {
			t.Errorf("ims_sip_responses_total{method=OPTIONS,code=200} = %v, want 2", n)
		}
	})
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			target := u.URI("bob")
			target.UriParams = gosip.HeaderParams{{K: "transport", V: strings.ToLower(transport)}}
			res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.OPTIONS, target, p, transport))
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if n := len(res.GetHeaders("Via")); n != 1 {
				t.Errorf("response has %d Vias, want the client's only", n)
			}
			got := <-u.Requests
			vias := got.GetHeaders("Via")
			if len(vias) != 2 || !strings.Contains(vias[0].Value(), p.Addr()) || !strings.Contains(vias[0].Value(), "SIP/2.0/"+transport) {
				t.Errorf("UAS saw Vias %v, want ours over %s on top", vias, transport)
			}
			if v := vias[1].Value(); !strings.Contains(v, "received=127.0.0.1") || strings.Contains(v, "rport;") || strings.HasSuffix(v, "rport") {
				t.Errorf("client Via %q: want received and rport filled in (RFC 3581)", v)
			}
			if mf := got.MaxForwards(); mf == nil || mf.Val() != 69 {
				t.Errorf("Max-Forwards = %v, want 69", mf)
			}
		})
	}
}

// counter is the value of the counter name with exactly labels, from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestRefusals(t *testing.T) {
	u := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	var p *Proxy
	// The chain forwards everything to the proxy itself: a loop.
	p = startProxy(t, Config{}, func(r *Request) {
		r.Forward(Forward{NextHops: []gosip.Uri{p.URI("")}})
	})
	tests := []struct {
		name   string
		edit   func(req *gosip.Request)
		status int
	}{
		{"max-forwards 0", func(req *gosip.Request) {
			mf := gosip.MaxForwardsHeader(0)
			req.AppendHeader(&mf)
		}, 483},
		{"loop", func(*gosip.Request) {}, 482},
		{"cseq method mismatch", func(req *gosip.Request) {
			req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testRequest(gosip.OPTIONS, u.URI("bob"), p, "")
			tt.edit(req)
			if res := siptest.Do(t, siptest.NewClient(t), req); res.StatusCode != tt.status {
				t.Errorf("status %d %s, want %d", res.StatusCode, res.Reason, tt.status)
			}
		})
	}
}

// rawExchange sends msgs over UDP to addr and returns the status lines of the first n responses
// read within wait.
func rawExchange(t *testing.T, addr string, wait time.Duration, n int, msgs ...string) []string {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, m := range msgs {
		if _, err := conn.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(wait))
	for len(got) < n {
		l, err := conn.Read(buf)
		if err != nil {
			break
		}
		got = append(got, strings.SplitN(string(buf[:l]), "\r\n", 2)[0])
	}
	return got
}

// rawRequest is an OPTIONS whose Via asks for rport (RFC 3581), so the answer comes back to the
// test's socket and not to the port 1 of the Via; headers replace or drop (empty value) the
// defaults.
func rawRequest(branch string, headers map[string]string) string {
	def := [][2]string{
		{"Via", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK" + branch + ";rport"},
		{"From", "<sip:alice@127.0.0.1>;tag=1"}, {"To", "<sip:bob@127.0.0.1>"}, {"Call-ID", "c-" + branch},
		{"CSeq", "1 OPTIONS"}, {"Max-Forwards", "70"},
	}
	m := "OPTIONS sip:bob@127.0.0.1:9 SIP/2.0\r\n"
	for _, h := range def {
		v, ok := headers[h[0]]
		if !ok {
			v = h[1]
		}
		if v != "" {
			m += h[0] + ": " + v + "\r\n"
		}
	}
	return m + "Content-Length: 0\r\n\r\n"
}

func TestBadRequests(t *testing.T) {
	p := startProxy(t, Config{}, func(r *Request) { r.Reply(200, "OK") })
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"missing From", map[string]string{"From": ""}, "SIP/2.0 400 Missing From"},
		{"missing To", map[string]string{"To": ""}, "SIP/2.0 400 Missing To"},
		{"missing Call-ID", map[string]string{"Call-ID": ""}, "SIP/2.0 400 Missing Call-ID"},
		{"CSeq method mismatch", map[string]string{"CSeq": "1 INVITE"}, "SIP/2.0 400 CSeq Method Mismatch"},
		{"Max-Forwards 0", map[string]string{"Max-Forwards": "0"}, "SIP/2.0 483 Too Many Hops"},
		{"good", nil, "SIP/2.0 200 OK"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawExchange(t, p.Addr(), 5*time.Second, 1, rawRequest(fmt.Sprint("bad", i), tt.headers))
			if len(got) == 0 || got[0] != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetransmissionAbsorbed(t *testing.T) {
	var calls atomic.Int32
	p := startProxy(t, Config{}, func(r *Request) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond)
		r.Reply(200, "OK")
	})
	m := rawRequest("retrans", nil)
	// The answer is sent once per request received after it: at least one, at most three.
	got := rawExchange(t, p.Addr(), time.Second, 3, m, m, m)
	if calls.Load() != 1 {
		t.Errorf("handler ran %d times for one request sent three times", calls.Load())
	}
	if len(got) == 0 || got[0] != "SIP/2.0 200 OK" {
		t.Errorf("responses %q", got)
	}
}

func TestForking(t *testing.T) {
	busy := siptest.StartUAS(t, siptest.Respond(486, "Busy Here"))
	notFound := siptest.StartUAS(t, siptest.Respond(404, "Not Found"))
	decline := siptest.StartUAS(t, siptest.Respond(603, "Decline"))
	ok := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	unavailable := siptest.StartUAS(t, siptest.Respond(503, "Service Unavailable"))
	tests := []struct {
		name    string
		targets [][]gosip.Uri
		status  int
	}{
		{"parallel, 2xx wins", [][]gosip.Uri{{busy.URI("a"), ok.URI("b")}}, 200},
		{"parallel, 4xx before 5xx", [][]gosip.Uri{{busy.URI("a"), unavailable.URI("b")}}, 486},
		{"parallel, 6xx beats 4xx", [][]gosip.Uri{{busy.URI("a"), decline.URI("b")}}, 603},
		{"serial, second group answers", [][]gosip.Uri{{notFound.URI("a")}, {ok.URI("b")}}, 200},
		{"serial, best of all groups", [][]gosip.Uri{{unavailable.URI("a")}, {notFound.URI("b")}}, 404},
		{"serial, 6xx stops", [][]gosip.Uri{{decline.URI("a")}, {ok.URI("b")}}, 603},
		{"503 becomes 500", [][]gosip.Uri{{unavailable.URI("a")}}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, Config{}, ForwardHandler(Forward{Targets: tt.targets}))
			res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.MESSAGE, gosip.Uri{Scheme: "sip", User: "x", Host: "example.org"}, p, ""))
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
}

func TestNextHopFailover(t *testing.T) {
	unavailable := siptest.StartUAS(t, siptest.Respond(503, "Service Unavailable"))
	notFound := siptest.StartUAS(t, siptest.Respond(404, "Not Found"))
	ok := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	tests := []struct {
		name   string
		hops   []gosip.Uri
		status int
		asked  []*siptest.UAS
	}{
		{"503 fails over", []gosip.Uri{unavailable.URI(""), ok.URI("")}, 200, []*siptest.UAS{unavailable, ok}},
		{"404 does not", []gosip.Uri{notFound.URI(""), ok.URI("")}, 404, []*siptest.UAS{notFound}},
		{"last 503 stays, as 500", []gosip.Uri{unavailable.URI("")}, 500, []*siptest.UAS{unavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, Config{}, ForwardHandler(Forward{NextHops: tt.hops}))
			res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.MESSAGE, gosip.Uri{Scheme: "sip", User: "x", Host: "example.org"}, p, ""))
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			for _, u := range []*siptest.UAS{unavailable, notFound, ok} {
				select {
				case <-u.Requests:
					if !slices.Contains(tt.asked, u) {
						t.Errorf("UAS on %d asked", u.Port)
					}
				default:
					if slices.Contains(tt.asked, u) {
						t.Errorf("UAS on %d not asked", u.Port)
					}
				}
			}
		})
	}
}

// ringing answers INVITE with 180 and then waits for the CANCEL.
func ringing(cancelled chan<- struct{}) func(*siptest.UAS, *gosip.Request, gosip.ServerTransaction) {
	return func(_ *siptest.UAS, req *gosip.Request, tx gosip.ServerTransaction) {
		if !req.IsInvite() {
			return
		}
		tx.OnCancel(func(*gosip.Request) { close(cancelled) })
		tx.Respond(gosip.NewResponseFromRequest(req, 180, "Ringing", nil))
		<-tx.Done()
	}
}

func TestCancelPropagation(t *testing.T) {
	cancelled := make(chan struct{})
	u := siptest.StartUAS(t, ringing(cancelled))
	p := startProxy(t, Config{}, ForwardHandler(Forward{RecordRoute: true}))
	c := siptest.NewClient(t)
	inv := testRequest(gosip.INVITE, u.URI("bob"), p, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := c.TransactionRequest(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	select {
	case res := <-tx.Responses():
		for res.StatusCode == 100 {
			res = <-tx.Responses()
		}
		if res.StatusCode != 180 {
			t.Fatalf("got %d, want 180", res.StatusCode)
		}
		if rr := res.GetHeaders("Record-Route"); len(rr) != 1 || !strings.Contains(rr[0].Value(), p.Addr()) {
			t.Errorf("180 Record-Route = %v, want ours", rr)
		}
	case <-ctx.Done():
		t.Fatal("no 180")
	}
	creq := gosip.NewRequest(gosip.CANCEL, inv.Recipient)
	creq.AppendHeader(inv.Via().Clone())
	for _, h := range []gosip.Header{inv.From(), inv.To(), inv.CallID()} {
		creq.AppendHeader(gosip.HeaderClone(h))
	}
	creq.AppendHeader(&gosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gosip.CANCEL})
	creq.SetDestination(p.Addr())
	if res := siptest.Do(t, c, creq); res.StatusCode != 200 {
		t.Fatalf("CANCEL got %d", res.StatusCode)
	}
	select {
	case <-cancelled:
	case <-ctx.Done():
		t.Fatal("CANCEL not propagated to the UAS")
	}
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode == 487 {
				return
			}
		case <-ctx.Done():
			t.Fatal("no 487")
		}
	}
}

func TestTimerC(t *testing.T) {
	cancelled := make(chan struct{})
	u := siptest.StartUAS(t, ringing(cancelled))
	p := startProxy(t, Config{TimerC: 300 * time.Millisecond}, ForwardHandler(Forward{}))
	res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.INVITE, u.URI("bob"), p, ""))
	select {
	case <-cancelled:
	default:
		t.Error("Timer C did not CANCEL the branch")
	}
	if res.StatusCode != 487 {
		t.Errorf("final %d, want the branch's 487", res.StatusCode)
	}
}

func TestLargeRequestGoesOverTCP(t *testing.T) {
	u := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	p := startProxy(t, Config{}, ForwardHandler(Forward{}))
	// Arrives over TCP (too large for a UDP client), leaves over TCP (RFC 3261 18.1.1).
	req := testRequest(gosip.MESSAGE, u.URI("bob"), p, "TCP")
	req.SetBody([]byte(strings.Repeat("x", 1500)))
	if res := siptest.Do(t, siptest.NewClient(t), req); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	got := <-u.Requests
	if v := got.Via().Transport; v != "TCP" {
		t.Errorf("forwarded over %s, want TCP", v)
	}
}

func TestRouteAndRecordRoute(t *testing.T) {
	u := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	p := startProxy(t, Config{}, ForwardHandler(Forward{RecordRoute: true}))
	req := testRequest(gosip.INVITE, u.URI("bob"), p, "")
	self := p.URI("")
	req.AppendHeader(&gosip.RouteHeader{Address: self})
	next := u.URI("")
	next.UriParams = gosip.HeaderParams{{K: "lr", V: ""}, {K: "transport", V: "tcp"}}
	req.AppendHeader(&gosip.RouteHeader{Address: next})
	c := siptest.NewClient(t)
	res := siptest.Do(t, c, req)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	got := <-u.Requests
	routes := got.GetHeaders("Route")
	if len(routes) != 1 || strings.Contains(routes[0].Value(), p.Addr()) {
		t.Errorf("Routes %v: ours should be removed, the next kept", routes)
	}
	rr := got.GetHeaders("Record-Route")
	if len(rr) != 2 || !strings.Contains(rr[0].Value(), "transport=tcp") || !strings.Contains(rr[1].Value(), "transport=udp") {
		t.Errorf("Record-Route %v, want tcp then udp entries (transport change)", rr)
	}
	// The ACK for the 2xx goes end to end through the proxy.
	ack := gosip.NewRequest(gosip.ACK, u.URI("bob"))
	ack.AppendHeader(&gosip.RouteHeader{Address: self})
	ack.AppendHeader(&gosip.RouteHeader{Address: next})
	for _, h := range []gosip.Header{req.From(), res.To(), req.CallID()} {
		ack.AppendHeader(gosip.HeaderClone(h))
	}
	ack.AppendHeader(&gosip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: gosip.ACK})
	ack.SetDestination(p.Addr())
	if err := c.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-u.Requests:
		if !a.IsAck() {
			t.Errorf("UAS got %s, want ACK", a.Method)
		}
	case <-time.After(5 * time.Second):
		t.Error("ACK not forwarded")
	}
}

func TestRequestOriginated(t *testing.T) {
	var n atomic.Int32
	u := siptest.StartUAS(t, func(_ *siptest.UAS, req *gosip.Request, tx gosip.ServerTransaction) {
		n.Add(1)
		tx.Respond(gosip.NewResponseFromRequest(req, 202, "Accepted", nil))
	})
	p := startProxy(t, Config{}, ForwardHandler(Forward{}))
	req := gosip.NewRequest(gosip.SUBSCRIBE, u.URI("bob"))
	from := &gosip.FromHeader{Address: p.URI("")}
	from.Params = gosip.HeaderParams{{K: "tag", V: "t"}}
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: u.URI("bob")})
	cid := gosip.CallIDHeader("sub-1")
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.SUBSCRIBE})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 202 || n.Load() != 1 {
		t.Errorf("status %d after %d requests", res.StatusCode, n.Load())
	}
	if v := (<-u.Requests).Via(); v.Host != "127.0.0.1" || fmt.Sprint(v.Port) != strings.Split(p.Addr(), ":")[1] {
		t.Errorf("Via %s, want the proxy's address", v.Value())
	}
}

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string, answer bool) Middleware {
		return func(next Handler) Handler {
			return func(r *Request) {
				order = append(order, name)
				if !answer {
					next(r)
				}
			}
		}
	}
	h := Chain(func(*Request) { order = append(order, "final") }, mw("a", false), mw("b", true), mw("c", false))
	h(nil)
	if got := strings.Join(order, ","); got != "a,b" {
		t.Errorf("order %s, want a,b (b answers, c and final never run)", got)
	}
}

func TestRank(t *testing.T) {
	tests := []struct {
		codes []int
		want  int
	}{
		{[]int{486, 404}, 486},
		{[]int{500, 404, 302}, 302},
		{[]int{404, 603, 302}, 603},
		{[]int{408}, 408},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.codes), func(t *testing.T) {
			var best *gosip.Response
			for _, c := range tt.codes {
				considerBest(&best, gosip.NewResponse(c, ""))
			}
			if best.StatusCode != tt.want {
				t.Errorf("best %d, want %d", best.StatusCode, tt.want)
			}
		})
	}
}

// TestAnswerTimeout uses MESSAGE: for an INVITE, sipgo's own 100 Trying timer reads the
// request while setReceived writes its Via, which -race reports.
func TestAnswerTimeout(t *testing.T) {
	const answerTimeout = 200 * time.Millisecond
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	slowPort := siptest.StartUAS(t, func(_ *siptest.UAS, req *gosip.Request, tx gosip.ServerTransaction) {
		tx.Respond(gosip.NewResponseFromRequest(req, 100, "Trying", nil))
		time.Sleep(3 * answerTimeout)
		tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	}).Port
	tests := []struct {
		name   string
		port   int
		status int
	}{
		{"no response at all: 408 long before Timer F", silent.LocalAddr().(*net.UDPAddr).Port, 408},
		{"a 100 in time keeps the branch", slowPort, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, Config{}, ForwardHandler(Forward{AnswerTimeout: answerTimeout}))
			target := gosip.Uri{Scheme: "sip", User: "as", Host: "127.0.0.1", Port: tt.port}
			start := time.Now()
			res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.MESSAGE, target, p, ""))
			if res.StatusCode != tt.status {
				t.Errorf("status %d after %v, want %d", res.StatusCode, time.Since(start), tt.status)
			}
		})
	}
}

// TestAnswerTimeoutReleasesBranch: once a branch is answered, its AnswerTimeout timer no
// longer keeps the branch's request (nor its transaction) in memory until it fires. Over TCP
// neither transaction is kept for Timer J or K (RFC 3261 17.1.2.2, 17.2.2), so the request can
// be collected at once.
func TestAnswerTimeoutReleasesBranch(t *testing.T) {
	u := siptest.StartUAS(t, siptest.Respond(200, "OK"))
	released := make(chan struct{})
	var once sync.Once
	p := startProxy(t, Config{}, ForwardHandler(Forward{AnswerTimeout: time.Hour, Request: func(req *gosip.Request) {
		once.Do(func() { runtime.AddCleanup(req, func(ch chan struct{}) { close(ch) }, released) })
	}}))
	target := u.URI("bob")
	target.UriParams = gosip.HeaderParams{{K: "transport", V: "tcp"}}
	if res := siptest.Do(t, siptest.NewClient(t), testRequest(gosip.MESSAGE, target, p, "TCP")); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-released:
			return
		case <-deadline:
			t.Fatal("the answered branch's request is still reachable 10 s later (its AnswerTimeout timer runs for an hour)")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestUDPReceiveBuffer: the UDP socket gets the receive buffer asked for, and a size the
// kernel caps (net.core.rmem_max) is reported, since Linux caps it without an error.
func TestUDPReceiveBuffer(t *testing.T) {
	const small = 100 << 10 // below any rmem_max Linux starts with (208 KiB)
	p := startProxy(t, Config{UDPReceiveBuffer: small}, ForwardHandler(Forward{}))
	got, err := receiveBuffer(p.udp.(*net.UDPConn))
	if err != nil {
		t.Fatal(err)
	}
	if got != 2*small { // Linux reports twice the size it grants
		t.Errorf("SO_RCVBUF %d, want %d", got, 2*small)
	}

	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ask    int
		capped bool
	}{
		{small, false},
		// Linux then reports 2 x rmem_max, more than asked: the cap must still be seen.
		{rmemMax * 3 / 2, true},
	} {
		var logs bytes.Buffer
		p := &Proxy{cfg: Config{UDPReceiveBuffer: tt.ask}, log: slog.New(slog.NewTextHandler(&logs, nil))}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p.setReceiveBuffer(c)
		c.Close()
		if got := strings.Contains(logs.String(), "raise net.core.rmem_max"); got != tt.capped {
			t.Errorf("asking %d with rmem_max %d: cap reported %v, want %v; log: %q", tt.ask, rmemMax, got, tt.capped, logs.String())
		}
	}
}
