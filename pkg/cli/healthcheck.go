package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/imscore/imscore/pkg/config"
)

// healthcheckTimeout bounds the -healthcheck request; a container runtime kills a check that
// runs past its own timeout anyway.
const healthcheckTimeout = 3 * time.Second

// healthcheck is the -healthcheck mode, for images without a shell or curl (FROM scratch):
// GET /healthz on the node's own admin server and exit ExitOK when the node answers, ExitFailed
// when it does not.
//
// A 503 counts as healthy: the node runs and its listeners are up (Run fails and the process
// exits when one cannot bind), and a 503 only says a peer is missing, which the peer's own
// check reports. Requiring 200 would chain every container's health to its peers' and stall a
// start order (depends_on: service_healthy) on a peer that is merely slow. The /healthz body
// is printed so that `docker inspect` shows the detail.
func healthcheck(ctx context.Context, cfg Config, stdout, stderr io.Writer) int {
	listen, ok := adminListen(cfg)
	if !ok {
		fmt.Fprintln(stderr, "healthcheck: this configuration has no admin section")
		return ExitConfig
	}
	url := "http://" + dialAddr(listen) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return ExitFailed
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return ExitFailed
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch res.StatusCode {
	case http.StatusOK, http.StatusServiceUnavailable:
		fmt.Fprintf(stdout, "%s %s\n", res.Status, strings.TrimSpace(string(body)))
		return ExitOK
	default:
		fmt.Fprintf(stderr, "healthcheck: %s answered %s\n", url, res.Status)
		return ExitFailed
	}
}

// adminListen returns admin.listen of cfg: every node's configuration holds its admin server
// in a field Admin of type config.Admin (a configuration with several, such as imslab's, has
// none at its top level).
func adminListen(cfg Config) (string, bool) {
	v := reflect.Indirect(reflect.ValueOf(cfg))
	if v.Kind() != reflect.Struct {
		return "", false
	}
	f := v.FieldByName("Admin")
	if !f.IsValid() || !f.CanInterface() {
		return "", false
	}
	a, ok := f.Interface().(config.Admin)
	return a.Listen, ok
}

// dialAddr turns a listen address into one to connect to: an unspecified host (every
// interface) is reached on loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
