package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/sip/siptest"
	"github.com/imscore/imscore/pkg/testutil"
)

// TestSessionCases covers the iFC session cases beyond those of TestCalls (TS 29.228 Annex C)
// and the AS timer, through the whole core:
//   - ORIGINATING_CDIV: a call to an unregistered user whose terminating AS retargets it to bob;
//     the S-CSCF then runs the diverting user's originating-CDIV iFC (a proxy AS) and routes
//     the call to bob, with History-Info recording the diversion;
//   - ORIGINATING_UNREGISTERED: an AS calls bob on behalf of an unregistered user (Route with
//     the orig parameter); the S-CSCF fetches his profile (SAR) and runs his
//     originating-unregistered iFC;
//   - an AS on UDP that never answers: SESSION_CONTINUED goes on to bob, SESSION_TERMINATED
//     answers 408, both after isc.as_timeout (2 s), long before Timer B (32 s).
func TestSessionCases(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	port := func() int { return freePort(t) }
	var (
		alice    = sippUE{imsi: "001010000000021", msisdn: "15550021", port: port()}
		bob      = sippUE{imsi: "001010000000022", msisdn: "15550022", port: port()}
		carol    = sippUE{imsi: "001010000000023", msisdn: "15550023", port: port()} // originating iFC to a silent AS
		diverter = sippUE{imsi: "001010000000024", msisdn: "15550024"}               // never registers; calls to him go to bob
		frank    = sippUE{imsi: "001010000000025", msisdn: "15550025"}               // never registers; an AS calls for him
		gus      = sippUE{imsi: "001010000000026", msisdn: "15550026"}               // never registers; his AS is silent
		proxyAS  = startProxyAS(t)
		cdivAS   = startAS(t, retarget(bob.impu()))
		silentAS = startSilentAS(t)
	)
	c := startChain(t, alice.port, bob.port, carol.port, sipPort(t, proxyAS.Addr()), sipPort(t, cdivAS.Addr()), silentAS.port)
	udpAS := func(addr string) string { return "sip:" + addr + ";transport=udp" }
	silent := udpAS(silentAS.conn.LocalAddr().String())
	c.ifcSet(t, "cdiv", ifcSetXML(
		ifcEntry(1, "INVITE", 2, udpAS(cdivAS.Addr()), 1, ""),
		ifcEntry(2, "INVITE", 4, udpAS(proxyAS.Addr()), 1, "")))
	c.ifcSet(t, "orig-unregistered", ifcSetXML(ifcEntry(1, "INVITE", 3, udpAS(proxyAS.Addr()), 1, "")))
	c.ifcSet(t, "silent-continue", ifcSetXML(ifcEntry(1, "INVITE", 0, silent, 0, "")))
	c.ifcSet(t, "silent-terminate", ifcSetXML(ifcEntry(1, "INVITE", 3, silent, 1, "")))
	c.provision(t, alice, "")
	c.provision(t, bob, "")
	c.provision(t, carol, "silent-continue")
	c.provision(t, diverter, "cdiv")
	c.provision(t, frank, "orig-unregistered")
	c.provision(t, gus, "silent-terminate")
	for _, u := range []sippUE{alice, bob, carol} {
		c.register(t, u)
	}
	counter := func(name string) float64 { return metricValue(t, c.scscfAdmin, name) }
	const (
		returned  = "ims_scscf_as_returned_total"
		cdiv      = `ims_scscf_initial_requests_total{session_case="originating_cdiv"}`
		origUnreg = `ims_scscf_initial_requests_total{session_case="originating_unregistered"}`
		continued = `ims_scscf_as_failures_total{default_handling="SESSION_CONTINUED"}`
		ended     = `ims_scscf_as_failures_total{default_handling="SESSION_TERMINATED"}`
	)

	t.Run("ORIGINATING_CDIV: a terminating AS retargets the call", func(t *testing.T) {
		returnedBefore, cdivBefore := counter(returned), counter(cdiv)
		c.call(t, "uac_basic.xml", alice, diverter.impu(), answer(t, "uas_basic.xml", bob.port, bob.imsi))
		if n := counter(cdiv) - cdivBefore; n != 1 {
			t.Errorf("%d originating-CDIV evaluations, want 1", int(n))
		}
		// Back from the retargeting AS, then from the originating-CDIV AS.
		if n := counter(returned) - returnedBefore; n != 2 {
			t.Errorf("%d requests back from ASs, want 2", int(n))
		}
	})
	t.Run("ORIGINATING_UNREGISTERED: an AS calls for an unregistered user", func(t *testing.T) {
		returnedBefore, unregBefore := counter(returned), counter(origUnreg)
		answered := answer(t, "uas_basic.xml", bob.port, bob.imsi)
		asCall(t, c, frank, bob.impu(), gosip.StatusOK)
		if err := <-answered; err != nil {
			t.Fatalf("answering side: %v", err)
		}
		if n := counter(origUnreg) - unregBefore; n != 1 {
			t.Errorf("%d originating-unregistered evaluations, want 1", int(n))
		}
		if n := counter(returned) - returnedBefore; n != 1 {
			t.Errorf("%d requests back from the AS, want 1", int(n))
		}
	})
	t.Run("silent UDP AS, SESSION_CONTINUED", func(t *testing.T) {
		before, heard := counter(continued), silentAS.heard.Load()
		start := time.Now()
		c.call(t, "uac_basic.xml", carol, bob.impu(), answer(t, "uas_basic.xml", bob.port, bob.imsi))
		took := time.Since(start)
		t.Logf("call through a silent AS took %v", took)
		// Timer B would hold the INVITE 32 s; SIPp gives up after 20 s anyway.
		if took > 16*time.Second {
			t.Errorf("the call took %v: the AS timer did not apply", took)
		}
		if silentAS.heard.Load() == heard {
			t.Error("the silent AS got no INVITE")
		}
		if n := counter(continued) - before; n != 1 {
			t.Errorf("%d SESSION_CONTINUED default handlings, want 1", int(n))
		}
	})
	t.Run("silent UDP AS, SESSION_TERMINATED", func(t *testing.T) {
		before := counter(ended)
		start := time.Now()
		asCall(t, c, gus, bob.impu(), gosip.StatusRequestTimeout)
		t.Logf("408 after %v", time.Since(start))
		if n := counter(ended) - before; n != 1 {
			t.Errorf("%d SESSION_TERMINATED default handlings, want 1", int(n))
		}
	})

	pcap := c.capture.Stop()
	var decodeAs []string
	for _, p := range append([]int{c.pcscfSIP, c.icscfSIP, c.scscfSIP}, c.ports...) {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,sip", p))
	}
	d := testutil.Dissector{DecodeAs: append(decodeAs, fmt.Sprintf("tcp.port==%d,diameter", c.hssDiam),
		fmt.Sprintf("tcp.port==%d,diameter", c.draDiam))}
	d.AssertClean(t, pcap)
	// The diverted INVITE reaches bob with the diversion recorded (RFC 7044).
	if rows := d.Decode(t, pcap, fmt.Sprintf(`sip.Method == "INVITE" && sip.History-Info contains "mp=1" && udp.dstport == %d`, bob.port),
		"sip.History-Info"); len(rows) == 0 {
		t.Error("no INVITE to bob with History-Info in the capture")
	}
}

