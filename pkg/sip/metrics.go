package sip

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.CounterVec // method: new requests (transactions) received
	responses *prometheus.CounterVec // method, code: final responses sent upstream
}

// newMetrics registers the proxy's counters on reg (nil: not exported). A registry that
// already holds them (two proxies on one registry) keeps the first; the second counts into
// unregistered copies.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "sip", Name: "requests_total",
			Help: "SIP requests received by method, retransmissions not counted.",
		}, []string{"method"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "sip", Name: "responses_total",
			Help: "Final SIP responses sent upstream, relayed or generated, by request method and status code.",
		}, []string{"method", "code"}),
	}
	if reg != nil {
		_ = reg.Register(m.requests)
		_ = reg.Register(m.responses)
	}
	return m
}

func (m *metrics) response(method string, code int) {
	m.responses.WithLabelValues(method, strconv.Itoa(code)).Inc()
}
