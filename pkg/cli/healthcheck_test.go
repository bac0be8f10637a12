package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imscore/imscore/pkg/config"
)

// noAdminConfig has no Admin section, like imslab's.
type noAdminConfig struct{ Log config.Log }

func (c *noAdminConfig) Defaults()           { c.Log.Defaults() }
func (c *noAdminConfig) Validate() error     { return nil }
func (c *noAdminConfig) Logging() config.Log { return c.Log }

func TestHealthcheck(t *testing.T) {
	serve := func(t *testing.T, status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			w.Write([]byte(`{"status":"x"}`))
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	tests := []struct {
		name       string
		listen     func(t *testing.T) string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "200 is healthy", listen: func(t *testing.T) string { return serve(t, http.StatusOK) },
			wantCode: ExitOK, wantStdout: `200 OK {"status":"x"}`},
		{name: "503 (a peer missing) is still up", listen: func(t *testing.T) string { return serve(t, http.StatusServiceUnavailable) },
			wantCode: ExitOK, wantStdout: "503 Service Unavailable"},
		{name: "500 is unhealthy", listen: func(t *testing.T) string { return serve(t, http.StatusInternalServerError) },
			wantCode: ExitFailed, wantStderr: "answered 500"},
		{name: "nothing listening is unhealthy", listen: closedPort, wantCode: ExitFailed, wantStderr: "connection refused"},
		{name: "every interface is reached on loopback", listen: func(t *testing.T) string {
			_, port, _ := net.SplitHostPort(serve(t, http.StatusOK))
			return "0.0.0.0:" + port
		}, wantCode: ExitOK, wantStdout: "200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "admin: {listen: '"+tt.listen(t)+"'}\n")
			var stdout, stderr bytes.Buffer
			var cfg testConfig
			code := Run(context.Background(), "test", []string{"-config", path, "-healthcheck"}, &stdout, &stderr, &cfg,
				func(context.Context, *slog.Logger) error { t.Error("-healthcheck ran the node"); return nil })
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
			}
		})
	}
	t.Run("no admin section", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), "imslab", []string{"-healthcheck"}, &stdout, &stderr, &noAdminConfig{},
			func(context.Context, *slog.Logger) error { return nil })
		if code != ExitConfig || !strings.Contains(stderr.String(), "no admin section") {
			t.Errorf("exit code %d, stderr %q", code, stderr.String())
		}
	})
}
