package compose

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/testutil"
)

// The lab's services and the API token of deploy/hss.yaml.
var services = []string{"hss", "dra", "icscf", "scscf", "pcscf", "ussd", "smsip"}

const apiToken = "compose-admin"

// The home domain of deploy/, and the subscriber of the SIPp scenarios in test/sipp and a
// second one with the same keys (test/sipp/register_aka_user.xml).
const (
	homeDomain = "ims.mnc001.mcc001.3gppnetwork.org"
	akaIMSI    = "001010000000001"
	akaIMPU    = "sip:" + akaIMSI + "@" + homeDomain
	bobIMSI    = "001010000000012"
	digestIMSI = "001010000000002" // the user of test/sipp/register_md5.xml
)

// healthyTimeout bounds the wait for every container to be healthy after up or start.
const healthyTimeout = 3 * time.Minute

// composeCommand is `docker compose` when the plugin is there, else docker-compose (1.29 is
// enough). The test skips without either or without a reachable daemon, or fails when
// IMS_REQUIRE_TOOLS=1.
func composeCommand(t *testing.T) []string {
	t.Helper()
	docker := testutil.NeedTool(t, "docker")
	if out, err := exec.Command(docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		if os.Getenv(testutil.RequireToolsEnv) == "1" {
			t.Fatalf("docker daemon not reachable: %v\n%s", err, out)
		}
		t.Skipf("docker daemon not reachable: %v", err)
	}
	if exec.Command(docker, "compose", "version").Run() == nil {
		return []string{docker, "compose"}
	}
	return []string{testutil.NeedTool(t, "docker-compose")}
}

// lab is one compose project of the repository's docker-compose.yml, under a unique project name
// with its own published ports, so that it runs beside a user's lab and imslab (but not beside
// another lab: the network's subnet is fixed).
type lab struct {
	t         *testing.T
	compose   []string
	project   string
	env       []string
	apiPort   int
	sipPort   int
	scscfPort int
}

func newLab(t *testing.T, compose []string) *lab {
	b := make([]byte, 4)
	rand.Read(b)
	l := &lab{t: t, compose: compose, project: "imstest" + hex.EncodeToString(b),
		apiPort: freePort(t), sipPort: freePort(t), scscfPort: freePort(t)}
	l.env = append(os.Environ(), "IMS_HSS_API_PORT="+strconv.Itoa(l.apiPort),
		"IMS_PCSCF_SIP_PORT="+strconv.Itoa(l.sipPort), "IMS_SCSCF_ADMIN_PORT="+strconv.Itoa(l.scscfPort),
		"IMS_MEM_LIMIT=") // the compose file's default, whatever the user's environment says
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := l.output("logs", "--no-color", "--tail", "60")
			t.Logf("compose logs:\n%s", out)
		}
		if out, err := l.output("down", "-v", "--remove-orphans"); err != nil {
			t.Errorf("down -v: %v\n%s", err, out)
		}
	})
	return l
}

// freePort returns a port free on 127.0.0.1 for both TCP and UDP (the P-CSCF publishes both).
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free on both TCP and UDP")
	return 0
}

// output runs a compose subcommand of this project in the repository root.
func (l *lab) output(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append(append([]string{}, l.compose[1:]...), append([]string{"-p", l.project}, args...)...)
	cmd := exec.CommandContext(ctx, l.compose[0], full...)
	cmd.Dir = root
	cmd.Env = l.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// run runs a compose subcommand and fails the test when it fails.
func (l *lab) run(args ...string) string {
	l.t.Helper()
	out, err := l.output(args...)
	if err != nil {
		hint := ""
		if strings.Contains(out, "overlap") {
			hint = "\n(another compose lab holds 172.22.0.0/24: stop it with `docker compose down` first)"
		}
		l.t.Fatalf("compose %s: %v\n%s%s", strings.Join(args, " "), err, out, hint)
	}
	return out
}

// labMemLimit is the compose file's default mem_limit (IMS_MEM_LIMIT empty), 1g.
const labMemLimit = 1 << 30

// requireMemoryLimit checks that every node took 90% of its container's memory limit as its
// soft heap limit (pkg/cli tuneGC): its starting log line says so.
func (l *lab) requireMemoryLimit() {
	l.t.Helper()
	want := fmt.Sprintf("gomemlimit=%d", labMemLimit*9/10)
	for _, svc := range services {
		logs := l.run("logs", "--no-color", svc)
		if !strings.Contains(logs, want) {
			l.t.Errorf("%s: no %q in its log (mem_limit 1g):\n%s", svc, want, logs)
		}
	}
}

// waitHealthy waits until every service's container reports healthy (the node's -healthcheck).
func (l *lab) waitHealthy() {
	l.t.Helper()
	deadline := time.Now().Add(healthyTimeout)
	for _, svc := range services {
		for {
			id := strings.TrimSpace(l.run("ps", "-q", svc))
			status := "no container"
			if id != "" {
				out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}}/{{.State.Health.Status}}", id).CombinedOutput()
				status = strings.TrimSpace(string(out))
				if err != nil {
					status += " " + err.Error()
				}
			}
			if status == "running/healthy" {
				break
			}
			if time.Now().After(deadline) {
				l.t.Fatalf("%s not healthy after %s: %s", svc, healthyTimeout, status)
			}
			time.Sleep(time.Second)
		}
	}
}

