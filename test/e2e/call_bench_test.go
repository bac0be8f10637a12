package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestCallRate measures full IMS calls per second (INVITE, 200, ACK, BYE, each crossing P, S,
// I, S, P) between two SIPp UEs registered with AKA. It runs only with IMS_BENCH=1; IMS_BENCH_CALLS
// and IMS_BENCH_RATE (calls/s offered) size it.
func TestCallRate(t *testing.T) {
	if os.Getenv("IMS_BENCH") != "1" {
		t.Skip("benchmark: set IMS_BENCH=1")
	}
	calls, rate := envInt("IMS_BENCH_CALLS", 2000), envInt("IMS_BENCH_RATE", 200)
	port := func() int { return freePort(t) }
	alice := sippUE{imsi: "001010000000021", msisdn: "15550021", port: port()}
	bob := sippUE{imsi: "001010000000022", msisdn: "15550022", port: port()}
	c := startChain(t, alice.port, bob.port)
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
	start := time.Now()
	err := sipp(t, "uac_basic.xml", alice.port, c.pcscf, append(alice.keys(), "-key", "callee", bob.impu(),
		"-m", n, "-r", strconv.Itoa(rate), "-l", strconv.Itoa(rate*2), "-timeout", "120s")...)
	elapsed := time.Since(start)
	if aerr := <-answered; err != nil || aerr != nil {
		t.Fatalf("caller: %v\nanswering side: %v", err, aerr)
	}
	t.Logf("%d calls in %s: %.0f calls/s offered %d/s", calls, elapsed.Round(time.Millisecond), float64(calls)/elapsed.Seconds(), rate)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
