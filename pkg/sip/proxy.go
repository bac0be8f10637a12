package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/header"
)

// DefaultTimerC is Timer C (RFC 3261 16.8: more than 3 minutes).
const DefaultTimerC = 3*time.Minute + 30*time.Second

// Config of a Proxy.
type Config struct {
	// Listen is host:port for UDP and TCP alike; port 0 picks a free port shared by both.
	Listen string
	// Aliases are other host or host:port names of this proxy, recognised in Route and
	// Request-URI (an FQDN such as pcscf.ims.example.org).
	Aliases []string
	// TimerC bounds how long an INVITE branch may go without a response; 0 is DefaultTimerC.
	TimerC time.Duration
	// ACKNextHop, when set, may choose where an ACK for a 2xx goes: the proxy forwards those
	// statelessly, outside the chain (forwardACK). It gets the ACK once the Route entries naming
	// us are gone and returns the next hop, or false to follow the Route and Request-URI. The
	// P-CSCF sends it over the UE's flow (RFC 5626 5.3), like the other requests of the dialog.
	ACKNextHop func(ack *gosip.Request) (gosip.Uri, bool)
	// UserAgent is the sipgo user-agent name, written in the requests the proxy originates.
	UserAgent string
	// Metrics, when set, gets the ims_sip_* counters (the node's registry).
	Metrics prometheus.Registerer
	// MaxTransactions bounds the server transactions in flight (overload.go): a new request
	// beyond it gets 503 with Retry-After at once. A request that continues work already
	// spent (a REGISTER answering a challenge, a request inside a dialog) is admitted up to
	// twice MaxTransactions. 0: no bound.
	MaxTransactions int
	// RetryAfter is the base of the Retry-After of that 503; 0 is DefaultRetryAfter.
	RetryAfter time.Duration
	// UDPReceiveBuffer is the receive buffer, in bytes, asked for the UDP socket (SO_RCVBUF);
	// the kernel caps it at net.core.rmem_max. 0 keeps the system's default.
	UDPReceiveBuffer int
}

// Proxy is a transaction-stateful SIP proxy listening on UDP and TCP.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	handler Handler
	metrics *metrics
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	adm     admission

	ready chan struct{} // closed once Run serves

	mu   sync.Mutex
	udp  net.PacketConn
	tcp  net.Listener
	host string
	port int
}

// New builds a proxy whose requests go through h. It does not listen yet.
func New(cfg Config, h Handler, log *slog.Logger) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("sip: listen %q: %w", cfg.Listen, err)
	}
	if cfg.TimerC <= 0 {
		cfg.TimerC = DefaultTimerC
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "imscore"
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(log),
			// Responses no transaction matches are retransmitted 2xx or late answers of
			// cancelled branches: nothing to do with them (RFC 3261 16.7 step 1 forwards
			// only 2xx to INVITE statelessly, which we do not keep dialogs for).
			gosip.WithTransactionLayerUnhandledResponseHandler(func(res *gosip.Response) {
				log.Debug("sip: response without transaction", "status", res.StatusCode)
			})),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	p := &Proxy{cfg: cfg, log: log, handler: h, ua: ua, srv: srv, client: client,
		adm: admission{max: int64(cfg.MaxTransactions)}, ready: make(chan struct{})}
	p.metrics = newMetrics(cfg.Metrics, p.adm.inFlight.Load)
	srv.OnNoRoute(p.serve)
	return p, nil
}

// Listen binds the UDP socket and the TCP listener on one port. Run calls it when it has not
// been called; tests call it first to learn a port-0 address.
func (p *Proxy) Listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.udp != nil {
		return nil
	}
	host, port, _ := net.SplitHostPort(p.cfg.Listen)
	// With port 0 the UDP port the kernel picks may be taken on TCP: try a few.
	for range 20 {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return fmt.Errorf("sip: listen udp: %w", err)
		}
		_, got, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, got))
		if err != nil {
			udp.Close()
			if port == "0" {
				continue
			}
			return fmt.Errorf("sip: listen tcp: %w", err)
		}
		p.setReceiveBuffer(udp.(*net.UDPConn))
		p.udp, p.tcp = udp, tcp
		p.host = advertised(host)
		p.port, _ = strconv.Atoi(got)
		return nil
	}
	return fmt.Errorf("sip: no port free on both udp and tcp at %s", host)
}

// setReceiveBuffer asks for Config.UDPReceiveBuffer on the UDP socket. A datagram that finds
// the buffer full is dropped by the kernel (the RcvbufErrors of /proc/net/snmp) and costs its
// sender a retransmission (RFC 3261 17.1.2.2: 500 ms first). Linux caps the size at
// net.core.rmem_max without an error, so the size obtained is read back and a cap reported.
func (p *Proxy) setReceiveBuffer(c *net.UDPConn) {
	want := p.cfg.UDPReceiveBuffer
	if want <= 0 {
		return
	}
	if err := c.SetReadBuffer(want); err != nil {
		p.log.Warn("sip: UDP receive buffer not set", "bytes", want, logging.KeyErr, err)
		return
	}
	got, err := receiveBuffer(c)
	if err != nil {
		return // the size was asked for; only the check is lost
	}
	if runtime.GOOS == "linux" {
		got /= 2 // Linux reports twice the size it grants, its bookkeeping included
	}
	if got < want {
		p.log.Info("sip: UDP receive buffer capped by the kernel: raise net.core.rmem_max",
			"asked", want, "got", got)
	}
}