// waitPeers waits until each service's last healthcheck shows all its Diameter peers OKAY: a
// healthy container may still be reconnecting to a peer that restarted (the DRA to the HSS),
// and a REGISTER then gets 480 (UAA 3002 from the DRA).
func (l *lab) waitPeers(svcs ...string) {
	l.t.Helper()
	deadline := time.Now().Add(healthyTimeout)
	for _, svc := range svcs {
		for {
			id := strings.TrimSpace(l.run("ps", "-q", svc))
			out, _ := exec.Command("docker", "inspect", "-f", "{{json .State.Health.Log}}", id).Output()
			state := peersState(out)
			if state == "" {
				break
			}
			if time.Now().After(deadline) {
				l.t.Fatalf("%s Diameter peers not all OKAY after %s: %s", svc, healthyTimeout, state)
			}
			time.Sleep(time.Second)
		}
	}
}

// peersState reads the last -healthcheck output of a container (its /healthz body after the
// status line) and returns "" when it lists Diameter peers, all OKAY, else what it saw.
func peersState(healthLog []byte) string {
	var log []struct{ Output string }
	if err := json.Unmarshal(healthLog, &log); err != nil || len(log) == 0 {
		return "no healthcheck yet"
	}
	last := log[len(log)-1].Output
	_, body, _ := strings.Cut(last, " {")
	var h struct {
		Checks struct {
			Diameter struct {
				Detail []struct{ Host, State string }
			}
		}
	}
	if err := json.Unmarshal([]byte("{"+body), &h); err != nil {
		return "unreadable: " + last
	}
	peers := h.Checks.Diameter.Detail
	if len(peers) == 0 {
		return "no peers: " + last
	}
	for _, p := range peers {
		if p.State != "OKAY" {
			return p.Host + " " + p.State
		}
	}
	return ""
}

// api calls a REST API (the HSS's or the S-CSCF's admin) through its port published on 127.0.0.1.
func (l *lab) api(port int, method, path, body string) (int, string) {
	l.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/v1%s", port, path)
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	// Right after a start the published port may accept before the HSS does: retry briefly.
	var lastErr error
	for range 30 {
		res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			lastErr = err
			time.Sleep(time.Second)
			req.Body = io.NopCloser(strings.NewReader(body))
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	l.t.Fatalf("%s %s: %v", method, url, lastErr)
	return 0, ""
}

// requireSubscriber fails unless the HSS holds the subscriber, checked through the API.
func (l *lab) requireSubscriber(imsi, when string) {
	l.t.Helper()
	code, body := l.api(l.apiPort, http.MethodGet, "/subscribers/"+imsi, "")
	if code != http.StatusOK || !strings.Contains(body, `"impi":"`+imsi+`@`) {
		l.t.Fatalf("%s: GET /subscribers/%s = %d %s", when, imsi, code, body)
	}
}

// ue is a SIPp UE on the host: it registers, calls and answers from its port on 127.0.0.1,
// which is its flow at the P-CSCF (reached through the published port, so the P-CSCF sees the
// docker gateway's address and port of that flow, and answers and sends there).
type ue struct {
	imsi string
	port int
}

func (u ue) impu() string { return "sip:" + u.imsi + "@" + homeDomain }

// sipp runs a scenario of test/sipp as one call from 127.0.0.1:port (UDP), against target
// unless it is "" (an answering scenario), and returns its error with SIPp's error log.
func (l *lab) sipp(sipp, scenario string, port int, target string, extra ...string) error {
	sf, err := filepath.Abs(filepath.Join(root, "test", "sipp", scenario))
	if err != nil {
		return err
	}
	args := append([]string{"-sf", sf, "-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-timeout", "20s", "-timeout_error", "-trace_err", "-nostdin"}, extra...)
	if target != "" {
		args = append(args, target)
	}
	cmd := exec.Command(sipp, args...)
	cmd.Dir = l.t.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	logs, _ := filepath.Glob(filepath.Join(cmd.Dir, "*_errors.log"))
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		out = append(out, b...)
	}
	return fmt.Errorf("sipp %s: %v\n%s", scenario, err, out)
}

