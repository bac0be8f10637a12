package compose

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
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
	t       *testing.T
	compose []string
	project string
	env     []string
	apiPort int
	sipPort int
}

func newLab(t *testing.T, compose []string) *lab {
	b := make([]byte, 4)
	rand.Read(b)
	l := &lab{t: t, compose: compose, project: "imstest" + hex.EncodeToString(b),
		apiPort: freePort(t, "tcp"), sipPort: freePort(t, "udp")}
	l.env = append(os.Environ(),
		"IMS_HSS_API_PORT="+strconv.Itoa(l.apiPort), "IMS_PCSCF_SIP_PORT="+strconv.Itoa(l.sipPort))
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

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
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

// api calls the HSS REST API through the port published on 127.0.0.1.
func (l *lab) api(method, path, body string) (int, string) {
	l.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/v1%s", l.apiPort, path)
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
	code, body := l.api(http.MethodGet, "/subscribers/"+imsi, "")
	if code != http.StatusOK || !strings.Contains(body, `"impi":"`+imsi+`@`) {
		l.t.Fatalf("%s: GET /subscribers/%s = %d %s", when, imsi, code, body)
	}
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

// TestComposeLab brings the lab up from freshly built images, provisions a subscriber through
// the published REST port and shows that it survives a stop/start of the hss and scscf
// containers and a `down` (without -v) and `up`: the named volumes keep the data.
func TestComposeLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and runs the compose lab")
	}
	compose := composeCommand(t)
	buildImages(t)
	l := newLab(t, compose)
	l.run("up", "-d")
	l.waitHealthy()

	const imsi = "001019990000001"
	sub := `{"imsi":"` + imsi + `","msisdn":"15559990001",
		"auth":{"k":"3c6a9f1e7d2b48c5a1e0f9d37b6c2e85","op":"c7e5a2b8d4f1963e0a7c5d9b2e8f4a17","amf":"8000"},
		"ims":{"impi":"` + imsi + `@ims.mnc001.mcc001.3gppnetwork.org",
			"impus":["sip:` + imsi + `@ims.mnc001.mcc001.3gppnetwork.org","tel:+15559990001"],"ifc_set":"default"},
		"apns":["internet","ims"]}`
	if code, body := l.api(http.MethodPost, "/subscribers", sub); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("POST /subscribers = %d %s", code, body)
	}
	l.requireSubscriber(imsi, "after provisioning")

	// Registrations: when the CSCFs land, register a UE with SIPp through the published P-CSCF
	// port (127.0.0.1:l.sipPort) here, and check after each restart below that the S-CSCF still
	// holds it and that a new registration succeeds (issue 7).

	l.run("stop", "hss", "scscf")
	l.run("start", "hss", "scscf")
	l.waitHealthy()
	l.requireSubscriber(imsi, "after stop/start of hss and scscf")

	l.run("down")
	for _, v := range []string{"hss-data", "scscf-data"} {
		if out, err := exec.Command("docker", "volume", "inspect", l.project+"_"+v).CombinedOutput(); err != nil {
			t.Fatalf("volume %s gone after down (without -v): %v\n%s", v, err, out)
		}
	}
	l.run("up", "-d")
	l.waitHealthy()
	l.requireSubscriber(imsi, "after down and up")
	if _, err := os.Stat(filepath.Join(root, "bin", "hss")); err != nil {
		t.Errorf("make build left no bin/hss: %v", err)
	}
}
