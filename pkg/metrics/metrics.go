// Package metrics gives every node its own Prometheus registry, so that imslab can run all nodes
// in one process with one /metrics per node and no global state.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of the suite: ims_<subsystem>_<name>.
const Namespace = "ims"

// NewRegistry returns a registry holding the Go runtime and process collectors. Packages register
// their own collectors on it (one metrics.go per package that has metrics).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