// receiveBuffer reads SO_RCVBUF of c.
func receiveBuffer(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		size, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return size, serr
}

// advertised is the address written in our Via, Record-Route and Path for a listen host: the
// host itself, or for a wildcard listen (0.0.0.0, ::, empty) the first non-loopback IPv4
// address of the machine (a container's own address), else 127.0.0.1.
func advertised(host string) string {
	if host != "" && host != "0.0.0.0" && host != "::" {
		return host
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}

// Addr is the host:port the proxy listens on and writes in Via, Record-Route and Path.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return net.JoinHostPort(p.host, strconv.Itoa(p.port))
}

// URI is a SIP URI of this proxy with user (may be empty) and ;lr, for Path, Record-Route and
// Service-Route entries (RFC 3327 4, RFC 3261 16.6 step 4).
func (p *Proxy) URI(user string) gosip.Uri {
	p.mu.Lock()
	defer p.mu.Unlock()
	return gosip.Uri{Scheme: "sip", User: user, Host: p.host, Port: p.port,
		UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}
}

// Run serves until ctx is done, then closes the listeners and the transactions.
func (p *Proxy) Run(ctx context.Context) error {
	if err := p.Listen(); err != nil {
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- p.srv.ServeUDP(p.udp) }()
	go func() { errs <- p.srv.ServeTCP(p.tcp) }()
	// Requests leave from the UDP listening socket (prepare), which sipgo knows once ServeUDP
	// has registered it.
	for range 200 {
		if c, _ := p.ua.TransportLayer().GetConnection("udp", p.udp.LocalAddr().String()); c != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(p.ready)
	p.log.Info("sip: listening", "addr", p.Addr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		err = fmt.Errorf("sip: serve: %w", err)
	}
	p.udp.Close()
	p.tcp.Close()
	p.ua.Close()
	return err
}

// Ready is closed once Run serves: requests sent before may fail.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// isSelf reports whether u names this proxy: its listen host or an alias, on its port (an alias
// without a port matches any port).
func (p *Proxy) isSelf(u gosip.Uri) bool {
	p.mu.Lock()
	host, port := p.host, p.port
	p.mu.Unlock()
	uport := u.Port
	if uport == 0 {
		uport = 5060
	}
	if strings.EqualFold(u.Host, host) && uport == port {
		return true
	}
	for _, a := range p.cfg.Aliases {
		ah, ap, err := net.SplitHostPort(a)
		if err != nil {
			if strings.EqualFold(a, u.Host) {
				return true
			}
			continue
		}
		if strings.EqualFold(ah, u.Host) && ap == strconv.Itoa(uport) {
			return true
		}
	}
	return false
}

// sipgo answers 100 Trying from a timer Timer_1xx after an INVITE's server transaction starts,
// reading the request while the chain may be editing it; serve sends the 100 itself instead.
func init() { gosip.Timer_1xx = 24 * time.Hour }

// serve runs for every new server transaction: the checks of RFC 3261 16.3 and 16.4, then the
// chain.
func (p *Proxy) serve(req *gosip.Request, tx gosip.ServerTransaction) {
	setReceived(req)
	if req.IsInvite() {
		// RFC 3261 16.2: a stateful proxy answers 100 at once; it also quenches the upstream
		// retransmissions. sipgo's own 100 timer is off (init): it would read the request
		// while setReceived writes its Via.
		if err := tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusTrying, "Trying", nil)); err != nil {
			p.log.Debug("sip: 100 Trying not sent", logging.KeyCallID, callIDOf(req), logging.KeyErr, err)
		}
	}
	if req.IsAck() {
		p.forwardACK(req)
		return
	}
	p.metrics.requests.WithLabelValues(string(req.Method)).Inc()
	if !req.IsCancel() {
		// CANCEL is cheap and frees work: never refused.
		if !p.adm.admit(req) {
			p.overloaded(req, tx)
			return
		}
		s := &slot{a: &p.adm}
		defer s.release()
		tx = &admittedTx{ServerTransaction: tx, slot: s}
	}
	r := newRequest(p, req, tx)
	if code, reason := p.validate(r); code != 0 {
		r.Log.Debug("sip: request refused", "status", code, "reason", reason)
		r.Reply(code, reason)
		return
	}
	if req.IsCancel() {
		// RFC 3261 16.10: a CANCEL that matches no transaction gets 481; sipgo has already
		// answered those that match.
		r.Reply(gosip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	p.handler(r)
	if !r.Answered() {
		r.Log.Error("sip: handler returned without a final response")
		r.Reply(gosip.StatusInternalServerError, "No Response From Handler")
	}
}

// setReceived adds received (RFC 3261 18.2.1) and rport (RFC 3581 4) to the top Via from the
// packet's source, so that responses find their way back through NATs.
func setReceived(req *gosip.Request) {
	via := req.Via()
	src := req.MessageData.Source()
	if via == nil || src == "" {
		return
	}
	host, port, err := net.SplitHostPort(src)
	if err != nil {
		return
	}
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		via.Params.Add("rport", port)
		via.Params.Add("received", host)
		return
	}
	if via.Host != host {
		via.Params.Add("received", host)
	}
}

