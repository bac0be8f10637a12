// Package admin is the HTTP admin server every node runs: /healthz, /metrics, and the routes of
// packages that own data (the HSS mounts its REST API /api/v1 here).
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds how long Run waits for in-flight requests once its context is done.
const shutdownTimeout = 5 * time.Second

func init() {
	// Release mode: no route dump and no debug warnings on stdout.
	gin.SetMode(gin.ReleaseMode)
}

// Check reports the state of one part of a node, such as a Diameter peer or a SIP listener.
// detail is rendered as JSON next to the verdict.
type Check func() (ok bool, detail any)

// Server is a node's admin HTTP server.
type Server struct {
	addr   string
	log    *slog.Logger
	engine *gin.Engine

	mu     sync.Mutex
	checks map[string]Check
	ln     net.Listener
}

// New returns a server for addr exposing /healthz and the registry on /metrics. It does not listen
// until Listen or Run.
func New(addr string, reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{addr: addr, log: log, engine: gin.New(), checks: make(map[string]Check)}
	s.engine.Use(s.recoverAndLog)
	s.engine.GET("/healthz", s.healthz)
	s.engine.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	return s
}

// AddCheck registers (or replaces) the named health check. /healthz answers 200 only when every
// check reports ok.
func (s *Server) AddCheck(name string, check Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Routes lets the package that owns some data mount its handlers, e.g.
// srv.Routes(func(r gin.IRouter) { api.Mount(r.Group("/api/v1")) }). Call it before Run.
func (s *Server) Routes(mount func(gin.IRouter)) {
	mount(s.engine)
}

// Handler is the server's HTTP handler, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.engine }

// Listen binds the address, so that a caller who asked for port 0 can learn the port from the
// returned address before Run. Run calls it when the caller has not.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("admin: %w", err)
		}
		s.ln = ln
	}
	return s.ln.Addr(), nil
}

// Run serves until ctx is done, then shuts down gracefully and returns nil. It returns an error
// when it cannot listen or the server fails.
func (s *Server) Run(ctx context.Context) error {
	addr, err := s.Listen()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("admin server listening", "addr", addr.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("admin shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

// CheckResult is one entry of the /healthz body.
type CheckResult struct {
	OK     bool `json:"ok"`
	Detail any  `json:"detail,omitempty"`
}

// Health is the /healthz body.
type Health struct {
	Status string                 `json:"status"` // "ok" or "fail"
	Checks map[string]CheckResult `json:"checks"`
}

func (s *Server) healthz(c *gin.Context) {
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	checks := make([]Check, len(names))
	sort.Strings(names)
	for i, name := range names {
		checks[i] = s.checks[name]
	}
	s.mu.Unlock()

	h := Health{Status: "ok", Checks: make(map[string]CheckResult, len(names))}
	for i, name := range names {
		ok, detail := checks[i]()
		h.Checks[name] = CheckResult{OK: ok, Detail: detail}
		if !ok {
			h.Status = "fail"
		}
	}
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	c.JSON(code, h)
}

// recoverAndLog logs each request at debug level and turns a handler panic into a 500 with the
// panic logged, instead of gin's default logger and recovery writing to stdout.
func (s *Server) recoverAndLog(c *gin.Context) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("admin handler panic", "path", c.Request.URL.Path, "panic", r)
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
		}
		s.log.Debug("admin request", "http_method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration", time.Since(start))
	}()
	c.Next()
}