// pcscf is the P-CSCF's SIP port published on 127.0.0.1.
func (l *lab) pcscf() string { return fmt.Sprintf("127.0.0.1:%d", l.sipPort) }

// register registers u with IMS AKA through the P-CSCF's published port, with
// test/sipp/register_aka.xml (akaIMSI, then a re-registration) or register_aka_user.xml (any
// IMSI with the scenario keys). SIPp answers wrongly when RES holds a 0x00 byte (a random RAND
// makes that happen now and then): a failure is retried.
func (l *lab) register(sipp string, u ue, when string) {
	l.t.Helper()
	scenario, extra := "register_aka.xml", []string(nil)
	if u.imsi != akaIMSI {
		scenario, extra = "register_aka_user.xml", []string{"-key", "imsi", u.imsi, "-au", u.imsi + "@" + homeDomain}
	}
	var err error
	for range 3 {
		if err = l.sipp(sipp, scenario, u.port, l.pcscf(), extra...); err == nil {
			return
		}
		l.t.Logf("%s: SIPp registration failed, retrying: %v", when, err)
		time.Sleep(2 * time.Second)
	}
	l.t.Fatalf("%s: SIPp registration of %s through the P-CSCF failed: %v", when, u.imsi, err)
}

// requireRegistered fails unless the S-CSCF holds a registration of impu.
func (l *lab) requireRegistered(impu, when string) {
	l.t.Helper()
	code, body := l.api(l.scscfPort, http.MethodGet, "/registrations?impu="+url.QueryEscape(impu), "")
	if code != http.StatusOK {
		l.t.Fatalf("%s: the S-CSCF has no registration of %s: %d %s", when, impu, code, body)
	}
}

// call runs the caller's scenario (uac_cancel.xml, uac_message.xml, uac_call.xml) from a to b
// through the P-CSCF while b answers with its scenario from its registered flow: the requests
// towards b, initial and in the dialog, must come back from the P-CSCF through the published
// port to the UE on the host.
func (l *lab) call(sipp, uac, uas string, a, b ue) {
	l.t.Helper()
	answered := make(chan error, 1)
	go func() { answered <- l.sipp(sipp, uas, b.port, "", "-key", "imsi", b.imsi) }()
	// SIPp binds its port within a few milliseconds; the caller's request must find it. The
	// port is looked up, not bound: a probe socket would make SIPp's bind fail (EADDRINUSE).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !testutil.UDPBound(b.port); {
		time.Sleep(20 * time.Millisecond)
	}
	err := l.sipp(sipp, uac, a.port, l.pcscf(), "-key", "imsi", a.imsi, "-key", "caller", a.impu(), "-key", "callee", b.impu())
	var aerr error
	select {
	case aerr = <-answered:
	case <-time.After(30 * time.Second):
		aerr = fmt.Errorf("%s did not finish", uas)
	}
	if err != nil || aerr != nil {
		l.t.Fatalf("%s from %s to %s:\ncaller: %v\nanswering side: %v", uac, a.imsi, b.imsi, err, aerr)
	}
}

