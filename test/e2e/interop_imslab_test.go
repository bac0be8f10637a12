package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/testutil"
)

// The second demo subscriber of cmd/imslab (demo.go); the first one is akaIMSI with akaK/akaOP.
const (
	demo2IMSI   = "001010000000002"
	demo2MSISDN = "15550002"
	demo2K      = "3c6a9f1e7d2b48c5a1e0f9d37b6c2e84"
	demo2OP     = "78a9f6aaeda13baf07974d4075fe0589"
	// digestPassword is the one test/sipp/register_md5.xml answers with.
	digestPassword = "imscore-digest"
)

// interopNodes are the imslab nodes with SIP; every node also has an admin port.
var interopNodes = []string{"pcscf", "icscf", "scscf", "ussd", "smsip"}

// interopLab is one imslab process on free ports.
type interopLab struct {
	admin              map[string]int // by node, and "hss", "dra"
	sip                map[string]int // by node of interopNodes
	hssDiam, draDiam   int
	hssAPI, scscfAdmin string
}

func newInteropLab(t *testing.T) *interopLab {
	l := &interopLab{admin: map[string]int{}, sip: map[string]int{}, hssDiam: freePort(t), draDiam: freePort(t)}
	for _, n := range append([]string{"hss", "dra"}, interopNodes...) {
		l.admin[n] = freePort(t)
	}
	for _, n := range interopNodes {
		l.sip[n] = freePort(t)
	}
	l.hssAPI = fmt.Sprintf("http://127.0.0.1:%d/api/v1", l.admin["hss"])
	l.scscfAdmin = fmt.Sprintf("127.0.0.1:%d", l.admin["scscf"])
	return l
}

// config is imslab's YAML: the CONTRACT wiring (CSCFs, ussd and smsip -> DRA -> HSS) with only
// the addresses changed.
func (l *interopLab) config() string {
	dra := func(apps string) string {
		return fmt.Sprintf("  diameter: {peers: [{host: dra.%s, realm: %s, addr: '127.0.0.1:%d', apps: [%s]}]}\n",
			homeDomain, homeDomain, l.draDiam, apps)
	}
	var b strings.Builder
	for _, n := range interopNodes {
		fmt.Fprintf(&b, "%s:\n  admin: {listen: '127.0.0.1:%d'}\n  sip: {listen: '127.0.0.1:%d'}\n", n, l.admin[n], l.sip[n])
		switch n {
		case "pcscf":
			b.WriteString(dra(""))
			fmt.Fprintf(&b, "  icscf: 'sip:127.0.0.1:%d'\n", l.sip["icscf"])
		case "icscf":
			b.WriteString(dra("cx"))
			fmt.Fprintf(&b, "  scscfs: [{name: 'sip:127.0.0.1:%d'}]\n", l.sip["scscf"])
		case "scscf":
			b.WriteString(dra("cx"))
			fmt.Fprintf(&b, "  registrar: {server_name: 'sip:127.0.0.1:%d'}\n  icscf: 'sip:127.0.0.1:%d'\n", l.sip["scscf"], l.sip["icscf"])
		default:
			b.WriteString(dra("sh"))
		}
	}
	fmt.Fprintf(&b, "hss:\n  admin: {listen: '127.0.0.1:%d'}\n  api_token: %s\n  diameter: {listen: [{network: tcp, addr: '127.0.0.1:%d'}]}\n",
		l.admin["hss"], apiToken, l.hssDiam)
	fmt.Fprintf(&b, "dra:\n  admin: {listen: '127.0.0.1:%d'}\n  diameter:\n    listen: [{network: tcp, addr: '127.0.0.1:%d'}]\n"+
		"    peers: [{host: hss.%s, realm: %s, addr: '127.0.0.1:%d', apps: [cx, sh, s6a]}]\n",
		l.admin["dra"], l.draDiam, homeDomain, homeDomain, l.hssDiam)
	return b.String()
}

// start runs bin/imslab in a temporary directory and waits until every CSCF reaches the HSS
// through the DRA; the test's cleanup stops it with SIGINT (Ctrl-C) and requires a clean exit.
func (l *interopLab) start(t *testing.T, binDir string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "imslab.yaml")
	if err := os.WriteFile(cfg, []byte(l.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &testutil.Buffer{}
	cmd := exec.Command(filepath.Join(binDir, "imslab"), "-config", cfg)
	cmd.Dir = dir
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("imslab exit after SIGINT: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("imslab: no exit 15 s after SIGINT")
		}
		if t.Failed() || os.Getenv("IMS_TEST_LOG") == "1" {
			t.Logf("imslab log:\n%s", stderr.String())
		}
	})
	// A node's /healthz is 200 once every Diameter peer it dials is OKAY: the DRA's HSS, the
	// CSCFs' DRA. The P-CSCF has no Diameter peer of its own.
	for _, n := range []string{"dra", "pcscf", "icscf", "scscf"} {
		admin := fmt.Sprintf("http://127.0.0.1:%d/healthz", l.admin[n])
		waitFor(t, n+" healthy", func() bool {
			code, _, err := httpBody("GET", admin, "", "")
			return err == nil && code == http.StatusOK
		})
	}
}

