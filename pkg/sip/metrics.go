package sip

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.CounterVec // method: new requests (transactions) received
	responses *prometheus.CounterVec // method, code: final responses sent upstream
	overload  *prometheus.CounterVec // method: requests refused with 503 past max_transactions
	inFlight  prometheus.GaugeFunc
}

// newMetrics registers the proxy's counters on reg (nil: not exported). A registry that
// already holds them (two proxies on one registry) keeps the first; the second counts into
// unregistered copies. inFlight reads the server transactions in flight.
func newMetrics(reg prometheus.Registerer, inFlight func() int64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "sip", Name: "requests_total",
			Help: "SIP requests received by method, retransmissions not counted.",
		}, []string{"method"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "sip", Name: "responses_total",
			Help: "Final SIP responses sent upstream, relayed or generated, by request method and status code.",
		}, []string{"method", "code"}),
		overload: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "sip", Name: "overload_rejected_total",
			Help: "New SIP requests refused with 503 because sip.max_transactions were in flight, by method.",
		}, []string{"method"}),
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "ims", Subsystem: "sip", Name: "transactions_in_flight",
			Help: "Server transactions whose handler has not answered yet (beyond 100 Trying).",
		}, func() float64 { return float64(inFlight()) }),
	}
	if reg != nil {
		_ = reg.Register(m.requests)
		_ = reg.Register(m.responses)
		_ = reg.Register(m.overload)
		_ = reg.Register(m.inFlight)
	}
	return m
}

func (m *metrics) response(method string, code int) {
	m.responses.WithLabelValues(method, strconv.Itoa(code)).Inc()
}
