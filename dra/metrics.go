package dra

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/metrics"
)

// Retry reasons, for the reason label of ims_dra_retries_total.
const (
	reasonPeerDown = "peer_down" // the connection closed before the answer (RFC 3539 failover)
	reasonAnswer   = "answer"    // the peer answered 3002 or 3004
)

type draMetrics struct {
	requests  *prometheus.CounterVec   // app
	answers   *prometheus.CounterVec   // result_code
	latency   *prometheus.HistogramVec // peer
	retries   *prometheus.CounterVec   // reason
	failovers *prometheus.CounterVec   // peer
}

func newMetrics(reg prometheus.Registerer) *draMetrics {
	m := &draMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: Name, Name: "requests_total",
			Help: "Requests received for relaying, by Application-Id.",
		}, []string{"app"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: Name, Name: "answers_total",
			Help: "Answers sent back for relayed requests, by Result-Code (or Experimental-Result-Code); the DRA's own error answers included.",
		}, []string{"result_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: Name, Name: "peer_request_duration_seconds",
			Help:    "Time from forwarding a request to a peer to its answer, by peer.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"peer"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: Name, Name: "retries_total",
			Help: "Requests sent again, with the T flag, to another peer of their group, by reason.",
		}, []string{"reason"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: Name, Name: "failovers_total",
			Help: "Requests moved away from a peer that went down or answered 3002/3004, by that peer.",
		}, []string{"peer"}),
	}
	reg.MustRegister(m.requests, m.answers, m.latency, m.retries, m.failovers)
	return m
}
