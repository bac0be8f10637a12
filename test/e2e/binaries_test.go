// Package e2e holds end-to-end tests that build the real binaries and run them on 127.0.0.1.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imscore/imscore/dra"
	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/admin"
	"github.com/imscore/imscore/scscf"
	"github.com/imscore/imscore/smsip"
	"github.com/imscore/imscore/ussd"
)

// binary is one command and the admin addresses it serves on its defaults.
type binary struct {
	name   string
	admins []string
}

func binaries() []binary {
	var (
		p  pcscf.Config
		i  icscf.Config
		s  scscf.Config
		h  hss.Config
		d  dra.Config
		u  ussd.Config
		sm smsip.Config
	)
	p.Defaults()
	i.Defaults()
	s.Defaults()
	h.Defaults()
	d.Defaults()
	u.Defaults()
	sm.Defaults()
	all := []binary{
		{pcscf.Name, []string{p.Admin.Listen}},
		{icscf.Name, []string{i.Admin.Listen}},
		{scscf.Name, []string{s.Admin.Listen}},
		{hss.Name, []string{h.Admin.Listen}},
		{dra.Name, []string{d.Admin.Listen}},
		{ussd.Name, []string{u.Admin.Listen}},
		{smsip.Name, []string{sm.Admin.Listen}},
	}
	lab := binary{name: "imslab"}
	for _, b := range all {
		lab.admins = append(lab.admins, b.admins...)
	}
	return append(all, lab)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestMain removes the binaries built by build.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// build compiles every binary once, the way `make build` does, and returns their directory.
func build(t *testing.T, bins []binary) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs every binary; skipped with -short")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "imscore-bin-"); buildErr != nil {
			return
		}
		args := []string{"build", "-trimpath", "-o", buildDir + string(filepath.Separator)}
		for _, b := range bins {
			args = append(args, "./cmd/"+b.name)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// TestBinariesRunOnDefaults starts each binary with no arguments (CONTRACT.md: every node runs on
// the single-host defaults), checks that /healthz answers and /metrics serves on its default admin
// address(es), and expects exit status 0 after SIGTERM. The binaries run one after another because
// they share the default ports.
func TestBinariesRunOnDefaults(t *testing.T) {
	bins := binaries()
	dir := build(t, bins)
	for _, b := range bins {
		t.Run(b.name, func(t *testing.T) {
			for _, addr := range b.admins {
				if ln, err := net.Listen("tcp", addr); err != nil {
					t.Fatalf("default address %s is busy (is `make lab` running?): %v", addr, err)
				} else {
					ln.Close()
				}
			}
			var stderr bytes.Buffer
			cmd := exec.Command(filepath.Join(dir, b.name))
			cmd.Dir = t.TempDir() // the default data dir is ./data
			cmd.Stdout = io.Discard
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			}()

			for _, addr := range b.admins {
				waitHealthy(t, addr, exited, &stderr)
				body := httpGet(t, "http://"+addr+"/metrics", http.StatusOK)
				if !strings.Contains(body, "go_goroutines") {
					t.Errorf("%s/metrics lacks go_goroutines", addr)
				}
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("no exit 15 s after SIGTERM\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "msg=stopped") {
				t.Errorf("no clean-stop log line:\n%s", stderr.String())
			}
		})
	}
}

func waitHealthy(t *testing.T, addr string, exited <-chan error, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A node alone may report a peer that is not there (503); either way the answer
			// must be the health document.
			var h admin.Health
			if err := json.Unmarshal(body, &h); err != nil || h.Checks == nil ||
				!(resp.StatusCode == http.StatusOK && h.Status == "ok" || resp.StatusCode == http.StatusServiceUnavailable && h.Status == "fail") {
				t.Fatalf("%s/healthz: %d %s", addr, resp.StatusCode, body)
			}
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("exited before answering /healthz: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz not answering: %v\n%s", addr, err, stderr.String())
		}
	}
}

func httpGet(t *testing.T, url string, wantCode int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, wantCode)
	}
	return string(body)
}

// TestBinariesCheck runs -check: the defaults pass; a bad file makes every binary print every
// problem and exit 2 without starting.
func TestBinariesCheck(t *testing.T) {
	bins := binaries()
	dir := build(t, bins)
	nodeBad := "admin: {listen: nowhere}\nlog: {level: loud}\ndiameter: {watchdog: 1s}\n"
	nodeWant := []string{"configuration problem(s)", "admin.listen:", "log.level:", "diameter.watchdog:"}
	labBad := "log: {format: xml}\npcscf: {sip: {domain: ''}}\nhss: {diameter: {listen: []}}\ndra: {diameter: {watchdog: 1s}}\n"
	labWant := []string{"configuration problem(s)", "log.format:", "pcscf.sip.domain: is empty", "hss.diameter.listen: is empty", "dra.diameter.watchdog:"}

	for _, b := range bins {
		t.Run(b.name, func(t *testing.T) {
			bin := filepath.Join(dir, b.name)
			out, err := exec.Command(bin, "-check").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "configuration ok") {
				t.Errorf("-check on defaults: %v\n%s", err, out)
			}

			bad, want := nodeBad, nodeWant
			if b.name == "imslab" {
				bad, want = labBad, labWant
			}
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err = exec.Command(bin, "-check", "-config", path).CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
				t.Errorf("-check on a bad config: %v, want exit status 2\n%s", err, out)
			}
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