// captureBridge starts tshark on the lab network's bridge (br- and the first 12 characters of
// the network ID), for SIP and Diameter on their standard ports (5060 and 3868 in deploy/).
func (l *lab) captureBridge() *testutil.Capture {
	l.t.Helper()
	out, err := exec.Command("docker", "network", "inspect", l.project+"_ims", "-f", "{{.Id}}").CombinedOutput()
	id := strings.TrimSpace(string(out))
	if err != nil || len(id) < 12 {
		l.t.Fatalf("docker network inspect %s_ims: %v\n%s", l.project, err, out)
	}
	return testutil.StartCapture(l.t, "br-"+id[:12], "port 5060 or port 3868")
}

// buildImages runs `make build images`, so that the lab runs the code under test.
func buildImages(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "build", "images")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("make build images: %v\n%s", err, out.String())
	}
}

// TestComposeOverrideConfig validates the PostgreSQL override the way a user runs it (no
// PostgreSQL image can be pulled here, so it is not started).
func TestComposeOverrideConfig(t *testing.T) {
	compose := composeCommand(t)
	for _, files := range [][]string{
		{"docker-compose.yml"},
		{"docker-compose.yml", "deploy/postgres.yml"},
	} {
		args := append([]string{}, compose[1:]...)
		for _, f := range files {
			args = append(args, "-f", f)
		}
		cmd := exec.Command(compose[0], append(args, "config")...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s config: %v\n%s", strings.Join(files, " + "), err, out)
		}
		if len(files) > 1 && (!strings.Contains(string(out), "hss-postgres.yaml:/etc/imscore/node.yaml") ||
			strings.Contains(string(out), "deploy/hss.yaml:/etc/imscore/node.yaml")) {
			t.Errorf("the override does not replace the HSS config:\n%s", out)
		}
	}
}

