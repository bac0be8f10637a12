package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	imssip "github.com/imscore/imscore/pkg/sip"
	"github.com/imscore/imscore/pkg/testutil"
)

// chain is the whole core on loopback: HSS, DRA, S-CSCF, I-CSCF and P-CSCF binaries.
type chain struct {
	hssAPI                       string // base URL of the REST API
	hssDiam, draDiam             int
	scscfAdmin                   string
	scscfSIP, icscfSIP, pcscfSIP int
	pcscf                        string // host:port UEs send to
	capture                      *testutil.Capture
	ports                        []int // SIP ports of the UEs and ASs, for the capture decode
	nodes                        []*process
}

// chainOptions change how startChainWith runs the nodes; the zero value is startChain's.
type chainOptions struct {
	binDir    string // the node binaries; empty: build them from cmd/
	logLevel  string // of the CSCFs; empty: debug
	noCapture bool   // no tshark capture (benchmarks)
	// coreTCP runs the core over TCP: ;transport=tcp in the P-CSCF's icscf, the I-CSCF's
	// scscfs and the S-CSCF's server_name, and the P-CSCF's core_transport tcp.
	coreTCP bool
}

// startChain starts every node with a capture of their ports and of extra (the UEs' and ASs').
func startChain(t *testing.T, extra ...int) *chain {
	t.Helper()
	return startChainWith(t, chainOptions{}, extra...)
}

// startChainWith is startChain with options.
func startChainWith(t *testing.T, opts chainOptions, extra ...int) *chain {
	t.Helper()
	binDir, logLevel := opts.binDir, opts.logLevel
	if binDir == "" {
		binDir = build(t, binaries())
	}
	if logLevel == "" {
		logLevel = "debug"
	}
	port := func() int { return freePort(t) }
	c := &chain{hssDiam: port(), draDiam: port(), scscfSIP: port(), icscfSIP: port(), pcscfSIP: port(), ports: extra}
	hssAdmin, draAdmin := "127.0.0.1:"+strconv.Itoa(port()), "127.0.0.1:"+strconv.Itoa(port())
	c.scscfAdmin = "127.0.0.1:" + strconv.Itoa(port())
	icscfAdmin, pcscfAdmin := "127.0.0.1:"+strconv.Itoa(port()), "127.0.0.1:"+strconv.Itoa(port())
	c.hssAPI = "http://" + hssAdmin + "/api/v1"
	c.pcscf = "127.0.0.1:" + strconv.Itoa(c.pcscfSIP)
	filter := []string{}
	for _, p := range append([]int{c.hssDiam, c.draDiam, c.scscfSIP, c.icscfSIP, c.pcscfSIP}, extra...) {
		filter = append(filter, "port "+strconv.Itoa(p))
	}
	if !opts.noCapture {
		c.capture = testutil.StartCapture(t, "lo", strings.Join(filter, " or "))
	}
	draPeer := fmt.Sprintf(`{host: dra.%s, realm: %s, network: tcp, addr: "127.0.0.1:%d", apps: [cx]}`, homeDomain, homeDomain, c.draDiam)
	start := func(name, config string) {
		c.nodes = append(c.nodes, startProcess(t, binDir, name, t.TempDir(), config))
	}
	tp, pcscfExtra := "", ""
	if opts.coreTCP {
		tp, pcscfExtra = ";transport=tcp", "core_transport: tcp\n"
	}
	start("hss", fmt.Sprintf(`admin: {listen: %q}
diameter:
  listen: [{network: tcp, addr: "127.0.0.1:%d"}]
api_token: %s
`, hssAdmin, c.hssDiam, apiToken))
	waitFor(t, "the HSS", serving(hssAdmin))
	start("dra", fmt.Sprintf(`admin: {listen: %q}
diameter:
  listen: [{network: tcp, addr: "127.0.0.1:%d"}]
  peers:
    - {host: hss.%s, realm: %s, network: tcp, addr: "127.0.0.1:%d", apps: [cx]}
routes:
  - {realm: %s, peers: [{host: hss.%s}]}
`, draAdmin, c.draDiam, homeDomain, homeDomain, c.hssDiam, homeDomain, homeDomain))
	waitFor(t, "the DRA's connection to the HSS", okay(draAdmin))
	start("scscf", fmt.Sprintf(`admin: {listen: %q}
log: {level: %s}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
registrar: {server_name: "sip:127.0.0.1:%d%s"}
icscf: "sip:127.0.0.1:%d"
`, c.scscfAdmin, logLevel, c.scscfSIP, draPeer, c.scscfSIP, tp, c.icscfSIP))
	start("icscf", fmt.Sprintf(`admin: {listen: %q}
log: {level: %s}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
scscfs: [{name: "sip:127.0.0.1:%d%s"}]
`, icscfAdmin, logLevel, c.icscfSIP, draPeer, c.scscfSIP, tp))
	start("pcscf", fmt.Sprintf(`admin: {listen: %q}
log: {level: %s}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
icscf: "sip:127.0.0.1:%d%s"
%s`, pcscfAdmin, logLevel, c.pcscfSIP, draPeer, c.icscfSIP, tp, pcscfExtra))
	for _, admin := range []string{c.scscfAdmin, icscfAdmin} {
		waitFor(t, admin+"'s connection to the DRA", okay(admin))
	}
	waitFor(t, "the P-CSCF", serving(pcscfAdmin))
	return c
}

