package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/metrics"
)

func newTestServer(t *testing.T) (*Server, *prometheus.Registry) {
	t.Helper()
	reg := metrics.NewRegistry()
	return New("127.0.0.1:0", reg, slog.New(slog.DiscardHandler)), reg
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name     string
		checks   map[string]Check
		wantCode int
		want     Health
	}{
		{"no checks", nil, http.StatusOK, Health{Status: "ok", Checks: map[string]CheckResult{}}},
		{"all ok", map[string]Check{
			"sip":  func() (bool, any) { return true, "listening" },
			"peer": func() (bool, any) { return true, nil },
		}, http.StatusOK, Health{Status: "ok", Checks: map[string]CheckResult{
			"sip": {OK: true, Detail: "listening"}, "peer": {OK: true},
		}}},
		{"one failing", map[string]Check{
			"sip":  func() (bool, any) { return true, nil },
			"peer": func() (bool, any) { return false, map[string]any{"state": "closed"} },
		}, http.StatusServiceUnavailable, Health{Status: "fail", Checks: map[string]CheckResult{
			"sip": {OK: true}, "peer": {OK: false, Detail: map[string]any{"state": "closed"}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			for name, c := range tt.checks {
				s.AddCheck(name, c)
			}
			code, body := get(t, s.Handler(), "/healthz")
			if code != tt.wantCode {
				t.Errorf("code = %d, want %d", code, tt.wantCode)
			}
			var got Health
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			wantJSON, _ := json.Marshal(tt.want)
			gotJSON, _ := json.Marshal(got)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("body = %s, want %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestAddCheckReplaces(t *testing.T) {
	s, _ := newTestServer(t)
	s.AddCheck("peer", func() (bool, any) { return false, nil })
	s.AddCheck("peer", func() (bool, any) { return true, nil })
	if code, body := get(t, s.Handler(), "/healthz"); code != http.StatusOK {
		t.Errorf("code = %d (%s), want 200 after the check was replaced", code, body)
	}
}

func TestMetrics(t *testing.T) {
	s, reg := newTestServer(t)
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "test", Name: "things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	code, body := get(t, s.Handler(), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("code = %d", code)
	}
	for _, want := range []string{"ims_test_things_total 3", "go_goroutines", "process_"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRoutesAndPanic(t *testing.T) {
	s, _ := newTestServer(t)
	s.Routes(func(r gin.IRouter) {
		g := r.Group("/api/v1")
		g.GET("/hello", func(c *gin.Context) { c.String(http.StatusOK, "hi") })
		g.GET("/panic", func(c *gin.Context) { panic("bug") })
	})
	if code, body := get(t, s.Handler(), "/api/v1/hello"); code != http.StatusOK || body != "hi" {
		t.Errorf("mounted route: %d %q", code, body)
	}
	if code, _ := get(t, s.Handler(), "/api/v1/panic"); code != http.StatusInternalServerError {
		t.Errorf("panicking handler: code %d, want 500", code)
	}
	if code, _ := get(t, s.Handler(), "/nope"); code != http.StatusNotFound {
		t.Errorf("unknown path: code %d, want 404", code)
	}
}

func TestRunShutsDownOnCancel(t *testing.T) {
	s, _ := newTestServer(t)
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("healthz over TCP: %d %s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestRunListenError(t *testing.T) {
	s, _ := newTestServer(t)
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	// s must stay reachable: a collected listener is closed by its finalizer, freeing the port.
	defer runtime.KeepAlive(s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other := New(addr.String(), metrics.NewRegistry(), slog.New(slog.DiscardHandler))
	if err := other.Run(ctx); err == nil {
		t.Fatal("Run on a busy address succeeded")
	}
}