// TestComposeLab brings the lab up from freshly built images, provisions two subscribers through
// the published REST port, registers both with SIPp through the published P-CSCF port, has the
// first call the second and cancel, send it a MESSAGE, then call it again for an answered call
// with hold, resume and BYE (every request towards a UE reaches it on the host through the
// published port), with tshark on the lab's bridge (see requireNamed), and shows
// that the subscriber and the registration survive a stop/start of the hss and scscf
// containers and a `down` (without -v) and `up` (the named volumes keep the data), and that a
// UE registers again after each. With IMS_ARTIFACTS set the pcap is kept there.
func TestComposeLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and runs the compose lab")
	}
	compose := composeCommand(t)
	buildImages(t)
	l := newLab(t, compose)
	l.run("up", "-d")
	l.waitHealthy()
	l.waitPeers("dra", "icscf", "scscf")
	l.requireMemoryLimit()

	// The subscribers of the SIPp scenarios in test/sipp (their keys, AMF and identities).
	for i, imsi := range []string{akaIMSI, bobIMSI} {
		msisdn := fmt.Sprintf("1555%04d", i+1)
		sub := `{"imsi":"` + imsi + `","msisdn":"` + msisdn + `",
		"auth":{"k":"8baf473f2f8fd09487cccbd7097c6862","op":"e734f8734007d6c5ce7a0508809e7e9c","amf":"8000"},
		"ims":{"impi":"` + imsi + `@` + homeDomain + `",
			"impus":["sip:` + imsi + `@` + homeDomain + `","tel:+` + msisdn + `"],"ifc_set":"default"},
		"apns":["internet","ims"]}`
		if code, body := l.api(l.apiPort, http.MethodPost, "/subscribers", sub); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST /subscribers %s = %d %s", imsi, code, body)
		}
		l.requireSubscriber(imsi, "after provisioning")
	}

	// Registrations need SIPp: without it the data checks still run.
	sipp, err := exec.LookPath("sipp")
	if err != nil && os.Getenv(testutil.RequireToolsEnv) == "1" {
		t.Fatalf("sipp not found (required: %s=1)", testutil.RequireToolsEnv)
	}
	withSIPp := err == nil
	if withSIPp {
		// Both UEs register, then A calls B, who rings, A cancels; A sends B a MESSAGE; A
		// calls B, who answers, A holds and resumes the call and hangs up: all through the
		// published P-CSCF port, while tshark captures SIP and Diameter on the lab's bridge.
		// Both UEs are behind docker-proxy, as phones behind NAT: their contacts
		// (127.0.0.1:port) are not reachable from the P-CSCF's container, and the P-CSCF sees
		// each one's requests from the docker gateway's address and a port docker-proxy
		// opened for it (its flow). Every request towards B, the INVITE, CANCEL and MESSAGE
		// as well as the ACK for the 200, the re-INVITEs and the BYE inside the dialog, goes
		// over that flow (RFC 5626 5.3), and docker-proxy relays it to B's socket; the
		// responses to A follow A's Via (received, rport) over A's flow.
		capture := l.captureBridge()
		alice, bob := ue{akaIMSI, freePort(t)}, ue{bobIMSI, freePort(t)}
		for _, u := range []ue{alice, bob} {
			l.register(sipp, u, "first registration")
			l.requireRegistered(u.impu(), "after registering")
		}
		l.call(sipp, "uac_cancel.xml", "uas_cancel.xml", alice, bob)
		l.call(sipp, "uac_message.xml", "uas_message.xml", alice, bob)
		l.call(sipp, "uac_call.xml", "uas_call.xml", alice, bob)
		// A SIP digest subscriber (test/sipp/register_md5.xml: 001010000000002 with the
		// password below), provisioned over REST, registers through the published port too.
		digest := `{"imsi":"` + digestIMSI + `","msisdn":"15550099",
		"auth":{"algorithm":"digest","password":"imscore-digest"},
		"ims":{"impi":"` + digestIMSI + `@` + homeDomain + `",
			"impus":["sip:` + digestIMSI + `@` + homeDomain + `","tel:+15550099"]}}`
		if code, body := l.api(l.apiPort, http.MethodPost, "/subscribers", digest); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST /subscribers %s = %d %s", digestIMSI, code, body)
		}
		if err := l.sipp(sipp, "register_md5.xml", freePort(t), l.pcscf()); err != nil {
			t.Fatalf("digest registration through the P-CSCF: %v", err)
		}
		l.requireRegistered("sip:"+digestIMSI+"@"+homeDomain, "after the digest registration")
		requireNamed(t, capture.Stop())
	} else {
		t.Log("sipp not installed: registrations not checked (make test installs it)")
	}

	// Restarts and down/up keep the subscriber (HSS volume) and the registration (S-CSCF
	// volume), and a UE registers again. The scenario's registration lasts 600 s, longer
	// than this test.
	for _, step := range []struct {
		name string
		do   func()
	}{
		{"after stop/start of hss and scscf", func() {
			l.run("stop", "hss", "scscf")
			l.run("start", "hss", "scscf")
		}},
		{"after down (without -v) and up", func() {
			l.run("down")
			for _, v := range []string{"hss-data", "scscf-data"} {
				if out, err := exec.Command("docker", "volume", "inspect", l.project+"_"+v).CombinedOutput(); err != nil {
					t.Fatalf("volume %s gone after down (without -v): %v\n%s", v, err, out)
				}
			}
			l.run("up", "-d")
		}},
	} {
		step.do()
		l.waitHealthy()
		l.waitPeers("dra", "icscf", "scscf")
		l.requireSubscriber(akaIMSI, step.name)
		if withSIPp {
			l.requireRegistered(akaIMPU, step.name)
			l.register(sipp, ue{akaIMSI, freePort(t)}, "new registration "+step.name)
		}
	}
}

// requireNamed checks the lab's capture: tshark finds no malformed packet and no expert warning,
// and names the SIP methods of the registrations, the cancelled call, the MESSAGE and the answered
// call and the Cx commands (TS 29.229 6.1: UAR, MAR, SAR, LIR), request and answer, on their
// standard ports.
func requireNamed(t *testing.T, pcap string) {
	t.Helper()
	// The lab's Diameter (and SIP over TCP) connections are older than the capture, so tshark
	// starts them mid-stream and flags the first segments it sees as "ACKed segment that wasn't
	// captured" or "previous segment not captured" (common at capture start), whether they
	// carry a keep-alive or a Diameter message. Those frames are still checked for malformed
	// packets; only those two TCP notes are forgiven.
	testutil.AssertClean(t, pcap, testutil.ExcludeFilter("(tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment) && !_ws.malformed"))
	testutil.Dissector{}.RequireNamed(t, pcap, []string{"REGISTER", "INVITE", "CANCEL", "ACK", "MESSAGE", "BYE"}, testutil.CxCommands)
}