// ifcSet provisions an iFC set in the HSS.
func (c *chain) ifcSet(t *testing.T, name, xml string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"xml":%q}`, name, xml)
	if code, out, err := httpBody("POST", c.hssAPI+"/ifc-sets", apiToken, body); err != nil || code != http.StatusCreated {
		t.Fatalf("ifc set %s: %d %s %v", name, code, out, err)
	}
}

// sippUE is a subscriber of the call tests; every one has the AKA keys of register_aka_user.xml.
type sippUE struct {
	imsi, msisdn string
	port         int // its flow: SIPp registers and calls from here
}

func (u sippUE) impu() string { return "sip:" + u.imsi + "@" + homeDomain }

// keys are the SIPp -key options naming u as the caller.
func (u sippUE) keys() []string {
	return []string{"-key", "imsi", u.imsi, "-key", "msisdn", u.msisdn, "-key", "caller", u.impu()}
}

// provision creates u in the HSS with the iFC set (none when empty).
func (c *chain) provision(t *testing.T, u sippUE, ifcSet string) {
	t.Helper()
	set := ""
	if ifcSet != "" {
		set = fmt.Sprintf(`,"ifc_set":%q`, ifcSet)
	}
	body := fmt.Sprintf(`{"imsi":%q,"msisdn":%q,"auth":{"k":%q,"op":%q,"amf":"8000","sqn":0},"ims":{"impi":"%s@%s","impus":["%s","tel:+%s"]%s}}`,
		u.imsi, u.msisdn, akaK, akaOP, u.imsi, homeDomain, u.impu(), u.msisdn, set)
	if code, out, err := httpBody("POST", c.hssAPI+"/subscribers", apiToken, body); err != nil || code != http.StatusCreated {
		t.Fatalf("provision %s: %d %s %v", u.imsi, code, out, err)
	}
}

// register registers u with AKA through the P-CSCF.
func (c *chain) register(t *testing.T, u sippUE) {
	t.Helper()
	sippAKA(t, "register_aka_user.xml", u.port, c.pcscf, "-key", "imsi", u.imsi, "-au", u.imsi+"@"+homeDomain)
	if _, ok := registration(t, c.scscfAdmin, u.impu()); !ok {
		t.Fatalf("%s not registered", u.imsi)
	}
}

// answer starts an answering SIPp scenario on port (-key imsi user) and returns its outcome.
func answer(t *testing.T, scenario string, port int, user string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- sipp(t, scenario, port, "", "-key", "imsi", user) }()
	// SIPp binds its port within a few milliseconds; the caller's INVITE must find it.
	waitFor(t, scenario+" listening", func() bool { return testutil.UDPBound(port) })
	return done
}

// call runs the caller's scenario from u to callee, then waits for the answering side.
func (c *chain) call(t *testing.T, scenario string, from sippUE, callee string, answered <-chan error) {
	t.Helper()
	err := sipp(t, scenario, from.port, c.pcscf, append(from.keys(), "-key", "callee", callee)...)
	var aerr error
	if answered != nil {
		select {
		case aerr = <-answered:
		case <-time.After(30 * time.Second):
			aerr = fmt.Errorf("the answering side did not finish")
		}
	}
	if err != nil || aerr != nil {
		t.Fatalf("caller: %v\nanswering side: %v", err, aerr)
	}
}

// ifcXML is an iFC set of one iFC for the tests: a trigger on the method and session case (TS
// 29.228 B.2.2), in the unregistered part of the profile when unregisteredPart is set.
func ifcXML(method string, sessionCase int, as string, defaultHandling int, unregisteredPart bool) string {
	ppi := ""
	if unregisteredPart {
		ppi = "<ProfilePartIndicator>1</ProfilePartIndicator>\n"
	}
	return ifcSetXML(ifcEntry(1, method, sessionCase, as, defaultHandling, ppi))
}

// ifcEntry is one iFC triggered by a method and a session case (TS 29.228 B.2.2); extra is
// XML placed after its ApplicationServer.
func ifcEntry(priority int, method string, sessionCase int, as string, defaultHandling int, extra string) string {
	return fmt.Sprintf(`  <InitialFilterCriteria>
    <Priority>%d</Priority>
    <TriggerPoint>
      <ConditionTypeCNF>1</ConditionTypeCNF>
      <SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>%s</Method></SPT>
      <SPT><ConditionNegated>0</ConditionNegated><Group>1</Group><SessionCase>%d</SessionCase></SPT>
    </TriggerPoint>
    <ApplicationServer><ServerName>%s</ServerName><DefaultHandling>%d</DefaultHandling></ApplicationServer>
    %s</InitialFilterCriteria>
