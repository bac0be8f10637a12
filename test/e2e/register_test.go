package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/testutil"
)

// The subscribers of the SIPp scenarios in test/sipp.
const (
	homeDomain = "ims.mnc001.mcc001.3gppnetwork.org"
	akaIMSI    = "001010000000001"
	akaIMPU    = "sip:" + akaIMSI + "@" + homeDomain
	akaK       = "8baf473f2f8fd09487cccbd7097c6862" // no 0x00 or 0x5b byte: SIPp mishandles them
	akaOP      = "e734f8734007d6c5ce7a0508809e7e9c"
	md5IMSI    = "001010000000002"
	apiToken   = "e2e-token"
)

// process is one node binary running with a config written to its own directory.
type process struct {
	t      *testing.T
	name   string
	bin    string
	dir    string
	cmd    *exec.Cmd
	stderr *testutil.Buffer
	exited chan error
}

// startProcess writes config to dir/<name>.yaml and starts the binary in dir (its ./data).
func startProcess(t *testing.T, binDir, name, dir, config string) *process {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, name: name, bin: filepath.Join(binDir, name), dir: dir}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *process) start() {
	p.t.Helper()
	p.stderr = &testutil.Buffer{}
	p.cmd = exec.Command(p.bin, "-config", filepath.Join(p.dir, p.name+".yaml"))
	p.cmd.Dir = p.dir
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.cmd.Wait() }()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("%s exit after SIGTERM: %v\n%s", p.name, err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("%s: no exit 15 s after SIGTERM", p.name)
	}
	if os.Getenv("IMS_TEST_LOG") == "1" {
		p.t.Logf("%s log:\n%s", p.name, p.stderr.String())
	}
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP, not handed out before. It is
// picked below Linux's ephemeral range (32768-60999): the port is free until a node binds it, and
// in that time another process's outgoing connection could take an ephemeral one as its source
// port and show up in the test's capture, which filters by port (seen in CI: a SYN and RST of
// another package's test failed a capture).
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 500 {
		port := 20000 + mathrand.IntN(12000)
		if portsGiven[port] {
			continue
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			portsGiven[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpBody(method, url, token, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// sipp runs one scenario of test/sipp from localPort to target (none for a scenario that
// only answers) with extra options (-key name value) and returns nil when SIPp reports
// success, else its error log.
func sipp(t *testing.T, scenario string, localPort int, target string, extra ...string) error {
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("..", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := append([]string{"-sf", sf, "-m", "1", "-t", "u1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(localPort), "-timeout", "20s", "-timeout_error", "-trace_err", "-nostdin"}, extra...)
	if target != "" {
		args = append(args, target)
	}
	cmd := exec.Command(testutil.NeedTool(t, "sipp"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b.Write(data)
	}
	if b.Len() == 0 {
		b.Write(out)
	}
	return fmt.Errorf("sipp %s: %v\n%s", scenario, err, b.String())
}

// sippAKA runs an AKA scenario that must succeed, again when it fails: SIPp computes a wrong
// response when RES holds a 0x00 byte (about 3% of vectors).
func sippAKA(t *testing.T, scenario string, localPort int, target string, extra ...string) {
	t.Helper()
	var err error
	for range 3 {
		if err = sipp(t, scenario, localPort, target, extra...); err == nil {
			return
		}
		t.Logf("retrying %s: %v", scenario, err)
	}
	t.Fatal(err)
}

type registrationView struct {
	IMPU     string   `json:"impu"`
	Implicit []string `json:"implicit"`
	Contacts []struct {
		URI string `json:"uri"`
	} `json:"contacts"`
}

// registration reads the S-CSCF's admin API; ok is false when impu is not registered.
func registration(t *testing.T, admin, impu string) (registrationView, bool) {
	t.Helper()
	code, body, err := httpBody("GET", "http://"+admin+"/api/v1/registrations?impu="+url.QueryEscape(impu), "", "")
	if err != nil {
		t.Fatal(err)
	}
	var v registrationView
	switch code {
	case http.StatusOK:
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v, true
	case http.StatusNotFound:
		return v, false
	}
	t.Fatalf("GET registration: %d %s", code, body)
	return v, false
}

func subscriberJSON(imsi, msisdn, auth string) string {
	return fmt.Sprintf(`{"imsi":%q,"msisdn":%q,"auth":%s,"ims":{"impi":"%s@%s","impus":["sip:%s@%s","tel:+%s"]}}`,
		imsi, msisdn, auth, imsi, homeDomain, imsi, homeDomain, msisdn)
}

// TestRegistration registers with SIPp through the real HSS and S-CSCF binaries: AKA and MD5
// digest, re-registration, a restart of the S-CSCF that keeps the registration,
// de-registration, an unknown user, a wrong password and an HSS deregistration (RTR); tshark must decode the SIP and Diameter
// flow without a malformed packet or expert warning.
//
// The S-CSCF talks to the HSS directly (its diameter.peers name the HSS) and SIPp to the
// S-CSCF: the DRA, I-CSCF and P-CSCF are left out until they relay.
func TestRegistration(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	binDir := build(t, binaries())
	var (
		hssAdmin   = "127.0.0.1:" + strconv.Itoa(freePort(t))
		hssDiam    = freePort(t)
		scscfAdmin = "127.0.0.1:" + strconv.Itoa(freePort(t))
		scscfSIP   = freePort(t)
		uePort     = freePort(t)
	)
	capture := testutil.StartCapture(t, "lo", fmt.Sprintf("port %d or port %d or port %d", hssDiam, scscfSIP, uePort))

	hssDir, scscfDir := t.TempDir(), t.TempDir()
	startProcess(t, binDir, "hss", hssDir, fmt.Sprintf(`admin: {listen: %q}
log: {level: debug}
diameter:
  listen: [{network: tcp, addr: "127.0.0.1:%d"}]
api_token: %s
`, hssAdmin, hssDiam, apiToken))
	// The S-CSCF starts once the HSS serves, so that its first CER meets no refused connection
	// (a TCP reset in the capture).
	waitFor(t, "the HSS", func() bool {
		c, err := net.DialTimeout("tcp", hssAdmin, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	scscfCfg := fmt.Sprintf(`admin: {listen: %q}
log: {level: debug}
sip: {listen: "127.0.0.1:%d"}
diameter:
  peers:
    - {host: hss.%s, realm: %s, network: tcp, addr: "127.0.0.1:%d", apps: [cx]}
registrar: {server_name: "sip:127.0.0.1:%d"}
`, scscfAdmin, scscfSIP, homeDomain, homeDomain, hssDiam, scscfSIP)
	scscf := startProcess(t, binDir, "scscf", scscfDir, scscfCfg)
	connected := func() bool {
		_, body, err := httpBody("GET", "http://"+scscfAdmin+"/healthz", "", "")
		return err == nil && strings.Contains(body, "OKAY")
	}
	waitFor(t, "the S-CSCF's Diameter connection to the HSS", connected)

	api := "http://" + hssAdmin + "/api/v1/subscribers"
	akaAuth := fmt.Sprintf(`{"k":%q,"op":%q,"amf":"8000","sqn":0}`, akaK, akaOP)
	for _, body := range []string{
		subscriberJSON(akaIMSI, "15550001", akaAuth),
		subscriberJSON(md5IMSI, "15550002", `{"algorithm":"digest","password":"imscore-digest"}`),
	} {
		if code, out, err := httpBody("POST", api, apiToken, body); err != nil || code != http.StatusCreated {
			t.Fatalf("provision: %d %s %v", code, out, err)
		}
	}
	target := "127.0.0.1:" + strconv.Itoa(scscfSIP)

	t.Run("AKA register and re-register", func(t *testing.T) {
		sippAKA(t, "register_aka.xml", uePort, target)
		reg, ok := registration(t, scscfAdmin, "tel:+15550001")
		if !ok || reg.IMPU != akaIMPU || len(reg.Contacts) != 1 || !strings.Contains(reg.Contacts[0].URI, strconv.Itoa(uePort)) {
			t.Fatalf("registration %+v (%t)", reg, ok)
		}
	})
	t.Run("restart keeps the registration", func(t *testing.T) {
		scscf.stop()
		scscf.start()
		waitFor(t, "the restarted S-CSCF", connected)
		if reg, ok := registration(t, scscfAdmin, akaIMPU); !ok || len(reg.Contacts) != 1 {
			t.Fatalf("after restart: %+v (%t)", reg, ok)
		}
	})
	t.Run("AKA de-register", func(t *testing.T) {
		sippAKA(t, "deregister_aka.xml", uePort, target)
		if reg, ok := registration(t, scscfAdmin, akaIMPU); ok {
			t.Fatalf("still registered: %+v", reg)
		}
	})
	t.Run("MD5 digest register", func(t *testing.T) {
		if err := sipp(t, "register_md5.xml", freePort(t), target); err != nil {
			t.Fatal(err)
		}
		if _, ok := registration(t, scscfAdmin, "sip:"+md5IMSI+"@"+homeDomain); !ok {
			t.Fatal("digest subscriber not registered")
		}
	})
	t.Run("unknown user gets 403", func(t *testing.T) {
		if err := sipp(t, "register_unknown.xml", freePort(t), target); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password gets a new challenge then 403", func(t *testing.T) {
		changed := subscriberJSON(md5IMSI, "15550002", `{"algorithm":"digest","password":"changed-by-the-operator"}`)
		if code, out, err := httpBody("PUT", api+"/"+md5IMSI, apiToken, changed); err != nil || code != http.StatusOK {
			t.Fatalf("change password: %d %s %v", code, out, err)
		}
		if err := sipp(t, "register_md5_reject.xml", freePort(t), target); err != nil {
			t.Fatal(err)
		}
		// The earlier registration stays; the refused REGISTER added no binding.
		if reg, ok := registration(t, scscfAdmin, "sip:"+md5IMSI+"@"+homeDomain); !ok || len(reg.Contacts) != 1 {
			t.Fatalf("after refused registration: %+v (%t)", reg, ok)
		}
	})

	t.Run("HSS deregistration reaches the S-CSCF", func(t *testing.T) {
		if code, out, err := httpBody("POST", api+"/"+md5IMSI+"/deregister", apiToken, ""); err != nil || code/100 != 2 {
			t.Fatalf("deregister: %d %s %v", code, out, err)
		}
		if reg, ok := registration(t, scscfAdmin, "sip:"+md5IMSI+"@"+homeDomain); ok {
			t.Fatalf("still registered after RTR: %+v", reg)
		}
	})

	pcap := capture.Stop()
	d := testutil.Dissector{DecodeAs: []string{
		fmt.Sprintf("udp.port==%d,sip", scscfSIP),
		fmt.Sprintf("tcp.port==%d,diameter", hssDiam),
	}}
	d.AssertClean(t, pcap)
	for _, want := range []string{"cmd.code == 303", "cmd.code == 301", "cmd.code == 304"} {
		if rows := d.Decode(t, pcap, "diameter."+want, "frame.number"); len(rows) == 0 {
			t.Errorf("no Diameter %s in the capture", want)
		}
	}
	if rows := d.Decode(t, pcap, `sip.Status-Code == 200 && sip.Service-Route`, "frame.number"); len(rows) == 0 {
		t.Error("no 200 OK with Service-Route in the capture")
	}
}

// TestRegistrationThroughTheChain registers with SIPp through every node on its way, as a phone
// does: SIPp → P-CSCF → I-CSCF (UAR) → S-CSCF (MAR, SAR), Diameter through the DRA to the HSS.
// The P-CSCF subscribes to the reg event at the S-CSCF; an HSS deregistration (REST → RTR
// through the DRA) ends the registration.
func TestRegistrationThroughTheChain(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	binDir := build(t, binaries())
	port := func() int { return freePort(t) }
	var (
		hssAdmin, hssDiam    = "127.0.0.1:" + strconv.Itoa(port()), port()
		draAdmin, draDiam    = "127.0.0.1:" + strconv.Itoa(port()), port()
		scscfAdmin, scscfSIP = "127.0.0.1:" + strconv.Itoa(port()), port()
		icscfAdmin, icscfSIP = "127.0.0.1:" + strconv.Itoa(port()), port()
		pcscfAdmin, pcscfSIP = "127.0.0.1:" + strconv.Itoa(port()), port()
		uePort               = port()
		draPeer              = fmt.Sprintf(`{host: dra.%s, realm: %s, network: tcp, addr: "127.0.0.1:%d", apps: [cx]}`, homeDomain, homeDomain, draDiam)
	)
	capture := testutil.StartCapture(t, "lo", fmt.Sprintf("port %d or port %d or port %d or port %d or port %d or port %d",
		hssDiam, draDiam, scscfSIP, icscfSIP, pcscfSIP, uePort))

	startProcess(t, binDir, "hss", t.TempDir(), fmt.Sprintf(`admin: {listen: %q}
diameter:
  listen: [{network: tcp, addr: "127.0.0.1:%d"}]
api_token: %s
`, hssAdmin, hssDiam, apiToken))
	waitFor(t, "the HSS", serving(hssAdmin))
	startProcess(t, binDir, "dra", t.TempDir(), fmt.Sprintf(`admin: {listen: %q}
diameter:
  listen: [{network: tcp, addr: "127.0.0.1:%d"}]
  peers:
    - {host: hss.%s, realm: %s, network: tcp, addr: "127.0.0.1:%d", apps: [cx]}
routes:
  - {realm: %s, peers: [{host: hss.%s}]}
`, draAdmin, draDiam, homeDomain, homeDomain, hssDiam, homeDomain, homeDomain))
	waitFor(t, "the DRA's connection to the HSS", okay(draAdmin))
	startProcess(t, binDir, "scscf", t.TempDir(), fmt.Sprintf(`admin: {listen: %q}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
registrar: {server_name: "sip:127.0.0.1:%d"}
`, scscfAdmin, scscfSIP, draPeer, scscfSIP))
	startProcess(t, binDir, "icscf", t.TempDir(), fmt.Sprintf(`admin: {listen: %q}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
scscfs: [{name: "sip:127.0.0.1:%d"}]
`, icscfAdmin, icscfSIP, draPeer, scscfSIP))
	startProcess(t, binDir, "pcscf", t.TempDir(), fmt.Sprintf(`admin: {listen: %q}
sip: {listen: "127.0.0.1:%d"}
diameter: {peers: [%s]}
icscf: "sip:127.0.0.1:%d"
`, pcscfAdmin, pcscfSIP, draPeer, icscfSIP))
	for _, admin := range []string{scscfAdmin, icscfAdmin} {
		waitFor(t, admin+"'s connection to the DRA", okay(admin))
	}
	waitFor(t, "the P-CSCF", serving(pcscfAdmin))

	api := "http://" + hssAdmin + "/api/v1/subscribers"
	for _, body := range []string{
		subscriberJSON(akaIMSI, "15550001", fmt.Sprintf(`{"k":%q,"op":%q,"amf":"8000","sqn":0}`, akaK, akaOP)),
		subscriberJSON(md5IMSI, "15550002", `{"algorithm":"digest","password":"imscore-digest"}`),
	} {
		if code, out, err := httpBody("POST", api, apiToken, body); err != nil || code != http.StatusCreated {
			t.Fatalf("provision: %d %s %v", code, out, err)
		}
	}
	target := "127.0.0.1:" + strconv.Itoa(pcscfSIP)

	t.Run("AKA register and re-register", func(t *testing.T) {
		sippAKA(t, "register_aka.xml", uePort, target)
		reg, ok := registration(t, scscfAdmin, akaIMPU)
		if !ok || len(reg.Contacts) != 1 {
			t.Fatalf("registration %+v (%t)", reg, ok)
		}
	})
	t.Run("MD5 digest register", func(t *testing.T) {
		if err := sipp(t, "register_md5.xml", freePort(t), target); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown user gets 403", func(t *testing.T) {
		if err := sipp(t, "register_unknown.xml", freePort(t), target); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AKA de-register", func(t *testing.T) {
		sippAKA(t, "deregister_aka.xml", uePort, target)
		if reg, ok := registration(t, scscfAdmin, akaIMPU); ok {
			t.Fatalf("still registered: %+v", reg)
		}
	})
	t.Run("HSS deregistration through the DRA", func(t *testing.T) {
		if code, out, err := httpBody("POST", api+"/"+md5IMSI+"/deregister", apiToken, ""); err != nil || code/100 != 2 {
			t.Fatalf("deregister: %d %s %v", code, out, err)
		}
		if reg, ok := registration(t, scscfAdmin, "sip:"+md5IMSI+"@"+homeDomain); ok {
			t.Fatalf("still registered after RTR: %+v", reg)
		}
	})

	pcap := capture.Stop()
	d := testutil.Dissector{DecodeAs: []string{
		fmt.Sprintf("udp.port==%d,sip", pcscfSIP), fmt.Sprintf("udp.port==%d,sip", icscfSIP),
		fmt.Sprintf("udp.port==%d,sip", scscfSIP), fmt.Sprintf("udp.port==%d,sip", uePort),
		fmt.Sprintf("tcp.port==%d,diameter", hssDiam), fmt.Sprintf("tcp.port==%d,diameter", draDiam),
	}}
	d.AssertClean(t, pcap)
	for _, want := range []string{"diameter.cmd.code == 300", "diameter.cmd.code == 303", "diameter.cmd.code == 301",
		"diameter.cmd.code == 304", `sip.Method == "SUBSCRIBE"`, `sip.Method == "NOTIFY"`} {
		if rows := d.Decode(t, pcap, want, "frame.number"); len(rows) == 0 {
			t.Errorf("no %s in the capture", want)
		}
	}
}

// serving reports whether something accepts TCP connections at addr (a node's admin server).
func serving(addr string) func() bool {
	return func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}

// okay reports whether the /healthz of the admin server at admin lists a Diameter peer OKAY.
func okay(admin string) func() bool {
	return func() bool {
		_, body, err := httpBody("GET", "http://"+admin+"/healthz", "", "")
		return err == nil && strings.Contains(body, "OKAY")
	}
}