// registerAKAInjected registers imsi with AKA from port through scenario
// test/sipp/bench_register_aka.xml, which takes the IMSI and the [authentication] keyword (with
// any keys) from an injection file, and retries when SIPp's RES-0x00 bug left it unregistered.
func (l *interopLab) registerAKAInjected(t *testing.T, port int, pcscf, imsi, k, op string) {
	t.Helper()
	inf := filepath.Join(t.TempDir(), "users.csv")
	line := fmt.Sprintf("SEQUENTIAL\n%s;[authentication username=%s@%s aka_K=0x%s aka_OP=0x%s aka_AMF=0x8000]\n",
		imsi, imsi, homeDomain, k, op)
	if err := os.WriteFile(inf, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	impu := "sip:" + imsi + "@" + homeDomain
	for range 3 {
		if err := sipp(t, "bench_register_aka.xml", port, pcscf, "-inf", inf); err != nil {
			t.Fatal(err)
		}
		if _, ok := registration(t, l.scscfAdmin, impu); ok {
			return
		}
		t.Logf("retrying the registration of %s (SIPp's RES-0x00 bug)", imsi)
	}
	t.Fatalf("%s not registered", imsi)
}

// TestInteropImslab is the interop suite against imslab (issue 7): the SIPp scenarios shipped in
// test/sipp register both demo subscribers with IMS AKA, place a call and send a MESSAGE from
// one to the other, then register a digest subscriber provisioned over REST, all through the
// P-CSCF; tshark captures SIP and Diameter on lo, must name every SIP method and Cx command
// (TS 29.229 6.1: UAR, MAR, SAR, LIR) and find no malformed packet and no expert warning. With
// IMS_ARTIFACTS set the pcap is kept there (testutil.Capture.Stop).
func TestInteropImslab(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	binDir := build(t, binaries())
	l := newInteropLab(t)
	alice := sippUE{imsi: akaIMSI, msisdn: "15550001", port: freePort(t)}
	bob := sippUE{imsi: demo2IMSI, msisdn: demo2MSISDN, port: freePort(t)}
	digestPort := freePort(t)

	sipPorts := []int{alice.port, bob.port, digestPort}
	for _, n := range interopNodes {
		sipPorts = append(sipPorts, l.sip[n])
	}
	filter := []string{"port " + strconv.Itoa(l.hssDiam), "port " + strconv.Itoa(l.draDiam)}
	for _, p := range sipPorts {
		filter = append(filter, "port "+strconv.Itoa(p))
	}
	capture := testutil.StartCapture(t, "lo", strings.Join(filter, " or "))
	l.start(t, binDir)
	c := &chain{pcscf: "127.0.0.1:" + strconv.Itoa(l.sip["pcscf"])}

	t.Run("register AKA demo subscriber 1", func(t *testing.T) {
		sippAKA(t, "register_aka.xml", alice.port, c.pcscf)
		if _, ok := registration(t, l.scscfAdmin, alice.impu()); !ok {
			t.Fatal("not registered")
		}
	})
	t.Run("register AKA demo subscriber 2", func(t *testing.T) {
		l.registerAKAInjected(t, bob.port, c.pcscf, bob.imsi, demo2K, demo2OP)
	})
	t.Run("call", func(t *testing.T) {
		c.call(t, "uac_call.xml", alice, bob.impu(), answer(t, "uas_call.xml", bob.port, bob.imsi))
	})
	t.Run("MESSAGE", func(t *testing.T) {
		c.call(t, "uac_message.xml", alice, bob.impu(), answer(t, "uas_message.xml", bob.port, bob.imsi))
	})
	t.Run("register digest", func(t *testing.T) {
		// register_md5.xml is the subscriber 001010000000002: the operator turns the demo
		// subscriber into a digest one over REST.
		body := subscriberJSON(demo2IMSI, demo2MSISDN, fmt.Sprintf(`{"algorithm":"digest","password":%q}`, digestPassword))
		if code, out, err := httpBody("PUT", l.hssAPI+"/subscribers/"+demo2IMSI, apiToken, body); err != nil || code != http.StatusOK {
			t.Fatalf("PUT digest subscriber: %d %s %v", code, out, err)
		}
		if err := sipp(t, "register_md5.xml", digestPort, c.pcscf); err != nil {
			t.Fatal(err)
		}
		// Its AKA contact (bob.port) may still be there: the digest one must be there too.
		reg, _ := registration(t, l.scscfAdmin, "sip:"+demo2IMSI+"@"+homeDomain)
		if !slices.ContainsFunc(reg.Contacts, func(c struct {
			URI string `json:"uri"`
		}) bool {
			return strings.HasSuffix(c.URI, ":"+strconv.Itoa(digestPort))
		}) {
			t.Fatalf("no contact from port %d after the digest registration: %+v", digestPort, reg.Contacts)
		}
	})

	pcap := capture.Stop()
	decodeAs := []string{fmt.Sprintf("tcp.port==%d,diameter", l.hssDiam), fmt.Sprintf("tcp.port==%d,diameter", l.draDiam)}
	for _, p := range sipPorts {
		decodeAs = append(decodeAs, fmt.Sprintf("udp.port==%d,sip", p), fmt.Sprintf("tcp.port==%d,sip", p))
	}
	d := testutil.Dissector{DecodeAs: decodeAs}
	// The nodes start together and retry their Diameter peers (cmd/imslab), so a dial before the
	// DRA listens is refused: RST+ACK answering a SYN.
	d.AssertClean(t, pcap, testutil.ExcludeFilter("tcp.flags.reset == 1 && tcp.flags.ack == 1 && tcp.seq_raw == 0 && tcp.len == 0"))
	// The SIP methods, and the Cx commands (TS 29.229 6.1) request and answer, by their names.
	d.RequireNamed(t, pcap, []string{"REGISTER", "INVITE", "ACK", "BYE", "MESSAGE"}, testutil.CxCommands)
}
