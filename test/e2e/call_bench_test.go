package e2e

import (
	"bufio"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/testutil"
)

// TestCallRate measures full IMS calls per second (INVITE, 200, ACK, BYE, each crossing P, S,
// I, S, P) between two SIPp UEs registered with AKA, and the p95 of the call setup time (INVITE
// to 200). It runs only with IMS_BENCH=1; IMS_BENCH_CALLS and IMS_BENCH_RATE (calls/s offered)
// size it. The nodes log at IMS_BENCH_LOG_LEVEL (default warn, as test/bench/register.sh) and
// nothing is captured. IMS_BENCH_PROFILE=DIR runs the nodes as test/bench/profnode and writes
// their CPU profiles to DIR/<node>.pprof.
func TestCallRate(t *testing.T) {
	if os.Getenv("IMS_BENCH") != "1" {
		t.Skip("benchmark: set IMS_BENCH=1")
	}
	calls, rate := envInt("IMS_BENCH_CALLS", 2000), envInt("IMS_BENCH_RATE", 200)
	opts := chainOptions{logLevel: os.Getenv("IMS_BENCH_LOG_LEVEL"), noCapture: true}
	if opts.logLevel == "" {
		opts.logLevel = "warn"
	}
	profiles := os.Getenv("IMS_BENCH_PROFILE")
	if profiles != "" {
		opts.binDir = buildProfnode(t)
		t.Setenv("IMS_CPUPROFILE", "cpu.pprof") // inherited by the nodes, each in its own directory
	}
	port := func() int { return freePort(t) }
	alice := sippUE{imsi: "001010000000021", msisdn: "15550021", port: port()}
	bob := sippUE{imsi: "001010000000022", msisdn: "15550022", port: port()}
	c := startChainWith(t, opts, alice.port, bob.port)
	c.provision(t, alice, "")
	c.provision(t, bob, "")
	c.register(t, alice)
	c.register(t, bob)
	n := strconv.Itoa(calls)
	answered := make(chan error, 1)
	go func() {
		answered <- sipp(t, "uas_basic.xml", bob.port, "", "-key", "imsi", bob.imsi, "-m", n, "-timeout", "120s")
	}()
	time.Sleep(200 * time.Millisecond)

	sf, _ := filepath.Abs(filepath.Join("..", "sipp", "uac_basic.xml"))
	dir := t.TempDir()
	cmd := exec.Command(testutil.NeedTool(t, "sipp"), append([]string{"-sf", sf, "-t", "u1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(alice.port), "-m", n, "-r", strconv.Itoa(rate), "-l", strconv.Itoa(rate * 2),
		"-timeout", "120s", "-recv_timeout", "10s", "-nostdin", "-trace_rtt", "-rtt_freq", "1"},
		append(alice.keys(), "-key", "callee", bob.impu(), c.pcscf)...)...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	// Failed calls fail the benchmark, and the figures of the calls that succeeded are still
	// printed: where it starts failing is the point.
	if aerr := <-answered; err != nil || aerr != nil {
		t.Errorf("caller: %v\n%s\nanswering side: %v", err, out, aerr)
	}
	setup, span := setupTimes(t, dir)
	slices.Sort(setup)
	p95 := setup[len(setup)*95/100]
	// The rate of completed setups over the span of the traffic, as test/bench/register.sh
	// reports it: a call lost at the end would otherwise add SIPp's -recv_timeout to elapsed.
	t.Logf("%d calls in %s (offered %d/s): %d set up, %.0f/s over %s of traffic; setup p50 %.1f ms p95 %.1f ms",
		calls, elapsed.Round(time.Millisecond), rate, len(setup), float64(len(setup))/span.Seconds(),
		span.Round(time.Millisecond), setup[len(setup)/2], p95)
	if profiles != "" {
		writeProfiles(t, c, profiles)
	}
}

// buildProfnode builds test/bench/profnode once under the name of every node of the chain.
func buildProfnode(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "profnode")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "bench", "-o", bin, "./test/bench/profnode")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build profnode: %v\n%s", err, out)
	}
	for _, n := range []string{"hss", "dra", "scscf", "icscf", "pcscf"} {
		if err := os.Link(bin, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeProfiles stops the nodes (profnode writes its profile on SIGTERM) and copies each
// profile to dir/<node>.pprof.
func writeProfiles(t *testing.T, c *chain, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range slices.Backward(c.nodes) { // the P-CSCF first, as the cleanups would
		n.stop()
		data, err := os.ReadFile(filepath.Join(n.dir, "cpu.pprof"))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, n.name+".pprof")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("go tool pprof -top -cum %s", out)
	}
}

// setupTimes reads the "setup" response times (ms) SIPp wrote with -trace_rtt, and the span
// between the first and the last.
func setupTimes(t *testing.T, dir string) ([]float64, time.Duration) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var out []float64
	first, last := math.Inf(1), math.Inf(-1)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// date_ms;response_time_ms;rtd_name
			fields := strings.Split(sc.Text(), ";")
			if len(fields) < 3 || fields[2] != "setup" {
				continue
			}
			v, err := strconv.ParseFloat(fields[1], 64)
			at, err2 := strconv.ParseFloat(fields[0], 64)
			if err != nil || err2 != nil {
				continue
			}
			out = append(out, v)
			first, last = min(first, at), max(last, at)
		}
		fh.Close()
	}
	if len(out) == 0 {
		t.Fatal("no setup times in the SIPp rtt file")
	}
	return out, time.Duration((last - first) * float64(time.Millisecond))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
