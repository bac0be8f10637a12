package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"

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

// noContainerLimit is a container limit provider outside any container.
func noContainerLimit() (uint64, error) { return 0, memlimit.ErrNoLimit }

// TestTuneGC checks the GC target default and that GOGC overrides it.
func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "")
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	_ = tuneGC(noContainerLimit) // GOGC set (to ""): the runtime has read it, the node leaves it
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC target became %d, want it left at 100", got)
	}
	os.Unsetenv("GOGC")
	_ = tuneGC(noContainerLimit)
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("without GOGC, the GC target is %d, want %d", got, DefaultGCPercent)
	}
}

// TestTuneGCMemoryLimit checks the soft memory limit taken from the container's: 90% of it,
// none without one, GOMEMLIMIT and AUTOMEMLIMIT=off left to rule, and a limit that cannot be
// read reported without changing anything.
func TestTuneGCMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(orig)
	const gib = 1 << 30
	unreadable := func() (uint64, error) { return 0, errors.New("mountinfo: permission denied") }
	for _, tc := range []struct {
		name       string
		env        map[string]string
		container  memlimit.Provider
		want       int64
		wantLogged string
		wantErr    bool
	}{
		{"container limit", nil, memlimit.Limit(gib), gib * 9 / 10, strconv.Itoa(gib * 9 / 10), false},
		{"no container limit", nil, noContainerLimit, math.MaxInt64, "none", false},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "512MiB"}, memlimit.Limit(gib), 512 << 20, strconv.Itoa(512 << 20), false},
		{"AUTOMEMLIMIT off", map[string]string{"AUTOMEMLIMIT": "off"}, memlimit.Limit(gib), math.MaxInt64, "none", false},
		{"AUTOMEMLIMIT ratio", map[string]string{"AUTOMEMLIMIT": "0.5"}, memlimit.Limit(gib), gib / 2, strconv.Itoa(gib / 2), false},
		{"limit unreadable", nil, unreadable, math.MaxInt64, "none", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", "100")
			t.Setenv("GOMEMLIMIT", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// The runtime reads GOMEMLIMIT at start only: the test sets what it would have read.
			start := int64(math.MaxInt64)
			if tc.env["GOMEMLIMIT"] != "" {
				start = 512 << 20
			}
			debug.SetMemoryLimit(start)
			err := tuneGC(tc.container)
			if (err != nil) != tc.wantErr {
				t.Errorf("tuneGC error = %v, want an error: %v", err, tc.wantErr)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("soft memory limit %d, want %d", got, tc.want)
			}
			if _, logged := runtimeGC(); logged != tc.wantLogged {
				t.Errorf("starting line says gomemlimit=%s, want %s", logged, tc.wantLogged)
			}
		})
	}
}

// TestCgroupOptional checks that no cgroup, or no cgroups at all, is no limit rather than an
// error at every start, while other failures to read the limit are still reported.
func TestCgroupOptional(t *testing.T) {
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "")
	orig := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(orig)
	denied := errors.New("mountinfo: permission denied")
	for _, tc := range []struct {
		from, want error
	}{
		{memlimit.ErrNoCgroup, memlimit.ErrNoLimit},
		{memlimit.ErrCgroupsNotSupported, memlimit.ErrNoLimit},
		{memlimit.ErrNoLimit, memlimit.ErrNoLimit},
		{denied, denied},
	} {
		from := func() (uint64, error) { return 0, tc.from }
		if _, err := cgroupOptional(from)(); !errors.Is(err, tc.want) {
			t.Errorf("cgroup read failing with %q: got %v, want %v", tc.from, err, tc.want)
		}
		if err := tuneGC(cgroupOptional(from)); (err != nil) != (tc.want == denied) {
			t.Errorf("cgroup read failing with %q: tuneGC error %v", tc.from, err)
		}
	}
	if l, err := cgroupOptional(memlimit.Limit(1 << 30))(); l != 1<<30 || err != nil {
		t.Errorf("a container limit of 1 GiB became %d, %v", l, err)
	}
}
