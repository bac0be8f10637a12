package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/config"
)

// testConfig is a node config in miniature: shared sections plus a node field.
type testConfig struct {
	Admin config.Admin `yaml:"admin"`
	Log   config.Log   `yaml:"log"`
	SIP   config.SIP   `yaml:"sip"`
	Name  string       `yaml:"name"`
}

func (c *testConfig) Defaults() {
	*c = testConfig{Admin: config.Admin{Listen: "127.0.0.1:0"}, Name: "default"}
	c.Log.Defaults()
	c.SIP.Defaults("127.0.0.1:0")
}

func (c testConfig) Validate() error {
	var p config.Problems
	p.Check("admin", c.Admin)
	p.Check("log", c.Log)
	p.Check("sip", c.SIP)
	if c.Name == "" {
		p.Addf("name", "is empty")
	}
	return p.Err()
}

func (c *testConfig) Logging() config.Log { return c.Log }

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	bad := writeConfig(t, "admin: {listen: nowhere}\nlog: {level: loud}\nsip: {listen: '1.2.3.4:99999', domain: ''}\nname: ''\n")
	good := writeConfig(t, "name: from-file\nlog: {level: debug}\n")
	unknown := writeConfig(t, "nmae: typo\n")
	errBoom := errors.New("boom")

	tests := []struct {
		name       string
		args       []string
		run        RunFunc
		wantCode   int
		wantRun    bool
		wantStdout []string
		wantStderr []string
	}{
		{name: "defaults run and stop cleanly", wantCode: ExitOK, wantRun: true,
			wantStderr: []string{"msg=starting node=test", "msg=stopped node=test"}},
		{name: "check defaults", args: []string{"-check"}, wantCode: ExitOK,
			wantStdout: []string{"test: configuration ok"}},
		{name: "check good file", args: []string{"-config", good, "-check"}, wantCode: ExitOK,
			wantStdout: []string{"configuration ok"}},
		{name: "check bad file lists every problem", args: []string{"-check", "-config", bad}, wantCode: ExitConfig,
			wantStderr: []string{
				"5 configuration problem(s)",
				"admin.listen: \"nowhere\" is not host:port",
				"log.level: log level must be",
				"sip.listen: \"1.2.3.4:99999\": port must be",
				"sip.domain: is empty",
				"name: is empty",
			}},
		{name: "bad file does not run", args: []string{"-config", bad}, wantCode: ExitConfig},
		{name: "bad log-format flag is a problem too", args: []string{"-config", bad, "-log-format", "xml"}, wantCode: ExitConfig,
			wantStderr: []string{"6 configuration problem(s)", "-log-format: log format must be text or json"}},
		{name: "unknown key", args: []string{"-config", unknown}, wantCode: ExitConfig,
			wantStderr: []string{"field nmae not found"}},
		{name: "missing file", args: []string{"-config", filepath.Join(t.TempDir(), "none.yaml")}, wantCode: ExitConfig,
			wantStderr: []string{"no such file"}},
		{name: "unknown flag", args: []string{"-bogus"}, wantCode: ExitConfig, wantStderr: []string{"Usage: test"}},
		{name: "stray argument", args: []string{"extra"}, wantCode: ExitConfig, wantStderr: []string{"unexpected arguments"}},
		{name: "help", args: []string{"-h"}, wantCode: ExitOK, wantStderr: []string{"-log-format"}},
		{name: "run error exits non-zero", run: func(context.Context, *slog.Logger) error { return errBoom },
			wantCode: ExitFailed, wantStderr: []string{"level=ERROR msg=stopped node=test err=boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a node told to stop at once
			ran := false
			run := tt.run
			if run == nil {
				run = func(ctx context.Context, log *slog.Logger) error {
					<-ctx.Done()
					return nil
				}
			}
			var stdout, stderr bytes.Buffer
			var cfg testConfig
			code := Run(ctx, "test", tt.args, &stdout, &stderr, &cfg, func(ctx context.Context, log *slog.Logger) error {
				ran = true
				return run(ctx, log)
			})
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.wantCode, stderr.String())
			}
			if ran != (tt.wantRun || tt.run != nil) {
				t.Errorf("run called = %v", ran)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

func TestRunAppliesConfigAndFlags(t *testing.T) {
	path := writeConfig(t, "name: from-file\nlog: {level: debug}\n")
	var cfg testConfig
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code := Run(ctx, "test", []string{"-config", path, "-log-format", "json"}, &bytes.Buffer{}, &stderr, &cfg,
		func(ctx context.Context, log *slog.Logger) error {
			log.Debug("hello")
			return nil
		})
	if code != ExitOK {
		t.Fatalf("exit code = %d: %s", code, stderr.String())
	}
	if cfg.Name != "from-file" || cfg.Admin.Listen != "127.0.0.1:0" {
		t.Errorf("config = %+v, want name from the file and the default admin listen", cfg)
	}
	var sawDebug bool
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("-log-format json wrote a non-JSON line %q", line)
		}
		sawDebug = sawDebug || rec["msg"] == "hello"
	}
	if !sawDebug {
		t.Errorf("level debug from the file not applied:\n%s", stderr.String())
	}
}

// TestTuneGC checks the GC target default and that GOGC overrides it.
func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "")
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	tuneGC() // GOGC set (to ""): the runtime has read it, the node leaves it
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC target became %d, want it left at 100", got)
	}
	os.Unsetenv("GOGC")
	tuneGC()
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("without GOGC, the GC target is %d, want %d", got, DefaultGCPercent)
	}
}
