// Package siptest has the SIP peers the proxy and CSCF tests run against: a sipgo UAS on a
// loopback port (UDP and TCP) and a sipgo UAC.
package siptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// LogEnv, when set, sends the logs of Logger to stderr at debug level.
const LogEnv = "SIP_TEST_LOG"

// Logger discards, unless LogEnv is set.
func Logger() *slog.Logger {
	if os.Getenv(LogEnv) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// UAS is a sipgo server on one loopback port for UDP and TCP. Every request it gets is also
// sent to Requests (buffered; a test that does not read it must not get more than 64).
type UAS struct {
	Port     int
	Requests chan *gosip.Request
	// Client sends requests from the UAS's user agent (a fake S-CSCF's NOTIFY).
	Client *sipgo.Client
}

// StartUAS runs a UAS whose requests go to h until the test ends.
func StartUAS(t testing.TB, h func(u *UAS, req *gosip.Request, tx gosip.ServerTransaction)) *UAS {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(Logger()))
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := ListenUDPAndTCP(t)
	u := &UAS{Port: udp.LocalAddr().(*net.UDPAddr).Port, Requests: make(chan *gosip.Request, 64)}
	u.Client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(u.Port),
		sipgo.WithClientLogger(Logger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNoRoute(func(req *gosip.Request, tx gosip.ServerTransaction) {
		select {
		case u.Requests <- req:
		default:
		}
		h(u, req, tx)
	})
	go srv.ServeUDP(udp)
	go srv.ServeTCP(tcp)
	t.Cleanup(func() { udp.Close(); tcp.Close(); ua.Close() })
	return u
}

// URI is sip:user@127.0.0.1:port.
func (u *UAS) URI(user string) gosip.Uri {
	return gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: u.Port}
}

// Respond is a UAS handler that answers every request with code.
func Respond(code int, reason string) func(*UAS, *gosip.Request, gosip.ServerTransaction) {
	return func(_ *UAS, req *gosip.Request, tx gosip.ServerTransaction) {
		tx.Respond(gosip.NewResponseFromRequest(req, code, reason, nil))
	}
}

// NewClient is a UAC on its own user agent that asks for rport (RFC 3581).
func NewClient(t testing.TB) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientNAT(), sipgo.WithClientLogger(Logger()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Do sends req and returns its final response, failing the test after 10 s.
func Do(t testing.TB, c *sipgo.Client, req *gosip.Request) *gosip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// ListenUDPAndTCP listens on one loopback port for both UDP and TCP, as a SIP endpoint does
// (RFC 3261 18: a response or a large request may come over TCP to the same port). The UDP port
// the kernel picks may be taken on TCP, by another test's connection holding it as its source
// port: it tries again.
func ListenUDPAndTCP(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp
		}
		udp.Close()
	}
	t.Fatal("siptest: no loopback port free on both UDP and TCP")
	return nil, nil
}
