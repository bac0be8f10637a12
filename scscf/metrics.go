package scscf

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/metrics"
)

// sessionMetrics count the routing of initial requests (session.go).
type sessionMetrics struct {
	sessions   *prometheus.CounterVec // by session case
	asRequests prometheus.Counter
	asReturned prometheus.Counter
	asFailures *prometheus.CounterVec // by default handling applied
}

func newSessionMetrics(reg prometheus.Registerer) *sessionMetrics {
	m := &sessionMetrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: Name,
			Name: "initial_requests_total", Help: "Initial requests served, by session case."}, []string{"session_case"}),
		asRequests: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: Name,
			Name: "as_requests_total", Help: "Requests sent to application servers by an iFC."}),
		asReturned: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: Name,
			Name: "as_returned_total", Help: "Requests an application server sent back with our odi token."}),
		asFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: Name,
			Name: "as_failures_total", Help: "Application servers that did not answer, by the default handling applied."}, []string{"default_handling"}),
	}
	reg.MustRegister(m.sessions, m.asRequests, m.asReturned, m.asFailures)
	return m
}