// validate is RFC 3261 16.3 and the Route pre-processing of 16.4. It returns the status to
// answer with, or 0 to go on.
func (p *Proxy) validate(r *Request) (int, string) {
	req := r.Request
	for _, h := range []struct {
		name    string
		present bool
	}{{"From", req.From() != nil}, {"To", req.To() != nil}, {"Call-ID", req.CallID() != nil}} {
		if !h.present {
			return gosip.StatusBadRequest, "Missing " + h.name
		}
	}
	if cseq := req.CSeq(); cseq.MethodName != req.Method && !req.IsAck() {
		return gosip.StatusBadRequest, "CSeq Method Mismatch"
	}
	if req.Recipient.Host == "" && req.Recipient.Scheme != "tel" && req.Recipient.Scheme != "urn" {
		return gosip.StatusBadRequest, "Bad Request-URI"
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return gosip.StatusTooManyHops, "Too Many Hops"
	}
	r.ownRoutes = p.preRoute(req)
	r.loopHash = loopHash(req, r.ownRoutes)
	if p.looped(req, r.loopHash) {
		return gosip.StatusLoopDetected, "Loop Detected"
	}
	return 0, ""
}

// preRoute is RFC 3261 16.4: a Request-URI naming us came from a strict router, so the real
// one is the last Route entry; a top Route naming us is removed. It returns the Route entries
// naming us that it removed, top first.
func (p *Proxy) preRoute(req *gosip.Request) []gosip.Uri {
	if p.isSelf(req.Recipient) {
		routes := header.Named(req, "Route")
		if len(routes) > 0 {
			if last, ok := routes[len(routes)-1].(*gosip.RouteHeader); ok {
				req.Recipient = last.Address
				removeHeader(req, last)
			}
		}
	}
	var own []gosip.Uri
	for {
		top := req.Route()
		if top == nil || !p.isSelf(top.Address) {
			return own
		}
		own = append(own, top.Address)
		req.RemoveHeader("Route")
	}
}

// removeHeader removes the header h (by identity) from req.
func removeHeader(req *gosip.Request, h gosip.Header) {
	hs := header.Named(req, h.Name())
	kept := make([]gosip.Header, 0, len(hs))
	for _, x := range hs {
		if x != h {
			kept = append(kept, x)
		}
	}
	for range hs {
		req.RemoveHeader(h.Name())
	}
	for _, x := range kept {
		req.AppendHeader(x)
	}
}

// Request sends req, a request this node originates (SUBSCRIBE, NOTIFY, third-party REGISTER),
// to its Route or Request-URI and returns the final response. req must carry From, To,
// Call-ID and CSeq; Via, Max-Forwards and Content-Length are added.
func (p *Proxy) Request(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	if req.MaxForwards() == nil {
		mf := gosip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	if req.Body() == nil {
		req.SetBody(nil)
	}
	dst := nextHop(req, nil)
	p.prepare(req, dst, branchPrefix+randomToken())
	tx, err := p.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return nil, fmt.Errorf("sip %s: %w", req.Method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, fmt.Errorf("sip %s: %w", req.Method, err)
			}
			return nil, fmt.Errorf("sip %s: %w", req.Method, errors.New("transaction ended without a final response"))
		case <-ctx.Done():
			return nil, fmt.Errorf("sip %s: %w", req.Method, ctx.Err())
		}
	}
}

// noBuild tells sipgo the request is complete: the proxy has written every header itself.
func noBuild(*sipgo.Client, *gosip.Request) error { return nil }

// forwardACK passes an ACK for a 2xx end to end (RFC 3261 16.6, 13.2.2.4): it is a request of
// its own without a transaction, so it is forwarded statelessly along its Route.
func (p *Proxy) forwardACK(req *gosip.Request) {
	log := p.log.With(logging.KeyMethod, "ACK", logging.KeyCallID, callIDOf(req))
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return
	}
	p.preRoute(req)
	if req.Route() == nil && p.isSelf(req.Recipient) {
		log.Debug("sip: ACK for us absorbed")
		return
	}
	fwd := req.Clone()
	decMaxForwards(fwd)
	var hop *gosip.Uri
	if p.cfg.ACKNextHop != nil {
		if u, ok := p.cfg.ACKNextHop(fwd); ok {
			hop = &u
		}
	}
	p.prepare(fwd, nextHop(fwd, hop), branchPrefix+randomToken())
	if err := p.client.WriteRequest(fwd, noBuild); err != nil {
		log.Warn("sip: ACK not forwarded", logging.KeyErr, err)
	}
}