`, priority, method, sessionCase, as, defaultHandling, extra)
}

// ifcSetXML wraps iFCs in an InitialFilterCriteriaSet.
func ifcSetXML(entries ...string) string {
	return "<InitialFilterCriteriaSet>\n" + strings.Join(entries, "") + "</InitialFilterCriteriaSet>"
}

// TestCalls runs calls and messages between SIPp UEs registered with AKA through the whole
// core (UE → P-CSCF → S-CSCF → I-CSCF (LIR) → S-CSCF → P-CSCF → UE, Diameter through the DRA):
// a call with hold and unhold, one with a reliable 180, PRACK and an early UPDATE, one with
// UPDATE and INFO in the confirmed dialog (in-dialog requests follow the Record-Route), a
// cancelled call, a MESSAGE, a call to an unregistered user with voicemail (an
// unregistered-services iFC to a SIPp AS) and without (480), an originating iFC
// to a SIPp AS acting as proxy (the INVITE comes back with the odi token), and originating iFCs
// to an AS that is down with each default handling. tshark must decode it all cleanly.
func TestCalls(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	port := func() int { return freePort(t) }
	var (
		alice     = sippUE{imsi: "001010000000011", msisdn: "15550011", port: port()}
		bob       = sippUE{imsi: "001010000000012", msisdn: "15550012", port: port()}
		voicemail = sippUE{imsi: "001010000000013", msisdn: "15550013"} // never registers
		nobody    = sippUE{imsi: "001010000000014", msisdn: "15550014"} // never registers, no services
		carol     = sippUE{imsi: "001010000000015", msisdn: "15550015", port: port()}
		dave      = sippUE{imsi: "001010000000016", msisdn: "15550016", port: port()}
		vmPort    = port()
		erin      = sippUE{imsi: "001010000000017", msisdn: "15550017", port: port()}
		deadAS    = port() // nothing listens there
		asPort    = port() // as_proxy.xml
	)
	c := startChain(t, alice.port, bob.port, carol.port, dave.port, erin.port, vmPort, deadAS, asPort)
	// The ASs are SIPp on UDP only: their URIs say so, else large requests go over TCP
	// (RFC 3261 18.1.1).
	c.ifcSet(t, "voicemail", ifcXML("INVITE", 2, fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", vmPort), 0, true))
	// TCP to a closed port fails at once (a transport error, 503), where UDP would wait for
	// Timer B.
	c.ifcSet(t, "as-down-continue", ifcXML("INVITE", 0, fmt.Sprintf("sip:127.0.0.1:%d;transport=tcp", deadAS), 0, false))
	c.ifcSet(t, "as-down-terminate", ifcXML("INVITE", 0, fmt.Sprintf("sip:127.0.0.1:%d;transport=tcp", deadAS), 1, false))
	c.ifcSet(t, "as-proxy", ifcXML("INVITE", 0, fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", asPort), 1, false))
	c.provision(t, alice, "")
	c.provision(t, erin, "as-proxy")
	c.provision(t, bob, "")
	c.provision(t, voicemail, "voicemail")
	c.provision(t, nobody, "")
	c.provision(t, carol, "as-down-continue")
	c.provision(t, dave, "as-down-terminate")
	for _, u := range []sippUE{alice, bob, carol, dave, erin} {
		c.register(t, u)
	}

	t.Run("call with hold and unhold", func(t *testing.T) {
		c.call(t, "uac_call.xml", alice, bob.impu(), answer(t, "uas_call.xml", bob.port, bob.imsi))
	})
	t.Run("reliable 180, PRACK and UPDATE in the early dialog", func(t *testing.T) {
		// uas_prack.xml checks that the RAck arrives as the caller wrote it from the RSeq.
		c.call(t, "uac_prack.xml", alice, bob.impu(), answer(t, "uas_prack.xml", bob.port, bob.imsi))
	})
	t.Run("UPDATE and INFO in the confirmed dialog", func(t *testing.T) {
		c.call(t, "uac_update_info.xml", alice, bob.impu(), answer(t, "uas_update_info.xml", bob.port, bob.imsi))
	})
	t.Run("call to a tel URI", func(t *testing.T) {
		c.call(t, "uac_basic.xml", alice, "tel:+"+bob.msisdn, answer(t, "uas_basic.xml", bob.port, bob.imsi))
	})
	t.Run("cancel before answer", func(t *testing.T) {
		c.call(t, "uac_cancel.xml", alice, bob.impu(), answer(t, "uas_cancel.xml", bob.port, bob.imsi))
	})
	t.Run("MESSAGE", func(t *testing.T) {
		c.call(t, "uac_message.xml", alice, bob.impu(), answer(t, "uas_message.xml", bob.port, bob.imsi))
	})
	t.Run("MESSAGE with P-Preferred-Identity and a forged P-Asserted-Identity", func(t *testing.T) {
		// uas_message_identity.xml checks for alice's tel URI.
		c.call(t, "uac_message_identity.xml", alice, bob.impu(), answer(t, "uas_message_identity.xml", bob.port, bob.imsi))
	})
	t.Run("unregistered user with voicemail", func(t *testing.T) {
		c.call(t, "uac_basic.xml", alice, voicemail.impu(), answer(t, "uas_basic.xml", vmPort, "voicemail"))
	})
	t.Run("unregistered user without services gets 480", func(t *testing.T) {
		c.call(t, "uac_480.xml", alice, nobody.impu(), nil)
	})
	t.Run("originating AS acting as proxy", func(t *testing.T) {
		before := metricValue(t, c.scscfAdmin, "ims_scscf_as_returned_total")
		proxied := answer(t, "as_proxy.xml", asPort, "")
		c.call(t, "uac_basic.xml", erin, bob.impu(), answer(t, "uas_basic.xml", bob.port, bob.imsi))
		if err := <-proxied; err != nil {
			t.Fatalf("application server: %v", err)
		}
		// The AS sent the INVITE back with the odi token and the S-CSCF went on from there.
		if after := metricValue(t, c.scscfAdmin, "ims_scscf_as_returned_total"); after != before+1 {
			t.Errorf("ims_scscf_as_returned_total %v -> %v, want one more", before, after)
		}
	})
	t.Run("originating AS down, SESSION_CONTINUED", func(t *testing.T) {
		c.call(t, "uac_basic.xml", carol, bob.impu(), answer(t, "uas_basic.xml", bob.port, bob.imsi))
	})
	t.Run("originating AS down, SESSION_TERMINATED", func(t *testing.T) {
		c.call(t, "uac_500.xml", dave, bob.impu(), nil)
	})
	t.Run("unregistered UE may not originate", func(t *testing.T) {
		// A UE that never registered from this port gets 403 at the P-CSCF.
		stranger := sippUE{imsi: alice.imsi, port: port()}
		c.ports = append(c.ports, stranger.port)
		if err := sipp(t, "uac_basic.xml", stranger.port, c.pcscf, append(stranger.keys(), "-key", "callee", bob.impu())...); err == nil ||
			!strings.Contains(err.Error(), "403") {
			t.Fatalf("want a 403, got %v", err)
		}
	})

	pcap := c.capture.Stop()
	decodeAs := []string{fmt.Sprintf("tcp.port==%d,diameter", c.hssDiam), fmt.Sprintf("tcp.port==%d,diameter", c.draDiam)}
	for _, p := range append([]int{c.pcscfSIP, c.icscfSIP, c.scscfSIP}, c.ports...) {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,sip", p))
	}
	d := testutil.Dissector{DecodeAs: decodeAs}
	// The refused connections to the AS that is down are the point of those tests.
	d.AssertClean(t, pcap, testutil.ExcludeFilter(fmt.Sprintf("tcp.port == %d && tcp.flags.reset == 1", deadAS)))
	for _, want := range []string{"diameter.cmd.code == 302", `sip.Method == "BYE"`, `sip.Method == "CANCEL"`,
		`sip.Method == "MESSAGE"`, `sip.Method == "PRACK"`, `sip.Method == "UPDATE"`, `sip.Method == "INFO"`,
		"sip.Status-Code == 480", "sip.Status-Code == 487"} {
		if rows := d.Decode(t, pcap, want, "frame.number"); len(rows) == 0 {
			t.Errorf("no %s in the capture", want)
		}
	}
}

// TestCallsOverTCPCore runs registration and calls with the core on TCP (core_transport,
// docs/CONFIG.md) while the UEs stay on UDP, and checks on the wire that the REGISTERs go
// P -> I -> S over TCP, the reg-event NOTIFYs and the terminating INVITE come S -> P over TCP
// (the P-CSCF's Contact and Path), and that tshark finds every message well formed.
func TestCallsOverTCPCore(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	port := func() int { return freePort(t) }
	alice := sippUE{imsi: "001010000000021", msisdn: "15550021", port: port()}
	bob := sippUE{imsi: "001010000000022", msisdn: "15550022", port: port()}
	c := startChainWith(t, chainOptions{coreTCP: true}, alice.port, bob.port)
	for _, u := range []sippUE{alice, bob} {
		c.provision(t, u, "")
		c.register(t, u)
	}
	t.Run("call with hold and unhold", func(t *testing.T) {
		c.call(t, "uac_call.xml", alice, bob.impu(), answer(t, "uas_call.xml", bob.port, bob.imsi))
	})
	t.Run("cancel before answer", func(t *testing.T) {
		c.call(t, "uac_cancel.xml", alice, bob.impu(), answer(t, "uas_cancel.xml", bob.port, bob.imsi))
	})

	pcap := c.capture.Stop()
	decodeAs := []string{fmt.Sprintf("tcp.port==%d,diameter", c.hssDiam), fmt.Sprintf("tcp.port==%d,diameter", c.draDiam)}
	for _, p := range []int{c.pcscfSIP, c.icscfSIP, c.scscfSIP} {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,sip", p), fmt.Sprintf("tcp.port==%d,sip", p))
	}
	for _, p := range c.ports {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,sip", p))
	}
	d := testutil.Dissector{DecodeAs: decodeAs}
	d.AssertClean(t, pcap)
	for _, want := range []string{
		fmt.Sprintf(`sip.Method == "REGISTER" && tcp.dstport == %d`, c.icscfSIP),
		fmt.Sprintf(`sip.Method == "REGISTER" && tcp.dstport == %d`, c.scscfSIP),
		fmt.Sprintf(`sip.Method == "NOTIFY" && tcp.dstport == %d`, c.pcscfSIP),
		fmt.Sprintf(`sip.Method == "INVITE" && tcp.dstport == %d`, c.pcscfSIP),
		fmt.Sprintf(`sip.Method == "INVITE" && udp.dstport == %d`, bob.port),
	} {
		if rows := d.Decode(t, pcap, want, "frame.number"); len(rows) == 0 {
			t.Errorf("no %s in the capture", want)
		}
	}
	for _, unwanted := range []string{
		fmt.Sprintf(`sip.Method == "REGISTER" && udp.dstport == %d`, c.icscfSIP),
		fmt.Sprintf(`sip.Method == "NOTIFY" && udp.dstport == %d`, c.pcscfSIP),
	} {
		if rows := d.Decode(t, pcap, unwanted, "frame.number"); len(rows) > 0 {
			t.Errorf("%d frames of %s: the core should be on TCP", len(rows), unwanted)
		}
	}
}

// startProxyAS runs an application server acting as a proxy (TS 24.229 5.7.4) on the proxy core
// of pkg/sip: it removes its own Route entry and forwards the request along the rest, back to
// the S-CSCF's entry with the odi token. Unlike test/sipp/as_proxy.xml (TestCalls) it
// Record-Routes, so it also serves in-dialog requests and any number of calls.
func startProxyAS(t *testing.T) *imssip.Proxy {
	t.Helper()
	return startAS(t, imssip.ForwardHandler(imssip.Forward{RecordRoute: true}))
}

// metricValue reads one counter without labels from a node's /metrics.
func metricValue(t *testing.T, admin, name string) float64 {
	t.Helper()
	_, body, err := httpBody("GET", "http://"+admin+"/metrics", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}