// sipPort is the port of a host:port.
func sipPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startAS runs an application server on the proxy core of pkg/sip with handler h.
func startAS(t *testing.T, h imssip.Handler) *imssip.Proxy {
	t.Helper()
	as, err := imssip.New(imssip.Config{Listen: "127.0.0.1:0", UserAgent: "test-as"}, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := as.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- as.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-as.Ready()
	return as
}

// retarget is an AS acting as a proxy that diverts every initial request to target (call
// forwarding, TS 24.229 5.7.4, TS 24.604): it changes the Request-URI and sends the request
// back along the Route, to the S-CSCF's entry with the odi token. It adds no History-Info: the
// S-CSCF records the diversion.
func retarget(target string) imssip.Handler {
	return func(r *imssip.Request) {
		if r.InDialog() {
			r.Forward(imssip.Forward{})
			return
		}
		var u gosip.Uri
		if err := gosip.ParseUri(target, &u); err != nil {
			r.Reply(gosip.StatusInternalServerError, err.Error())
			return
		}
		r.Forward(imssip.Forward{RecordRoute: true, Targets: [][]gosip.Uri{{u}}})
	}
}

// silentAS is a UDP socket that reads requests and never answers.
type silentAS struct {
	conn  net.PacketConn
	port  int
	heard atomic.Int64
}

func startSilentAS(t *testing.T) *silentAS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentAS{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if strings.HasPrefix(string(buf[:n]), "INVITE ") {
				s.heard.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// asCall is an AS acting as originating UA on behalf of user (TS 24.229 5.7.3): an INVITE to
// callee straight to the S-CSCF, whose Route entry carries the orig parameter, with user in
// P-Asserted-Identity. It wants the final status want; a 200 is ACKed and the call hung up.
func asCall(t *testing.T, c *chain, user sippUE, callee string, want int) {
	t.Helper()
	client := siptest.NewClient(t)
	ua := sipgo.DialogUA{Client: client, ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "as", Host: "127.0.0.1"}}}
	var to gosip.Uri
	if err := gosip.ParseUri(callee, &to); err != nil {
		t.Fatal(err)
	}
	req := gosip.NewRequest(gosip.INVITE, to)
	req.SetTransport("UDP")
	from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: user.imsi, Host: homeDomain},
		Params: gosip.HeaderParams{{K: "tag", V: strconv.FormatInt(time.Now().UnixNano(), 36)}}}
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: to})
	req.AppendHeader(&gosip.RouteHeader{Address: gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: c.scscfSIP,
		UriParams: gosip.HeaderParams{{K: "lr", V: ""}, {K: "orig", V: ""}, {K: "transport", V: "udp"}}}})
	req.AppendHeader(gosip.NewHeader("P-Asserted-Identity", "<"+user.impu()+">"))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialog, err := ua.WriteInvite(ctx, req)
	if err != nil {
		t.Fatalf("INVITE for %s: %v", user.imsi, err)
	}
	defer dialog.Close()
	err = dialog.WaitAnswer(ctx, sipgo.AnswerOptions{})
	got := 0
	if dialog.InviteResponse != nil {
		got = dialog.InviteResponse.StatusCode
	}
	if got != want {
		t.Fatalf("INVITE for %s: final %d (%v), want %d", user.imsi, got, err, want)
	}
	if want != gosip.StatusOK {
		return
	}
	if err := dialog.Ack(ctx); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	// The ACK is forwarded statelessly: let it reach the callee before the BYE.
	time.Sleep(200 * time.Millisecond)
	if err := dialog.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
}
