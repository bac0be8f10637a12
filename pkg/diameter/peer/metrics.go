package peer

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Directions for the dir label.
const (
	dirIn  = "in"
	dirOut = "out"
)

type metrics struct {
	requests  *prometheus.CounterVec   // cmd, app, peer, dir
	answers   *prometheus.CounterVec   // cmd, result_code, dir
	duration  *prometheus.HistogramVec // cmd: round trip of the requests we send
	peerState *prometheus.GaugeVec     // peer: 0 down, 1 okay, 2 suspect, 3 reopen
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "diameter", Name: "requests_total",
			Help: "Diameter requests by command, application, peer and direction (in: received, out: sent).",
		}, []string{"cmd", "app", "peer", "dir"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ims", Subsystem: "diameter", Name: "answers_total",
			Help: "Diameter answers by command, Result-Code (or Experimental-Result-Code) and direction.",
		}, []string{"cmd", "result_code", "dir"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ims", Subsystem: "diameter", Name: "request_duration_seconds",
			Help:    "Time from sending a Diameter request to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"cmd"}),
		peerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ims", Subsystem: "diameter", Name: "peer_state",
			Help: "RFC 3539 watchdog state of each peer: 0 down, 1 okay, 2 suspect, 3 reopen.",
		}, []string{"peer"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.answers = register(reg, m.answers)
		m.duration = register(reg, m.duration)
		m.peerState = register(reg, m.peerState)
	}
	return m
}

// register registers c, or returns the collector already registered under the same name when
// several nodes of one process (imslab) share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Same name with other labels: a programming error; count into the unregistered copy.
	}
	return c
}

func appLabel(app uint32) string { return strconv.FormatUint(uint64(app), 10) }
