package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/testutil"
)

const testToken = "imslab-test-token"

// freePort returns a port free on 127.0.0.1 for both TCP and UDP (a SIP listener takes both).
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free on both TCP and UDP")
	return 0
}

// labPorts are the addresses of one imslab run: every node on its own free ports, wired as the
// defaults wire them (CSCFs, ussd and smsip -> DRA -> HSS).
type labPorts struct {
	admin                 map[string]int
	sip                   map[string]int
	hssDiameter, diameter int
}

func newLabPorts(t *testing.T) labPorts {
	p := labPorts{admin: map[string]int{}, sip: map[string]int{}, hssDiameter: freePort(t), diameter: freePort(t)}
	for _, n := range []string{"pcscf", "icscf", "scscf", "hss", "dra", "ussd", "smsip"} {
		p.admin[n] = freePort(t)
	}
	for _, n := range []string{"pcscf", "icscf", "scscf", "ussd", "smsip"} {
		p.sip[n] = freePort(t)
	}
	return p
}

// config is imslab's YAML for these ports: only the addresses differ from the defaults.
func (p labPorts) config() string {
	const realm = "ims.mnc001.mcc001.3gppnetwork.org"
	dra := func(apps string) string {
		return fmt.Sprintf("  diameter:\n    peers: [{host: dra.%s, realm: %s, addr: '127.0.0.1:%d', apps: [%s]}]\n", realm, realm, p.diameter, apps)
	}
	var b strings.Builder
	for _, n := range []string{"pcscf", "icscf", "scscf", "ussd", "smsip"} {
		fmt.Fprintf(&b, "%s:\n  admin: {listen: '127.0.0.1:%d'}\n  sip: {listen: '127.0.0.1:%d'}\n", n, p.admin[n], p.sip[n])
		switch n {
		case "pcscf":
			b.WriteString(dra(""))
			fmt.Fprintf(&b, "  icscf: 'sip:127.0.0.1:%d'\n", p.sip["icscf"])
		case "icscf":
			b.WriteString(dra("cx"))
			fmt.Fprintf(&b, "  scscfs: [{name: 'sip:127.0.0.1:%d'}]\n", p.sip["scscf"])
		case "scscf":
			b.WriteString(dra("cx"))
			fmt.Fprintf(&b, "  registrar: {server_name: 'sip:127.0.0.1:%d'}\n", p.sip["scscf"])
		default:
			b.WriteString(dra("sh"))
		}
	}
	fmt.Fprintf(&b, "hss:\n  admin: {listen: '127.0.0.1:%d'}\n  diameter:\n    listen: [{network: tcp, addr: '127.0.0.1:%d'}]\n",
		p.admin["hss"], p.hssDiameter)
	fmt.Fprintf(&b, "dra:\n  admin: {listen: '127.0.0.1:%d'}\n  diameter:\n    listen: [{network: tcp, addr: '127.0.0.1:%d'}]\n"+
		"    peers: [{host: hss.%s, realm: %s, addr: '127.0.0.1:%d', apps: [cx, sh, s6a]}]\n",
		p.admin["dra"], p.diameter, realm, realm, p.hssDiameter)
	return b.String()
}

// labRun is one imslab process.
type labRun struct {
	cmd            *exec.Cmd
	stdout, stderr *testutil.Buffer
	exited         chan struct{} // closed when the process has exited
	err            error         // its exit status, once exited is closed
}

func startLab(t *testing.T, bin, dir, configPath string) *labRun {
	t.Helper()
	r := &labRun{stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "-config", configPath)
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "HSS_API_TOKEN="+testToken)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
	})
	return r
}

// stop sends SIGINT (Ctrl-C) and requires a clean exit.
func (r *labRun) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		if r.err != nil {
			t.Fatalf("imslab exited with %v after Ctrl-C:\n%s", r.err, r.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("imslab still running 20 s after Ctrl-C:\n%s", r.stderr.String())
	}
	if !strings.Contains(r.stderr.String(), "msg=stopped node=imslab") {
		t.Errorf("no clean stop logged:\n%s", r.stderr.String())
	}
}

// get GETs url with the test token and decodes the JSON answer into v.
func get(url string, v any) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, json.NewDecoder(res.Body).Decode(v)
}

// waitHealthy waits until every node's /healthz answers 200.
func (r *labRun) waitHealthy(t *testing.T, p labPorts) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for name, port := range p.admin {
		for {
			var h struct{ Status string }
			code, err := get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port), &h)
			if err == nil && code == http.StatusOK && h.Status == "ok" {
				break
			}
			select {
			case <-r.exited:
				t.Fatalf("imslab exited (%v):\n%s", r.err, r.stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s /healthz: %d %v (%+v)\n%s", name, code, err, h, r.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// subscribers lists the IMSIs the HSS REST API returns.
func subscribers(t *testing.T, p labPorts) []string {
	t.Helper()
	var list struct {
		Subscribers []struct {
			IMSI   string
			MSISDN string
			IMS    struct{ IMPI string }
		}
	}
	code, err := get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/subscribers", p.admin["hss"]), &list)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /subscribers: %d %v", code, err)
	}
	var imsis []string
	for _, s := range list.Subscribers {
		imsis = append(imsis, s.IMSI)
	}
	slices.Sort(imsis)
	return imsis
}

// TestImslabBinary runs the built imslab twice in one directory: the first start provisions the
// demo subscribers and prints them, Ctrl-C stops it cleanly, the second start keeps the data.
func TestImslabBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "imslab")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ports := newLabPorts(t)
	configPath := filepath.Join(dir, "imslab.yaml")
	if err := os.WriteFile(configPath, []byte(ports.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{"001010000000001", "001010000000002"}

	first := startLab(t, bin, dir, configPath)
	first.waitHealthy(t, ports)
	if got := subscribers(t, ports); !slices.Equal(got, want) {
		t.Errorf("first start: subscribers %v, want %v", got, want)
	}
	for _, s := range demoSubscribers {
		line := fmt.Sprintf("aka_K=0x%s aka_OP=0x%s aka_AMF=0x8000", s.K, s.OP)
		if !strings.Contains(first.stdout.String(), line) {
			t.Errorf("banner lacks %q:\n%s", line, first.stdout.String())
		}
	}
	if !strings.Contains(first.stdout.String(), "Bearer "+testToken) {
		t.Errorf("banner lacks the token:\n%s", first.stdout.String())
	}
	if n := strings.Count(first.stderr.String(), `msg="demo subscriber provisioned"`); n != 2 {
		t.Errorf("first start provisioned %d subscribers, want 2", n)
	}
	first.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "data", "hss.db")); err != nil {
		t.Errorf("no HSS database under ./data: %v", err)
	}

	second := startLab(t, bin, dir, configPath)
	second.waitHealthy(t, ports)
	if got := subscribers(t, ports); !slices.Equal(got, want) {
		t.Errorf("second start: subscribers %v, want %v", got, want)
	}
	if strings.Contains(second.stderr.String(), `msg="demo subscriber provisioned"`) {
		t.Errorf("second start provisioned again instead of keeping the data:\n%s", second.stderr.String())
	}
	second.stop(t)
}
