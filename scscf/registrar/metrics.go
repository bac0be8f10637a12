package registrar

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/metrics"
)

type registrarMetrics struct {
	registrations prometheus.Gauge
	registers     *prometheus.CounterVec // by SIP status code class and kind
	authFailures  prometheus.Counter
	notifies      *prometheus.CounterVec // by result
	deregs        *prometheus.CounterVec // by reason
	flushes       *prometheus.CounterVec // by result
	flushed       prometheus.Counter
	flushSeconds  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *registrarMetrics {
	m := &registrarMetrics{
		registrations: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "registrations", Help: "Registered public identities (registrations with bindings)."}),
		registers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "register_total", Help: "REGISTER requests answered, by status code."}, []string{"code"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "auth_failures_total", Help: "Wrong responses to a challenge."}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "reg_notify_total", Help: "reg event NOTIFYs sent, by result."}, []string{"result"}),
		deregs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "deregistrations_total", Help: "Deregistrations, by reason (user, timeout, network)."}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "store_flushes_total", Help: "Write-behind flushes of the registration store, by result (ok, error)."}, []string{"result"}),
		flushed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "store_flushed_registrations_total", Help: "Registrations written or deleted by write-behind flushes."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "store_flush_seconds", Help: "Duration of a write-behind flush (one transaction).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)}),
	}
	if reg != nil {
		reg.MustRegister(m.registrations, m.registers, m.authFailures, m.notifies, m.deregs, m.flushes, m.flushed, m.flushSeconds)
	}
	return m
}
